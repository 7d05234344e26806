"""The Node authorizer: what a kubelet (user ``system:node:<node>``, group ``system:nodes``)
may do, and nothing more.

A kubelet may read nodes and pods (it lists and watches its own pods by field selector),
write only its own Node and ``nodes/status``, its own Lease in ``kube-node-lease``, the
status of pods bound to it, delete (confirm the deletion of) pods bound to it, read services (for
the pods' service environment variables), record events,
get the configmaps, secrets and service accounts that pods bound to it refer to (volumes,
projected sources, env and envFrom references, imagePullSecrets, serviceAccountName), and create
SubjectAccessReviews (the kubelet asks whether a caller may use its API) — as
Kubernetes' node authorizer does with its graph of pods, never listing or watching them all.
Anything else falls through to RBAC, which grants nodes nothing by default, so it is Forbidden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from apiserver.authz import Request

NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
_READ = ("get", "list", "watch")


def node_name_of(user) -> str | None:
    if NODES_GROUP in user.groups and user.name.startswith(NODE_USER_PREFIX):
        return user.name[len(NODE_USER_PREFIX):]
    return None


class NodeAuthorizer:
    name = "Node"

    def __init__(self, pod_node: Callable[[str, str], str | None],
                 node_pods: Callable[[str, str], list[dict]] = lambda namespace, node: []):
        """``pod_node(namespace, name)`` returns the node a pod is bound to (None if absent);
        ``node_pods(namespace, node)`` the pods of a namespace bound to a node."""
        self._pod_node = pod_node
        self._node_pods = node_pods

    def authorize(self, r: Request) -> tuple[bool, str]:
        node = node_name_of(r.user)
        if node is None:
            return False, ""
        if r.resource == "nodes":
            if r.verb in _READ and not r.subresource:
                return True, "nodes may read nodes"
            if r.verb == "create" and not r.subresource:
                return True, "nodes may register (NodeRestriction admits only their own Node)"
            if r.name == node and r.verb in ("update", "patch", "delete"):
                return True, "a node may write its own Node"
            return False, ""
        if r.resource == "pods":
            if r.verb in _READ and not r.subresource:
                return True, "nodes may read pods"
            if r.verb in ("update", "patch", "delete") and r.subresource in ("", "status"):
                if r.verb != "delete" and not r.subresource:
                    return False, ""
                if self._pod_node(r.namespace, r.name) == node:
                    return True, "the pod is bound to this node"
            return False, ""
        if r.resource == "leases" and r.api_group == "coordination.k8s.io":
            if r.namespace == "kube-node-lease" and (r.name == node or r.verb == "create"):
                return True, "a node may write its own Lease"
            return False, ""
        if r.resource == "services" and not r.api_group and r.verb in _READ and not r.subresource:
            return True, "nodes read services (the service environment variables of pods)"
        if r.resource == "events" and r.verb in ("create", "update", "patch", "get", "list"):
            return True, "nodes record events"
        if r.resource == "subjectaccessreviews" and r.api_group == "authorization.k8s.io" and r.verb == "create":
            return True, "a kubelet asks who may use its API (delegated authorization)"
        if r.resource in ("configmaps", "secrets", "serviceaccounts") and r.verb == "get" and r.name \
                and not r.subresource:
            if any(r.name in referenced_names(pod, r.resource) for pod in self._node_pods(r.namespace, node)):
                return True, f"a pod bound to this node uses this {r.resource[:-1]}"
        return False, ""


def referenced_names(pod: dict, resource: str) -> set[str]:
    """The names of the configmaps, secrets or serviceaccounts ``pod`` refers to."""
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    if resource == "serviceaccounts":
        return {spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"}
    return set(_references(spec, "configMap" if resource == "configmaps" else "secret"))


def _references(spec: dict, kind: str) -> Iterator[str]:
    """Every name of ``kind`` (``configMap`` or ``secret``) a pod spec mentions."""
    def dicts(value) -> list[dict]:
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    def name_in(source, key: str = "name"):
        if isinstance(source, dict) and isinstance(source.get(key), str):
            yield source[key]

    for volume in dicts(spec.get("volumes")):
        yield from name_in(volume.get(kind), "name" if kind == "configMap" else "secretName")
        projected = volume.get("projected") if isinstance(volume.get("projected"), dict) else {}
        for source in dicts(projected.get("sources")):
            yield from name_in(source.get(kind))
    for container in dicts(spec.get("containers")) + dicts(spec.get("initContainers")) + \
            dicts(spec.get("ephemeralContainers")):
        for env in dicts(container.get("env")):
            value_from = env.get("valueFrom") if isinstance(env.get("valueFrom"), dict) else {}
            yield from name_in(value_from.get(f"{kind}KeyRef"))
        for env_from in dicts(container.get("envFrom")):
            yield from name_in(env_from.get(f"{kind}Ref"))
    if kind == "secret":
        for pull_secret in dicts(spec.get("imagePullSecrets")):
            yield from name_in(pull_secret)
