"""The scheduling framework and default plugins, on plain node and pod dicts.

What a user sees from kube-scheduler: where a pod lands, and when it cannot land, the
``0/N nodes are available: …`` message that explains why. Each test builds a small cluster
and runs :func:`scheduler.profile.default_framework` (or one plugin) over it.
"""

from __future__ import annotations

import pytest

from scheduler.framework import NodeInfo, pod_requests
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.plugins.node_resources_fit import NodeResourcesFit
from scheduler.plugins.taint_toleration import TaintToleration
from scheduler.profile import default_framework

# --- builders ----------------------------------------------------------------------------------


def node(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: str | int = "110", labels: dict | None = None,
         taints: list | None = None, unschedulable: bool = False, ready: str | None = "True") -> dict:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready}]
    spec: dict = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels or {}}, "spec": spec,
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": str(pods)},
                       "capacity": {"cpu": cpu, "memory": memory, "pods": str(pods)}, "conditions": conditions}}


def container(cpu: str | None = None, memory: str | None = None, name: str = "main") -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"name": name, "image": "nginx", "resources": {"requests": requests} if requests else {}}


def pod(name: str = "web", *, cpu: str | None = None, memory: str | None = None, containers: list | None = None,
        init: list | None = None, tolerations: list | None = None, node_selector: dict | None = None,
        affinity: dict | None = None, node_name: str = "") -> dict:
    spec: dict = {"containers": containers or [container(cpu, memory)]}
    if init:
        spec["initContainers"] = init
    if tolerations:
        spec["tolerations"] = tolerations
    if node_selector:
        spec["nodeSelector"] = node_selector
    if affinity:
        spec["affinity"] = affinity
    if node_name:
        spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def infos(*nodes: dict) -> list[NodeInfo]:
    return [NodeInfo(n) for n in nodes]


def with_pods(n: dict, *pods: dict) -> NodeInfo:
    info = NodeInfo(n)
    for i, p in enumerate(pods):
        info.add_pod(f"default/existing-{i}", p)
    return info


def schedule(p: dict, nodes: list[NodeInfo], strategy: str = "LeastAllocated"):
    return default_framework(strategy).run(f"default/{p['metadata']['name']}", p, nodes)


def required(*terms: dict) -> dict:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def expr(key: str, operator: str, *values: str) -> dict:
    e = {"key": key, "operator": operator}
    if values:
        e["values"] = list(values)
    return e


def taint(key: str, value: str = "", effect: str = "NoSchedule") -> dict:
    t = {"key": key, "effect": effect}
    if value:
        t["value"] = value
    return t


# --- requests --------------------------------------------------------------------------------


def test_requests_are_parsed_from_kubernetes_quantities_and_summed_over_containers():
    p = pod(containers=[container("100m", "128Mi", "a"), container("0.5", "1Gi", "b"), container(name="c")])
    r = pod_requests(p)
    assert (r.milli_cpu, r.memory, r.pods) == (600, 128 * 2**20 + 2**30, 1)


def test_init_containers_count_as_the_largest_of_any_one_init_container_and_the_app_sum():
    # Init containers run one at a time before the app containers: the pod needs the larger of
    # the biggest init container and the sum of the app containers, per resource.
    p = pod(containers=[container("100m", "256Mi", "a"), container("100m", "256Mi", "b")],
            init=[container("500m", "64Mi", "migrate"), container("300m", "700Mi", "warm")])
    r = pod_requests(p)
    assert r.milli_cpu == 500  # the init container's 500m beats the app sum of 200m
    assert r.memory == 700 * 2**20  # the other init container's 700Mi beats the app sum of 512Mi

    only_room_for_app_sum = node("small", cpu="400m", memory="8Gi")
    room_for_init = node("big", cpu="500m", memory="8Gi")
    result = schedule(p, infos(only_room_for_app_sum, room_for_init))
    assert result.verdicts["small"].status.reasons == ("Insufficient cpu",)
    assert result.selected == "big"


# --- NodeResourcesFit ----------------------------------------------------------------------------


def test_a_pod_fits_when_its_requests_fit_what_is_left_of_the_node():
    n = with_pods(node("n1", cpu="1", memory="1Gi"), pod(cpu="500m", memory="512Mi"))
    result = schedule(pod(cpu="500m", memory="512Mi"), [n])  # exactly the remainder: fits
    assert result.selected == "n1"
    assert result.verdicts["n1"].status.ok


def test_insufficient_cpu_when_bound_pods_took_the_room():
    n = with_pods(node("n1", cpu="1", memory="8Gi"), pod(cpu="900m"))
    result = schedule(pod(cpu="100m"), [n])
    assert result.selected == "n1"
    result = schedule(pod(cpu="101m"), [n])
    assert result.selected == ""
    assert result.verdicts["n1"].status.reasons == ("Insufficient cpu",)
    assert result.verdicts["n1"].status.plugin == "NodeResourcesFit"
    assert result.failure_message() == "0/1 nodes are available: 1 Insufficient cpu."


def test_insufficient_memory_and_both_reasons_on_one_node():
    n = node("n1", cpu="1", memory="128Mi")
    assert schedule(pod(memory="128Mi"), infos(n)).selected == "n1"
    result = schedule(pod(memory="129Mi"), infos(n))
    assert result.failure_message() == "0/1 nodes are available: 1 Insufficient memory."
    result = schedule(pod(cpu="2", memory="1Gi"), infos(n))
    assert result.verdicts["n1"].status.reasons == ("Insufficient cpu", "Insufficient memory")
    assert result.failure_message() == "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."


def test_the_pods_allocatable_caps_the_number_of_pods_even_without_requests():
    full = with_pods(node("n1", pods=2), pod(), pod())
    result = schedule(pod("third"), [full])
    assert result.failure_message() == "0/1 nodes are available: 1 Too many pods."
    assert schedule(pod("third"), [with_pods(node("n1", pods=3), pod(), pod())]).selected == "n1"


def test_a_best_effort_pod_fits_a_node_whose_cpu_and_memory_are_fully_requested():
    n = with_pods(node("n1", cpu="1", memory="1Gi"), pod(cpu="1", memory="1Gi"))
    assert schedule(pod("best-effort"), [n]).selected == "n1"


# --- the aggregated failure message -------------------------------------------------------------


def test_failure_message_counts_nodes_per_reason_like_kube_scheduler():
    nodes = [with_pods(node("a", cpu="1"), pod(cpu="1")),
             NodeInfo(node("b", taints=[taint("dedicated", "gpu")])),
             NodeInfo(node("c", taints=[taint("dedicated", "gpu")]))]
    result = schedule(pod(cpu="100m"), nodes)
    assert result.selected == "" and result.feasible == []
    assert result.failure_message() == \
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: gpu}."
    assert result.verdicts["b"].status.plugin == "TaintToleration"


def test_failure_message_with_no_nodes_at_all():
    assert schedule(pod(), []).failure_message() == "no nodes available to schedule pods"


def test_failure_message_orders_entries_as_kube_scheduler_does():
    # kube-scheduler (pkg/scheduler/framework/types.go, FitError.Error) formats each entry as
    # "<count> <reason>" and then sort.Strings() the entries, e.g. a real cluster prints
    # "0/4 nodes are available: 1 node(s) had untolerated taint(s), 3 Insufficient nvidia.com/gpu."
    nodes = [with_pods(node("a", cpu="1"), pod(cpu="1")),
             with_pods(node("b", cpu="1"), pod(cpu="1")),
             NodeInfo(node("c", taints=[taint("dedicated", "gpu")]))]
    result = schedule(pod(cpu="100m"), nodes)
    assert result.failure_message() == \
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu."


# --- taints and tolerations ----------------------------------------------------------------------


@pytest.mark.parametrize(("toleration", "tolerated"), [
    ({"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}, True),
    ({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}, True),  # operator defaults to Equal
    ({"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}, False),
    ({"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}, True),
    ({"key": "dedicated", "operator": "Exists"}, True),  # an empty effect matches every effect
    ({"key": "other", "operator": "Exists"}, False),
    ({"operator": "Exists"}, True),  # empty key with Exists tolerates every taint
    ({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}, False),  # effect must match
    ({"key": "dedicated", "operator": "Exists", "effect": "PreferNoSchedule"}, False),
])
def test_tolerations_against_a_no_schedule_taint(toleration, tolerated):
    n = node("gpu-1", taints=[taint("dedicated", "gpu", "NoSchedule")])
    result = schedule(pod(tolerations=[toleration]), infos(n))
    assert (result.selected == "gpu-1") is tolerated
    if not tolerated:
        assert result.verdicts["gpu-1"].status.reasons == ("node(s) had untolerated taint {dedicated: gpu}",)


def test_no_execute_taints_repel_like_no_schedule_and_every_hard_taint_must_be_tolerated():
    n = node("n1", taints=[taint("a", "1", "NoSchedule"), taint("b", effect="NoExecute")])
    only_a = pod(tolerations=[{"key": "a", "operator": "Exists"}])
    result = schedule(only_a, infos(n))
    assert result.verdicts["n1"].status.reasons == ("node(s) had untolerated taint {b: }",)
    both = pod(tolerations=[{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}])
    assert schedule(both, infos(n)).selected == "n1"


def test_prefer_no_schedule_taints_never_filter_but_the_untainted_node_wins():
    soft = node("a-soft", taints=[taint("spot", "true", "PreferNoSchedule")])
    plain = node("b-plain")
    result = schedule(pod(), infos(soft, plain))
    assert set(result.feasible) == {"a-soft", "b-plain"}
    assert result.selected == "b-plain"
    # Alone, the softly tainted node is still used.
    assert schedule(pod(), infos(soft)).selected == "a-soft"
    # Tolerating the taint removes the penalty.
    tolerant = pod(tolerations=[{"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"}])
    assert TaintToleration().score(tolerant, NodeInfo(soft)) == TaintToleration().score(tolerant, NodeInfo(plain))


def test_prefer_no_schedule_outweighs_resource_spreading_as_in_kube_scheduler():
    # kube-scheduler: TaintToleration scores the count of untolerated PreferNoSchedule taints and
    # NormalizeScore reverses it to 0..100, weight 3: the untainted node gets 300 more points,
    # far more than LeastAllocated (weight 1, at most 100) can take back.
    soft = node("a-soft", taints=[taint("spot", "true", "PreferNoSchedule")])
    busy = with_pods(node("b-busy"), pod(cpu="3", memory="6Gi"))
    result = schedule(pod(cpu="100m", memory="128Mi"), [NodeInfo(soft), busy])
    assert result.selected == "b-busy"


# --- nodeSelector and node affinity ------------------------------------------------------------


def test_node_selector_picks_nodes_with_all_the_labels():
    ssd = node("ssd", labels={"disk": "ssd", "zone": "a"})
    hdd = node("hdd", labels={"disk": "hdd", "zone": "a"})
    result = schedule(pod(node_selector={"disk": "ssd", "zone": "a"}), infos(ssd, hdd))
    assert result.selected == "ssd"
    assert result.verdicts["hdd"].status.reasons == ("node(s) didn't match Pod's node affinity/selector",)
    result = schedule(pod(node_selector={"disk": "nvme"}), infos(ssd, hdd))
    assert result.failure_message() == "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."


@pytest.mark.parametrize(("expression", "matching"), [
    (expr("zone", "In", "a", "b"), {"n-a", "n-b"}),
    (expr("zone", "NotIn", "a"), {"n-b", "n-none"}),  # NotIn matches nodes without the label
    (expr("zone", "Exists"), {"n-a", "n-b"}),
    (expr("zone", "DoesNotExist"), {"n-none"}),
    (expr("cores", "Gt", "8"), {"n-b"}),
    (expr("cores", "Lt", "16"), {"n-a"}),
    (expr("cores", "Gt", "not-a-number"), set()),
])
def test_required_node_affinity_operators(expression, matching):
    nodes = infos(node("n-a", labels={"zone": "a", "cores": "8"}),
                  node("n-b", labels={"zone": "b", "cores": "16"}),
                  node("n-none", labels={"cores": "x"}))
    result = schedule(pod(affinity=required({"matchExpressions": [expression]})), nodes)
    assert set(result.feasible) == matching


def test_required_terms_are_ored_and_expressions_in_a_term_are_anded():
    nodes = infos(node("a-gpu", labels={"zone": "a", "gpu": "true"}),
                  node("a-cpu", labels={"zone": "a"}),
                  node("b-cpu", labels={"zone": "b"}))
    term_a_gpu = {"matchExpressions": [expr("zone", "In", "a"), expr("gpu", "Exists")]}
    assert schedule(pod(affinity=required(term_a_gpu)), nodes).feasible == ["a-gpu"]
    term_b = {"matchExpressions": [expr("zone", "In", "b")]}
    assert set(schedule(pod(affinity=required(term_a_gpu, term_b)), nodes).feasible) == {"a-gpu", "b-cpu"}


def test_required_affinity_match_fields_on_the_node_name():
    nodes = infos(node("n1"), node("n2"))
    term = {"matchFields": [expr("metadata.name", "In", "n2")]}
    assert schedule(pod(affinity=required(term)), nodes).feasible == ["n2"]


def test_node_selector_and_required_affinity_must_both_hold():
    nodes = infos(node("a1", labels={"zone": "a", "disk": "ssd"}), node("a2", labels={"zone": "a"}),
                  node("b1", labels={"zone": "b", "disk": "ssd"}))
    p = pod(node_selector={"disk": "ssd"}, affinity=required({"matchExpressions": [expr("zone", "In", "a")]}))
    assert schedule(p, nodes).feasible == ["a1"]


def test_preferred_node_affinity_picks_the_node_with_the_heaviest_matching_preferences():
    affinity = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 20, "preference": {"matchExpressions": [expr("zone", "In", "a")]}},
        {"weight": 50, "preference": {"matchExpressions": [expr("disk", "In", "ssd")]}},
    ]}}
    nodes = infos(node("a-hdd", labels={"zone": "a"}), node("b-ssd", labels={"zone": "b", "disk": "ssd"}),
                  node("c", labels={"zone": "c"}))
    result = schedule(pod(affinity=affinity), nodes)
    assert set(result.feasible) == {"a-hdd", "b-ssd", "c"}  # preferences never filter
    assert result.selected == "b-ssd"
    scores = {n.name: NodeAffinity().score(pod(affinity=affinity), n) for n in nodes}
    assert scores == {"a-hdd": 20, "b-ssd": 50, "c": 0}


def test_a_preferred_node_wins_over_a_slightly_emptier_node_as_in_kube_scheduler():
    # kube-scheduler normalises NodeAffinity scores so the best-matching node gets 100 (×2 weight):
    # any matching preference beats a LeastAllocated difference (×1, at most 100).
    affinity = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 1, "preference": {"matchExpressions": [expr("zone", "In", "a")]}}]}}
    preferred_but_busier = with_pods(node("a", labels={"zone": "a"}), pod(cpu="1", memory="2Gi"))
    empty = NodeInfo(node("b", labels={"zone": "b"}))
    assert schedule(pod(affinity=affinity), [preferred_but_busier, empty]).selected == "a"


# --- cordoned and not-ready nodes ----------------------------------------------------------------


def test_cordoned_nodes_take_no_new_pods_unless_the_pod_tolerates_the_unschedulable_taint():
    nodes = infos(node("cordoned", unschedulable=True), node("open"))
    result = schedule(pod(), nodes)
    assert result.selected == "open"
    assert result.verdicts["cordoned"].status.reasons == ("node(s) were unschedulable",)
    only_cordoned = infos(node("cordoned", unschedulable=True))
    assert schedule(pod(), only_cordoned).failure_message() == \
        "0/1 nodes are available: 1 node(s) were unschedulable."
    daemon = pod(tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                               "effect": "NoSchedule"}])
    assert schedule(daemon, only_cordoned).selected == "cordoned"


@pytest.mark.parametrize("ready", ["False", "Unknown", None])
def test_nodes_that_are_not_ready_take_no_new_pods(ready):
    nodes = infos(node("sick", ready=ready), node("healthy"))
    result = schedule(pod(), nodes)
    assert result.selected == "healthy"
    assert result.verdicts["sick"].status.reasons == ("node(s) were not ready",)
    tolerant = pod(tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}])
    assert schedule(tolerant, infos(node("sick", ready=ready))).selected == "sick"


def test_a_pod_naming_its_node_fits_only_there():
    result = schedule(pod(node_name="n2"), infos(node("n1"), node("n2")))
    assert result.selected == "n2"
    assert result.verdicts["n1"].status.reasons == ("node(s) didn't match the requested node name",)


# --- scoring: spreading and packing -------------------------------------------------------------


def place_series(count: int, strategy: str, nodes: list[NodeInfo]) -> dict[str, int]:
    """Schedule ``count`` identical pods one after another, as the scheduler's cache would."""
    by_name = {n.name: n for n in nodes}
    for i in range(count):
        p = pod(f"replica-{i}", cpu="500m", memory="1Gi")
        result = schedule(p, nodes, strategy)
        assert result.selected, result.failure_message()
        by_name[result.selected].add_pod(f"default/replica-{i}", p)
    return {name: len(n.pods) for name, n in by_name.items()}


def test_least_allocated_spreads_a_series_of_pods_across_equal_nodes():
    nodes = infos(node("n1"), node("n2"), node("n3"))
    assert place_series(9, "LeastAllocated", nodes) == {"n1": 3, "n2": 3, "n3": 3}


def test_most_allocated_packs_pods_onto_one_node_until_it_is_full():
    nodes = infos(node("n1"), node("n2"), node("n3"))  # each fits eight 500m/1Gi pods
    counts = place_series(10, "MostAllocated", nodes)
    assert sorted(counts.values(), reverse=True) == [8, 2, 0]


def test_least_allocated_prefers_the_emptier_node():
    busy = with_pods(node("a-busy"), pod(cpu="2", memory="4Gi"))
    result = schedule(pod(cpu="100m", memory="128Mi"), [busy, NodeInfo(node("b-idle"))])
    assert result.selected == "b-idle"
    assert result.verdicts["b-idle"].scores["NodeResourcesFit"] > result.verdicts["a-busy"].scores["NodeResourcesFit"]


def test_unknown_scoring_strategy_is_rejected():
    with pytest.raises(ValueError, match="scoring strategy"):
        NodeResourcesFit("Random")
