"""Who may call the kubelet's API: authentication by client certificate and authorization by the
apiserver (machinery/serving_auth.py, kubelet/auth.py), against a real gRPC server over mutual TLS
with certificates from kubemu's own PKI; the apiserver's answers come from a fake review client
(the end-to-end test, tests/e2e/test_kubelet_tls.py, asks a real apiserver)."""

from __future__ import annotations

import argparse
import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from apiserver.admission import UserInfo
from apiserver.authz import Request
from apiserver.authz.node import NodeAuthorizer
from apiserver.authz.rbac import RBACAuthorizer
from apiserver.bootstrap_rbac import KUBELET_CLIENT_USER, cluster_role_bindings, cluster_roles
from kubelet import auth as kubelet_auth
from kubelet.server import KubeletServicer
from kubemu import pki
from machinery import errors
from machinery.client import Credentials, make_channel
from machinery.pb import api_pb2, kubelet_pb2, kubelet_pb2_grpc
from machinery.server import ComponentServer, TLSFiles
from machinery.serving_auth import AuthInterceptor, Caller, ResourceAttributes, WebhookAuthorizer

NODE = "node-7"


class Reviews:
    """The apiserver's side of SubjectAccessReviews: allowed users, or an outage."""

    def __init__(self, allowed: set[str]):
        self.allowed = allowed
        self.asked: list[dict] = []
        self.down = False
        self._lock = threading.Lock()

    def create(self, resource: str, obj: dict, namespace: str = "") -> dict:
        assert resource == "subjectaccessreviews"
        with self._lock:
            self.asked.append(obj)
        if self.down:
            raise errors.Unavailable("the apiserver is away")
        return {**obj, "status": {"allowed": obj["spec"]["user"] in self.allowed}}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------- the webhook authorizer


def test_webhook_asks_the_apiserver_with_the_kubelet_attributes_and_caches_answers():
    reviews, clock = Reviews({"kube-apiserver-kubelet-client"}), Clock()
    webhook = WebhookAuthorizer(reviews, allowed_ttl_s=300, denied_ttl_s=30, clock=clock)
    exec_on_node = ResourceAttributes("create", "nodes", "proxy", NODE)
    apiserver = Caller("kube-apiserver-kubelet-client")
    jane = Caller("jane", ("devs",))

    assert webhook.authorize(apiserver, exec_on_node) == (True, "")
    assert reviews.asked[0]["spec"] == {"user": "kube-apiserver-kubelet-client", "groups": [],
                                        "resourceAttributes": {"verb": "create", "resource": "nodes",
                                                               "subresource": "proxy", "name": NODE}}
    assert webhook.authorize(jane, exec_on_node)[0] is False
    assert reviews.asked[1]["spec"]["groups"] == ["devs"]
    # Both answers are reused ...
    clock.now += 29
    assert webhook.authorize(apiserver, exec_on_node)[0] and not webhook.authorize(jane, exec_on_node)[0]
    assert len(reviews.asked) == 2
    # ... a denial for 30 s, an approval for 5 minutes (the kubelet's defaults).
    clock.now += 2
    reviews.allowed.add("jane")
    assert webhook.authorize(jane, exec_on_node)[0] is True
    assert len(reviews.asked) == 3
    clock.now += 260  # 291 s after the approval
    reviews.allowed.clear()
    assert webhook.authorize(apiserver, exec_on_node)[0] is True
    assert len(reviews.asked) == 3
    clock.now += 10
    assert webhook.authorize(apiserver, exec_on_node)[0] is False
    # Another verb or subresource is another question.
    assert webhook.authorize(jane, ResourceAttributes("get", "nodes", "stats", NODE))[0] is False
    assert webhook.reviews == len(reviews.asked) == 5


def test_webhook_cache_is_bounded_and_an_outage_is_an_error_not_an_answer():
    reviews = Reviews({"a"})
    webhook = WebhookAuthorizer(reviews, max_entries=2)
    attrs = ResourceAttributes("get", "nodes", "proxy", NODE)
    for user in ("a", "b", "c"):
        webhook.authorize(Caller(user), attrs)
    webhook.authorize(Caller("a"), attrs)  # evicted (the oldest): asked again
    assert len(reviews.asked) == 4
    reviews.down = True
    with pytest.raises(errors.Unavailable):
        webhook.authorize(Caller("d"), attrs)


def test_kubelet_rpcs_map_to_the_attributes_kubernetes_gives_its_paths():
    of = kubelet_auth.attributes_for(NODE)
    assert of("/kubemu.v1.Kubelet/Exec") == ResourceAttributes("create", "nodes", "proxy", NODE)
    assert of("/kubemu.v1.Kubelet/ContainerLogs") == ResourceAttributes("get", "nodes", "proxy", NODE)
    assert of("/kubemu.v1.Kubelet/Stats") == ResourceAttributes("get", "nodes", "stats", NODE)
    assert of("/kubemu.v1.Component/Describe") == ResourceAttributes("get", "nodes", "proxy", NODE)
    assert of("/grpc.health.v1.Health/Check") is None
    assert of("/kubemu.v1.Kubelet/SomethingNew") == ResourceAttributes("create", "nodes", "proxy", NODE)


def test_kubelet_authorization_mode_follows_the_serving_flags():
    args = argparse.Namespace(authorization_mode="")
    assert kubelet_auth.mode(args, None) == "AlwaysAllow"
    assert kubelet_auth.mode(args, TLSFiles("c", "k")) == "AlwaysAllow"
    assert kubelet_auth.mode(args, TLSFiles("c", "k", "ca")) == "Webhook"
    with pytest.raises(SystemExit, match="Webhook needs --client-ca-file"):
        kubelet_auth.mode(argparse.Namespace(authorization_mode="Webhook"), TLSFiles("c", "k"))


# --------------------------------------------------------------------------- the default RBAC policy


def test_bootstrap_policy_lets_only_the_apiserver_client_and_admins_use_kubelets():
    objects = {"clusterroles": cluster_roles(), "clusterrolebindings": cluster_role_bindings(), "roles": [],
               "rolebindings": []}
    rbac = RBACAuthorizer(lambda resource: objects[resource])

    def may(user: str, groups: tuple, verb: str, subresource: str) -> bool:
        return rbac.authorize(Request(UserInfo(user, "", (*groups, "system:authenticated")), verb, "nodes", "", "",
                                      NODE, subresource))[0]

    assert may(KUBELET_CLIENT_USER, (), "create", "proxy") and may(KUBELET_CLIENT_USER, (), "get", "stats")
    assert may("admin", ("system:masters",), "create", "proxy")
    assert not may("system:node:node-1", ("system:nodes",), "create", "proxy")
    assert not may("system:kube-scheduler", (), "get", "proxy")
    assert not may("jane", (), "get", "proxy")
    # A kubelet may ask the apiserver those questions (the Node authorizer lets it).
    node = NodeAuthorizer(lambda namespace, name: None)
    review = Request(UserInfo("system:node:node-1", "", ("system:nodes",)), "create", "subjectaccessreviews",
                     "authorization.k8s.io")
    assert node.authorize(review)[0]


# --------------------------------------------------------------------------- over the wire


class FakeKubelet:
    node_name = NODE

    def __init__(self):
        self.looked_up = 0

    def find_pod(self, namespace, name, uid):
        self.looked_up += 1
        return None


@pytest.fixture(scope="module")
def kubelet_api(tmp_path_factory):
    """A kubelet API server on loopback: mutual TLS, the kubelet's interceptor, a fake apiserver."""
    d = str(tmp_path_factory.mktemp("pki"))
    ca = pki.CertificateAuthority.create()
    ca.save(d)
    cert, key = pki.write_kubelet_serving(d, NODE, ["127.0.0.1"], ca)
    for user, orgs in (("kube-apiserver-kubelet-client", ()), ("system:node:node-1", ("system:nodes",)),
                       ("broken", ())):
        c, k = ca.issue(user, orgs=orgs)
        with open(f"{d}/{user}.crt", "wb") as f:
            f.write(c)
        with open(f"{d}/{user}.key", "wb") as f:
            f.write(k)
    other = pki.CertificateAuthority.create("another-ca")
    c, k = other.issue("kube-apiserver-kubelet-client")
    with open(f"{d}/stranger.crt", "wb") as f:
        f.write(c)
    with open(f"{d}/stranger.key", "wb") as f:
        f.write(k)
    reviews = Reviews({"kube-apiserver-kubelet-client"})
    fake = FakeKubelet()

    class Outage(Reviews):
        def create(self, resource, obj, namespace=""):
            if obj["spec"]["user"] == "broken":
                raise errors.Unavailable("the apiserver is away")
            return reviews.create(resource, obj, namespace)

    interceptor = AuthInterceptor(kubelet_auth.attributes_for(NODE), WebhookAuthorizer(Outage(set())))
    server = ComponentServer("kubelet", NODE, "127.0.0.1:0", tls=TLSFiles(cert, key, f"{d}/ca.crt"),
                             interceptors=[interceptor],
                             register=lambda s: kubelet_pb2_grpc.add_KubeletServicer_to_server(KubeletServicer(fake),
                                                                                             s))
    server.start()
    server.set_serving(True)
    yield f"127.0.0.1:{server.port}", d, reviews, fake
    server.stop(0)


def _creds(d: str, user: str = "", server_name: str = NODE) -> Credentials:
    return Credentials(ca_file=f"{d}/ca.crt", cert_file=f"{d}/{user}.crt" if user else "",
                       key_file=f"{d}/{user}.key" if user else "", tls_server_name=server_name)


def _exec(address: str, creds: Credentials) -> grpc.RpcError | None:
    with make_channel(address, creds) as channel:
        try:
            kubelet_pb2_grpc.KubeletStub(channel).Exec(
                api_pb2.PodExecRequest(namespace="default", name="web", command=["id"]), timeout=5)
        except grpc.RpcError as e:
            return e
    return None


def test_without_a_certificate_the_cluster_ca_signed_no_call_gets_through(kubelet_api):
    address, d, _, fake = kubelet_api
    before = fake.looked_up
    for creds in (Credentials(), _creds(d), _creds(d, "stranger")):  # plain, no certificate, another CA's
        error = _exec(address, creds)
        assert error is not None and error.code() == grpc.StatusCode.UNAVAILABLE, creds
    assert fake.looked_up == before


def test_the_apiserver_client_is_let_in_and_others_are_forbidden(kubelet_api):
    address, d, reviews, fake = kubelet_api
    before = fake.looked_up
    error = _exec(address, _creds(d, "kube-apiserver-kubelet-client"))
    assert error.code() == grpc.StatusCode.NOT_FOUND and fake.looked_up == before + 1  # it ran: no such pod
    error = _exec(address, _creds(d, "system:node:node-1"))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == "Forbidden (user=system:node:node-1, verb=create, resource=nodes, subresource(s)=[proxy])"
    assert errors.from_rpc_error(error).reason == "Forbidden"
    assert fake.looked_up == before + 1
    # Streams are checked too, before the first message.
    with make_channel(address, _creds(d, "system:node:node-1")) as channel:
        with pytest.raises(grpc.RpcError) as info:
            list(kubelet_pb2_grpc.KubeletStub(channel).ContainerLogs(api_pb2.PodLogsRequest(namespace="d", name="p"),
                                                                     timeout=5))
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED and "verb=get" in info.value.details()
        with pytest.raises(grpc.RpcError) as info:
            kubelet_pb2_grpc.KubeletStub(channel).Stats(kubelet_pb2.StatsRequest(), timeout=5)
        assert "subresource(s)=[stats]" in info.value.details()
        # Health needs a certificate, nothing more.
        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.SERVING
    assert {r["spec"]["user"] for r in reviews.asked} == {"kube-apiserver-kubelet-client", "system:node:node-1"}


def test_the_serving_certificate_must_be_the_nodes(kubelet_api):
    address, d, _, _ = kubelet_api
    error = _exec(address, _creds(d, "kube-apiserver-kubelet-client", server_name="node-8"))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert _exec(address, _creds(d, "kube-apiserver-kubelet-client", server_name="127.0.0.1")).code() == \
        grpc.StatusCode.NOT_FOUND  # its address is in the certificate too


def test_when_the_apiserver_cannot_answer_nothing_runs(kubelet_api):
    address, d, _, fake = kubelet_api
    before = fake.looked_up
    error = _exec(address, _creds(d, "broken"))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error.details().startswith("Authorization error (user=broken, verb=create")
    assert fake.looked_up == before
