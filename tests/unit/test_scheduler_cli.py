"""``kubemu kubectl explain-schedule`` and the scheduler's Explain service: finding the leader
through its Lease, the gRPC answers (leader, standby, unknown pod), and the table."""

from __future__ import annotations

import argparse
import copy
import io
import json
from concurrent import futures

import grpc
import pytest

from kubemu import kubectl_scheduling as ks
from machinery import errors
from machinery.pb import scheduler_pb2_grpc
from scheduler import service

FAILED = {"pod": "demo/huge", "profile": "default-scheduler", "dryRun": True, "time": "2025-11-25T10:00:00Z",
          "selected": "", "message": "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
                                     "{dedicated: gpu}.",
          "weights": {"TaintToleration": 3, "NodeResourcesFit": 1},
          "nodes": [{"node": "node-1", "feasible": False, "code": "Unschedulable", "rejectedBy": "NodeResourcesFit",
                     "reasons": ["Insufficient cpu"], "scores": {}, "total": 0},
                    {"node": "node-2", "feasible": False, "code": "UnschedulableAndUnresolvable",
                     "rejectedBy": "TaintToleration", "reasons": ["node(s) had untolerated taint {dedicated: gpu}"],
                     "scores": {}, "total": 0}],
          "lastDecision": {"time": "2025-11-25T09:59:00Z", "attempts": 3, "message": "0/2 nodes are available: …"}}
PLACED = {"pod": "demo/web", "profile": "default-scheduler", "dryRun": False, "selected": "node-2",
          "weights": {"TaintToleration": 3, "NodeResourcesFit": 1},
          "nodes": [{"node": "node-1", "feasible": True, "rejectedBy": "", "reasons": [],
                     "scores": {"TaintToleration": 100, "NodeResourcesFit": 40}, "total": 340},
                    {"node": "node-2", "feasible": True, "rejectedBy": "", "reasons": [],
                     "scores": {"TaintToleration": 100, "NodeResourcesFit": 90}, "total": 390}]}


def test_the_cli_and_the_scheduler_agree_on_the_lease_annotations():
    assert (ks.ADDRESS_ANNOTATION, ks.IDENTITY_ANNOTATION) == (service.ADDRESS_ANNOTATION,
                                                                service.IDENTITY_ANNOTATION)


# --- rendering -----------------------------------------------------------------------------------


def test_render_names_the_rejecting_plugin_and_reason_per_node():
    lines = ks.render(FAILED).splitlines()
    assert lines[0] == "Pod demo/huge (profile default-scheduler), dry run at 2025-11-25T10:00:00Z"
    assert lines[1] == FAILED["message"]
    assert lines[2].startswith("Last real attempt at 2025-11-25T09:59:00Z after 3 attempt(s)")
    header = lines[4].split("   ")
    assert [h.strip() for h in header if h.strip()] == ["NODE", "FEASIBLE", "REJECTED BY", "REASON",
                                                         "TaintToleration", "NodeResourcesFit", "TOTAL"]
    assert lines[5].split()[:4] == ["node-1", "No", "NodeResourcesFit", "Insufficient"]
    assert "node(s) had untolerated taint {dedicated: gpu}" in lines[6]
    assert lines[6].split()[-3:] == ["-", "-", "-"]


def test_render_shows_scores_weights_and_the_chosen_node():
    text = ks.render(PLACED)
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.startswith("node-")}
    assert rows["node-1"][-3:] == ["100", "40", "340"]
    assert rows["node-2"][-4:] == ["100", "90", "390", "*"]
    assert "Selected node: node-2" in text
    assert "TOTAL = TaintToleration×3 + NodeResourcesFit×1" in text


# --- argument parsing ------------------------------------------------------------------------------


def test_register_adds_the_command_without_clobbering_a_parent_namespace():
    parent = argparse.ArgumentParser()
    parent.add_argument("-n", "--namespace", default=None)
    sub = parent.add_subparsers(dest="command")
    ks.register(sub)
    args = parent.parse_args(["-n", "demo", "explain-schedule", "web"])
    assert (args.command, args.pod, args.namespace, args.lease) == ("explain-schedule", "web", "demo",
                                                                     "kube-system/kube-scheduler")
    args = parent.parse_args(["explain-schedule", "pod/web", "-n", "other", "--scheduler-address", "h:1", "-o",
                              "json", "--last"])
    assert (args.namespace, args.scheduler_address, args.output, args.last) == ("other", "h:1", "json", True)


# --- finding the scheduler -------------------------------------------------------------------------


class LeaseClient:
    def __init__(self, lease: dict | None):
        self.lease = lease

    def get(self, resource, name, namespace=""):
        assert (resource, name, namespace) == ("leases", "kube-scheduler", "kube-system")
        if self.lease is None:
            raise errors.NotFound('leases.coordination.k8s.io "kube-scheduler" not found')
        return copy.deepcopy(self.lease)

    def mutate(self, resource, name, namespace, change, *, status=False, attempts=10):
        obj = self.get(resource, name, namespace)
        if change(obj) is False:
            return None
        self.lease = obj
        return obj


def lease(holder: str, annotations: dict | None = None) -> dict:
    return {"metadata": {"name": "kube-scheduler", "namespace": "kube-system", "annotations": annotations or {}},
            "spec": {"holderIdentity": holder}}


def test_find_scheduler_reads_the_holders_advertised_address():
    client = LeaseClient(lease("a", {ks.ADDRESS_ANNOTATION: "10.0.0.1:10259", ks.IDENTITY_ANNOTATION: "a"}))
    assert ks.find_scheduler(client) == "10.0.0.1:10259"


@pytest.mark.parametrize(("value", "match"), [
    (None, "lease kube-system/kube-scheduler does not exist"),
    (lease(""), "no scheduler holds lease"),
    (lease("b", {ks.ADDRESS_ANNOTATION: "10.0.0.1:10259", ks.IDENTITY_ANNOTATION: "a"}),
     "the leading scheduler b has not advertised"),
])
def test_find_scheduler_explains_what_is_missing(value, match):
    with pytest.raises(ks.ExplainError, match=match):
        ks.find_scheduler(LeaseClient(value))


def test_the_leader_advertises_only_while_it_holds_the_lease():
    client = LeaseClient(lease("me"))
    assert service.advertise(client, "kube-system", "kube-scheduler", "me", "127.0.0.1:10259")
    assert ks.find_scheduler(client) == "127.0.0.1:10259"
    client.lease["spec"]["holderIdentity"] = "other"
    service.advertise(client, "kube-system", "kube-scheduler", "me", "127.0.0.1:9")
    assert client.lease["metadata"]["annotations"][ks.ADDRESS_ANNOTATION] == "127.0.0.1:10259"


@pytest.mark.parametrize(("bind", "advertise", "expected"), [
    ("0.0.0.0", "", "127.0.0.1:10259"), ("10.1.2.3", "", "10.1.2.3:10259"),
    ("0.0.0.0", "sched.example", "sched.example:10259"), ("0.0.0.0", "lb:443", "lb:443")])
def test_advertised_address(bind, advertise, expected):
    assert service.advertised_address(bind, 10259, advertise) == expected


# --- the gRPC service ---------------------------------------------------------------------------------


class FakeScheduler:
    def __init__(self):
        self.asked = []

    def explain(self, key, *, last_only=False):
        self.asked.append((key, last_only))
        return {"demo/web": PLACED}.get(key)


@pytest.fixture
def server():
    state = {"leading": True}
    fake = FakeScheduler()
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    scheduler_pb2_grpc.add_SchedulerServicer_to_server(
        service.SchedulerServicer(fake, "sched-a", lambda: (state["leading"], "sched-a" if state["leading"]
                                                            else "sched-b")), grpc_server)
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    yield f"127.0.0.1:{port}", state, fake
    grpc_server.stop(0)


def args(**kw) -> argparse.Namespace:
    base = {"pod": "web", "namespace": "demo", "output": "", "last": False, "lease": ks.DEFAULT_LEASE}
    return argparse.Namespace(**{**base, **kw})


def test_run_prints_the_table_from_the_leader(server):
    address, _, fake = server
    out, err = io.StringIO(), io.StringIO()
    assert ks.run(args(scheduler_address=address), None, out=out, err=err) == 0, err.getvalue()
    assert "Selected node: node-2" in out.getvalue()
    assert fake.asked == [("demo/web", False)]
    out = io.StringIO()
    assert ks.run(args(scheduler_address=address, output="json", last=True), None, out=out) == 0
    assert json.loads(out.getvalue())["answeredBy"] == "sched-a"
    assert fake.asked[-1] == ("demo/web", True)


def test_run_finds_the_leader_through_the_lease(server):
    address, _, _ = server
    client = LeaseClient(lease("sched-a", {ks.ADDRESS_ANNOTATION: address, ks.IDENTITY_ANNOTATION: "sched-a"}))
    out = io.StringIO()
    assert ks.run(args(pod="pod/web"), client, out=out, err=io.StringIO()) == 0
    assert "node-2" in out.getvalue()


def test_a_standby_refuses_and_names_the_leader(server):
    address, state, _ = server
    state["leading"] = False
    err = io.StringIO()
    assert ks.run(args(scheduler_address=address), None, out=io.StringIO(), err=err) == 1
    assert err.getvalue() == ("Error from server (ServiceUnavailable): scheduler sched-a is a standby; the leader is "
                              "sched-b\n")


def test_an_unknown_pod_is_not_found(server):
    address, _, _ = server
    err = io.StringIO()
    assert ks.run(args(pod="ghost", scheduler_address=address), None, out=io.StringIO(), err=err) == 1
    assert err.getvalue().startswith('Error from server (NotFound): pod "ghost" not found in namespace "demo"')


def test_an_unreachable_scheduler_is_reported_plainly():
    from kubemu.etcd_server import free_port

    err = io.StringIO()
    address = f"127.0.0.1:{free_port()}"
    assert ks.run(args(scheduler_address=address), None, out=io.StringIO(), err=err) == 1
    assert err.getvalue().startswith(f"error: cannot reach the scheduler at {address}")
