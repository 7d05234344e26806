"""``kubemu bench SCENARIO --smoke``: each benchmark runs end to end on its own small cluster and
writes a JSON result with the machine, the parameters, the figures as distributions, the in-run
etcd baseline and the targets, plus a self-contained HTML plot. Speed is not checked here (the
benchmarks measure it); that the harness works is."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.test_supervisor import kubemu

pytestmark = pytest.mark.e2e

DISTRIBUTION = {"count", "min", "median", "p99", "max"}
BASELINE_TESTS = {"putSequential", "putConcurrent", "txnSequential", "txnConcurrent"}


def run(scenario: str, tmp_path) -> dict:
    out = tmp_path / "results"
    result = kubemu("bench", scenario, "--smoke", "--quiet", "-o", str(out), timeout_s=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"== {scenario}" in result.stdout
    data = json.loads((out / f"{scenario}.json").read_text())
    assert data["scenario"] == scenario
    assert data["machine"]["cpus"] >= 1 and len(data["machine"]["loadAverageAfter"]) == 3
    assert data["parameters"]["smoke"] is True
    base = data["etcdBaseline"]
    assert set(base["writesPerSecond"]) == BASELINE_TESTS and all(v > 0 for v in base["writesPerSecond"].values())
    page = (out / f"{scenario}.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "http" not in page.replace(
        "http://www.w3.org/2000/svg", "")
    for svg in page.split("<svg")[1:]:
        ET.fromstring("<svg" + svg.split("</svg>")[0] + "</svg>")  # well-formed
    return data


def distribution(d: dict) -> dict:
    assert DISTRIBUTION <= set(d), d
    assert d["count"] > 0 and d["min"] <= d["median"] <= d["p99"] <= d["max"], d
    return d


def test_pod_startup(tmp_path):
    data = run("pod-startup", tmp_path)
    f = data["figures"]
    distribution(f["podStartupLatencyMs"])
    distribution(f["apiCallLatencyMs"]["mutating"])
    assert f["pods"]["running"] == data["parameters"]["pods"]
    assert f["etcdWrites"]["perPod"] > 1
    assert data["etcdRatio"]["podChurn"]["ratio"] > 0
    assert {t["target"] for t in data["targets"]} == {"pod startup latency p99", "mutating API call p99"}


def test_scheduler_throughput(tmp_path):
    data = run("scheduler-throughput", tmp_path)
    f = data["figures"]
    assert f["pods"]["bound"] == data["parameters"]["pods"] and f["podsBoundPerSecond"] > 0
    assert sum(f["boundPerSecond"]) == f["pods"]["bound"]
    assert data["etcdRatio"]["scheduling"]["ratio"] > 0


def test_density(tmp_path):
    data = run("density", tmp_path)
    (size,) = data["figures"]["sizes"]
    assert size["nodes"] == 2 and size["allRunning"] and size["nodesReadyAtEnd"] == 2
    assert {"kubelet", "apiserver", "scheduler", "controller-manager", "etcd"} <= set(size["steady"])
    distribution(size["steady"]["kubelet"]["rssMiB"])


def test_watch_fanout(tmp_path):
    data = run("watch-fanout", tmp_path)
    f = data["figures"]
    assert f["eventsDelivered"] == f["eventsExpected"] and f["watchersComplete"] == data["parameters"]["watchers"]
    distribution(f["deliveryDelayMs"])


def test_etcd_baseline(tmp_path):
    data = run("etcd-baseline", tmp_path)
    for test in BASELINE_TESTS:
        distribution(data["figures"]["latencyMs"][test])
