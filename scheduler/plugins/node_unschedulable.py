"""NodeUnschedulable: nodes cordoned with ``spec.unschedulable`` take no new pods, unless the
pod tolerates the ``node.kubernetes.io/unschedulable`` NoSchedule taint."""

from __future__ import annotations

from machinery.taints import tolerates
from scheduler.framework import NODE_ADD, NODE_UPDATE, SUCCESS, NodeInfo, Plugin, Status

_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


class NodeUnschedulable(Plugin):
    name = "NodeUnschedulable"
    events = frozenset({NODE_ADD, NODE_UPDATE})

    def filter(self, pod: dict, node: NodeInfo, state=None) -> Status:
        if not node.unschedulable:
            return SUCCESS
        if any(tolerates(t, _TAINT) for t in (pod.get("spec") or {}).get("tolerations") or []):
            return SUCCESS
        return Status.unschedulable("node(s) were unschedulable", unresolvable=True)

    def filter_nodes(self, pod: dict, nodes: list[NodeInfo], state=None) -> list[Status] | None:
        if not any(n.unschedulable for n in nodes):
            return None
        return [self.filter(pod, n, state) for n in nodes]
