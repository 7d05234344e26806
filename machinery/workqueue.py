"""A rate-limited, de-duplicating work queue of object keys (client-go's workqueue).

Guarantees, as in k8s.io/client-go/util/workqueue:

- a key waiting in the queue is stored once, however often it is added (the dirty set);
- a key being processed is never handed to a second worker at the same time; if it is added
  meanwhile it runs once more after ``done()`` (the processing set);
- ``add_rate_limited`` delays a failing key exponentially (``base_delay_s`` doubling up to
  ``max_delay_s``) until ``forget`` resets it.

The queue holds at most one entry per distinct key, so its size is bounded by the number of
objects; delayed keys wait on one timer thread. The clock is injectable for tests.

A named queue reports client-go's workqueue metrics (:mod:`machinery.metrics`): adds, retries,
how long keys wait and how long they are worked on (timestamps kept per key under the queue's
own lock), and, computed at scrape time, its depth and in-progress work. Unnamed queues report
nothing.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

from machinery.metrics import LIVE_QUEUES, QueueMetrics


class ShutDown(Exception):
    """Raised by get() once the queue is shut down and empty."""


class WorkQueue:
    def __init__(self, name: str = "", *, base_delay_s: float = 0.005, max_delay_s: float = 1000.0,
                 clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: deque = deque()
        self._dirty: set = set()
        self._processing: set = set()
        self._failures: dict[Hashable, int] = {}
        self._waiting: list = []  # heap of (ready_at, seq, key); stale entries are skipped
        self._ready_at: dict[Hashable, float] = {}  # key -> earliest ready time (one per key)
        self._seq = itertools.count()
        self._shutting_down = False
        self.adds = 0
        self._queued_at: dict[Hashable, float] = {}  # key -> when it entered the queue (metrics)
        self._started_at: dict[Hashable, float] = {}  # key -> when a worker got it (metrics)
        self._metrics = QueueMetrics(name) if name else None
        if name:
            LIVE_QUEUES.add(self)

    def add(self, key: Hashable) -> None:
        with self._cond:
            if self._shutting_down or key in self._dirty:
                return
            self._count_add(key)
            self._dirty.add(key)
            if key not in self._processing:
                self._queue.append(key)
                self._cond.notify()

    def add_after(self, key: Hashable, delay_s: float) -> None:
        if delay_s <= 0:
            self.add(key)
            return
        with self._cond:
            if self._shutting_down:
                return
            ready_at = self._clock() + delay_s
            if key in self._ready_at and self._ready_at[key] <= ready_at:
                return  # already due earlier: the later delay is superseded
            self._ready_at[key] = ready_at
            heapq.heappush(self._waiting, (ready_at, next(self._seq), key))
            self._cond.notify_all()

    def add_rate_limited(self, key: Hashable) -> float:
        with self._cond:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
        if self._metrics is not None:
            self._metrics.retries.inc()
        delay = min(self.base_delay_s * (2 ** failures), self.max_delay_s)
        self.add_after(key, delay)
        return delay

    def forget(self, key: Hashable) -> None:
        with self._cond:
            self._failures.pop(key, None)

    def failures(self, key: Hashable) -> int:
        with self._cond:
            return self._failures.get(key, 0)

    def get(self, timeout_s: float | None = None) -> Hashable:
        """The next key to process; blocks. Raises ShutDown, or TimeoutError after ``timeout_s``."""
        deadline = None if timeout_s is None else self._clock() + timeout_s
        with self._cond:
            while True:
                self._promote_ready()
                if self._queue:
                    key = self._queue.popleft()
                    self._processing.add(key)
                    self._dirty.discard(key)
                    if self._metrics is not None:
                        now = self._clock()
                        self._metrics.queue_duration.observe(max(0.0, now - self._queued_at.pop(key, now)))
                        self._started_at[key] = now
                    return key
                if self._shutting_down:
                    raise ShutDown(self.name)
                wait = None
                if self._waiting:
                    wait = max(0.0, self._waiting[0][0] - self._clock())
                if deadline is not None:
                    remaining = deadline - self._clock()
                    if remaining <= 0:
                        raise TimeoutError(self.name)
                    wait = remaining if wait is None else min(wait, remaining)
                self._cond.wait(wait)

    def _promote_ready(self) -> None:
        now = self._clock()
        while self._waiting and self._waiting[0][0] <= now:
            ready_at, _, key = heapq.heappop(self._waiting)
            if self._ready_at.get(key) != ready_at:
                continue  # superseded by an earlier entry for the same key
            del self._ready_at[key]
            if key not in self._dirty:
                self._count_add(key)
                self._dirty.add(key)
                if key not in self._processing:
                    self._queue.append(key)

    def _count_add(self, key: Hashable) -> None:
        """An add that put ``key`` into the dirty set (called with the lock held)."""
        self.adds += 1
        if self._metrics is not None:
            self._metrics.adds.inc()
            self._queued_at[key] = self._clock()

    def done(self, key: Hashable) -> None:
        with self._cond:
            self._processing.discard(key)
            started = self._started_at.pop(key, None)
            if started is not None:
                self._metrics.work_duration.observe(max(0.0, self._clock() - started))
            if key in self._dirty:
                self._queue.append(key)
                self._cond.notify()

    def shutdown(self) -> None:
        with self._cond:
            self._shutting_down = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    @property
    def delayed(self) -> int:
        with self._cond:
            return len(self._ready_at)

    def metrics_snapshot(self) -> tuple[int, float, float] | None:
        """(depth, seconds of work in progress, longest running key's seconds), or None once shut down."""
        with self._cond:
            if self._shutting_down:
                return None
            now = self._clock()
            running = [now - t for t in self._started_at.values()]
            return len(self._queue), sum(running), max(running, default=0.0)
