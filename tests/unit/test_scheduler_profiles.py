"""Profiles from a KubeSchedulerConfiguration, and the framework's extension points in order."""

from __future__ import annotations

import pytest

from scheduler.framework import SUCCESS, CycleResult, Framework, NodeInfo, NodeVerdict, Plugin, Status
from scheduler.plugins import REGISTRY, register
from scheduler.profile import (
    DEFAULT_PLUGINS,
    ConfigError,
    build_framework,
    build_frameworks,
    default_framework,
    load_config,
    parse_config,
)


def node(name: str, cpu: str = "4", **labels) -> NodeInfo:
    return NodeInfo({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **labels}}, "spec": {},
                     "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                                "conditions": [{"type": "Ready", "status": "True"}]}})


def pod(name: str = "p", cpu: str = "") -> dict:
    c = {"name": "c", "image": "nginx"}
    if cpu:
        c["resources"] = {"requests": {"cpu": cpu}}
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"containers": [c]}}


# --- the default profile ---------------------------------------------------------------------------


def test_the_default_profile_matches_kube_schedulers_defaults():
    d = default_framework().describe()
    assert d["queueSort"] == "PrioritySort"
    assert d["filter"] == ["NodeReady", "NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity",
                           "NodePorts", "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"]
    assert d["preFilter"] == ["NodeAffinity", "NodePorts", "NodeResourcesFit", "PodTopologySpread",
                              "InterPodAffinity"]
    assert d["preScore"] == ["TaintToleration", "NodeAffinity", "PodTopologySpread", "InterPodAffinity",
                             "NodeResourcesBalancedAllocation", "ImageLocality"]
    assert d["postFilter"] == ["DefaultPreemption"]
    assert d["score"] == {"TaintToleration": 3, "NodeAffinity": 2, "NodeResourcesFit": 1, "PodTopologySpread": 2,
                          "InterPodAffinity": 2, "NodeResourcesBalancedAllocation": 1, "ImageLocality": 1}
    assert d["bind"] == ["DefaultBinder"]
    assert {name for name, _ in DEFAULT_PLUGINS} == {d["queueSort"], *d["filter"], *d["postFilter"], *d["score"],
                                                     *d["bind"]}


def test_an_empty_config_is_one_default_profile():
    profiles = parse_config({"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration"})
    frameworks = build_frameworks(profiles)
    assert list(frameworks) == ["default-scheduler"]


# --- enabling, disabling, weights -------------------------------------------------------------------


def test_disable_a_score_plugin_and_reweight_another():
    fw = build_framework({"schedulerName": "packer", "plugins": {"score": {
        "disabled": [{"name": "NodeResourcesBalancedAllocation"}, {"name": "ImageLocality"}],
        "enabled": [{"name": "NodeResourcesFit", "weight": 5}]}}})
    assert fw.name == "packer"
    assert {p.name: w for p, w in fw.scorers} == {"TaintToleration": 3, "NodeAffinity": 2, "NodeResourcesFit": 5,
                                                  "PodTopologySpread": 2, "InterPodAffinity": 2}


def test_disabled_star_clears_the_defaults_of_one_point_only():
    fw = build_framework({"plugins": {"score": {"disabled": [{"name": "*"}],
                                                "enabled": [{"name": "NodeResourcesFit"}]}}})
    assert [(p.name, w) for p, w in fw.scorers] == [("NodeResourcesFit", 1)]
    assert "NodeResourcesFit" in [p.name for p in fw.filters]


def test_multi_point_disable_removes_a_plugin_everywhere():
    fw = build_framework({"plugins": {"multiPoint": {"disabled": [{"name": "InterPodAffinity"}]}}})
    assert "InterPodAffinity" not in {p.name for p in fw.plugins}


def test_disabling_preemption_leaves_no_post_filter():
    fw = build_framework({"plugins": {"postFilter": {"disabled": [{"name": "DefaultPreemption"}]}}})
    assert fw.post_filters == []


def test_the_old_balanced_allocation_name_is_accepted():
    fw = build_framework({"plugins": {"score": {"enabled": [{"name": "BalancedAllocation", "weight": 4}]}}})
    assert dict((p.name, w) for p, w in fw.scorers)["NodeResourcesBalancedAllocation"] == 4


@pytest.mark.parametrize(("spec", "match"), [
    ({"plugins": {"score": {"enabled": [{"name": "NoSuchPlugin"}]}}}, "unknown plugin 'NoSuchPlugin'"),
    ({"plugins": {"score": {"enabled": [{"name": "NodeName"}]}}}, "does not implement the score extension point"),
    ({"plugins": {"permit": {"enabled": [{"name": "X"}]}}}, "does not support"),
    ({"plugins": {"scores": {}}}, "unknown extension point 'scores'"),
    ({"plugins": {"score": {"enabled": [{"name": "NodeResourcesFit", "weight": 500}]}}}, "weight"),
    ({"plugins": {"queueSort": {"disabled": [{"name": "*"}]}}}, "exactly one queue-sort"),
    ({"plugins": {"bind": {"disabled": [{"name": "*"}]}}}, "at least one bind plugin"),
    ({"pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "Random"}}}]},
     r"profiles\[default-scheduler\]\.pluginConfig\[NodeResourcesFit\]: unknown NodeResourcesFit scoring"),
    ({"pluginConfig": [{"name": "NodeName", "args": {"x": 1}}]}, "takes no args"),
    ({"schedulerName": "x", "plugin": {}}, "unknown fields: plugin"),
])
def test_config_mistakes_are_errors_naming_the_field(spec, match):
    with pytest.raises(ConfigError, match=match):
        build_framework(spec)


def test_config_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: a\n- schedulerName: a\n")
    with pytest.raises(ConfigError, match="duplicate schedulerName: a"):
        load_config(str(bad))
    bad.write_text("kind: KubeProxyConfiguration\n")
    with pytest.raises(ConfigError, match="kind must be KubeSchedulerConfiguration"):
        load_config(str(bad))
    bad.write_text("kind: KubeSchedulerConfiguration\nprofile: []\n")
    with pytest.raises(ConfigError, match="unknown fields: profile"):
        load_config(str(bad))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "missing.yaml"))


def test_two_profiles_from_a_file_serve_two_scheduler_names(tmp_path):
    path = tmp_path / "sched.yaml"
    path.write_text("""
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 50
profiles:
- schedulerName: default-scheduler
- schedulerName: packer
  pluginConfig:
  - name: NodeResourcesFit
    args:
      apiVersion: kubescheduler.config.k8s.io/v1
      kind: NodeResourcesFitArgs
      scoringStrategy: {type: MostAllocated}
""")
    frameworks = build_frameworks(load_config(str(path)))
    assert list(frameworks) == ["default-scheduler", "packer"]
    fits = {name: next(p for p, _ in fw.scorers if p.name == "NodeResourcesFit").strategy
            for name, fw in frameworks.items()}
    assert fits == {"default-scheduler": "LeastAllocated", "packer": "MostAllocated"}


# --- extension points, in order --------------------------------------------------------------------


class Recorder(Plugin):
    """A plugin at every point, recording the calls, with configurable answers."""

    name = "Recorder"
    calls: list = []
    answers: dict = {}

    @classmethod
    def new(cls, args, handle):
        return cls()

    def _answer(self, point: str, *args):
        Recorder.calls.append(point)
        return Recorder.answers.get(point, SUCCESS)

    def pre_filter(self, pod, nodes, state):
        return self._answer("preFilter")

    def filter(self, pod, node, state=None):
        return self._answer("filter")

    def pre_score(self, pod, feasible, nodes, state):
        return self._answer("preScore")

    def score(self, pod, node, state=None):
        Recorder.calls.append("score")
        return 10 if node.name == "n2" else 5

    def normalize_score(self, pod, scores, state=None):
        Recorder.calls.append("normalize")
        for k in scores:
            scores[k] *= 10

    def reserve(self, pod, node, state):
        return self._answer("reserve")

    def unreserve(self, pod, node, state):
        Recorder.calls.append("unreserve")

    def pre_bind(self, pod, node, state):
        return self._answer("preBind")

    def bind(self, pod, node, state):
        return self._answer("bind")

    def post_bind(self, pod, node, state):
        Recorder.calls.append("postBind")

    def post_filter(self, pod, result, nodes, state):
        Recorder.calls.append("postFilter")
        return "", Recorder.answers.get("postFilter", Status.unschedulable("no help"))


@pytest.fixture
def recorder_framework():
    register(Recorder)
    Recorder.calls, Recorder.answers = [], {}
    spec = {"plugins": {"multiPoint": {"disabled": [{"name": "*"}], "enabled": [{"name": "PrioritySort"},
                                                                             {"name": "Recorder"}]}}}
    yield build_framework(spec)
    REGISTRY.pop("Recorder", None)


def test_points_run_in_kube_schedulers_order(recorder_framework):
    fw = recorder_framework
    result = fw.run("default/p", pod(), [node("n1"), node("n2")])
    assert Recorder.calls == ["preFilter", "filter", "filter", "preScore", "score", "score", "normalize"]
    assert result.selected == "n2" and result.verdicts["n2"].scores == {"Recorder": 100}
    assert fw.run_reserve(pod(), "n2", result.state).ok
    assert fw.run_pre_bind(pod(), "n2", result.state).ok
    assert fw.run_bind(pod(), "n2", result.state).plugin == "Recorder"
    fw.run_post_bind(pod(), "n2", result.state)
    assert Recorder.calls[-4:] == ["reserve", "preBind", "bind", "postBind"]


def test_a_failing_reserve_unreserves(recorder_framework):
    Recorder.answers["reserve"] = Status.error("quota exhausted")
    status = recorder_framework.run_reserve(pod(), "n1", recorder_framework.run("default/p", pod(), [node("n1")]).state)
    assert (status.ok, status.plugin, status.message) == (False, "Recorder", "quota exhausted")
    assert Recorder.calls[-2:] == ["reserve", "unreserve"]


def test_a_binder_that_skips_leaves_no_binder(recorder_framework):
    Recorder.answers["bind"] = Status.skip()
    status = recorder_framework.run_bind(pod(), "n1", None)
    assert status.message == "no bind plugin bound the pod"


def test_pre_filter_rejection_applies_to_every_node_with_its_message(recorder_framework):
    Recorder.answers["preFilter"] = Status.unschedulable("pod group not complete", unresolvable=True)
    result = recorder_framework.run("default/p", pod(), [node("n1"), node("n2"), node("n3")])
    assert "filter" not in Recorder.calls
    assert result.failure_message() == "0/3 nodes are available: pod group not complete."


def test_pre_filter_skip_skips_the_filter(recorder_framework):
    Recorder.answers["preFilter"] = Status.skip()
    Recorder.answers["filter"] = Status.unschedulable("never asked")
    assert recorder_framework.run("default/p", pod(), [node("n1")]).selected == "n1"


def test_a_plugin_exception_is_an_error_status_for_that_pod():
    class Broken(Plugin):
        name = "Broken"

        def filter(self, pod, node, state=None):
            raise RuntimeError("boom")

    result = Framework([Broken()], []).run("default/p", pod(), [node("n1")])
    assert result.verdicts["n1"].status.code == "Error"
    assert result.failure_message() == "0/1 nodes are available: 1 running filter plugin Broken: boom."


def test_post_filter_message_follows_the_filter_message():
    result = CycleResult("default/p", {"n1": NodeVerdict("n1", Status.unschedulable("Insufficient cpu"))},
                         post_filter_message="preemption: not eligible due to preemptionPolicy=Never.")
    assert result.failure_message() == \
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
    assert result.unschedulable_plugins == frozenset()


def test_unschedulable_plugins_are_the_rejecting_ones():
    result = default_framework().run("default/p", pod(cpu="9"), [node("n1"), node("n2", cpu="16")])
    assert result.selected == "n2"
    result = default_framework().run("default/p", pod(cpu="99"), [node("n1")])
    assert result.unschedulable_plugins == {"NodeResourcesFit"}
    assert result.to_dict()["message"] == "0/1 nodes are available: 1 Insufficient cpu."


def test_placeholder_nodes_are_never_offered():
    ghost = NodeInfo({"metadata": {"name": "ghost"}, "status": {}}, placeholder=True)
    result = default_framework().run("default/p", pod(), [ghost, node("n1")])
    assert list(result.verdicts) == ["n1"]
