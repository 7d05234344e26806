"""The kubelet's Prometheus metrics, named as the kubelet's where Kubernetes has one.

- ``kubelet_running_pods``: pods that have a pod sandbox; ``kubelet_running_containers
  {container_state}``: their containers by state (``running``, ``exited``, ``created``,
  ``unknown``) as the PLEG last saw them. Both are read at scrape time.
- ``kubelet_pod_start_duration_seconds``: from the kubelet first seeing a pod to the pod
  running (its status first written with phase Running).
- ``kubelet_node_name{node}``: 1, naming the node.
- Node lease heartbeats (Kubernetes' kubelet has no metric for them; these follow its style):
  ``kubelet_node_lease_renewals_total{result}`` (``success`` / ``error``),
  ``kubelet_node_lease_renew_duration_seconds`` and
  ``kubelet_node_lease_last_renew_timestamp_seconds`` (Unix time of the last success).

The pod work queue reports ``workqueue_*{name="kubelet-pods"}`` (:mod:`machinery.metrics`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

CONTAINER_STATES = ("running", "exited", "created", "unknown")
# The runtime's state names → the kubelet metric's container_state values.
_STATE_NAMES = {"running": "running", "terminated": "exited", "waiting": "created"}

POD_START_DURATION = Histogram("kubelet_pod_start_duration_seconds", "Duration in seconds from kubelet seeing a pod "
                               "for the first time to the pod starting to run",
                               buckets=(0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480,
                                        600, 900, 1200, 1800, 2700, 3600))
NODE_NAME = Gauge("kubelet_node_name", "The node's name. The count is always 1.", ["node"])
LEASE_RENEWALS = Counter("kubelet_node_lease_renewals_total", "Node Lease renewals in kube-node-lease, by result "
                         "(success or error).", ["result"])
LEASE_RENEW_DURATION = Histogram("kubelet_node_lease_renew_duration_seconds",
                                 "Duration in seconds of one node Lease renewal (read and write), failed ones "
                                 "included.", buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LEASE_LAST_RENEW = Gauge("kubelet_node_lease_last_renew_timestamp_seconds",
                         "Unix time of the last successful node Lease renewal.")


class _RunningPods:
    """``kubelet_running_pods`` and ``kubelet_running_containers`` from the kubelet at scrape time."""

    def __init__(self):
        self._source: Callable[[], tuple[int, dict[str, int]]] | None = None
        self._lock = threading.Lock()

    def set_source(self, source) -> None:
        with self._lock:
            self._source = source

    def collect(self):
        with self._lock:
            source = self._source
        pods, states = source() if source is not None else (0, {})
        by_state = dict.fromkeys(CONTAINER_STATES, 0)
        for state, n in states.items():
            name = _STATE_NAMES.get(state, "unknown")
            by_state[name] += n
        gauge = GaugeMetricFamily("kubelet_running_pods", "Number of pods that have a running pod sandbox")
        gauge.add_metric([], pods)
        yield gauge
        containers = GaugeMetricFamily("kubelet_running_containers", "Number of containers currently running",
                                       labels=["container_state"])
        for state in CONTAINER_STATES:
            containers.add_metric([state], by_state[state])
        yield containers

    def describe(self):
        return []


RUNNING = _RunningPods()
REGISTRY.register(RUNNING)


def watch_kubelet(node: str, source: Callable[[], tuple[int, dict[str, int]]] | None) -> None:
    """Report ``source()`` — (pods with a sandbox, {runtime state: containers}) — for node ``node``."""
    NODE_NAME.labels(node).set(1)
    RUNNING.set_source(source)


def pod_started(first_seen: float) -> None:
    """A pod first seen at ``first_seen`` (time.monotonic()) is running now."""
    POD_START_DURATION.observe(time.monotonic() - first_seen)


def timed_lease_renewal(renew: Callable[[], None]) -> Callable[[], None]:
    """``renew`` counted and timed as a node Lease renewal; its exceptions pass through."""

    def renew_and_record() -> None:
        started = time.monotonic()
        try:
            renew()
        except BaseException:
            LEASE_RENEWALS.labels("error").inc()
            raise
        else:
            LEASE_RENEWALS.labels("success").inc()
            LEASE_LAST_RENEW.set(time.time())
        finally:
            LEASE_RENEW_DURATION.observe(time.monotonic() - started)

    return renew_and_record
