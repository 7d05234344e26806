"""RBAC through the CLI against a secured apiserver: auth can-i, create role/rolebinding,
apply of RBAC YAML, and plain reports of missing or wrong credentials."""

from __future__ import annotations

import io

import pytest

from kubemu import kubectl
from tests.conftest import start_apiserver
from tests.helpers import wait_for

TOKENS = {"admin-t": ("admin", "system:masters"), "jane-t": ("jane", "")}


@pytest.fixture(scope="module")
def server(etcd, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli-rbac")
    (d / "tokens.csv").write_text("".join(f'{t},{u},{i},"{g}"\n' for i, (t, (u, g)) in enumerate(TOKENS.items())))
    proc, address = start_apiserver(etcd.client_url, d, "--token-auth-file", str(d / "tokens.csv"), token="admin-t")
    yield address
    proc.stop()


def kc(server: str, token: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    flags = ["--server", server] + (["--token", token] if token else [])
    code = kubectl.run([*flags, *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_can_i_and_role_bindings(server, tmp_path):
    assert kc(server, "admin-t", "create", "namespace", "team")[0] == 0
    assert kc(server, "admin-t", "auth", "can-i", "create", "pods", "--as", "jane", "-n", "team")[:2] == (1, "no\n")
    code, out, err = kc(server, "admin-t", "create", "rolebinding", "jane-edit", "--clusterrole=edit", "--user=jane",
                        "-n", "team")
    assert (code, out) == (0, "rolebinding.rbac.authorization.k8s.io/jane-edit created\n"), err
    wait_for(lambda: kc(server, "jane-t", "auth", "can-i", "create", "pods", "-n", "team")[1] == "yes\n",
             timeout_s=10, message="jane may create pods in team")
    assert kc(server, "jane-t", "auth", "can-i", "delete", "nodes")[:2] == (1, "no\n")
    assert kc(server, "jane-t", "auth", "can-i", "create", "pods", "-n", "default")[:2] == (1, "no\n")

    code, out, _ = kc(server, "admin-t", "create", "role", "pod-reader", "--verb=get,list", "--resource=pods",
                      "-n", "team")
    assert out == "role.rbac.authorization.k8s.io/pod-reader created\n"
    rules = kc(server, "admin-t", "get", "role", "pod-reader", "-n", "team", "-o", "json")[1]
    assert '"verbs": [\n                "get",\n                "list"' in rules

    manifest = tmp_path / "rbac.yaml"
    manifest.write_text("""apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: node-watcher}
rules:
- apiGroups: [""]
  resources: [nodes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: jane-node-watcher}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: node-watcher}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: jane}]
""")
    code, out, err = kc(server, "admin-t", "apply", "-f", str(manifest))
    assert code == 0, err
    assert out == ("clusterrole.rbac.authorization.k8s.io/node-watcher created\n"
                   "clusterrolebinding.rbac.authorization.k8s.io/jane-node-watcher created\n")
    wait_for(lambda: kc(server, "jane-t", "get", "nodes")[0] == 0, timeout_s=10, message="jane may list nodes")


def test_forbidden_and_unauthenticated_are_reported_plainly(server):
    code, _, err = kc(server, "jane-t", "run", "x", "--image=nginx", "-n", "kube-system")
    assert code == 1
    assert err.startswith('Error from server (Forbidden): pods is forbidden: User "jane" cannot create resource')
    code, _, err = kc(server, "", "get", "pods")
    assert code == 1 and "Unauthorized" in err
    code, _, err = kc(server, "wrong", "get", "pods")
    assert code == 1 and "Unauthorized" in err
