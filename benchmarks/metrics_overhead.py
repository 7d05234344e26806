"""Benchmark: what metrics cost on the hot paths, in-process (no cluster).

    .venv/bin/python benchmarks/metrics_overhead.py [--n 100000]

Prints microseconds per operation: recording one apiserver request (labels + counter +
histogram) for gRPC and REST, one etcd observation, a work-queue add/get/done cycle with and
without metrics (a named vs an unnamed queue), and one full ``/metrics`` exposition of this
process. Nothing is asserted: this measures; the tests check behaviour.
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit

sys.path.insert(0, ".")

from apiserver import metrics as api_metrics  # noqa: E402
from machinery.pb import api_pb2  # noqa: E402
from machinery.workqueue import WorkQueue  # noqa: E402


def per_op_us(fn, n: int) -> float:
    return timeit.timeit(fn, number=n) / n * 1e6


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100000)
    n = p.parse_args().n
    create = api_pb2.CreateRequest(resource="pods", namespace="default")
    rows = [
        ("apiserver gRPC request (labels + count + time)",
         per_op_us(lambda: api_metrics.record(api_metrics.grpc_labels("Create", create), 201, time.monotonic()), n)),
        ("apiserver REST request (labels + count + time)",
         per_op_us(lambda: api_metrics.record(api_metrics.rest_labels("GET", "/api/v1/namespaces/default/pods", {}),
                                              200, time.monotonic()), n)),
        ("etcd request observation",
         per_op_us(lambda: api_metrics.ETCD_DURATION.labels("get", api_metrics.storage_type(
             "/registry/pods/default/web")).observe(0.001), n)),
    ]
    for name in ("", "bench"):
        q = WorkQueue(name)

        def cycle(q: WorkQueue = q) -> None:
            q.add("default/web")
            q.done(q.get())

        kind = "named (metrics)" if name else "unnamed (none)"
        rows.append((f"work queue add/get/done, {kind}", per_op_us(cycle, n)))
    rows.append(("/metrics exposition of this process", per_op_us(lambda: api_metrics.render("text/plain"), 200)))
    width = max(len(r[0]) for r in rows)
    for label, us in rows:
        print(f"{label:<{width}}  {us:9.2f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
