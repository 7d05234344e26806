"""BalancedAllocation: prefer nodes whose CPU and memory would be used in similar fractions,
so neither runs out while the other idles (score 100 × (1 − |cpu% − mem%|))."""

from __future__ import annotations

from scheduler.framework import MAX_NODE_SCORE, NodeInfo, pod_requests


class BalancedAllocation:
    name = "BalancedAllocation"

    def score(self, pod: dict, node: NodeInfo) -> int:
        want, alloc, used = pod_requests(pod), node.allocatable, node.requested
        if alloc.milli_cpu <= 0 or alloc.memory <= 0:
            return 0
        cpu = min((used.milli_cpu + want.milli_cpu) / alloc.milli_cpu, 1.0)
        mem = min((used.memory + want.memory) / alloc.memory, 1.0)
        return int(MAX_NODE_SCORE * (1 - abs(cpu - mem)))
