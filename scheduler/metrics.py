"""The scheduler's Prometheus metrics, named and labelled as kube-scheduler's.

- ``scheduler_schedule_attempts_total{result, profile}``: scheduling attempts by outcome:
  ``scheduled`` (bound), ``unschedulable`` (no node fits) or ``error`` (a Reserve or bind
  failure, an unexpected exception). One attempt ends when the pod is bound or put back.
- ``scheduler_scheduling_attempt_duration_seconds{result, profile}``: how long each attempt
  took, from the cycle's start to its end (for ``scheduled``: until the bind returned).
- ``scheduler_pending_pods{queue}``: pending pods per queue (``active``, ``backoff``,
  ``unschedulable``, ``gated``: waiting for ``spec.schedulingGates`` to be removed), read from
  the leading replica's queue at scrape time; a standby reports zeros.

``leader_election_master_status``, ``process_*`` and ``kubernetes_build_info`` come from
:mod:`machinery.metrics`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

SCHEDULED, UNSCHEDULABLE, ERROR = "scheduled", "unschedulable", "error"
QUEUES = ("active", "backoff", "unschedulable", "gated")

SCHEDULE_ATTEMPTS = Counter("scheduler_schedule_attempts_total",
                            "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could "
                            "not be scheduled, while 'error' means an internal scheduler problem.",
                            ["result", "profile"])
# Kubernetes' buckets: 1 ms doubling 15 times (up to ~16 s).
ATTEMPT_DURATION = Histogram("scheduler_scheduling_attempt_duration_seconds",
                             "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
                             ["result", "profile"], buckets=tuple(0.001 * 2 ** i for i in range(15)))


def attempt(profile: str, result: str, started: float) -> None:
    """One scheduling attempt ended with ``result``; ``started`` is its time.monotonic() start."""
    SCHEDULE_ATTEMPTS.labels(result, profile).inc()
    ATTEMPT_DURATION.labels(result, profile).observe(time.monotonic() - started)


class _PendingPods:
    """``scheduler_pending_pods{queue}`` from whatever :func:`watch_pending` points at."""

    def __init__(self):
        self._source: Callable[[], dict] | None = None
        self._lock = threading.Lock()

    def set_source(self, source: Callable[[], dict] | None) -> None:
        with self._lock:
            self._source = source

    def collect(self):
        gauge = GaugeMetricFamily("scheduler_pending_pods", "Number of pending pods, by the queue type. 'active' "
                                  "means number of pods in activeQ; 'backoff' means number of pods in backoffQ; "
                                  "'unschedulable' means number of pods in unschedulablePods that the scheduler "
                                  "attempted to schedule and failed; 'gated' is the number of unschedulable pods "
                                  "that the scheduler never attempted to schedule because they are gated.",
                                  labels=["queue"])
        with self._lock:
            source = self._source
        counts = source() if source is not None else {}
        for queue in QUEUES:
            gauge.add_metric([queue], counts.get(queue, 0))
        yield gauge

    def describe(self):
        return []


PENDING_PODS = _PendingPods()
REGISTRY.register(PENDING_PODS)


def watch_pending(source: Callable[[], dict] | None) -> None:
    """Report ``source()`` (``{"active": n, "backoff": n, "unschedulable": n, "gated": n}``) as pending pods."""
    PENDING_PODS.set_source(source)
