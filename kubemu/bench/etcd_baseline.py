"""``etcd-baseline``: the raw write rate of an etcd from the apiserver's own Python etcd client.

Every scenario runs this against its cluster's etcd, in the same run, so its figures can be read
as a fraction of what the store could take on this machine at that moment (the ratio the
reports print). Alone (``kubemu bench etcd-baseline``) it starts a bare etcd on free ports.

Four measurements, each for ``seconds`` with values the size of a small pod (``value_bytes``):

- ``putSequential``: one put after the other (one client, one in flight);
- ``putConcurrent``: ``threads`` threads putting through one client (one gRPC channel, as the
  apiserver has);
- ``txnSequential`` / ``txnConcurrent``: compare-and-swap transactions (``mod_revision ==
  expected`` → put), the form of every apiserver update.

Keys live under ``/kubemu-bench/``, outside ``/registry``, so no apiserver watch sees them, and are
deleted afterwards. Each write is one etcd revision, so writes per second are revisions per second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time

from kubemu.bench import stats

PREFIX = b"/kubemu-bench/"
TESTS = ("putSequential", "putConcurrent", "txnSequential", "txnConcurrent")


def current_revision(client) -> int:
    return client.range(b"/", b"\0", count_only=True).header.revision


def _put(client, key: bytes, value: bytes) -> int:
    from apiserver.etcd import EtcdClient

    return client.txn([], [EtcdClient.op_put(key, value)]).header.revision


def _worker(client, kind: str, key: bytes, value: bytes, until: float, latencies: list[float],
            failures: list[int]) -> None:
    from apiserver.etcd import EtcdClient

    revision = _put(client, key, value)  # the key exists, so the first CAS has a revision to compare
    while time.monotonic() < until:
        t0 = time.perf_counter()
        if kind == "put":
            _put(client, key, value)
        else:
            resp = client.txn([EtcdClient.compare_mod_revision(key, revision)], [EtcdClient.op_put(key, value)])
            if resp.succeeded:
                revision = resp.header.revision
            else:
                failures.append(1)
                revision = client.range(key).kvs[0].mod_revision
        latencies.append(time.perf_counter() - t0)


def measure(client, kind: str, threads: int, seconds: float, value: bytes, tag: str) -> dict:
    latencies: list[float] = []
    failures: list[int] = []
    until = time.monotonic() + seconds
    start = time.monotonic()
    workers = [threading.Thread(target=_worker, args=(client, kind, PREFIX + f"{tag}/{i}".encode(), value, until,
                                                       latencies, failures), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - start
    return {"threads": threads, "writes": len(latencies), "seconds": round(elapsed, 3),
            "writesPerSecond": stats.rate(len(latencies), elapsed), "failedCompares": len(failures),
            "latencyMs": stats.summarize(latencies, scale=1000)}


def run(endpoint: str, *, seconds: float = 3.0, threads: int = 16, value_bytes: int = 1500,
        progress=None) -> dict:
    """The four measurements against ``endpoint``; ``{"writesPerSecond": {...}, "tests": {...}, ...}``."""
    from apiserver.etcd import EtcdClient

    client = EtcdClient([endpoint], request_timeout_s=10.0)
    value = b"x" * value_bytes
    out: dict = {"endpoint": endpoint, "valueBytes": value_bytes, "secondsPerTest": seconds, "tests": {}}
    try:
        for name in TESTS:
            if progress is not None:
                progress.update(f"etcd baseline: {name}", force=True)
            kind = "put" if name.startswith("put") else "txn"
            n = threads if name.endswith("Concurrent") else 1
            out["tests"][name] = measure(client, kind, n, seconds, value, name)
        client.txn([], [_delete_prefix()])
    finally:
        client.close()
    out["writesPerSecond"] = {k: v["writesPerSecond"] for k, v in out["tests"].items()}
    return out


def _delete_prefix():
    from etcd3 import etcdrpc

    from apiserver.etcd import prefix_range_end

    return etcdrpc.RequestOp(request_delete_range=etcdrpc.DeleteRangeRequest(key=PREFIX,
                                                                             range_end=prefix_range_end(PREFIX)))


def reference_rate(baseline: dict | None) -> float | None:
    """The raw rate a scenario's etcd writes are compared with: concurrent compare-and-swap
    transactions, the apiserver's way of writing under load."""
    if not baseline:
        return None
    return (baseline.get("writesPerSecond") or {}).get("txnConcurrent")


def ratio(writes_per_second: float | None, baseline: dict | None, formula: str) -> dict:
    ref = reference_rate(baseline)
    value = round(writes_per_second / ref, 4) if writes_per_second is not None and ref else None
    return {"ratio": value, "etcdWritesPerSecond": writes_per_second, "rawTxnConcurrentPerSecond": ref,
            "formula": formula}


# --------------------------------------------------------------------------- the scenario


def add_arguments(p) -> None:
    p.add_argument("--seconds", type=float, default=5.0, help="how long each of the four measurements runs")
    p.add_argument("--threads", type=int, default=16, help="writers in the concurrent measurements")
    p.add_argument("--value-bytes", type=int, default=1500, help="size of each value written (a small pod)")


SMOKE = {"seconds": 0.5, "threads": 4}


def scenario(args, result: dict, progress) -> str:
    """Start a bare etcd on free ports, measure, stop it. Returns the text table."""
    from kubemu.bench import report
    from kubemu.bench.cluster import ProcessSampler
    from kubemu.etcd_server import EtcdMember, find_etcd_binary, free_port, wait_ready

    directory = tempfile.mkdtemp(prefix="kubemu-bench-etcd-")
    member = EtcdMember("bench", os.path.join(directory, "data"), free_port(), free_port())
    progress.phase("starting a bare etcd")
    with open(os.path.join(directory, "etcd.log"), "w") as log:
        proc = subprocess.Popen(member.command(find_etcd_binary()), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        wait_ready(member.client_url)
        progress.phase("measuring etcd writes")
        sampler = ProcessSampler([{"name": "etcd", "kind": "etcd", "pid": proc.pid}], interval_s=0.5).start()
        base = run(member.client_url, seconds=args.seconds, threads=args.threads, value_bytes=args.value_bytes,
                   progress=progress)
        sampler.stop()
        result["machine"]["foreignCpuPercent"] = sampler.foreign_summary()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(directory, ignore_errors=True)
    progress.done()
    result["etcdBaseline"] = base
    result["figures"] = {"writesPerSecond": base["writesPerSecond"],
                         "latencyMs": {k: v["latencyMs"] for k, v in base["tests"].items()}}
    rows = [[name, str(t["threads"]), report.fmt(t["writesPerSecond"]), report.fmt(t["latencyMs"]["median"], " ms"),
             report.fmt(t["latencyMs"]["p99"], " ms"), report.fmt(t["latencyMs"]["max"], " ms")]
            for name, t in base["tests"].items()]
    return report.table(["test", "threads", "writes/s", "median", "p99", "max"], rows)


def charts(result: dict) -> list[str]:
    from kubemu.bench import plot

    w = result["figures"]["writesPerSecond"]
    return [plot.bars("etcd writes per second (same client as the apiserver)", "writes/s", list(w),
                      {"writes/s": list(w.values())})]


def in_cluster(cluster, args, result: dict, progress) -> dict:
    """Measure the baseline on ``cluster``'s etcd (after the scenario's own load) into ``result``."""
    progress.phase("etcd baseline on the cluster's etcd")
    base = run(cluster.etcd_endpoint(), seconds=args.baseline_seconds, threads=args.baseline_threads,
               progress=progress)
    result["etcdBaseline"] = base
    return base
