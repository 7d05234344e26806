"""NodePorts: a pod asking for a ``hostPort`` fits only on nodes where no other pod holds the
same protocol and port on an overlapping host IP (``0.0.0.0`` overlaps every address). The
ports in use are kept per node (:attr:`scheduler.nodeinfo.NodeInfo.used_ports`); a pod without
host ports skips the filter (PreFilter says Skip)."""

from __future__ import annotations

from scheduler.framework import ASSIGNED_POD_DELETE, NODE_ADD, SUCCESS, CycleState, NodeInfo, Plugin, Status
from scheduler.nodeinfo import ANY_HOST_IP, host_ports

__all__ = ["NodePorts", "host_ports"]

REASON = "node(s) didn't have free ports for the requested pod ports"
_KEY = "NodePorts"


def _conflict(a: tuple[str, str, int], b: tuple[str, str, int]) -> bool:
    return a[1:] == b[1:] and (a[0] == b[0] or ANY_HOST_IP in (a[0], b[0]))


class NodePorts(Plugin):
    name = "NodePorts"
    events = frozenset({ASSIGNED_POD_DELETE, NODE_ADD})

    def pre_filter(self, pod: dict, nodes: list[NodeInfo], state: CycleState) -> Status:
        wanted = host_ports(pod)
        if not wanted:
            return Status.skip()
        state[_KEY] = wanted
        return SUCCESS

    def filter(self, pod: dict, node: NodeInfo, state: CycleState | None = None) -> Status:
        wanted = state.get(_KEY) if state is not None else None
        if wanted is None:
            wanted = host_ports(pod)
        if not wanted or not node.used_ports:
            return SUCCESS
        for used in node.used_ports:
            if any(_conflict(used, w) for w in wanted):
                return Status.unschedulable(REASON)
        return SUCCESS
