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
        return self.score_nodes(pod, [node], state)[0]

    def score_nodes(self, pod: dict, nodes: list[NodeInfo], state=None) -> list[int]:
        want = requests_in_cycle(pod, state)
        want_cpu, want_memory = want.milli_cpu, want.memory
        out = []
        for node in nodes:
            alloc, used = node.allocatable, node.requested
            if alloc.milli_cpu <= 0 or alloc.memory <= 0:
                out.append(0)
                continue
            cpu = min((used.milli_cpu + want_cpu) / alloc.milli_cpu, 1.0)
            mem = min((used.memory + want_memory) / alloc.memory, 1.0)
            out.append(int(MAX_NODE_SCORE * (1 - abs(cpu - mem) / 2)))
        return out
