"""The Deployment controller (with the ReplicaSet controller and a fake kubelet) against an
in-memory API: fenceposts, ReplicaSet naming and revisions, the rolling-update invariant at every
step, Recreate, proportional scaling, history cleanup, rollback, pause and progress deadlines."""

from __future__ import annotations

import datetime as dt

import pytest

from controller_manager import deployment as dep
from controller_manager.deployment import DeploymentController, fenceposts
from controller_manager.replicaset import ReplicaSetController
from tests.unit.test_controller_common import FakeAPI, drain, fixed_now, workload_pod_template


class Env:
    def __init__(self, now=None):
        self.api = FakeAPI()
        self.now = now or fixed_now()
        self.dc = DeploymentController(self.api, self.api.lister("deployments"), self.api.lister("replicasets"),
                                       self.api.lister("pods"), now=self.now)
        self.rsc = ReplicaSetController(self.api, self.api.lister("replicasets"), self.api.lister("pods"),
                                        now=self.now)

    def settle(self, *, kubelet: bool = True, check=None, rounds: int = 60) -> None:
        """Run both controllers (and the fake kubelet) until nothing changes."""
        for _ in range(rounds):
            did = drain(self.dc) + drain(self.rsc)
            if kubelet:
                did += self.kubelet()
            if check:
                check(self)
            if not did:
                return
        raise AssertionError("did not settle")

    def kubelet(self) -> list:
        """Pending pods start and become ready; pods being deleted go away."""
        done = []
        for pod in self.api.of("pods", "ns"):
            if pod["metadata"].get("deletionTimestamp"):
                self.api.remove("pods", pod["metadata"]["name"], "ns")
                done.append(pod)
            elif pod["status"].get("phase") == "Pending":
                self.api.set_pod(pod, "ns", node="n1", phase="Running", ready=True, ready_since="2026-01-01T00:00:00Z")
                done.append(pod)
        return done

    def d(self, name: str = "web") -> dict:
        return self.api.get("deployments", name, "ns")

    def rss(self) -> dict[str, dict]:
        return {rs["metadata"]["annotations"].get(dep.REVISION): rs for rs in self.api.of("replicasets", "ns")}

    def pods(self, *, ready_only: bool = False) -> list[dict]:
        out = [p for p in self.api.of("pods", "ns") if not p["metadata"].get("deletionTimestamp")]
        if ready_only:
            out = [p for p in out if any(c["type"] == "Ready" and c["status"] == "True"
                                         for c in p["status"].get("conditions") or [])]
        return out

    def set_image(self, image: str, name: str = "web") -> None:
        self.api.mutate("deployments", name, "ns",
                        lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image=image))


def deployment(name: str = "web", replicas: int = 3, **spec) -> dict:
    labels = {"app": name}
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": workload_pod_template(labels), "revisionHistoryLimit": 10,
                     "progressDeadlineSeconds": 600,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%",
                                                                             "maxUnavailable": "25%"}}}}
    body["spec"].update(spec)
    return body


@pytest.mark.parametrize(("replicas", "surge", "unavailable", "want"), [
    (10, "25%", "25%", (3, 2)), (4, "25%", "25%", (1, 1)), (1, "25%", "25%", (1, 0)), (3, 0, 0, (0, 1)),
    (5, "0%", "10%", (0, 1)), (10, 2, "50%", (2, 5))])
def test_fenceposts_round_surge_up_and_unavailable_down(replicas, surge, unavailable, want):
    d = deployment(replicas=replicas, strategy={"type": "RollingUpdate",
                                                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})
    assert fenceposts(d) == want


def test_creates_replicaset_named_by_template_hash_with_revision_and_conditions():
    env = Env()
    env.api.create("deployments", deployment(replicas=3))
    env.settle()
    (rs,) = env.api.of("replicasets", "ns")
    pod_hash = rs["metadata"]["labels"][dep.HASH_LABEL]
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", dep.HASH_LABEL: pod_hash}}
    assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", dep.HASH_LABEL: pod_hash}
    assert rs["metadata"]["annotations"] == {dep.REVISION: "1", dep.DESIRED_REPLICAS: "3", dep.MAX_REPLICAS: "4"}
    assert all(p["metadata"]["labels"][dep.HASH_LABEL] == pod_hash for p in env.pods())
    d = env.d()
    assert d["metadata"]["annotations"][dep.REVISION] == "1"
    status = d["status"]
    assert {k: status.get(k) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                                       "observedGeneration")} == {"replicas": 3, "updatedReplicas": 3,
                                                                  "readyReplicas": 3, "availableReplicas": 3,
                                                                  "observedGeneration": 1}
    assert "unavailableReplicas" not in status
    conds = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conds == {"Available": ("True", "MinimumReplicasAvailable"),
                     "Progressing": ("True", "NewReplicaSetAvailable")}
    events = [e["message"] for e in env.api.of("events", "ns") if e["reason"] == "ScalingReplicaSet"]
    assert events == [f"Scaled up replica set web-{pod_hash} from 0 to 3"]


@pytest.mark.parametrize(("replicas", "surge", "unavailable"), [(4, 1, 1), (5, 0, 1), (6, 2, 0), (10, "25%", "25%")])
def test_rolling_update_never_breaks_max_surge_or_max_unavailable(replicas, surge, unavailable):
    env = Env()
    env.api.create("deployments", deployment(replicas=replicas, strategy={
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}))
    env.settle()
    max_surge, max_unavailable = fenceposts(env.d())
    old_uids = {p["metadata"]["uid"] for p in env.pods()}

    def check(e: Env) -> None:
        assert len(e.pods(ready_only=True)) >= replicas - max_unavailable
        assert len(e.pods()) <= replicas + max_surge

    env.set_image("nginx:2")
    env.settle(check=check)
    new = env.pods()
    assert len(new) == replicas and not {p["metadata"]["uid"] for p in new} & old_uids
    assert all(p["spec"]["containers"][0]["image"] == "nginx:2" for p in new)
    rss = env.rss()
    assert rss["2"]["spec"]["replicas"] == replicas and rss["1"]["spec"]["replicas"] == 0
    assert env.d()["metadata"]["annotations"][dep.REVISION] == "2"


def test_recreate_removes_every_old_pod_before_creating_new_ones():
    env = Env()
    env.api.create("deployments", deployment(replicas=3, strategy={"type": "Recreate"}))
    env.settle()
    env.set_image("nginx:2")
    drain(env.dc)
    assert len(env.api.of("replicasets", "ns")) == 1, "no new ReplicaSet while old pods exist"
    assert env.rss()["1"]["spec"]["replicas"] == 0

    def check(e: Env) -> None:
        images = {p["spec"]["containers"][0]["image"] for p in e.api.of("pods", "ns")}
        assert len(images) <= 1, "old and new pods never together"

    env.settle(check=check)
    assert {p["spec"]["containers"][0]["image"] for p in env.pods()} == {"nginx:2"}
    assert len(env.pods()) == 3


def test_scaling_mid_rollout_is_proportional():
    env = Env()
    env.api.create("deployments", deployment(replicas=10, strategy={
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}))
    env.settle()
    env.set_image("nginx:2")
    env.settle(kubelet=False)  # new pods never become ready: the rollout is stuck part way
    rss = env.rss()
    assert (rss["1"]["spec"]["replicas"], rss["2"]["spec"]["replicas"]) == (8, 5)
    env.api.mutate("deployments", "web", "ns", lambda d: d["spec"].update(replicas=15))
    env.settle(kubelet=False)
    rss = env.rss()
    assert (rss["1"]["spec"]["replicas"], rss["2"]["spec"]["replicas"]) == (11, 7)
    assert rss["1"]["metadata"]["annotations"][dep.DESIRED_REPLICAS] == "15"
    assert rss["2"]["metadata"]["annotations"][dep.MAX_REPLICAS] == "18"


def test_old_replicasets_beyond_revision_history_limit_are_deleted():
    env = Env()
    env.api.create("deployments", deployment(replicas=1, revisionHistoryLimit=1))
    env.settle()
    for image in ("nginx:2", "nginx:3", "nginx:4"):
        env.set_image(image)
        env.settle()
    assert sorted(env.rss()) == ["3", "4"]


def test_rollback_reuses_the_old_replicaset_with_the_next_revision():
    env = Env()
    env.api.create("deployments", deployment(replicas=2))
    env.settle()
    first = env.rss()["1"]
    env.set_image("nginx:2")
    env.settle()
    template = dep.without_hash(first["spec"]["template"])
    env.api.mutate("deployments", "web", "ns", lambda d: d["spec"].update(template=template))
    env.settle()
    rss = env.rss()
    assert sorted(rss) == ["2", "3"]
    assert rss["3"]["metadata"]["uid"] == first["metadata"]["uid"]
    assert rss["3"]["metadata"]["annotations"][dep.REVISION_HISTORY] == "1"
    assert rss["3"]["spec"]["replicas"] == 2 and rss["2"]["spec"]["replicas"] == 0
    assert env.d()["metadata"]["annotations"][dep.REVISION] == "3"


def test_paused_deployment_scales_but_does_not_roll_out():
    env = Env()
    env.api.create("deployments", deployment(replicas=2))
    env.settle()
    env.api.mutate("deployments", "web", "ns", lambda d: d["spec"].update(paused=True))
    env.set_image("nginx:2")
    env.api.mutate("deployments", "web", "ns", lambda d: d["spec"].update(replicas=4))
    env.settle()
    assert list(env.rss()) == ["1"] and env.rss()["1"]["spec"]["replicas"] == 4
    cond = next(c for c in env.d()["status"]["conditions"] if c["type"] == "Progressing")
    assert (cond["status"], cond["reason"], cond["message"]) == ("Unknown", "DeploymentPaused",
                                                                 "Deployment is paused")
    env.api.mutate("deployments", "web", "ns", lambda d: d["spec"].update(paused=False))
    env.settle()
    assert env.rss()["2"]["spec"]["replicas"] == 4 and env.rss()["1"]["spec"]["replicas"] == 0


def test_progress_deadline_exceeded_when_new_pods_never_become_ready():
    now = fixed_now()
    env = Env(now)
    env.api.create("deployments", deployment(replicas=2, progressDeadlineSeconds=10))
    env.settle(kubelet=False)
    cond = next(c for c in env.d()["status"]["conditions"] if c["type"] == "Progressing")
    assert cond["reason"] in ("NewReplicaSetCreated", "ReplicaSetUpdated")  # pods appeared: progress
    retry = env.dc.reconcile("ns/web")
    assert retry is not None and 10 <= retry <= 12, "looked at again when the deadline would pass"
    now.box["now"] += dt.timedelta(seconds=11)
    env.dc.reconcile("ns/web")
    cond = next(c for c in env.d()["status"]["conditions"] if c["type"] == "Progressing")
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert cond["message"] == f'ReplicaSet "{env.api.of("replicasets", "ns")[0]["metadata"]["name"]}" has timed out ' \
                              "progressing."
    available = next(c for c in env.d()["status"]["conditions"] if c["type"] == "Available")
    assert available["status"] == "False" and env.d()["status"]["unavailableReplicas"] == 2


def test_adopts_an_orphaned_replicaset_with_matching_template():
    env = Env()
    env.api.create("deployments", deployment(replicas=2))
    env.settle()
    (rs,) = env.api.of("replicasets", "ns")
    env.api.delete("deployments", "web", "ns", propagation_policy="Orphan")
    env.api.mutate("replicasets", rs["metadata"]["name"], "ns",
                   lambda r: r["metadata"].pop("ownerReferences"))
    env.api.mutate("deployments", "web", "ns", lambda d: d["metadata"].update(finalizers=[]))
    env.api.create("deployments", deployment(replicas=2))
    env.settle()
    (again,) = env.api.of("replicasets", "ns")
    assert again["metadata"]["uid"] == rs["metadata"]["uid"]
    assert again["metadata"]["ownerReferences"][0]["uid"] == env.d()["metadata"]["uid"]
