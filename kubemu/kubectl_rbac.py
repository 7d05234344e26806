"""RBAC commands of ``kubemu kubectl``: ``auth can-i`` and ``create role|clusterrole|rolebinding|
clusterrolebinding``, with kubectl's flags and output.

``auth can-i VERB RESOURCE[/NAME]`` asks the apiserver through a SelfSubjectAccessReview (or a
SubjectAccessReview for ``--as USER``) and prints ``yes`` or ``no``; like kubectl it exits 0 for
yes and 1 for no.
"""

from __future__ import annotations

import argparse

RBAC_API = "rbac.authorization.k8s.io/v1"


def add_create_flags(p: argparse.ArgumentParser) -> None:
    """The flags of ``create role|clusterrole|rolebinding|clusterrolebinding`` (kubectl's names)."""
    g = p.add_argument_group("role and binding flags")
    g.add_argument("--verb", action="append", default=[], help="verbs the rule allows (comma-separated or repeated)")
    g.add_argument("--resource", action="append", default=[],
                   help="resources the rule applies to, RESOURCE[.GROUP][/SUBRESOURCE]")
    g.add_argument("--resource-name", action="append", default=[], help="restrict the rule to these object names")
    g.add_argument("--role", default="", help="the Role a RoleBinding refers to")
    g.add_argument("--clusterrole", default="", help="the ClusterRole a binding refers to")
    g.add_argument("--user", action="append", default=[], help="users to bind")
    g.add_argument("--group", action="append", default=[], help="groups to bind")
    g.add_argument("--serviceaccount", action="append", default=[], help="service accounts to bind, NAMESPACE:NAME")


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def rules_from_flags(verbs: list[str], resources: list[str], names: list[str]) -> list[dict]:
    """One rule per API group, as ``kubectl create role`` builds them."""
    verbs, resources = _split(verbs), _split(resources)
    if not verbs:
        raise ValueError("at least one verb must be specified")
    if not resources:
        raise ValueError("at least one resource must be specified")
    by_group: dict[str, list[str]] = {}
    for resource in resources:
        base, slash, sub = resource.partition("/")
        name, dot, group = base.partition(".")
        by_group.setdefault(group if dot else "", []).append(name + (slash + sub if slash else ""))
    rules = []
    for group, res in by_group.items():
        rule = {"apiGroups": [group], "resources": res, "verbs": verbs}
        if names:
            rule["resourceNames"] = _split(names)
        rules.append(rule)
    return rules


def subjects_from_flags(users: list[str], groups: list[str], accounts: list[str]) -> list[dict]:
    subjects = [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": u} for u in _split(users)]
    subjects += [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": g} for g in _split(groups)]
    for sa in _split(accounts):
        ns, sep, name = sa.partition(":")
        if not sep or not ns or not name:
            raise ValueError(f'serviceaccount must be <namespace>:<name>, got "{sa}"')
        subjects.append({"kind": "ServiceAccount", "namespace": ns, "name": name})
    return subjects


def build_object(kind: str, name: str, namespace: str, args: argparse.Namespace) -> tuple[str, dict]:
    """``(resource, object)`` for ``kubectl create <kind> NAME …``."""
    meta = {"name": name} if kind in ("clusterrole", "clusterrolebinding") else {"name": name, "namespace": namespace}
    if kind in ("role", "clusterrole"):
        obj = {"apiVersion": RBAC_API, "kind": "Role" if kind == "role" else "ClusterRole", "metadata": meta,
               "rules": rules_from_flags(args.verb, args.resource, args.resource_name)}
        return ("roles" if kind == "role" else "clusterroles"), obj
    if kind == "rolebinding":
        if bool(args.role) == bool(args.clusterrole):
            raise ValueError("exactly one of clusterrole or role must be specified")
        ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role" if args.role else "ClusterRole",
               "name": args.role or args.clusterrole}
        resource = "rolebindings"
    else:
        if not args.clusterrole:
            raise ValueError("clusterrole must be specified")
        ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": args.clusterrole}
        resource = "clusterrolebindings"
    obj = {"apiVersion": RBAC_API, "kind": "RoleBinding" if kind == "rolebinding" else "ClusterRoleBinding",
           "metadata": meta, "roleRef": ref,
           "subjects": subjects_from_flags(args.user, args.group, args.serviceaccount)}
    return resource, obj


CREATE_KINDS = ("role", "clusterrole", "rolebinding", "clusterrolebinding")


def auth_parser(base: argparse.ArgumentParser) -> argparse.ArgumentParser:
    base.add_argument("subcommand", choices=["can-i"], help="can-i")
    base.add_argument("verb", help="get, list, watch, create, update, patch, delete, or *")
    base.add_argument("target", help="RESOURCE[.GROUP][/NAME], e.g. pods, deployments.apps, pods/nginx")
    base.add_argument("--subresource", default="", help="e.g. status, log, binding")
    base.add_argument("-A", "--all-namespaces", action="store_true", help="ask for every namespace")
    base.add_argument("--as", dest="as_user", default="", help="ask on behalf of this user")
    base.add_argument("--as-group", action="append", default=[], help="with --as: the user's groups")
    base.add_argument("-q", "--quiet", action="store_true", help="print nothing; answer with the exit code")
    return base


def can_i(client, verb: str, target: str, namespace: str, *, subresource: str = "", as_user: str = "",
          as_groups: list[str] = ()) -> tuple[bool, str]:
    """Whether the caller (or ``as_user``) may ``verb`` the ``target``; and the server's reason."""
    resource, _, name = target.partition("/")
    resource, dot, group = resource.partition(".")
    from machinery.resources import UnknownResource, lookup

    try:
        info = lookup(resource)
        resource, group = info.name, group if dot else info.group
        namespace = namespace if info.namespaced else ""
    except UnknownResource:
        pass
    attrs = {"verb": verb, "resource": resource, "group": group if dot or group else "", "namespace": namespace,
             "name": name, "subresource": subresource}
    if as_user:
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": {"user": as_user, "groups": list(as_groups), "resourceAttributes": attrs}}
        answer = client.create("subjectaccessreviews", review)
    else:
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"resourceAttributes": attrs}}
        answer = client.create("selfsubjectaccessreviews", review)
    status = answer.get("status") or {}
    return bool(status.get("allowed")), str(status.get("reason") or "")
