"""The scheduling framework: plugins at extension points, run in a fixed order per pod.

As in kube-scheduler (pkg/scheduler/framework), one scheduling cycle for one pod runs::

    PreFilter ─▶ Filter (per node) ─▶ [PostFilter if no node fits]
              ─▶ PreScore ─▶ Score (per feasible node) ─▶ NormalizeScore ─▶ weighted sum
              ─▶ pick the best node ─▶ Reserve (the scheduler assumes the pod there)
              ─▶ PreBind ─▶ Bind ─▶ PostBind          (Unreserve when anything after Reserve fails)

and QueueSort orders the pending pods. A plugin is a small class with a ``name`` and the
methods of the points it implements (see :class:`Plugin`); a profile (the YAML
KubeSchedulerConfiguration shape, :mod:`scheduler.profile`) says which plugins run at which
point and with what score weight.

Plugin methods take ``(pod, node, state)`` with ``state`` last and optional, so a stateless
plugin can be called on its own (``NodeAffinity().score(pod, node_info)``); plugins that need
cluster-wide data (inter-pod affinity, topology spread) compute it at PreFilter/PreScore
into the :class:`CycleState` and read it back per node.

Every filter verdict and score is kept in a :class:`CycleResult`, so the reasoning behind a
placement, or behind ``0/3 nodes are available``, can be shown to the user.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from machinery.quantity import bytes_value, cpu_millis

log = logging.getLogger(__name__)

MAX_NODE_SCORE = 100
# What scorers assume a container requests when it names no cpu / memory request
# (kube-scheduler's DefaultMilliCPURequest and DefaultMemoryRequest), so that best-effort
# pods still spread instead of all landing on the node that sorts first.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

# Status codes (kube-scheduler's framework.Code).
SUCCESS_CODE = "Success"
ERROR = "Error"
UNSCHEDULABLE = "Unschedulable"
# The node can never take the pod, whatever is removed from it: preemption does not try it.
UNRESOLVABLE = "UnschedulableAndUnresolvable"
# From PreFilter / PreScore: this plugin has nothing to say about this pod; skip its Filter / Score.
SKIP = "Skip"

# Cluster events that can make an unschedulable pod schedulable (kube's ClusterEvent). A plugin
# lists the ones that may change its verdict in ``events``; the queue retries a pod on an event
# only when a plugin that rejected it cares about that event.
NODE_ADD, NODE_UPDATE, NODE_DELETE = "Node/Add", "Node/Update", "Node/Delete"
ASSIGNED_POD_ADD, ASSIGNED_POD_UPDATE, ASSIGNED_POD_DELETE = "AssignedPod/Add", "AssignedPod/Update", \
    "AssignedPod/Delete"
ALL_EVENTS = frozenset({NODE_ADD, NODE_UPDATE, NODE_DELETE, ASSIGNED_POD_ADD, ASSIGNED_POD_UPDATE,
                        ASSIGNED_POD_DELETE})


@dataclass
class Status:
    """A plugin's verdict: success, or why not (one or more reasons), and which plugin said so."""

    code: str = SUCCESS_CODE
    reasons: tuple[str, ...] = ()
    plugin: str = ""
    # cause: the exception behind an Error status (e.g. the API error a bind got), for the caller.
    cause: Exception | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.code == SUCCESS_CODE

    @property
    def skipped(self) -> bool:
        return self.code == SKIP

    @property
    def rejected(self) -> bool:
        return self.code in (UNSCHEDULABLE, UNRESOLVABLE)

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)

    @staticmethod
    def unschedulable(*reasons: str, unresolvable: bool = False) -> Status:
        return Status(UNRESOLVABLE if unresolvable else UNSCHEDULABLE, tuple(reasons))

    @staticmethod
    def error(message: str) -> Status:
        return Status(ERROR, (message,))

    @staticmethod
    def skip() -> Status:
        return Status(SKIP)


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

    def copy(self) -> Resources:
        return Resources(self.milli_cpu, self.memory, self.pods)


def _quantity(parse, value, default: int = 0) -> int:
    try:
        return parse(value)
    except (ValueError, TypeError, ArithmeticError):
        return default


def pod_requests(pod: dict, *, non_zero: bool = False) -> Resources:
    """What a pod asks for: the sum over app containers, or the largest init container, whichever
    is bigger (Kubernetes' effective request), plus ``spec.overhead``, plus one pod slot.

    With ``non_zero`` a container that names no cpu (memory) request counts as asking for
    100m (200Mi): what the scorers use, as kube-scheduler's NonZeroRequested does.
    """
    spec = pod.get("spec") or {}

    def container_sum(containers) -> Resources:
        total = Resources()
        for c in containers or []:
            req = ((c or {}).get("resources") or {}).get("requests") or {}
            cpu = _quantity(cpu_millis, req["cpu"]) if "cpu" in req else (DEFAULT_MILLI_CPU_REQUEST if non_zero else 0)
            mem = _quantity(bytes_value, req["memory"]) if "memory" in req else (
                DEFAULT_MEMORY_REQUEST if non_zero else 0)
            total.milli_cpu += cpu
            total.memory += mem
        return total

    app = container_sum(spec.get("containers"))
    for init in spec.get("initContainers") or []:
        one = container_sum([init])
        app.milli_cpu = max(app.milli_cpu, one.milli_cpu)
        app.memory = max(app.memory, one.memory)
    overhead = spec.get("overhead") or {}
    if isinstance(overhead, dict):
        app.milli_cpu += _quantity(cpu_millis, overhead.get("cpu", 0))
        app.memory += _quantity(bytes_value, overhead.get("memory", 0))
    app.pods = 1
    return app


def requests_in_cycle(pod: dict, state: CycleState | None, *, non_zero: bool = False) -> Resources:
    """:func:`pod_requests` of the pod being scheduled, computed once per cycle (not per node)."""
    if state is None:
        return pod_requests(pod, non_zero=non_zero)
    key = ("requests/non-zero" if non_zero else "requests", id(pod))
    cached = state.get(key)
    if cached is None or cached[0] is not pod:
        cached = state[key] = (pod, pod_requests(pod, non_zero=non_zero))
    return cached[1]


def node_allocatable(node: dict) -> Resources:
    alloc = (node.get("status") or {}).get("allocatable") or {}
    return Resources(_quantity(cpu_millis, alloc.get("cpu", 0)), _quantity(bytes_value, alloc.get("memory", 0)),
                     _quantity(lambda v: int(v), alloc.get("pods", 110), 110))


@dataclass
class NodeInfo:
    """A node and the pods the scheduler believes run on it (bound or assumed).

    ``requested`` sums the pods' real requests (what the Fit filter checks); ``non_zero_requested``
    counts request-less containers at the default 100m / 200Mi (what the scorers use).
    ``placeholder`` marks a node the cache knows only through its pods (not registered, or deleted
    while pods are still bound to it): it is never offered to the filters.
    """

    node: dict
    pods: dict[str, dict] = field(default_factory=dict)  # key -> pod
    requested: Resources = field(default_factory=Resources)
    non_zero_requested: Resources = field(default_factory=Resources)
    placeholder: bool = False
    # The node object allocatable was last parsed from, and the result (parsing is the hot spot).
    _allocatable: tuple[dict, Resources] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.pods and not self.requested.pods:
            for pod in self.pods.values():
                self.requested.add(pod_requests(pod))
                self.non_zero_requested.add(pod_requests(pod, non_zero=True))

    @property
    def name(self) -> str:
        return self.node["metadata"]["name"]

    @property
    def labels(self) -> dict[str, str]:
        return (self.node.get("metadata") or {}).get("labels") or {}

    @property
    def allocatable(self) -> Resources:
        cached = self._allocatable
        if cached is None or cached[0] is not self.node:
            cached = self._allocatable = (self.node, node_allocatable(self.node))
        return cached[1]

    def add_pod(self, key: str, pod: dict) -> None:
        if key in self.pods:
            self.remove_pod(key)
        self.pods[key] = pod
        self.requested.add(pod_requests(pod))
        self.non_zero_requested.add(pod_requests(pod, non_zero=True))

    def remove_pod(self, key: str) -> None:
        pod = self.pods.pop(key, None)
        if pod is not None:
            self.requested.sub(pod_requests(pod))
            self.non_zero_requested.sub(pod_requests(pod, non_zero=True))

    def clone(self) -> NodeInfo:
        """A copy whose pod set and sums may change without touching this one (pods are shared)."""
        return NodeInfo(self.node, dict(self.pods), self.requested.copy(), self.non_zero_requested.copy(),
                        self.placeholder, self._allocatable)


class CycleState(dict):
    """Data the plugins share within one scheduling cycle (kube's CycleState): written at
    PreFilter / PreScore, read at Filter / Score. ``nodes`` is the snapshot the cycle runs on."""

    def __init__(self, nodes: list[NodeInfo] | None = None):
        super().__init__()
        self.nodes: list[NodeInfo] = nodes or []
        self.skip_filter: set[str] = set()
        self.skip_score: set[str] = set()

    def clone(self) -> CycleState:
        copy = CycleState(self.nodes)
        copy.update(self)
        copy.skip_filter, copy.skip_score = set(self.skip_filter), set(self.skip_score)
        return copy


@dataclass
class Handle:
    """What a plugin may use beyond the pod and the node (kube's framework.Handle), given to its
    factory: the API client (binding, preemption), namespace labels (affinity namespaceSelector),
    the event recorder, the pods the scheduler knows (by key) and the profile's framework."""

    client: Any = None
    recorder: Any = None
    namespace_labels: Callable[[str], dict | None] = field(default=lambda namespace: None)
    get_pod: Callable[[str], dict | None] = field(default=lambda key: None)
    scheduler_name: str = "default-scheduler"
    # framework: the profile's own Framework, set once it is built (preemption re-runs the filters).
    framework: Any = None


class Plugin:
    """Base of the built-in plugins: a name, the cluster events that may change its verdict, and
    a factory taking the profile's ``pluginConfig`` args. A plugin implements any of::

        less(a: QueuedPodInfo, b: QueuedPodInfo) -> bool                # QueueSort
        pre_filter(pod, nodes, state) -> Status                        # PreFilter (Skip: no Filter)
        filter(pod, node_info, state=None) -> Status                    # Filter
        post_filter(pod, result, nodes, state) -> tuple[str, Status]    # PostFilter: (nominated node, status)
        pre_score(pod, feasible, nodes, state) -> Status                # PreScore (Skip: no Score)
        score(pod, node_info, state=None) -> int                        # Score
        normalize_score(pod, scores: dict[str, int], state) -> None     # NormalizeScore, in place, to 0..100
        reserve(pod, node_name, state) -> Status / unreserve(pod, node_name, state)
        pre_bind / bind / post_bind(pod, node_name, state)              # bind: Skip lets the next binder try
    """

    name = ""
    events: frozenset[str] = frozenset()

    @classmethod
    def new(cls, args: dict | None, handle: Handle) -> Plugin:
        if args:
            raise ValueError(f"plugin {cls.name} takes no args (got {', '.join(sorted(args))})")
        return cls()


@dataclass
class NodeVerdict:
    node: str
    status: Status
    scores: dict[str, int] = field(default_factory=dict)  # plugin -> normalized score (0..100, unweighted)
    total: int = 0  # the weighted sum


@dataclass
class CycleResult:
    """Everything one scheduling attempt decided, node by node."""

    pod: str
    verdicts: dict[str, NodeVerdict] = field(default_factory=dict)
    selected: str = ""
    profile: str = ""
    weights: dict[str, int] = field(default_factory=dict)
    # pre_filter_status: a PreFilter plugin rejected the pod outright (then every node carries it).
    pre_filter_status: Status | None = None
    # post_filter_message: what PostFilter (preemption) said when no node fitted.
    post_filter_message: str = ""
    nominated_node: str = ""
    state: CycleState = field(default_factory=CycleState, repr=False, compare=False)

    @property
    def feasible(self) -> list[str]:
        return [n for n, v in self.verdicts.items() if v.status.ok]

    @property
    def unschedulable_plugins(self) -> frozenset[str]:
        """The plugins that rejected the pod on some node: their events may make it fit."""
        return frozenset(v.status.plugin for v in self.verdicts.values() if not v.status.ok and v.status.plugin)

    def failure_message(self) -> str:
        """kube-scheduler's FitError shape: ``0/3 nodes are available: 1 Insufficient cpu, 2 node(s) …``.

        Each reason is counted over the nodes that gave it, the ``"<count> <reason>"`` entries are
        sorted as strings, and what PostFilter (preemption) said follows the final period.
        """
        total = len(self.verdicts)
        if not total:
            return "no nodes available to schedule pods"
        message = f"0/{total} nodes are available:"
        if self.pre_filter_status is not None:
            message += f" {self.pre_filter_status.message}."
        else:
            counts: Counter = Counter()
            for verdict in self.verdicts.values():
                if not verdict.status.ok:
                    counts.update(verdict.status.reasons)
            entries = sorted(f"{n} {reason}" for reason, n in counts.items())
            if entries:
                message += f" {', '.join(entries)}."
        if self.post_filter_message:
            message += f" {self.post_filter_message}"
        return message

    def to_dict(self) -> dict:
        out = {"pod": self.pod, "profile": self.profile, "selected": self.selected, "weights": self.weights,
               "nodes": [{"node": v.node, "feasible": v.status.ok, "code": v.status.code,
                          "rejectedBy": v.status.plugin, "reasons": list(v.status.reasons), "scores": v.scores,
                          "total": v.total} for v in self.verdicts.values()]}
        if not self.selected:
            out["message"] = self.failure_message()
        if self.nominated_node:
            out["nominatedNode"] = self.nominated_node
        return out


def _unique(plugins: Iterable) -> list:
    seen, out = set(), []
    for p in plugins:
        if id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out


class Framework:
    """One profile: the plugins at each extension point, run over the candidate nodes for one pod.

    ``Framework(filters, [(scorer, weight), …])`` is enough for filtering and scoring; PreFilter
    and PreScore plugins default to the filters and scorers that implement those points.
    """

    def __init__(self, filters: list, scorers: list[tuple[Any, int]], *, name: str = "default-scheduler",
                 queue_sort=None, pre_filters: list | None = None, post_filters: list = (),
                 pre_scores: list | None = None, reserves: list = (), pre_binds: list = (), binders: list = (),
                 post_binds: list = ()):
        self.name = name
        self.queue_sort = queue_sort
        self.filters = list(filters)
        self.scorers = list(scorers)
        self.pre_filters = list(pre_filters) if pre_filters is not None else [
            p for p in self.filters if hasattr(p, "pre_filter")]
        self.pre_scores = list(pre_scores) if pre_scores is not None else [
            p for p, _ in self.scorers if hasattr(p, "pre_score")]
        self.post_filters = list(post_filters)
        self.reserves = list(reserves)
        self.pre_binds = list(pre_binds)
        self.binders = list(binders)
        self.post_binds = list(post_binds)

    @property
    def plugins(self) -> list:
        return _unique([*([self.queue_sort] if self.queue_sort else []), *self.pre_filters, *self.filters,
                        *self.post_filters, *self.pre_scores, *(p for p, _ in self.scorers), *self.reserves,
                        *self.pre_binds, *self.binders, *self.post_binds])

    def plugins_for_event(self, event: str) -> set[str]:
        return {p.name for p in self.plugins if event in getattr(p, "events", ())}

    def describe(self) -> dict:
        """Which plugins run where (for Describe and the docs)."""
        names = lambda ps: [p.name for p in ps]  # noqa: E731
        return {"queueSort": self.queue_sort.name if self.queue_sort else "", "preFilter": names(self.pre_filters),
                "filter": names(self.filters), "postFilter": names(self.post_filters),
                "preScore": names(self.pre_scores), "score": {p.name: w for p, w in self.scorers},
                "reserve": names(self.reserves), "preBind": names(self.pre_binds), "bind": names(self.binders),
                "postBind": names(self.post_binds)}

    # --- the scheduling cycle (no side effects: also serves dry runs) ----------------------

    def run(self, pod_key: str, pod: dict, nodes: list[NodeInfo]) -> CycleResult:
        nodes = [n for n in nodes if not n.placeholder]
        state = CycleState(nodes)
        result = CycleResult(pod_key, profile=self.name, weights={p.name: w for p, w in self.scorers}, state=state)
        status = self.run_pre_filters(pod, nodes, state)
        if not status.ok:
            result.pre_filter_status = status
            for info in nodes:
                result.verdicts[info.name] = NodeVerdict(info.name, status)
            return result
        for info in nodes:
            result.verdicts[info.name] = NodeVerdict(info.name, self.run_filters(pod, info, state))
        feasible = [n for n in nodes if result.verdicts[n.name].status.ok]
        if not feasible:
            return result
        self._score(pod, feasible, nodes, state, result)
        # Highest total wins; ties go to the node with fewer pods, then by name, for stable spreading
        # (kube-scheduler breaks ties at random; a fixed rule keeps explanations reproducible).
        best = max(feasible, key=lambda n: (result.verdicts[n.name].total, -len(n.pods), _neg(n.name)))
        result.selected = best.name
        return result

    def run_pre_filters(self, pod: dict, nodes: list[NodeInfo], state: CycleState) -> Status:
        for plugin in self.pre_filters:
            status = _call_status(plugin, "pre_filter", pod, nodes, state)
            if status.skipped:
                state.skip_filter.add(plugin.name)
            elif not status.ok:
                return replace(status, plugin=plugin.name)
        return SUCCESS

    def run_filters(self, pod: dict, info: NodeInfo, state: CycleState) -> Status:
        """The first filter that rejects the node, or success."""
        for plugin in self.filters:
            if plugin.name in state.skip_filter:
                continue
            status = _call_status(plugin, "filter", pod, info, state)
            if not status.ok:
                return replace(status, plugin=plugin.name)
        return SUCCESS

    def _score(self, pod: dict, feasible: list[NodeInfo], nodes: list[NodeInfo], state: CycleState,
               result: CycleResult) -> None:
        for plugin in self.pre_scores:
            status = _call_status(plugin, "pre_score", pod, feasible, nodes, state)
            if status.skipped:
                state.skip_score.add(plugin.name)
            elif not status.ok:
                log.warning("pre-score plugin %s failed for %s: %s", plugin.name, result.pod, status.message)
                state.skip_score.add(plugin.name)
        for plugin, weight in self.scorers:
            if plugin.name in state.skip_score:
                continue
            raw = {n.name: int(plugin.score(pod, n, state)) for n in feasible}
            if hasattr(plugin, "normalize_score"):
                plugin.normalize_score(pod, raw, state)
            else:
                raw = _normalize(raw)
            for name, value in raw.items():
                value = max(0, min(MAX_NODE_SCORE, int(value)))
                verdict = result.verdicts[name]
                verdict.scores[plugin.name] = value
                verdict.total += value * weight

    # --- after the cycle: post-filter, reserve, bind (side effects, run by the scheduler) ----

    def run_post_filters(self, pod: dict, result: CycleResult, nodes: list[NodeInfo]) -> tuple[str, Status]:
        """PostFilter plugins in order until one makes the pod schedulable (e.g. by preemption)."""
        last = Status.unschedulable()
        for plugin in self.post_filters:
            nominated, status = plugin.post_filter(pod, result, nodes, result.state)
            if status.ok:
                return nominated, replace(status, plugin=plugin.name)
            last = replace(status, plugin=plugin.name)
            if status.code == UNRESOLVABLE:
                break
        return "", last

    def run_reserve(self, pod: dict, node_name: str, state: CycleState) -> Status:
        for plugin in self.reserves:
            status = _call_status(plugin, "reserve", pod, node_name, state)
            if not status.ok:
                self.run_unreserve(pod, node_name, state)
                return replace(status, plugin=plugin.name)
        return SUCCESS

    def run_unreserve(self, pod: dict, node_name: str, state: CycleState) -> None:
        for plugin in reversed(self.reserves):
            try:
                plugin.unreserve(pod, node_name, state)
            except Exception:  # noqa: BLE001 - one plugin's failure must not skip the others
                log.exception("unreserve plugin %s failed", plugin.name)

    def run_pre_bind(self, pod: dict, node_name: str, state: CycleState) -> Status:
        for plugin in self.pre_binds:
            status = _call_status(plugin, "pre_bind", pod, node_name, state)
            if not status.ok:
                return replace(status, plugin=plugin.name)
        return SUCCESS

    def run_bind(self, pod: dict, node_name: str, state: CycleState) -> Status:
        for plugin in self.binders:
            status = _call_status(plugin, "bind", pod, node_name, state)
            if status.skipped:
                continue
            return replace(status, plugin=plugin.name)
        return Status.error("no bind plugin bound the pod")

    def run_post_bind(self, pod: dict, node_name: str, state: CycleState) -> None:
        for plugin in self.post_binds:
            try:
                plugin.post_bind(pod, node_name, state)
            except Exception:  # noqa: BLE001 - informational only
                log.exception("post-bind plugin %s failed", plugin.name)


def _call_status(plugin, method: str, *args) -> Status:
    """Call a plugin method returning a Status (None means success); an exception is an Error."""
    try:
        status = getattr(plugin, method)(*args)
    except Exception as e:  # noqa: BLE001 - a broken plugin fails this pod's cycle, not the scheduler
        if method not in ("bind", "pre_bind"):  # API errors while binding are the caller's to judge
            log.exception("plugin %s.%s failed", plugin.name, method)
        return Status(ERROR, (f"running {method} plugin {plugin.name}: {e}",), cause=e)
    return SUCCESS if status is None else status


def _neg(name: str) -> tuple:
    return tuple(-ord(c) for c in name)


def _normalize(raw: dict[str, int]) -> dict[str, int]:
    """Scores of a plugin without NormalizeScore: already in [0, 100] they pass through; others
    are scaled so the highest becomes 100 (kube-scheduler would reject them as an error)."""
    if not raw:
        return {}
    if all(0 <= v <= MAX_NODE_SCORE for v in raw.values()):
        return raw
    top = max(raw.values()) or 1
    return {k: max(0, v) * MAX_NODE_SCORE // top for k, v in raw.items()}


def default_normalize(scores: dict[str, int], *, reverse: bool = False) -> None:
    """kube-scheduler's DefaultNormalizeScore, in place: scale so the highest score is 100; with
    ``reverse`` the lowest raw score gets 100 (for plugins that count bad things)."""
    top = max(scores.values(), default=0)
    if top == 0:
        for k in scores:
            scores[k] = MAX_NODE_SCORE if reverse else 0
        return
    for k, v in scores.items():
        value = MAX_NODE_SCORE * v // top
        scores[k] = MAX_NODE_SCORE - value if reverse else value
