"""RBAC: Roles, ClusterRoles and their bindings, evaluated per request.

A request is allowed when some binding that names the user (User), one of their groups
(Group) or their service account (ServiceAccount → ``system:serviceaccount:<ns>:<name>``)
refers to a role with a rule matching the verb, API group, resource (``pods``,
``pods/status``, ``*``) and — if the rule lists ``resourceNames`` — the object's name. A
non-resource request (``GET /metrics``) matches only rules' ``nonResourceURLs``: the path
itself, ``*``, or a prefix ending in ``*`` (``/healthz/*``).
RoleBindings grant within their namespace; ClusterRoleBindings everywhere. A ClusterRole
with an ``aggregationRule`` has the union of the rules of every ClusterRole its selectors
match (how ``admin``, ``edit`` and ``view`` are built).

The objects come from an in-memory snapshot kept current by a watch on storage
(:class:`apiserver.cache.ObjectCache`), as kube-apiserver does with informers: a new binding
takes effect within moments, not within the same request.
"""

from __future__ import annotations

from collections.abc import Callable

from apiserver.authz import Request
from machinery.labels import selector_from_label_selector


def rule_matches(rule: dict, r: Request) -> bool:
    verbs = rule.get("verbs") or []
    if "*" not in verbs and r.verb not in verbs:
        return False
    if r.path:
        return any(_url_matches(url, r.path) for url in rule.get("nonResourceURLs") or [])
    groups = rule.get("apiGroups") or []
    if "*" not in groups and r.api_group not in groups:
        return False
    resources = rule.get("resources") or []
    wanted = f"{r.resource}/{r.subresource}" if r.subresource else r.resource
    if not any(_resource_matches(res, wanted, r.subresource) for res in resources):
        return False
    names = rule.get("resourceNames") or []
    return not names or (bool(r.name) and r.name in names)


def _url_matches(pattern: str, path: str) -> bool:
    if pattern in ("*", path):
        return True
    return pattern.endswith("*") and path.startswith(pattern[:-1])


def _resource_matches(pattern: str, wanted: str, subresource: str) -> bool:
    if pattern in ("*", wanted):
        return True
    return bool(subresource) and pattern == f"*/{subresource}"


def subject_matches(subject: dict, r: Request) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == r.user.name
    if kind == "Group":
        return name in r.user.groups
    if kind == "ServiceAccount":
        return r.user.name == f"system:serviceaccount:{subject.get('namespace', '')}:{name}"
    return False


class RBACAuthorizer:
    name = "RBAC"

    def __init__(self, objects: Callable[[str], list[dict]]):
        """``objects(resource)`` returns the current roles/clusterroles/… (from a cache)."""
        self._objects = objects

    def cluster_role_rules(self, name: str, seen: frozenset = frozenset()) -> list[dict]:
        roles = {r["metadata"]["name"]: r for r in self._objects("clusterroles")}
        role = roles.get(name)
        if role is None or name in seen:
            return []
        rules = list(role.get("rules") or [])
        aggregation = role.get("aggregationRule")
        if aggregation:
            for term in aggregation.get("clusterRoleSelectors") or []:
                selector = selector_from_label_selector(term)
                for other_name, other in roles.items():
                    if other_name != name and selector.matches(other["metadata"].get("labels") or {}):
                        rules += self.cluster_role_rules(other_name, seen | {name})
        return rules

    def _role_rules(self, namespace: str, name: str) -> list[dict]:
        for role in self._objects("roles"):
            if role["metadata"]["name"] == name and role["metadata"].get("namespace") == namespace:
                return list(role.get("rules") or [])
        return []

    def _rules_for_ref(self, ref: dict, namespace: str) -> list[dict]:
        if ref.get("kind") == "ClusterRole":
            return self.cluster_role_rules(ref.get("name", ""))
        if ref.get("kind") == "Role":
            return self._role_rules(namespace, ref.get("name", ""))
        return []

    def authorize(self, r: Request) -> tuple[bool, str]:
        """Kubernetes' reason wording: ``allowed by ClusterRoleBinding "b" of ClusterRole "r" to User "u"``,
        plus the rule that matched (what ``kubemu trace`` shows)."""
        for binding in self._objects("clusterrolebindings"):
            subject = next((s for s in binding.get("subjects") or [] if subject_matches(s, r)), None)
            if subject is not None:
                ref = binding.get("roleRef") or {}
                rule = next((x for x in self._rules_for_ref(ref, "") if rule_matches(x, r)), None)
                if rule is not None:
                    return True, (f'allowed by ClusterRoleBinding "{binding["metadata"]["name"]}" of '
                                  f'{_describe(ref, subject, rule)}')
        if r.namespace:
            for binding in self._objects("rolebindings"):
                if binding["metadata"].get("namespace") != r.namespace:
                    continue
                subject = next((s for s in binding.get("subjects") or [] if subject_matches(s, r)), None)
                if subject is not None:
                    ref = binding.get("roleRef") or {}
                    rule = next((x for x in self._rules_for_ref(ref, r.namespace) if rule_matches(x, r)), None)
                    if rule is not None:
                        return True, (f'allowed by RoleBinding "{binding["metadata"]["name"]}" in namespace '
                                      f'"{r.namespace}" of {_describe(ref, subject, rule)}')
        return False, ""


def _describe(ref: dict, subject: dict, rule: dict) -> str:
    """``ClusterRole "edit" to User "jane" (rule: verbs=[create] resources=[pods])``."""
    def items(key: str) -> str:
        return ",".join(str(v) for v in rule.get(key) or [])

    groups = f" apiGroups=[{items('apiGroups')}]" if any(rule.get("apiGroups") or []) else ""
    names = f" resourceNames=[{items('resourceNames')}]" if rule.get("resourceNames") else ""
    return (f'{ref.get("kind", "")} "{ref.get("name", "")}" to {subject.get("kind", "")} "{subject.get("name", "")}" '
            f"(rule: verbs=[{items('verbs')}]{groups} resources=[{items('resources')}]{names})")
