"""The kubelet API is closed to everyone but the apiserver (and admins), end to end.

A ``kubemu up`` cluster (secure by default, free ports, 2 nodes): logs and exec work through the
apiserver, which calls each kubelet over mutual TLS as ``kube-apiserver-kubelet-client``; a direct
call to a kubelet's port in plain text, over TLS without a client certificate, or with a node's
or a user's certificate is refused; the scheduler and controller manager serve TLS only, and
``kubemu status`` and ``explain-schedule`` still reach them.
"""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kubemu import pki
from kubemu.cluster import component_credentials
from machinery.client import Credentials, make_channel
from machinery.pb import api_pb2, kubelet_pb2_grpc
from tests.helpers import wait_for
from tests.test_supervisor import Cluster

pytestmark = pytest.mark.e2e

SLEEPER = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper", "namespace": "default"},
           "spec": {"nodeName": "node-2", "terminationGracePeriodSeconds": 0, "containers": [{
               "name": "c", "image": "python",
               "command": ["python", "-c", "import time\nprint('hello from node-2', flush=True)\ntime.sleep(3600)"]}]}}


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    cluster = Cluster(str(tmp_path_factory.mktemp("kubelet-tls")))
    try:
        cluster.up("--nodes", "2", "--no-merge-kubeconfig")
        client = cluster.dir.api_client(retry_timeout_s=10)
        client.create("pods", SLEEPER)
        wait_for(lambda: client.get("pods", "sleeper", "default")["status"].get("phase") == "Running",
                 timeout_s=60, message="pod sleeper Running on node-2")
        client.close()
        yield cluster
    finally:
        cluster.teardown()


def _pki(cluster: Cluster) -> str:
    return f"{cluster.dir.path}/pki"


def _exec_directly(cluster: Cluster, creds: Credentials) -> grpc.RpcError | api_pb2.PodExecResponse:
    """Exec in the pod by calling node-2's kubelet port ourselves, not through the apiserver."""
    kubelet = cluster.components()["node-2"]
    with make_channel(kubelet["grpcAddress"], creds) as channel:
        try:
            return kubelet_pb2_grpc.KubeletStub(channel).Exec(
                api_pb2.PodExecRequest(namespace="default", name="sleeper", command=["echo", "pwned"]), timeout=10)
        except grpc.RpcError as e:
            return e


def _as(cluster: Cluster, stem: str) -> Credentials:
    d = _pki(cluster)
    return Credentials(ca_file=f"{d}/ca.crt", cert_file=f"{d}/{stem}.crt", key_file=f"{d}/{stem}.key",
                       tls_server_name="node-2")


def test_logs_and_exec_work_through_the_apiserver(secured):
    out = secured.run("kubectl", "exec", "sleeper", "--", "python", "-c", "print('inside', 6 * 7)")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout == "inside 42\n"
    out = secured.run("kubectl", "logs", "sleeper")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout == "hello from node-2\n"


def test_plain_text_or_no_certificate_never_reaches_the_kubelet(secured):
    d = _pki(secured)
    for creds in (Credentials(), Credentials(ca_file=f"{d}/ca.crt", tls_server_name="node-2")):
        result = _exec_directly(secured, creds)
        assert isinstance(result, grpc.RpcError) and result.code() == grpc.StatusCode.UNAVAILABLE, result


def test_a_node_or_a_user_is_forbidden_to_use_the_kubelet_api(secured):
    d = _pki(secured)
    ca = pki.CertificateAuthority.load(d)
    cert, key = ca.issue("jane", orgs=("developers",))  # a user the cluster knows, with no rights on nodes
    with open(f"{d}/jane.crt", "wb") as f:
        f.write(cert)
    with open(f"{d}/jane.key", "wb") as f:
        f.write(key)
    for stem, user in (("system-node-node-1", "system:node:node-1"), ("system-node-node-2", "system:node:node-2"),
                       ("system-kube-scheduler", "system:kube-scheduler"), ("jane", "jane")):
        result = _exec_directly(secured, _as(secured, stem))
        assert isinstance(result, grpc.RpcError), f"{user} could exec: {result}"
        assert result.code() == grpc.StatusCode.PERMISSION_DENIED, result
        assert result.details() == f"Forbidden (user={user}, verb=create, resource=nodes, subresource(s)=[proxy])"
    # Whoever RBAC lets do `create nodes/proxy` may: the apiserver's kubelet client (by its binding to
    # system:kubelet-api-admin), not merely "anyone with a certificate".
    result = _exec_directly(secured, _as(secured, "apiserver-kubelet-client"))
    assert isinstance(result, api_pb2.PodExecResponse) and result.stdout == b"pwned\n"


def test_rbac_decides_who_may_use_the_kubelet(secured):
    d = _pki(secured)
    cert, key = pki.CertificateAuthority.load(d).issue("ops")
    with open(f"{d}/ops.crt", "wb") as f:
        f.write(cert)
    with open(f"{d}/ops.key", "wb") as f:
        f.write(key)
    out = secured.run("kubectl", "auth", "can-i", "create", "nodes", "--subresource", "proxy", "--as", "ops")
    assert out.stdout.strip() == "no"
    out = secured.run("kubectl", "create", "clusterrolebinding", "ops-kubelet", "--clusterrole",
                      "system:kubelet-api-admin", "--user", "ops")
    assert out.returncode == 0, out.stdout + out.stderr
    result = _exec_directly(secured, _as(secured, "ops"))
    assert isinstance(result, api_pb2.PodExecResponse) and result.stdout == b"pwned\n"


def test_scheduler_and_controller_manager_serve_tls_and_status_still_works(secured):
    comps = secured.components()
    for name in ("scheduler", "controller-manager", "node-1"):
        with make_channel(comps[name]["grpcAddress"], Credentials()) as channel:
            with pytest.raises(grpc.RpcError) as info:
                health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE, name
        with make_channel(comps[name]["grpcAddress"], component_credentials(comps[name])) as channel:
            status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status
            assert status == health_pb2.HealthCheckResponse.SERVING, name
    out = secured.run("status")
    assert out.returncode == 0, out.stdout + out.stderr
    rows: dict[str, list[str]] = {}
    for line in out.stdout.splitlines():  # the component table first, then NODE STATUS
        if line.strip():
            rows.setdefault(line.split()[0], line.split())
    for name in ("etcd", "apiserver", "scheduler", "controller-manager", "node-1", "node-2"):
        assert rows[name][3] == "SERVING", out.stdout
    assert "accessReviews=" in " ".join(rows["node-1"])  # its Describe answered the admin, asking the apiserver
    out = secured.run("kubectl", "explain-schedule", "sleeper")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Pod default/sleeper" in out.stdout
