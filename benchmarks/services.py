"""Benchmark: what Services cost — allocation, creates, and the userspace proxy's data plane.

    .venv/bin/python benchmarks/services.py [--creates 200] [--requests 400]

Starts its own ``kubemu up --ports auto`` cluster (2 nodes) in a temporary directory and stops it
at the end, then prints:

- cluster IP allocation alone (compare-and-swap on the range bitmap in etcd, 16 threads of one
  process) for a /16 (a local cluster's range) and a /12 (Kubernetes' default);
- creates per second with 16 threads, ConfigMaps against ClusterIP and NodePort Services (a
  Service also makes the controllers write its Endpoints and EndpointSlice and wakes every
  kube-proxy and kubelet);
- from creating a Service over two running pods until its cluster IP answers;
- HTTP requests (a new connection each, sequential) to a pod directly and through its cluster IP;
- one 256 MiB TCP stream directly and through a cluster IP.

Nothing is asserted: this measures; the tests check behaviour. Figures on a shared machine vary.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, ".")

from apiserver.etcd import EtcdClient  # noqa: E402
from apiserver.rangealloc import RangeAllocator, static_band  # noqa: E402
from apiserver.storage import Storage  # noqa: E402
from kubemu.cluster import ClusterDir  # noqa: E402

STREAM_BYTES = 256 * 1024 * 1024


def kubemu(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "kubemu.cli", *args], check=True, capture_output=True, timeout=300)


def wait(condition, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception:  # noqa: BLE001 - not yet
            pass
        time.sleep(0.02)
    raise TimeoutError("condition not met")


def in_parallel(call, n: int, threads: int = 16) -> tuple[float, list[float]]:
    """Run ``call(i)`` for i < n on ``threads`` threads: (calls per second, sorted latencies in ms)."""
    def timed(i: int) -> float:
        started = time.perf_counter()
        call(i)
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = sorted(pool.map(timed, range(n)))
    return n / (time.perf_counter() - started), latencies


def allocation(etcd_url: list[str], n: int) -> None:
    client = EtcdClient(etcd_url)
    storage = Storage(client)
    for size, label in ((65534, "/16"), (1048574, "/12")):
        allocator = RangeAllocator(storage, f"/bench/ranges/{uuid.uuid4().hex}", "bench", label, size,
                                   band=static_band(size))
        rate, latencies = in_parallel(lambda _, a=allocator: a.allocate([None]), n)
        print(f"  allocation alone, {label} range: {rate:.0f}/s, median {statistics.median(latencies):.1f} ms")
    client.close()


def creates(api, n: int) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})

    def configmap(i: int) -> dict:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {"a": "b"}}

    def service(kind: str):
        return lambda i: {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"{kind.lower()}{i}"},
                          "spec": {"type": kind, "selector": {"app": "x"}, "ports": [{"port": 80}]}}

    for label, resource, make in (("ConfigMaps", "configmaps", configmap),
                                  ("ClusterIP Services", "services", service("ClusterIP")),
                                  ("NodePort Services", "services", service("NodePort"))):
        rate, latencies = in_parallel(lambda i, r=resource, m=make: api.create(r, m(i), namespace), n)
        print(f"  {n} creates of {label}, 16 threads: {rate:.0f}/s, median {statistics.median(latencies):.0f} ms, "
              f"p95 {latencies[int(n * 0.95)]:.0f} ms")


def requests_per_s(host: str, n: int) -> tuple[float, float, float]:
    latencies = []
    started = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        conn = http.client.HTTPConnection(host, 80, timeout=5)
        conn.request("GET", "/")
        conn.getresponse().read()
        conn.close()
        latencies.append(time.perf_counter() - t)
    wall = time.perf_counter() - started
    latencies.sort()
    return n / wall, statistics.median(latencies) * 1000, latencies[int(n * 0.95)] * 1000


def stream_mb_s(host: str, port: int) -> float:
    with socket.create_connection((host, port), timeout=10) as s:
        started, got = time.perf_counter(), 0
        while chunk := s.recv(1 << 20):
            got += len(chunk)
    return got / (time.perf_counter() - started) / 1e6


def serve_bulk() -> tuple[str, int]:
    server = socket.socket()
    server.bind(("127.77.0.1", 0))
    server.listen()

    def handle(conn: socket.socket) -> None:
        chunk, sent = b"x" * 65536, 0
        try:
            while sent < STREAM_BYTES:
                conn.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        conn.close()

    def accept() -> None:
        while True:
            conn, _ = server.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return server.getsockname()


def data_plane(cdir: ClusterDir, api, n: int) -> None:
    kubemu("kubectl", "--cluster-dir", cdir.path, "create", "deployment", "web", "--image=nginx", "--replicas=2")
    pods = wait(lambda: [p for p in api.list("pods", "default", label_selector="app=web").items
                         if any(c.get("type") == "Ready" and c.get("status") == "True"
                                for c in p["status"].get("conditions") or [])] or None)
    started = time.perf_counter()
    kubemu("kubectl", "--cluster-dir", cdir.path, "expose", "deployment", "web", "--port", "80")
    ip = api.get("services", "web", "default")["spec"]["clusterIP"]
    wait(lambda: requests_per_s(ip, 1))
    print(f"  expose (kubemu kubectl) until the cluster IP answers: {(time.perf_counter() - started) * 1000:.0f} ms")
    for label, host in (("directly to a pod", pods[0]["status"]["podIP"]), ("through the cluster IP", ip)):
        rate, median, p95 = requests_per_s(host, n)
        print(f"  {n} HTTP requests {label}: {rate:.0f}/s, median {median:.2f} ms, p95 {p95:.2f} ms")
    host, port = serve_bulk()
    api.create("services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bulk"},
                            "spec": {"ports": [{"port": 9000}]}}, "default")
    bulk_ip = api.get("services", "bulk", "default")["spec"]["clusterIP"]
    api.create("endpointslices", {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                                  "metadata": {"name": "bulk-1", "labels": {"kubernetes.io/service-name": "bulk"}},
                                  "addressType": "IPv4", "ports": [{"port": port}],
                                  "endpoints": [{"addresses": [host]}]}, "default")
    wait(lambda: socket.create_connection((bulk_ip, 9000), timeout=1).close() or True)
    print(f"  one 256 MiB TCP stream: directly {stream_mb_s(host, port):.0f} MB/s, through the cluster IP "
          f"{stream_mb_s(bulk_ip, 9000):.0f} MB/s")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--creates", type=int, default=200)
    p.add_argument("--requests", type=int, default=400)
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="kubemu-bench-services-")
    cdir = ClusterDir(os.path.join(tmp, "cluster"))
    try:
        kubemu("up", "--cluster-dir", cdir.path, "--ports", "auto", "--nodes", "2", "--no-merge-kubeconfig")
        api = cdir.api_client(retry_timeout_s=10)
        print("Services (kubemu up --ports auto, 2 nodes):")
        allocation((cdir.read_plan() or {})["etcdEndpoints"], 300)
        creates(api, args.creates)
        data_plane(cdir, api, args.requests)
        api.close()
    finally:
        subprocess.run([sys.executable, "-m", "kubemu.cli", "down", "--cluster-dir", cdir.path], capture_output=True,
                       timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
