"""The apiserver side of workloads: apps/batch strategies (defaults, validation, status and
generation rules) directly, then through a real apiserver with delete propagation policies."""

from __future__ import annotations

import copy

import pytest

from apiserver.registry import STRATEGIES
from machinery import errors


def deployment(**spec) -> dict:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}}
    body["spec"].update(spec)
    return body


def fields(causes) -> list[str]:
    return [c.field for c in causes]


def created(resource: str, body: dict) -> dict:
    obj = copy.deepcopy(body)
    STRATEGIES[resource].prepare_for_create(obj)
    return obj


def test_deployment_defaults_like_kubernetes():
    d = created("deployments", deployment())
    spec = d["spec"]
    assert spec["replicas"] == 1 and spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%",
                                                                          "maxSurge": "25%"}}
    pod = spec["template"]["spec"]
    assert (pod["restartPolicy"], pod["terminationGracePeriodSeconds"], pod["dnsPolicy"]) == ("Always", 30,
                                                                                           "ClusterFirst")
    assert pod["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert d["status"] == {}
    assert STRATEGIES["deployments"].validate(d) == []


def test_statefulset_daemonset_and_job_defaults():
    sts = created("statefulsets", dict(deployment(), kind="StatefulSet"))["spec"]
    assert sts["podManagementPolicy"] == "OrderedReady"
    assert sts["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    ds = created("daemonsets", dict(deployment(), kind="DaemonSet"))["spec"]
    assert ds["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "ns"},
           "spec": {"template": {"spec": {"restartPolicy": "Never",
                                          "containers": [{"name": "pi", "image": "busybox"}]}}}}
    j = created("jobs", job)
    assert (j["spec"]["completions"], j["spec"]["parallelism"], j["spec"]["backoffLimit"]) == (1, 1, 6)
    assert j["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/job-name": "pi"}}
    assert j["spec"]["template"]["metadata"]["labels"] == {"batch.kubernetes.io/job-name": "pi", "job-name": "pi"}
    assert STRATEGIES["jobs"].validate(j) == []


@pytest.mark.parametrize(("change", "field"), [
    ({"replicas": -1}, "spec.replicas"),
    ({"replicas": "3"}, "spec.replicas"),
    ({"selector": {"matchLabels": {"app": "other"}}}, "spec.template.metadata.labels"),
    ({"selector": {}}, "spec.selector"),
    ({"selector": None}, "spec.selector"),
    ({"strategy": {"type": "Blue"}}, "spec.strategy.type"),
    ({"strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}}, "spec.strategy.rollingUpdate"),
    ({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}},
     "spec.strategy.rollingUpdate.maxUnavailable"),
    ({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "x", "maxUnavailable": 1}}},
     "spec.strategy.rollingUpdate.maxSurge"),
    ({"progressDeadlineSeconds": 5, "minReadySeconds": 10}, "spec.progressDeadlineSeconds"),
])
def test_deployment_validation(change, field):
    body = deployment()
    body["spec"].update(change)
    if body["spec"].get("selector") is None:
        body["spec"].pop("selector")
    d = created("deployments", body)
    assert field in fields(STRATEGIES["deployments"].validate(d))


def test_template_restart_policy_must_suit_the_kind():
    bad = created("replicasets", dict(deployment(), kind="ReplicaSet"))
    bad["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert fields(STRATEGIES["replicasets"].validate(bad)) == ["spec.template.spec.restartPolicy"]
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "ns"},
           "spec": {"template": {"spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": "x"}]}}}}
    j = created("jobs", job)
    assert "spec.template.spec.restartPolicy" in fields(STRATEGIES["jobs"].validate(j))


def test_updates_keep_status_bump_generation_and_refuse_selector_changes():
    strategy = STRATEGIES["deployments"]
    old = created("deployments", deployment())
    old["status"] = {"replicas": 1}
    new = copy.deepcopy(old)
    new["status"] = {"replicas": 99}
    new["spec"]["replicas"] = 3
    strategy.prepare_for_update(new, old)
    assert new["status"] == {"replicas": 1}
    assert strategy.spec_changed(new, old)
    annotated = copy.deepcopy(old)
    annotated["metadata"]["annotations"] = {"a": "b"}
    assert not strategy.spec_changed(annotated, old), "metadata alone does not move the generation"
    moved = copy.deepcopy(old)
    moved["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "x"}}
    moved["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    assert "spec.selector" in fields(strategy.validate_update(moved, old))


def test_status_updates_keep_spec_and_labels_but_take_annotations():
    strategy = STRATEGIES["deployments"]
    old = created("deployments", deployment())
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 50
    new["metadata"]["labels"] = {"hijack": "yes"}
    new["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "2"}
    new["status"] = {"replicas": 1}
    strategy.prepare_for_status_update(new, old)
    assert new["spec"]["replicas"] == 1 and "labels" not in new["metadata"]
    assert new["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "2"}
    assert new["status"] == {"replicas": 1}


def test_job_template_and_statefulset_fixed_fields_are_immutable():
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "ns"},
           "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}
    old = created("jobs", job)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "y"
    assert "spec.template" in fields(STRATEGIES["jobs"].validate_update(new, old))
    sts_old = created("statefulsets", dict(deployment(), kind="StatefulSet"))
    sts_new = copy.deepcopy(sts_old)
    sts_new["spec"]["podManagementPolicy"] = "Parallel"
    assert "spec" in fields(STRATEGIES["statefulsets"].validate_update(sts_new, sts_old))
    sts_new = copy.deepcopy(sts_old)
    sts_new["spec"]["replicas"] = 5
    assert STRATEGIES["statefulsets"].validate_update(sts_new, sts_old) == []


# --------------------------------------------------------------------------- through a real apiserver


def test_api_rejects_invalid_workloads_and_stores_defaults(client, namespace):
    def body(**spec) -> dict:
        d = deployment(**spec)
        del d["metadata"]["namespace"]
        return d

    with pytest.raises(errors.Invalid) as e:
        client.create("deployments", body(selector={"matchLabels": {"app": "nope"}}), namespace)
    assert "`selector` does not match template `labels`" in str(e.value)
    d = client.create("deployments", body(), namespace)
    assert d["spec"]["replicas"] == 1 and d["metadata"]["generation"] == 1
    d["spec"]["replicas"] = 2
    d = client.update("deployments", d)
    assert d["metadata"]["generation"] == 2
    d["status"] = {"replicas": 2, "observedGeneration": 2}
    d["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = "1"
    d = client.update_status("deployments", d)
    assert d["status"]["replicas"] == 2 and d["metadata"]["generation"] == 2
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"


@pytest.mark.parametrize(("policy", "finalizer"), [("Foreground", "foregroundDeletion"), ("Orphan", "orphan")])
def test_delete_propagation_policy_adds_its_finalizer(client, namespace, policy, finalizer):
    client.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}, namespace)
    gone = client.delete("configmaps", "cm", namespace, propagation_policy=policy)
    assert gone["metadata"]["finalizers"] == [finalizer] and gone["metadata"]["deletionTimestamp"]
    stored = client.get("configmaps", "cm", namespace)
    assert stored["metadata"]["finalizers"] == [finalizer]
    again = client.delete("configmaps", "cm", namespace, propagation_policy=policy)
    assert again["metadata"]["finalizers"] == [finalizer], "a second delete adds nothing"
    stored["metadata"]["finalizers"] = []
    client.update("configmaps", stored)
    with pytest.raises(errors.NotFound):
        client.get("configmaps", "cm", namespace)


def test_delete_background_removes_at_once_and_unknown_policy_is_invalid(client, namespace):
    client.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}, namespace)
    with pytest.raises(errors.Invalid) as e:
        client.delete("configmaps", "cm", namespace, propagation_policy="Sideways")
    assert 'Unsupported value: "Sideways"' in str(e.value)
    client.delete("configmaps", "cm", namespace, propagation_policy="Background")
    with pytest.raises(errors.NotFound):
        client.get("configmaps", "cm", namespace)
