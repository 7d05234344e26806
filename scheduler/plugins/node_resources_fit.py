"""NodeResourcesFit: a pod fits where its CPU and memory requests, and one more pod slot, fit
in the node's allocatable minus what bound and assumed pods already request. Scores nodes
by LeastAllocated (prefer emptier nodes, spreading pods) or MostAllocated (bin packing)."""

from __future__ import annotations

from scheduler.framework import MAX_NODE_SCORE, SUCCESS, NodeInfo, Status, pod_requests


class NodeResourcesFit:
    name = "NodeResourcesFit"

    def __init__(self, scoring_strategy: str = "LeastAllocated"):
        if scoring_strategy not in ("LeastAllocated", "MostAllocated"):
            raise ValueError(f"unknown NodeResourcesFit scoring strategy {scoring_strategy!r}")
        self.strategy = scoring_strategy

    def filter(self, pod: dict, node: NodeInfo) -> Status:
        want, alloc, used = pod_requests(pod), node.allocatable, node.requested
        reasons = []
        if used.pods + 1 > alloc.pods:
            reasons.append("Too many pods")
        if want.milli_cpu and used.milli_cpu + want.milli_cpu > alloc.milli_cpu:
            reasons.append("Insufficient cpu")
        if want.memory and used.memory + want.memory > alloc.memory:
            reasons.append("Insufficient memory")
        return Status.unschedulable(*reasons) if reasons else SUCCESS

    def score(self, pod: dict, node: NodeInfo) -> int:
        want, alloc, used = pod_requests(pod), node.allocatable, node.requested
        fractions = []
        for requested, capacity in ((used.milli_cpu + want.milli_cpu, alloc.milli_cpu),
                                    (used.memory + want.memory, alloc.memory)):
            if capacity <= 0:
                continue
            fraction = min(requested / capacity, 1.0)
            fractions.append(fraction if self.strategy == "MostAllocated" else 1.0 - fraction)
        if not fractions:
            return 0
        return int(MAX_NODE_SCORE * sum(fractions) / len(fractions))
