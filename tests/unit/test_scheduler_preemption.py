"""DefaultPreemption: which pods a high-priority pod evicts, on which node, and what the
scheduler says when preemption cannot help (kube-scheduler's wording)."""

from __future__ import annotations

import pytest

from scheduler.framework import Handle, NodeInfo
from scheduler.plugins.default_preemption import DefaultPreemption, select_candidate
from scheduler.profile import build_framework


def node(name: str, cpu: str = "4", taints: list | None = None) -> NodeInfo:
    return NodeInfo({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                     "spec": {"taints": taints} if taints else {},
                     "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                                "conditions": [{"type": "Ready", "status": "True"}]}})


def pod(name: str, cpu: str = "1", priority: int = 0, start: str = "2025-01-01T00:00:00Z", **spec) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": cpu}}}],
                     "priority": priority, **spec},
            "status": {"startTime": start}}


class FakeClient:
    def __init__(self):
        self.deleted, self.marked = [], []

    def mutate(self, resource, name, namespace, change, *, status=False, attempts=10):
        obj = {"metadata": {"name": name, "namespace": namespace}, "status": {}}
        change(obj)
        self.marked.append((name, obj["status"]["conditions"][0]))
        return obj

    def delete(self, resource, name, namespace, **kw):
        self.deleted.append(name)


class FakeRecorder:
    def __init__(self):
        self.events = []

    def event(self, obj, event_type, reason, message):
        self.events.append((obj["metadata"]["name"], reason, message))


@pytest.fixture
def setup():
    client, recorder = FakeClient(), FakeRecorder()
    handle = Handle(client=client, recorder=recorder)
    fw = build_framework({}, handle)
    return fw, client, recorder


def attempt(fw, incoming: dict, nodes: list[NodeInfo]):
    result = fw.run(f"default/{incoming['metadata']['name']}", incoming, nodes)
    assert not result.selected
    return result, fw.run_post_filters(incoming, result, nodes)


def fill(info: NodeInfo, *pods: dict) -> NodeInfo:
    for p in pods:
        info.add_pod(f"default/{p['metadata']['name']}", p)
    return info


def test_the_fewest_lowest_priority_pods_are_evicted(setup):
    fw, client, recorder = setup
    n = fill(node("n1"), pod("old", start="2025-01-01T00:00:00Z"), pod("mid", start="2025-01-02T00:00:00Z"),
             pod("new", start="2025-01-03T00:00:00Z"), pod("vip", priority=50))
    result, (nominated, status) = attempt(fw, pod("urgent", cpu="2", priority=100), [n])
    assert status.ok and nominated == "n1"
    # Reprieve order is most important first (older start first): the two newest go.
    assert sorted(client.deleted) == ["mid", "new"]
    assert all(cond["type"] == "DisruptionTarget" and cond["reason"] == "PreemptionByScheduler"
               for _, cond in client.marked)
    assert {(name, reason) for name, reason, _ in recorder.events} == {("mid", "Preempted"), ("new", "Preempted")}
    assert recorder.events[0][2] == "Preempted by pod uid-urgent on node n1"
    assert result.failure_message() == "0/1 nodes are available: 1 Insufficient cpu."


def test_pods_of_equal_or_higher_priority_are_never_victims(setup):
    fw, client, _ = setup
    n = fill(node("n1"), pod("peer", cpu="4", priority=100))
    _, (nominated, status) = attempt(fw, pod("urgent", priority=100), [n])
    assert nominated == "" and client.deleted == []
    assert status.message == ("preemption: 0/1 nodes are available: 1 No preemption victims found for incoming "
                              "pod.")


def test_nodes_that_removing_pods_cannot_fix_are_not_tried(setup):
    fw, client, _ = setup
    tainted = node("gpu", taints=[{"key": "gpu", "value": "true", "effect": "NoSchedule"}])
    full = fill(node("n1", cpu="1"), pod("peer", priority=1000))
    _, (nominated, status) = attempt(fw, pod("urgent", cpu="2", priority=100), [tainted, full])
    assert status.message == ("preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, "
                              "1 Preemption is not helpful for scheduling.")
    _, (_, status) = attempt(fw, pod("urgent", cpu="8", priority=2000), [tainted, full])
    assert status.message == ("preemption: 0/2 nodes are available: 1 Insufficient cpu, "
                              "1 Preemption is not helpful for scheduling.")


def test_preemption_policy_never(setup):
    fw, client, _ = setup
    n = fill(node("n1"), pod("low", cpu="4"))
    result, (_, status) = attempt(fw, pod("polite", priority=100, preemptionPolicy="Never"), [n])
    assert status.message == "preemption: not eligible due to preemptionPolicy=Never." and client.deleted == []
    result.post_filter_message = status.message
    assert result.failure_message() == ("0/1 nodes are available: 1 Insufficient cpu. "
                                        "preemption: not eligible due to preemptionPolicy=Never.")


def test_no_second_round_while_victims_on_the_nominated_node_terminate(setup):
    fw, client, _ = setup
    dying = pod("dying", cpu="4")
    dying["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    dying["status"]["conditions"] = [{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]
    n = fill(node("n1"), dying)
    waiting = pod("urgent", priority=100)
    waiting["status"]["nominatedNodeName"] = "n1"
    _, (_, status) = attempt(fw, waiting, [n])
    assert status.message == "preemption: not eligible due to a terminating pod on the nominated node."


def test_the_node_with_the_least_important_victims_is_chosen(setup):
    fw, client, _ = setup
    a = fill(node("a"), pod("a-10", cpu="4", priority=10))
    b = fill(node("b"), pod("b-1", cpu="2", priority=1), pod("b-2", cpu="2", priority=1))
    c = fill(node("c"), pod("c-1", cpu="4", priority=1))
    _, (nominated, _) = attempt(fw, pod("urgent", cpu="3", priority=100), [a, b, c])
    assert nominated == "c"  # lowest top priority (1), then one victim rather than two
    assert client.deleted == ["c-1"]


def test_anti_affinity_to_a_lower_priority_pod_is_resolved_by_evicting_it(setup):
    fw, client, _ = setup
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "noisy"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    n = fill(node("n1"), pod("noisy"), pod("quiet"))
    _, (nominated, status) = attempt(fw, pod("urgent", priority=100, affinity=anti), [n])
    assert status.ok and client.deleted == ["noisy"]


def test_select_candidate_prefers_victims_that_started_latest():
    from scheduler.plugins.default_preemption import Candidate

    early = Candidate("early", [("default/x", pod("x", start="2025-01-01T00:00:00Z"))])
    late = Candidate("late", [("default/y", pod("y", start="2025-06-01T00:00:00Z"))])
    assert select_candidate([early, late]).node == "late"


def test_preemption_args_are_validated():
    with pytest.raises(ValueError, match="minCandidateNodesPercentage"):
        DefaultPreemption.new({"minCandidateNodesPercentage": -1}, Handle())
