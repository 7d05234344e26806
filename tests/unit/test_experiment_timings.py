"""Which timings an experiment's report says it used: the scenario's shortened ones only when the
cluster really runs the flags that shorten them."""

from __future__ import annotations

from kubemu.cluster import ClusterDir
from kubemu.experiment import timings_used
from kubemu.experiment.scenario import load


def plan_with(cdir: ClusterDir, extra: dict[str, list[str]]) -> None:
    components = [{"name": name, "kind": kind,
                   "command": ["python3", "-m", kind.replace("-", "_"), *extra.get(kind, [])]}
                  for name, kind in (("apiserver", "apiserver"), ("controller-manager", "controller-manager"),
                                     ("node-1", "kubelet"), ("node-2", "kubelet"))]
    cdir.ensure()
    cdir.write_plan({"components": components})


def test_a_cluster_started_with_the_scenarios_flags_reports_its_timings(tmp_path):
    scenario = load("kubelet-kill")
    cdir = ClusterDir(str(tmp_path / "c"))
    plan_with(cdir, scenario.cluster.flags)
    assert timings_used(scenario, cdir) == scenario.timings
    assert timings_used(scenario, cdir)["node-monitor-grace-period"].startswith("8s")


def test_a_cluster_with_its_own_flags_never_claims_the_scenarios_timings(tmp_path):
    scenario = load("kubelet-kill")
    cdir = ClusterDir(str(tmp_path / "c"))
    flags = dict(scenario.cluster.flags)
    flags["kubelet"] = []  # e.g. `make up`: Kubernetes' 10 s lease renewal
    plan_with(cdir, flags)
    used = timings_used(scenario, cdir)
    assert set(used) == {"not applied"}
    assert "--node-lease-renew-interval=2" in used["not applied"] and "--up" in used["not applied"]


def test_a_scenario_that_shortens_nothing_reports_nothing_shortened(tmp_path):
    scenario = load("etcd-pause")
    cdir = ClusterDir(str(tmp_path / "c"))
    plan_with(cdir, {})
    assert timings_used(scenario, cdir) == {}
