"""The scheduling loop's snapshot, updated incrementally from the cache by node generation.

What a user would suffer if it went wrong: a pod placed on a node that the scheduler believes
has room because the snapshot missed a pod added or a node shrunk (overcommit), a pod never
placed on a node that got room or appeared, or a pod placed on a node already deleted. Each
test changes the cache one way and checks the next update shows exactly that, copying only
what changed; a randomized sequence checks that after any mix of changes the incremental
snapshot equals a snapshot built from scratch.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from scheduler import cache as cache_module
from scheduler.cache import SchedulerCache
from scheduler.snapshot import Snapshot


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def node(name: str, cpu: str = "4", labels: dict | None = None, ready: bool = True) -> dict:
    return {"metadata": {"name": name, "labels": labels or {"kubernetes.io/hostname": name}}, "spec": {},
            "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def pod(name: str, node_name: str = "", cpu: str = "100m", *, anti_affinity: bool = False, port: int = 0,
        phase: str = "Running", app: str = "", owner: str = "", deleting: bool = False) -> dict:
    container: dict = {"name": "c", "image": "nginx", "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}
    if port:
        container["ports"] = [{"containerPort": port, "hostPort": port}]
    spec: dict = {"containers": [container]}
    if node_name:
        spec["nodeName"] = node_name
    if anti_affinity:
        spec["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "web"}}}]}}
    metadata: dict = {"name": name, "namespace": "default", "labels": {"app": app or name}}
    if owner:
        metadata["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "uid": owner, "controller": True}]
    if deleting:
        metadata["deletionTimestamp"] = "2030-01-01T00:00:00Z"
    return {"metadata": metadata, "spec": spec, "status": {"phase": phase}}


def view(nodes) -> dict:
    """Everything a cycle reads from a node, comparable."""
    return {n.name: {"pods": sorted(n.pods), "requested": (n.requested.milli_cpu, n.requested.memory, n.requested.pods),
                     "nonZero": (n.non_zero_requested.milli_cpu, n.non_zero_requested.memory),
                     "allocatable": (n.allocatable.milli_cpu, n.allocatable.memory, n.allocatable.pods),
                     "labels": dict(n.labels), "ready": n.ready, "affinityPods": sorted(n.pods_with_affinity),
                     "antiAffinityPods": sorted(n.pods_with_required_anti_affinity),
                     "ports": dict(n.used_ports), "podObjects": [n.pods[k] for k in sorted(n.pods)],
                     "groups": (dict(n.label_counts), dict(n.live_label_counts), dict(n.owner_counts),
                                dict(n.affinity_counts)), "examples": examples(n)}
            for n in nodes}


def recount(n) -> tuple:
    """The node's group counts computed from scratch from its pods."""
    infos = list(n.pod_infos.values())
    return (dict(Counter(p.label_key for p in infos)),
            dict(Counter(p.label_key for p in infos if not p.terminating)),
            dict(Counter((p.namespace, p.controller_uid) for p in infos if not p.terminating and p.controller_uid)),
            dict(Counter(p.affinity_key for p in infos if p.has_affinity)))


def examples(n) -> dict:
    """Each affinity group's example is one of the node's pods of that group."""
    assert recount(n) == (n.label_counts, n.live_label_counts, n.owner_counts, n.affinity_counts)
    out = {}
    for key, example in n.affinity_examples.items():
        assert n.pod_infos.get(next(k for k, p in n.pod_infos.items() if p is example)) is example
        assert example.affinity_key == key
        out[key] = n.affinity_counts[key]
    assert set(out) == set(n.affinity_counts)
    return out


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(clock) -> SchedulerCache:
    c = SchedulerCache(assume_ttl_s=30.0, clock=clock)
    for name in ("n1", "n2", "n3"):
        c.set_node(node(name))
    return c


@pytest.fixture
def snap(cache) -> Snapshot:
    s = Snapshot()
    assert cache.update_snapshot(s) == 3  # the first update copies every node
    return s


def cpu(snap: Snapshot, name: str) -> int:
    return snap.get(name).requested.milli_cpu


def test_the_first_update_copies_every_node_sorted_by_name(cache, snap):
    assert [n.name for n in snap.node_list] == ["n1", "n2", "n3"]
    assert view(snap.node_list) == view(cache.snapshot())


def test_nothing_changed_means_nothing_copied_and_the_same_objects(cache, snap):
    before = list(snap.node_list)
    assert cache.update_snapshot(snap) == 0
    assert snap.node_list == before and all(a is b for a, b in zip(snap.node_list, before, strict=True))


def test_a_pod_added_shows_on_its_node_and_only_that_node_is_copied(cache, snap):
    untouched = snap.get("n2")
    cache.update_pod("default/a", pod("a", "n1", cpu="500m"))
    assert cache.update_snapshot(snap) == 1
    assert cpu(snap, "n1") == 500 and list(snap.get("n1").pods) == ["default/a"]
    assert snap.get("n2") is untouched and cpu(snap, "n2") == 0


def test_a_pod_removed_frees_its_room(cache, snap):
    cache.update_pod("default/a", pod("a", "n1", cpu="500m"))
    cache.update_snapshot(snap)
    cache.remove_pod("default/a")
    assert cache.update_snapshot(snap) == 1
    assert cpu(snap, "n1") == 0 and not snap.get("n1").pods


def test_a_pod_updated_in_place_and_moved_shows_on_both_nodes(cache, snap):
    cache.update_pod("default/a", pod("a", "n1", cpu="500m"))
    cache.update_snapshot(snap)
    cache.update_pod("default/a", pod("a", "n1", cpu="700m", anti_affinity=True))  # a new version of it
    cache.update_snapshot(snap)
    assert cpu(snap, "n1") == 700 and list(snap.get("n1").pods_with_required_anti_affinity) == ["default/a"]
    cache.update_pod("default/a", pod("a", "n2", cpu="700m"))  # seen on another node
    assert cache.update_snapshot(snap) == 2
    assert cpu(snap, "n1") == 0 and not snap.get("n1").pods_with_affinity
    assert cpu(snap, "n2") == 700


def test_a_pod_that_finished_no_longer_counts(cache, snap):
    cache.update_pod("default/job", pod("job", "n3", cpu="1", port=8080))
    cache.update_snapshot(snap)
    assert snap.get("n3").used_ports
    cache.update_pod("default/job", pod("job", "n3", cpu="1", port=8080, phase="Succeeded"))
    cache.update_snapshot(snap)
    assert cpu(snap, "n3") == 0 and not snap.get("n3").used_ports


def test_a_node_added_appears_in_name_order(cache, snap):
    cache.set_node(node("n0"))
    assert cache.update_snapshot(snap) == 1
    assert [n.name for n in snap.node_list] == ["n0", "n1", "n2", "n3"]


def test_a_node_changed_shows_its_new_labels_allocatable_and_readiness(cache, snap):
    cache.update_pod("default/a", pod("a", "n2", cpu="500m"))
    cache.set_node(node("n2", cpu="16", labels={"disk": "ssd"}, ready=False))
    cache.update_snapshot(snap)
    n2 = snap.get("n2")
    assert (n2.allocatable.milli_cpu, n2.labels, n2.ready) == (16000, {"disk": "ssd"}, False)
    assert cpu(snap, "n2") == 500  # its pods stay


def test_a_node_removed_disappears_even_while_pods_are_bound_to_it(cache, snap):
    cache.update_pod("default/a", pod("a", "n1"))
    cache.remove_node("n3")
    cache.remove_node("n1")  # its pod keeps it as a placeholder in the cache, never in a snapshot
    cache.update_snapshot(snap)
    assert [n.name for n in snap.node_list] == ["n2"]
    cache.set_node(node("n1"))  # the kubelet registers it again: its pod still counts
    cache.update_snapshot(snap)
    assert [n.name for n in snap.node_list] == ["n1", "n2"] and cpu(snap, "n1") == 100


def test_an_assumed_pod_shows_at_once_and_its_expiry_too(cache, snap, clock):
    cache.assume("default/a", pod("a", cpu="1"), "n2")
    cache.update_snapshot(snap)
    assert cpu(snap, "n2") == 1000
    cache.finish_binding("default/a")
    clock.now += 30
    cache.update_snapshot(snap)  # the assumption expired: the update both forgets it and shows that
    assert cpu(snap, "n2") == 0


def test_changing_the_snapshot_does_not_change_the_cache(cache, snap):
    snap.get("n1").add_pod("default/scratch", pod("scratch", cpu="2"))
    assert {n.name: n.requested.milli_cpu for n in cache.snapshot()} == {"n1": 0, "n2": 0, "n3": 0}


def test_a_snapshot_older_than_the_forgotten_tombstones_is_rebuilt(cache, snap, monkeypatch):
    monkeypatch.setattr(cache_module, "MAX_TOMBSTONES", 3)
    unchanged = snap.get("n3")
    cache.update_pod("default/a", pod("a", "n2"))
    for i in range(6):  # nodes that come and go: their tombstones overflow and are dropped
        cache.set_node(node(f"tmp-{i}"))
        cache.remove_node(f"tmp-{i}")
    cache.remove_node("n1")
    cache.update_snapshot(snap)
    assert snap.get("n3") is not unchanged  # rebuilt from scratch, since what went away is no longer known
    assert view(snap.node_list) == view(cache.snapshot())


def test_two_snapshots_updated_at_different_times_both_end_up_current(cache, snap):
    late = Snapshot()
    cache.update_snapshot(late)
    cache.update_pod("default/a", pod("a", "n1"))
    cache.update_snapshot(snap)
    cache.set_node(node("n4"))
    cache.remove_node("n2")
    cache.update_snapshot(snap)
    cache.update_snapshot(late)
    assert view(snap.node_list) == view(late.node_list) == view(cache.snapshot())


@pytest.mark.parametrize("seed", range(8))
def test_after_any_sequence_of_changes_the_snapshot_equals_a_fresh_one(seed, monkeypatch):
    """Nothing stale: random pod and node changes, updates at random moments, compared with a
    snapshot built from scratch after every update."""
    monkeypatch.setattr(cache_module, "MAX_TOMBSTONES", 5)
    rng = random.Random(seed)
    clock = FakeClock()
    cache = SchedulerCache(assume_ttl_s=30.0, clock=clock)
    snap = Snapshot()
    nodes = [f"n{i}" for i in range(8)]
    pods = [f"p{i}" for i in range(30)]
    for _ in range(600):
        action = rng.random()
        name, p = rng.choice(nodes), rng.choice(pods)
        key = f"default/{p}"
        if action < 0.15:
            cache.set_node(node(name, cpu=rng.choice(["2", "4", "8"]), labels={"zone": rng.choice("ab")},
                                ready=rng.random() < 0.9))
        elif action < 0.22:
            cache.remove_node(name)
        elif action < 0.55:
            cache.update_pod(key, pod(p, name, cpu=rng.choice(["100m", "250m", "1"]),
                                      anti_affinity=rng.random() < 0.3, port=rng.choice([0, 0, 80]),
                                      phase=rng.choice(["Running", "Running", "Pending", "Succeeded"]),
                                      app=rng.choice(["web", "db", ""]), owner=rng.choice(["", "rs-1", "rs-2"]),
                                      deleting=rng.random() < 0.1))
        elif action < 0.65:
            cache.remove_pod(key)
        elif action < 0.78:
            cache.assume(key, pod(p, cpu="200m"), name)
        elif action < 0.84:
            cache.finish_binding(key)
        elif action < 0.88:
            cache.forget(key)
        elif action < 0.92:
            clock.now += rng.choice([1, 10, 31])
        else:
            cache.update_snapshot(snap)
            assert view(snap.node_list) == view(cache.snapshot())
    cache.update_snapshot(snap)
    assert view(snap.node_list) == view(cache.snapshot())
