"""The StatefulSet controller against an in-memory API: ordinals, OrderedReady and Parallel,
reverse scale-down, rolling update from the highest ordinal with a partition, revisions."""

from __future__ import annotations

from controller_manager.statefulset import POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL, StatefulSetController
from tests.unit.test_controller_common import FakeAPI, drain, workload_pod_template


def make(api: FakeAPI) -> StatefulSetController:
    return StatefulSetController(api, api.lister("statefulsets"), api.lister("pods"),
                                 api.lister("controllerrevisions"))


def sts_body(replicas: int = 3, **spec) -> dict:
    labels = {"app": "web"}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"replicas": replicas, "serviceName": "web", "selector": {"matchLabels": labels},
                     "template": workload_pod_template(labels), "podManagementPolicy": "OrderedReady",
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}, **spec}}


def names(api: FakeAPI, *, live: bool = True) -> list[str]:
    return sorted(p["metadata"]["name"] for p in api.of("pods", "ns")
                  if not (live and p["metadata"].get("deletionTimestamp")))


def ready(api: FakeAPI, name: str) -> None:
    api.set_pod(name, "ns", node="n1", phase="Running", ready=True)


def kubelet(api: FakeAPI) -> None:
    """Pods being deleted go; others start and become ready."""
    for pod in api.of("pods", "ns"):
        if pod["metadata"].get("deletionTimestamp"):
            api.remove("pods", pod["metadata"]["name"], "ns")
        elif pod["status"].get("phase") != "Running":
            ready(api, pod["metadata"]["name"])


def snapshot(api: FakeAPI) -> list[tuple]:
    return sorted((p["metadata"]["name"], p["metadata"]["uid"], p["status"].get("phase"),
                   bool(p["metadata"].get("deletionTimestamp"))) for p in api.of("pods", "ns"))


def settle(api: FakeAPI, ssc: StatefulSetController) -> None:
    for _ in range(100):
        before = snapshot(api)
        drain(ssc)
        kubelet(api)
        ssc.enqueue("ns/web")
        drain(ssc)
        if snapshot(api) == before:
            return
    raise AssertionError("did not settle")


def test_ordered_ready_creates_one_ordinal_at_a_time():
    api = FakeAPI()
    ssc = make(api)
    api.create("statefulsets", sts_body(replicas=3))
    drain(ssc)
    assert names(api) == ["web-0"]
    ssc.enqueue("ns/web")
    drain(ssc)
    assert names(api) == ["web-0"], "web-1 waits until web-0 is Running and Ready"
    ready(api, "web-0")
    drain(ssc)
    assert names(api) == ["web-0", "web-1"]
    ready(api, "web-1")
    drain(ssc)
    ready(api, "web-2")
    drain(ssc)
    pod = api.get("pods", "web-2", "ns")
    assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == ("web-2", "web")
    assert pod["metadata"]["labels"][POD_NAME_LABEL] == "web-2"
    assert pod["metadata"]["labels"][POD_INDEX_LABEL] == "2"
    revision = pod["metadata"]["labels"][REVISION_LABEL]
    cr = api.get("controllerrevisions", revision, "ns")
    assert cr["revision"] == 1 and cr["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    assert cr["data"]["spec"]["template"]["$patch"] == "replace"
    status = api.get("statefulsets", "web", "ns")["status"]
    assert status["replicas"] == 3 and status["readyReplicas"] == 3
    assert status["currentRevision"] == status["updateRevision"] == revision


def test_parallel_creates_all_at_once():
    api = FakeAPI()
    ssc = make(api)
    api.create("statefulsets", sts_body(replicas=3, podManagementPolicy="Parallel"))
    drain(ssc)
    assert names(api) == ["web-0", "web-1", "web-2"]


def test_scale_down_removes_the_highest_ordinal_first_one_at_a_time():
    api = FakeAPI()
    ssc = make(api)
    api.create("statefulsets", sts_body(replicas=3))
    settle(api, ssc)
    api.mutate("statefulsets", "web", "ns", lambda s: s["spec"].update(replicas=1))
    drain(ssc)
    assert names(api) == ["web-0", "web-1"], "web-2 is terminating"
    ssc.enqueue("ns/web")
    drain(ssc)
    assert names(api) == ["web-0", "web-1"], "web-1 waits until web-2 is gone"
    api.remove("pods", "web-2", "ns")
    drain(ssc)
    assert names(api) == ["web-0"]


def test_identity_is_never_doubled_a_terminating_pod_blocks_its_successor():
    api = FakeAPI()
    ssc = make(api)
    api.create("statefulsets", sts_body(replicas=1))
    settle(api, ssc)
    api.delete("pods", "web-0", "ns")  # graceful: it has a node
    drain(ssc)
    assert names(api, live=False) == ["web-0"] and api.get("pods", "web-0", "ns")["metadata"]["deletionTimestamp"]
    api.remove("pods", "web-0", "ns")
    drain(ssc)
    assert names(api) == ["web-0"]


def test_rolling_update_goes_from_the_highest_ordinal_down_to_the_partition():
    api = FakeAPI()
    ssc = make(api)
    api.create("statefulsets", sts_body(replicas=3))
    settle(api, ssc)
    old = api.get("pods", "web-0", "ns")["metadata"]["labels"][REVISION_LABEL]
    api.mutate("statefulsets", "web", "ns", lambda s: s["spec"].update(
        updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}))
    api.mutate("statefulsets", "web", "ns",
               lambda s: s["spec"]["template"]["spec"]["containers"][0].update(image="nginx:2"))
    drain(ssc)
    assert [p["metadata"]["name"] for p in api.of("pods", "ns") if p["metadata"].get("deletionTimestamp")] == [
        "web-2"], "the highest ordinal goes first"
    ssc.enqueue("ns/web")
    drain(ssc)
    assert len([p for p in api.of("pods", "ns") if p["metadata"].get("deletionTimestamp")]) == 1, "one at a time"
    settle(api, ssc)
    revisions = {p["metadata"]["name"]: p["metadata"]["labels"][REVISION_LABEL] for p in api.of("pods", "ns")}
    assert revisions["web-0"] == old, "below the partition: untouched"
    assert revisions["web-1"] == revisions["web-2"] != old
    status = api.get("statefulsets", "web", "ns")["status"]
    assert status["updatedReplicas"] == 2 and status["currentRevision"] == old != status["updateRevision"]
    # Lower the partition: web-0 follows; the update revision becomes current.
    api.mutate("statefulsets", "web", "ns", lambda s: s["spec"]["updateStrategy"]["rollingUpdate"].update(
        partition=0))
    settle(api, ssc)
    status = api.get("statefulsets", "web", "ns")["status"]
    assert status["currentRevision"] == status["updateRevision"] and status["updatedReplicas"] == 3
    assert status["currentReplicas"] == 3


def test_failed_pods_are_recreated():
    api = FakeAPI()
    ssc = make(api)
    api.create("statefulsets", sts_body(replicas=1))
    settle(api, ssc)
    uid = api.get("pods", "web-0", "ns")["metadata"]["uid"]
    api.set_pod("web-0", "ns", phase="Failed", ready=False)
    drain(ssc)
    pod = api.get("pods", "web-0", "ns")
    assert pod["metadata"]["uid"] != uid and pod["status"]["phase"] == "Pending"


def test_rolling_back_reuses_the_old_revision_with_a_new_number():
    api = FakeAPI()
    ssc = make(api)
    api.create("statefulsets", sts_body(replicas=1))
    settle(api, ssc)
    first = api.get("pods", "web-0", "ns")["metadata"]["labels"][REVISION_LABEL]
    api.mutate("statefulsets", "web", "ns",
               lambda s: s["spec"]["template"]["spec"]["containers"][0].update(image="nginx:2"))
    settle(api, ssc)
    api.mutate("statefulsets", "web", "ns",
               lambda s: s["spec"]["template"]["spec"]["containers"][0].update(image="nginx"))
    settle(api, ssc)
    assert api.get("pods", "web-0", "ns")["metadata"]["labels"][REVISION_LABEL] == first
    assert api.get("controllerrevisions", first, "ns")["revision"] == 3
    assert len(api.of("controllerrevisions", "ns")) == 2
