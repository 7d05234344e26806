"""The scheduling queue: active, backoff and unschedulable pods (kube-scheduler's PriorityQueue).

- **active**: ready to schedule, in the order of the profile's queue-sort plugin (PrioritySort:
  highest ``spec.priority`` first, then first come, first served).
- **backoff**: pods whose attempt just failed wait ``initial_backoff_s`` doubling up to
  ``max_backoff_s`` (Kubernetes: 1 s to 10 s) per consecutive failure.
- **unschedulable**: pods that fit nowhere wait for a cluster event that may make room
  (:meth:`move_all_to_active`) and at the latest ``max_unschedulable_s`` (Kubernetes: 5 minutes).
  An event only moves the pods that a plugin interested in it rejected (kube's queueing hints,
  coarse-grained): a node label change does not retry a pod that lacked CPU.

A pod being scheduled is *in flight*; if a relevant event arrives meanwhile, the cycle may have
missed it, so a failure then sends the pod to backoff instead of waiting for the next event.
One entry per pod key; re-adding a queued pod updates it in place. Thread-safe.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_ALL = None  # "every plugin" in the missed-event bookkeeping


@dataclass
class QueuedPodInfo:
    """What the queue knows about one pending pod; the queue-sort plugin compares two of these."""

    key: str
    priority: int = 0
    timestamp: float = 0.0  # when it last entered the active queue
    pod: dict | None = None
    attempts: int = 0
    unschedulable_plugins: frozenset[str] = frozenset()


def priority_less(a: QueuedPodInfo, b: QueuedPodInfo) -> bool:
    """PrioritySort: higher priority first, then earlier arrival."""
    if a.priority != b.priority:
        return a.priority > b.priority
    return a.timestamp < b.timestamp


class _Entry:
    __slots__ = ("info", "seq", "less")

    def __init__(self, info: QueuedPodInfo, seq: int, less):
        self.info, self.seq, self.less = info, seq, less

    def __lt__(self, other: _Entry) -> bool:
        if self.less(self.info, other.info):
            return True
        if self.less(other.info, self.info):
            return False
        return self.seq < other.seq


class SchedulingQueue:
    def __init__(self, *, initial_backoff_s: float = 1.0, max_backoff_s: float = 10.0,
                 max_unschedulable_s: float = 300.0, clock: Callable[[], float] = time.monotonic,
                 less: Callable[[QueuedPodInfo, QueuedPodInfo], bool] | None = None):
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_unschedulable_s = max_unschedulable_s
        self._clock = clock
        self._less = less or priority_less
        self._cond = threading.Condition()
        self._infos: dict[str, QueuedPodInfo] = {}
        self._active: list[_Entry] = []  # heap; an entry is live only if its seq is _live[key]
        self._live: dict[str, int] = {}
        self._backoff: dict[str, float] = {}  # key -> ready_at
        self._unschedulable: dict[str, float] = {}  # key -> ready_at (end of its backoff)
        self._in_flight: set[str] = set()
        self._missed: dict[str, frozenset[str] | None] = {}  # in-flight key -> plugins of events it missed
        self._seq = itertools.count()
        self._closed = False

    def set_less(self, less: Callable[[QueuedPodInfo, QueuedPodInfo], bool]) -> None:
        """Use a queue-sort plugin's ordering (before any pod is queued)."""
        with self._cond:
            self._less = less
            heapq.heapify(entries := [_Entry(e.info, e.seq, less) for e in self._active])
            self._active = entries

    def _info(self, key: str) -> QueuedPodInfo:
        info = self._infos.get(key)
        if info is None:
            info = self._infos[key] = QueuedPodInfo(key)
        return info

    def add(self, key: str, priority: int = 0, pod: dict | None = None) -> None:
        """A new or changed pending pod: schedule it as soon as its backoff allows."""
        with self._cond:
            info = self._info(key)
            reorder = info.priority != priority
            info.priority = priority
            if pod is not None:
                info.pod = pod
            if key in self._live:
                if reorder:
                    self._push(key, keep_timestamp=True)
                return
            if key in self._backoff:
                return  # it comes back when its backoff ends
            ready_at = self._unschedulable.pop(key, None)
            if ready_at is not None and ready_at > self._clock():
                self._backoff[key] = ready_at
                self._cond.notify()
                return
            self._push(key)

    def _push(self, key: str, *, keep_timestamp: bool = False) -> None:
        info = self._info(key)
        if not keep_timestamp:
            info.timestamp = self._clock()
        seq = next(self._seq)
        self._live[key] = seq
        heapq.heappush(self._active, _Entry(info, seq, self._less))
        self._cond.notify()

    def remove(self, key: str) -> None:
        """The pod was deleted, bound elsewhere or is no longer ours: forget it entirely."""
        with self._cond:
            self._live.pop(key, None)  # its heap entry is skipped when popped
            self._backoff.pop(key, None)
            self._unschedulable.pop(key, None)
            self._infos.pop(key, None)
            self._in_flight.discard(key)
            self._missed.pop(key, None)

    def backoff(self, key: str) -> float:
        """The attempt failed for a transient reason (bind error): retry after a backoff."""
        with self._cond:
            delay = self._next_delay(key)
            self._requeue(key, self._clock() + delay, backoff=True)
            return delay

    def unschedulable(self, key: str, plugins: frozenset[str] | set[str] = frozenset()) -> None:
        """No node fits because of ``plugins``: wait for an event they care about (or the
        periodic flush), after the backoff. An event missed while in flight means backoff."""
        with self._cond:
            delay = self._next_delay(key)
            info = self._info(key)
            info.unschedulable_plugins = frozenset(plugins)
            missed = self._missed.get(key, False)
            relevant = key in self._missed and (missed is _ALL or not plugins or bool(missed & plugins))
            self._requeue(key, self._clock() + delay, backoff=relevant)

    def _requeue(self, key: str, ready_at: float, *, backoff: bool) -> None:
        self._live.pop(key, None)
        self._in_flight.discard(key)
        self._missed.pop(key, None)
        if backoff:
            self._unschedulable.pop(key, None)
            self._backoff[key] = ready_at
            self._cond.notify()
        else:
            self._backoff.pop(key, None)
            self._unschedulable[key] = ready_at

    def done(self, key: str) -> None:
        """The pod's cycle ended with a placement (it is assumed and being bound)."""
        with self._cond:
            self._in_flight.discard(key)
            self._missed.pop(key, None)

    def _next_delay(self, key: str) -> float:
        info = self._info(key)
        attempts = info.attempts
        info.attempts = attempts + 1
        return min(self.initial_backoff_s * (2 ** attempts), self.max_backoff_s)

    def forget(self, key: str) -> None:
        """The pod was scheduled: reset its backoff."""
        with self._cond:
            info = self._infos.get(key)
            if info is not None:
                info.attempts = 0
                info.unschedulable_plugins = frozenset()

    def move_all_to_active(self, event: str = "", plugins: set[str] | frozenset[str] | None = None) -> int:
        """A cluster event may have made room: the unschedulable pods that one of ``plugins``
        rejected (all of them when ``plugins`` is None) are tried again, after their backoff,
        which keeps event storms from hot-looping. Returns how many moved."""
        with self._cond:
            moved = 0
            for key, ready_at in list(self._unschedulable.items()):
                rejected = self._infos[key].unschedulable_plugins if key in self._infos else frozenset()
                if plugins is not None and rejected and not (rejected & plugins):
                    continue
                del self._unschedulable[key]
                self._backoff[key] = ready_at
                moved += 1
            for key in self._in_flight:
                before = self._missed.get(key, frozenset())
                if plugins is None or before is _ALL:
                    self._missed[key] = _ALL
                else:
                    self._missed[key] = frozenset(before | plugins)
            self._cond.notify()
            return moved

    def _flush(self) -> None:
        now = self._clock()
        for key, ready_at in list(self._backoff.items()):
            if ready_at <= now:
                del self._backoff[key]
                if key not in self._live:
                    self._push(key)
        for key, ready_at in list(self._unschedulable.items()):
            if now - ready_at >= self.max_unschedulable_s:
                del self._unschedulable[key]
                self._push(key)

    def pop(self, timeout_s: float | None = None) -> str | None:
        """The next pod key to schedule (now in flight), or None on timeout or close."""
        deadline = None if timeout_s is None else self._clock() + timeout_s
        with self._cond:
            while not self._closed:
                self._flush()
                while self._active:
                    entry = heapq.heappop(self._active)
                    key = entry.info.key
                    if self._live.get(key) == entry.seq:
                        del self._live[key]
                        self._in_flight.add(key)
                        return key
                wait = 0.5
                if self._backoff:
                    wait = min(wait, max(0.0, min(self._backoff.values()) - self._clock()))
                if deadline is not None:
                    remaining = deadline - self._clock()
                    if remaining <= 0:
                        return None
                    wait = min(wait, remaining)
                self._cond.wait(wait)
            return None

    def info(self, key: str) -> QueuedPodInfo | None:
        with self._cond:
            return self._infos.get(key)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def stats(self) -> dict:
        with self._cond:
            return {"active": len(self._live), "backoff": len(self._backoff),
                    "unschedulable": len(self._unschedulable)}
