"""Network faults on the ``kubemu up --netns`` topology, through ``kubemu chaos``.

Two kubelets, each in its own network namespace behind a bridge in 198.18.0.0/15; short node
timings (8 s node-monitor grace period, 2 s lease renewals). Pulling node-2's cable makes it
NotReady (Unknown) while node-1 stays Ready, healing brings it back; a 300 ms delay (or 20 %
loss) on node-1 keeps it Ready, and the added latency is measured with gRPC health calls from
the host to the kubelet at its namespace address. ``kubemu down`` must leave no namespace,
bridge or veth behind. Needs root; skips with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
import uuid

import pytest

from kubemu.cli import node_ready
from kubemu.cluster import ClusterDir
from tests.helpers import wait_for
from tests.test_supervisor import down_and_reap, kubemu

pytestmark = pytest.mark.e2e

FLAGS = ["controller-manager=--node-monitor-grace-period=8", "controller-manager=--node-monitor-period=1",
         "kubelet=--node-status-update-frequency=2", "kubelet=--node-lease-renew-interval=2"]


def _netns_problem() -> str | None:
    if not shutil.which("ip"):
        return "the `ip` command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "kubemu up --netns needs root (ip netns add)"
    probe = f"kmuprobe{uuid.uuid4().hex[:6]}"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if done.returncode != 0:
        return f"`ip netns add` does not work here: {done.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def leftovers(cid: str) -> list[str]:
    """This cluster's namespaces and links still present."""
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.split()
    return [n for n in names if n.startswith(f"kmu-{cid}-")] + \
        sorted({w.split("@")[0].rstrip(":") for w in links if w.startswith(f"kmu{cid}")})


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    problem = _netns_problem()
    if problem:
        pytest.skip(f"cannot build network namespaces: {problem}")
    cdir = ClusterDir(str(tmp_path_factory.mktemp("netfaults")))
    from kubemu import netns

    cid = netns.cluster_id(cdir)
    args = ["up", "--cluster-dir", cdir.path, "--netns", "--ports", "auto", "--nodes", "2", "--timeout", "90"]
    for flag in FLAGS:
        args += ["--component-flag", flag]
    try:
        result = kubemu(*args, timeout_s=150)
        assert result.returncode == 0, result.stdout + result.stderr
        yield cdir
    finally:
        down = down_and_reap(cdir)
        assert down.returncode == 0, down.stdout + down.stderr
        left = leftovers(cid)
        assert not left, f"network of the cluster left behind after kubemu down: {left}"
        assert not os.path.exists(netns.record_path(cdir))


def chaos(cdir: ClusterDir, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = kubemu("chaos", "--cluster-dir", cdir.path, *args)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def statuses(cdir: ClusterDir) -> dict[str, str]:
    client = cdir.api_client(retry_timeout_s=2.0, request_timeout_s=3.0)
    try:
        return {n["metadata"]["name"]: node_ready(n) for n in client.list("nodes").items}
    finally:
        client.close()


def kubelet_component(cdir: ClusterDir, node: str) -> dict:
    return next(c for c in cdir.read_state()["components"] if c["name"] == node)


def health_rtt_ms(comp: dict, samples: int = 10) -> float:
    """Median time of a gRPC health call to a kubelet on an established channel (one request/response;
    mutual TLS as kubemu's tools reach it)."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from kubemu.cluster import component_credentials
    from machinery.client import make_channel

    with make_channel(comp["grpcAddress"], component_credentials(comp)) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        stub.Check(health_pb2.HealthCheckRequest(), timeout=15)
        times = []
        for _ in range(samples):
            start = time.monotonic()
            stub.Check(health_pb2.HealthCheckRequest(), timeout=15)
            times.append((time.monotonic() - start) * 1000)
    return statistics.median(times)


def stays_ready(cdir: ClusterDir, node: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert statuses(cdir)[node] == "Ready", f"{node} lost Ready during the fault"
        time.sleep(0.5)


def test_topology_and_pod_on_node_2(net):
    from kubemu import netns

    topo = netns.read_record(net)
    assert topo and set(topo["nodes"]) == {"node-1", "node-2"}
    assert topo["bridgeIP"].startswith(("198.18.", "198.19."))
    state = {c["name"]: c for c in net.read_state()["components"]}
    assert state["apiserver"]["address"].startswith(topo["bridgeIP"] + ":")
    for node, link in topo["nodes"].items():
        got = subprocess.run(["ip", "netns", "identify", str(state[node]["pid"])], capture_output=True, text=True)
        assert got.stdout.strip() == link["namespace"]  # the supervisor's pid is the kubelet's, in its namespace
        assert state[node]["address"].startswith(link["ip"] + ":")
    client = net.api_client(retry_timeout_s=5.0, request_timeout_s=5.0)
    try:
        client.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "on-node-2"},
                               "spec": {"nodeName": "node-2", "containers": [{"name": "c", "image": "nginx"}]}},
                      "default")
        pod = wait_for(lambda: (p := client.get("pods", "on-node-2", "default"))["status"].get("phase") == "Running"
                       and p, timeout_s=60, message="pod on node-2 Running")
        assert pod["status"]["podIP"].startswith(f"10.{net.read_plan()['podNetworkOctet']}.2.")  # routed (--netns)
    finally:
        client.close()


def test_partition_then_heal(net):
    start = time.monotonic()
    out = chaos(net, "partition", "kubelet", "node-2").stdout
    assert "partitioned node-2" in out
    try:
        def node2_lost():
            s = statuses(net)
            assert s["node-1"] == "Ready", s
            return s["node-2"] in ("Unknown", "NotReady")

        wait_for(node2_lost, timeout_s=45, interval_s=0.5, message="node-2 NotReady after the partition")
        detected = time.monotonic() - start
        assert statuses(net)["node-1"] == "Ready"
    finally:
        healed = time.monotonic()
        chaos(net, "heal-network", "kubelet", "node-2")
    wait_for(lambda: statuses(net)["node-2"] == "Ready", timeout_s=45, interval_s=0.5, message="node-2 Ready again")
    print(f"\npartition: node-2 NotReady after {detected:.1f}s, Ready again {time.monotonic() - healed:.1f}s "
          "after heal-network")


def test_delay_keeps_node_ready(net):
    kubelet = kubelet_component(net, "node-1")
    before = health_rtt_ms(kubelet)
    result = chaos(net, "delay", "kubelet", "node-1", "300ms", check=False)
    if result.returncode != 0 and "no netem" in result.stderr:
        chaos(net, "heal-network", "kubelet", "node-1")
        pytest.skip(f"kernel without netem: {result.stderr.strip()}")
    assert result.returncode == 0, result.stdout + result.stderr
    try:
        after = health_rtt_ms(kubelet)
        print(f"\ndelay 300ms each way on node-1: health call {before:.1f}ms -> {after:.1f}ms "
              f"(+{after - before:.0f}ms per round trip)")
        assert after - before >= 500  # 300 ms each direction
        stays_ready(net, "node-1", 12)  # longer than the 8 s grace period: leases still get through
    finally:
        chaos(net, "heal-network", "kubelet", "node-1")
    assert health_rtt_ms(kubelet) < before + 100


def test_loss_keeps_node_ready(net):
    import socket

    host, port = kubelet_component(net, "node-1")["address"].rsplit(":", 1)

    def connect_rate(n: int = 60) -> float:
        ok = 0
        for _ in range(n):
            with socket.socket() as s:
                s.settimeout(0.25)
                try:
                    s.connect((host, int(port)))
                    ok += 1
                except OSError:
                    pass
        return ok / n

    assert connect_rate(10) == 1.0
    out = chaos(net, "loss", "kubelet", "node-1", "20%").stdout
    try:
        rate = connect_rate()
        print(f"\nloss 20% each way on node-1 ({out.strip()}): {rate:.0%} of TCP connects within 250ms")
        assert rate < 0.95
        stays_ready(net, "node-1", 10)
    finally:
        chaos(net, "heal-network", "kubelet", "node-1")
    assert connect_rate(20) == 1.0


def test_network_verbs_need_a_node_of_the_topology(net):
    result = chaos(net, "partition", "kubelet", "node-9", check=False)
    assert result.returncode == 1 and 'no node "node-9"' in result.stderr
