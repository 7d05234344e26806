"""Local clusters side by side claim loopback pod networks of their own."""

from __future__ import annotations

import os

import pytest

from kubemu import pod_networks


@pytest.fixture(autouse=True)
def private_registry(tmp_path, monkeypatch):
    monkeypatch.setattr(pod_networks, "registry_dir", lambda: str(tmp_path / "registry"))


def test_default_ports_use_244_and_claim_nothing(tmp_path):
    assert pod_networks.claim(str(tmp_path), auto=False) == 244
    assert not os.path.exists(pod_networks.registry_dir())


def test_two_clusters_get_different_networks_and_a_rerun_keeps_its_own(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    first = pod_networks.claim(str(a), auto=True)
    second = pod_networks.claim(str(b), auto=True)
    assert first != second and {first, second} <= set(pod_networks.AUTO_OCTETS)
    assert pod_networks.claim(str(a), auto=True, previous=first) == first


def test_release_frees_the_network_for_the_next_cluster(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    octet = pod_networks.claim(str(a), auto=True)
    pod_networks.release(str(a))
    assert pod_networks.claim(str(b), auto=True, previous=octet) == octet


def test_a_claim_of_a_vanished_cluster_is_taken_over(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    octet = pod_networks.claim(str(gone), auto=True)
    gone.rmdir()
    live = tmp_path / "live"
    live.mkdir()
    assert pod_networks.claim(str(live), auto=True, previous=octet) == octet


def test_a_young_claim_of_a_cluster_without_supervisor_is_respected(tmp_path):
    starting = tmp_path / "starting"
    starting.mkdir()
    octet = pod_networks.claim(str(starting), auto=True)
    other = tmp_path / "other"
    other.mkdir()
    assert pod_networks.claim(str(other), auto=True, previous=octet) != octet


def test_an_old_claim_whose_supervisor_is_gone_is_stale(tmp_path):
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    octet = pod_networks.claim(str(crashed), auto=True)
    path = os.path.join(pod_networks.registry_dir(), f"127.{octet}")
    old = os.stat(path).st_mtime - pod_networks.CLAIM_GRACE_S - 1
    os.utime(path, (old, old))
    other = tmp_path / "other"
    other.mkdir()
    assert pod_networks.claim(str(other), auto=True, previous=octet) == octet
