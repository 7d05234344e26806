"""The garbage collector, pod GC and node IPAM against an in-memory API."""

from __future__ import annotations

import pytest

from controller_manager.common import owner_ref
from controller_manager.garbagecollector import GarbageCollector, collectable_resources, resource_for
from controller_manager.nodeipam import NodeIPAMController
from controller_manager.podgc import PodGCController
from tests.unit.test_controller_common import FakeAPI, drain


def gc_env() -> tuple[FakeAPI, GarbageCollector]:
    api = FakeAPI()
    gc = GarbageCollector(api, {r: api.lister(r) for r in collectable_resources()})
    return api, gc


def family(api: FakeAPI) -> tuple[dict, dict, list[dict]]:
    """A Deployment owning a ReplicaSet owning two pods (one on a node: graceful deletion)."""
    d = api.create("deployments", {"metadata": {"name": "d", "namespace": "ns"}, "spec": {}})
    rs = api.create("replicasets", {"metadata": {"name": "rs", "namespace": "ns",
                                                 "ownerReferences": [owner_ref(d)]}, "spec": {}})
    pods = [api.create("pods", {"metadata": {"name": f"p{i}", "namespace": "ns", "ownerReferences": [owner_ref(rs)]},
                                "spec": {"nodeName": "n1"} if i == 0 else {}}) for i in range(2)]
    return d, rs, pods


def names(api: FakeAPI, resource: str) -> list[str]:
    return [o["metadata"]["name"] for o in api.of(resource, "ns")]


def settle(api: FakeAPI, gc: GarbageCollector, *, kubelet: bool = True) -> None:
    for _ in range(30):
        drain(gc)
        gone = False
        if kubelet:
            for pod in api.of("pods", "ns"):
                if pod["metadata"].get("deletionTimestamp") and not pod["metadata"].get("finalizers"):
                    api.remove("pods", pod["metadata"]["name"], "ns")
                    gone = True
        if not gone and len(gc.queue) == 0:
            return


def test_background_deletion_collects_dependents_down_the_chain():
    api, gc = gc_env()
    family(api)
    drain(gc)
    assert names(api, "pods") == ["p0", "p1"], "owners present: nothing collected"
    api.delete("deployments", "d", "ns", propagation_policy="Background")
    settle(api, gc)
    assert names(api, "replicasets") == [] and names(api, "pods") == []


def test_foreground_deletion_keeps_the_owner_until_blocking_dependents_are_gone():
    api, gc = gc_env()
    family(api)
    api.delete("deployments", "d", "ns", propagation_policy="Foreground")
    settle(api, gc, kubelet=False)
    d = api.get("deployments", "d", "ns")
    assert d["metadata"]["finalizers"] == ["foregroundDeletion"] and d["metadata"]["deletionTimestamp"]
    rs = api.get("replicasets", "rs", "ns")
    assert rs["metadata"]["finalizers"] == ["foregroundDeletion"], "the ReplicaSet is deleted in the foreground too"
    assert names(api, "pods") == ["p0"] and api.get("pods", "p0", "ns")["metadata"]["deletionTimestamp"]
    settle(api, gc)  # the kubelet confirms p0
    assert names(api, "pods") == [] and names(api, "replicasets") == [] and names(api, "deployments") == []


def test_orphan_deletion_removes_owner_references_and_keeps_dependents():
    api, gc = gc_env()
    _, rs, _ = family(api)
    api.delete("replicasets", "rs", "ns", propagation_policy="Orphan")
    settle(api, gc)
    assert names(api, "replicasets") == []
    assert names(api, "pods") == ["p0", "p1"]
    assert all(not p["metadata"].get("ownerReferences") for p in api.of("pods", "ns"))
    assert api.get("deployments", "d", "ns"), "the owner's owner is untouched"


def test_a_dependent_whose_owner_is_unknown_to_the_cache_is_checked_live():
    api, gc = gc_env()
    d = api.create("deployments", {"metadata": {"name": "d", "namespace": "ns"}, "spec": {}})
    gc.listers["deployments"].informer.store.clear()  # the cache lags behind
    api.create("replicasets", {"metadata": {"name": "rs", "namespace": "ns", "ownerReferences": [owner_ref(d)]},
                               "spec": {}})
    drain(gc)
    assert names(api, "replicasets") == ["rs"], "the owner exists: kept"
    ghost = dict(owner_ref(d), uid="no-such-uid", name="ghost")
    api.create("replicasets", {"metadata": {"name": "orphaned", "namespace": "ns", "ownerReferences": [ghost]},
                               "spec": {}})
    drain(gc)
    assert names(api, "replicasets") == ["rs"], "a dangling reference: collected"


def test_dangling_references_are_dropped_when_another_owner_remains():
    api, gc = gc_env()
    a = api.create("configmaps", {"metadata": {"name": "a", "namespace": "ns"}})
    b = api.create("configmaps", {"metadata": {"name": "b", "namespace": "ns"}})
    api.create("secrets", {"metadata": {"name": "s", "namespace": "ns",
                                        "ownerReferences": [owner_ref(a, controller=False),
                                                            owner_ref(b, controller=False)]}})
    api.delete("configmaps", "a", "ns")
    settle(api, gc)
    refs = api.get("secrets", "s", "ns")["metadata"]["ownerReferences"]
    assert [r["name"] for r in refs] == ["b"]


def test_cluster_scoped_owner_of_namespaced_dependent():
    api, gc = gc_env()
    node = api.create("nodes", {"metadata": {"name": "n1"}, "spec": {}})
    api.create("leases", {"metadata": {"name": "n1", "namespace": "kube-node-lease",
                                       "ownerReferences": [owner_ref(node, controller=False)]}, "spec": {}})
    api.delete("nodes", "n1")
    drain(gc)
    assert api.of("leases") == []


def test_unknown_owner_kinds_never_cause_deletion():
    api, gc = gc_env()
    api.create("configmaps", {"metadata": {"name": "c", "namespace": "ns", "ownerReferences": [
        {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "u"}]}})
    drain(gc)
    assert names(api, "configmaps") == ["c"]
    assert resource_for("apps/v1", "ReplicaSet").name == "replicasets"
    assert resource_for("v1", "Pod").name == "pods"


# --------------------------------------------------------------------------- pod GC


def test_pod_gc_deletes_terminated_pods_beyond_the_threshold_oldest_first():
    api = FakeAPI()
    for i in range(5):
        pod = api.create("pods", {"metadata": {"name": f"p{i}", "namespace": "ns"}, "spec": {}})
        api.set_pod(pod, "ns", phase="Succeeded" if i < 4 else "Running")
    podgc = PodGCController(api, api.lister("pods"), api.lister("nodes"), terminated_pod_threshold=2)
    podgc.reconcile("podgc")
    assert names(api, "pods") == ["p2", "p3", "p4"]


def test_pod_gc_deletes_pods_bound_to_nodes_that_do_not_exist():
    api = FakeAPI()
    api.create("nodes", {"metadata": {"name": "n1"}, "spec": {}})
    for name, node in (("kept", "n1"), ("lost", "gone"), ("unscheduled", "")):
        api.create("pods", {"metadata": {"name": name, "namespace": "ns"},
                            "spec": {"nodeName": node} if node else {}})
    podgc = PodGCController(api, api.lister("pods"), api.lister("nodes"))
    assert podgc.reconcile("podgc") == 20.0, "and again every 20 s"
    assert names(api, "pods") == ["kept", "unscheduled"]
    assert ("delete", "pods", "ns/lost") in api.actions


# --------------------------------------------------------------------------- node IPAM


def test_node_ipam_hands_out_distinct_blocks_and_keeps_existing_ones():
    api = FakeAPI()
    api.create("nodes", {"metadata": {"name": "own"}, "spec": {"podCIDR": "10.244.0.0/24",
                                                               "podCIDRs": ["10.244.0.0/24"]}})
    ipam = NodeIPAMController(api, api.lister("nodes"), cluster_cidr="10.244.0.0/22", node_mask_size=24)
    for name in ("a", "b", "c"):
        api.create("nodes", {"metadata": {"name": name}, "spec": {}})
    drain(ipam)
    cidrs = {n["metadata"]["name"]: n["spec"].get("podCIDR") for n in api.of("nodes")}
    assert cidrs == {"own": "10.244.0.0/24", "a": "10.244.1.0/24", "b": "10.244.2.0/24", "c": "10.244.3.0/24"}
    assert api.get("nodes", "a")["spec"]["podCIDRs"] == ["10.244.1.0/24"]
    api.create("nodes", {"metadata": {"name": "d"}, "spec": {}})
    assert ipam.reconcile("d") == 30.0, "range exhausted: tried again later"
    assert not api.get("nodes", "d")["spec"].get("podCIDR")
    api.delete("nodes", "b")
    drain(ipam)
    ipam.reconcile("d")
    assert api.get("nodes", "d")["spec"]["podCIDR"] == "10.244.2.0/24", "a deleted node's block is reused"


def test_node_ipam_rejects_a_mask_that_does_not_fit():
    api = FakeAPI()
    with pytest.raises(ValueError):
        NodeIPAMController(api, api.lister("nodes"), cluster_cidr="10.244.0.0/24", node_mask_size=16)
