"""Field ownership and server-side apply (apiserver/rest/apply.py)."""

from __future__ import annotations

import pytest

from apiserver.rest import apply as ssa
from machinery import errors

DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
          "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}


def test_field_sets_round_trip_through_fields_v1():
    paths = ssa.field_set(DEPLOY)
    fields = ssa.to_fields_v1(paths)
    assert fields == {"f:metadata": {"f:labels": {"f:app": {}}},
                      "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                          'k:{"name":"nginx"}': {".": {}, "f:image": {}, "f:name": {}}}}}}}
    assert ssa.from_fields_v1(fields) == paths
    path = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"nginx"}', "f:image")
    assert ssa.describe(path) == '.spec.template.spec.containers[name="nginx"].image'
    assert ssa.value_at(DEPLOY, path) == "nginx"


def test_create_then_update_moves_ownership_of_changed_fields():
    obj = {**DEPLOY}
    ssa.record_create(obj, "kubectl-create")
    scaled = {**obj, "spec": {**obj["spec"], "replicas": 3}}
    ssa.record_update(obj, scaled, "kubectl-scale")
    owners = {e["manager"]: ssa.from_fields_v1(e["fieldsV1"]) for e in scaled["metadata"]["managedFields"]}
    assert owners["kubectl-scale"] == {("f:spec", "f:replicas")}
    assert ("f:spec", "f:replicas") not in owners["kubectl-create"]


def test_an_update_that_changes_nothing_keeps_managed_fields_as_they_were(monkeypatch):
    obj = {**DEPLOY}
    ssa.record_create(obj, "kubectl-create")
    scaled = {**obj, "spec": {**obj["spec"], "replicas": 3}}
    ssa.record_update(obj, scaled, "kubectl-scale")
    monkeypatch.setattr(ssa.meta, "format_time", lambda: "2030-01-01T00:00:00Z")  # later than any entry
    again = {**scaled, "metadata": {**scaled["metadata"]}}
    ssa.record_update(scaled, again, "kubectl-scale")  # the same replicas again
    assert again == scaled, "only the entry's time would change: the object must stay equal (no write)"
    rescaled = {**scaled, "metadata": {**scaled["metadata"]}, "spec": {**scaled["spec"], "replicas": 4}}
    ssa.record_update(scaled, rescaled, "kubectl-scale")
    times = {e["manager"]: e["time"] for e in rescaled["metadata"]["managedFields"]}
    assert times["kubectl-scale"] == "2030-01-01T00:00:00Z"  # a real change is stamped


def test_apply_conflicts_unless_forced_and_removes_what_it_no_longer_applies():
    live = {**DEPLOY}
    ssa.record_create(live, "kubectl-create")
    config = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"replicas": 2, "paused": True}}
    with pytest.raises(errors.Conflict) as conflict:
        ssa.apply(live, config, "kubectl")
    assert conflict.value.message == ('Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1: '
                                      ".spec.replicas")
    assert conflict.value.causes[0].field == ".spec.replicas"
    applied = ssa.apply(live, config, "kubectl", force=True)
    assert (applied["spec"]["replicas"], applied["spec"]["paused"]) == (2, True)
    again = ssa.apply(applied, {**config, "spec": {"replicas": 2}}, "kubectl")
    assert "paused" not in again["spec"] and again["spec"]["replicas"] == 2
    managers = [(e["manager"], e["operation"]) for e in again["metadata"]["managedFields"]]
    assert managers == [("kubectl-create", "Update"), ("kubectl", "Apply")]


def test_equal_values_are_shared_not_conflicting():
    live = {**DEPLOY}
    ssa.record_create(live, "kubectl-create")
    same = ssa.apply(live, {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 1}}, "kubectl")
    assert same["spec"]["replicas"] == 1
