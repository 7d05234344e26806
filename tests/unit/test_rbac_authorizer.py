"""The RBAC authorizer's matching rules, on objects given directly: wildcards, subresources,
resourceNames, User/Group/ServiceAccount subjects, Role vs ClusterRole bindings, aggregation."""

from __future__ import annotations

import pytest

from apiserver.admission import UserInfo
from apiserver.authz import Request
from apiserver.authz.rbac import RBACAuthorizer

RBAC = "rbac.authorization.k8s.io/v1"


def role(name, rules, namespace="", labels=None, aggregate=None):
    kind = "Role" if namespace else "ClusterRole"
    meta = {"name": name, **({"namespace": namespace} if namespace else {}), "labels": labels or {}}
    obj = {"apiVersion": RBAC, "kind": kind, "metadata": meta, "rules": rules}
    if aggregate:
        obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": aggregate}]}
    return obj


def binding(name, role_kind, role_name, subjects, namespace=""):
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": RBAC, "kind": kind, "metadata": meta,
            "roleRef": {"kind": role_kind, "name": role_name}, "subjects": subjects}


def authorizer(*objects) -> RBACAuthorizer:
    by_resource = {"roles": [], "clusterroles": [], "rolebindings": [], "clusterrolebindings": []}
    for obj in objects:
        by_resource[obj["kind"].lower() + "s"].append(obj)
    return RBACAuthorizer(lambda resource: by_resource[resource])


def ask(a: RBACAuthorizer, user: str, verb: str, resource: str, *, groups=(), group="", namespace="", name="",
        subresource="") -> bool:
    return a.authorize(Request(UserInfo(user, "", tuple(groups)), verb, resource, group, namespace, name,
                               subresource))[0]


def test_wildcards_match_every_verb_group_and_resource_but_subresources_need_their_own_pattern():
    a = authorizer(role("all", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
                   role("status", [{"apiGroups": [""], "resources": ["*/status"], "verbs": ["update"]}]),
                   role("pods", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
                   binding("b1", "ClusterRole", "all", [{"kind": "User", "name": "root"}]),
                   binding("b2", "ClusterRole", "status", [{"kind": "User", "name": "st"}]),
                   binding("b3", "ClusterRole", "pods", [{"kind": "User", "name": "reader"}]))
    assert ask(a, "root", "delete", "deployments", group="apps", namespace="x", name="d")
    assert ask(a, "root", "update", "pods", namespace="x", name="p", subresource="status")
    assert ask(a, "st", "update", "pods", namespace="x", name="p", subresource="status")
    assert not ask(a, "st", "update", "pods", namespace="x", name="p")
    assert ask(a, "reader", "get", "pods", namespace="x", name="p")
    assert not ask(a, "reader", "get", "pods", namespace="x", name="p", subresource="log")
    assert not ask(a, "reader", "get", "pods", group="apps", namespace="x", name="p")  # wrong API group


def test_resource_names_need_the_name_so_they_never_grant_list_or_create():
    a = authorizer(role("one", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create"],
                                 "resourceNames": ["cfg"]}]),
                   binding("b", "ClusterRole", "one", [{"kind": "User", "name": "u"}]))
    assert ask(a, "u", "get", "configmaps", namespace="x", name="cfg")
    assert not ask(a, "u", "get", "configmaps", namespace="x", name="other")
    assert not ask(a, "u", "list", "configmaps", namespace="x")
    assert not ask(a, "u", "create", "configmaps", namespace="x")  # creates are authorized without a name


@pytest.mark.parametrize("subject, user, groups, allowed", [
    ({"kind": "Group", "name": "devs"}, "ann", ["devs"], True),
    ({"kind": "Group", "name": "devs"}, "ann", ["ops"], False),
    ({"kind": "ServiceAccount", "name": "robot", "namespace": "team"}, "system:serviceaccount:team:robot", [], True),
    ({"kind": "ServiceAccount", "name": "robot", "namespace": "team"}, "system:serviceaccount:other:robot", [], False),
    ({"kind": "User", "name": "ann"}, "anne", [], False),
])
def test_subjects(subject, user, groups, allowed):
    a = authorizer(role("reader", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]),
                   binding("b", "ClusterRole", "reader", [subject]))
    assert ask(a, user, "list", "pods", groups=groups, namespace="x") is allowed


def test_role_bindings_grant_only_in_their_namespace_and_may_refer_to_cluster_roles():
    a = authorizer(role("local", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}], namespace="team"),
                   role("viewer", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]),
                   binding("b1", "Role", "local", [{"kind": "User", "name": "u"}], namespace="team"),
                   binding("b2", "ClusterRole", "viewer", [{"kind": "User", "name": "u"}], namespace="team"))
    assert ask(a, "u", "get", "secrets", namespace="team", name="s")
    assert not ask(a, "u", "get", "secrets", namespace="other", name="s")
    assert ask(a, "u", "list", "pods", namespace="team")
    assert not ask(a, "u", "list", "pods", namespace="other")
    assert not ask(a, "u", "list", "pods")  # all namespaces: a RoleBinding is not enough


def test_aggregated_cluster_roles_take_the_rules_of_the_roles_their_selectors_match():
    pods = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    nodes = [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]
    a = authorizer(role("agg", [], aggregate={"agg/x": "true"}),
                   role("part-1", pods, labels={"agg/x": "true"}), role("part-2", nodes, labels={"agg/x": "no"}),
                   binding("b", "ClusterRole", "agg", [{"kind": "User", "name": "u"}]))
    assert ask(a, "u", "get", "pods", namespace="x", name="p")
    assert not ask(a, "u", "list", "nodes")
