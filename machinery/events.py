"""Recording Events about objects, with client-side aggregation like client-go's recorder.

``recorder.event(pod, "Normal", "Scheduled", "Successfully assigned default/nginx to node-1")``
creates an Event in the object's namespace. When the same (object, type, reason, message,
source) repeats within ``aggregate_window_s``, the existing Event's ``count`` and
``lastTimestamp`` are bumped instead of creating a new one, as ``kubectl describe`` shows
``(x3 over 2m)``. Recording never raises: a lost event must not break a reconcile.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time

from machinery import errors, meta
from machinery.client import APIClient

log = logging.getLogger(__name__)

# The cache of recent events per recorder is bounded like client-go's LRU (4096 entries).
MAX_CACHED = 4096


class EventRecorder:
    def __init__(self, client: APIClient, component: str, host: str = "", *, aggregate_window_s: float = 600.0):
        self.client = client
        self.component = component
        self.host = host
        self.aggregate_window_s = aggregate_window_s
        self._recent: dict[tuple, tuple[str, str, float]] = {}  # key -> (namespace, name, first_seen)
        self._lock = threading.Lock()

    def event(self, obj: dict, event_type: str, reason: str, message: str) -> None:
        try:
            self._record(obj, event_type, reason, message)
        except errors.APIError as e:
            log.warning("could not record event %s %s for %s: %s", event_type, reason, meta.key_of(obj), e)

    def _record(self, obj: dict, event_type: str, reason: str, message: str) -> None:
        m = obj.get("metadata") or {}
        namespace = m.get("namespace") or "default"
        involved = {"kind": obj.get("kind", ""), "namespace": m.get("namespace", ""), "name": m.get("name", ""),
                    "uid": m.get("uid", ""), "apiVersion": obj.get("apiVersion", ""),
                    "resourceVersion": m.get("resourceVersion", "")}
        key = (involved["uid"], involved["kind"], involved["name"], event_type, reason, message)
        now = meta.format_time()
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
            "metadata": {"name": f"{m.get('name', 'unknown')}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": involved, "reason": reason, "message": message, "type": event_type,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "firstTimestamp": now, "lastTimestamp": now, "eventTime": meta.format_micro_time(), "count": 1,
            "reportingComponent": self.component, "reportingInstance": self.host or self.component,
        }
        created = self.client.create("events", event, namespace)
        with self._lock:
            if len(self._recent) >= MAX_CACHED:
                self._recent.pop(next(iter(self._recent)))
            self._recent[key] = (namespace, created["metadata"]["name"], time.monotonic())
