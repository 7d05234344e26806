"""NodeResourcesBalancedAllocation: prefer nodes whose CPU and memory would be used in similar
fractions, so neither runs out while the other idles. As in kube-scheduler the score is
``100 × (1 − std)`` of the per-resource fractions (for two resources std = |cpu − mem| / 2),
on the pods' real requests; a pod that requests nothing is not scored by it."""

from __future__ import annotations

from scheduler.framework import (
    ASSIGNED_POD_DELETE,
    MAX_NODE_SCORE,
    NODE_ADD,
    NODE_UPDATE,
    SUCCESS,
    NodeInfo,
    Plugin,
    Status,
    requests_in_cycle,
)


class BalancedAllocation(Plugin):
    name = "NodeResourcesBalancedAllocation"
    events = frozenset({NODE_ADD, NODE_UPDATE, ASSIGNED_POD_DELETE})

    def pre_score(self, pod: dict, feasible: list[NodeInfo], nodes: list[NodeInfo], state=None) -> Status:
        want = requests_in_cycle(pod, state)
        return Status.skip() if not want.milli_cpu and not want.memory else SUCCESS

    def score(self, pod: dict, node: NodeInfo, state=None) -> int:
        want, alloc, used = requests_in_cycle(pod, state), node.allocatable, node.requested
        if alloc.milli_cpu <= 0 or alloc.memory <= 0:
            return 0
        cpu = min((used.milli_cpu + want.milli_cpu) / alloc.milli_cpu, 1.0)
        mem = min((used.memory + want.memory) / alloc.memory, 1.0)
        return int(MAX_NODE_SCORE * (1 - abs(cpu - mem) / 2))
