"""Mutual TLS: the apiserver serves TLS with generated certificates; a client certificate names
the user (CN) and groups (O); tokens still work over TLS; a client without the CA cannot connect."""

from __future__ import annotations

import pytest

from kubemu.pki import write_cluster_credentials
from machinery import errors
from machinery.client import APIClient, Credentials
from tests.conftest import start_apiserver


@pytest.fixture(scope="module")
def tls_apiserver(etcd, tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    pki = str(d / "pki")
    creds = write_cluster_credentials(pki, ["node-1"])
    proc, address = start_apiserver(
        etcd.client_url, d, "--token-auth-file", creds["token_file"], "--tls-cert-file", f"{pki}/apiserver.crt",
        "--tls-private-key-file", f"{pki}/apiserver.key", "--client-ca-file", f"{pki}/ca.crt",
        token=creds["tokens"]["admin"], ca_file=f"{pki}/ca.crt", cert=f"{pki}/admin")
    yield address, pki, creds
    proc.stop()


def test_client_certificate_identifies_the_user(tls_apiserver):
    address, pki, _ = tls_apiserver
    admin = APIClient(address, Credentials(ca_file=f"{pki}/ca.crt", cert_file=f"{pki}/admin.crt",
                                           key_file=f"{pki}/admin.key"), retry_timeout_s=2)
    assert admin.get("namespaces", "default")["metadata"]["name"] == "default"
    node = APIClient(address, Credentials(ca_file=f"{pki}/ca.crt", cert_file=f"{pki}/system-node-node-1.crt",
                                          key_file=f"{pki}/system-node-node-1.key"), retry_timeout_s=2)
    review = node.create("selfsubjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "update", "resource": "nodes", "name": "node-1"}}})
    assert review["status"]["allowed"] is True
    with pytest.raises(errors.Forbidden, match='User "system:node:node-1" cannot create resource "namespaces"'):
        node.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nope"}})


def test_token_names_the_user_and_clients_need_a_certificate(tls_apiserver):
    address, pki, creds = tls_apiserver
    sched = APIClient(address, Credentials(token=creds["tokens"]["system:kube-scheduler"], ca_file=f"{pki}/ca.crt",
                                           cert_file=f"{pki}/admin.crt", key_file=f"{pki}/admin.key"),
                      retry_timeout_s=2)
    with pytest.raises(errors.Forbidden, match='User "system:kube-scheduler" cannot create resource "namespaces"'):
        sched.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nope"}})
    no_cert = APIClient(address, Credentials(token=creds["tokens"]["admin"], ca_file=f"{pki}/ca.crt"),
                        retry_timeout_s=1)
    with pytest.raises(errors.APIError):
        no_cert.list("pods", "default")
    plaintext = APIClient(address, retry_timeout_s=1)
    with pytest.raises(errors.APIError):
        plaintext.list("pods", "default")


def test_server_tls_with_tokens_only(etcd, tmp_path):
    pki = str(tmp_path / "pki")
    creds = write_cluster_credentials(pki, [])
    proc, address = start_apiserver(etcd.client_url, tmp_path, "--token-auth-file", creds["token_file"],
                                    "--tls-cert-file", f"{pki}/apiserver.crt", "--tls-private-key-file",
                                    f"{pki}/apiserver.key", token=creds["tokens"]["admin"], ca_file=f"{pki}/ca.crt")
    try:
        admin = APIClient(address, Credentials(token=creds["tokens"]["admin"], ca_file=f"{pki}/ca.crt"),
                          retry_timeout_s=2)
        assert admin.get("namespaces", "default")
        with pytest.raises(errors.Unauthorized):
            APIClient(address, Credentials(ca_file=f"{pki}/ca.crt"), retry_timeout_s=1).list("pods", "default")
    finally:
        proc.stop()


def test_kubectl_with_client_certificates_from_flags_and_kubeconfig(tls_apiserver, tmp_path):
    import io

    import yaml

    from kubemu import kubectl

    address, pki, _ = tls_apiserver
    out, err = io.StringIO(), io.StringIO()
    code = kubectl.run(["--server", address, "--certificate-authority", f"{pki}/ca.crt", "--client-certificate",
                        f"{pki}/admin.crt", "--client-key", f"{pki}/admin.key", "get", "namespaces", "default"],
                       stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert out.getvalue().startswith("NAME ")
    # A kubeconfig with paths relative to itself, as `kubemu certs` and the compose stack write them.
    import shutil

    for name in ("ca.crt", "admin.crt", "admin.key"):
        shutil.copy(f"{pki}/{name}", tmp_path / name)
    (tmp_path / "kubeconfig.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": address, "certificate-authority": "ca.crt"}}],
        "users": [{"name": "u", "user": {"client-certificate": "admin.crt", "client-key": "admin.key"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    out, err = io.StringIO(), io.StringIO()
    code = kubectl.run(["--kubeconfig", str(tmp_path / "kubeconfig.yaml"), "get", "namespaces"], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert "kube-system" in out.getvalue()
