"""machinery.workqueue: the guarantees controllers rely on (client-go's workqueue contract).

A controller's reconcile must never run twice at once for one object, must run again when the
object changed while it was being reconciled, and must back off exponentially while it keeps
failing. Delays are tested with an injected fake clock; blocking behaviour with real threads.
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from machinery.workqueue import ShutDown, WorkQueue
from tests.helpers import wait_for


class FakeClock:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def poll(q: WorkQueue):
    """The next ready key, or None: get() that never blocks (timeout 0 on the queue's clock)."""
    try:
        return q.get(timeout_s=0)
    except TimeoutError:
        return None


def drain(q: WorkQueue) -> list:
    """Every key ready now, each marked done at once."""
    out = []
    while (key := poll(q)) is not None:
        out.append(key)
        q.done(key)
    return out


# --- de-duplication and the processing set ------------------------------------------------------


def test_a_key_added_many_times_while_queued_is_handed_out_once():
    q = WorkQueue("t")
    for key in ["default/a", "default/b", "default/a", "default/a", "default/c", "default/b"]:
        q.add(key)
    assert len(q) == 3
    assert drain(q) == ["default/a", "default/b", "default/c"]  # first-add order kept
    assert poll(q) is None


def test_a_key_added_while_being_processed_waits_for_done_then_runs_once_more():
    q = WorkQueue("t")
    q.add("ns/web")
    key = q.get(timeout_s=0)
    assert key == "ns/web"
    # The object changes twice while its reconcile runs.
    q.add("ns/web")
    q.add("ns/web")
    assert len(q) == 0
    assert poll(q) is None, "a key in flight must not be handed to a second worker"
    q.done("ns/web")
    assert poll(q) == "ns/web"  # exactly one more run, for both changes
    q.done("ns/web")
    assert poll(q) is None


def test_done_without_a_new_add_does_not_requeue():
    q = WorkQueue("t")
    q.add("k")
    q.done(q.get(timeout_s=0))
    assert poll(q) is None
    assert len(q) == 0


def test_a_second_worker_blocked_in_get_receives_the_key_only_after_the_first_is_done():
    q = WorkQueue("t")
    q.add("ns/db")
    first = q.get(timeout_s=0)
    got: list = []
    second = threading.Thread(target=lambda: got.append(q.get(timeout_s=10)), daemon=True)
    second.start()
    q.add("ns/db")  # re-added while the first worker holds it
    # Another key proves the second worker is awake and serving, yet never given ns/db early.
    q.add("ns/other")
    second.join(timeout=5)
    assert got == ["ns/other"]
    q.done("ns/other")
    q.done(first)
    assert q.get(timeout_s=5) == "ns/db"


def test_never_two_workers_on_the_same_key_and_every_add_is_followed_by_a_run():
    q = WorkQueue("stress")
    keys = [f"ns/obj-{i}" for i in range(12)]
    lock = threading.Lock()
    in_flight: set = set()
    violations: list = []
    seq = 0
    last_add: dict = {}
    last_start: dict = {}

    def next_seq() -> int:
        nonlocal seq
        with lock:
            seq += 1
            return seq

    def worker() -> None:
        while True:
            try:
                key = q.get()
            except ShutDown:
                return
            start = next_seq()
            with lock:
                if key in in_flight:
                    violations.append(key)
                in_flight.add(key)
                last_start[key] = max(last_start.get(key, 0), start)
            for _ in range(random.randrange(50)):  # a little work, letting other threads run
                time.sleep(0)
            with lock:
                in_flight.discard(key)
            q.done(key)

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(8)]
    for w in workers:
        w.start()
    rng = random.Random(7)
    for _ in range(3000):
        key = rng.choice(keys)
        last_add[key] = next_seq()
        q.add(key)
    wait_for(lambda: len(q) == 0 and not in_flight and all(last_start.get(k, 0) > last_add[k] for k in last_add),
             timeout_s=20, message="every added key processed after its last add")
    q.shutdown()
    for w in workers:
        w.join(timeout=5)
    assert violations == []
    assert not any(w.is_alive() for w in workers)


# --- delays: add_after and add_rate_limited on a fake clock -------------------------------------


def test_add_after_holds_the_key_until_the_delay_has_passed():
    clock = FakeClock()
    q = WorkQueue("t", clock=clock)
    q.add_after("ns/a", 5.0)
    assert q.delayed == 1 and len(q) == 0
    clock.advance(4.999)
    assert poll(q) is None
    clock.advance(0.001)
    assert poll(q) == "ns/a"


def test_add_after_with_no_delay_adds_at_once():
    clock = FakeClock()
    q = WorkQueue("t", clock=clock)
    q.add_after("ns/a", 0)
    assert poll(q) == "ns/a"


def test_delayed_keys_come_out_in_ready_order():
    clock = FakeClock()
    q = WorkQueue("t", clock=clock)
    q.add_after("late", 3.0)
    q.add_after("early", 1.0)
    q.add_after("middle", 2.0)
    clock.advance(10)
    assert drain(q) == ["early", "middle", "late"]


def test_a_delayed_key_already_queued_is_not_handed_out_twice():
    clock = FakeClock()
    q = WorkQueue("t", clock=clock)
    q.add("ns/a")
    q.add_after("ns/a", 1.0)
    clock.advance(1.0)
    assert drain(q) == ["ns/a"]


def test_a_delayed_key_that_becomes_ready_while_in_flight_runs_after_done():
    clock = FakeClock()
    q = WorkQueue("t", clock=clock)
    q.add("ns/a")
    key = q.get(timeout_s=0)
    q.add_after("ns/a", 1.0)
    clock.advance(1.0)
    assert poll(q) is None  # ready, but still being processed
    q.done(key)
    assert poll(q) == "ns/a"


def test_a_key_delayed_many_times_waits_once_at_its_earliest_ready_time():
    clock = FakeClock()
    q = WorkQueue("t", clock=clock)
    for _ in range(100):  # e.g. a periodic requeue on every event of a busy object
        q.add_after("ns/busy", 30.0)
    q.add_after("ns/busy", 10.0)
    assert q.delayed == 1, "one waiting entry per key bounds the queue by the number of objects"
    clock.advance(10.0)
    assert drain(q) == ["ns/busy"]
    clock.advance(30.0)
    assert drain(q) == [], "the later, superseded delays must not run the key again"


def test_add_rate_limited_doubles_the_delay_per_failure_up_to_the_cap():
    clock = FakeClock()
    q = WorkQueue("t", base_delay_s=1.0, max_delay_s=8.0, clock=clock)
    delays = []
    for _ in range(6):
        delay = q.add_rate_limited("ns/flaky")
        delays.append(delay)
        clock.advance(delay - 0.01)
        assert poll(q) is None, f"handed out before its {delay}s backoff"
        clock.advance(0.01)
        key = poll(q)
        assert key == "ns/flaky", f"not handed out after its {delay}s backoff"
        q.done(key)
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert q.failures("ns/flaky") == 6


def test_rate_limits_are_per_key():
    q = WorkQueue("t", base_delay_s=1.0, max_delay_s=100.0, clock=FakeClock())
    assert [q.add_rate_limited("a") for _ in range(3)] == [1.0, 2.0, 4.0]
    assert q.add_rate_limited("b") == 1.0


def test_forget_resets_the_backoff_to_the_base_delay():
    q = WorkQueue("t", base_delay_s=0.5, max_delay_s=100.0, clock=FakeClock())
    for _ in range(4):
        q.add_rate_limited("ns/a")
    assert q.failures("ns/a") == 4
    q.forget("ns/a")
    assert q.failures("ns/a") == 0
    assert q.add_rate_limited("ns/a") == 0.5


def test_a_blocked_get_wakes_when_a_delayed_key_becomes_ready():
    q = WorkQueue("real-clock")
    started = time.monotonic()
    q.add_after("ns/a", 0.2)
    assert q.get(timeout_s=10) == "ns/a"
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 5


def test_get_times_out_on_an_empty_queue():
    q = WorkQueue("real-clock")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        q.get(timeout_s=0.1)
    assert time.monotonic() - started >= 0.1


# --- shutdown ----------------------------------------------------------------------------------


def test_shutdown_unblocks_every_worker_waiting_in_get():
    q = WorkQueue("t")
    outcomes: list = []
    entered = threading.Semaphore(0)

    def worker() -> None:
        entered.release()
        try:
            q.get()
            outcomes.append("key")
        except ShutDown:
            outcomes.append("shutdown")

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(3)]
    for w in workers:
        w.start()
    for _ in workers:
        assert entered.acquire(timeout=5)
    q.shutdown()
    for w in workers:
        w.join(timeout=5)
    assert not any(w.is_alive() for w in workers)
    assert outcomes == ["shutdown"] * 3


def test_after_shutdown_queued_keys_drain_then_get_raises_and_adds_are_ignored():
    q = WorkQueue("t")
    q.add("a")
    q.add("b")
    q.shutdown()
    q.add("c")
    assert q.get(timeout_s=1) == "a"
    assert q.get(timeout_s=1) == "b"
    with pytest.raises(ShutDown):
        q.get(timeout_s=1)
