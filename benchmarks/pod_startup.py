"""Benchmark: how fast a local cluster turns pod creates into Running pods.

    .venv/bin/python benchmarks/pod_startup.py [--pods 200] [--nodes 3] [--runtime process|simulated]

Starts a dedicated cluster (``kubemu up --ports auto``), creates the pods from several threads,
and prints figures: create latency (p50/p99), time until every pod is bound (scheduling
throughput) and Running (end-to-end), and the apiserver's open watches. Nothing is asserted:
this measures; the tests check behaviour.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import sys
import tempfile
import time

sys.path.insert(0, ".")

from kubemu import cli  # noqa: E402
from kubemu.cluster import ClusterDir  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pods", type=int, default=200)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--runtime", default="process", help="kubelet --runtime (process or simulated)")
    args = p.parse_args()
    cdir = ClusterDir(tempfile.mkdtemp(prefix="kubemu-bench-"))
    flags = [] if args.runtime == "process" else ["--component-flag", f"kubelet=--runtime={args.runtime}"]
    if cli.main(["up", "--cluster-dir", cdir.path, "--ports", "auto", "--nodes", str(args.nodes), *flags]) != 0:
        return 1
    client = cdir.api_client(retry_timeout_s=10)
    latencies: list[float] = []
    try:
        client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})

        def create(i: int) -> None:
            t0 = time.perf_counter()
            client.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p-{i}"},
                                   "spec": {"containers": [{"name": "c", "image": "pause"}],
                                            "terminationGracePeriodSeconds": 0}}, "bench")
            latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(create, range(args.pods)))
        created = time.perf_counter() - start
        bound_at = running_at = None
        while running_at is None and time.perf_counter() - start < 600:
            pods = client.list_all("pods", "bench").items
            bound = sum(1 for x in pods if x["spec"].get("nodeName"))
            running = sum(1 for x in pods if (x.get("status") or {}).get("phase") == "Running")
            if bound == args.pods and bound_at is None:
                bound_at = time.perf_counter() - start
            if running == args.pods:
                running_at = time.perf_counter() - start
            time.sleep(0.2)
        lat = sorted(latencies)
        print(f"pods: {args.pods} on {args.nodes} nodes (runtime {args.runtime}, {args.threads} client threads)")
        print(f"create: {args.pods / created:.1f} creates/s; latency p50 {statistics.median(lat) * 1000:.1f} ms, "
              f"p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.1f} ms")
        print(f"all bound after {bound_at:.2f}s ({args.pods / bound_at:.1f} pods/s scheduled)" if bound_at
              else "not all pods were bound within 600s")
        print(f"all Running after {running_at:.2f}s ({args.pods / running_at:.1f} pods/s end to end)" if running_at
              else "not all pods were Running within 600s")
    finally:
        client.close()
        cli.main(["down", "--cluster-dir", cdir.path])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
