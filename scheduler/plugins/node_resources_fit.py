"""NodeResourcesFit: a pod fits where its CPU and memory requests, and one more pod slot, fit
in the node's allocatable minus what bound and assumed pods already request.

Score (kube-scheduler's scoring strategies, configured through ``pluginConfig``)::

    LeastAllocated            per resource (allocatable − requested) × 100 / allocatable: spread pods
    MostAllocated             per resource requested × 100 / allocatable: bin-pack
    RequestedToCapacityRatio  a piecewise-linear ``shape`` of utilisation (0..100) → score (0..10)

then the weighted mean over ``resources`` (default cpu and memory, weight 1 each). Requested
amounts for scoring count request-less containers as 100m / 200Mi, so best-effort pods spread.
"""

from __future__ import annotations

from scheduler.framework import (
    ASSIGNED_POD_DELETE,
    ASSIGNED_POD_UPDATE,
    MAX_NODE_SCORE,
    NODE_ADD,
    NODE_UPDATE,
    SUCCESS,
    CycleState,
    Handle,
    NodeInfo,
    Plugin,
    Status,
    requests_in_cycle,
)

STRATEGIES = ("LeastAllocated", "MostAllocated", "RequestedToCapacityRatio")
SCORED_RESOURCES = ("cpu", "memory")
MAX_CUSTOM_SCORE = 10  # a RequestedToCapacityRatio shape's scores run 0..10


class NodeResourcesFit(Plugin):
    name = "NodeResourcesFit"
    events = frozenset({NODE_ADD, NODE_UPDATE, ASSIGNED_POD_DELETE, ASSIGNED_POD_UPDATE})

    def __init__(self, scoring_strategy: str = "LeastAllocated", resources: list[dict] | None = None,
                 shape: list[dict] | None = None):
        if scoring_strategy not in STRATEGIES:
            raise ValueError(f"unknown NodeResourcesFit scoring strategy {scoring_strategy!r} "
                             f"(one of {', '.join(STRATEGIES)})")
        self.strategy = scoring_strategy
        self.resources = _resource_weights(resources)
        # The weighted mean over resources: a resource listed twice counts with both weights.
        self.cpu_weight = sum(w for r, w in self.resources if r == "cpu")
        self.memory_weight = sum(w for r, w in self.resources if r == "memory")
        self.shape = _shape(shape) if scoring_strategy == "RequestedToCapacityRatio" else []

    @classmethod
    def new(cls, args: dict | None, handle: Handle) -> NodeResourcesFit:
        args = dict(args or {})
        strategy = args.pop("scoringStrategy", None) or {}
        for ignored in ("ignoredResources", "ignoredResourceGroups"):  # extended resources: none in kubemu
            args.pop(ignored, None)
        if args:
            raise ValueError(f"NodeResourcesFit args: unknown keys {', '.join(sorted(args))}")
        if not isinstance(strategy, dict):
            raise ValueError("NodeResourcesFit args: scoringStrategy must be a mapping")
        shape = (strategy.get("requestedToCapacityRatio") or {}).get("shape")
        return cls(strategy.get("type") or "LeastAllocated", strategy.get("resources"), shape)

    def pre_filter(self, pod: dict, nodes: list[NodeInfo], state: CycleState) -> Status:
        """The pod's requests, summed once per cycle (kube's computePodResourceRequest)."""
        requests_in_cycle(pod, state)
        return SUCCESS

    def filter(self, pod: dict, node: NodeInfo, state=None) -> Status:
        want, alloc, used = requests_in_cycle(pod, state), node.allocatable, node.requested
        reasons = []
        if len(node.pods) + 1 > alloc.pods:
            reasons.append("Too many pods")
        if want.milli_cpu and used.milli_cpu + want.milli_cpu > alloc.milli_cpu:
            reasons.append("Insufficient cpu")
        if want.memory and used.memory + want.memory > alloc.memory:
            reasons.append("Insufficient memory")
        return Status.unschedulable(*reasons) if reasons else SUCCESS

    def filter_nodes(self, pod: dict, nodes: list[NodeInfo], state=None) -> list[Status]:
        """:meth:`filter` for many nodes: the nodes with room answer at once."""
        want = requests_in_cycle(pod, state)
        cpu, memory = want.milli_cpu, want.memory
        return [SUCCESS if (len(n.pods) < n.allocatable.pods
                            and (not cpu or n.requested.milli_cpu + cpu <= n.allocatable.milli_cpu)
                            and (not memory or n.requested.memory + memory <= n.allocatable.memory))
                else self.filter(pod, n, state) for n in nodes]

    def score(self, pod: dict, node: NodeInfo, state=None) -> int:
        return self.score_nodes(pod, [node], state)[0]

    def score_nodes(self, pod: dict, nodes: list[NodeInfo], state=None) -> list[int]:
        want = requests_in_cycle(pod, state, non_zero=True)
        want_cpu, want_memory = want.milli_cpu, want.memory
        cpu_weight, memory_weight = self.cpu_weight, self.memory_weight
        least, resource_score = self.strategy == "LeastAllocated", self._resource_score
        out = []
        for node in nodes:
            alloc, used = node.allocatable, node.non_zero_requested
            total = weights = 0
            capacity = alloc.milli_cpu
            if cpu_weight and capacity > 0:
                requested = used.milli_cpu + want_cpu
                if least:
                    score = 0 if requested > capacity else (capacity - requested) * MAX_NODE_SCORE // capacity
                else:
                    score = resource_score(requested, capacity)
                total += score * cpu_weight
                weights += cpu_weight
            capacity = alloc.memory
            if memory_weight and capacity > 0:
                requested = used.memory + want_memory
                if least:
                    score = 0 if requested > capacity else (capacity - requested) * MAX_NODE_SCORE // capacity
                else:
                    score = resource_score(requested, capacity)
                total += score * memory_weight
                weights += memory_weight
            out.append(total // weights if weights else 0)
        return out

    def _resource_score(self, requested: int, capacity: int) -> int:
        if self.strategy == "LeastAllocated":
            return 0 if requested > capacity else (capacity - requested) * MAX_NODE_SCORE // capacity
        if self.strategy == "MostAllocated":
            return min(requested, capacity) * MAX_NODE_SCORE // capacity
        utilization = 100 if requested > capacity else requested * 100 // capacity
        return _piecewise(self.shape, utilization)


def _resource_weights(resources: list[dict] | None) -> list[tuple[str, int]]:
    if not resources:
        return [("cpu", 1), ("memory", 1)]
    out = []
    for r in resources:
        name, weight = (r or {}).get("name"), (r or {}).get("weight", 1)
        if name not in SCORED_RESOURCES:
            raise ValueError(f"NodeResourcesFit: cannot score resource {name!r} (kubemu scores cpu and memory)")
        if not isinstance(weight, int) or not 1 <= weight <= 100:
            raise ValueError(f"NodeResourcesFit: resource {name} weight must be an integer in 1..100")
        out.append((name, weight))
    return out


def _shape(shape: list[dict] | None) -> list[tuple[int, int]]:
    points = [(int(p.get("utilization", -1)), int(p.get("score", -1))) for p in shape or []]
    if not points:
        raise ValueError("NodeResourcesFit: RequestedToCapacityRatio needs a non-empty shape")
    for i, (u, s) in enumerate(points):
        if not 0 <= u <= 100 or not 0 <= s <= MAX_CUSTOM_SCORE:
            raise ValueError("NodeResourcesFit: shape points need utilization 0..100 and score 0..10")
        if i and u <= points[i - 1][0]:
            raise ValueError("NodeResourcesFit: shape utilizations must increase")
    return [(u, s * MAX_NODE_SCORE // MAX_CUSTOM_SCORE) for u, s in points]


def _piecewise(points: list[tuple[int, int]], x: int) -> int:
    """Linear interpolation between the shape's points, flat beyond its ends."""
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) // (x1 - x0)
    return points[-1][1]
