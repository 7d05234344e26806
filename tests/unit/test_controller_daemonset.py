"""The DaemonSet controller against an in-memory API: eligibility (selectors, affinity, taints),
one pod per node through node affinity, node changes, rolling updates within maxUnavailable."""

from __future__ import annotations

from controller_manager.daemonset import HASH_LABEL, DaemonSetController, node_should_run, target_node
from tests.unit.test_controller_common import FakeAPI, drain, workload_pod_template


def make(api: FakeAPI) -> DaemonSetController:
    return DaemonSetController(api, api.lister("daemonsets"), api.lister("pods"), api.lister("nodes"))


def node(name: str, labels: dict | None = None, taints: list | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"taints": taints} if taints else {}, "status": {}}


def ds_body(**spec) -> dict:
    labels = {"app": "agent"}
    template = workload_pod_template(labels)
    template["spec"].update(spec.pop("pod", {}))
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "ns"},
            "spec": {"selector": {"matchLabels": labels}, "template": template,
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}, **spec}}


def by_node(api: FakeAPI) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for pod in api.of("pods", "ns"):
        if not pod["metadata"].get("deletionTimestamp"):
            out.setdefault(target_node(pod), []).append(pod)
    return out


def kubelet(api: FakeAPI) -> None:
    for pod in api.of("pods", "ns"):
        if pod["metadata"].get("deletionTimestamp"):
            api.remove("pods", pod["metadata"]["name"], "ns")
        elif pod["status"].get("phase") == "Pending":
            api.set_pod(pod, "ns", node=target_node(pod), phase="Running", ready=True)


def test_eligibility_follows_selector_affinity_and_taints():
    ds = ds_body(pod={"nodeSelector": {"disk": "ssd"}})
    assert node_should_run(ds, node("a", {"disk": "ssd"})) == (True, True)
    assert node_should_run(ds, node("b", {"disk": "hdd"})) == (False, False)
    plain = ds_body()
    assert node_should_run(plain, node("c", taints=[{"key": "gpu", "effect": "NoSchedule"}])) == (False, True)
    assert node_should_run(plain, node("d", taints=[{"key": "gpu", "effect": "NoExecute"}])) == (False, False)
    assert node_should_run(plain, node("e", taints=[{"key": "node.kubernetes.io/unreachable",
                                                     "effect": "NoExecute"}])) == (True, True)
    assert node_should_run(plain, node("f", taints=[{"key": "node.kubernetes.io/unschedulable",
                                                     "effect": "NoSchedule"}])) == (True, True)
    affinity = ds_body(pod={"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}]}]}}}})
    assert node_should_run(affinity, node("g", {"zone": "z1"}))[0]
    assert not node_should_run(affinity, node("h", {"zone": "z2"}))[0]


def test_one_pod_per_eligible_node_pinned_by_node_affinity():
    api = FakeAPI()
    for name in ("n1", "n2"):
        api.create("nodes", node(name))
    api.create("nodes", node("tainted", taints=[{"key": "dedicated", "effect": "NoSchedule"}]))
    dsc = make(api)
    api.create("daemonsets", ds_body())
    drain(dsc)
    pods = by_node(api)
    assert sorted(pods) == ["n1", "n2"] and all(len(p) == 1 for p in pods.values())
    pod = pods["n1"][0]
    assert "nodeName" not in pod["spec"], "the scheduler places it"
    assert pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}
    assert {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"} in \
        pod["spec"]["tolerations"]
    kubelet(api)
    drain(dsc)
    status = api.get("daemonsets", "agent", "ns")["status"]
    assert (status["desiredNumberScheduled"], status["currentNumberScheduled"], status["numberReady"],
            status["numberMisscheduled"], status["updatedNumberScheduled"]) == (2, 2, 2, 0, 2)
    # A new node gets a pod; a node that becomes ineligible loses its pod.
    api.create("nodes", node("n3"))
    drain(dsc)
    assert "n3" in by_node(api)
    api.mutate("nodes", "n1", "", lambda n: n["spec"].update(taints=[{"key": "x", "effect": "NoExecute"}]))
    drain(dsc)
    assert "n1" not in by_node(api)


def test_duplicate_and_failed_daemon_pods_are_replaced():
    api = FakeAPI()
    api.create("nodes", node("n1"))
    dsc = make(api)
    api.create("daemonsets", ds_body())
    drain(dsc)
    kubelet(api)
    (pod,) = by_node(api)["n1"]
    api.set_pod(pod, "ns", phase="Failed", ready=False)
    drain(dsc)
    kubelet(api)
    drain(dsc)
    (again,) = by_node(api)["n1"]
    assert again["metadata"]["uid"] != pod["metadata"]["uid"]


def test_rolling_update_keeps_at_most_max_unavailable_down():
    api = FakeAPI()
    for i in range(4):
        api.create("nodes", node(f"n{i}"))
    dsc = make(api)
    api.create("daemonsets", ds_body())
    drain(dsc)
    kubelet(api)
    drain(dsc)
    old_hash = api.of("pods", "ns")[0]["metadata"]["labels"][HASH_LABEL]
    api.mutate("daemonsets", "agent", "ns", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(
        image="nginx:2"))
    for _ in range(20):
        drain(dsc)
        deleting = [p for p in api.of("pods", "ns") if p["metadata"].get("deletionTimestamp")]
        pending = [p for p in api.of("pods", "ns") if p["status"].get("phase") == "Pending"]
        assert len(deleting) + len(pending) <= 1, "one node at a time"
        kubelet(api)
        dsc.enqueue("ns/agent")
    hashes = {p["metadata"]["labels"][HASH_LABEL] for p in api.of("pods", "ns")}
    assert len(api.of("pods", "ns")) == 4 and old_hash not in hashes and len(hashes) == 1
