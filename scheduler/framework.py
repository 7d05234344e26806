"""The scheduling framework: plugins at extension points, run in a fixed order per pod.

As in kube-scheduler (pkg/scheduler/framework), a scheduling cycle for one pod runs
PreFilter → Filter (per node) → Score (per feasible node) → NormalizeScore → weighted sum,
picks the highest-scoring node, Reserves it (assume), and binds. A plugin is a small class
with a ``name`` and the methods of the points it implements; a profile (the YAML
KubeSchedulerConfiguration shape) says which plugins are enabled and their score weights.

Every filter verdict and score is kept in a :class:`CycleResult`, so the reasoning behind a
placement, or behind "0/3 nodes are available", can be shown to the user.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from machinery.quantity import bytes_value, cpu_millis

MAX_NODE_SCORE = 100


@dataclass
class Status:
    """A plugin's verdict on one node: success, or the reasons it does not fit."""

    code: str = "Success"  # Success, Unschedulable, UnschedulableAndUnresolvable, Error
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @property
    def ok(self) -> bool:
        return self.code == "Success"

    @staticmethod
    def unschedulable(*reasons: str, unresolvable: bool = False) -> Status:
        return Status("UnschedulableAndUnresolvable" if unresolvable else "Unschedulable", tuple(reasons))


SUCCESS = Status()


@dataclass
class Resources:
    """Requested or allocatable amounts in integer units: millicores, bytes, pod count."""

    milli_cpu: int = 0
    memory: int = 0
    pods: int = 0

    def add(self, other: Resources) -> None:
        self.milli_cpu += other.milli_cpu
        self.memory += other.memory
        self.pods += other.pods

    def sub(self, other: Resources) -> None:
        self.milli_cpu -= other.milli_cpu
        self.memory -= other.memory
        self.pods -= other.pods


def _quantity(parse, value, default: int = 0) -> int:
    try:
        return parse(value)
    except (ValueError, TypeError, ArithmeticError):
        return default


def pod_requests(pod: dict) -> Resources:
    """What a pod asks for: the sum over app containers, or the largest init container, whichever
    is bigger (Kubernetes' effective request), plus one pod slot."""
    spec = pod.get("spec") or {}

    def container_sum(containers) -> Resources:
        total = Resources()
        for c in containers or []:
            req = ((c or {}).get("resources") or {}).get("requests") or {}
            total.milli_cpu += _quantity(cpu_millis, req.get("cpu", 0))
            total.memory += _quantity(bytes_value, req.get("memory", 0))
        return total

    app = container_sum(spec.get("containers"))
    for init in spec.get("initContainers") or []:
        one = container_sum([init])
        app.milli_cpu = max(app.milli_cpu, one.milli_cpu)
        app.memory = max(app.memory, one.memory)
    app.pods = 1
    return app


def node_allocatable(node: dict) -> Resources:
    alloc = (node.get("status") or {}).get("allocatable") or {}
    return Resources(_quantity(cpu_millis, alloc.get("cpu", 0)), _quantity(bytes_value, alloc.get("memory", 0)),
                     _quantity(lambda v: int(v), alloc.get("pods", 110), 110))


@dataclass
class NodeInfo:
    """A node and the pods the scheduler believes run on it (bound or assumed)."""

    node: dict
    pods: dict[str, dict] = field(default_factory=dict)  # key -> pod
    requested: Resources = field(default_factory=Resources)

    @property
    def name(self) -> str:
        return self.node["metadata"]["name"]

    @property
    def allocatable(self) -> Resources:
        return node_allocatable(self.node)

    def add_pod(self, key: str, pod: dict) -> None:
        if key in self.pods:
            self.remove_pod(key)
        self.pods[key] = pod
        self.requested.add(pod_requests(pod))

    def remove_pod(self, key: str) -> None:
        pod = self.pods.pop(key, None)
        if pod is not None:
            self.requested.sub(pod_requests(pod))


class FilterPlugin(Protocol):
    name: str

    def filter(self, pod: dict, node: NodeInfo) -> Status: ...


class ScorePlugin(Protocol):
    name: str

    def score(self, pod: dict, node: NodeInfo) -> int: ...


@dataclass
class NodeVerdict:
    node: str
    status: Status
    scores: dict[str, int] = field(default_factory=dict)
    total: int = 0


@dataclass
class CycleResult:
    """Everything one scheduling attempt decided, node by node."""

    pod: str
    verdicts: dict[str, NodeVerdict] = field(default_factory=dict)
    selected: str = ""

    @property
    def feasible(self) -> list[str]:
        return [n for n, v in self.verdicts.items() if v.status.ok]

    def failure_message(self) -> str:
        """kube-scheduler's shape: ``0/3 nodes are available: 1 Insufficient cpu, 2 node(s) …``."""
        counts: Counter = Counter()
        for verdict in self.verdicts.values():
            for reason in verdict.status.reasons:
                counts[reason] += 1
        total = len(self.verdicts)
        if not total:
            return "no nodes available to schedule pods"
        parts = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items(), key=lambda kv: kv[0]))
        return f"0/{total} nodes are available: {parts}."

    def to_dict(self) -> dict:
        return {"pod": self.pod, "selected": self.selected,
                "nodes": [{"node": v.node, "feasible": v.status.ok, "rejectedBy": v.status.plugin,
                           "reasons": list(v.status.reasons), "scores": v.scores, "total": v.total}
                          for v in self.verdicts.values()]}


class Framework:
    """Runs a profile's filter and score plugins over the candidate nodes for one pod."""

    def __init__(self, filters: list[FilterPlugin], scorers: list[tuple[ScorePlugin, int]]):
        self.filters = filters
        self.scorers = scorers

    def run(self, pod_key: str, pod: dict, nodes: list[NodeInfo]) -> CycleResult:
        result = CycleResult(pod_key)
        for info in nodes:
            status = SUCCESS
            for plugin in self.filters:
                status = plugin.filter(pod, info)
                if not status.ok:
                    status.plugin = plugin.name
                    break
            result.verdicts[info.name] = NodeVerdict(info.name, status)
        feasible = [n for n in nodes if result.verdicts[n.name].status.ok]
        for plugin, weight in self.scorers:
            raw = {n.name: plugin.score(pod, n) for n in feasible}
            for name, value in _normalize(raw).items():
                verdict = result.verdicts[name]
                verdict.scores[plugin.name] = value
                verdict.total += value * weight
        if feasible:
            # Highest total wins; ties go to the node with fewer pods, then by name, for stable spreading.
            best = max(feasible, key=lambda n: (result.verdicts[n.name].total, -len(n.pods), _neg(n.name)))
            result.selected = best.name
        return result


def _neg(name: str) -> tuple:
    return tuple(-ord(c) for c in name)


def _normalize(raw: dict[str, int]) -> dict[str, int]:
    """Scores already in [0, 100] pass through; others are scaled to that range."""
    if not raw:
        return {}
    if all(0 <= v <= MAX_NODE_SCORE for v in raw.values()):
        return raw
    top = max(raw.values()) or 1
    return {k: max(0, v) * MAX_NODE_SCORE // top for k, v in raw.items()}
