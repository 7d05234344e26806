"""URL paths (apiserver/rest/routing.py), discovery documents and Tables."""

from __future__ import annotations

from apiserver.rest import content, discovery, routing, tables
from machinery.resources import RESOURCES


def test_paths_resolve_to_resources_only_in_their_group_version():
    pods = routing.parse("/api/v1/namespaces/default/pods/web/log")
    assert (pods.info.name, pods.namespace, pods.name, pods.subresource) == ("pods", "default", "web", "log")
    assert routing.parse("/api/v1/pods").namespace == "" and routing.parse("/api/v1/pods").is_collection
    ns = routing.parse("/api/v1/namespaces/team/status")
    assert (ns.info.name, ns.name, ns.subresource) == ("namespaces", "team", "status")
    scale = routing.parse("/apis/apps/v1/namespaces/x/deployments/web/scale")
    assert (scale.info.kind, scale.subresource) == ("Deployment", "scale")
    assert routing.parse("/api/v1/namespaces/x/deployments") is None  # apps/v1 only
    assert routing.parse("/apis/apps/v1/namespaces/x/nodes") is None  # cluster-scoped
    assert routing.parse("/api/v1/namespaces/x/pods/web/frobnicate") is None
    assert routing.parse("/api/v1/watch/namespaces/x/pods").watch_path


def test_discovery_announces_short_names_verbs_categories_and_scale():
    core = {r["name"]: r for r in discovery.resource_list("", "v1")["resources"]}
    assert core["pods"]["shortNames"] == ["po"] and core["pods"]["categories"] == ["all"]
    assert core["pods/log"]["verbs"] == ["get"] and core["pods/status"]["kind"] == "Pod"
    apps = {r["name"]: r for r in discovery.resource_list("apps", "v1")["resources"]}
    assert (apps["deployments/scale"]["kind"], apps["deployments/scale"]["group"],
            apps["deployments/scale"]["version"]) == ("Scale", "autoscaling", "v1")
    assert "watch" in apps["deployments"]["verbs"]
    groups = {g["name"] for g in discovery.api_group_list()["groups"]}
    assert {"apps", "batch", "rbac.authorization.k8s.io", "coordination.k8s.io"} <= groups
    assert discovery.resource_list("apps", "v2") is None
    assert discovery.version_info()["minor"] == "32"


def test_pod_table_has_kubectls_columns_and_row_metadata():
    pod = {"metadata": {"name": "web", "namespace": "default", "labels": {"run": "web"},
                        "creationTimestamp": "2026-01-01T00:00:00Z"},
           "spec": {"containers": [{"name": "web"}], "nodeName": "node-1"},
           "status": {"phase": "Running", "podIP": "127.244.1.2",
                      "containerStatuses": [{"name": "web", "ready": True, "restartCount": 0,
                                             "state": {"running": {}}}]}}
    table = tables.table(RESOURCES["pods"], [pod], resource_version="42")
    columns = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0), ("IP", 1),
                       ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    row = table["rows"][0]
    assert row["cells"][:4] == ["web", "1/1", "Running", "0"] and row["cells"][5:7] == ["127.244.1.2", "node-1"]
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["labels"] == {"run": "web"}
    assert table["metadata"]["resourceVersion"] == "42"
    deploy = [c["name"] for c in tables.table(RESOURCES["deployments"], [])["columnDefinitions"] if not c["priority"]]
    assert deploy == ["Name", "Ready", "Up-to-date", "Available", "Age"]


def test_accept_headers_pick_the_answer_form():
    assert content.wanted("application/json;as=Table;v=v1;g=meta.k8s.io,application/json").as_kind == "Table"
    assert content.wanted("application/json;as=Table;v=v1;g=other.io,application/json").as_kind == ""
    assert content.wanted("application/vnd.kubernetes.protobuf, */*").as_kind == ""
    assert content.wanted("application/yaml").yaml
