"""Benchmark: latency of the Kubernetes REST API (apiserver/rest/) through the official Python client.

    .venv/bin/python benchmarks/rest_api.py [--requests 200]

Starts etcd and one apiserver (TLS, tokens, RBAC) on free ports, then times sequential requests
of the ``kubernetes`` package over one keep-alive connection: GET of an object, create, and a
list of every created object; prints the mean and p99 per request. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import tempfile
import time

sys.path.insert(0, ".")

from kubemu.etcd_server import EtcdMember, find_etcd_binary, free_port, wait_ready  # noqa: E402
from kubemu.pki import write_cluster_credentials  # noqa: E402
from tests.conftest import Proc, start_apiserver  # noqa: E402


def timed(n: int, fn) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - start)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=200)
    args = p.parse_args()
    from kubernetes import client

    d = pathlib.Path(tempfile.mkdtemp(prefix="kubemu-rest-bench-"))
    member = EtcdMember("bench", str(d / "etcd"), free_port(), free_port())
    etcd = Proc(member.command(find_etcd_binary()), str(d / "etcd.log"))
    wait_ready(member.client_url)
    creds = write_cluster_credentials(str(d / "pki"), [])
    port = free_port()
    apiserver, _ = start_apiserver(member.client_url, d, "--token-auth-file", creds["token_file"], "--tls-cert-file",
                                   f"{d}/pki/apiserver.crt", "--tls-private-key-file", f"{d}/pki/apiserver.key",
                                   token=creds["tokens"]["admin"], ca_file=f"{d}/pki/ca.crt", rest_port=port)
    try:
        config = client.Configuration()
        config.host, config.ssl_ca_cert = f"https://127.0.0.1:{port}", f"{d}/pki/ca.crt"
        config.api_key = {"authorization": "Bearer " + creds["tokens"]["admin"]}
        v1 = client.CoreV1Api(client.ApiClient(config))
        n = args.requests
        for name, count, fn in (
                ("get namespace", n, lambda i: v1.read_namespace("default")),
                ("create configmap", n, lambda i: v1.create_namespaced_config_map(
                    "default", {"metadata": {"name": f"bench-{i}"}, "data": {"k": "v"}})),
                (f"list {n} configmaps", max(1, n // 4), lambda i: v1.list_namespaced_config_map("default"))):
            samples = timed(count, fn)
            p99 = sorted(samples)[max(0, int(len(samples) * 0.99) - 1)]
            print(f"{name:>22}: {count} sequential, mean {1000 * statistics.mean(samples):.1f} ms, "
                  f"p99 {1000 * p99:.1f} ms")
    finally:
        apiserver.stop()
        etcd.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
