"""The Node authorizer: what a kubelet (user ``system:node:<node>``, group ``system:nodes``)
may do, and nothing more.

A kubelet may read nodes and pods (it lists and watches its own pods by field selector),
write only its own Node and ``nodes/status``, its own Lease in ``kube-node-lease``, the
status of pods bound to it, delete (confirm the deletion of) pods bound to it, record events,
and read the configmaps, secrets and service accounts pods need. Anything else falls through
to RBAC, which grants nodes nothing by default, so it is Forbidden.
"""

from __future__ import annotations

from collections.abc import Callable

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

    def __init__(self, pod_node: Callable[[str, str], str | None]):
        """``pod_node(namespace, name)`` returns the node a pod is bound to (None if absent)."""
        self._pod_node = pod_node

    def authorize(self, r: Request) -> tuple[bool, str]:
        node = node_name_of(r.user)
        if node is None:
            return False, ""
        if r.resource == "nodes":
            if r.verb in _READ and not r.subresource:
                return True, "nodes may read nodes"
            if r.name == node and r.verb in ("create", "update", "patch", "delete"):
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
            if r.namespace == "kube-node-lease" and (r.name == node or (r.verb == "create" and r.name in ("", node))):
                return True, "a node may write its own Lease"
            return False, ""
        if r.resource == "events" and r.verb in ("create", "update", "patch", "get", "list"):
            return True, "nodes record events"
        if r.resource in ("configmaps", "secrets", "serviceaccounts") and r.verb in _READ:
            return True, "nodes read what their pods use"
        return False, ""
