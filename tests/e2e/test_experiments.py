"""The built-in fault-injection experiments, each on its own cluster (`kubemu experiment run
NAME --up`) with the scenario's shortened timings: every invariant holds and the measured
figures are what those timings promise."""

from __future__ import annotations

import json

import pytest

from tests.test_supervisor import kubemu

pytestmark = pytest.mark.e2e


def run(name: str, tmp_path) -> dict:
    out = tmp_path / name
    result = kubemu("experiment", "run", name, "--up", "-o", str(out), timeout_s=600)
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert report["passed"] and all(r["ok"] for r in report["invariants"]), report["invariants"]
    for artefact in ("summary.txt", "timeline.html", "timeline.svg"):
        assert (out / artefact).stat().st_size > 0
    names = {r["invariant"] for r in report["invariants"]}
    assert {"acknowledgedWritesPresent", "watchesComplete", "noPodOnTwoNodes"} <= names
    return report


def fault(report: dict) -> dict:
    (only,) = report["figures"]["faults"]
    return only


def test_kubelet_kill(tmp_path):
    f = fault(run("kubelet-kill", tmp_path))
    # grace 8 s + lease renewal 2 s + monitor period 1 s, then the 4 s toleration.
    assert f["nodeNotReadyAfter"] is not None and f["nodeNotReadyAfter"] <= 13
    assert f["evictionAfter"] is not None and f["evictionAfter"] <= f["nodeNotReadyAfter"] + 4 + 3
    assert f["recoveredAfter"] is not None


def test_scheduler_leader_kill(tmp_path):
    f = fault(run("scheduler-leader-kill", tmp_path))
    assert f["leaderFailoverAfter"] is not None and f["leaderFailoverAfter"] <= 4 + 2  # one lease (+ retry)


def test_etcd_pause_shows_an_outage_and_recovers(tmp_path):
    report = run("etcd-pause", tmp_path)
    assert report["figures"]["apiUnavailable"]["longestSeconds"] >= 3  # paused for 5 s


def test_etcd_member_loss_keeps_quorum(tmp_path):
    report = run("etcd-member-loss", tmp_path)
    assert report["figures"]["apiUnavailable"]["longestSeconds"] < 5


def test_apiserver_kill_with_two_replicas(tmp_path):
    report = run("apiserver-kill", tmp_path)
    # Clients fail over to the other apiserver at once: at most a probe or two fail (a probe's request
    # timeout is 2 s), far less than the one lease duration (15 s) the issue allows.
    assert report["figures"]["apiUnavailable"]["longestSeconds"] < 5


def test_etcd_kill_during_rollout_loses_no_acknowledged_create(tmp_path):
    report = run("etcd-kill-during-rollout", tmp_path)
    ack = next(r for r in report["invariants"] if r["invariant"] == "acknowledgedWritesPresent")
    assert ack["ok"] and int(ack["detail"].split()[1]) >= 210  # every pod create plus the probe writes


def test_run_on_an_already_running_cluster(up_cluster, tmp_path):
    """The path a user takes after `make up`: no --up, the scenario runs on the cluster of --cluster-dir,
    which is left running."""
    out = tmp_path / "report"
    too_small = kubemu("experiment", "run", "kubelet-kill", "--cluster-dir", up_cluster.path, "-o", str(out))
    assert too_small.returncode == 1 and "is too small for kubelet-kill (kubelet 2/3)" in too_small.stdout
    assert not out.exists()

    result = kubemu("experiment", "run", "etcd-pause", "--cluster-dir", up_cluster.path, "-o", str(out),
                    timeout_s=400)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"Running experiment etcd-pause on {up_cluster.path}" in result.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["passed"] and all(r["ok"] for r in report["invariants"]), report["invariants"]
    assert report["figures"]["apiUnavailable"]["longestSeconds"] >= 3  # etcd paused for 5 s
    for artefact in ("summary.txt", "timeline.html", "timeline.svg"):
        assert (out / artefact).stat().st_size > 0, artefact
    assert "etcd-pause" in (out / "summary.txt").read_text()
    status = kubemu("status", "--cluster-dir", up_cluster.path)
    assert status.returncode == 0 and "node-2" in status.stdout  # still running afterwards
