"""Node controllers across real processes: a killed kubelet's node goes Unknown, is tainted,
its pods are evicted and recreated elsewhere, and it recovers when the kubelet returns; node
IPAM hands a CIDR to a kubelet started without one; pod GC and the garbage collector clean up
after a deleted node. Timings are shortened by flags (grace 4 s, tolerations 2 s)."""

from __future__ import annotations

import ipaddress
import uuid

import pytest

from machinery import errors
from tests.e2e.test_controllers_workloads import Proc, deployment, node_ready, pods, rolled_out, running_ready
from tests.e2e.test_controllers_workloads import start_cluster as _start
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

GRACE_S = 4
TOLERATION_S = 2
CLUSTER_CIDR = "127.246.0.0/16"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = _start(tmp_path_factory.mktemp("nodes"), nodes=4, kubelets_without_cidr=(4,),
               apiserver_args=("--default-unreachable-toleration-seconds", str(TOLERATION_S),
                               "--default-not-ready-toleration-seconds", str(TOLERATION_S)),
               cm_args=("--node-monitor-grace-period", f"{GRACE_S}s", "--node-monitor-period", "1s",
                        "--node-eviction-rate", "1", "--cluster-cidr", CLUSTER_CIDR))
    yield c
    c.stop()


@pytest.fixture
def api(cluster):
    c = cluster.client(retry_timeout_s=10)
    yield c
    c.close()


@pytest.fixture
def ns(api):
    name = f"nd-{uuid.uuid4().hex[:6]}"
    api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


@pytest.fixture(autouse=True)
def _logs_on_failure(request, cluster):
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed:
        print(cluster.dump_logs())


def taints(node: dict) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in (node.get("spec") or {}).get("taints") or []}


def test_node_ipam_gives_a_kubelet_without_cidr_its_range(cluster, api, ns):
    nodes = {n["metadata"]["name"]: n for n in api.list("nodes").items}
    cidr = nodes["node-4"]["spec"]["podCIDR"]
    assert ipaddress.ip_network(cidr).subnet_of(ipaddress.ip_network(CLUSTER_CIDR))
    assert nodes["node-4"]["spec"]["podCIDRs"] == [cidr]
    assert nodes["node-1"]["spec"]["podCIDR"] == "127.245.1.0/24", "a node's own CIDR is kept"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "on4"},
           "spec": {"nodeSelector": {"kubernetes.io/hostname": "node-4"}, "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "c", "image": "pause"}]}}
    api.create("pods", pod, ns)
    running = wait_for(lambda: (lambda p: p if p["status"].get("podIP") else None)(api.get("pods", "on4", ns)),
                       timeout_s=30, message="pod IP on node-4")
    assert ipaddress.ip_address(running["status"]["podIP"]) in ipaddress.ip_network(cidr)


def test_dead_kubelet_node_goes_unknown_pods_evicted_and_recovers(cluster, api, ns):
    api.create("deployments", deployment("survivor", 4, image="pause"), ns)
    wait_for(lambda: rolled_out(api, ns, "survivor"), timeout_s=60, message="rolled out")
    victim_node = next(p["spec"]["nodeName"] for p in pods(api, ns) if p["spec"]["nodeName"] != "node-4")
    victims = {p["metadata"]["name"] for p in pods(api, ns) if p["spec"]["nodeName"] == victim_node}
    cluster.procs[victim_node].kill()

    def unknown():
        node = api.get("nodes", victim_node)
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        return (node, ready) if ready["status"] == "Unknown" else None

    node, ready = wait_for(unknown, timeout_s=GRACE_S + 10, message="node Ready=Unknown")
    assert (ready["reason"], ready["message"]) == ("NodeStatusUnknown", "Kubelet stopped posting node status.")
    node = wait_for(lambda: (lambda n: n if {("node.kubernetes.io/unreachable", "NoExecute"),
                                             ("node.kubernetes.io/unreachable", "NoSchedule")} <= taints(n) else None)(
        api.get("nodes", victim_node)), timeout_s=10, message="unreachable taints")
    assert next(t for t in node["spec"]["taints"] if t["effect"] == "NoExecute")["timeAdded"]

    # Evicted after the toleration (2 s): marked for deletion, replaced on the other nodes.
    def evicted():
        left = [p for p in pods(api, ns) if p["metadata"]["name"] in victims]
        return all(p["metadata"].get("deletionTimestamp") for p in left)

    wait_for(evicted, timeout_s=TOLERATION_S + 15, message="pods evicted")
    for name in victims:
        try:
            pod = api.get("pods", name, ns)
        except errors.NotFound:
            continue
        conds = {c["type"]: c for c in pod["status"].get("conditions") or []}
        assert conds["Ready"]["status"] == "False"
        assert conds["DisruptionTarget"]["reason"] == "DeletionByTaintManager"

    def replaced():
        live = [p for p in pods(api, ns) if running_ready(p)]
        return live if len(live) == 4 and all(p["spec"]["nodeName"] != victim_node for p in live) else None

    wait_for(replaced, timeout_s=60, message="replacements running elsewhere")
    # Events are recorded in the background: poll until every eviction has one.
    wait_for(lambda: {e["involvedObject"]["name"]
                      for e in api.list("events", ns, field_selector="reason=TaintManagerEviction").items} == victims,
             timeout_s=15, message="a TaintManagerEviction event per evicted pod")

    # The kubelet comes back: Ready again, taints gone, the evicted pods are finally removed.
    cluster.procs[victim_node] = Proc(cluster.kubelet_args(int(victim_node.split("-")[1])),
                                      str(cluster.root / f"{victim_node}-2.log"))
    wait_for(lambda: node_ready(api.get("nodes", victim_node)) and not taints(api.get("nodes", victim_node)),
             timeout_s=30, message="node Ready without taints")
    wait_for(lambda: not [p for p in pods(api, ns) if p["metadata"]["name"] in victims], timeout_s=30,
             message="evicted pods confirmed gone")


def test_deleted_node_pods_and_lease_are_collected(cluster, api, ns):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stranded"},
           "spec": {"nodeSelector": {"kubernetes.io/hostname": "node-4"}, "terminationGracePeriodSeconds": 30,
                    "containers": [{"name": "c", "image": "pause"}]}}
    api.create("pods", pod, ns)
    wait_for(lambda: running_ready(api.get("pods", "stranded", ns)), timeout_s=30, message="pod running on node-4")
    assert api.get("leases", "node-4", "kube-node-lease")["metadata"]["ownerReferences"][0]["kind"] == "Node"
    cluster.procs["node-4"].kill()
    api.delete("nodes", "node-4")

    def collected():
        try:
            api.get("pods", "stranded", ns)
            return False
        except errors.NotFound:
            pass
        try:
            api.get("leases", "node-4", "kube-node-lease")
            return False
        except errors.NotFound:
            return True

    wait_for(collected, timeout_s=30, message="pod GC and garbage collector")
