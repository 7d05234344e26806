"""Restart backoff (kubelet/backoff.py): Kubernetes' 10 s doubling to 5 min, reset after 10 min."""

from __future__ import annotations

import pytest

from kubelet.backoff import Backoff


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_delays_double_up_to_the_maximum():
    clock = Clock()
    b = Backoff(10, 300, clock=clock)
    delays = []
    for _ in range(8):
        delays.append(b.next("c"))
        clock.now += delays[-1] + 1  # the container ran one second and crashed again
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]


def test_remaining_is_measured_from_the_exit():
    clock = Clock()
    b = Backoff(10, 300, clock=clock)
    assert b.remaining("c", since=clock.now) == 0  # first exit: restart at once
    b.next("c", clock.now)
    exited = clock.now + 5
    clock.now = exited + 3
    assert b.remaining("c", since=exited) == pytest.approx(7)
    clock.now = exited + 10
    assert b.remaining("c", since=exited) == 0


def test_a_container_that_ran_long_enough_starts_over():
    clock = Clock()
    b = Backoff(10, 300, clock=clock)
    for _ in range(4):
        b.next("c")
    assert b.current("c") == 80
    clock.now += 601  # ran for more than twice the maximum (Kubernetes' 10 minutes)
    assert b.remaining("c", since=clock.now) == 0
    assert b.next("c") == 10


def test_reset_and_gc_bound_the_entries():
    clock = Clock()
    b = Backoff(1, 4, clock=clock)
    b.next(("pod-a", "c"))
    b.next(("pod-b", "c"))
    b.reset(("pod-a", "c"))
    assert b.current(("pod-a", "c")) is None
    b.gc(lambda key: key[0] != "pod-b")
    assert b.current(("pod-b", "c")) is None


def test_invalid_bounds_are_refused():
    with pytest.raises(ValueError):
        Backoff(10, 5)
