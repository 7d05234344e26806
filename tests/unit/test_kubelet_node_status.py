"""The node status the kubelet posts: pressure conditions from what psutil sees, against the
kubelet's eviction-style thresholds, and the capacity, Ready, addresses and nodeInfo beside them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kubelet import node_status
from kubelet.node_status import NodeConfig, fill_status, pressure_conditions

GI = 1024 ** 3


@pytest.fixture
def machine(monkeypatch):
    """A fake machine: 8 GiB of memory, a 100 GiB disk, 1000 processes out of 4194304."""
    state = SimpleNamespace(available=4 * GI, disk_free=50 * GI, pids=1000)
    monkeypatch.setattr(node_status.psutil, "virtual_memory", lambda: SimpleNamespace(total=8 * GI,
                                                                                      available=state.available))
    monkeypatch.setattr(node_status.psutil, "disk_usage", lambda path: SimpleNamespace(total=100 * GI,
                                                                                       free=state.disk_free))
    monkeypatch.setattr(node_status.psutil, "pids", lambda: list(range(state.pids)))
    return state


def statuses(conditions: dict) -> dict[str, str]:
    return {kind: value[0] for kind, value in conditions.items()}


def test_a_healthy_machine_has_no_pressure(machine, tmp_path):
    assert statuses(pressure_conditions(str(tmp_path))) == {
        "MemoryPressure": "False", "DiskPressure": "False", "PIDPressure": "False"}


def test_each_pressure_turns_on_past_its_threshold(machine, tmp_path):
    machine.available = 50 * 1024 * 1024  # below memory.available<100Mi
    machine.disk_free = 5 * GI  # below nodefs.available<10%
    got = pressure_conditions(str(tmp_path))
    assert got["MemoryPressure"] == ("True", "KubeletHasInsufficientMemory",
                                     "kubelet has insufficient memory available")
    assert got["DiskPressure"] == ("True", "KubeletHasDiskPressure", "kubelet has disk pressure")
    assert got["PIDPressure"][0] == "False"


def test_fill_status_reports_capacity_conditions_addresses_and_node_info(machine, tmp_path):
    node: dict = {}
    fill_status(node, NodeConfig("node-1", "127.1.0.1", str(tmp_path), cpu="2", memory="4Gi", max_pods=30),
                network_ready=True, images={"docker.io/library/nginx:latest": 70_000_000})
    status = node["status"]
    assert status["capacity"] == {"cpu": "2", "memory": "4Gi", "pods": "30", "ephemeral-storage": "100Gi"}
    assert status["allocatable"] == status["capacity"]
    kinds = {c["type"]: c["status"] for c in status["conditions"]}
    assert kinds == {"MemoryPressure": "False", "DiskPressure": "False", "PIDPressure": "False", "Ready": "True"}
    assert status["addresses"] == [{"type": "InternalIP", "address": "127.1.0.1"},
                                   {"type": "Hostname", "address": "node-1"}]
    assert status["nodeInfo"]["containerRuntimeVersion"].startswith("kubemu-process://")
    assert status["images"] == [{"names": ["docker.io/library/nginx:latest"], "sizeBytes": 70_000_000}]
    fill_status(node, NodeConfig("node-1", "127.1.0.1", str(tmp_path)), network_ready=False)
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "KubeletNotReady")
