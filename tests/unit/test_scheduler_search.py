"""Which nodes a scheduling cycle looks at, and that looking at many at once changes nothing.

- ``percentageOfNodesToScore`` as in kube-scheduler: all nodes below 100, else the configured
  share (or the adaptive default: 50 % minus 1 % per 125 nodes, at least 5 %), never fewer
  than 100 feasible nodes; filtering stops once that many fit, and the next cycle starts where
  the last one stopped, so every node gets its turn.
- The framework filters plugin by plugin over a chunk of nodes and lets the built-in plugins
  answer for many nodes in one call (``filter_nodes`` / ``score_nodes``); on random clusters
  and pods the verdicts, reasons, scores and the chosen node are exactly those of running every
  plugin node by node.
"""

from __future__ import annotations

import random

import pytest

from scheduler.framework import Framework, NodeInfo, num_feasible_nodes_to_find
from scheduler.profile import ConfigError, build_framework, default_framework, parse_config


def node(name: str, cpu: str = "4", *, taints: list | None = None, ready: bool = True, unschedulable: bool = False,
         labels: dict | None = None, images: list | None = None) -> NodeInfo:
    spec: dict = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return NodeInfo({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
                     "spec": spec,
                     "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                                "images": images or []}})


def pod(name: str = "p", cpu: str = "100m", **spec) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": cpu}}}],
                     **spec}}


def cluster(n: int, cpu: str = "4") -> list[NodeInfo]:
    return [node(f"node-{i:04d}", cpu) for i in range(n)]


# --- how many feasible nodes are enough --------------------------------------------------------------


@pytest.mark.parametrize("percentage, nodes, wanted", [
    (0, 1, 1), (0, 50, 50), (0, 99, 99),  # below 100 nodes: all of them, whatever the setting
    (10, 99, 99),
    (0, 100, 100), (0, 1000, 420), (0, 3000, 780), (0, 5000, 500),  # adaptive: 50 % − nodes/125 %
    (0, 6000, 300), (0, 20000, 1000),  # never below 5 %
    (30, 500, 150), (10, 500, 100),  # configured, but never fewer than 100
    (100, 1000, 1000), (50, 1000, 500)])
def test_how_many_feasible_nodes_a_cycle_looks_for(percentage, nodes, wanted):
    assert num_feasible_nodes_to_find(percentage, nodes) == wanted
    assert num_feasible_nodes_to_find(None, nodes) == num_feasible_nodes_to_find(0, nodes)


def test_filtering_stops_once_enough_nodes_fit_and_the_next_cycle_goes_on_from_there():
    fw = build_framework({"percentageOfNodesToScore": 40})  # of 250 nodes: 100 feasible are enough
    nodes = cluster(250)
    first = fw.run("default/a", pod("a"), nodes)
    assert len(first.verdicts) == 100 and first.nodes_total == 250
    assert sorted(first.verdicts) == [f"node-{i:04d}" for i in range(100)]
    second = fw.run("default/b", pod("b"), nodes)
    assert sorted(second.verdicts) == [f"node-{i:04d}" for i in range(100, 200)]
    third = fw.run("default/c", pod("c"), nodes)  # wraps around the end of the list
    assert sorted(third.verdicts) == [f"node-{i:04d}" for i in [*range(50), *range(200, 250)]]
    assert third.to_dict()["nodesTotal"] == 250


def test_nodes_that_do_not_fit_are_passed_over_until_enough_fit():
    fw = build_framework({"percentageOfNodesToScore": 10})  # 100 of 300
    nodes = [node(f"node-{i:04d}", cpu="4" if i % 3 == 0 else "100m") for i in range(300)]
    result = fw.run("default/a", pod("a", cpu="1"), nodes)
    assert len(result.feasible) == 100 and len(result.verdicts) == 298  # node-0297 completes the count
    assert fw.next_start_node_index == 298


def test_when_too_few_nodes_fit_every_node_is_tried_and_the_message_counts_them_all():
    fw = build_framework({"percentageOfNodesToScore": 10})
    nodes = cluster(300, cpu="1")
    result = fw.run("default/a", pod("a", cpu="2"), nodes)
    assert not result.selected
    assert result.failure_message() == "0/300 nodes are available: 300 Insufficient cpu."


def test_an_explanation_dry_run_looks_at_every_node():
    fw = build_framework({"percentageOfNodesToScore": 10})
    nodes = cluster(300)
    fw.run("default/a", pod("a"), nodes)
    dry = fw.run("default/b", pod("b"), nodes, all_nodes=True)
    assert len(dry.verdicts) == 300 and "nodesTotal" not in dry.to_dict()
    assert fw.next_start_node_index == 100  # a dry run does not move the start


def test_the_default_at_100_nodes_is_every_node():
    result = default_framework().run("default/a", pod("a"), cluster(100))
    assert len(result.verdicts) == 100


def test_percentage_of_nodes_to_score_from_the_config_file():
    profiles = parse_config({"percentageOfNodesToScore": 20, "profiles": [
        {"schedulerName": "a"}, {"schedulerName": "b", "percentageOfNodesToScore": 70}]})
    assert [build_framework(p).percentage_of_nodes_to_score for p in profiles] == [20, 70]
    assert build_framework({}).percentage_of_nodes_to_score is None


@pytest.mark.parametrize("config, where", [
    ({"percentageOfNodesToScore": 101}, "scheduler config: percentageOfNodesToScore: must be an integer in 0..100"),
    ({"percentageOfNodesToScore": "50%"}, "percentageOfNodesToScore: must be an integer"),
    ({"profiles": [{"schedulerName": "x", "percentageOfNodesToScore": -1}]},
     r"profiles\[x\].percentageOfNodesToScore: must be an integer in 0..100")])
def test_a_bad_percentage_is_an_error_naming_the_field(config, where):
    with pytest.raises(ConfigError, match=where):
        for profile in parse_config(config):
            build_framework(profile)


# --- many nodes at once = one node at a time ---------------------------------------------------------


class OneByOne:
    """A plugin with its batch methods hidden: the framework must call it node by node."""

    def __init__(self, plugin):
        self._plugin = plugin
        self.name = plugin.name

    def __getattr__(self, attr):
        if attr in ("filter_nodes", "score_nodes"):
            raise AttributeError(attr)
        return getattr(self._plugin, attr)


def one_by_one(fw: Framework) -> Framework:
    wrap = {id(p): OneByOne(p) for p in fw.plugins}
    return Framework([wrap[id(p)] for p in fw.filters], [(wrap[id(p)], w) for p, w in fw.scorers],
                     pre_filters=[wrap[id(p)] for p in fw.pre_filters], pre_scores=[wrap[id(p)] for p in fw.pre_scores])


def random_cluster(rng: random.Random) -> list[NodeInfo]:
    nodes = []
    for i in range(rng.randint(1, 40)):
        taints = [{"key": "dedicated", "value": rng.choice(["gpu", "db"]),
                   "effect": rng.choice(["NoSchedule", "PreferNoSchedule", "NoExecute"])}] if rng.random() < 0.2 else []
        images = [{"names": [f"docker.io/library/{rng.choice(['nginx', 'redis'])}:latest"],
                   "sizeBytes": rng.choice([10, 300, 900]) * 2**20}] if rng.random() < 0.5 else []
        labels = {"zone": rng.choice("abc"), "disk": rng.choice(["ssd", "hdd"])}
        info = node(f"n{i:02d}", cpu=rng.choice(["500m", "1", "2", "4"]), taints=taints, ready=rng.random() < 0.9,
                    unschedulable=rng.random() < 0.1, labels=labels, images=images)
        for j in range(rng.randint(0, 6)):
            existing = pod(f"e{i}-{j}", cpu=rng.choice(["100m", "300m", "1"]))
            existing["metadata"]["labels"] = {"app": rng.choice(["web", "db"])}
            if rng.random() < 0.2:
                existing["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 80}]
            if rng.random() < 0.15:
                existing["spec"]["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"topologyKey": "zone", "labelSelector": {"matchLabels": {"app": "web"}}}]}}
            info.add_pod(f"default/e{i}-{j}", existing)
        nodes.append(info)
    return nodes


def random_pod(rng: random.Random, nodes: list[NodeInfo]) -> dict:
    spec: dict = {}
    if rng.random() < 0.2:
        spec["nodeSelector"] = {"disk": "ssd"}
    if rng.random() < 0.2:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    if rng.random() < 0.2:
        spec["nodeName"] = f"n{rng.randint(0, 5):02d}"
    if rng.random() < 0.2:
        spec["affinity"] = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 5, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}}]}}
    if rng.random() < 0.2:
        spec["topologySpreadConstraints"] = [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable":
                                              rng.choice(["DoNotSchedule", "ScheduleAnyway"]),
                                              "labelSelector": {"matchLabels": {"app": "web"}}}]
    cpu = rng.choice(["100m", "500m", "1", "3"])
    if rng.random() < 0.3:  # exactly what one node has left: the boundary of fitting
        target = rng.choice(nodes)
        cpu = f"{max(1, target.allocatable.milli_cpu - target.requested.milli_cpu)}m"
    p = pod("new", cpu=cpu, **spec)
    p["spec"]["containers"][0]["image"] = rng.choice(["nginx", "redis", "busybox"])
    if rng.random() < 0.2:
        p["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 80}]
    return p


def outcome(result) -> tuple:
    return result.selected, {name: (v.status.code, v.status.plugin, v.status.reasons, v.scores, v.total)
                             for name, v in result.verdicts.items()}


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("strategy", ["LeastAllocated", "MostAllocated"])
def test_filtering_and_scoring_many_nodes_at_once_decides_exactly_as_one_by_one(seed, strategy):
    rng = random.Random(seed)
    nodes = random_cluster(rng)
    p = random_pod(rng, nodes)
    batch = default_framework(strategy)
    assert outcome(batch.run("default/new", p, nodes)) == outcome(one_by_one(batch).run("default/new", p, nodes))
