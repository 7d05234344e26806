"""Per-container restart backoff, as Kubernetes' ``flowcontrol.Backoff`` used by the kubelet.

A container that exits is restarted at once the first time; the backoff then starts at
``initial_s`` (10 s) and doubles on every later exit up to ``max_s`` (5 min): a crash-looping
container waits 0, 10, 20, 40, 80, 160, 300, 300 … seconds between its exit and its next start,
and its status says ``CrashLoopBackOff`` meanwhile. The wait is measured from when the container
*finished*, like the kubelet's ``IsInBackOffSince(key, finishedAt)``. An entry not touched for
``reset_s`` (Kubernetes: twice the maximum, 10 min — a container that stayed up that long) is
forgotten, so the next crash starts over at ``initial_s``.

The same class paces image pulls (ErrImagePull → ImagePullBackOff). The clock is injected so
tests can drive it; one entry per key, pruned by ``gc()``, so memory is bounded by live keys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass
class _Entry:
    backoff_s: float
    last_update: float


class Backoff:
    def __init__(self, initial_s: float = 10.0, max_s: float = 300.0, reset_s: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic):
        if initial_s < 0 or max_s < initial_s:
            raise ValueError(f"backoff: need 0 <= initial ({initial_s}) <= max ({max_s})")
        self.initial_s = initial_s
        self.max_s = max_s
        self.reset_s = 2 * max_s if reset_s is None else reset_s
        self._clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self._lock = threading.Lock()

    def _expired(self, entry: _Entry, event_time: float) -> bool:
        return event_time - entry.last_update > self.reset_s

    def next(self, key: Hashable, event_time: float | None = None) -> float:
        """Record one more failure of ``key`` at ``event_time`` (now); returns the new backoff."""
        now = self._clock()
        event_time = now if event_time is None else event_time
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or self._expired(entry, event_time):
                entry = self._entries[key] = _Entry(self.initial_s, now)
            else:
                entry.backoff_s = min(entry.backoff_s * 2, self.max_s)
                entry.last_update = now
            return entry.backoff_s

    def remaining(self, key: Hashable, since: float) -> float:
        """Seconds ``key`` must still wait when its last failure happened at ``since`` (0: go)."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or self._expired(entry, since):
                return 0.0
            return max(0.0, since + entry.backoff_s - now)

    def current(self, key: Hashable) -> float | None:
        with self._lock:
            entry = self._entries.get(key)
            return entry.backoff_s if entry is not None else None

    def reset(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def gc(self, keep: Callable[[Hashable], bool]) -> None:
        """Forget entries whose key ``keep`` rejects (pods gone) or that expired."""
        now = self._clock()
        with self._lock:
            for key in [k for k, e in self._entries.items() if not keep(k) or self._expired(e, now)]:
                del self._entries[key]
