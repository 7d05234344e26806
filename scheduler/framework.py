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

from scheduler.nodeinfo import (  # noqa: F401 - re-exported: plugins and tests take them from here
    DEFAULT_MEMORY_REQUEST,
    DEFAULT_MILLI_CPU_REQUEST,
    NodeInfo,
    PodInfo,
    Resources,
    node_allocatable,
    pod_requests,
)

log = logging.getLogger(__name__)

MAX_NODE_SCORE = 100

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


@dataclass(slots=True)
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


def requests_in_cycle(pod: dict, state: CycleState | None, *, non_zero: bool = False) -> Resources:
    """:func:`pod_requests` of the pod being scheduled, computed once per cycle (not per node)."""
    if state is None:
        return pod_requests(pod, non_zero=non_zero)
    key = _NON_ZERO_REQUESTS if non_zero else _REQUESTS
    cached = state.get(key)
    if cached is None or cached[0] is not pod:
        cached = state[key] = (pod, pod_requests(pod, non_zero=non_zero))
    return cached[1]


_REQUESTS, _NON_ZERO_REQUESTS = "requests", "requests/non-zero"


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
        filter_nodes(pod, nodes, state) -> list[Status] | None          # optional: Filter of many nodes at once
                                                                        #   (None: every node passes)
        post_filter(pod, result, nodes, state) -> tuple[str, Status]    # PostFilter: (nominated node, status)
        pre_score(pod, feasible, nodes, state) -> Status                # PreScore (Skip: no Score)
        score(pod, node_info, state=None) -> int                        # Score
        score_nodes(pod, nodes, state) -> list[int]                     # optional: Score of many nodes at once
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


@dataclass(slots=True)
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
    # nodes_total: the nodes the cycle could choose from; fewer have a verdict when filtering
    # stopped early (percentageOfNodesToScore).
    nodes_total: int = 0
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
        out = {"pod": self.pod, "profile": self.profile, "selected": self.selected, "weights": dict(self.weights),
               "nodes": [{"node": v.node, "feasible": v.status.ok, "code": v.status.code,
                          "rejectedBy": v.status.plugin, "reasons": list(v.status.reasons), "scores": dict(v.scores),
                          "total": v.total} for _, v in sorted(self.verdicts.items())]}
        if self.nodes_total > len(self.verdicts):
            out["nodesTotal"] = self.nodes_total
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
                 post_binds: list = (), percentage_of_nodes_to_score: int | None = None):
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
        # None or 0: Kubernetes' adaptive default (see num_feasible_nodes_to_find).
        self.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        # Where the next cycle starts filtering (kube's nextStartNodeIndex): successive pods start
        # where the last one stopped, so with a partial search every node gets its turn.
        self.next_start_node_index = 0
        self.weights = {p.name: w for p, w in self.scorers}
        self._plugins_for_event: dict[str, set[str]] = {}

    @property
    def plugins(self) -> list:
        return _unique([*([self.queue_sort] if self.queue_sort else []), *self.pre_filters, *self.filters,
                        *self.post_filters, *self.pre_scores, *(p for p, _ in self.scorers), *self.reserves,
                        *self.pre_binds, *self.binders, *self.post_binds])

    def plugins_for_event(self, event: str) -> set[str]:
        names = self._plugins_for_event.get(event)
        if names is None:
            names = self._plugins_for_event[event] = {p.name for p in self.plugins if event in getattr(p, "events", ())}
        return names

    def describe(self) -> dict:
        """Which plugins run where (for Describe and the docs)."""
        names = lambda ps: [p.name for p in ps]  # noqa: E731
        return {"queueSort": self.queue_sort.name if self.queue_sort else "", "preFilter": names(self.pre_filters),
                "filter": names(self.filters), "postFilter": names(self.post_filters),
                "preScore": names(self.pre_scores), "score": {p.name: w for p, w in self.scorers},
                "reserve": names(self.reserves), "preBind": names(self.pre_binds), "bind": names(self.binders),
                "postBind": names(self.post_binds)}

    # --- the scheduling cycle (no side effects: also serves dry runs) ----------------------

    def run(self, pod_key: str, pod: dict, nodes: list[NodeInfo], *, all_nodes: bool = False) -> CycleResult:
        """One scheduling cycle for ``pod`` over ``nodes`` (read only). Filtering stops once
        :func:`num_feasible_nodes_to_find` nodes fit, starting where the previous cycle stopped;
        ``all_nodes`` filters and scores every node (dry runs, so an explanation is complete)."""
        nodes = [n for n in nodes if not n.placeholder]
        state = CycleState(nodes)
        result = CycleResult(pod_key, profile=self.name, weights=self.weights, state=state)
        result.nodes_total = len(nodes)
        status = self.run_pre_filters(pod, nodes, state)
        if not status.ok:
            result.pre_filter_status = status
            for info in nodes:
                result.verdicts[info.name] = NodeVerdict(info.name, status)
            return result
        feasible = self._find_feasible(pod, nodes, state, result, all_nodes)
        if not feasible:
            return result
        self._score(pod, feasible, nodes, state, result)
        # Highest total wins; ties go to the node with fewer pods, then by name, for stable spreading
        # (kube-scheduler breaks ties at random; a fixed rule keeps explanations reproducible).
        verdicts = result.verdicts
        best = feasible[0]
        best_total = verdicts[best.name].total
        for info in feasible[1:]:
            total = verdicts[info.name].total
            if total > best_total or (total == best_total
                                      and (len(info.pods), info.name) < (len(best.pods), best.name)):
                best, best_total = info, total
        result.selected = best.name
        return result

    def _find_feasible(self, pod: dict, nodes: list[NodeInfo], state: CycleState, result: CycleResult,
                       all_nodes: bool) -> list[NodeInfo]:
        """Filter nodes from ``next_start_node_index`` on, until enough fit (kube's findNodesThatPassFilters)."""
        total = len(nodes)
        if not total:
            return []
        wanted = total if all_nodes else num_feasible_nodes_to_find(self.percentage_of_nodes_to_score, total)
        start = 0 if all_nodes else self.next_start_node_index % total
        filters = [p for p in self.filters if p.name not in state.skip_filter]
        order = nodes[start:] + nodes[:start] if start else nodes
        verdicts = result.verdicts
        feasible: list[NodeInfo] = []
        processed = 0
        # Chunks of at least the nodes still wanted, each filtered plugin by plugin (the cheap
        # way in Python); a node past the one that completed the count is not recorded, so the
        # outcome is the same as filtering node by node and stopping there.
        while processed < total and len(feasible) < wanted:
            chunk = order[processed:processed + max(wanted - len(feasible), MIN_FILTER_CHUNK)]
            for info, status in zip(chunk, _filter_nodes(filters, pod, chunk, state), strict=True):
                verdicts[info.name] = NodeVerdict(info.name, status)
                processed += 1
                if status is SUCCESS:
                    feasible.append(info)
                    if len(feasible) >= wanted:
                        break
        if not all_nodes:
            self.next_start_node_index = (start + processed) % total
        return feasible

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
        return _filter_nodes([p for p in self.filters if p.name not in state.skip_filter], pod, [info], state)[0]

    def _score(self, pod: dict, feasible: list[NodeInfo], nodes: list[NodeInfo], state: CycleState,
               result: CycleResult) -> None:
        for plugin in self.pre_scores:
            status = _call_status(plugin, "pre_score", pod, feasible, nodes, state)
            if status.skipped:
                state.skip_score.add(plugin.name)
            elif not status.ok:
                log.warning("pre-score plugin %s failed for %s: %s", plugin.name, result.pod, status.message)
                state.skip_score.add(plugin.name)
        verdicts = [result.verdicts[n.name] for n in feasible]
        for plugin, weight in self.scorers:
            if plugin.name in state.skip_score:
                continue
            many = getattr(plugin, "score_nodes", None)
            if many is not None:
                raw = {n.name: int(v) for n, v in zip(feasible, many(pod, feasible, state), strict=True)}
            else:
                score = plugin.score
                raw = {n.name: int(score(pod, n, state)) for n in feasible}
            if hasattr(plugin, "normalize_score"):
                plugin.normalize_score(pod, raw, state)
            else:
                raw = _normalize(raw)
            name = plugin.name
            for verdict in verdicts:
                value = raw[verdict.node]
                value = 0 if value < 0 else MAX_NODE_SCORE if value > MAX_NODE_SCORE else int(value)
                verdict.scores[name] = value
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


# kube-scheduler's minFeasibleNodesToFind and minFeasibleNodesPercentageToFind.
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5


def num_feasible_nodes_to_find(percentage: int | None, num_all_nodes: int) -> int:
    """How many feasible nodes are enough (kube-scheduler's numFeasibleNodesToFind): all of them
    below 100 nodes; else ``percentage`` % of the nodes (0 or None: 50 % minus 1 % per 125 nodes,
    at least 5 %), but never fewer than 100."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if not percentage:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    if percentage >= 100:
        return num_all_nodes
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


# Nodes filtered at once when only a few more feasible ones are wanted.
MIN_FILTER_CHUNK = 32


def _filter_nodes(filters: list, pod: dict, nodes: list[NodeInfo], state: CycleState) -> list[Status]:
    """Each node's verdict: the status of the first of ``filters`` that rejects it (naming the
    plugin), or SUCCESS. Filters run plugin by plugin over the nodes still passing; a plugin with
    ``filter_nodes`` takes them all in one call."""
    statuses: list[Status] = [SUCCESS] * len(nodes)
    passing = list(range(len(nodes)))
    for plugin in filters:
        if not passing:
            break
        candidates = nodes if len(passing) == len(nodes) else [nodes[i] for i in passing]
        answers = _filter_one_plugin(plugin, pod, candidates, state)
        if answers is None:  # every candidate passes
            continue
        still = []
        for i, status in zip(passing, answers, strict=True):
            if status is None or status is SUCCESS or status.code == SUCCESS_CODE:
                still.append(i)
            else:
                statuses[i] = replace(status, plugin=plugin.name)
        passing = still
    return statuses


def _filter_one_plugin(plugin, pod: dict, nodes: list[NodeInfo], state: CycleState) -> list[Status | None] | None:
    """``plugin``'s verdict on each node (None: all pass). An exception fails the nodes it concerns."""
    many = getattr(plugin, "filter_nodes", None)
    if many is not None:
        try:
            return many(pod, nodes, state)
        except Exception:  # noqa: BLE001 - fall back to one node at a time to pin the error down
            log.exception("plugin %s.filter_nodes failed", plugin.name)
    answers: list[Status | None] = []
    for info in nodes:
        try:
            answers.append(plugin.filter(pod, info, state))
        except Exception as e:  # noqa: BLE001 - a broken plugin fails this node, not the scheduler
            log.exception("plugin %s.filter failed", plugin.name)
            answers.append(Status(ERROR, (f"running filter plugin {plugin.name}: {e}",), cause=e))
    return answers


def _call_status(plugin, method: str, *args) -> Status:
    """Call a plugin method returning a Status (None means success); an exception is an Error."""
    try:
        status = getattr(plugin, method)(*args)
    except Exception as e:  # noqa: BLE001 - a broken plugin fails this pod's cycle, not the scheduler
        if method not in ("bind", "pre_bind"):  # API errors while binding are the caller's to judge
            log.exception("plugin %s.%s failed", plugin.name, method)
        return Status(ERROR, (f"running {method} plugin {plugin.name}: {e}",), cause=e)
    return SUCCESS if status is None else status


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
