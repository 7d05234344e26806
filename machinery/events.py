"""Recording Events about objects, with client-side aggregation like client-go's recorder.

``recorder.event(pod, "Normal", "Scheduled", "Successfully assigned default/nginx to node-1")``
creates an Event in the object's namespace. When the same (object, type, reason, message,
source) repeats within ``aggregate_window_s``, the existing Event's ``count`` and
``lastTimestamp`` are bumped instead of creating a new one, as ``kubectl describe`` shows
``(x3 over 2m)``. Recording never raises: a lost event must not break a reconcile.

``background=True`` sends events from a thread of the recorder's own, like client-go's event
broadcaster: ``event()`` only puts the event on a bounded queue (``max_queued``; past that, events
are dropped with a warning, as client-go drops them), so a kubelet's pod worker or a scheduler's
binder does not wait for one API round trip per event before it goes on (the kubelet records
three to four events on a pod's way to Running). The event's timestamps are taken when
``event()`` is called, not when it is sent. ``flush()`` waits until the queue is empty.
``workers`` senders share the queue's room, each event going to the sender its object and
reason pick, so repeats stay in order (the scheduler uses several: one event per pod bound).

An Event is named like client-go names it, ``<object name>.<hex of the Unix time in ns>`` taken
when ``event()`` is called, so listing a namespace's Events (key order) gives them in the order
they happened: ``kubectl get events`` prints them so, and ``kubectl describe``, which sorts by
``lastTimestamp`` (whole seconds) and keeps the list's order among equals, too.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import zlib

from machinery import errors, meta
from machinery.client import APIClient

log = logging.getLogger(__name__)

# The cache of recent events per recorder is bounded like client-go's LRU (4096 entries).
MAX_CACHED = 4096
# Events waiting to be sent by a background recorder (client-go's broadcaster queues 1000).
MAX_QUEUED = 1000


_last_name_ns = 0
_name_lock = threading.Lock()


def event_name(obj: dict) -> str:
    """``<name>.<hex ns>`` (client-go's form): names sort in the order this process made them —
    the clock's nanoseconds, made strictly increasing here so that two events in one tick differ."""
    global _last_name_ns
    with _name_lock:
        _last_name_ns = max(time.time_ns(), _last_name_ns + 1)
        ns = _last_name_ns
    return f"{(obj.get('metadata') or {}).get('name') or 'unknown'}.{ns:x}"


class EventRecorder:
    def __init__(self, client: APIClient, component: str, host: str = "", *, aggregate_window_s: float = 600.0,
                 background: bool = False, max_queued: int = MAX_QUEUED, workers: int = 1):
        self.client = client
        self.component = component
        self.host = host
        self.aggregate_window_s = aggregate_window_s
        self._recent: dict[tuple, tuple[str, str, float]] = {}  # key -> (namespace, name, first_seen)
        self._lock = threading.Lock()
        self._queues: list[queue.Queue] = []
        self.dropped = 0
        if background:
            # Several senders when one round trip at a time is too slow (the scheduler records one
            # event per pod bound); the same event always goes to the same sender, so repeats are
            # sent in order and aggregate.
            for i in range(max(1, workers)):
                q: queue.Queue = queue.Queue(maxsize=max(1, max_queued // max(1, workers)))
                self._queues.append(q)
                threading.Thread(target=self._send_loop, args=(q,), daemon=True,
                                 name=f"events-{component}" + (f"-{i}" if workers > 1 else "")).start()

    def event(self, obj: dict, event_type: str, reason: str, message: str) -> None:
        now, micro, name = meta.format_time(), meta.format_micro_time(), event_name(obj)
        if not self._queues:
            self._send(obj, event_type, reason, message, now, micro, name)
            return
        q = self._queues[0]
        if len(self._queues) > 1:
            uid = (obj.get("metadata") or {}).get("uid", "")
            q = self._queues[zlib.crc32(f"{uid}/{event_type}/{reason}/{message}".encode()) % len(self._queues)]
        try:
            q.put_nowait((obj, event_type, reason, message, now, micro, name))
        except queue.Full:
            self.dropped += 1
            log.warning("event queue full (%d): dropping event %s %s for %s", q.maxsize * len(self._queues),
                        event_type, reason, meta.key_of(obj))

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued event was sent (or given up); True when the queue drained in time."""
        deadline = time.monotonic() + timeout_s
        while any(q.unfinished_tasks for q in self._queues):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _send_loop(self, q: queue.Queue) -> None:
        while True:
            item = q.get()
            try:
                self._send(*item)
            except Exception:  # noqa: BLE001 - the sender thread must outlive any bad event
                log.exception("recording event %s %s failed", item[1], item[2])
            finally:
                q.task_done()

    def _send(self, obj: dict, event_type: str, reason: str, message: str, now: str, micro: str,
              name: str) -> None:
        try:
            self._record(obj, event_type, reason, message, now, micro, name)
        except errors.APIError as e:
            log.warning("could not record event %s %s for %s: %s", event_type, reason, meta.key_of(obj), e)

    def _record(self, obj: dict, event_type: str, reason: str, message: str, now: str, micro: str,
                name: str) -> None:
        m = obj.get("metadata") or {}
        namespace = m.get("namespace") or "default"
        involved = {"kind": obj.get("kind", ""), "namespace": m.get("namespace", ""), "name": m.get("name", ""),
                    "uid": m.get("uid", ""), "apiVersion": obj.get("apiVersion", ""),
                    "resourceVersion": m.get("resourceVersion", "")}
        key = (involved["uid"], involved["kind"], involved["name"], event_type, reason, message)
        with self._lock:
            recent = self._recent.get(key)
        if recent and time.monotonic() - recent[2] < self.aggregate_window_s:
            def bump(ev: dict) -> None:
                ev["count"] = int(ev.get("count") or 1) + 1
                ev["lastTimestamp"] = now

            if self.client.mutate("events", recent[1], recent[0], bump) is not None:
                return
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved, "reason": reason, "message": message, "type": event_type,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "firstTimestamp": now, "lastTimestamp": now, "eventTime": micro, "count": 1,
            "reportingComponent": self.component, "reportingInstance": self.host or self.component,
        }
        created = self.client.create("events", event, namespace)
        with self._lock:
            if len(self._recent) >= MAX_CACHED:
                self._recent.pop(next(iter(self._recent)))
            self._recent[key] = (namespace, created["metadata"]["name"], time.monotonic())
