"""Spreading and resource plugins: PodTopologySpread (explicit constraints and the system
defaults that spread a Deployment), NodeResourcesFit's scoring strategies,
NodeResourcesBalancedAllocation, NodePorts and ImageLocality."""

from __future__ import annotations

from collections import Counter

import pytest

from scheduler.framework import CycleState, NodeInfo
from scheduler.plugins.balanced_allocation import BalancedAllocation
from scheduler.plugins.image_locality import ImageLocality, normalize_image
from scheduler.plugins.node_resources_fit import NodeResourcesFit
from scheduler.plugins.pod_topology_spread import PodTopologySpread
from scheduler.profile import build_framework, default_framework

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def node(name: str, zone: str = "", cpu: str = "4", memory: str = "8Gi", images: list | None = None,
         taints: list | None = None, **labels) -> NodeInfo:
    lbl = {HOST: name, **labels}
    if zone:
        lbl[ZONE] = zone
    status = {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
              "conditions": [{"type": "Ready", "status": "True"}]}
    if images:
        status["images"] = images
    return NodeInfo({"metadata": {"name": name, "labels": lbl}, "spec": {"taints": taints} if taints else {},
                     "status": status})


def pod(name: str, labels: dict | None = None, *, owner: str = "", cpu: str = "", memory: str = "",
        image: str = "nginx", **spec) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    container = {"name": "c", "image": image, **({"resources": {"requests": requests}} if requests else {})}
    meta = {"name": name, "namespace": "default", "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "uid": owner, "controller": True}]
    return {"metadata": meta, "spec": {"containers": [container], **spec}}


def spread(max_skew: int = 1, key: str = ZONE, when: str = "DoNotSchedule", labels: dict | None = None,
           **extra) -> dict:
    return {"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": labels or {"app": "web"}}, **extra}


def run(p: dict, nodes: list[NodeInfo], framework=None):
    return (framework or default_framework()).run(f"default/{p['metadata']['name']}", p, nodes)


def place_all(pods: list[dict], nodes: list[NodeInfo], framework=None) -> dict[str, int]:
    by_name = {n.name: n for n in nodes}
    fw = framework or default_framework()
    for p in pods:
        result = run(p, nodes, fw)
        assert result.selected, result.failure_message()
        by_name[result.selected].add_pod(f"default/{p['metadata']['name']}", p)
    return {n.name: len(n.pods) for n in nodes}


# --- PodTopologySpread: DoNotSchedule ---------------------------------------------------------------


def test_max_skew_one_over_zones_alternates_zones():
    nodes = [node("a1", "a"), node("a2", "a"), node("b1", "b")]
    pods = [pod(f"w-{i}", {"app": "web"}, topologySpreadConstraints=[spread()]) for i in range(6)]
    counts = place_all(pods, nodes)
    assert counts["a1"] + counts["a2"] == 3 and counts["b1"] == 3


def test_a_node_that_would_exceed_max_skew_is_rejected_with_kube_schedulers_reason():
    a, b = node("a1", "a"), node("b1", "b")
    a.add_pod("default/x", pod("x", {"app": "web"}))
    result = run(pod("w", {"app": "web"}, topologySpreadConstraints=[spread()]), [a, b])
    assert result.feasible == ["b1"]
    assert result.verdicts["a1"].status.reasons == ("node(s) didn't match pod topology spread constraints",)
    assert result.verdicts["a1"].status.plugin == "PodTopologySpread"


def test_a_node_without_the_topology_label_is_unresolvable():
    result = run(pod("w", {"app": "web"}, topologySpreadConstraints=[spread()]), [node("a1", "a"), node("bare")])
    verdict = result.verdicts["bare"].status
    assert verdict.reasons == ("node(s) didn't match pod topology spread constraints (missing required label)",)
    assert verdict.code == "UnschedulableAndUnresolvable"


def test_pods_that_do_not_match_the_selector_do_not_count():
    a, b = node("a1", "a"), node("b1", "b")
    for i in range(3):
        a.add_pod(f"default/o-{i}", pod(f"o-{i}", {"app": "other"}))
    assert set(run(pod("w", {"app": "web"}, topologySpreadConstraints=[spread()]), [a, b]).feasible) == {"a1", "b1"}


def test_an_incoming_pod_outside_the_selector_adds_no_skew():
    a, b = node("a1", "a"), node("b1", "b")
    a.add_pod("default/x", pod("x", {"app": "web"}))
    assert set(run(pod("stranger", {"app": "db"}, topologySpreadConstraints=[spread()]), [a, b]).feasible) == \
        {"a1", "b1"}


def test_min_domains_counts_missing_domains_as_empty():
    a, b = node("a1", "a"), node("b1", "b")
    a.add_pod("default/x", pod("x", {"app": "web"}))
    b.add_pod("default/y", pod("y", {"app": "web"}))
    c = spread(minDomains=3)
    # Only two zones exist: the global minimum is 0, so every zone is at the limit already.
    assert run(pod("w", {"app": "web"}, topologySpreadConstraints=[c]), [a, b]).feasible == []
    assert set(run(pod("w", {"app": "web"}, topologySpreadConstraints=[spread()]), [a, b]).feasible) == {"a1", "b1"}


def test_node_affinity_policy_honor_ignores_domains_the_pod_cannot_use():
    a, b, c = node("a1", "a"), node("b1", "b"), node("c1", "c", disk="hdd")
    a.add_pod("default/x", pod("x", {"app": "web"}))
    b.add_pod("default/y", pod("y", {"app": "web"}))
    ssd_only = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "disk", "operator": "DoesNotExist"}]}]}}}
    honor = pod("w", {"app": "web"}, affinity=ssd_only, topologySpreadConstraints=[spread()])
    # Zone c (empty) is not eligible for this pod, so it does not pull the minimum to 0.
    assert set(run(honor, [a, b, c]).feasible) == {"a1", "b1"}
    ignore = pod("w", {"app": "web"}, affinity=ssd_only,
                 topologySpreadConstraints=[spread(nodeAffinityPolicy="Ignore")])
    assert run(ignore, [a, b, c]).feasible == []


# --- PodTopologySpread: ScheduleAnyway and the system defaults -----------------------------------------


def test_schedule_anyway_prefers_the_emptier_zone_but_never_filters():
    a, b = node("a1", "a"), node("b1", "b")
    for i in range(3):
        a.add_pod(f"default/x-{i}", pod(f"x-{i}", {"app": "web"}))
    result = run(pod("w", {"app": "web"}, topologySpreadConstraints=[spread(when="ScheduleAnyway")]), [a, b])
    assert set(result.feasible) == {"a1", "b1"}
    assert result.verdicts["b1"].scores["PodTopologySpread"] == 100
    assert result.verdicts["a1"].scores["PodTopologySpread"] < 100
    assert result.selected == "b1"


def test_system_default_spreading_applies_to_pods_of_one_replicaset():
    p = pod("w", {"app": "web"}, owner="rs-1")
    constraints, own = PodTopologySpread().constraints(p, "ScheduleAnyway")
    assert not own and [(c.topology_key, c.max_skew) for c in constraints] == [(HOST, 3), (ZONE, 5)]
    assert PodTopologySpread().constraints(pod("solo"), "ScheduleAnyway") == ([], False)
    job = pod("j", owner="x")
    job["metadata"]["ownerReferences"][0]["kind"] = "Job"
    assert PodTopologySpread().constraints(job, "ScheduleAnyway") == ([], False)


@pytest.mark.parametrize(("cpu", "memory"), [("4", "8Gi"), ("64", "256Gi")])
@pytest.mark.parametrize("owned", [True, False])
def test_six_replicas_spread_two_per_node_on_three_equal_nodes(cpu, memory, owned):
    nodes = [node(f"n{i}", cpu=cpu, memory=memory) for i in (1, 2, 3)]
    pods = [pod(f"web-{i}", {"app": "web"}, owner="rs-1" if owned else "") for i in range(6)]
    assert sorted(place_all(pods, nodes).values()) == [2, 2, 2]


def test_default_spreading_outweighs_a_small_load_difference():
    """Two replicas already share n1 with a light pod elsewhere: the next ones avoid n1."""
    nodes = [node(f"n{i}", cpu="64", memory="256Gi") for i in (1, 2, 3)]
    nodes[0].add_pod("default/web-0", pod("web-0", {"app": "web"}, owner="rs-1"))
    nodes[0].add_pod("default/web-1", pod("web-1", {"app": "web"}, owner="rs-1"))
    nodes[1].add_pod("default/other", pod("other", cpu="8", memory="32Gi"))
    result = run(pod("web-2", {"app": "web"}, owner="rs-1"), nodes)
    assert result.verdicts["n1"].scores["PodTopologySpread"] < result.verdicts["n2"].scores["PodTopologySpread"]
    assert result.selected in ("n2", "n3")


def test_list_defaulting_replaces_the_system_defaults():
    fw = build_framework({"pluginConfig": [{"name": "PodTopologySpread", "args": {
        "defaultingType": "List",
        "defaultConstraints": [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule"}]}}]})
    nodes = [node("a1", "a"), node("a2", "a"), node("b1", "b")]
    pods = [pod(f"w-{i}", {"app": "web"}, owner="rs-1") for i in range(4)]
    counts = place_all(pods, nodes, fw)
    assert counts["b1"] == 2


@pytest.mark.parametrize("args", [{"defaultingType": "Sometimes"},
                                  {"defaultConstraints": [{"maxSkew": 1, "topologyKey": ZONE}]},
                                  {"defaultingType": "List", "defaultConstraints": [
                                      {"maxSkew": 1, "topologyKey": ZONE, "labelSelector": {}}]},
                                  {"bogus": 1}])
def test_bad_spread_args_are_refused(args):
    with pytest.raises(ValueError, match="PodTopologySpread"):
        build_framework({"pluginConfig": [{"name": "PodTopologySpread", "args": args}]})


# --- NodeResourcesFit strategies ----------------------------------------------------------------------


def test_least_and_most_allocated_scores_follow_kube_schedulers_formula():
    n = node("n", cpu="4", memory="8Gi")
    n.add_pod("default/x", pod("x", cpu="1", memory="2Gi"))
    p = pod("p", cpu="1", memory="2Gi")
    assert NodeResourcesFit("LeastAllocated").score(p, n) == 50  # (4-2)*100/4 and (8-4)*100/8
    assert NodeResourcesFit("MostAllocated").score(p, n) == 50
    assert NodeResourcesFit("LeastAllocated", [{"name": "cpu", "weight": 3}, {"name": "memory", "weight": 1}]) \
        .score(pod("q", cpu="2", memory="2Gi"), n) == (25 * 3 + 50) // 4


def test_request_less_containers_score_as_100m_and_200mi():
    n = node("n", cpu="1", memory="2000Mi")
    assert NodeResourcesFit("LeastAllocated").score(pod("be"), n) == (90 + 90) // 2


def test_requested_to_capacity_ratio_follows_its_shape():
    fit = NodeResourcesFit("RequestedToCapacityRatio", shape=[{"utilization": 0, "score": 0},
                                                             {"utilization": 100, "score": 10}])
    n = node("n", cpu="4", memory="8Gi")
    assert fit.score(pod("p", cpu="1", memory="2Gi"), n) == 25
    assert fit.score(pod("p", cpu="3", memory="6Gi"), n) == 75


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"scoring_strategy": "RequestedToCapacityRatio"}, "shape"),
    ({"resources": [{"name": "nvidia.com/gpu", "weight": 1}]}, "cannot score"),
    ({"resources": [{"name": "cpu", "weight": 0}]}, "weight"),
])
def test_bad_fit_args_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NodeResourcesFit(**kwargs)


def test_fit_args_from_the_profile():
    fw = build_framework({"pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {
        "type": "MostAllocated", "resources": [{"name": "cpu", "weight": 2}]}}}]})
    fit = next(p for p, _ in fw.scorers if p.name == "NodeResourcesFit")
    assert (fit.strategy, fit.resources) == ("MostAllocated", [("cpu", 2)])


# --- BalancedAllocation, NodePorts, ImageLocality -------------------------------------------------------


def test_balanced_allocation_uses_half_the_difference_and_skips_best_effort_pods():
    n = node("n", cpu="4", memory="8Gi")
    assert BalancedAllocation().score(pod("p", cpu="2", memory="0"), n) == 75  # (1 - |0.5 - 0| / 2) * 100
    assert BalancedAllocation().pre_score(pod("be"), [n], [n], CycleState()).skipped


def test_host_ports_conflict_on_the_same_protocol_and_overlapping_ip():
    def with_port(name: str, port: int, protocol: str = "TCP", host_ip: str = "") -> dict:
        p = pod(name)
        p["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": port, "protocol": protocol,
                                                **({"hostIP": host_ip} if host_ip else {})}]
        return p

    n1, n2 = node("n1"), node("n2")
    n1.add_pod("default/web", with_port("web", 8080))
    result = run(with_port("web2", 8080), [n1, n2])
    assert result.feasible == ["n2"]
    assert result.verdicts["n1"].status.reasons == ("node(s) didn't have free ports for the requested pod ports",)
    assert set(run(with_port("udp", 8080, "UDP"), [n1, n2]).feasible) == {"n1", "n2"}
    n2.add_pod("default/a", with_port("a", 9090, host_ip="10.0.0.1"))
    assert run(with_port("b", 9090, host_ip="10.0.0.2"), [n2]).feasible == ["n2"]
    assert run(with_port("c", 9090), [n2]).feasible == []


def test_image_locality_prefers_a_node_that_has_the_image():
    big = [{"names": ["docker.io/library/postgres:16"], "sizeBytes": 400 * 1024 * 1024}]
    have, lack = node("have", images=big), node("lack")
    result = run(pod("db", image="postgres:16"), [have, lack])
    assert result.verdicts["have"].scores["ImageLocality"] > 0 == result.verdicts["lack"].scores["ImageLocality"]
    assert "ImageLocality" not in run(pod("x", image="nginx"), [have, lack]).verdicts["have"].scores
    assert ImageLocality().score(pod("db", image="postgres:16"), lack) == 0
    assert normalize_image("nginx") == "nginx:latest" == normalize_image("docker.io/library/nginx:latest")


def test_mixed_workloads_stay_balanced_over_nodes():
    nodes = [node(f"n{i}") for i in (1, 2, 3)]
    pods = [pod(f"a-{i}", cpu="500m", memory="512Mi", owner="rs-a") for i in range(6)]
    pods += [pod(f"b-{i}", cpu="250m", memory="1Gi", owner="rs-b") for i in range(6)]
    place_all(pods, nodes)
    per_owner = Counter()
    for n in nodes:
        for p in n.pods.values():
            per_owner[(n.name, p["metadata"]["ownerReferences"][0]["uid"])] += 1
    assert all(v == 2 for v in per_owner.values()) and len(per_owner) == 6
