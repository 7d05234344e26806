"""scheduler.cache: what the scheduler believes each node already runs.

The user-visible stakes: two pods scheduled back to back must not both be put on a node that
has room for one (assume before bind), a failed bind must give the room back, an assumption
never confirmed must not hold room forever, and finished pods free their node. The TTL runs on
an injected fake clock.
"""

from __future__ import annotations

import pytest

from scheduler.cache import SchedulerCache
from scheduler.framework import NodeInfo
from scheduler.profile import default_framework


class FakeClock:
    def __init__(self, start: float = 100.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def node(name: str, cpu: str = "1", memory: str = "2Gi", labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels or {}}, "spec": {},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def pod(name: str, cpu: str = "600m", memory: str = "256Mi", node_name: str = "", phase: str = "Pending") -> dict:
    spec: dict = {"containers": [{"name": "main", "image": "nginx",
                                  "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}
    if node_name:
        spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": spec,
            "status": {"phase": phase}}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(clock) -> SchedulerCache:
    c = SchedulerCache(assume_ttl_s=30.0, clock=clock)
    c.set_node(node("n1"))
    c.set_node(node("n2"))
    return c


def requested(cache: SchedulerCache, name: str) -> tuple[int, int, int]:
    info = {n.name: n for n in cache.snapshot()}[name]
    return info.requested.milli_cpu, info.requested.memory, info.requested.pods


def schedule(cache: SchedulerCache, p: dict):
    return default_framework().run(f"default/{p['metadata']['name']}", p, cache.snapshot())


# --- assume, confirm, forget ------------------------------------------------------------------------


def test_an_assumed_pod_takes_room_at_once_so_the_next_pod_goes_elsewhere(cache):
    first = pod("first")
    result = schedule(cache, first)
    cache.assume("default/first", first, result.selected)
    assert cache.is_assumed("default/first")
    assert requested(cache, result.selected) == (600, 256 * 2**20, 1)
    second = schedule(cache, pod("second"))
    assert second.selected and second.selected != result.selected
    cache.assume("default/second", pod("second"), second.selected)
    third = schedule(cache, pod("third"))
    assert third.failure_message() == "0/2 nodes are available: 2 Insufficient cpu."


def test_the_informer_confirming_the_bind_turns_the_assumption_into_a_fact(cache, clock):
    cache.assume("default/web", pod("web"), "n1")
    cache.update_pod("default/web", pod("web", node_name="n1", phase="Running"))
    assert not cache.is_assumed("default/web")
    assert requested(cache, "n1") == (600, 256 * 2**20, 1)  # counted once, not twice
    clock.advance(3600)
    assert requested(cache, "n1") == (600, 256 * 2**20, 1)  # facts never expire
    cache.forget("default/web")  # a late forget must not drop a confirmed pod
    assert requested(cache, "n1") == (600, 256 * 2**20, 1)


def test_the_informer_seeing_the_pod_still_pending_keeps_the_assumption(cache):
    cache.assume("default/web", pod("web"), "n1")
    cache.update_pod("default/web", pod("web"))  # an update from before the bind landed
    assert cache.is_assumed("default/web")
    assert requested(cache, "n1")[0] == 600


def test_forget_after_a_failed_bind_frees_the_room(cache):
    cache.assume("default/a", pod("a", cpu="1"), "n1")
    cache.assume("default/b", pod("b", cpu="1"), "n2")
    assert schedule(cache, pod("c", cpu="500m")).selected == ""
    cache.forget("default/a")  # the bind of a failed
    assert not cache.is_assumed("default/a")
    assert requested(cache, "n1") == (0, 0, 0)
    assert schedule(cache, pod("c", cpu="500m")).selected == "n1"


def test_assumed_pods_expire_after_the_ttl_if_never_confirmed(cache, clock):
    cache.assume("default/ghost", pod("ghost"), "n1")
    clock.advance(600)  # the bind is still in flight: the room stays taken, however slow the apiserver
    assert requested(cache, "n1")[0] == 600
    cache.finish_binding("default/ghost")  # the bind returned; the TTL starts now
    clock.advance(29.9)
    assert requested(cache, "n1")[0] == 600
    clock.advance(0.1)
    assert requested(cache, "n1") == (0, 0, 0)
    assert not cache.is_assumed("default/ghost")
    assert cache.stats() == {"nodes": 2, "pods": 0, "assumed": 0}


# --- pods from the informer ----------------------------------------------------------------------------


def test_bound_pods_count_against_their_node_and_deleting_them_frees_it(cache):
    cache.update_pod("default/a", pod("a", node_name="n1", phase="Running"))
    cache.update_pod("default/b", pod("b", cpu="100m", memory="1Gi", node_name="n1", phase="Running"))
    assert requested(cache, "n1") == (700, 256 * 2**20 + 2**30, 2)
    cache.remove_pod("default/a")
    assert requested(cache, "n1") == (100, 2**30, 1)


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_terminal_pods_do_not_count(cache, phase):
    cache.update_pod("default/job", pod("job", cpu="1", node_name="n1", phase="Running"))
    assert requested(cache, "n1")[0] == 1000
    cache.update_pod("default/job", pod("job", cpu="1", node_name="n1", phase=phase))  # it finished
    assert requested(cache, "n1") == (0, 0, 0)
    cache.update_pod("default/done", pod("done", cpu="1", node_name="n2", phase=phase))  # seen already finished
    assert requested(cache, "n2") == (0, 0, 0)
    assert schedule(cache, pod("next", cpu="1")).feasible == ["n1", "n2"]


def test_pods_seen_before_their_node_count_once_the_node_arrives(cache):
    cache.update_pod("default/early", pod("early", node_name="n3", phase="Running"))
    assert [n.name for n in cache.snapshot()] == ["n1", "n2"]  # no half-known node to schedule on
    cache.set_node(node("n3"))
    assert requested(cache, "n3")[0] == 600


def test_a_node_update_keeps_its_pods(cache):
    cache.update_pod("default/a", pod("a", node_name="n1", phase="Running"))
    cache.set_node(node("n1", labels={"disk": "ssd"}))
    info = {n.name: n for n in cache.snapshot()}["n1"]
    assert info.node["metadata"]["labels"] == {"disk": "ssd"}
    assert info.requested.milli_cpu == 600


def test_a_snapshot_is_a_copy_the_cycle_may_change_freely(cache):
    snap = {n.name: n for n in cache.snapshot()}["n1"]
    snap.add_pod("default/scratch", pod("scratch"))
    assert requested(cache, "n1") == (0, 0, 0)


def test_pods_still_bound_to_a_re_registered_node_keep_counting(cache):
    cache.update_pod("default/db", pod("db", cpu="1", node_name="n1", phase="Running"))
    cache.remove_node("n1")  # `kubectl delete node n1`; the kubelet re-registers it
    cache.set_node(node("n1"))
    assert requested(cache, "n1")[0] == 1000
    assert schedule(cache, pod("next", cpu="600m")).selected == "n2"


def test_removed_nodes_disappear_from_the_snapshot(cache):
    cache.remove_node("n2")
    assert [n.name for n in cache.snapshot()] == ["n1"]
    assert isinstance(cache.snapshot()[0], NodeInfo)
