"""JSON merge patch, JSON patch and strategic merge patch (apiserver/rest/patch.py)."""

from __future__ import annotations

import pytest

from apiserver.rest.patch import PatchError, json_patch, merge_patch, strategic_merge_patch

POD = {"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
       "spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "name": "http"}],
                                "env": [{"name": "A", "value": "1"}], "args": ["-a", "-b"]},
                               {"name": "side", "image": "busybox"}],
                "tolerations": [{"key": "k", "operator": "Exists"}]}}


def test_merge_patch_merges_maps_deletes_nulls_and_replaces_lists():
    out = merge_patch(POD, {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"containers": [{"name": "x"}]}})
    assert out["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert out["spec"]["containers"] == [{"name": "x"}]
    assert POD["metadata"]["labels"] == {"a": "1", "b": "2"}  # inputs untouched


def test_json_patch_operations_and_failures():
    doc = {"a": {"b": [1, 2]}, "c": "x"}
    out = json_patch(doc, [{"op": "add", "path": "/a/b/-", "value": 3}, {"op": "replace", "path": "/c", "value": "y"},
                           {"op": "remove", "path": "/a/b/0"}, {"op": "copy", "from": "/c", "path": "/d"},
                           {"op": "move", "from": "/d", "path": "/e~1f"}, {"op": "test", "path": "/c", "value": "y"}])
    assert out == {"a": {"b": [2, 3]}, "c": "y", "e/f": "y"}
    with pytest.raises(PatchError, match="testing value /c failed"):
        json_patch(doc, [{"op": "test", "path": "/c", "value": "nope"}])
    with pytest.raises(PatchError, match="cannot replace /zz: it does not exist"):
        json_patch(doc, [{"op": "replace", "path": "/zz", "value": 1}])
    with pytest.raises(PatchError, match="out of bounds"):
        json_patch(doc, [{"op": "remove", "path": "/a/b/5"}])
    assert doc == {"a": {"b": [1, 2]}, "c": "x"}


def test_strategic_merge_patch_merges_containers_by_name_and_ports_by_container_port():
    patch = {"spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                      "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}],
                                      "env": [{"name": "B", "value": "2"}], "args": ["-c"]}]}}
    out = strategic_merge_patch(POD, patch)
    web, side = out["spec"]["containers"]
    assert (web["image"], side["name"]) == ("nginx:1.27", "side")
    assert web["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 443}]
    assert web["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert web["args"] == ["-c"]  # no merge key: atomic, replaced


def test_strategic_merge_patch_directives():
    out = strategic_merge_patch(POD, {"spec": {"containers": [{"name": "side", "$patch": "delete"}],
                                               "tolerations": [{"key": "new"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["web"]
    assert out["spec"]["tolerations"] == [{"key": "new"}]
    replaced = strategic_merge_patch(POD, {"metadata": {"labels": {"$patch": "replace", "z": "9"}}})
    assert replaced["metadata"]["labels"] == {"z": "9"}
    ordered = strategic_merge_patch(POD, {"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "web"}],
                                                   "containers": [{"name": "web", "image": "nginx:2"}]}})
    assert [c["name"] for c in ordered["spec"]["containers"]] == ["side", "web"]
    retained = strategic_merge_patch({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"x": 1}}}},
                                     {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
    assert retained["spec"]["strategy"] == {"type": "Recreate"}
    finalizers = strategic_merge_patch(POD, {"metadata": {"finalizers": ["y"], "$deleteFromPrimitiveList/finalizers":
                                                          ["x"]}})
    assert finalizers["metadata"]["finalizers"] == ["y"]
    whole = strategic_merge_patch(POD, {"spec": {"containers": [{"$patch": "replace"}, {"name": "only"}]}})
    assert whole["spec"]["containers"] == [{"name": "only"}]
    gone = strategic_merge_patch(POD, {"metadata": {"labels": None}})
    assert "labels" not in gone["metadata"]


def test_strategic_merge_patch_rejects_items_without_their_merge_key():
    with pytest.raises(PatchError, match="no merge key 'name'"):
        strategic_merge_patch(POD, {"spec": {"containers": [{"image": "x"}]}})
    with pytest.raises(PatchError, match="unknown patch directive"):
        strategic_merge_patch(POD, {"spec": {"$patch": "frobnicate"}})
