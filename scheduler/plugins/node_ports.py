"""NodePorts: a pod asking for a ``hostPort`` fits only on nodes where no other pod holds the
same protocol and port on an overlapping host IP (``0.0.0.0`` overlaps every address)."""

from __future__ import annotations

from scheduler.framework import ASSIGNED_POD_DELETE, NODE_ADD, SUCCESS, CycleState, NodeInfo, Plugin, Status

REASON = "node(s) didn't have free ports for the requested pod ports"
_KEY = "NodePorts"
_ANY = "0.0.0.0"


def host_ports(pod: dict) -> list[tuple[str, str, int]]:
    """(hostIP, protocol, hostPort) for every container port with a hostPort."""
    out = []
    spec = pod.get("spec") or {}
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for p in (c or {}).get("ports") or []:
            port = (p or {}).get("hostPort")
            if isinstance(port, int) and port > 0:
                out.append((p.get("hostIP") or _ANY, p.get("protocol") or "TCP", port))
    return out


def _conflict(a: tuple[str, str, int], b: tuple[str, str, int]) -> bool:
    return a[1:] == b[1:] and (a[0] == b[0] or _ANY in (a[0], b[0]))


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
        if not wanted:
            return SUCCESS
        for other in node.pods.values():
            for used in host_ports(other):
                if any(_conflict(used, w) for w in wanted):
                    return Status.unschedulable(REASON)
        return SUCCESS
