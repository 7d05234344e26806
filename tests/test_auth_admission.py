"""Authentication, RBAC, the node authorizer and admission plugins, on a secured apiserver."""

from __future__ import annotations

import pytest

from machinery import errors
from machinery.client import APIClient, Credentials
from tests.conftest import start_apiserver
from tests.helpers import wait_for

TOKENS = {
    "admin-token": ("admin", "1", "system:masters"),
    "jane-token": ("jane", "2", ""),
    "node1-token": ("system:node:node-1", "3", "system:nodes"),
    "sched-token": ("system:kube-scheduler", "4", ""),
}


@pytest.fixture(scope="module")
def secured(etcd, tmp_path_factory):
    d = tmp_path_factory.mktemp("secured")
    token_file = d / "tokens.csv"
    token_file.write_text("".join(f'{t},{u},{uid},"{g}"\n' for t, (u, uid, g) in TOKENS.items()))
    proc, address = start_apiserver(etcd.client_url, d, "--token-auth-file", str(token_file), token="admin-token")
    yield address
    proc.stop()


def as_user(address: str, token: str) -> APIClient:
    return APIClient(address, Credentials(token=token), retry_timeout_s=2)


@pytest.fixture
def admin(secured):
    c = as_user(secured, "admin-token")
    # The secured apiserver bootstraps its namespaces itself; wait for them.
    wait_for(lambda: c.get("namespaces", "default"), message="bootstrap")
    yield c
    c.close()


@pytest.fixture
def ns(admin):
    import uuid

    name = f"auth-{uuid.uuid4().hex[:6]}"
    admin.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def pod(name: str, **container) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx", **container}]}}


def test_no_token_and_wrong_token_are_unauthenticated(secured):
    with pytest.raises(errors.Unauthorized, match="no credentials"):
        APIClient(secured, retry_timeout_s=1).list("pods", "default")
    with pytest.raises(errors.Unauthorized, match="invalid bearer token"):
        as_user(secured, "nope").list("pods", "default")


def test_view_binding_allows_get_but_not_create(admin, secured, ns):
    admin.create("pods", pod("existing"), ns)
    jane = as_user(secured, "jane-token")
    with pytest.raises(errors.Forbidden, match='User "jane" cannot get resource "pods"'):
        jane.get("pods", "existing", ns)
    admin.create("rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "jane-view", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "jane", "apiGroup": "rbac.authorization.k8s.io"}]})
    got = wait_for(lambda: jane.get("pods", "existing", ns), timeout_s=10, message="binding takes effect")
    assert got["metadata"]["name"] == "existing"
    with pytest.raises(errors.Forbidden) as info:
        jane.create("pods", pod("mine"), ns)
    # A create is authorized before any name is known, so Kubernetes' message names no object.
    assert str(info.value) == (f'pods is forbidden: User "jane" cannot create resource "pods" in API group '
                               f'"" in the namespace "{ns}"')
    with pytest.raises(errors.Forbidden):
        jane.list("pods", "default")  # the binding is namespaced


def test_role_with_resource_names(admin, secured, ns):
    admin.create("pods", pod("allowed"), ns)
    admin.create("pods", pod("other"), ns)
    admin.create("roles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                           "metadata": {"name": "one-pod", "namespace": ns},
                           "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"],
                                      "resourceNames": ["allowed"]}]})
    admin.create("rolebindings", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                                  "metadata": {"name": "one-pod", "namespace": ns},
                                  "roleRef": {"kind": "Role", "name": "one-pod"},
                                  "subjects": [{"kind": "User", "name": "jane"}]})
    jane = as_user(secured, "jane-token")
    wait_for(lambda: jane.get("pods", "allowed", ns), timeout_s=10, message="role takes effect")
    with pytest.raises(errors.Forbidden):
        jane.get("pods", "other", ns)
    # resourceNames cannot restrict create (the name is not known when it is authorized): such a
    # rule grants no create at all, as in Kubernetes.
    admin.create("roles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                           "metadata": {"name": "create-one", "namespace": ns},
                           "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "get"],
                                      "resourceNames": ["named"]}]})
    admin.create("rolebindings", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                                  "metadata": {"name": "create-one", "namespace": ns},
                                  "roleRef": {"kind": "Role", "name": "create-one"},
                                  "subjects": [{"kind": "User", "name": "jane"}]})
    wait_for(lambda: _forbidden_or_missing(lambda: jane.get("configmaps", "named", ns)) == "missing",
             timeout_s=10, message="the role takes effect (get of the named configmap is allowed)")
    with pytest.raises(errors.Forbidden, match='^configmaps is forbidden: User "jane" cannot create'):
        jane.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "named"}}, ns)


def _forbidden_or_missing(call) -> str:
    try:
        call()
        return "found"
    except errors.Forbidden:
        return "forbidden"
    except errors.NotFound:
        return "missing"


def test_self_subject_access_review(admin, secured, ns):
    jane = as_user(secured, "jane-token")
    review = jane.create("selfsubjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "delete", "resource": "nodes"}}})
    assert review["status"]["allowed"] is False
    review = admin.create("subjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": "system:kube-scheduler", "resourceAttributes": {
            "verb": "create", "resource": "pods", "subresource": "binding", "namespace": ns}}})
    assert review["status"]["allowed"] is True
    with pytest.raises(errors.Forbidden):
        jane.create("subjectaccessreviews", {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                                             "spec": {"user": "x", "resourceAttributes": {"verb": "get",
                                                                                          "resource": "pods"}}})


def test_kubelet_may_change_only_its_own_node(admin, secured):
    node1 = as_user(secured, "node1-token")
    for name in ("node-1", "node-2"):
        try:
            admin.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
        except errors.AlreadyExists:
            pass
    own = node1.get("nodes", "node-1")
    own["metadata"].setdefault("labels", {})["mine"] = "yes"
    assert node1.update("nodes", own)["metadata"]["labels"]["mine"] == "yes"
    other = node1.get("nodes", "node-2")
    other["metadata"].setdefault("labels", {})["mine"] = "no"
    with pytest.raises(errors.Forbidden, match='system:node:node-1" cannot update resource "nodes"'):
        node1.update("nodes", other)
    with pytest.raises(errors.Forbidden):
        node1.create("pods", pod("sneaky"), "default")
    with pytest.raises(errors.Forbidden, match='node "node-1" is not allowed to modify node "node-9"'):
        node1.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-9"}})
    with pytest.raises(errors.Forbidden, match="can only access node lease with the same name"):
        node1.create("leases", {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                "metadata": {"name": "node-9"}}, "kube-node-lease")


def test_kubelet_may_update_status_only_of_pods_bound_to_it(admin, secured, ns):
    admin.create("pods", pod("mine"), ns)
    admin.bind(ns, "mine", "node-1")
    admin.create("pods", pod("theirs"), ns)
    admin.bind(ns, "theirs", "node-2")
    node1 = as_user(secured, "node1-token")
    mine = node1.get("pods", "mine", ns)
    mine["status"]["phase"] = "Running"
    assert node1.update_status("pods", mine)["status"]["phase"] == "Running"
    theirs = node1.get("pods", "theirs", ns)
    theirs["status"]["phase"] = "Running"
    with pytest.raises(errors.Forbidden):
        node1.update_status("pods", theirs)


def test_kubelet_reads_only_the_config_maps_and_secrets_of_its_own_pods(admin, secured, ns):
    for kind, resource, body in (("ConfigMap", "configmaps", {"data": {"k": "v"}}),
                                 ("Secret", "secrets", {"stringData": {"k": "v"}})):
        for name in ("used", "unused", "elsewhere"):
            admin.create(resource, {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}, **body}, ns)
    mine = pod("mine", env=[{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "used", "key": "k"}}}],
               envFrom=[{"secretRef": {"name": "used"}}])
    admin.create("pods", mine, ns)
    admin.bind(ns, "mine", "node-1")
    theirs = pod("theirs", envFrom=[{"configMapRef": {"name": "elsewhere"}}, {"secretRef": {"name": "elsewhere"}}])
    admin.create("pods", theirs, ns)
    admin.bind(ns, "theirs", "node-2")
    node1 = as_user(secured, "node1-token")
    for resource in ("configmaps", "secrets"):
        assert node1.get(resource, "used", ns)["metadata"]["name"] == "used"
        for name in ("unused", "elsewhere"):  # not used by a pod of node-1: Forbidden, as in Kubernetes
            with pytest.raises(errors.Forbidden, match=f'cannot get resource "{resource}"'):
                node1.get(resource, name, ns)
        with pytest.raises(errors.Forbidden, match=f'cannot list resource "{resource}"'):
            node1.list(resource, ns)
    with pytest.raises(errors.NotFound):  # allowed (its pods run as "default"), but no controller made it here
        node1.get("serviceaccounts", "default", ns)
    with pytest.raises(errors.Forbidden):
        node1.get("serviceaccounts", "robot", ns)


def test_resource_quota_refuses_excess_pods(admin, ns):
    admin.create("resourcequotas", {"apiVersion": "v1", "kind": "ResourceQuota",
                                    "metadata": {"name": "compute", "namespace": ns},
                                    "spec": {"hard": {"pods": "2", "requests.cpu": "1"}}})
    admin.create("pods", pod("a", resources={"requests": {"cpu": "500m"}}), ns)
    with pytest.raises(errors.Forbidden) as info:
        admin.create("pods", pod("b", resources={"requests": {"cpu": "600m"}}), ns)
    assert str(info.value) == ('pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, '
                               "used: requests.cpu=500m, limited: requests.cpu=1")
    with pytest.raises(errors.Forbidden, match="must specify requests.cpu"):
        admin.create("pods", pod("c"), ns)
    with pytest.raises(errors.NotFound):
        admin.get("pods", "b", ns)


def test_limit_range_fills_defaults_and_enforces_max(admin, ns):
    admin.create("limitranges", {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr", "namespace": ns},
                                 "spec": {"limits": [{"type": "Container",
                                                      "default": {"cpu": "500m", "memory": "256Mi"},
                                                      "defaultRequest": {"cpu": "100m"}, "max": {"cpu": "1"}}]}})
    created = admin.create("pods", pod("defaulted"), ns)
    resources = created["spec"]["containers"][0]["resources"]
    assert resources == {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}}
    with pytest.raises(errors.Forbidden, match="maximum cpu usage per Container is 1, but limit is 2"):
        admin.create("pods", pod("greedy", resources={"limits": {"cpu": "2"}}), ns)


def test_admission_defaults_service_account_tolerations_and_priority(admin, ns):
    created = admin.create("pods", pod("plain"), ns)
    spec = created["spec"]
    assert spec["serviceAccountName"] == "default"
    assert {(t["key"], t["tolerationSeconds"]) for t in spec["tolerations"]} == {
        ("node.kubernetes.io/not-ready", 300), ("node.kubernetes.io/unreachable", 300)}
    assert spec["priority"] == 0
    critical = admin.create("pods", dict(pod("critical"), spec=dict(pod("x")["spec"],
                                                                    priorityClassName="system-node-critical")), ns)
    assert critical["spec"]["priority"] == 2000001000
    with pytest.raises(errors.Forbidden, match="no PriorityClass with name gold was found"):
        admin.create("pods", dict(pod("gold"), spec=dict(pod("x")["spec"], priorityClassName="gold")), ns)
    with pytest.raises(errors.Forbidden, match='serviceaccount "robot" not found'):
        admin.create("pods", dict(pod("robot"), spec=dict(pod("x")["spec"], serviceAccountName="robot")), ns)


def test_default_namespaces_cannot_be_deleted(admin):
    with pytest.raises(errors.Forbidden, match="this namespace may not be deleted"):
        admin.delete("namespaces", "kube-system")


def test_default_roles_exist(admin):
    names = {r["metadata"]["name"] for r in admin.list("clusterroles").items}
    assert {"cluster-admin", "admin", "edit", "view", "system:kube-scheduler", "system:kube-controller-manager",
            "system:node"} <= names


def test_token_file_changes_take_effect_without_a_restart(secured, etcd, tmp_path_factory):
    from tests.helpers import wait_for as wait

    token_file = next(p for p in tmp_path_factory.getbasetemp().glob("secured*/tokens.csv"))
    newcomer = as_user(secured, "new-token")
    with pytest.raises(errors.Unauthorized):
        newcomer.list("nodes")
    with open(token_file, "a") as f:
        f.write('new-token,newcomer,9,"system:masters"\n')
    wait(lambda: newcomer.list("nodes") is not None, timeout_s=10, message="the new token is accepted")
