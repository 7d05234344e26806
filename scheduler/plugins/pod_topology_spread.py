"""PodTopologySpread: spread matching pods evenly over topology domains (nodes, zones, …).

For each of the pod's ``topologySpreadConstraints`` the *skew* of a domain is the number of
matching pods in it (plus the incoming pod, if it matches) minus the number in the emptiest
eligible domain. ``whenUnsatisfiable: DoNotSchedule`` makes it a filter: a node whose domain
would exceed ``maxSkew`` is rejected (``node(s) didn't match pod topology spread
constraints``; a node without the topology label: ``… (missing required label)``).
``ScheduleAnyway`` makes it a score: fewer matching pods in the node's domain is better
(kube-scheduler's formula ``count × log(domains + 2) + maxSkew − 1``, then reversed and scaled
to 0..100).

Matching pods: in the pod's namespace, not terminating, selected by ``labelSelector`` (plus
``matchLabelKeys``). Eligible domains come from nodes that carry every constraint's key and,
per ``nodeAffinityPolicy`` (default Honor) / ``nodeTaintsPolicy`` (default Ignore), satisfy the
pod's node affinity / tolerate the node's taints; fewer than ``minDomains`` domains make the
minimum 0.

A pod with no constraints of its own that belongs to a ReplicaSet, StatefulSet or
ReplicationController gets the *system defaults* (kube-scheduler's ``defaultingType: System``):
``kubernetes.io/hostname`` maxSkew 3 and ``topology.kubernetes.io/zone`` maxSkew 5, both
ScheduleAnyway, over the pods of the same controller. That is what spreads a Deployment's
replicas across equal nodes. ``defaultingType: List`` with ``defaultConstraints`` replaces them.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from machinery.labels import Selector
from machinery.taints import untolerated
from scheduler.framework import (
    ASSIGNED_POD_ADD,
    ASSIGNED_POD_DELETE,
    ASSIGNED_POD_UPDATE,
    MAX_NODE_SCORE,
    NODE_ADD,
    NODE_DELETE,
    NODE_UPDATE,
    SUCCESS,
    CycleState,
    Handle,
    NodeInfo,
    Plugin,
    Status,
)
from scheduler.nodeinfo import labels_of_key
from scheduler.plugins.node_affinity import required_matches
from scheduler.plugins.podutil import (
    SPREAD_OWNER_KINDS,
    controller_of,
    labels_of,
    namespace_of,
    selector,
    terminating,
    with_label_keys,
)

CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
MISSING_LABEL = CONSTRAINTS_NOT_MATCH + " (missing required label)"
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
DO_NOT_SCHEDULE, SCHEDULE_ANYWAY = "DoNotSchedule", "ScheduleAnyway"
SYSTEM_DEFAULT_CONSTRAINTS = ({"topologyKey": HOSTNAME, "whenUnsatisfiable": SCHEDULE_ANYWAY, "maxSkew": 3},
                              {"topologyKey": ZONE, "whenUnsatisfiable": SCHEDULE_ANYWAY, "maxSkew": 5})

_FILTER_KEY = "PodTopologySpread/filter"
_SCORE_KEY = "PodTopologySpread/score"


@dataclass(frozen=True)
class Constraint:
    max_skew: int
    topology_key: str
    when_unsatisfiable: str
    namespace: str
    selector: Selector | None  # None: the pods of the same controller (system defaults)
    owner_uid: str = ""
    min_domains: int = 1
    honor_node_affinity: bool = True
    honor_taints: bool = False

    def matches(self, pod: dict) -> bool:
        if namespace_of(pod) != self.namespace or terminating(pod):
            return False
        if self.selector is None:
            owner = controller_of(pod)
            return bool(owner) and owner.get("uid") == self.owner_uid
        return self.selector.matches(labels_of(pod))

    def node_eligible(self, pod: dict, info: NodeInfo) -> bool:
        if self.honor_node_affinity and not required_matches(pod, info.node):
            return False
        if self.honor_taints:
            taints = (info.node.get("spec") or {}).get("taints") or []
            if untolerated(taints, (pod.get("spec") or {}).get("tolerations") or [], ("NoSchedule", "NoExecute")):
                return False
        return True


def _matching(constraints: list[Constraint], info: NodeInfo, memo: dict | None = None) -> list[int]:
    """How many of the node's (not terminating) pods each constraint selects, from the node's
    counts per controller and per namespace and label set; ``memo`` (one per cycle) keeps each
    selector's verdict per label set, so a selector is matched once per distinct set of labels."""
    counted: dict[tuple, int] = {}
    memo = {} if memo is None else memo
    out = []
    for c in constraints:
        key = (c.selector, c.owner_uid, c.namespace)
        if key not in counted:
            if c.selector is None:
                counted[key] = info.owner_counts.get((c.namespace, c.owner_uid), 0)
            else:
                verdicts = memo.get(key)
                if verdicts is None:
                    verdicts = memo[key] = {}
                n = 0
                for label_key, count in info.live_label_counts.items():
                    verdict = verdicts.get(label_key)
                    if verdict is None:
                        verdict = verdicts[label_key] = (label_key[0] == c.namespace
                                                         and c.selector.matches(labels_of_key(label_key)))
                    if verdict:
                        n += count
                counted[key] = n
        out.append(counted[key])
    return out


def _constraint(pod: dict, raw: dict, *, default_owner: str = "") -> Constraint | None:
    if not isinstance(raw, dict) or not raw.get("topologyKey"):
        return None
    if default_owner:
        sel = None
    else:
        sel = with_label_keys(selector(raw.get("labelSelector")), pod, raw.get("matchLabelKeys"))
    return Constraint(max(1, int(raw.get("maxSkew") or 1)), str(raw["topologyKey"]),
                      raw.get("whenUnsatisfiable") or DO_NOT_SCHEDULE, namespace_of(pod), sel, default_owner,
                      max(1, int(raw.get("minDomains") or 1)), (raw.get("nodeAffinityPolicy") or "Honor") == "Honor",
                      (raw.get("nodeTaintsPolicy") or "Ignore") == "Honor")


class PodTopologySpread(Plugin):
    name = "PodTopologySpread"
    events = frozenset({ASSIGNED_POD_ADD, ASSIGNED_POD_UPDATE, ASSIGNED_POD_DELETE, NODE_ADD, NODE_UPDATE,
                        NODE_DELETE})

    def __init__(self, defaulting_type: str = "System", default_constraints: list[dict] | None = None):
        if defaulting_type not in ("System", "List"):
            raise ValueError("PodTopologySpread: defaultingType must be System or List")
        if defaulting_type == "System" and default_constraints:
            raise ValueError("PodTopologySpread: defaultConstraints need defaultingType: List")
        for c in default_constraints or []:
            if not isinstance(c, dict) or not c.get("topologyKey") or "labelSelector" in c:
                raise ValueError("PodTopologySpread: a default constraint needs a topologyKey and no labelSelector")
        self.system_defaults = defaulting_type == "System"
        self.defaults = list(SYSTEM_DEFAULT_CONSTRAINTS) if self.system_defaults else list(default_constraints or [])

    @classmethod
    def new(cls, args: dict | None, handle: Handle) -> PodTopologySpread:
        args = dict(args or {})
        defaulting = args.pop("defaultingType", "System")
        constraints = args.pop("defaultConstraints", None)
        if args:
            raise ValueError(f"PodTopologySpread args: unknown keys {', '.join(sorted(args))}")
        return cls(defaulting, constraints)

    def constraints(self, pod: dict, when: str) -> tuple[list[Constraint], bool]:
        """The pod's constraints of one kind, and whether they are its own (not defaults)."""
        own = (pod.get("spec") or {}).get("topologySpreadConstraints") or []
        if own:
            found = [c for c in (_constraint(pod, raw) for raw in own) if c and c.when_unsatisfiable == when]
            return found, True
        owner = controller_of(pod)
        if not owner or owner.get("kind") not in SPREAD_OWNER_KINDS or not owner.get("uid"):
            return [], False
        found = [c for c in (_constraint(pod, raw, default_owner=owner["uid"]) for raw in self.defaults)
                 if c and c.when_unsatisfiable == when]
        return found, False

    # --- filter (DoNotSchedule) -----------------------------------------------------------

    def pre_filter(self, pod: dict, nodes: list[NodeInfo], state: CycleState) -> Status:
        constraints, _ = self.constraints(pod, DO_NOT_SCHEDULE)
        if not constraints:
            return Status.skip()
        counts: list[Counter] = [Counter() for _ in constraints]
        memo: dict = {}
        for info in nodes:
            labels = info.labels
            if any(c.topology_key not in labels for c in constraints):
                continue
            matching = _matching(constraints, info, memo)
            for i, c in enumerate(constraints):
                if c.node_eligible(pod, info):
                    counts[i][labels[c.topology_key]] += matching[i]
        minimum = [min(cnt.values()) if cnt and len(cnt) >= c.min_domains else 0
                   for c, cnt in zip(constraints, counts, strict=True)]
        state[_FILTER_KEY] = (constraints, counts, minimum)
        return SUCCESS

    def filter(self, pod: dict, node: NodeInfo, state: CycleState | None = None) -> Status:
        if state is None:
            state = CycleState([node])
        if _FILTER_KEY not in state:
            if self.name in state.skip_filter or self.pre_filter(pod, state.nodes or [node], state).skipped:
                return SUCCESS
        constraints, counts, minimum = state[_FILTER_KEY]
        labels = node.labels
        for c, cnt, low in zip(constraints, counts, minimum, strict=True):
            value = labels.get(c.topology_key)
            if value is None:
                return Status.unschedulable(MISSING_LABEL, unresolvable=True)
            skew = cnt.get(value, 0) + (1 if c.matches(pod) else 0) - low
            if skew > c.max_skew:
                return Status.unschedulable(CONSTRAINTS_NOT_MATCH)
        return SUCCESS

    # --- score (ScheduleAnyway) -----------------------------------------------------------

    def pre_score(self, pod: dict, feasible: list[NodeInfo], nodes: list[NodeInfo], state: CycleState) -> Status:
        constraints, own = self.constraints(pod, SCHEDULE_ANYWAY)
        if not constraints:
            return Status.skip()
        # System defaults also score nodes that lack a zone label; explicit constraints need every key.
        require_all = own or not self.system_defaults
        ignored = {n.name for n in feasible if require_all and any(c.topology_key not in n.labels
                                                                   for c in constraints)}
        domains: list[set] = [set() for _ in constraints]
        for info in feasible:
            if info.name in ignored:
                continue
            for i, c in enumerate(constraints):
                if c.topology_key != HOSTNAME and c.topology_key in info.labels:
                    domains[i].add(info.labels[c.topology_key])
        counts: list[Counter] = [Counter() for _ in constraints]
        per_node: dict[str, list[int]] = {}  # node -> matching pods per constraint
        memo: dict = {}
        for info in nodes:
            labels = info.labels
            if require_all and any(c.topology_key not in labels for c in constraints):
                continue
            if not required_matches(pod, info.node):
                continue
            matching = per_node[info.name] = _matching(constraints, info, memo)
            for i, c in enumerate(constraints):
                value = labels.get(c.topology_key)
                if c.topology_key != HOSTNAME and value in domains[i]:
                    counts[i][value] += matching[i]
        scored = len(feasible) - len(ignored)
        weights = [math.log((scored if c.topology_key == HOSTNAME else len(domains[i])) + 2)
                   for i, c in enumerate(constraints)]
        state[_SCORE_KEY] = (constraints, ignored, counts, weights, per_node)
        return SUCCESS

    def score(self, pod: dict, node: NodeInfo, state: CycleState | None = None) -> int:
        """Raw: the (weighted) number of matching pods in the node's domains — lower is better."""
        data = state.get(_SCORE_KEY) if state is not None else None
        if data is None:
            return 0
        constraints, ignored, counts, weights, per_node = data
        if node.name in ignored:
            return 0
        on_node = per_node.get(node.name) or _matching(constraints, node)
        total = 0.0
        for i, (c, cnt, weight) in enumerate(zip(constraints, counts, weights, strict=True)):
            value = node.labels.get(c.topology_key)
            if value is None:
                continue
            n = on_node[i] if c.topology_key == HOSTNAME else cnt.get(value, 0)
            total += n * weight + c.max_skew - 1
        return round(total)

    def normalize_score(self, pod: dict, scores: dict[str, int], state: CycleState | None = None) -> None:
        data = state.get(_SCORE_KEY) if state is not None else None
        ignored = data[1] if data else set()
        valid = [v for k, v in scores.items() if k not in ignored]
        low, high = (min(valid), max(valid)) if valid else (0, 0)
        for k, v in scores.items():
            if k in ignored:
                scores[k] = 0
            elif high == 0:
                scores[k] = MAX_NODE_SCORE
            else:
                scores[k] = MAX_NODE_SCORE * (high + low - v) // high
