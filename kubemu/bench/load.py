"""Open-loop load: calls started on a fixed schedule, whatever the previous ones are doing.

A closed loop (the next call when the last returned) slows down with the server and hides its
latency; the Kubernetes SLOs are stated for a given throughput, so the pacer starts call ``i``
at ``start + i / rate`` on a pool big enough to have many in flight, and records how late each
start was (``lag``), so a client that could not keep the rate is visible in the result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


class Calls:
    """Timed calls: ``(start wall time, seconds, error or '')`` per call, thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self.samples: list[tuple[float, float, str]] = []

    def timed(self, fn: Callable[[], object]) -> object:
        wall, t0 = time.time(), time.perf_counter()
        error = ""
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - a failed call is a sample too
            error = type(e).__name__
            return None
        finally:
            with self._lock:
                self.samples.append((wall, time.perf_counter() - t0, error))

    def latencies(self) -> list[float]:
        with self._lock:
            return [s for _, s, err in self.samples if not err]

    def errors(self) -> int:
        with self._lock:
            return sum(1 for _, _, err in self.samples if err)


def paced(rate: float, count: int, fn: Callable[[int], None], *, workers: int = 64,
          stop: threading.Event | None = None, on_tick: Callable[[int], None] | None = None) -> list[float]:
    """Start ``fn(i)`` for i in 0..count-1 at ``rate`` per second; wait for all. Returns each start's lag (s)."""
    lags: list[float] = []
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-load") as pool:
        for i in range(count):
            if stop is not None and stop.is_set():
                break
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            lags.append(max(0.0, time.monotonic() - due))
            pool.submit(fn, i)
            if on_tick is not None:
                on_tick(i + 1)
    return lags


def burst(count: int, fn: Callable[[int], None], *, workers: int = 32,
          on_tick: Callable[[int], None] | None = None) -> float:
    """Run ``fn(i)`` for every i as fast as ``workers`` threads go; returns the seconds it took."""
    start = time.monotonic()
    done = [0]
    lock = threading.Lock()

    def one(i: int) -> None:
        fn(i)
        with lock:
            done[0] += 1
            if on_tick is not None:
                on_tick(done[0])

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-burst") as pool:
        list(pool.map(one, range(count)))
    return time.monotonic() - start
