"""The Scheduler around the framework, with a fake API client and informer events fed by hand:
binding, events and conditions a user sees, retries on cluster events, nominated pods,
several profiles, and the explanations it keeps."""

from __future__ import annotations

import copy

import pytest

from machinery import errors
from scheduler.framework import Plugin, Status
from scheduler.plugins import REGISTRY, register
from scheduler.queue import SchedulingQueue
from scheduler.scheduler import Scheduler


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeClient:
    """Records what the scheduler asks of the apiserver."""

    def __init__(self):
        self.objects: dict[tuple, dict] = {}
        self.bound: list[tuple[str, str]] = []
        self.events: list[dict] = []
        self.deleted: list[str] = []
        self.bind_error: Exception | None = None

    def bind(self, namespace, name, node_name, uid=""):
        if self.bind_error is not None:
            raise self.bind_error
        self.bound.append((f"{namespace}/{name}", node_name))
        return {}

    def create(self, resource, obj, namespace="", *, dry_run=False):
        if resource == "events":
            self.events.append(obj)
        return obj

    def get(self, resource, name, namespace=""):
        try:
            return copy.deepcopy(self.objects[(resource, namespace, name)])
        except KeyError:
            raise errors.NotFound(f'{resource} "{name}" not found') from None

    def mutate(self, resource, name, namespace, change, *, status=False, attempts=10):
        obj = self.get(resource, name, namespace)
        if change(obj) is False:
            return None
        self.objects[(resource, namespace, name)] = obj
        return obj

    def delete(self, resource, name, namespace="", **kw):
        self.deleted.append(f"{namespace}/{name}")
        self.objects.pop((resource, namespace, name), None)
        return {}

    def reasons(self, name: str) -> list[tuple[str, str]]:
        return [(e["reason"], e["message"]) for e in self.events if e["involvedObject"]["name"] == name]


def node(name: str, cpu: str = "2", **labels) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "resourceVersion": "1",
                                                             "labels": {"kubernetes.io/hostname": name, **labels}},
            "spec": {}, "status": {"allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
                                   "conditions": [{"type": "Ready", "status": "True"}]}}


def pod(name: str, cpu: str = "1", *, node_name: str = "", priority: int = 0, scheduler: str = "",
        rv: str = "1", **spec) -> dict:
    body = {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": cpu}}}],
            "priority": priority, "terminationGracePeriodSeconds": 0, **spec}
    if node_name:
        body["nodeName"] = node_name
    if scheduler:
        body["schedulerName"] = scheduler
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": rv,
                         "labels": {"app": name}},
            "spec": body, "status": {"phase": "Pending"}}


class Cluster:
    def __init__(self, profiles=None, clock=None):
        self.client = FakeClient()
        self.clock = clock or FakeClock()
        self.queue = SchedulingQueue(initial_backoff_s=1, max_backoff_s=10, max_unschedulable_s=300,
                                     clock=self.clock)
        self.sched = Scheduler(self.client, profiles, queue=self.queue, bind_workers=1)

    def add_node(self, n: dict) -> None:
        self.sched.nodes._apply("ADDED", n)

    def update_node(self, n: dict) -> None:
        self.sched.nodes._apply("MODIFIED", n)

    def add_pod(self, p: dict) -> None:
        self.client.objects[("pods", "default", p["metadata"]["name"])] = copy.deepcopy(p)
        self.sched.pods._apply("ADDED", p)

    def update_pod(self, p: dict) -> None:
        self.client.objects[("pods", "default", p["metadata"]["name"])] = copy.deepcopy(p)
        self.sched.pods._apply("MODIFIED", p)

    def delete_pod(self, p: dict) -> None:
        self.sched.pods._apply("DELETED", p)

    def step(self):
        """Pop one pod and run its cycle (binding, and the events it records, finish before returning)."""
        key = self.queue.pop(timeout_s=0)
        if key is None:
            return None
        result = self.sched.schedule_one(key)
        self.sched._binder.submit(lambda: None).result()
        for recorder in self.sched.recorders.values():
            recorder.flush()
        return result

    def bind_confirmed(self, key: str, node_name: str) -> None:
        """What the informer shows after a successful bind."""
        _, name = key.split("/")
        p = copy.deepcopy(self.client.objects[("pods", "default", name)])
        p["spec"]["nodeName"] = node_name
        p["metadata"]["resourceVersion"] = str(int(p["metadata"]["resourceVersion"]) + 1)
        self.update_pod(p)


@pytest.fixture
def cluster():
    c = Cluster()
    c.add_node(node("n1"))
    c.add_node(node("n2"))
    yield c
    c.sched.stop()


# --- scheduling and what the user sees ----------------------------------------------------------------


def test_a_pending_pod_is_bound_with_a_scheduled_event(cluster):
    cluster.add_pod(pod("web"))
    result = cluster.step()
    assert cluster.client.bound == [("default/web", result.selected)]
    assert cluster.client.reasons("web") == [("Scheduled", f"Successfully assigned default/web to {result.selected}")]
    assert cluster.client.events[0]["source"]["component"] == "default-scheduler"
    assert cluster.sched.stats()["scheduled"] == 1


def test_assumed_pods_take_room_before_the_bind_is_confirmed(cluster):
    for name in ("a", "b", "c"):
        cluster.add_pod(pod(name, cpu="2"))
    placed = [cluster.step().selected for _ in range(3)]
    assert sorted(placed[:2]) == ["n1", "n2"] and placed[2] == ""
    assert cluster.client.reasons("c")[0] == ("FailedScheduling", "0/2 nodes are available: 2 Insufficient cpu. "
                                              "preemption: 0/2 nodes are available: 2 No preemption victims "
                                              "found for incoming pod.")


def test_no_fit_sets_the_condition_and_waits_for_a_relevant_event(cluster):
    cluster.add_pod(pod("huge", cpu="3"))
    cluster.step()
    stored = cluster.client.objects[("pods", "default", "huge")]
    cond = next(c for c in stored["status"]["conditions"] if c["type"] == "PodScheduled")
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    assert cond["message"].startswith("0/2 nodes are available: 2 Insufficient cpu.")
    assert cluster.queue.stats() == {"active": 0, "backoff": 0, "unschedulable": 1}
    cluster.clock.now += 60
    assert cluster.step() is None  # nothing changed: it keeps waiting
    cluster.add_node(node("n3", cpu="4"))  # Node/Add: NodeResourcesFit cares
    cluster.clock.now += 1
    assert cluster.step().selected == "n3"


def test_events_only_retry_pods_a_plugin_interested_in_them_rejected(cluster):
    cluster.add_pod(pod("picky", cpu="100m", nodeSelector={"disk": "ssd"}))
    cluster.step()
    assert cluster.queue.info("default/picky").unschedulable_plugins == {"NodeAffinity"}
    bound = pod("other", cpu="100m", node_name="n1")
    cluster.add_pod(bound)
    cluster.delete_pod(bound)  # AssignedPod/Delete: NodeAffinity does not care
    assert cluster.queue.stats()["unschedulable"] == 1
    labelled = node("n2", disk="ssd")
    labelled["metadata"]["resourceVersion"] = "2"
    cluster.update_node(labelled)  # Node/Update of its labels: it does
    assert cluster.queue.stats() == {"active": 0, "backoff": 1, "unschedulable": 0}
    cluster.clock.now += 1
    assert cluster.step().selected == "n2"


def test_an_event_during_the_cycle_sends_the_pod_to_backoff_not_to_wait(cluster):
    cluster.add_pod(pod("huge", cpu="3"))
    key = cluster.queue.pop(timeout_s=0)
    cluster.add_node(node("n3", cpu="4"))  # arrives while the cycle runs on the old snapshot
    cluster.sched.cache.remove_node("n3")  # (the cycle's snapshot did not have it)
    cluster.sched.schedule_one(key)
    assert cluster.queue.stats() == {"active": 0, "backoff": 1, "unschedulable": 0}


def test_unschedulable_pods_are_retried_after_five_minutes_without_any_event(cluster):
    cluster.add_pod(pod("huge", cpu="3"))
    cluster.step()
    cluster.clock.now += 299
    assert cluster.step() is None
    cluster.clock.now += 2
    assert cluster.step() is not None, "flushed after max_unschedulable_s (5 min)"


def test_a_finished_pod_frees_its_room(cluster):
    running = pod("batch", cpu="2", node_name="n1", rv="1")
    blocker = pod("blocker", cpu="2", node_name="n2")
    cluster.add_pod(running)
    cluster.add_pod(blocker)
    cluster.add_pod(pod("next", cpu="2"))
    assert cluster.step().selected == ""
    done = copy.deepcopy(running)
    done["status"]["phase"] = "Succeeded"
    done["metadata"]["resourceVersion"] = "2"
    cluster.update_pod(done)
    cluster.clock.now += 1
    assert cluster.step().selected == "n1"


# --- binding failures ------------------------------------------------------------------------------


def test_a_pod_deleted_before_its_bind_is_forgotten(cluster):
    cluster.client.bind_error = errors.NotFound('pods "web" not found')
    cluster.add_pod(pod("web", cpu="2"))
    cluster.step()
    assert cluster.queue.stats() == {"active": 0, "backoff": 0, "unschedulable": 0}
    assert cluster.sched.cache.stats()["assumed"] == 0


def test_a_failed_bind_gives_the_room_back_and_backs_off(cluster):
    cluster.client.bind_error = errors.Unavailable("storage is unavailable")
    cluster.add_pod(pod("web", cpu="2"))
    cluster.step()
    assert cluster.sched.cache.stats()["assumed"] == 0
    assert cluster.queue.stats()["backoff"] == 1
    assert cluster.client.reasons("web") == [("FailedScheduling", "Binding rejected: storage is unavailable")]
    cluster.client.bind_error = None
    cluster.clock.now += 1
    assert cluster.step().selected and cluster.client.bound


def test_a_conflicting_bind_means_someone_else_bound_it(cluster):
    cluster.client.bind_error = errors.Conflict("pod is already assigned")
    cluster.add_pod(pod("web"))
    cluster.step()
    assert cluster.queue.stats() == {"active": 0, "backoff": 0, "unschedulable": 0}
    assert cluster.client.reasons("web") == []


class RejectingReserve(Plugin):
    name = "RejectingReserve"
    unreserved: list = []

    def reserve(self, pod, node_name, state):
        return Status.error("volume quota exceeded")

    def unreserve(self, pod, node_name, state):
        RejectingReserve.unreserved.append(node_name)


def test_a_failing_reserve_plugin_unreserves_and_backs_off():
    register(RejectingReserve)
    try:
        c = Cluster([{"plugins": {"reserve": {"enabled": [{"name": "RejectingReserve"}]}}}])
        c.add_node(node("n1"))
        c.add_pod(pod("web"))
        c.step()
        assert RejectingReserve.unreserved == ["n1"] and c.client.bound == []
        assert c.client.reasons("web") == [("FailedScheduling",
                                            "running Reserve plugin RejectingReserve: volume quota exceeded")]
        assert c.queue.stats()["backoff"] == 1 and c.sched.cache.stats()["assumed"] == 0
        c.sched.stop()
    finally:
        REGISTRY.pop("RejectingReserve")


# --- priorities, nominations, preemption -------------------------------------------------------------


def test_higher_priority_pods_are_scheduled_first(cluster):
    cluster.add_pod(pod("low", priority=0))
    cluster.add_pod(pod("high", priority=1000))
    assert cluster.queue.pop(timeout_s=0) == "default/high"


def test_preemption_evicts_nominates_and_keeps_the_room_for_the_preemptor(cluster):
    for name, where in (("v1", "n1"), ("v2", "n2")):
        cluster.add_pod(pod(name, cpu="2", node_name=where))
    cluster.add_pod(pod("urgent", cpu="2", priority=100))
    result = cluster.step()
    assert result.selected == "" and result.nominated_node in ("n1", "n2")
    victim = "default/v1" if result.nominated_node == "n1" else "default/v2"
    assert cluster.client.deleted == [victim]
    stored = cluster.client.objects[("pods", "default", "urgent")]
    assert stored["status"]["nominatedNodeName"] == result.nominated_node
    message = dict(cluster.client.reasons("urgent"))["FailedScheduling"]
    assert message == "0/2 nodes are available: 2 Insufficient cpu.", "no preemption suffix when it helped"
    # The victim is gone; a lower-priority pod must not take the room kept for the preemptor.
    cluster.update_pod(stored)
    cluster.delete_pod(pod(victim.split("/")[1], cpu="2", node_name=result.nominated_node))
    cluster.add_pod(pod("sneaky", cpu="2"))
    cluster.clock.now += 0.5
    assert cluster.step().selected == "", "sneaky sees the nominated pod's room taken"
    cluster.clock.now += 1
    assert cluster.step().selected == result.nominated_node


# --- profiles and gates -------------------------------------------------------------------------------


def test_each_profile_schedules_its_own_pods():
    c = Cluster([{"schedulerName": "default-scheduler"},
                 {"schedulerName": "packer", "pluginConfig": [
                     {"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "MostAllocated"}}}]}])
    c.add_node(node("n1", cpu="4"))
    c.add_node(node("n2", cpu="4"))
    for i in range(3):
        c.add_pod(pod(f"p-{i}", cpu="1", scheduler="packer"))
    c.add_pod(pod("stranger", scheduler="someone-else"))
    placed = []
    while (result := c.step()) is not None:
        placed.append(result.selected)
        c.bind_confirmed(result.pod, result.selected)
    assert len(placed) == 3 and len(set(placed)) == 1, "MostAllocated packs"
    assert ("default/stranger", "n1") not in c.client.bound and len(c.client.bound) == 3
    assert {e["source"]["component"] for e in c.client.events} == {"packer"}
    assert c.sched.scheduler_names == ["default-scheduler", "packer"]
    c.sched.stop()


def test_a_gated_pod_waits_until_its_gates_are_removed(cluster):
    gated = pod("gated", schedulingGates=[{"name": "example.com/quota"}])
    cluster.add_pod(gated)
    assert cluster.queue.stats()["active"] == 0
    assert cluster.sched.explain("default/gated")["message"] == "waiting for scheduling gates: example.com/quota"
    open_ = copy.deepcopy(gated)
    open_["spec"].pop("schedulingGates")
    open_["metadata"]["resourceVersion"] = "2"
    cluster.update_pod(open_)
    assert cluster.step().selected


# --- explanations -----------------------------------------------------------------------------------


def test_explain_dry_runs_a_pending_pod_and_remembers_real_attempts(cluster):
    cluster.add_pod(pod("huge", cpu="3"))
    cluster.step()
    explanation = cluster.sched.explain("default/huge")
    assert explanation["dryRun"] is True
    assert explanation["message"].startswith("0/2 nodes are available: 2 Insufficient cpu.")
    assert [n["rejectedBy"] for n in explanation["nodes"]] == ["NodeResourcesFit", "NodeResourcesFit"]
    assert explanation["lastDecision"]["attempts"] == 1
    assert cluster.queue.stats()["unschedulable"] == 1, "a dry run changes nothing"
    assert cluster.client.bound == []


def test_explain_a_bound_pod_returns_the_recorded_decision(cluster):
    cluster.add_pod(pod("web"))
    result = cluster.step()
    cluster.bind_confirmed("default/web", result.selected)
    explanation = cluster.sched.explain("default/web")
    assert explanation["dryRun"] is False and explanation["selected"] == result.selected
    assert explanation["weights"]["TaintToleration"] == 3
    assert cluster.sched.explain("default/nobody") is None


def test_stats_describe_profiles_queue_and_cycle_time(cluster):
    cluster.add_pod(pod("web"))
    cluster.step()
    stats = cluster.sched.stats()
    assert stats["cycles"] == 1 and stats["meanCycleMs"] > 0
    assert stats["profiles"]["default-scheduler"]["queueSort"] == "PrioritySort"
