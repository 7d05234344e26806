"""scheduler.queue: which pending pod the scheduler tries next, and when a failed one comes back.

As in kube-scheduler's PriorityQueue: important pods first, equal pods first-come first-served;
a pod whose attempt failed backs off 1 s doubling to 10 s; a pod that fits nowhere waits for a
cluster event, or at the latest the unschedulable timeout. Time is an injected fake clock, and
``pop(timeout_s=0)`` looks at the queue without blocking.
"""

from __future__ import annotations

import threading
import time

import pytest

from scheduler.queue import SchedulingQueue


class FakeClock:
    def __init__(self, start: float = 500.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(clock) -> SchedulingQueue:
    return SchedulingQueue(initial_backoff_s=1.0, max_backoff_s=10.0, max_unschedulable_s=300.0, clock=clock)


def pop_all(q: SchedulingQueue) -> list[str]:
    out = []
    while (key := q.pop(timeout_s=0)) is not None:
        out.append(key)
    return out


# --- ordering -------------------------------------------------------------------------------------


def test_higher_priority_pods_first_then_first_come_first_served(queue, clock):
    queue.add("ns/batch-1", priority=0)
    clock.advance(1)
    queue.add("ns/critical", priority=1000)
    clock.advance(1)
    queue.add("ns/batch-2", priority=0)
    clock.advance(1)
    queue.add("ns/web", priority=100)
    queue.add("ns/batch-3")  # same instant as ns/web: still behind ns/batch-2
    assert pop_all(queue) == ["ns/critical", "ns/web", "ns/batch-1", "ns/batch-2", "ns/batch-3"]


def test_pods_added_at_the_same_instant_keep_their_arrival_order(queue):
    names = [f"ns/p-{i}" for i in range(20)]
    for name in names:
        queue.add(name)
    assert pop_all(queue) == names


def test_adding_a_queued_pod_again_does_not_duplicate_it(queue):
    queue.add("ns/a")
    queue.add("ns/b")
    queue.add("ns/a")
    assert pop_all(queue) == ["ns/a", "ns/b"]
    assert queue.stats()["active"] == 0


# --- backoff after a failed attempt ---------------------------------------------------------------


def test_backoff_doubles_from_one_second_to_a_ten_second_cap(queue, clock):
    delays = []
    for _ in range(6):
        queue.add("ns/a")
        assert queue.pop(timeout_s=0) == "ns/a"
        delay = queue.backoff("ns/a")  # e.g. the bind failed
        delays.append(delay)
        clock.advance(delay - 0.01)
        assert queue.pop(timeout_s=0) is None, f"back before its {delay}s backoff"
        clock.advance(0.01)
        assert queue.pop(timeout_s=0) == "ns/a", f"not back after its {delay}s backoff"
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_an_update_does_not_cut_a_backoff_short(queue, clock):
    queue.add("ns/a")
    queue.pop(timeout_s=0)
    queue.backoff("ns/a")
    queue.add("ns/a")  # the informer reports a change while the pod backs off
    assert queue.pop(timeout_s=0) is None
    clock.advance(1.0)
    assert pop_all(queue) == ["ns/a"]


def test_forget_after_a_successful_schedule_resets_the_backoff(queue):
    for _ in range(3):
        queue.backoff("ns/a")
    queue.forget("ns/a")
    assert queue.backoff("ns/a") == 1.0


def test_backoffs_are_per_pod(queue):
    assert [queue.backoff("ns/a") for _ in range(3)] == [1.0, 2.0, 4.0]
    assert queue.backoff("ns/b") == 1.0


def test_a_waiting_pop_returns_when_a_backoff_ends_on_the_real_clock():
    q = SchedulingQueue(initial_backoff_s=0.2, max_backoff_s=1.0)
    started = time.monotonic()
    q.backoff("ns/a")
    assert q.pop(timeout_s=10) == "ns/a"
    assert 0.2 <= time.monotonic() - started < 5


# --- unschedulable pods ---------------------------------------------------------------------------


def test_unschedulable_pod_waits_for_a_cluster_event(queue, clock):
    queue.add("ns/big")
    queue.pop(timeout_s=0)
    queue.unschedulable("ns/big")  # no node fits
    assert queue.stats()["unschedulable"] == 1
    clock.advance(60)  # long past its backoff, but nothing changed in the cluster
    assert queue.pop(timeout_s=0) is None
    queue.move_all_to_active()  # e.g. a node was added
    assert queue.pop(timeout_s=0) == "ns/big"


def test_a_cluster_event_during_the_backoff_releases_the_pod_only_when_the_backoff_ends(queue, clock):
    queue.unschedulable("ns/big")  # first failure: 1 s backoff
    clock.advance(0.5)
    queue.move_all_to_active()
    assert queue.pop(timeout_s=0) is None, "an event storm must not hot-loop a pod that just failed"
    clock.advance(0.5)
    assert queue.pop(timeout_s=0) == "ns/big"
    queue.unschedulable("ns/big")  # second consecutive failure: 2 s backoff
    queue.move_all_to_active()
    clock.advance(1.99)
    assert queue.pop(timeout_s=0) is None
    clock.advance(0.01)
    assert queue.pop(timeout_s=0) == "ns/big"


def test_unschedulable_pod_is_retried_after_max_unschedulable_without_any_event(queue, clock):
    queue.unschedulable("ns/big")
    clock.advance(299.0)
    assert queue.pop(timeout_s=0) is None
    # kube-scheduler flushes such pods after podMaxInUnschedulablePodsDuration (5 min), checked
    # every 30 s; here within the pod's backoff (≤ 10 s) of the 5 minutes.
    clock.advance(1.0 + 10.0)
    assert queue.pop(timeout_s=0) == "ns/big"
    assert queue.stats() == {"active": 0, "backoff": 0, "unschedulable": 0}


def test_a_changed_unschedulable_pod_is_tried_again_at_once(queue, clock):
    queue.unschedulable("ns/big")
    clock.advance(1.0)  # its backoff is over
    queue.add("ns/big")  # the user lowered its requests
    assert queue.pop(timeout_s=0) == "ns/big"


# --- remove and close -------------------------------------------------------------------------------


def test_remove_drops_a_queued_pod(queue):
    for key in ("ns/a", "ns/b", "ns/c"):
        queue.add(key)
    queue.remove("ns/b")  # deleted, or bound by someone else
    assert pop_all(queue) == ["ns/a", "ns/c"]


def test_remove_drops_a_backing_off_or_unschedulable_pod(queue, clock):
    queue.backoff("ns/a")
    queue.unschedulable("ns/b")
    queue.remove("ns/a")
    queue.remove("ns/b")
    queue.move_all_to_active()
    clock.advance(400)
    assert pop_all(queue) == []
    assert queue.stats() == {"active": 0, "backoff": 0, "unschedulable": 0}


def test_a_removed_pod_added_again_is_queued_once(queue):
    queue.add("ns/a")
    queue.remove("ns/a")
    queue.add("ns/a")
    assert pop_all(queue) == ["ns/a"]


def test_a_pod_recreated_with_a_lower_priority_waits_its_turn(queue, clock):
    queue.add("ns/web-0", priority=1000)
    queue.remove("ns/web-0")  # deleted
    clock.advance(1)
    queue.add("ns/other", priority=500)
    clock.advance(1)
    queue.add("ns/web-0", priority=0)  # recreated under the same name (a StatefulSet pod)
    assert pop_all(queue) == ["ns/other", "ns/web-0"]


def test_close_wakes_a_blocked_pop():
    q = SchedulingQueue()
    result: list = []
    entered = threading.Event()

    def scheduler_loop() -> None:
        entered.set()
        result.append(q.pop())

    t = threading.Thread(target=scheduler_loop, daemon=True)
    t.start()
    assert entered.wait(5)
    q.close()
    t.join(timeout=5)
    assert not t.is_alive()
    assert result == [None]
