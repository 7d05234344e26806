"""The node lifecycle controller with injected clocks: lease monitoring and the grace period,
Unknown conditions, not-ready/unreachable taints, taint-based eviction with tolerationSeconds,
the per-zone tainting rate, disruption modes and recovery."""

from __future__ import annotations

import datetime as dt

from controller_manager.nodelifecycle import (
    NOT_READY,
    UNREACHABLE,
    NodeLifecycleConfig,
    NodeLifecycleController,
    TokenBucket,
    min_toleration_s,
)
from machinery import meta
from tests.unit.test_controller_common import BASE_TIME, FakeAPI, drain


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Env:
    def __init__(self, nodes: int = 3, **config):
        self.api = FakeAPI()
        self.clock = Clock()
        self.wall = {"now": BASE_TIME}
        # A long monitor period so the returned requeue delays show the next deadline.
        cfg = NodeLifecycleConfig(**{"grace_period_s": 40.0, "eviction_rate": 0.1, "monitor_period_s": 1000.0,
                                     **config})
        for i in range(1, nodes + 1):
            self.api.create("nodes", {"metadata": {"name": f"n{i}"}, "spec": {}, "status": {}})
            self.heartbeat(f"n{i}")
        self.nlc = NodeLifecycleController(self.api, self.api.lister("nodes"), self.api.lister("leases"),
                                           self.api.lister("pods"), config=cfg, clock=self.clock,
                                           now=lambda: self.wall["now"])

    def advance(self, seconds: float) -> None:
        self.clock.t += seconds
        self.wall["now"] += dt.timedelta(seconds=seconds)

    def heartbeat(self, name: str, ready: str = "True") -> None:
        """What a kubelet does: renew the lease and post Ready with a new heartbeat."""
        now = meta.format_micro_time(self.wall["now"] if hasattr(self, "wall") else BASE_TIME)
        try:
            self.api.mutate("leases", name, "kube-node-lease", lambda lease: lease["spec"].update(renewTime=now))
            if not any(lease["metadata"]["name"] == name for lease in self.api.of("leases")):
                raise LookupError
        except LookupError:
            self.api.create("leases", {"metadata": {"name": name, "namespace": "kube-node-lease"},
                                       "spec": {"holderIdentity": name, "renewTime": now}})

        def post(node: dict) -> None:
            meta.set_condition(node.setdefault("status", {}), "Ready", ready,
                               "KubeletReady" if ready == "True" else "KubeletNotReady", now=now, heartbeat=True)
            node["status"]["conditions"][-1]["lastHeartbeatTime"] = now

        self.api.mutate("nodes", name, "", post, status=True)

    def sync(self, *names: str) -> dict[str, float]:
        return {n: self.nlc.reconcile(n) for n in names or [f"n{i}" for i in range(1, 1 + len(
            self.api.of("nodes")))]}

    def node(self, name: str) -> dict:
        return self.api.get("nodes", name)

    def taints(self, name: str) -> set[tuple[str, str]]:
        return {(t["key"], t["effect"]) for t in self.node(name)["spec"].get("taints") or []}

    def pod(self, name: str, node: str, tolerations: list | None = None) -> dict:
        pod = self.api.create("pods", {"metadata": {"name": name, "namespace": "ns"},
                                       "spec": {"containers": [{"name": "c", "image": "x"}],
                                                "tolerations": tolerations or []}})
        return self.api.set_pod(pod, "ns", node=node, phase="Running", ready=True)


def ready_condition(node: dict) -> dict:
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


def test_a_silent_node_becomes_unknown_after_the_grace_period_and_is_tainted():
    env = Env()
    env.pod("p", "n1", tolerations=[{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                                     "tolerationSeconds": 300}])
    env.sync()
    for _ in range(3):  # n2 and n3 keep renewing, n1 is silent
        env.advance(15)
        env.heartbeat("n2")
        env.heartbeat("n3")
        env.sync()
    cond = ready_condition(env.node("n1"))
    assert (cond["status"], cond["reason"], cond["message"]) == ("Unknown", "NodeStatusUnknown",
                                                                 "Kubelet stopped posting node status.")
    kinds = {c["type"]: c["status"] for c in env.node("n1")["status"]["conditions"]}
    assert kinds == {"Ready": "Unknown", "MemoryPressure": "Unknown", "DiskPressure": "Unknown",
                     "PIDPressure": "Unknown"}
    assert env.taints("n1") == {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
    assert next(t for t in env.node("n1")["spec"]["taints"] if t["effect"] == "NoExecute")["timeAdded"]
    assert ready_condition(env.node("n2"))["status"] == "True" and not env.taints("n2")
    pod = env.api.get("pods", "p", "ns")
    assert next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")["status"] == "False"
    assert not pod["metadata"].get("deletionTimestamp"), "tolerated for 300 s"


def test_a_lease_renewal_alone_keeps_a_node_healthy():
    env = Env(nodes=1)
    env.sync()
    for _ in range(5):
        env.advance(20)
        env.api.mutate("leases", "n1", "kube-node-lease",
                       lambda lease: lease["spec"].update(renewTime=meta.format_micro_time(env.wall["now"])))
        env.sync()
    assert ready_condition(env.node("n1"))["status"] == "True"


def test_a_not_ready_node_gets_the_not_ready_taints_and_they_go_when_it_recovers():
    env = Env()
    env.heartbeat("n1", ready="False")
    env.sync()
    assert env.taints("n1") == {(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")}
    env.heartbeat("n1", ready="True")
    env.sync()
    assert env.taints("n1") == set()


def test_other_taints_are_kept():
    env = Env()
    env.api.mutate("nodes", "n1", "", lambda n: n["spec"].update(taints=[{"key": "gpu", "effect": "NoSchedule"}]))
    env.heartbeat("n1", ready="False")
    env.sync()
    env.heartbeat("n1")
    env.sync()
    assert env.taints("n1") == {("gpu", "NoSchedule")}


def test_taint_based_eviction_honours_toleration_seconds():
    env = Env()
    env.pod("intolerant", "n1")
    env.pod("short", "n1", tolerations=[{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                                         "tolerationSeconds": 30}])
    env.pod("forever", "n1", tolerations=[{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}])
    env.pod("elsewhere", "n2")
    env.sync()
    env.advance(41)
    env.heartbeat("n2")
    env.heartbeat("n3")
    waits = env.sync()
    deleted = {p["metadata"]["name"] for p in env.api.of("pods", "ns") if p["metadata"].get("deletionTimestamp")}
    assert deleted == {"intolerant"}, "no toleration: evicted at once"
    assert 29 <= waits["n1"] <= 31, "looked at again when the 30 s are up"
    intolerant = env.api.get("pods", "intolerant", "ns")
    disruption = next(c for c in intolerant["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert disruption["reason"] == "DeletionByTaintManager"
    env.advance(31)
    env.heartbeat("n2")
    env.heartbeat("n3")
    env.sync()
    deleted = {p["metadata"]["name"] for p in env.api.of("pods", "ns") if p["metadata"].get("deletionTimestamp")}
    assert deleted == {"intolerant", "short"}
    events = [e for e in env.api.of("events", "ns") if e["reason"] == "TaintManagerEviction"]
    assert {e["involvedObject"]["name"] for e in events} == {"intolerant", "short"}


def test_no_execute_tainting_is_rate_limited_per_zone():
    env = Env(nodes=10, eviction_rate=0.1)
    env.sync()
    env.advance(41)
    for i in range(3, 11):
        env.heartbeat(f"n{i}")
    waits = env.sync("n1", "n2")
    no_execute = [n for n in ("n1", "n2") if (UNREACHABLE, "NoExecute") in env.taints(n)]
    assert len(no_execute) == 1, "one token: one node tainted now"
    assert all((UNREACHABLE, "NoSchedule") in env.taints(n) for n in ("n1", "n2")), "NoSchedule is not limited"
    other = "n2" if no_execute == ["n1"] else "n1"
    assert 9 <= waits[other] <= 10.5
    env.advance(10)
    for i in range(3, 11):
        env.heartbeat(f"n{i}")
    env.sync(other)
    assert (UNREACHABLE, "NoExecute") in env.taints(other)


def test_small_partially_disrupted_zone_stops_tainting_and_full_disruption_untaints():
    env = Env(nodes=4)
    env.sync()
    env.advance(41)
    env.heartbeat("n4")
    env.sync()
    assert not any((UNREACHABLE, "NoExecute") in env.taints(f"n{i}") for i in (1, 2, 3)), \
        "3 of 4 not ready in a small cluster: evictions stop"
    env.advance(41)
    env.sync()
    assert all(not any(e == "NoExecute" for _, e in env.taints(f"n{i}")) for i in range(1, 5)), \
        "every node down: the controller blames its own connectivity"


def test_the_kubelet_returning_makes_the_node_ready_and_untainted():
    env = Env()
    env.sync()
    env.advance(41)
    env.heartbeat("n2")
    env.heartbeat("n3")
    env.sync()
    assert (UNREACHABLE, "NoExecute") in env.taints("n1")
    env.advance(5)
    env.heartbeat("n1")
    env.sync("n1")
    assert ready_condition(env.node("n1"))["status"] == "True" and env.taints("n1") == set()


def test_token_bucket_and_min_toleration():
    t = {"now": 0.0}
    bucket = TokenBucket(0.5, lambda: t["now"])
    assert bucket.take() == 0.0
    assert bucket.take() == 2.0
    t["now"] = 2.0
    assert bucket.take() == 0.0
    bucket.set_rate(0.0)
    assert bucket.take() == float("inf")
    bucket.set_rate(1.0)
    assert bucket.take() == 0.0, "a new rate starts a full bucket"
    taint = [{"key": UNREACHABLE, "effect": "NoExecute"}]
    assert min_toleration_s(taint, [{"operator": "Exists"}]) is None
    assert min_toleration_s(taint, [{"key": UNREACHABLE, "operator": "Exists", "tolerationSeconds": 7},
                                    {"operator": "Exists", "tolerationSeconds": 3}]) == 3.0


def test_pods_on_a_node_are_indexed_and_requeue_when_bound_to_a_tainted_node():
    env = Env()
    env.heartbeat("n1", ready="False")
    env.sync()
    drain(env.nlc)
    env.pod("late", "n1")
    assert "n1" in drain(env.nlc)
    assert env.api.get("pods", "late", "ns")["metadata"].get("deletionTimestamp")


def test_a_node_that_never_posted_ready_gets_the_startup_grace_period():
    env = Env(nodes=1, startup_grace_period_s=100.0)
    env.api.create("nodes", {"metadata": {"name": "fresh"}, "spec": {}, "status": {}})
    env.sync("fresh")
    env.advance(60)
    env.sync("fresh")
    assert not (env.node("fresh")["status"].get("conditions")), "still within the startup grace"
    env.advance(41)
    env.sync("fresh")
    cond = ready_condition(env.node("fresh"))
    assert (cond["status"], cond["reason"], cond["message"]) == ("Unknown", "NodeStatusNeverUpdated",
                                                                 "Kubelet never posted node status.")
