"""``watch-fanout``: K watchers of pods; events per second delivered, and write-to-delivery delay.

A control-plane-only cluster (no nodes, no scheduler: the pods stay as written, so every event is
one of ours) serves ``--watchers`` watches of the namespace's pods. The watchers live in
``--worker-processes`` separate processes (so one Python process' GIL does not limit the
delivery being measured), each with its own API client; every watcher is one watch stream, as
every informer of a real cluster is. A writer then creates ``--rate`` pods per second for
``--duration`` seconds (open loop), each stamped with the wall time its create was issued
(annotation ``bench.kubemu.io/written-at``); each watcher notes when each event arrives.

Figures: events delivered per second (all watchers together) in each second and overall, the
delay from issuing the write to each delivery, how many watchers saw every event, and the
latency of the writes themselves.
"""

from __future__ import annotations

import multiprocessing
import threading
import time

from kubemu.bench import etcd_baseline, load, report, stats
from kubemu.bench.cluster import BenchCluster, ProcessSampler
from kubemu.bench.observe import EtcdWriteCounter

NAMESPACE = "bench-watch"
STAMP = "bench.kubemu.io/written-at"
SENTINEL = "watch-sentinel"


def add_arguments(p) -> None:
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--rate", type=float, default=50.0, help="pods written per second")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of writing")
    p.add_argument("--worker-processes", type=int, default=4, help="processes the watchers are spread over")
    p.add_argument("--timeout", type=float, default=120.0, help="how long to wait for the last deliveries")


SMOKE = {"watchers": 4, "rate": 10.0, "duration": 1.0, "worker_processes": 2, "timeout": 60.0}


def _worker(cluster_dir: str, watchers: int, expected: int, conn, timeout_s: float) -> None:
    """One watcher process: ``watchers`` watches; reports ("ready"), then per-event arrival data."""
    from kubemu.cluster import ClusterDir

    cdir = ClusterDir(cluster_dir)
    client = cdir.api_client(retry_timeout_s=30.0, request_timeout_s=30.0, user_agent="kubemu-bench-watcher")
    rv = client.list("pods", NAMESPACE, limit=1).resource_version
    lock = threading.Lock()
    delays: list[float] = []
    arrivals: list[float] = []
    seen = [0] * watchers
    sentinel = threading.Semaphore(0)
    streams = []
    stop = threading.Event()

    def watch(index: int) -> None:
        w = client.watch("pods", NAMESPACE, resource_version=rv)
        streams.append(w)
        try:
            for ev in w:
                now = time.time()
                if ev.type != "ADDED":
                    continue
                meta = ev.object.get("metadata") or {}
                if meta.get("name") == SENTINEL:
                    sentinel.release()
                    continue
                stamp = (meta.get("annotations") or {}).get(STAMP)
                if stamp is None:
                    continue
                with lock:
                    delays.append(now - float(stamp))
                    arrivals.append(now)
                    seen[index] += 1
                    if seen[index] >= expected:
                        return
        except Exception:  # noqa: BLE001 - a broken stream shows as missing events in the result
            return

    threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(watchers)]
    for t in threads:
        t.start()
    conn.send(("listening", watchers))
    for _ in range(watchers):  # every stream has delivered the sentinel: all are registered
        sentinel.acquire(timeout=timeout_s)
    conn.send(("ready", watchers))
    deadline = time.monotonic() + timeout_s
    for t in threads:
        t.join(timeout=max(0.1, deadline - time.monotonic()))
    stop.set()
    for w in streams:
        w.cancel()
    with lock:
        conn.send(("done", {"delays": delays, "arrivals": arrivals, "seen": seen}))
    conn.close()
    client.close()


def scenario(args, result: dict, progress) -> str:
    total = max(1, int(args.rate * args.duration))
    result["parameters"]["pods"] = total
    progress.phase("starting a control-plane-only cluster")
    with BenchCluster(0, scheduler=False, keep=args.keep) as cluster:
        cluster.ensure_namespace(NAMESPACE)
        client = cluster.new_client()
        ctx = multiprocessing.get_context("spawn")
        procs, conns = [], []
        per = [args.watchers // args.worker_processes + (1 if i < args.watchers % args.worker_processes else 0)
               for i in range(args.worker_processes)]
        progress.phase(f"opening {args.watchers} watches in {args.worker_processes} processes")
        for n in (n for n in per if n):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_worker, args=(cluster.cdir.path, n, total, child, args.timeout + args.duration),
                            daemon=True)
            p.start()
            procs.append(p)
            conns.append(parent)
        for c in conns:
            if not c.poll(120):
                raise RuntimeError("a watcher process did not start within 120s")
            c.recv()
        client.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": SENTINEL},
                               "spec": {"containers": [{"name": "c", "image": "pause"}]}}, NAMESPACE)
        for c in conns:
            if not c.poll(120):
                raise RuntimeError("the watchers did not see the first event within 120s")
            c.recv()
        writes = EtcdWriteCounter(cluster.etcd_endpoint()).start()
        sampler = ProcessSampler(cluster.components(), interval_s=1.0).start()
        creates = load.Calls()

        def write(i: int) -> None:
            now = time.time()
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": f"watch-{i:05d}", "annotations": {STAMP: repr(now)}},
                   "spec": {"containers": [{"name": "c", "image": "pause"}]}}
            creates.timed(lambda: client.create("pods", pod, NAMESPACE))

        progress.phase(f"writing {args.rate:g} pods/s for {args.duration:g}s to {args.watchers} watchers")
        progress.tick(lambda: f"written {len(creates.samples)}/{total}")
        write_start = time.time()
        lags = load.paced(args.rate, total, write)
        write_end = time.time()
        progress.phase("waiting for the last deliveries")
        outcomes = []
        for c in conns:
            deadline = time.monotonic() + args.timeout
            while not c.poll(0.5):
                if time.monotonic() > deadline:
                    break
            if c.poll(0):
                outcomes.append(c.recv()[1])
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
        progress.stop_ticker()
        sampler.stop()
        etcd_writes = writes.snapshot()
        writes.stop()
        client.close()
        base = etcd_baseline.in_cluster(cluster, args, result, progress)
        progress.done()

    delays = [d for o in outcomes for d in o["delays"]]
    arrivals = sorted(a for o in outcomes for a in o["arrivals"])
    seen = [s for o in outcomes for s in o["seen"]]
    expected = total * args.watchers
    span = (arrivals[-1] - write_start) if arrivals else 0.0
    per_second = stats.per_second(arrivals, write_start)
    write_rate = stats.rate(len(creates.samples), write_end - write_start)
    f = result["figures"]
    f["eventsDelivered"] = len(delays)
    f["eventsExpected"] = expected
    f["watchersComplete"] = sum(1 for s in seen if s >= total)
    f["eventsPerSecond"] = stats.rate(len(delays), span)
    f["eventsPerSecondOffered"] = round((write_rate or 0) * args.watchers, 1)
    f["deliveredPerSecond"] = per_second
    f["deliveredPerSecondSummary"] = stats.summarize([x for x in per_second if x > 0], digits=1)
    f["deliveryDelayMs"] = stats.summarize(delays, scale=1000, digits=1)
    f["writeLatencyMs"] = stats.summarize(creates.latencies(), scale=1000, digits=1)
    f["writesPerSecond"] = write_rate
    f["writeErrors"] = creates.errors()
    f["pacerLagMs"] = stats.summarize(lags, scale=1000, digits=1)
    f["etcdWrites"] = etcd_writes
    f["components"] = sampler.per_kind()
    step = max(1, len(delays) // 2000)
    f["delaySampleMs"] = [round(d * 1000, 1) for d in sorted(delays)[::step]]
    result["machine"]["foreignCpuPercent"] = sampler.foreign_summary()
    result["etcdRatio"] = {"writes": etcd_baseline.ratio(
        write_rate, base, "pod writes per second (one etcd write each) ÷ raw concurrent CAS writes per second")}
    return "\n".join([
        f"{args.watchers} watchers in {args.worker_processes} processes; {total} pods written at {args.rate:g}/s "
        f"({write_rate}/s achieved)",
        report.table(["", "value"], [
            ["events delivered / expected", f"{len(delays)} / {expected}"],
            ["watchers that saw every event", f"{f['watchersComplete']} / {args.watchers}"],
            ["events delivered per second (overall)", report.fmt(f["eventsPerSecond"])],
            ["events offered per second (writes/s × watchers)", report.fmt(f["eventsPerSecondOffered"])]]),
        report.distribution_rows([("write → delivery delay", f["deliveryDelayMs"], " ms"),
                                  ("events delivered per second (each second)", f["deliveredPerSecondSummary"], ""),
                                  ("write (create) latency", f["writeLatencyMs"], " ms")]),
        "CPU% (mean of one CPU) while delivering: " + ", ".join(
            f"{k} {v['totalCpuPercent']}" for k, v in f["components"].items())])


def charts(result: dict) -> list[str]:
    from kubemu.bench import plot

    f = result["figures"]
    per_second = f.get("deliveredPerSecond") or []
    return [plot.lines("watch events delivered per second (all watchers)", "seconds since writing started",
                       "events/s", {"delivered": [(i + 0.5, n) for i, n in enumerate(per_second)]},
                       hlines={"offered": f.get("eventsPerSecondOffered") or 0}),
            plot.cdf("write → delivery delay", "ms", {"delay": f.get("delaySampleMs") or []})]
