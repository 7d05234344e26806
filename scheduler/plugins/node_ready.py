"""NodeReady: only nodes whose kubelet reports Ready take new pods.

Real kube-scheduler relies on the ``node.kubernetes.io/not-ready`` and ``…/unreachable``
NoSchedule taints the node lifecycle controller maintains; this filter gives the same answer
straight from the Ready condition, so a cluster without that controller never places pods on
a dead node. A pod tolerating the not-ready taint may still go there, as in Kubernetes.
"""

from __future__ import annotations

from machinery.taints import tolerates
from scheduler.framework import NODE_ADD, NODE_UPDATE, SUCCESS, NodeInfo, Plugin, Status

_NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}


class NodeReady(Plugin):
    name = "NodeReady"
    events = frozenset({NODE_ADD, NODE_UPDATE})

    def filter(self, pod: dict, node: NodeInfo, state=None) -> Status:
        if node.ready:  # the Ready condition, read once per node version
            return SUCCESS
        if any(tolerates(t, _NOT_READY) for t in (pod.get("spec") or {}).get("tolerations") or []):
            return SUCCESS
        return Status.unschedulable("node(s) were not ready")

    def filter_nodes(self, pod: dict, nodes: list[NodeInfo], state=None) -> list[Status] | None:
        if all(n.ready for n in nodes):
            return None
        return [self.filter(pod, n, state) for n in nodes]
