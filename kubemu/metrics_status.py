"""What ``kubemu status`` reads from the components' Prometheus endpoints.

Each component of ``state.json`` with a ``metricsAddress`` (etcd's and the apiserver's over
their client URLs; the scheduler's, controller manager's and kubelets' on their metrics ports)
(and the kube-proxies') is scraped and its text parsed with ``prometheus_client``'s parser. The row shows:

- LEADER: ``leader_election_master_status`` (scheduler, controller manager) or
  ``etcd_server_is_leader``; ``-`` for components that do not elect one;
- QUEUES: ``scheduler_pending_pods`` per queue, ``workqueue_depth`` per work queue;
- RATES: per-second rates of the main counters: apiserver requests (and the busiest verbs)
  and watch events, scheduling attempts and bindings, work-queue adds and retries, node lease
  renewals, etcd gRPC requests, connections a kube-proxy forwarded and its syncs;
- CPU (cores in use, from ``process_cpu_seconds_total``) and RSS (``process_resident_memory_bytes``).

Rates are the difference between two scrapes ``interval_s`` apart (``kubemu status
--rate-interval``, 1 s by default), so they describe the last moment. With an interval of 0
there is one scrape and each rate is the counter divided by the process' uptime (from
``process_start_time_seconds``): the average since the component started.

The apiserver's ``/metrics`` is read with the ``kubemu:monitoring`` token (group
``system:monitoring``) and the cluster CA; a scrape that fails shows why, and never fails the
command.
"""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

SCRAPE_TIMEOUT_S = 1.0
MAX_BODY_BYTES = 16 * 1024 * 1024
TOP_VERBS = 3


@dataclass
class Scrape:
    """One scrape: every sample as (name, labels) → value, when it was taken, or why it failed."""

    samples: dict[tuple[str, frozenset], float] = field(default_factory=dict)
    at: float = 0.0  # time.monotonic()
    wall: float = 0.0  # time.time()
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def values(self, name: str, **labels: str) -> list[tuple[dict, float]]:
        """(labels, value) of every sample called ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return [(dict(lbls), v) for (n, lbls), v in self.samples.items() if n == name and wanted <= lbls]

    def total(self, name: str, **labels: str) -> float | None:
        found = self.values(name, **labels)
        return sum(v for _, v in found) if found else None


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    """Prometheus text exposition → samples (``ValueError`` if it does not parse)."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = float(sample.value)
    return samples


def scrape(url: str, *, ca_file: str = "", token: str = "", timeout_s: float = SCRAPE_TIMEOUT_S) -> Scrape:
    """GET ``url`` (HTTPS verified by ``ca_file``, a bearer ``token``) and parse what it answers."""
    headers = {"Accept": "text/plain"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    context = ssl.create_default_context(cafile=ca_file or None) if url.startswith("https:") else None
    started, wall = time.monotonic(), time.time()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s,
                                    context=context) as resp:
            body = resp.read(MAX_BODY_BYTES)
    except urllib.error.HTTPError as e:
        return Scrape(at=started, wall=wall, error=f"HTTP {e.code}")
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return Scrape(at=started, wall=wall, error=str(reason) or type(e).__name__)
    try:
        return Scrape(parse(body.decode("utf-8", errors="replace")), at=started, wall=wall)
    except ValueError as e:
        return Scrape(at=started, wall=wall, error=f"unparsable metrics: {e}")


def scrape_component(comp: dict) -> Scrape:
    token = ""
    if comp.get("metricsTokenFile"):
        try:
            with open(comp["metricsTokenFile"]) as f:
                token = f.read().strip()
        except OSError as e:
            return Scrape(error=f"cannot read the monitoring token: {e}")
    return scrape(comp["metricsAddress"], ca_file=comp.get("caFile", ""), token=token)


# --------------------------------------------------------------------------- summaries


def _rate(first: Scrape | None, last: Scrape, name: str, **labels: str) -> float | None:
    """Per second: between two scrapes, or (no first) since the process started. A labelled
    counter has no series until it first counts: absent is 0."""
    now = last.total(name, **labels) or 0.0
    if first is not None:
        elapsed = last.at - first.at
        if elapsed <= 0:
            return None
        return max(0.0, now - (first.total(name, **labels) or 0.0)) / elapsed
    start = last.total("process_start_time_seconds")
    uptime = last.wall - start if start else 0
    return now / uptime if uptime > 0 else None


def _num(value: float) -> str:
    if value >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(n)


def leader(kind: str, last: Scrape) -> str:
    if kind == "etcd":
        value = last.total("etcd_server_is_leader")
    else:
        found = last.values("leader_election_master_status")
        value = max((v for _, v in found), default=None)
    if value is None:
        return "-"
    return "yes" if value >= 1 else "no"


def queues(kind: str, last: Scrape) -> str:
    if kind == "scheduler":
        pending = {lbls.get("queue", ""): v for lbls, v in last.values("scheduler_pending_pods")}
        return " ".join(f"{q}={pending[q]:.0f}" for q in ("active", "backoff", "unschedulable", "gated")
                        if q in pending) or "-"
    depths = sorted((lbls.get("name", ""), v) for lbls, v in last.values("workqueue_depth"))
    if not depths:
        return "-"
    if len(depths) <= 3:
        return " ".join(f"{name}={v:.0f}" for name, v in depths)
    busy = [(name, v) for name, v in depths if v]
    text = f"total={sum(v for _, v in depths):.0f}"
    return text + "".join(f" {name}={v:.0f}" for name, v in sorted(busy, key=lambda x: -x[1])[:TOP_VERBS])


def rates(kind: str, first: Scrape | None, last: Scrape) -> str:
    parts: list[tuple[str, float | None]] = []
    if kind == "apiserver":
        parts.append(("requests", _rate(first, last, "apiserver_request_total")))
        verbs = sorted({lbls.get("verb", "") for lbls, _ in last.values("apiserver_request_total")})
        by_verb = [(v, _rate(first, last, "apiserver_request_total", verb=v)) for v in verbs]
        busiest = sorted(((v, r) for v, r in by_verb if r), key=lambda x: -x[1])[:TOP_VERBS]
        parts += busiest
        parts.append(("watch-events", _rate(first, last, "apiserver_watch_events_total")))
    elif kind == "scheduler":
        parts.append(("attempts", _rate(first, last, "scheduler_schedule_attempts_total")))
        parts.append(("scheduled", _rate(first, last, "scheduler_schedule_attempts_total", result="scheduled")))
    elif kind == "etcd":
        parts.append(("grpc", _rate(first, last, "grpc_server_handled_total")))
    elif kind == "kube-proxy":
        parts.append(("connections", _rate(first, last, "kubeproxy_userspace_connections_total", result="proxied")))
        parts.append(("syncs", _rate(first, last, "kubeproxy_sync_proxy_rules_duration_seconds_count")))
    else:
        parts.append(("adds", _rate(first, last, "workqueue_adds_total")))
        parts.append(("retries", _rate(first, last, "workqueue_retries_total")))
        if kind == "kubelet":
            parts.append(("lease-renewals", _rate(first, last, "kubelet_node_lease_renewals_total")))
    text = " ".join(f"{name}={_num(value)}" for name, value in parts if value is not None)
    return text or "-"


def row(comp: dict, first: Scrape | None, last: Scrape) -> list[str]:
    """``[component, metrics, leader, queues, rates, cpu, rss]`` for one component."""
    name, kind = comp["name"], comp.get("kind", "")
    if not last.ok:
        return [name, f"DOWN ({last.error})"[:60], "-", "-", "-", "-", "-"]
    if first is not None and not first.ok:
        first = None
    cpu = _rate(first, last, "process_cpu_seconds_total")
    rss = last.total("process_resident_memory_bytes")
    return [name, "up", leader(kind, last), queues(kind, last), rates(kind, first, last),
            "-" if cpu is None else f"{cpu:.2f}", "-" if rss is None else _bytes(rss)]


HEADERS = ["COMPONENT", "METRICS", "LEADER", "QUEUES", "RATES (/s)", "CPU", "RSS"]


def scrape_all(comps: list[dict], pool) -> list[Scrape]:
    """The first scrape of every component, on ``pool``."""
    return list(pool.map(scrape_component, comps))


def finish(comps: list[dict], first: list[Scrape], interval_s: float, pool) -> list[list[str]]:
    """One row per component: scrape again ``interval_s`` after ``first`` (rates over that time),
    or, with ``interval_s`` 0, rates since each process started."""
    if interval_s <= 0:
        return [row(c, None, s) for c, s in zip(comps, first, strict=True)]
    started = min((s.at for s in first if s.at), default=time.monotonic())
    time.sleep(max(0.0, started + interval_s - time.monotonic()))
    last = list(pool.map(scrape_component, comps))
    return [row(c, f, s) for c, f, s in zip(comps, first, last, strict=True)]
