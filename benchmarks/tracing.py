"""Benchmark: what recording trace spans costs (docs/trace.md, "What it costs").

    .venv/bin/python benchmarks/tracing.py [--spans 50000] [--pods 300]

Prints figures, asserts nothing:

1. one span started, given attributes and ended into the ring buffer: time per span with tracing
   on and off (``--tracing=false`` hands out a span that does nothing), and the memory a full
   ring buffer of scheduler-sized spans takes;
2. pod creates through the apiserver's request path (admission, validation, a real etcd write;
   in-process, no gRPC) with tracing on and off: the difference is the apiserver's whole tracing
   cost per pod create (its span, the JSON Patch of every mutating admission plugin, the annotation).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc

sys.path.insert(0, ".")

from machinery import tracing  # noqa: E402

SCHEDULER_ATTRIBUTES = {"profile": "default-scheduler", "selected": "node-2", "feasible": 2, "evaluated": 3,
                        "nodes": [{"node": f"node-{i}", "feasible": True, "scores": {"NodeResourcesFit": 97,
                                                                                       "TaintToleration": 100},
                                   "total": 397} for i in range(3)]}


def bench_spans(n: int) -> None:
    for enabled in (True, False):
        t = tracing.Tracer("scheduler", "bench", enabled=enabled)
        parent = tracing.SpanContext(tracing.new_trace_id(), tracing.new_span_id())
        start = time.perf_counter()
        for _ in range(n):
            span = t.start("schedule", parent=parent)
            span.set(**SCHEDULER_ATTRIBUTES).read(42)
            span.end()
        per = (time.perf_counter() - start) / n * 1e6
        print(f"span start+set+end, tracing {'on ' if enabled else 'off'}: {per:6.2f} µs per span")
    t = tracing.Tracer("scheduler", "bench")
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(tracing.DEFAULT_CAPACITY):
        t.start("schedule", trace_id=tracing.new_trace_id()).set(**dict(SCHEDULER_ATTRIBUTES)).end()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(s.size_diff for s in after.compare_to(before, "filename"))
    print(f"a full ring buffer of {tracing.DEFAULT_CAPACITY} scheduler spans (3 nodes each): "
          f"{size / 1e6:.1f} MB ({size / tracing.DEFAULT_CAPACITY / 1000:.1f} kB per span)")


def bench_creates(pods: int) -> None:
    from apiserver.admission import ALL_PLUGINS, Lookup, build_chain
    from apiserver.api import API
    from apiserver.authn import UNSECURED_USER
    from apiserver.bootstrap import ensure_defaults
    from apiserver.etcd import EtcdClient
    from apiserver.storage import Storage
    from kubemu.etcd_server import EtcdMember, find_etcd_binary, free_port, wait_ready
    from tests.conftest import Proc

    with tempfile.TemporaryDirectory() as root:
        member = EtcdMember("bench", f"{root}/etcd", free_port(), free_port())
        proc = Proc(member.command(find_etcd_binary()), f"{root}/etcd.log")
        try:
            wait_ready(member.client_url)
            storage = Storage(EtcdClient([member.client_url]))
            api = API(storage, build_chain(set(ALL_PLUGINS), Lookup(storage)))
            ensure_defaults(api, threading.Event())  # namespaces, roles, priority classes
            results = {}
            for round_ in range(2):
                for enabled in (True, False):
                    tracing.TRACER.configure("apiserver", "bench", enabled=enabled)
                    latencies = []
                    for i in range(pods):
                        pod = {"apiVersion": "v1", "kind": "Pod",
                               "metadata": {"name": f"p-{round_}-{int(enabled)}-{i}"},
                               "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
                        t0 = time.perf_counter()
                        api.create(UNSECURED_USER, "pods", "default", pod)
                        latencies.append(time.perf_counter() - t0)
                    results.setdefault(enabled, []).extend(latencies)
            for enabled in (True, False):
                lat = sorted(results[enabled])
                print(f"pod create through admission + etcd, tracing {'on ' if enabled else 'off'}: "
                      f"p50 {statistics.median(lat) * 1000:.2f} ms, p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.2f} ms"
                      f" ({len(lat)} creates)")
            on, off = statistics.median(results[True]), statistics.median(results[False])
            print(f"tracing adds {(on - off) * 1e6:.0f} µs to the median pod create ({(on / off - 1) * 100:+.1f}%)")
        finally:
            proc.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spans", type=int, default=50000)
    p.add_argument("--pods", type=int, default=300)
    args = p.parse_args()
    bench_spans(args.spans)
    bench_creates(args.pods)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
