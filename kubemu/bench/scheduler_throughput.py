"""``scheduler-throughput``: how many pods per second the scheduler binds on N nodes.

Like Kubernetes' scheduler_perf, the pods are all pending before scheduling starts: on a fresh
cluster of ``--nodes`` kubelets (simulated runtime) the scheduler is stopped (SIGTERM, as
``kubemu chaos stop scheduler``), ``--pods`` pending pods (each requesting 10m CPU and 16Mi, so the
resource plugins have work) are created, and the scheduler is started again through the
supervisor. A watch timestamps each pod when it is first seen bound.

Figures: pods bound per second in every second after the start, the overall rate (all pods ÷
first to last bind), the time to schedule all (from the start request, so including the
scheduler's own start-up and leader election), and the etcd writes per pod while scheduling.
After the last bind the benchmark waits for the pods to run (the kubelets report them), so the
in-run etcd baseline is measured on a settled cluster.
"""

from __future__ import annotations

import time

from kubemu import chaos
from kubemu.bench import etcd_baseline, load, report, stats
from kubemu.bench.cluster import BenchCluster, ProcessSampler
from kubemu.bench.observe import EtcdWriteCounter, PodTracker

NAMESPACE = "bench-scheduler"
TARGET_PODS_PER_S = 300.0


def add_arguments(p) -> None:
    p.add_argument("--nodes", type=int, default=100)
    p.add_argument("--pods", type=int, default=3000)
    p.add_argument("--create-workers", type=int, default=32, help="threads creating the pending pods")
    p.add_argument("--timeout", type=float, default=600.0, help="how long to wait for every pod to be bound")


SMOKE = {"nodes": 2, "pods": 20, "timeout": 60.0}


def pod_manifest(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"sched-{i:05d}", "namespace": NAMESPACE, "labels": {"app": "bench-scheduler"}},
            "spec": {"containers": [{"name": "pause", "image": "pause",
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
                     "terminationGracePeriodSeconds": 0}}


def scenario(args, result: dict, progress) -> str:
    progress.phase(f"starting a cluster: {args.nodes} nodes, simulated runtime")
    with BenchCluster(args.nodes, runtime="simulated", keep=args.keep) as cluster:
        cluster.ensure_namespace(NAMESPACE)
        progress.phase("stopping the scheduler")
        targets = chaos.resolve(cluster.cdir, ["scheduler"])
        chaos.act(cluster.cdir, "stop", targets, say=lambda _m: None)
        client = cluster.new_client()
        creates = load.Calls()
        progress.phase(f"creating {args.pods} pending pods")
        create_s = load.burst(args.pods, lambda i: creates.timed(lambda: client.create("pods", pod_manifest(i))),
                              workers=args.create_workers,
                              on_tick=lambda n: progress.update(f"{n}/{args.pods} created"))
        tracker = PodTracker(cluster.new_client(), NAMESPACE).start()
        writes = EtcdWriteCounter(cluster.etcd_endpoint()).start()
        progress.phase("scheduling")
        progress.tick(lambda: f"bound {len(tracker.bound)}/{args.pods}, running {len(tracker.running)}")
        started = time.time()
        chaos.start(cluster.cdir, targets[0], say=lambda _m: None)
        sampler = ProcessSampler(cluster.components(), interval_s=1.0).start()
        all_bound = tracker.wait(lambda t: len(t.bound) >= args.pods, args.timeout)
        bound_at = time.time()
        sched_writes = writes.snapshot()
        pod_writes = writes.count("pods", NAMESPACE)
        event_writes = writes.count("events", NAMESPACE)
        sampler.stop()
        progress.phase("waiting for the pods to run")
        progress.tick(lambda: f"running {len(tracker.running)}/{args.pods}")
        all_running = tracker.wait(lambda t: len(t.running) >= args.pods, args.timeout)
        running_at = time.time()
        progress.stop_ticker()
        writes.stop()
        tracker.stop()
        client.close()
        base = etcd_baseline.in_cluster(cluster, args, result, progress)
        progress.done()

    bound_times = sorted(tracker.bound.values())
    first, last = (bound_times[0], bound_times[-1]) if bound_times else (started, started)
    per_second = stats.per_second(bound_times, started)
    overall = stats.rate(len(bound_times), last - first) if len(bound_times) > 1 else None
    window = max(1e-6, bound_at - started)
    writes_per_pod = (pod_writes + event_writes) / max(1, len(bound_times))
    f = result["figures"]
    f["boundPerSecond"] = per_second
    f["boundPerSecondSummary"] = stats.summarize([x for x in per_second if x > 0], digits=1)
    f["podsBoundPerSecond"] = overall
    f["peakBoundPerSecond"] = max(per_second) if per_second else None
    f["secondsToScheduleAll"] = {"fromStartRequest": round(last - started, 2) if bound_times else None,
                                 "firstToLastBind": round(last - first, 2) if bound_times else None,
                                 "startRequestToFirstBind": round(first - started, 2) if bound_times else None}
    f["pods"] = {"created": len(creates.samples) - creates.errors(), "bound": len(bound_times),
                 "allBound": all_bound, "running": len(tracker.running), "allRunning": all_running,
                 "secondsFromStartToAllRunning": round(running_at - started, 2) if all_running else None}
    f["createBurst"] = {"seconds": round(create_s, 2), "createsPerSecond": stats.rate(len(creates.samples), create_s),
                        "latencyMs": stats.summarize(creates.latencies(), scale=1000, digits=1),
                        "errors": creates.errors()}
    f["etcdWritesWhileScheduling"] = {**sched_writes, "podKeys": pod_writes, "eventKeys": event_writes,
                                      "perPod": round(writes_per_pod, 2),
                                      "writesPerSecond": round(sched_writes["total"] / window, 1)}
    f["components"] = sampler.per_kind()
    result["machine"]["foreignCpuPercent"] = sampler.foreign_summary()
    result["etcdRatio"] = {"scheduling": etcd_baseline.ratio(
        round(overall * writes_per_pod, 1) if overall else None, base,
        "pods bound per second × etcd writes per pod while scheduling ÷ raw concurrent CAS writes per second")}
    result["targets"] = [report.target(f"pods bound per second on {args.nodes} nodes", f"≥ {TARGET_PODS_PER_S:.0f}",
                                       overall, None if overall is None else overall >= TARGET_PODS_PER_S)]
    return "\n".join([
        f"{args.pods} pending pods on {args.nodes} nodes (simulated runtime); created in {create_s:.1f}s "
        f"({f['createBurst']['createsPerSecond']}/s)",
        report.table(["", "value"], [
            ["pods bound per second (first → last bind)", report.fmt(overall)],
            ["peak pods bound in one second", report.fmt(f["peakBoundPerSecond"])],
            ["seconds to schedule all (from start request)", report.fmt(f["secondsToScheduleAll"]["fromStartRequest"])],
            ["  start request → first bind", report.fmt(f["secondsToScheduleAll"]["startRequestToFirstBind"])],
            ["pods bound / running", f"{len(bound_times)} / {len(tracker.running)}"],
            ["etcd writes per pod while scheduling", f"{writes_per_pod:.2f}"]]),
        report.distribution_rows([("pods bound per second (each second)", f["boundPerSecondSummary"], "")]),
        "CPU% (mean of one CPU) while scheduling: " + ", ".join(
            f"{k} {v['totalCpuPercent']}" for k, v in f["components"].items())])


def charts(result: dict) -> list[str]:
    from kubemu.bench import plot

    per_second = result["figures"].get("boundPerSecond") or []
    return [plot.lines("pods bound per second", "seconds since the scheduler was started", "pods/s",
                       {"bound": [(i + 0.5, n) for i, n in enumerate(per_second)]},
                       hlines={"target 300/s": TARGET_PODS_PER_S})]
