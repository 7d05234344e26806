"""A whole cluster of real processes for end-to-end tests: etcd, apiserver, scheduler,
controller manager and two kubelets, each on its own loopback address and free port."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import pytest

from kubemu.etcd_server import EtcdMember, find_etcd_binary, free_port, wait_ready
from machinery.client import APIClient
from tests.conftest import Proc, start_apiserver
from tests.helpers import wait_for

NODE_CPU = "2"
NODE_MEMORY = "4Gi"


@dataclass
class Cluster:
    etcd: EtcdMember
    apiserver: Proc
    address: str
    procs: dict[str, Proc] = field(default_factory=dict)
    node_cidrs: dict[str, str] = field(default_factory=dict)
    log_dir: object = None

    def client(self, **kw) -> APIClient:
        return APIClient(self.address, **kw)

    def start_kubelet(self, index: int, root) -> Proc:
        name = f"node-{index}"
        ip = f"127.1.{index}.1"
        cidr = f"127.245.{index}.0/24"
        self.node_cidrs[name] = cidr
        proc = Proc([sys.executable, "-m", "kubelet", "--apiserver", self.address, "--node-name", name,
                     "--node-ip", ip, "--bind-address", ip, "--port", str(free_port(ip)),
                     "--root-dir", str(root / name), "--pod-cidr", cidr, "--cpu", NODE_CPU,
                     "--memory", NODE_MEMORY, "--node-status-update-frequency", "2",
                     "--node-lease-renew-interval", "2", "--crash-loop-backoff", "1",
                     "--crash-loop-backoff-max", "4"],
                    str(self.log_dir / f"{name}.log"))
        self.procs[name] = proc
        return proc

    def dump_logs(self) -> str:
        out = []
        for name, proc in {"apiserver": self.apiserver, **self.procs}.items():
            out.append(f"===== {name} =====\n{proc.output()[-4000:]}")
        return "\n".join(out)


def _node_ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    member = EtcdMember("e2e", str(root / "etcd"), free_port(), free_port())
    etcd_proc = Proc(member.command(find_etcd_binary()), str(root / "etcd.log"))
    wait_ready(member.client_url)
    apiserver, address = start_apiserver(member.client_url, root)
    c = Cluster(member, apiserver, address, log_dir=root)
    c.procs["scheduler"] = Proc([sys.executable, "-m", "scheduler", "--apiserver", address, "--bind-address",
                                 "127.0.0.1", "--port", str(free_port()), "--pod-max-backoff-seconds", "2"],
                                str(root / "scheduler.log"))
    c.procs["controller-manager"] = Proc([sys.executable, "-m", "controller_manager", "--apiserver", address,
                                          "--bind-address", "127.0.0.1", "--port", str(free_port())],
                                         str(root / "controller-manager.log"))
    for i in (1, 2):
        c.start_kubelet(i, root)
    client = c.client()
    try:
        wait_for(lambda: len([n for n in client.list("nodes").items if _node_ready(n)]) == 2, timeout_s=60,
                 message="two Ready nodes")
    except AssertionError:
        print(c.dump_logs())
        raise
    yield c
    for proc in reversed(list(c.procs.values())):
        proc.stop()
    apiserver.stop()
    etcd_proc.stop()
    # No container process may outlive the cluster.
    from kubelet.images import load_catalog
    from kubelet.runtime.process import ProcessRuntime

    for i in (1, 2):
        ProcessRuntime(str(root / f"node-{i}" / "runtime"), load_catalog()).cleanup_all()


@pytest.fixture
def api(cluster):
    c = cluster.client(retry_timeout_s=10)
    yield c
    c.close()


@pytest.fixture
def ns(api):
    import uuid

    name = f"e2e-{uuid.uuid4().hex[:6]}"
    api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


@pytest.fixture(scope="module")
def up_cluster(tmp_path_factory):
    """A cluster started by ``kubemu up`` (two nodes, free ports), as ``make up`` starts one for a user:
    for tests of the CLI (``kubemu kubectl``, ``kubemu experiment run``) on a running cluster.
    Teardown runs ``kubemu down`` and kills anything left. One per module: clusters started by
    ``kubemu up`` share the pod CIDRs 127.244.N.0/24, so two alive at once could hand out one pod IP
    twice (and nginx could not bind it)."""
    from kubemu.cluster import ClusterDir
    from tests.test_supervisor import down_and_reap, kubemu

    cdir = ClusterDir(str(tmp_path_factory.mktemp("up") / "c"))
    result = kubemu("up", "--cluster-dir", cdir.path, "--ports", "auto", "--nodes", "2", "--no-merge-kubeconfig",
                    timeout_s=180)
    assert result.returncode == 0, result.stdout + result.stderr
    yield cdir
    down_and_reap(cdir)
