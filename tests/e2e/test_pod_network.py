"""The routed pod network on the ``kubemu up --netns`` topology: pods reach pods on other nodes by IP.

Two kubelets, each in its own network namespace behind a bridge; each makes its pod CIDR
(``10.<octet>.N.0/24``) local and routes the other's via its address, watching Nodes
(``--pod-network routed``, kubelet/pod_routes.py), and the host has a route to every pod CIDR.
An nginx pod on each node: each reaches the other by IP (a python one-liner exec'd in the pod,
through the apiserver), the host reaches both, a Service's cluster IP from inside a pod answers
from endpoints on both nodes (kube-proxy in the pod's node forwards across the bridge). Pulling
node-2's cable cuts off node-2's pods only; a Node deleted (its kubelet stopped) loses its route on
node-1, and the route comes back when the kubelet registers it again; while the apiserver is
down every route stays (periodic resyncs from the informer's cache). ``kubemu down`` leaves no
route and no iptables rule behind. Needs root; skips with the reason otherwise.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from kubemu import netns
from kubemu.cluster import ClusterDir
from tests.e2e.test_network_faults import _netns_problem, chaos, leftovers
from tests.helpers import wait_for
from tests.test_supervisor import down_and_reap, kubemu

pytestmark = pytest.mark.e2e

SERVED_BY = re.compile(r"Served by pod <b>([^<]+)</b>")
FETCH = ("import re, sys, urllib.request\n"
         "try:\n"
         "    page = urllib.request.urlopen(sys.argv[1], timeout=3).read().decode()\n"
         "    print(re.search(r'Served by pod <b>([^<]+)</b>', page).group(1))\n"
         "except OSError as e:\n"
         "    print('error', e)\n")


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    problem = _netns_problem()
    if problem:
        pytest.skip(f"cannot build network namespaces: {problem}")
    cdir = ClusterDir(str(tmp_path_factory.mktemp("podnet")))
    cid = netns.cluster_id(cdir)
    try:
        result = kubemu("up", "--cluster-dir", cdir.path, "--netns", "--ports", "auto", "--nodes", "2", "--timeout",
                        "90", "--no-merge-kubeconfig", "--component-flag", "kubelet=--node-status-update-frequency=2",
                        "--component-flag", "kubelet=--pod-network-resync-period=1",
                        timeout_s=150)
        assert result.returncode == 0, result.stdout + result.stderr
        yield cdir
    finally:
        plan = cdir.read_plan() or {}
        down = down_and_reap(cdir)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not leftovers(cid), f"network of the cluster left behind after kubemu down: {leftovers(cid)}"
        routes = subprocess.run(["ip", "route", "show"], capture_output=True, text=True).stdout
        octet = plan.get("podNetworkOctet")
        assert not [line for line in routes.splitlines() if line.startswith(f"10.{octet}.")], routes
        rules = subprocess.run(["iptables", "-w", "-S", "FORWARD"], capture_output=True, text=True).stdout
        assert f"kmu{cid}br" not in rules, rules


@pytest.fixture(scope="module")
def api(net):
    client = net.api_client(retry_timeout_s=5.0, request_timeout_s=10.0)
    yield client
    client.close()


def nginx(name: str, node: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default",
                                                            "labels": {"app": "web"}},
            "spec": {"nodeName": node, "containers": [{"name": "nginx", "image": "nginx",
                                                       "ports": [{"containerPort": 80}]}]}}


@pytest.fixture(scope="module")
def pods(net, api) -> dict[str, dict]:
    """web-1 on node-1 and web-2 on node-2, both answering on their IPs; a Service `web` over both."""
    for n in (1, 2):
        api.create("pods", nginx(f"web-{n}", f"node-{n}"), "default")
    api.create("services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}, "default")
    out = {}
    for n in (1, 2):
        out[f"web-{n}"] = wait_for(lambda n=n: (p := api.get("pods", f"web-{n}", "default"))["status"].get("podIP")
                                   and p["status"].get("phase") == "Running" and p,
                                   timeout_s=60, interval_s=0.5, message=f"web-{n} Running")
    for p in out.values():  # Running means started, not listening yet (as in Kubernetes)
        wait_for(lambda p=p: from_host(p["status"]["podIP"]) == f"default/{p['metadata']['name']}", timeout_s=20,
                 interval_s=0.3, message=f"{p['metadata']['name']} answering on its IP")
    return out


def from_host(ip: str, timeout_s: float = 3.0) -> str:
    try:
        page = urllib.request.urlopen(f"http://{ip}/", timeout=timeout_s).read().decode()
    except OSError as e:
        return f"error {e}"
    return SERVED_BY.search(page).group(1)


def from_pod(api, pod: str, url: str) -> str:
    """What ``url`` answers inside ``pod`` (exec through the apiserver and the pod's kubelet)."""
    from kubemu.kubectl_pods import pod_exec
    from machinery.pb import api_pb2

    resp = pod_exec(api, api_pb2.PodExecRequest(namespace="default", name=pod, timeout_seconds=20,
                                                command=[sys.executable, "-c", FETCH, url]))
    assert resp.exit_code == 0, resp.stderr
    return resp.stdout.decode().strip()


def node_routes(net: ClusterDir, node: str) -> str:
    ns = netns.node_link(net, node)["namespace"]
    return subprocess.run(["ip", "-n", ns, "route", "show", "table", "all", "proto", "244"], capture_output=True,
                          text=True, timeout=30).stdout


def test_pod_ips_come_from_each_nodes_routed_cidr(net, api, pods):
    octet = net.read_plan()["podNetworkOctet"]
    for n in (1, 2):
        node = api.get("nodes", f"node-{n}")
        assert node["spec"]["podCIDR"] == f"10.{octet}.{n}.0/24"
        assert ipaddress.ip_address(pods[f"web-{n}"]["status"]["podIP"]) in ipaddress.ip_network(f"10.{octet}.{n}.0/24")
    link2 = netns.node_link(net, "node-2")
    assert f"local 10.{octet}.1.0/24 dev lo" in node_routes(net, "node-1")
    assert f"10.{octet}.2.0/24 via {link2['ip']} dev eth0" in node_routes(net, "node-1")


def test_a_pod_reaches_a_pod_on_the_other_node_by_ip(api, pods):
    assert from_pod(api, "web-1", f"http://{pods['web-2']['status']['podIP']}/") == "default/web-2"
    assert from_pod(api, "web-2", f"http://{pods['web-1']['status']['podIP']}/") == "default/web-1"


def test_the_host_reaches_every_pod_by_ip(pods):
    for name, pod in pods.items():
        assert from_host(pod["status"]["podIP"]) == f"default/{name}"


def test_a_cluster_ip_inside_a_pod_reaches_endpoints_on_both_nodes(api, pods):
    cluster_ip = api.get("services", "web", "default")["spec"]["clusterIP"]
    wait_for(lambda: len(api.get("endpoints", "web", "default").get("subsets", [{}])[0].get("addresses") or []) == 2,
             timeout_s=30, interval_s=0.3, message="both pods in the Service's endpoints")
    seen: set[str] = set()

    def both_answer() -> bool:
        seen.add(from_pod(api, "web-1", f"http://{cluster_ip}/"))
        return {"default/web-1", "default/web-2"} <= seen

    wait_for(both_answer, timeout_s=60, interval_s=0.1, message=f"both endpoints behind {cluster_ip} (seen {seen})")


def test_cutting_a_nodes_link_cuts_off_only_its_pods(net, api, pods):
    ip1, ip2 = (pods[f"web-{n}"]["status"]["podIP"] for n in (1, 2))
    chaos(net, "partition", "kubelet", "node-2")
    try:
        assert from_host(ip2, timeout_s=2).startswith("error")
        assert from_pod(api, "web-1", f"http://{ip2}/").startswith("error")
        assert from_host(ip1) == "default/web-1"
    finally:
        chaos(net, "heal-network", "kubelet", "node-2")
    wait_for(lambda: from_host(ip2) == "default/web-2", timeout_s=20, interval_s=0.3, message="web-2 reachable again")


def pod_network_details(net: ClusterDir, node: str) -> dict:
    from kubemu.cli import describe_component
    from kubemu.cluster import component_credentials

    comp = next(c for c in net.read_state()["components"] if c["name"] == node)
    return (describe_component(comp["grpcAddress"], creds=component_credentials(comp)) or {}).get("podNetwork", {})


def test_routes_outlive_an_apiserver_outage(net, api, pods):
    """The informer keeps its cache while the apiserver is away: resyncs keep every route."""
    octet = net.read_plan()["podNetworkOctet"]
    ip2 = pods["web-2"]["status"]["podIP"]
    before = node_routes(net, "node-1")
    assert f"10.{octet}.2.0/24" in before
    # Describe is authorized by the apiserver; the kubelet caches the allowed answer for 5 minutes.
    syncs = pod_network_details(net, "node-1")["syncs"]
    chaos(net, "kill", "apiserver")
    try:
        wait_for(lambda: pod_network_details(net, "node-1")["syncs"] >= syncs + 3, timeout_s=30, interval_s=0.3,
                 message="three periodic resyncs of node-1 during the outage")
        assert node_routes(net, "node-1") == before
        probe = subprocess.run(["ip", "netns", "exec", netns.node_link(net, "node-1")["namespace"], sys.executable,
                                "-c", FETCH, f"http://{ip2}/"], capture_output=True, text=True, timeout=30)
        assert probe.stdout.strip() == "default/web-2", probe.stdout + probe.stderr  # node-1 to web-2, no API
    finally:
        chaos(net, "start", "apiserver")
    wait_for(lambda: api.get("nodes", "node-1"), timeout_s=60, interval_s=0.5, message="the apiserver back")


def test_routes_follow_a_node_that_is_deleted_and_registered_again(net, api, pods):
    octet = net.read_plan()["podNetworkOctet"]
    ip2 = pods["web-2"]["status"]["podIP"]
    chaos(net, "stop", "kubelet", "node-2")  # else it registers its Node again at its next status update
    deleted = time.monotonic()
    api.delete("nodes", "node-2")
    wait_for(lambda: f"10.{octet}.2.0/24" not in node_routes(net, "node-1"), timeout_s=20, interval_s=0.05,
             message="node-1's route to node-2's pod CIDR removed")
    removed_s = time.monotonic() - deleted
    assert from_pod(api, "web-1", f"http://{ip2}/").startswith("error")  # web-2 still runs, unrouted from node-1
    chaos(net, "start", "kubelet", "node-2")
    wait_for(lambda: api.get("nodes", "node-2")["status"].get("addresses"), timeout_s=60, interval_s=0.05,
             message="node-2 registered again with its address")
    registered = time.monotonic()
    wait_for(lambda: f"10.{octet}.2.0/24 via {netns.node_link(net, 'node-2')['ip']}" in node_routes(net, "node-1"),
             timeout_s=30, interval_s=0.05, message="the route back once node-2 registered again")
    print(f"\nNode deleted -> route gone on node-1: {removed_s * 1000:.0f} ms; Node registered with its address "
          f"-> route back: {(time.monotonic() - registered) * 1000:.0f} ms")
    # The pod GC controller force-deletes the pods of a deleted Node (web-2 among them): a new one shows the way.
    api.create("pods", {**nginx("again", "node-2"), "metadata": {"name": "again", "namespace": "default"}}, "default")
    again = wait_for(lambda: (p := api.get("pods", "again", "default"))["status"].get("phase") == "Running" and p,
                     timeout_s=60, interval_s=0.5, message="a new pod on node-2 Running")
    assert again["status"]["podIP"].startswith(f"10.{octet}.2.")
    wait_for(lambda: from_pod(api, "web-1", f"http://{again['status']['podIP']}/") == "default/again", timeout_s=30,
             interval_s=0.5, message="web-1 reaching the pod on node-2 again")
