"""``density``: how many kubelets and pods one machine holds while the cluster stays healthy.

For each size in ``--sizes`` (10, 50, 100 nodes) a fresh cluster is started with that many kubelet
processes (simulated runtime), ``--pods-per-node`` pods per node are created and awaited Running,
and the cluster is then left alone for ``--steady-seconds``. psutil samples CPU and RSS of every
process (kubelets, apiserver, scheduler, controller manager, etcd) during the pod creation and
during the steady window separately.

Healthy means: every node Ready at the end and never seen otherwise through a watch, and every
node Lease renewed on time. The kubelet renews every 10 s (``renewInterval``) for a lease of 40 s
(``leaseDurationSeconds``, which the node lifecycle controller also waits before it calls a node
unreachable); the gaps between consecutive ``renewTime``s of each lease are reported, and the
target is that none exceeds the lease duration (and how many exceed 1.5 × the interval).
"""

from __future__ import annotations

import threading
import time

from kubemu.bench import etcd_baseline, load, report, stats
from kubemu.bench.cluster import BenchCluster, ProcessSampler
from kubemu.bench.observe import EtcdWriteCounter, PodTracker
from machinery import errors
from machinery.meta import parse_time

NAMESPACE = "bench-density"
RENEW_INTERVAL_S = 10.0
LEASE_DURATION_S = 40.0


def add_arguments(p) -> None:
    p.add_argument("--sizes", default="10,50,100", help="node counts, comma-separated")
    p.add_argument("--pods-per-node", type=int, default=30)
    p.add_argument("--steady-seconds", type=float, default=60.0, help="how long to watch the loaded cluster")
    p.add_argument("--create-workers", type=int, default=16)
    p.add_argument("--timeout", type=float, default=600.0, help="how long to wait for the pods to run")


SMOKE = {"sizes": "2", "pods_per_node": 3, "steady_seconds": 3.0, "timeout": 60.0}


class HealthWatch:
    """Watch node Leases and Nodes: renewal gaps per lease, and every node seen not Ready."""

    def __init__(self, client):
        self.client = client
        self.renewals: dict[str, list[float]] = {}
        self.not_ready: dict[str, int] = {}
        self._watches = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._leases, daemon=True, name="bench-leases"),
                         threading.Thread(target=self._nodes, daemon=True, name="bench-nodes")]

    def start(self) -> HealthWatch:
        self._lease_rv = self.client.list("leases", "kube-node-lease").resource_version
        self._node_rv = self.client.list("nodes").resource_version
        for t in self._threads:
            t.start()
        return self

    def _run(self, resource: str, namespace: str, rv_attr: str, handle) -> None:
        while not self._stop.is_set():
            try:
                w = self.client.watch(resource, namespace, resource_version=getattr(self, rv_attr))
                self._watches.append(w)
                for ev in w:
                    setattr(self, rv_attr, ev.object.get("metadata", {}).get("resourceVersion") or
                            getattr(self, rv_attr))
                    if ev.type in ("ADDED", "MODIFIED"):
                        handle(ev.object)
            except errors.APIError:
                time.sleep(0.2)

    def _leases(self) -> None:
        def handle(lease: dict) -> None:
            renew = parse_time((lease.get("spec") or {}).get("renewTime") or "")
            if renew is not None:
                times = self.renewals.setdefault(lease["metadata"]["name"], [])
                if not times or renew.timestamp() > times[-1]:
                    times.append(renew.timestamp())

        self._run("leases", "kube-node-lease", "_lease_rv", handle)

    def _nodes(self) -> None:
        def handle(node: dict) -> None:
            from kubemu.cli import node_ready

            if node_ready(node) != "Ready":
                name = node["metadata"]["name"]
                self.not_ready[name] = self.not_ready.get(name, 0) + 1

        self._run("nodes", "", "_node_rv", handle)

    def stop(self) -> None:
        self._stop.set()
        for w in self._watches:
            w.cancel()

    def gaps(self, since: float) -> list[float]:
        out = []
        for times in self.renewals.values():
            recent = [t for t in times if t >= since]
            out.extend(b - a for a, b in zip(recent, recent[1:], strict=False))
        return out


def pod_manifest(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"density-{i:05d}", "namespace": NAMESPACE, "labels": {"app": "bench-density"}},
            "spec": {"containers": [{"name": "pause", "image": "pause",
                                     "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}],
                     "terminationGracePeriodSeconds": 0}}


def one_size(nodes: int, args, progress) -> tuple[dict, dict | None, list]:
    from kubemu.cli import node_ready

    pods = nodes * args.pods_per_node
    progress.phase(f"{nodes} nodes: starting the cluster")
    up_start = time.monotonic()
    with BenchCluster(nodes, runtime="simulated", keep=args.keep) as cluster:
        up_s = time.monotonic() - up_start
        cluster.ensure_namespace(NAMESPACE)
        client = cluster.new_client()
        health = HealthWatch(cluster.new_client()).start()
        tracker = PodTracker(cluster.new_client(), NAMESPACE).start()
        writes = EtcdWriteCounter(cluster.etcd_endpoint()).start()
        watch_start = time.time()
        load_sampler = ProcessSampler(cluster.components()).start()
        creates = load.Calls()
        progress.phase(f"{nodes} nodes: creating {pods} pods")
        progress.tick(lambda: f"created {len(creates.samples)}/{pods}, running {len(tracker.running)}")
        t0 = time.time()
        load.burst(pods, lambda i: creates.timed(lambda: client.create("pods", pod_manifest(i))),
                   workers=args.create_workers)
        all_running = tracker.wait(lambda t: len(t.running) >= pods, args.timeout)
        running_s = time.time() - t0
        load_sampler.stop()
        load_writes = writes.snapshot()
        progress.phase(f"{nodes} nodes: steady for {args.steady_seconds:g}s")
        steady_sampler = ProcessSampler(cluster.components()).start()
        steady_start = time.time()
        progress.tick(lambda: f"leases renewed {sum(len(v) for v in health.renewals.values())}, "
                              f"not-ready sightings {sum(health.not_ready.values())}")
        time.sleep(args.steady_seconds)
        steady_sampler.stop()
        progress.stop_ticker()
        steady_writes = writes.snapshot()
        steady_s = time.time() - steady_start
        node_list = client.list("nodes").items
        ready_at_end = sum(1 for n in node_list if node_ready(n) == "Ready")
        health.stop()
        tracker.stop()
        writes.stop()
        client.close()
        base = None
        if nodes == max(_sizes(args)):
            base = etcd_baseline.in_cluster(cluster, args, {}, progress)
    gaps = health.gaps(watch_start)
    leases_renewed = sum(1 for v in health.renewals.values() if any(t >= watch_start for t in v))
    max_gap = max(gaps) if gaps else None
    healthy = (ready_at_end == nodes and not health.not_ready and all_running
               and (max_gap is None or max_gap <= LEASE_DURATION_S) and leases_renewed == nodes)
    if healthy and max_gap is None:
        healthy = None  # a window too short for two renewals of a lease cannot tell
    steady_rate = (steady_writes["total"] - load_writes["total"]) / max(1e-6, steady_s)
    figures = {
        "nodes": nodes, "pods": pods, "clusterStartSeconds": round(up_s, 1),
        "podsRunning": len(tracker.running), "allRunning": all_running,
        "secondsToAllRunning": round(running_s, 1) if all_running else None,
        "podsRunningPerSecond": stats.rate(len(tracker.running), running_s),
        "createLatencyMs": stats.summarize(creates.latencies(), scale=1000, digits=1),
        "healthy": healthy,
        "nodesReadyAtEnd": ready_at_end, "notReadySightings": dict(health.not_ready),
        "leaseRenewalGapSeconds": stats.summarize(gaps, digits=2),
        "leasesRenewed": leases_renewed,
        "leaseGapsOver1.5xInterval": sum(1 for g in gaps if g > 1.5 * RENEW_INTERVAL_S),
        "leaseGapsOverDuration": sum(1 for g in gaps if g > LEASE_DURATION_S),
        "whileCreating": load_sampler.per_kind(), "steady": steady_sampler.per_kind(),
        "foreignCpuPercentSteady": steady_sampler.foreign_summary(),
        "etcdWrites": {"whileCreating": load_writes, "steadyWritesPerSecond": round(steady_rate, 1),
                       "perPodWhileCreating": round((load_writes["total"]) / max(1, pods), 2)},
    }
    return figures, base, steady_sampler.foreign


def _sizes(args) -> list[int]:
    return [int(s) for s in str(args.sizes).split(",") if s.strip()]


def scenario(args, result: dict, progress) -> str:
    sizes = _sizes(args)
    runs, foreign = [], []
    for n in sizes:
        figures, base, foreign_samples = one_size(n, args, progress)
        runs.append(figures)
        foreign.extend(foreign_samples)
        if base is not None:
            result["etcdBaseline"] = base
    progress.done()
    result["figures"] = {"sizes": runs}
    result["machine"]["foreignCpuPercent"] = stats.summarize(foreign, digits=1)
    biggest = runs[-1]
    base = result.get("etcdBaseline")
    result["etcdRatio"] = {
        f"steady{biggest['nodes']}Nodes": etcd_baseline.ratio(
            biggest["etcdWrites"]["steadyWritesPerSecond"], base,
            "etcd writes per second of the idle loaded cluster ÷ raw concurrent CAS writes per second"),
        f"creating{biggest['nodes']}Nodes": etcd_baseline.ratio(
            round(biggest["podsRunningPerSecond"] * biggest["etcdWrites"]["perPodWhileCreating"], 1)
            if biggest["podsRunningPerSecond"] else None, base,
            "pods Running per second × etcd writes per pod ÷ raw concurrent CAS writes per second")}
    result["targets"] = [report.target(f"{r['nodes']} kubelets, {r['pods']} pods: all Ready, leases on time",
                                       f"leases renewed within {LEASE_DURATION_S:.0f}s",
                                       r["leaseRenewalGapSeconds"]["max"], r["healthy"]) for r in runs]
    def rss_cpu(kind_figures: dict) -> str:
        return f"{report.fmt(kind_figures.get('totalRssMiB'))}/{report.fmt(kind_figures.get('totalCpuPercent'))}"

    rows = []
    for r in runs:
        s = r["steady"]
        kub = s.get("kubelet") or {}
        rows.append([str(r["nodes"]), str(r["pods"]), {True: "yes", False: "NO", None: "?"}[r["healthy"]],
                     report.fmt(r["leaseRenewalGapSeconds"]["max"], "s"),
                     report.fmt((kub.get("rssMiB") or {}).get("median")),
                     report.fmt((kub.get("cpuPercent") or {}).get("median")),
                     *[rss_cpu(s.get(k) or {}) for k in ("apiserver", "scheduler", "controller-manager", "etcd")],
                     report.fmt(r["etcdWrites"]["steadyWritesPerSecond"]), report.fmt(r["podsRunningPerSecond"])])
    table = report.table(["nodes", "pods", "healthy", "max lease gap", "kubelet MiB", "kubelet CPU%",
                          "apiserver MiB/CPU%", "scheduler", "controller-mgr", "etcd", "etcd writes/s",
                          "pods Running/s"], rows)
    return ("steady window: RSS MiB and CPU% (of one CPU, mean over the window); kubelet columns are the median "
            "over the kubelet processes\n" + table)


def charts(result: dict) -> list[str]:
    from kubemu.bench import plot

    runs = result["figures"]["sizes"]
    groups = [f"{r['nodes']} nodes" for r in runs]
    kinds = ("kubelet", "apiserver", "scheduler", "controller-manager", "etcd")
    rss = {k: [(r["steady"].get(k) or {}).get("totalRssMiB") for r in runs] for k in kinds}
    cpu = {k: [(r["steady"].get(k) or {}).get("totalCpuPercent") for r in runs] for k in kinds}
    return [plot.bars("RSS by component (sum over processes), steady", "MiB", groups, rss),
            plot.bars("CPU by component (sum over processes), steady", "% of one CPU", groups, cpu)]
