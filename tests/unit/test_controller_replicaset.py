"""The ReplicaSet controller against an in-memory API: creation, expectations under informer
lag, scale-down choice, adoption and release, status with minReadySeconds."""

from __future__ import annotations

from controller_manager.replicaset import ReplicaSetController
from machinery import errors
from tests.unit.test_controller_common import FakeAPI, drain, fixed_now, workload_pod_template


def make(api: FakeAPI, **kw) -> ReplicaSetController:
    return ReplicaSetController(api, api.lister("replicasets"), api.lister("pods"), **kw)


def rs_body(name: str = "web", replicas: int = 3, labels: dict | None = None, **spec) -> dict:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": workload_pod_template(labels), **spec}}


def live_pods(api: FakeAPI) -> list[dict]:
    return [p for p in api.of("pods", "ns") if not p["metadata"].get("deletionTimestamp")]


def test_creates_the_missing_pods_named_after_the_replicaset_with_controller_ref():
    api = FakeAPI()
    rsc = make(api)
    rs = api.create("replicasets", rs_body(replicas=3))
    drain(rsc)
    pods = live_pods(api)
    assert len(pods) == 3
    for pod in pods:
        assert pod["metadata"]["generateName"] == "web-"
        assert pod["metadata"]["labels"] == {"app": "web"}
        ref = pod["metadata"]["ownerReferences"][0]
        assert ref == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": rs["metadata"]["uid"],
                       "controller": True, "blockOwnerDeletion": True}
    status = api.get("replicasets", "web", "ns")["status"]
    assert status == {"replicas": 3, "fullyLabeledReplicas": 3, "observedGeneration": 1}


def test_informer_lag_never_creates_extra_pods():
    api = FakeAPI(lag=True)
    rsc = make(api)
    api.create("replicasets", rs_body(replicas=2))
    api.flush()
    drain(rsc)
    assert len(api.of("pods")) == 2
    for _ in range(3):  # the ReplicaSet is synced again before the informer shows the pods
        rsc.enqueue("ns/web")
        drain(rsc)
    assert len(api.of("pods")) == 2, "unobserved creations hold the controller back"
    api.flush()
    drain(rsc)
    assert len(api.of("pods")) == 2


def test_replaces_a_deleted_pod():
    api = FakeAPI()
    rsc = make(api)
    api.create("replicasets", rs_body(replicas=2))
    drain(rsc)
    victim = live_pods(api)[0]
    api.delete("pods", victim["metadata"]["name"], "ns")
    drain(rsc)
    names = {p["metadata"]["name"] for p in live_pods(api)}
    assert len(names) == 2 and victim["metadata"]["name"] not in names


def test_scale_down_deletes_unscheduled_then_not_ready_pods_first():
    api = FakeAPI()
    rsc = make(api)
    api.create("replicasets", rs_body(replicas=4))
    drain(rsc)
    pods = live_pods(api)
    api.set_pod(pods[0], "ns", node="n1", phase="Running", ready=True)
    api.set_pod(pods[1], "ns", node="n2", phase="Running", ready=True)
    api.set_pod(pods[2], "ns", node="n3", phase="Running", ready=False)
    # pods[3] stays unscheduled
    api.mutate("replicasets", "web", "ns", lambda rs: rs["spec"].update(replicas=2))
    drain(rsc)
    remaining = {p["metadata"]["name"] for p in live_pods(api)}
    assert remaining == {pods[0]["metadata"]["name"], pods[1]["metadata"]["name"]}


def test_adopts_matching_orphans_and_releases_pods_that_stop_matching():
    api = FakeAPI()
    rsc = make(api)
    api.create("pods", {"metadata": {"name": "orphan", "namespace": "ns", "labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "c", "image": "x"}]}})
    rs = api.create("replicasets", rs_body(replicas=1))
    drain(rsc)
    assert [p["metadata"]["name"] for p in live_pods(api)] == ["orphan"], "adopted, nothing created"
    assert api.get("pods", "orphan", "ns")["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
    api.mutate("pods", "orphan", "ns", lambda p: p["metadata"]["labels"].update(app="other"))
    drain(rsc)
    assert not api.get("pods", "orphan", "ns")["metadata"].get("ownerReferences"), "released"
    assert len(live_pods(api)) == 2, "and replaced"


def test_status_counts_ready_and_available_after_min_ready_seconds():
    api = FakeAPI()
    now = fixed_now(100)
    rsc = make(api, now=now)
    api.create("replicasets", rs_body(replicas=2, minReadySeconds=10))
    drain(rsc)
    pods = live_pods(api)
    api.set_pod(pods[0], "ns", node="n1", phase="Running", ready=True, ready_since="2026-01-01T00:00:30Z")
    api.set_pod(pods[1], "ns", node="n1", phase="Running", ready=True, ready_since="2026-01-01T00:01:35Z")
    drain(rsc)
    status = api.get("replicasets", "web", "ns")["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (2, 2, 1)
    retry = rsc.reconcile("ns/web")
    assert retry is not None and 5 < retry < 6, "looked at again when the second pod becomes available"


def test_failed_creation_sets_replica_failure_and_retries():
    api = FakeAPI()
    rsc = make(api)
    api.create("replicasets", rs_body(replicas=2))
    api.fail["create"] = errors.Forbidden('pods "x" is forbidden: exceeded quota')
    try:
        rsc.reconcile("ns/web")
    except errors.Forbidden:
        pass
    else:
        raise AssertionError("the error is raised so the key is retried with backoff")
    cond = api.get("replicasets", "web", "ns")["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("ReplicaFailure", "True", "FailedCreate")
    assert rsc.expectations.satisfied("ns/web"), "failed creations are not waited for"
    del api.fail["create"]
    rsc.reconcile("ns/web")
    assert len(live_pods(api)) == 2
    assert "conditions" not in api.get("replicasets", "web", "ns")["status"]


def test_a_replicaset_being_deleted_creates_nothing():
    api = FakeAPI()
    rsc = make(api)
    body = rs_body(replicas=2)
    body["metadata"]["finalizers"] = ["foregroundDeletion"]
    api.create("replicasets", body)
    api.delete("replicasets", "web", "ns")
    drain(rsc)
    assert live_pods(api) == []
