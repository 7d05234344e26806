"""NodeName: a pod that names its node in ``spec.nodeName`` fits only there (such pods are
normally bound already; this covers the queue's view of them)."""

from __future__ import annotations

from scheduler.framework import NODE_ADD, SUCCESS, NodeInfo, Plugin, Status


class NodeName(Plugin):
    name = "NodeName"
    events = frozenset({NODE_ADD})

    def filter(self, pod: dict, node: NodeInfo, state=None) -> Status:
        wanted = (pod.get("spec") or {}).get("nodeName")
        if wanted and wanted != node.name:
            return Status.unschedulable("node(s) didn't match the requested node name", unresolvable=True)
        return SUCCESS

    def filter_nodes(self, pod: dict, nodes: list[NodeInfo], state=None) -> list[Status] | None:
        if not (pod.get("spec") or {}).get("nodeName"):
            return None
        return [self.filter(pod, n, state) for n in nodes]
