"""kubemu/kubeconfig.py: one kubeconfig for the real kubectl and kubemu, merged into the default like kind."""

from __future__ import annotations

import os

import yaml

from kubemu import kubeconfig
from kubemu.cluster import ClusterDir, parse_kubeconfig


def test_the_cluster_kubeconfig_serves_kubectl_and_kubemu(tmp_path):
    cdir = ClusterDir(str(tmp_path / "demo"))
    cdir.ensure()
    doc = cdir.write_kubeconfig(["127.0.0.1:6443"], "tok", "/ca.crt", rest_servers=["https://127.0.0.1:6444"])
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6444"
    assert doc["current-context"] == "kubemu-demo"
    with open(cdir.kubeconfig_path) as f:
        assert parse_kubeconfig(yaml.safe_load(f)) == (["127.0.0.1:6443"], "tok")
    assert oct(os.stat(cdir.kubeconfig_path).st_mode & 0o777) == "0o600"


def test_merge_keeps_the_users_entries_and_unmerge_removes_only_ours(tmp_path):
    path = str(tmp_path / ".kube" / "config")
    os.makedirs(os.path.dirname(path))
    theirs = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "prod", "cluster": {"server": "https://p"}}],
              "users": [{"name": "me", "user": {}}],
              "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "me"}}], "current-context": "prod"}
    with open(path, "w") as f:
        yaml.safe_dump(theirs, f)
    ours = kubeconfig.build("demo", rest_servers=["https://127.0.0.1:6444"], grpc_servers=["127.0.0.1:6443"])
    kubeconfig.merge(path, ours)
    kubeconfig.merge(path, ours)  # idempotent: entries are replaced, never duplicated
    with open(path) as f:
        merged = yaml.safe_load(f)
    assert [c["name"] for c in merged["contexts"]] == ["prod", "kubemu-demo"]
    assert merged["current-context"] == "kubemu-demo"
    assert kubeconfig.unmerge(path, "demo")
    with open(path) as f:
        after = yaml.safe_load(f)
    assert [c["name"] for c in after["clusters"]] == ["prod"] and after["current-context"] == ""
    assert not kubeconfig.unmerge(path, "demo")


def test_default_path_follows_kubeconfig_env(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path}/a{os.pathsep}{tmp_path}/b")
    assert kubeconfig.default_path() == f"{tmp_path}/a"
    monkeypatch.delenv("KUBECONFIG")
    assert kubeconfig.default_path().endswith(os.path.join(".kube", "config"))
