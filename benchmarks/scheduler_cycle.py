"""Benchmark: the scheduler's own cost per pod, in one process, without an apiserver.

    .venv/bin/python benchmarks/scheduler_cycle.py [--nodes 100] [--pods 3000] [--placed 0]
                                                   [--kind plain|replicaset|anti-affinity|spread]
                                                   [--percentage 0] [--profile out.prof]

A :class:`scheduler.scheduler.Scheduler` with a fake API client (a bind returns at once) gets
``--nodes`` nodes and ``--placed`` pods already bound on them, then ``--pods`` pending pods; the
scheduling loop runs until every pod is bound. Each successful bind is fed back through the pod
informer as the watch would show it (the pod with ``spec.nodeName``), so the cache confirms the
assumption as in a real cluster. ``--kind``: plain pods (the ``kubemu bench
scheduler-throughput`` pods: 10m CPU, 16Mi), pods of one ReplicaSet (system default topology
spreading), pods with preferred anti-affinity to each other, or pods with a DoNotSchedule
topology spread constraint on the hostname.

Prints cycles per second (wall and CPU) and the mean cycle time; asserts nothing. The scheduler
in a cluster also runs informers, the bind calls and event recording on the same GIL, so
``kubemu bench scheduler-throughput`` is lower; this isolates the scheduling algorithm.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import pstats
import sys
import threading
import time

sys.path.insert(0, ".")

from scheduler.queue import SchedulingQueue  # noqa: E402
from scheduler.scheduler import Scheduler  # noqa: E402


class FakeClient:
    """What the scheduler asks of the apiserver, answered at once; binds are fed back through the informer."""

    def __init__(self):
        self.sched: Scheduler | None = None
        self.bound = 0
        self.lock = threading.Lock()
        self.all_bound = threading.Event()
        self.target = 0

    def bind(self, namespace, name, node_name, uid=""):
        pod = self.sched.pods.get(f"{namespace}/{name}")
        bound = copy.copy(pod)
        bound["spec"] = {**pod["spec"], "nodeName": node_name}
        bound["metadata"] = {**pod["metadata"], "resourceVersion": str(int(pod["metadata"]["resourceVersion"]) + 1)}
        self.sched.pods._apply("MODIFIED", bound)
        with self.lock:
            self.bound += 1
            if self.bound >= self.target:
                self.all_bound.set()
        return {}

    def create(self, resource, obj, namespace="", *, dry_run=False):
        return obj

    def mutate(self, *args, **kwargs):
        return None


def node(i: int, zones: int = 3) -> dict:
    name = f"node-{i:03d}"
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "resourceVersion": "1",
                         "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": f"z{i % zones}"}},
            "spec": {}, "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"},
                                   "conditions": [{"type": "Ready", "status": "True"}],
                                   "images": [{"names": [f"registry.example/img-{j}:1"], "sizeBytes": 50_000_000}
                                              for j in range(10)]}}


def pod(i: int, kind: str, node_name: str = "") -> dict:
    spec: dict = {"containers": [{"name": "pause", "image": "pause",
                                  "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
                  "terminationGracePeriodSeconds": 0, "priority": 0}
    meta: dict = {"name": f"p-{i:05d}", "namespace": "bench", "uid": f"uid-{i}", "resourceVersion": "1",
                  "labels": {"app": "bench"},
                  # as the apiserver stamps every object it creates while tracing is on
                  "annotations": {"trace.kubemu.io/traceparent": f"00-{i:032x}-{i:016x}-01"}}
    if kind == "replicaset":
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs-uid",
                                    "controller": True}]
    elif kind == "anti-affinity":
        spec["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 10, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                               "labelSelector": {"matchLabels": {"app": "bench"}}}}]}}
    elif kind == "spread":
        spec["topologySpreadConstraints"] = [{"maxSkew": 5, "topologyKey": "kubernetes.io/hostname",
                                              "whenUnsatisfiable": "DoNotSchedule",
                                              "labelSelector": {"matchLabels": {"app": "bench"}}}]
    if node_name:
        spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
            "status": {"phase": "Running" if node_name else "Pending"}}


def old_cycle(sched: Scheduler, key: str) -> None:
    """The loop body of commits before Scheduler.run_cycle existed (to measure them the same way)."""
    with sched.tracing.cycle(key, sched.pods.get(key)) as cycle:
        cycle.done(sched.schedule_one(key), sched.last_decision(key))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=100)
    p.add_argument("--pods", type=int, default=3000)
    p.add_argument("--placed", type=int, default=0, help="pods already bound before the pending ones arrive")
    p.add_argument("--kind", choices=["plain", "replicaset", "anti-affinity", "spread"], default="plain")
    p.add_argument("--percentage", type=int, default=0, help="percentageOfNodesToScore (0: Kubernetes' adaptive)")
    p.add_argument("--profile", default="", help="write a cProfile of the scheduling loop here")
    args = p.parse_args()

    client = FakeClient()
    profile = {"percentageOfNodesToScore": args.percentage} if args.percentage else {}
    sched = Scheduler(client, [profile], queue=SchedulingQueue(), bind_workers=4)
    client.sched = sched
    client.target = args.pods
    for i in range(args.nodes):
        sched.nodes._apply("ADDED", node(i))
    for i in range(args.placed):
        sched.pods._apply("ADDED", pod(100000 + i, args.kind, node_name=f"node-{i % args.nodes:03d}"))
    for i in range(args.pods):
        sched.pods._apply("ADDED", pod(i, args.kind))

    profiler = cProfile.Profile() if args.profile else None
    wall0, cpu0 = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    cycles = 0
    run_cycle = getattr(sched, "run_cycle", None) or (lambda key: old_cycle(sched, key))
    while not client.all_bound.is_set():
        key = sched.queue.pop(timeout_s=0.2)
        if key is None:
            continue
        run_cycle(key)
        cycles += 1
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(25)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    sched.stop()
    placed = {}
    for info in sched.cache.snapshot():
        placed[info.name] = len(info.pods)
    print(f"{args.kind}: {args.nodes} nodes, {args.placed} placed, {args.pods} scheduled in {cycles} cycles")
    print(f"  {cycles / wall:.0f} cycles/s wall, {cycles / cpu:.0f} cycles/s CPU, "
          f"mean cycle {1000 * sched.cycle_seconds / max(1, sched.cycles):.2f} ms")
    print(f"  pods per node min/max: {min(placed.values())}/{max(placed.values())}")


if __name__ == "__main__":
    main()
