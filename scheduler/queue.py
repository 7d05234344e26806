"""The scheduling queue: active, backoff and unschedulable pods (kube-scheduler's PriorityQueue).

- **active**: ready to schedule, popped highest ``spec.priority`` first, then oldest first.
- **backoff**: pods whose attempt just failed wait ``initial_backoff_s`` doubling up to
  ``max_backoff_s`` (Kubernetes: 1 s to 10 s) per consecutive failure.
- **unschedulable**: pods that fit nowhere wait for a cluster event that may make room (a
  node added or changed, a pod deleted: :meth:`move_all_to_active`) and at the latest
  ``max_unschedulable_s`` (Kubernetes: 5 minutes).

One entry per pod key; re-adding a queued pod updates it in place. Thread-safe.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class SchedulingQueue:
    def __init__(self, *, initial_backoff_s: float = 1.0, max_backoff_s: float = 10.0,
                 max_unschedulable_s: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_unschedulable_s = max_unschedulable_s
        self._clock = clock
        self._cond = threading.Condition()
        self._active: list = []  # heap of (-priority, enqueued_at, seq, key)
        self._in_active: set[str] = set()
        self._backoff: dict[str, float] = {}  # key -> ready_at
        self._unschedulable: dict[str, float] = {}  # key -> since
        self._attempts: dict[str, int] = {}
        self._priority: dict[str, int] = {}
        self._seq = itertools.count()
        self._closed = False

    def add(self, key: str, priority: int = 0) -> None:
        """A new or changed pending pod: schedule it as soon as possible."""
        with self._cond:
            self._priority[key] = priority
            if key in self._in_active:
                return
            if key in self._backoff:
                return  # it will come back when its backoff ends
            self._unschedulable.pop(key, None)
            self._push(key)

    def _push(self, key: str) -> None:
        heapq.heappush(self._active, (-self._priority.get(key, 0), self._clock(), next(self._seq), key))
        self._in_active.add(key)
        self._cond.notify()

    def remove(self, key: str) -> None:
        with self._cond:
            self._in_active.discard(key)  # its heap entry is skipped when popped
            self._backoff.pop(key, None)
            self._unschedulable.pop(key, None)
            self._attempts.pop(key, None)
            self._priority.pop(key, None)

    def backoff(self, key: str) -> float:
        """The attempt failed for a transient reason (bind error): retry after a backoff."""
        with self._cond:
            delay = self._next_delay(key)
            self._backoff[key] = self._clock() + delay
            self._cond.notify()
            return delay

    def unschedulable(self, key: str) -> None:
        """No node fits: wait for a cluster event (or the periodic flush), after the backoff."""
        with self._cond:
            delay = self._next_delay(key)
            self._unschedulable[key] = self._clock() + delay

    def _next_delay(self, key: str) -> float:
        attempts = self._attempts.get(key, 0)
        self._attempts[key] = attempts + 1
        return min(self.initial_backoff_s * (2 ** attempts), self.max_backoff_s)

    def forget(self, key: str) -> None:
        """The pod was scheduled: reset its backoff."""
        with self._cond:
            self._attempts.pop(key, None)

    def move_all_to_active(self) -> None:
        """A cluster event may have made room: every unschedulable pod is tried again (after
        its backoff, which keeps event storms from hot-looping)."""
        with self._cond:
            for key, ready_at in list(self._unschedulable.items()):
                del self._unschedulable[key]
                self._backoff[key] = ready_at
            self._cond.notify()

    def _flush(self) -> None:
        now = self._clock()
        for key, ready_at in list(self._backoff.items()):
            if ready_at <= now:
                del self._backoff[key]
                if key not in self._in_active:
                    self._push(key)
        for key, ready_at in list(self._unschedulable.items()):
            if now - ready_at >= self.max_unschedulable_s:
                del self._unschedulable[key]
                self._push(key)

    def pop(self, timeout_s: float | None = None) -> str | None:
        """The next pod key to schedule, or None on timeout or close."""
        deadline = None if timeout_s is None else self._clock() + timeout_s
        with self._cond:
            while not self._closed:
                self._flush()
                while self._active:
                    _, _, _, key = heapq.heappop(self._active)
                    if key in self._in_active:
                        self._in_active.discard(key)
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

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def stats(self) -> dict:
        with self._cond:
            return {"active": len(self._in_active), "backoff": len(self._backoff),
                    "unschedulable": len(self._unschedulable)}
