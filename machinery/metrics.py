"""Prometheus metrics every component shares: the ``/metrics`` HTTP server, its flags, and the
series of the shared machinery (work queues, leader election, build info).

Every component keeps its series in the process-wide default registry of ``prometheus_client``
(the standard Python client), which also carries the process collector's
``process_cpu_seconds_total``, ``process_resident_memory_bytes`` … . Names and labels follow
Kubernetes (client-go's workqueue and leader-election metrics, component-base's
``kubernetes_build_info``); each component's own series live in its ``metrics.py``. The list
of every series is in docs/metrics.md.

Cost on the hot path: a counter increment or histogram observation is a dict lookup and an
add under a per-series lock (microseconds); anything that needs a walk over state (queue
depths, running pods) is computed by a collector when ``/metrics`` is scraped, never per
request. A scrape runs on the metrics server's own threads, never on a request path.

The server: plain HTTP (like the scheduler's old 10251, the controller manager's 10252 and
the kubelet's read-only 10255), ``GET /metrics`` only, on a small bounded set of threads; a
connection beyond them is closed at once. ``--metrics-port 0`` turns it off. The apiserver
serves ``/metrics`` on its REST port instead, behind authentication and authorization
(:mod:`apiserver.metrics`).
"""

from __future__ import annotations

import argparse
import logging
import platform
import threading
import weakref
from http.server import BaseHTTPRequestHandler

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from machinery.bounded_http import BoundedHTTPServer

log = logging.getLogger(__name__)

# Kubernetes components expose no ``*_created`` series; neither do we.
disable_created_metrics()

METRICS_PATH = "/metrics"
# Concurrent scrapes served at once; more connections are closed without an answer.
MAX_SCRAPES = 4
# A scraper that sends nothing for this long is dropped.
REQUEST_TIMEOUT_S = 10.0


# --------------------------------------------------------------------------- build info


BUILD_INFO = Gauge("kubernetes_build_info", "A metric with a constant '1' value labeled by major, minor, git "
                   "version and platform of the Kubernetes release kubemu follows, and the kubemu component.",
                   ["major", "minor", "git_version", "platform", "component", "kubemu_version"])


def record_build_info(component: str) -> None:
    """``kubernetes_build_info`` = 1, labelled with the Kubernetes version kubemu follows."""
    from machinery.server import KUBERNETES_VERSION, VERSION

    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    BUILD_INFO.labels(major, minor, KUBERNETES_VERSION, f"{platform.system().lower()}/{platform.machine()}",
                      component, VERSION).set(1)


# --------------------------------------------------------------------------- leader election

LEADER_STATUS = Gauge("leader_election_master_status",
                      "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, "
                      "1 indicates master. 'name' is the string used to identify the lease.", ["name"])


# --------------------------------------------------------------------------- work queues (client-go)

# client-go's buckets: 10 ns … 10 s, powers of ten.
_QUEUE_BUCKETS = tuple(1e-8 * 10 ** i for i in range(10))

WORKQUEUE_ADDS = Counter("workqueue_adds_total", "Total number of adds handled by workqueue", ["name"])
WORKQUEUE_RETRIES = Counter("workqueue_retries_total", "Total number of retries handled by workqueue", ["name"])
WORKQUEUE_QUEUE_DURATION = Histogram("workqueue_queue_duration_seconds",
                                     "How long in seconds an item stays in workqueue before being requested.",
                                     ["name"], buckets=_QUEUE_BUCKETS)
WORKQUEUE_WORK_DURATION = Histogram("workqueue_work_duration_seconds",
                                    "How long in seconds processing an item from workqueue takes.",
                                    ["name"], buckets=_QUEUE_BUCKETS)


class QueueMetrics:
    """The series of one named queue, resolved once so the queue's hot path only adds and observes."""

    __slots__ = ("adds", "retries", "queue_duration", "work_duration")

    def __init__(self, name: str):
        self.adds = WORKQUEUE_ADDS.labels(name)
        self.retries = WORKQUEUE_RETRIES.labels(name)
        self.queue_duration = WORKQUEUE_QUEUE_DURATION.labels(name)
        self.work_duration = WORKQUEUE_WORK_DURATION.labels(name)


class _LiveQueues:
    """``workqueue_depth``, ``workqueue_unfinished_work_seconds`` and
    ``workqueue_longest_running_processor_seconds``, read from the live queues at scrape time.

    Computed, not kept as gauges: a leader-elected component replaces its queues every term, and
    a queue that was shut down with keys in it must not count any more. Queues register
    themselves (weakly: a dropped queue disappears); one that is shut down is skipped.
    """

    def __init__(self):
        self._queues: weakref.WeakSet = weakref.WeakSet()
        self._lock = threading.Lock()

    def add(self, queue) -> None:
        with self._lock:
            self._queues.add(queue)

    def collect(self):
        depth = GaugeMetricFamily("workqueue_depth", "Current depth of workqueue", labels=["name"])
        unfinished = GaugeMetricFamily("workqueue_unfinished_work_seconds",
                                       "How many seconds of work has done that is in progress and hasn't been "
                                       "observed by work_duration. Large values indicate stuck threads.",
                                       labels=["name"])
        longest = GaugeMetricFamily("workqueue_longest_running_processor_seconds",
                                    "How many seconds has the longest running processor for workqueue been running.",
                                    labels=["name"])
        totals: dict[str, list[float]] = {}
        with self._lock:
            queues = list(self._queues)
        for queue in queues:
            snapshot = queue.metrics_snapshot()
            if snapshot is None:
                continue
            row = totals.setdefault(queue.name, [0, 0.0, 0.0])
            row[0] += snapshot[0]
            row[1] += snapshot[1]
            row[2] = max(row[2], snapshot[2])
        for name, (n, busy, oldest) in sorted(totals.items()):
            depth.add_metric([name], n)
            unfinished.add_metric([name], busy)
            longest.add_metric([name], oldest)
        yield depth
        yield unfinished
        yield longest

    def describe(self):
        return []  # dynamic: nothing to check for clashes at registration


LIVE_QUEUES = _LiveQueues()
REGISTRY.register(LIVE_QUEUES)


# --------------------------------------------------------------------------- the /metrics server


def add_flags(p: argparse.ArgumentParser, *, default_port: int) -> None:
    """``--metrics-port`` (0 = off) and ``--metrics-bind-address``; ``KUBEMU_METRICS_PORT`` … work too."""
    p.add_argument("--metrics-port", type=int, default=default_port,
                   help=f"port serving Prometheus metrics at {METRICS_PATH} over plain HTTP (0 turns it off)")
    p.add_argument("--metrics-bind-address", default="",
                   help="address the metrics server listens on (default: --bind-address)")


class _Handler(BaseHTTPRequestHandler):
    timeout = REQUEST_TIMEOUT_S
    server_version = "kubemu-metrics"

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
        path = self.path.split("?", 1)[0]
        if path.rstrip("/") != METRICS_PATH:
            self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return
        encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
        try:
            body = encoder(self.server.registry)
        except Exception:  # noqa: BLE001 - a collector's bug must not take the server down
            log.exception("collecting metrics failed")
            self._send(500, b"collecting metrics failed\n", "text/plain; charset=utf-8")
            return
        self._send(200, body, content_type)

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the http.server signature
        log.debug("metrics %s: " + format, self.address_string(), *args)


class MetricsServer:
    """``GET /metrics`` over plain HTTP on its own threads."""

    def __init__(self, host: str, port: int, registry=REGISTRY):
        try:
            self._server = BoundedHTTPServer((host, port), _Handler, MAX_SCRAPES)
        except OSError as e:
            raise OSError(f"cannot serve metrics on {host}:{port}: {e}") from e
        self._server.registry = registry  # what _Handler encodes
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.5},
                                        daemon=True, name="metrics-server")

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{METRICS_PATH}"

    def start(self) -> MetricsServer:
        self._thread.start()
        log.info("serving metrics on %s", self.url)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_from_args(args: argparse.Namespace, component: str) -> MetricsServer | None:
    """Start the metrics server the flags ask for (None with ``--metrics-port 0``)."""
    record_build_info(component)
    if not args.metrics_port:
        return None
    return MetricsServer(args.metrics_bind_address or args.bind_address, args.metrics_port).start()
