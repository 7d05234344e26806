"""The scheduler as a real process against a real apiserver and etcd: where pods land and why not.

The cluster here has no kubelets and no controller manager: its three nodes are Node objects
with a Ready condition, so only the scheduler acts on pods (they are bound, never run) and the
tests see its decisions alone. The scheduler runs two profiles from a KubeSchedulerConfiguration
file: ``default-scheduler`` and ``bin-packing`` (MostAllocated).
"""

from __future__ import annotations

import io
import json
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import grpc
import pytest

from kubemu import kubectl_scheduling
from kubemu.etcd_server import EtcdMember, find_etcd_binary, free_port, wait_ready
from machinery import errors
from machinery.client import APIClient
from machinery.pb import component_pb2, component_pb2_grpc
from tests.conftest import Proc, start_apiserver
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

BIN_PACKING_CONFIG = """\
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packing
  plugins:
    score:
      disabled: [{name: NodeResourcesBalancedAllocation}]
      enabled: [{name: NodeResourcesFit, weight: 5}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy: {type: MostAllocated}
"""


# --- a control plane without kubelets (shared with test_scheduler_failover.py) ---------------------


@dataclass
class ControlPlane:
    address: str
    root: object
    procs: dict[str, Proc] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def client(self) -> APIClient:
        return APIClient(self.address, retry_timeout_s=10)

    def start_scheduler(self, name: str, *extra: str, port: int = 0) -> Proc:
        port = port or free_port()
        self.ports[name] = port
        proc = Proc([sys.executable, "-m", "scheduler", "--apiserver", self.address, "--bind-address", "127.0.0.1",
                     "--port", str(port), "--identity", name, "--pod-max-backoff-seconds", "2", *extra],
                    str(self.root / f"{name}.log"))
        self.procs[name] = proc
        return proc

    def logs(self) -> str:
        return "\n".join(f"===== {n} =====\n{p.output()[-6000:]}" for n, p in self.procs.items())

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()


def start_control_plane(root) -> ControlPlane:
    member = EtcdMember("sched", str(root / "etcd"), free_port(), free_port())
    etcd_proc = Proc(member.command(find_etcd_binary()), str(root / "etcd.log"))
    wait_ready(member.client_url)
    apiserver, address = start_apiserver(member.client_url, root)
    plane = ControlPlane(address, root)
    plane.procs["etcd"] = etcd_proc
    plane.procs["apiserver"] = apiserver
    return plane


def add_node(api: APIClient, name: str, *, cpu: str = "4", memory: str = "8Gi", pods: int = 110,
             labels: dict | None = None, taints: list | None = None) -> dict:
    """A Node as a kubelet would register it, Ready, with nothing behind it."""
    resources = {"cpu": cpu, "memory": memory, "pods": str(pods)}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": {"taints": taints} if taints else {},
            "status": {"capacity": resources, "allocatable": resources,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "lastHeartbeatTime": now, "lastTransitionTime": now}]}}
    return api.create("nodes", node)


def describe(address: str) -> dict:
    with grpc.insecure_channel(address) as channel:
        info = component_pb2_grpc.ComponentStub(channel).Describe(component_pb2.DescribeRequest(), timeout=5)
    return json.loads(info.details)


def pod(name: str, ns: str, *, cpu: str | None = None, labels: dict | None = None, owner: str = "",
        scheduler: str = "", **spec) -> dict:
    container = {"name": "app", "image": "nginx"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    meta = {"name": name, "namespace": ns, "labels": labels or {"app": name}}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": owner,
                                    "controller": True}]
    body = {"containers": [container], "terminationGracePeriodSeconds": 0, **spec}
    if scheduler:
        body["schedulerName"] = scheduler
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body}


def bound_nodes(api: APIClient, ns: str, names: list[str], timeout_s: float = 30) -> dict[str, str]:
    def all_bound():
        pods = {p["metadata"]["name"]: p["spec"].get("nodeName") for p in api.list("pods", ns).items}
        return pods if all(pods.get(n) for n in names) else None

    placed = wait_for(all_bound, timeout_s=timeout_s, message=f"{len(names)} pods bound")
    return {n: placed[n] for n in names}


def failed_messages(api: APIClient, ns: str, name: str) -> set[str]:
    events = api.list("events", ns, field_selector=f"involvedObject.name={name},reason=FailedScheduling").items
    return {e["message"] for e in events}


def failed_scheduling(api: APIClient, ns: str, name: str) -> str:
    """One FailedScheduling message of the pod ("" if none yet)."""
    return next(iter(sorted(failed_messages(api, ns, name))), "")


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plane(tmp_path_factory):
    root = tmp_path_factory.mktemp("sched-placement")
    plane = start_control_plane(root)
    config = root / "scheduler-config.yaml"
    config.write_text(BIN_PACKING_CONFIG)
    api = plane.client()
    try:
        for i in (1, 2, 3):
            add_node(api, f"node-{i}", labels={"topology.kubernetes.io/zone": "zone-a" if i < 3 else "zone-b"})
        plane.start_scheduler("scheduler", "--scheduler-config", str(config))
        wait_for(lambda: describe(f"127.0.0.1:{plane.ports['scheduler']}").get("cache", {}).get("nodes") == 3,
                 timeout_s=30, message="scheduler leading with 3 nodes in its cache")
    except Exception:
        print(plane.logs())
        plane.stop()
        raise
    yield plane
    api.close()
    plane.stop()


@pytest.fixture
def api(plane):
    client = plane.client()
    yield client
    client.close()


@pytest.fixture
def ns(api):
    name = f"s-{uuid.uuid4().hex[:6]}"
    api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    for p in api.list("pods", name).items:  # grace 0: no kubelet would confirm a graceful delete
        try:
            api.delete("pods", p["metadata"]["name"], name, grace_period_s=0)
        except errors.NotFound:
            pass


# --- placement --------------------------------------------------------------------------------------


def test_a_deployment_like_set_of_six_spreads_two_per_node(api, ns):
    owner = str(uuid.uuid4())
    names = [f"web-{i}" for i in range(6)]
    for name in names:
        api.create("pods", pod(name, ns, owner=owner, labels={"app": "web"}))
    placed = bound_nodes(api, ns, names)
    assert sorted(Counter(placed.values()).values()) == [2, 2, 2], placed


def test_pods_without_an_owner_or_requests_still_spread(api, ns):
    names = [f"solo-{i}" for i in range(6)]
    for name in names:
        api.create("pods", pod(name, ns))
    placed = bound_nodes(api, ns, names)
    assert sorted(Counter(placed.values()).values()) == [2, 2, 2], placed


def test_the_bin_packing_profile_fills_one_node_first(api, ns):
    names = [f"pack-{i}" for i in range(4)]
    for name in names:
        api.create("pods", pod(name, ns, cpu="500m", scheduler="bin-packing"))
    placed = bound_nodes(api, ns, names)
    assert len(set(placed.values())) == 1, placed
    events = wait_for(lambda: (e := api.list("events", ns, field_selector="reason=Scheduled").items) and
                      len(e) == 4 and e, timeout_s=10, message="4 Scheduled events")
    assert {e["source"]["component"] for e in events} == {"bin-packing"}


def test_a_pod_for_an_unknown_scheduler_name_is_left_alone(api, ns):
    api.create("pods", pod("other", ns, scheduler="someone-else"))
    time.sleep(2)  # nothing to wait for: the absence of an action
    assert not api.get("pods", "other", ns)["spec"].get("nodeName")
    assert failed_scheduling(api, ns, "other") == ""


def test_failed_scheduling_message_has_kube_schedulers_shape(api, ns):
    node = api.get("nodes", "node-3")
    node["spec"]["taints"] = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    api.update("nodes", node)
    try:
        api.create("pods", pod("huge", ns, cpu="6"))
        # Counts first, entries sorted as strings; preemption finds no lower-priority pods to evict.
        expected = ("0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
                    "2 Insufficient cpu. preemption: 0/3 nodes are available: "
                    "1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.")
        # (The scheduler may try once before its node watch shows the taint; the update retries the pod.)
        wait_for(lambda: expected in failed_messages(api, ns, "huge"), timeout_s=20, message="FailedScheduling")

        def condition():
            conds = api.get("pods", "huge", ns)["status"].get("conditions") or []
            return next((c for c in conds if c["type"] == "PodScheduled" and c["message"] == expected), None)

        cond = wait_for(condition, timeout_s=10, message="PodScheduled condition")
        assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    finally:
        node = api.get("nodes", "node-3")
        node["spec"].pop("taints", None)
        api.update("nodes", node)


def test_required_anti_affinity_puts_one_replica_per_node_and_the_fourth_waits(api, ns):
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    names = [f"db-{i}" for i in range(3)]
    for name in names:
        api.create("pods", pod(name, ns, labels={"app": "db"}, affinity=anti))
    placed = bound_nodes(api, ns, names)
    assert sorted(placed.values()) == ["node-1", "node-2", "node-3"]
    api.create("pods", pod("db-3", ns, labels={"app": "db"}, affinity=anti))
    message = wait_for(lambda: failed_scheduling(api, ns, "db-3"), timeout_s=20, message="FailedScheduling")
    # The replicas already running carry the same term, and kube-scheduler checks theirs first.
    assert message == ("0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules. "
                       "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.")


def test_pod_affinity_follows_its_peer_into_the_zone(api, ns):
    api.create("pods", pod("cache", ns, labels={"app": "cache"}, nodeSelector={"kubernetes.io/hostname": "node-3"}))
    bound_nodes(api, ns, ["cache"])
    near = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "topology.kubernetes.io/zone"}]}}
    names = [f"client-{i}" for i in range(3)]
    for name in names:
        api.create("pods", pod(name, ns, affinity=near))
    assert set(bound_nodes(api, ns, names).values()) == {"node-3"}  # the only node in zone-b


def test_topology_spread_do_not_schedule_over_zones(api, ns):
    spread = [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "spread"}}}]
    names = [f"spread-{i}" for i in range(4)]
    for name in names:
        api.create("pods", pod(name, ns, labels={"app": "spread"}, topologySpreadConstraints=spread))
    placed = bound_nodes(api, ns, names)
    zones = Counter("zone-b" if n == "node-3" else "zone-a" for n in placed.values())
    assert zones == {"zone-a": 2, "zone-b": 2}, placed


def test_an_unschedulable_pod_is_placed_as_soon_as_a_node_changes(api, ns):
    api.create("pods", pod("picky", ns, nodeSelector={"disk": "ssd"}))
    wait_for(lambda: failed_scheduling(api, ns, "picky"), timeout_s=20, message="picky unschedulable")
    node = api.get("nodes", "node-2")
    node["metadata"]["labels"]["disk"] = "ssd"
    api.update("nodes", node)
    started = time.monotonic()
    try:
        assert bound_nodes(api, ns, ["picky"], timeout_s=15) == {"picky": "node-2"}
        assert time.monotonic() - started < 10, "retried on the node event, not by the 5-minute flush"
    finally:
        node = api.get("nodes", "node-2")
        node["metadata"]["labels"].pop("disk", None)
        api.update("nodes", node)


def test_higher_priority_pending_pods_get_freed_room_first(api, ns):
    api.create("priorityclasses", {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                   "metadata": {"name": f"{ns}-high"}, "value": 1000,
                                   "preemptionPolicy": "Never"})
    # Fill every node; keep preemption out of it (Never), so only the queue order decides.
    fillers = [f"fill-{i}" for i in range(3)]
    for name in fillers:
        api.create("pods", pod(name, ns, cpu="3500m"))
    bound_nodes(api, ns, fillers)
    api.create("pods", pod("low", ns, cpu="3", preemptionPolicy="Never"))
    api.create("pods", pod("high", ns, cpu="3", priorityClassName=f"{ns}-high"))
    assert api.get("pods", "high", ns)["spec"]["priority"] == 1000
    for name in ("low", "high"):
        wait_for(lambda name=name: failed_scheduling(api, ns, name), timeout_s=20, message=f"{name} unschedulable")
    # Let both backoffs (at most 2 s here) run out, so the event puts both in the active queue at
    # once and only the queue order decides (a pod still backing off would simply come later).
    time.sleep(3)
    api.delete("pods", "fill-0", ns, grace_period_s=0)
    placed = bound_nodes(api, ns, ["high"], timeout_s=20)
    time.sleep(1)
    assert not api.get("pods", "low", ns)["spec"].get("nodeName"), "only one fits; the high-priority pod gets it"
    assert placed["high"]


def test_a_high_priority_pod_preempts_a_low_priority_one(api, ns):
    api.create("priorityclasses", {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                   "metadata": {"name": f"{ns}-critical"}, "value": 100000})
    victims = [f"batch-{i}" for i in range(3)]
    for name in victims:
        api.create("pods", pod(name, ns, cpu="3"))
    bound_nodes(api, ns, victims)
    api.create("pods", pod("urgent", ns, cpu="3", priorityClassName=f"{ns}-critical"))
    placed = bound_nodes(api, ns, ["urgent"], timeout_s=30)
    left = {p["metadata"]["name"] for p in api.list("pods", ns).items}
    assert len(left & set(victims)) == 2, "exactly one victim was evicted"
    # The scheduler records events in the background: wait for it, then check there is only one.
    preempted = wait_for(lambda: api.list("events", ns, field_selector="reason=Preempted").items, timeout_s=15,
                         message="a Preempted event")
    assert len(preempted) == 1 and preempted[0]["message"].endswith(f"on node {placed['urgent']}")


# --- explain ---------------------------------------------------------------------------------------


def test_explain_schedule_names_the_rejecting_filter_for_each_node(plane, api, ns):
    api.create("pods", pod("big", ns, cpu="5"))
    wait_for(lambda: failed_scheduling(api, ns, "big"), timeout_s=20, message="big unschedulable")
    args = type("Args", (), {"pod": "big", "namespace": ns, "output": "", "last": False,
                             "lease": kubectl_scheduling.DEFAULT_LEASE})()
    err = io.StringIO()

    def explained() -> str:
        out = io.StringIO()
        assert kubectl_scheduling.run(args, api, out=out, err=err) == 0, err.getvalue()
        return out.getvalue() if "3 Insufficient cpu" in out.getvalue() else ""

    text = wait_for(explained, timeout_s=10, message="explanation of the current cluster")
    assert f"Pod {ns}/big (profile default-scheduler), dry run" in text
    assert "0/3 nodes are available: 3 Insufficient cpu." in text
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith("node-")}
    assert set(rows) == {"node-1", "node-2", "node-3"}
    for row in rows.values():
        assert row.split()[1:4] == ["No", "NodeResourcesFit", "Insufficient"]
    args.output = "json"
    out = io.StringIO()
    assert kubectl_scheduling.run(args, api, out=out, err=err) == 0
    explanation = json.loads(out.getvalue())
    assert explanation["dryRun"] is True and explanation["lastDecision"]["attempts"] >= 1


def test_explain_shows_the_scores_behind_a_placement(plane, api, ns):
    api.create("pods", pod("placed", ns, cpu="100m"))
    node = bound_nodes(api, ns, ["placed"])["placed"]
    explanation = kubectl_scheduling.explain(f"127.0.0.1:{plane.ports['scheduler']}", ns, "placed")
    assert explanation["selected"] == node and explanation["dryRun"] is False
    by_node = {n["node"]: n for n in explanation["nodes"]}
    assert by_node[node]["total"] == max(n["total"] for n in by_node.values())
    assert set(by_node[node]["scores"]) >= {"NodeResourcesFit", "TaintToleration"}
    assert "NodeAffinity" not in by_node[node]["scores"]  # no preferred terms: its PreScore said Skip
    text = kubectl_scheduling.render(explanation)
    assert f"{by_node[node]['total']} *" in text


def test_explain_for_an_unknown_pod_is_not_found(plane, api, ns):
    args = type("Args", (), {"pod": "ghost", "namespace": ns, "output": "", "last": False,
                             "lease": kubectl_scheduling.DEFAULT_LEASE})()
    err = io.StringIO()
    assert kubectl_scheduling.run(args, api, out=io.StringIO(), err=err) == 1
    assert err.getvalue().startswith('Error from server (NotFound): pod "ghost" not found')


# --- throughput ------------------------------------------------------------------------------------


def test_scheduling_throughput_on_three_nodes(plane, api, ns, tmp_path):
    """A backlog of 300 pending pods, then a scheduler: how fast does it bind them (printed)."""
    count = 300
    plane.procs["scheduler"].stop()  # SIGTERM: it releases the lease
    for i in range(count):
        api.create("pods", pod(f"load-{i}", ns, cpu="10m"))
    started = time.monotonic()
    plane.start_scheduler("scheduler", "--scheduler-config", str(plane.root / "scheduler-config.yaml"),
                          port=plane.ports["scheduler"])
    first = None
    while True:
        bound = sum(1 for p in api.list("pods", ns).items if p["spec"].get("nodeName"))
        now = time.monotonic()
        if bound and first is None:
            first = (now, bound)
        if bound == count:
            break
        assert now - started < 120, f"only {bound}/{count} bound"
        time.sleep(0.05)
    stats = describe(f"127.0.0.1:{plane.ports['scheduler']}")
    rate = (count - first[1]) / max(now - first[0], 1e-3)
    print(f"\n{count} pending pods on 3 nodes: first bound {first[0] - started:.2f}s after the scheduler process "
          f"started, all {now - started:.2f}s after; {rate:.0f} pods/s once running; "
          f"mean scheduling cycle {stats['meanCycleMs']} ms over {stats['cycles']} cycles")
    assert sorted(Counter(p["spec"]["nodeName"] for p in api.list("pods", ns).items).values()) == [100, 100, 100]
    assert rate > 20
