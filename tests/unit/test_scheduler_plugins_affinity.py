"""InterPodAffinity through the default profile: pods placed near or away from other pods,
per topology domain, with kube-scheduler's reasons and scores."""

from __future__ import annotations

from collections import Counter

import pytest

from scheduler.framework import NodeInfo
from scheduler.plugins.inter_pod_affinity import InterPodAffinity
from scheduler.profile import build_framework, default_framework

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def node(name: str, zone: str = "", cpu: str = "8", **labels) -> NodeInfo:
    lbl = {HOST: name, **labels}
    if zone:
        lbl[ZONE] = zone
    return NodeInfo({"metadata": {"name": name, "labels": lbl}, "spec": {},
                     "status": {"allocatable": {"cpu": cpu, "memory": "16Gi", "pods": "110"},
                                "conditions": [{"type": "Ready", "status": "True"}]}})


def pod(name: str, labels: dict | None = None, ns: str = "default", affinity: dict | None = None) -> dict:
    spec: dict = {"containers": [{"name": "c", "image": "nginx"}]}
    if affinity:
        spec["affinity"] = affinity
    return {"metadata": {"name": name, "namespace": ns, "labels": labels or {}}, "spec": spec}


def term(labels: dict, key: str = HOST, **extra) -> dict:
    return {"labelSelector": {"matchLabels": labels}, "topologyKey": key, **extra}


def required(kind: str, *terms: dict) -> dict:
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def preferred(kind: str, *weighted: tuple[int, dict]) -> dict:
    return {kind: {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": w, "podAffinityTerm": t} for w, t in weighted]}}


def place(info: NodeInfo, p: dict) -> dict:
    info.add_pod(f"{p['metadata']['namespace']}/{p['metadata']['name']}", p)
    return p


def run(p: dict, nodes: list[NodeInfo], framework=None):
    return (framework or default_framework()).run(f"{p['metadata']['namespace']}/{p['metadata']['name']}", p, nodes)


# --- required anti-affinity -------------------------------------------------------------------------


def test_anti_affinity_keeps_replicas_on_different_nodes_until_none_is_left():
    nodes = [node("n1"), node("n2"), node("n3")]
    by_name = {n.name: n for n in nodes}
    anti = required("podAntiAffinity", term({"app": "db"}))
    for i in range(3):
        p = pod(f"db-{i}", {"app": "db"}, affinity=anti)
        result = run(p, nodes)
        place(by_name[result.selected], p)
    assert all(len(n.pods) == 1 for n in nodes)
    result = run(pod("db-3", {"app": "db"}, affinity=anti), nodes)
    assert result.selected == ""
    # The running replicas carry the same term; kube-scheduler checks existing pods' terms first.
    assert result.failure_message().startswith(
        "0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules.")
    assert {v.status.plugin for v in result.verdicts.values()} == {"InterPodAffinity"}


def test_anti_affinity_of_the_incoming_pod_alone():
    n1, n2 = node("n1"), node("n2")
    place(n1, pod("web", {"app": "web"}))
    result = run(pod("lonely", affinity=required("podAntiAffinity", term({"app": "web"}))), [n1, n2])
    assert result.selected == "n2"
    assert result.verdicts["n1"].status.reasons == ("node(s) didn't match pod anti-affinity rules",)
    assert result.verdicts["n1"].status.code == "Unschedulable"


def test_an_existing_pods_anti_affinity_repels_the_incoming_pod_symmetrically():
    n1, n2 = node("n1"), node("n2")
    place(n1, pod("loner", {"app": "loner"}, affinity=required("podAntiAffinity", term({"app": "web"}))))
    result = run(pod("web", {"app": "web"}), [n1, n2])
    assert result.selected == "n2"
    assert result.verdicts["n1"].status.reasons == ("node(s) didn't satisfy existing pods anti-affinity rules",)


def test_anti_affinity_over_zones_blocks_the_whole_zone():
    a1, a2, b1 = node("a1", "zone-a"), node("a2", "zone-a"), node("b1", "zone-b")
    place(a1, pod("db-0", {"app": "db"}))
    result = run(pod("db-1", {"app": "db"}, affinity=required("podAntiAffinity", term({"app": "db"}, ZONE))),
                 [a1, a2, b1])
    assert result.feasible == ["b1"]


# --- required affinity ------------------------------------------------------------------------------


def test_affinity_follows_a_matching_pod_into_its_zone():
    a1, a2, b1 = node("a1", "zone-a"), node("a2", "zone-a"), node("b1", "zone-b")
    place(a2, pod("cache", {"app": "cache"}))
    result = run(pod("web", affinity=required("podAffinity", term({"app": "cache"}, ZONE))), [a1, a2, b1])
    assert set(result.feasible) == {"a1", "a2"}
    assert result.verdicts["b1"].status.reasons == ("node(s) didn't match pod affinity rules",)
    assert result.verdicts["b1"].status.code == "UnschedulableAndUnresolvable"


def test_affinity_needs_the_topology_label_on_the_node():
    labelled, bare = node("labelled", "zone-a"), node("bare")
    place(labelled, pod("cache", {"app": "cache"}))
    result = run(pod("web", affinity=required("podAffinity", term({"app": "cache"}, ZONE))), [labelled, bare])
    assert result.feasible == ["labelled"]


def test_the_first_pod_of_a_self_affine_group_may_go_anywhere():
    nodes = [node("n1", "zone-a"), node("n2", "zone-b")]
    affinity = required("podAffinity", term({"app": "group"}, ZONE))
    result = run(pod("g-0", {"app": "group"}, affinity=affinity), nodes)
    assert set(result.feasible) == {"n1", "n2"}
    place(nodes[1], pod("g-0", {"app": "group"}, affinity=affinity))
    assert run(pod("g-1", {"app": "group"}, affinity=affinity), nodes).feasible == ["n2"]
    # A pod that does not match its own terms has no such exemption.
    assert run(pod("other", {"app": "x"}, affinity=required("podAffinity", term({"app": "nobody"}))),
               nodes).feasible == []


def test_affinity_terms_are_anded_for_one_pod_matching_them_all():
    n1, n2 = node("n1"), node("n2")
    place(n1, pod("a", {"app": "a"}))
    place(n2, pod("b", {"app": "a", "tier": "b"}))
    affinity = required("podAffinity", term({"app": "a"}), term({"tier": "b"}))
    assert run(pod("web", affinity=affinity), [n1, n2]).feasible == ["n2"]


def test_terms_look_in_the_pods_namespace_unless_told_otherwise():
    n1, n2 = node("n1"), node("n2")
    place(n1, pod("cache", {"app": "cache"}, ns="shared"))
    same_ns = required("podAffinity", term({"app": "cache"}))
    assert run(pod("web", affinity=same_ns), [n1, n2]).feasible == []
    listed = required("podAffinity", term({"app": "cache"}, namespaces=["shared"]))
    assert run(pod("web", affinity=listed), [n1, n2]).feasible == ["n1"]


def test_namespace_selector_uses_the_namespaces_labels():
    labels = {"shared": {"team": "infra"}, "default": {}}
    plugin = InterPodAffinity(namespace_labels=labels.get)
    n1, n2 = node("n1"), node("n2")
    place(n2, pod("cache", {"app": "cache"}, ns="shared"))
    fw = default_framework()
    fw.filters = [plugin if p.name == plugin.name else p for p in fw.filters]
    fw.pre_filters = [plugin if p.name == plugin.name else p for p in fw.pre_filters]
    by_selector = required("podAffinity", term({"app": "cache"}, namespaceSelector={"matchLabels": {"team": "infra"}}))
    assert run(pod("web", affinity=by_selector), [n1, n2], fw).feasible == ["n2"]
    everywhere = required("podAffinity", term({"app": "cache"}, namespaceSelector={}))
    assert run(pod("web", affinity=everywhere), [n1, n2], fw).feasible == ["n2"]


def test_match_label_keys_narrow_the_selector_to_the_pods_own_values():
    n1, n2 = node("n1"), node("n2")
    place(n1, pod("v1", {"app": "web", "rev": "1"}))
    place(n2, pod("v2", {"app": "web", "rev": "2"}))
    anti = required("podAntiAffinity", term({"app": "web"}, matchLabelKeys=["rev"]))
    assert run(pod("new", {"app": "web", "rev": "2"}, affinity=anti), [n1, n2]).feasible == ["n1"]


def test_a_missing_label_selector_matches_no_pod():
    n1 = node("n1")
    place(n1, pod("web", {"app": "web"}))
    anti = required("podAntiAffinity", {"topologyKey": HOST})
    assert run(pod("x", affinity=anti), [n1]).feasible == ["n1"]


# --- preferred terms: scores ----------------------------------------------------------------------


def test_preferred_affinity_picks_the_node_next_to_the_peer_despite_more_load():
    busy, idle = node("busy", cpu="4"), node("idle", cpu="4")
    place(busy, pod("cache", {"app": "cache"}))
    place(busy, {**pod("load"), "spec": {"containers": [{"name": "c", "image": "x",
                                                         "resources": {"requests": {"cpu": "2"}}}]}})
    result = run(pod("web", affinity=preferred("podAffinity", (10, term({"app": "cache"})))), [busy, idle])
    assert result.verdicts["busy"].scores["InterPodAffinity"] == 100
    assert result.verdicts["idle"].scores["InterPodAffinity"] == 0
    assert result.selected == "busy"


def test_preferred_anti_affinity_scores_away_from_matching_pods():
    nodes = [node("n1"), node("n2"), node("n3")]
    place(nodes[0], pod("a", {"app": "web"}))
    place(nodes[0], pod("b", {"app": "web"}))
    place(nodes[1], pod("c", {"app": "web"}))
    result = run(pod("w", affinity=preferred("podAntiAffinity", (5, term({"app": "web"})))), nodes)
    scores = {n: v.scores["InterPodAffinity"] for n, v in result.verdicts.items()}
    assert scores == {"n1": 0, "n2": 50, "n3": 100}
    assert result.selected == "n3"


def test_existing_pods_required_affinity_attracts_matching_pods_by_hard_weight():
    n1, n2 = node("n1"), node("n2")
    place(n1, pod("fan", {"app": "fan"}, affinity=required("podAffinity", term({"app": "star"}))))
    p = pod("star", {"app": "star"})
    assert InterPodAffinity(hard_pod_affinity_weight=0).pre_score(p, [n1, n2], [n1, n2], _state()).skipped
    result = run(p, [n1, n2])
    assert result.verdicts["n1"].scores["InterPodAffinity"] == 100


def test_no_affinity_anywhere_skips_the_plugin():
    nodes = [node("n1"), node("n2")]
    place(nodes[0], pod("plain"))
    result = run(pod("web"), nodes)
    assert "InterPodAffinity" not in result.verdicts["n1"].scores


def _state():
    from scheduler.framework import CycleState

    return CycleState()


@pytest.mark.parametrize("weight", [-1, 101])
def test_hard_pod_affinity_weight_is_range_checked(weight):
    with pytest.raises(ValueError, match="hardPodAffinityWeight"):
        InterPodAffinity(hard_pod_affinity_weight=weight)


def test_interpod_args_come_from_the_profile():
    fw = build_framework({"pluginConfig": [{"name": "InterPodAffinity", "args": {"hardPodAffinityWeight": 0}}]})
    plugin = next(p for p, _ in fw.scorers if p.name == "InterPodAffinity")
    assert plugin.hard_weight == 0


def test_a_group_with_zone_anti_affinity_fills_each_zone_once():
    nodes = [node("a1", "a"), node("a2", "a"), node("b1", "b"), node("c1", "c")]
    by_name = {n.name: n for n in nodes}
    anti = required("podAntiAffinity", term({"app": "quorum"}, ZONE))
    zones = Counter()
    for i in range(4):
        p = pod(f"q-{i}", {"app": "quorum"}, affinity=anti)
        result = run(p, nodes)
        if not result.selected:
            break
        place(by_name[result.selected], p)
        zones[by_name[result.selected].labels[ZONE]] += 1
    assert zones == {"a": 1, "b": 1, "c": 1}
