"""``pod-startup``: pod startup latency and mutating API call latency at a steady pod churn.

The Kubernetes pod-startup SLI: from the pod's creation to all its containers started *as seen
through a watch*; the SLO asks p99 ≤ 5 s at 20 pods/s churn on a real cluster (the target here
is 1 s: there is no image to pull and no network to set up). This scenario starts a fresh cluster
(``--nodes`` 3, the process runtime, an image catalog with no pull delay), creates pods at
``--rate`` per second for ``--duration`` seconds (open loop: each create starts on schedule) and
deletes each pod ``--pod-lifetime`` seconds after it was seen running, so the churn is steady and
the node's pod count stays bounded. A watch on the namespace timestamps, per pod, when it was
first seen bound and first seen with every container running.

Figures: the startup latency measured from the moment the create call was *issued* (the client's
clock; creationTimestamp has one-second resolution, so it is also reported from that, rounded
down), its two parts (create → bound, bound → running), the latency of every create and delete
call, and the etcd writes each pod cost (counted by key on an etcd watch).
"""

from __future__ import annotations

import threading
import time

from kubemu.bench import etcd_baseline, load, report, stats
from kubemu.bench.cluster import BenchCluster, ProcessSampler
from kubemu.bench.observe import EtcdWriteCounter, PodTracker
from machinery.meta import parse_time

NAMESPACE = "bench-startup"
STARTUP_TARGET_MS = 1000.0
API_TARGET_MS = 100.0


def add_arguments(p) -> None:
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--runtime", choices=("process", "simulated"), default="process")
    p.add_argument("--rate", type=float, default=20.0, help="pods created per second")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of churn (rate × duration pods)")
    p.add_argument("--pod-lifetime", type=float, default=5.0,
                   help="seconds a pod lives after it was seen running before it is deleted (<0: never)")
    p.add_argument("--timeout", type=float, default=120.0, help="how long to wait for the last pods")


SMOKE = {"nodes": 1, "rate": 5.0, "duration": 1.0, "pod_lifetime": 0.5, "timeout": 60.0}


def pod_manifest(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"startup-{i:05d}", "namespace": NAMESPACE, "labels": {"app": "bench-startup"}},
            "spec": {"containers": [{"name": "pause", "image": "pause"}], "terminationGracePeriodSeconds": 1}}


def scenario(args, result: dict, progress) -> str:
    total = max(1, int(args.rate * args.duration))
    result["parameters"]["pods"] = total
    progress.phase(f"starting a cluster: {args.nodes} nodes, {args.runtime} runtime")
    with BenchCluster(args.nodes, runtime=args.runtime, keep=args.keep) as cluster:
        cluster.ensure_namespace(NAMESPACE)
        client = cluster.new_client()
        tracker = PodTracker(cluster.new_client(), NAMESPACE).start()
        writes = EtcdWriteCounter(cluster.etcd_endpoint()).start()
        sampler = ProcessSampler(cluster.components()).start()
        creates, deletes = load.Calls(), load.Calls()
        issued: dict[str, float] = {}
        issued_lock = threading.Lock()
        stop = threading.Event()

        def create(i: int) -> None:
            pod = pod_manifest(i)
            with issued_lock:
                issued[pod["metadata"]["name"]] = time.time()
            creates.timed(lambda: client.create("pods", pod, NAMESPACE))

        def deleter() -> None:
            from concurrent.futures import ThreadPoolExecutor

            asked: set[str] = set()
            with ThreadPoolExecutor(max_workers=32, thread_name_prefix="bench-delete") as pool:
                while not stop.is_set():
                    now = time.time()
                    with tracker._lock:
                        due = [n for n, t in tracker.running.items() if n not in asked and now >= t + args.pod_lifetime]
                    for name in due:
                        asked.add(name)
                        pool.submit(deletes.timed, lambda n=name: client.delete("pods", n, NAMESPACE))
                    stop.wait(0.05)

        deleting = threading.Thread(target=deleter, daemon=True, name="bench-deleter")
        if args.pod_lifetime >= 0:
            deleting.start()

        def status() -> str:
            return (f"created {len(creates.samples)}/{total}, bound {len(tracker.bound)}, running "
                    f"{len(tracker.running)}, deleted {len(tracker.deleted)}, etcd writes {writes.snapshot()['total']}")

        progress.phase(f"churn: {args.rate:g} pods/s for {args.duration:g}s")
        progress.tick(status)
        churn_start = time.time()
        lags = load.paced(args.rate, total, create)
        churn_end = time.time()
        progress.phase("waiting for the last pods to run")
        progress.tick(status)
        all_running = tracker.wait(lambda t: len(t.running) >= total, args.timeout)
        running_end = time.time()
        if args.pod_lifetime >= 0:
            progress.phase("waiting for the pods to be deleted")
            progress.tick(status)
            tracker.wait(lambda t: len(t.deleted) >= total, args.timeout)
        stop.set()
        if deleting.is_alive():
            deleting.join(timeout=30)
        progress.stop_ticker()
        sampler.stop()
        time.sleep(0.5)  # let the etcd watch deliver the last writes
        etcd_writes = writes.snapshot()
        pod_writes = writes.count("pods", NAMESPACE)
        event_writes = writes.count("events", NAMESPACE)
        writes.stop()
        tracker.stop()
        client.close()
        base = etcd_baseline.in_cluster(cluster, args, result, progress)
        components = sampler.per_kind()
        progress.done()

    # --- figures ----------------------------------------------------------------------------
    startup, sli, to_bound, bound_to_running, series = [], [], [], [], []
    for name, t_issued in issued.items():
        t_run = tracker.running.get(name)
        if t_run is None:
            continue
        startup.append(t_run - t_issued)
        series.append([round(t_issued - churn_start, 3), round(1000 * (t_run - t_issued), 1)])
        if name in tracker.bound:
            to_bound.append(tracker.bound[name] - t_issued)
            bound_to_running.append(t_run - tracker.bound[name])
    for name, t_run in tracker.running.items():
        created = parse_time(tracker.created.get(name) or "")
        if created is not None:
            sli.append(t_run - created.timestamp())
    running_times = sorted(tracker.running.values())
    running_span = (running_times[-1] - churn_start) if running_times else 0.0
    mutating = creates.latencies() + deletes.latencies()
    per_pod_writes = (pod_writes + event_writes) / total
    running_per_s = stats.rate(len(tracker.running), running_span)
    f = result["figures"]
    f["podStartupLatencyMs"] = stats.summarize(startup, scale=1000, digits=1)
    f["podStartupLatencyFromCreationTimestampMs"] = stats.summarize(sli, scale=1000, digits=1)
    f["createToBoundMs"] = stats.summarize(to_bound, scale=1000, digits=1)
    f["boundToRunningMs"] = stats.summarize(bound_to_running, scale=1000, digits=1)
    f["apiCallLatencyMs"] = {"mutating": stats.summarize(mutating, scale=1000, digits=1),
                             "create": stats.summarize(creates.latencies(), scale=1000, digits=1),
                             "delete": stats.summarize(deletes.latencies(), scale=1000, digits=1)}
    f["apiCallErrors"] = {"create": creates.errors(), "delete": deletes.errors()}
    f["pods"] = {"created": len(creates.samples) - creates.errors(), "running": len(tracker.running),
                 "deleted": len(tracker.deleted), "allRunning": all_running}
    f["rates"] = {"createsPerSecond": stats.rate(len(creates.samples), churn_end - churn_start),
                  "podsRunningPerSecond": running_per_s,
                  "runningAfterLastCreateSeconds": round(running_end - churn_end, 2)}
    f["pacerLagMs"] = stats.summarize(lags, scale=1000, digits=1)
    f["etcdWrites"] = {**etcd_writes, "podKeysInNamespace": pod_writes, "eventKeysInNamespace": event_writes,
                       "perPod": round(per_pod_writes, 2),
                       "note": "per pod: writes to the pod's own key and to its events, create to final delete"}
    f["components"] = components
    f["startupSeries"] = series
    result["machine"]["foreignCpuPercent"] = sampler.foreign_summary()
    result["etcdRatio"] = {"podChurn": etcd_baseline.ratio(
        round(running_per_s * per_pod_writes, 1) if running_per_s else None, base,
        "pods Running per second × etcd writes per pod ÷ raw concurrent CAS writes per second")}
    p99 = f["podStartupLatencyMs"]["p99"]
    api_p99 = f["apiCallLatencyMs"]["mutating"]["p99"]
    result["targets"] = [
        report.target("pod startup latency p99", f"≤ {STARTUP_TARGET_MS:.0f} ms at {args.rate:g} pods/s", p99,
                      None if p99 is None else p99 <= STARTUP_TARGET_MS and all_running),
        report.target("mutating API call p99", f"≤ {API_TARGET_MS:.0f} ms", api_p99,
                      None if api_p99 is None else api_p99 <= API_TARGET_MS)]
    body = [f"{total} pods at {args.rate:g}/s on {args.nodes} nodes ({args.runtime} runtime); "
            f"{len(tracker.running)} seen running, {len(tracker.deleted)} deleted; "
            f"{f['rates']['podsRunningPerSecond']} pods Running/s",
            report.distribution_rows([
                ("pod startup (create issued → running seen)", f["podStartupLatencyMs"], " ms"),
                ("  from creationTimestamp (1 s resolution)", f["podStartupLatencyFromCreationTimestampMs"], " ms"),
                ("  create issued → bound seen", f["createToBoundMs"], " ms"),
                ("  bound seen → running seen", f["boundToRunningMs"], " ms"),
                ("mutating API calls", f["apiCallLatencyMs"]["mutating"], " ms"),
                ("  create", f["apiCallLatencyMs"]["create"], " ms"),
                ("  delete", f["apiCallLatencyMs"]["delete"], " ms")]),
            f"etcd writes per pod: {per_pod_writes:.2f} (pod key {pod_writes / total:.2f}, events "
            f"{event_writes / total:.2f}); all writes by resource: {etcd_writes['byResource']}",
            "CPU% (mean of one CPU) by component: " + ", ".join(
                f"{k} {v['totalCpuPercent']}" for k, v in components.items())]
    return "\n".join(body)


def charts(result: dict) -> list[str]:
    from kubemu.bench import plot

    f = result["figures"]
    series = f.get("startupSeries") or []
    return [plot.lines("pod startup latency by creation time", "seconds since the churn started", "ms",
                       {"startup latency": [(t, ms) for t, ms in series]}, dots=True,
                       hlines={"target 1 s": STARTUP_TARGET_MS}),
            plot.cdf("pod startup latency (create issued → all containers running, seen by a watch)", "ms",
                     {"startup": [ms for _, ms in series]}, vlines={"target": STARTUP_TARGET_MS})]
