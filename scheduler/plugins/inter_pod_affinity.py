"""InterPodAffinity: place a pod near (affinity) or away from (anti-affinity) other pods, per
topology domain (``topologyKey``: a node label such as ``kubernetes.io/hostname`` or a zone).

Filter, for ``requiredDuringSchedulingIgnoredDuringExecution`` terms, in kube-scheduler's order:

1. no existing pod's required anti-affinity may match the incoming pod within the node's domain
   (``node(s) didn't satisfy existing pods anti-affinity rules``);
2. no pod matching one of the incoming pod's anti-affinity terms may run in the node's domain
   (``node(s) didn't match pod anti-affinity rules``);
3. for affinity, the node must carry every term's topology key and its domain must already run a
   pod matching *all* the terms (``node(s) didn't match pod affinity rules``, unresolvable) — except
   for the first pod of a group that matches its own terms when no such pod exists anywhere.

A term picks pods by ``labelSelector`` (plus ``matchLabelKeys`` / ``mismatchLabelKeys``) in its
``namespaces``, the namespaces matching ``namespaceSelector``, or else the pod's own namespace.

Score, for preferred terms: every existing pod adds (affinity) or subtracts (anti-affinity) the
weight of each of the incoming pod's preferred terms it matches to that pod's domain; existing
pods' preferred terms matching the incoming pod count the same way, and their required affinity
terms count ``hardPodAffinityWeight``. A node scores the sum over its domains, normalised to
0..100 between the lowest and highest node.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from scheduler.framework import (
    ASSIGNED_POD_ADD,
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
)
from scheduler.nodeinfo import labels_of_key
from scheduler.plugins.podutil import (
    AffinityTerm,
    NamespaceLabels,
    namespace_of,
    preferred_terms,
    required_terms,
)

EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
AFFINITY = "node(s) didn't match pod affinity rules"
ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"

_FILTER_KEY = "InterPodAffinity/filter"
_SCORE_KEY = "InterPodAffinity/score"


@dataclass
class _FilterState:
    affinity: list[AffinityTerm]
    anti_affinity: list[AffinityTerm]
    namespace_labels: dict | None
    # (topologyKey, value) -> how many pods there match what the counter is about.
    existing_anti: Counter = field(default_factory=Counter)
    affinity_counts: Counter = field(default_factory=Counter)
    anti_counts: Counter = field(default_factory=Counter)


class InterPodAffinity(Plugin):
    name = "InterPodAffinity"
    events = frozenset({ASSIGNED_POD_ADD, ASSIGNED_POD_UPDATE, ASSIGNED_POD_DELETE, NODE_ADD, NODE_UPDATE})

    def __init__(self, *, hard_pod_affinity_weight: int = 1, ignore_preferred_terms_of_existing_pods: bool = False,
                 namespace_labels: NamespaceLabels | None = None):
        if not 0 <= hard_pod_affinity_weight <= 100:
            raise ValueError("InterPodAffinity: hardPodAffinityWeight must be in 0..100")
        self.hard_weight = hard_pod_affinity_weight
        self.ignore_existing_preferred = ignore_preferred_terms_of_existing_pods
        self.namespace_labels = namespace_labels or (lambda namespace: None)

    @classmethod
    def new(cls, args: dict | None, handle: Handle) -> InterPodAffinity:
        args = dict(args or {})
        weight = args.pop("hardPodAffinityWeight", 1)
        ignore = bool(args.pop("ignorePreferredTermsOfExistingPods", False))
        if args:
            raise ValueError(f"InterPodAffinity args: unknown keys {', '.join(sorted(args))}")
        return cls(hard_pod_affinity_weight=int(weight), ignore_preferred_terms_of_existing_pods=ignore,
                   namespace_labels=handle.namespace_labels)

    # --- filter -------------------------------------------------------------------------

    def pre_filter(self, pod: dict, nodes: list[NodeInfo], state: CycleState) -> Status:
        s = self._filter_state(pod, nodes)
        if not (s.affinity or s.anti_affinity or s.existing_anti):
            return Status.skip()
        state[_FILTER_KEY] = s
        return SUCCESS

    def _filter_state(self, pod: dict, nodes: list[NodeInfo]) -> _FilterState:
        """Counts per topology domain, from each node's pods grouped by their affinity terms and by
        their namespace and labels. Only nodes with pods having required anti-affinity matter
        unless the incoming pod has required terms of its own (kube-scheduler's
        HavePodsWithRequiredAntiAffinityList); what a group's terms say about the incoming pod,
        and whether its terms pick a group, is worked out once per group and cycle."""
        s = _FilterState(required_terms(pod, "podAffinity"), required_terms(pod, "podAntiAffinity"),
                         self.namespace_labels(namespace_of(pod)))
        own_terms = bool(s.affinity or s.anti_affinity)
        picking: dict[tuple, list[str]] = {}  # affinity key -> topology keys of its required anti terms picking the pod
        picked: dict[tuple, tuple[bool, list[AffinityTerm]]] = {}  # label key -> (all affinity terms, anti terms)
        for info in nodes:
            labels = info.labels
            if info.pods_with_required_anti_affinity:
                for affinity_key, count in info.affinity_counts.items():
                    keys = picking.get(affinity_key)
                    if keys is None:
                        example = info.affinity_examples[affinity_key]
                        keys = picking[affinity_key] = [
                            t.topology_key for t in required_terms(example.pod, "podAntiAffinity")
                            if t.matches(pod, s.namespace_labels)] if example.has_required_anti_affinity else []
                    for topology_key in keys:
                        if topology_key in labels:
                            s.existing_anti[(topology_key, labels[topology_key])] += count
            if not own_terms:
                continue
            for label_key, count in info.label_counts.items():
                verdict = picked.get(label_key)
                if verdict is None:
                    namespace, their_labels = label_key[0], labels_of_key(label_key)
                    ns_labels = self.namespace_labels(namespace)
                    verdict = picked[label_key] = (
                        bool(s.affinity) and all(t.matches_labels(namespace, their_labels, ns_labels)
                                                 for t in s.affinity),
                        [t for t in s.anti_affinity if t.matches_labels(namespace, their_labels, ns_labels)])
                affinity_matches, anti_matches = verdict
                if affinity_matches:
                    for term in s.affinity:
                        if term.topology_key in labels:
                            s.affinity_counts[(term.topology_key, labels[term.topology_key])] += count
                for term in anti_matches:
                    if term.topology_key in labels:
                        s.anti_counts[(term.topology_key, labels[term.topology_key])] += count
        return s

    def filter(self, pod: dict, node: NodeInfo, state: CycleState | None = None) -> Status:
        s = state.get(_FILTER_KEY) if state is not None else None
        if s is None:
            if state is not None and self.name in state.skip_filter:
                return SUCCESS
            s = self._filter_state(pod, state.nodes if state is not None and state.nodes else [node])
        labels = node.labels
        if any(s.existing_anti.get(pair, 0) > 0 for pair in labels.items()):
            return Status.unschedulable(EXISTING_ANTI_AFFINITY)
        for term in s.anti_affinity:
            value = labels.get(term.topology_key)
            if value is not None and s.anti_counts.get((term.topology_key, value), 0) > 0:
                return Status.unschedulable(ANTI_AFFINITY)
        if s.affinity:
            pods_exist = True
            for term in s.affinity:
                value = labels.get(term.topology_key)
                if value is None:
                    return Status.unschedulable(AFFINITY, unresolvable=True)
                if s.affinity_counts.get((term.topology_key, value), 0) <= 0:
                    pods_exist = False
            if not pods_exist:
                # The first pod of a group with affinity to itself may go anywhere the keys exist.
                first_of_group = not any(v > 0 for v in s.affinity_counts.values()) and all(
                    t.matches(pod, s.namespace_labels) for t in s.affinity)
                if not first_of_group:
                    return Status.unschedulable(AFFINITY, unresolvable=True)
        return SUCCESS

    # --- score --------------------------------------------------------------------------

    def pre_score(self, pod: dict, feasible: list[NodeInfo], nodes: list[NodeInfo], state: CycleState) -> Status:
        preferred = preferred_terms(pod, "podAffinity")
        preferred_anti = preferred_terms(pod, "podAntiAffinity")
        own_ns_labels = self.namespace_labels(namespace_of(pod))
        scores: Counter = Counter()
        # Without preferred terms of its own, only existing pods with affinity terms can score
        # (kube-scheduler's HavePodsWithAffinityList).
        own_terms = bool(preferred or preferred_anti)
        picked: dict[tuple, list[tuple[str, int]]] = {}  # label key -> (topology key, ±weight) of own terms
        picking: dict[tuple, list[tuple[str, int]]] = {}  # affinity key -> what its terms add
        for info in nodes:
            labels = info.labels
            if own_terms:
                for label_key, count in info.label_counts.items():
                    matched = picked.get(label_key)
                    if matched is None:
                        namespace, their_labels = label_key[0], labels_of_key(label_key)
                        ns_labels = self.namespace_labels(namespace)
                        matched = picked[label_key] = (
                            [(t.topology_key, t.weight) for t in preferred
                             if t.matches_labels(namespace, their_labels, ns_labels)]
                            + [(t.topology_key, -t.weight) for t in preferred_anti
                               if t.matches_labels(namespace, their_labels, ns_labels)])
                    for topology_key, weight in matched:
                        if topology_key in labels:
                            scores[(topology_key, labels[topology_key])] += weight * count
            for affinity_key, count in info.affinity_counts.items():
                picks = picking.get(affinity_key)
                if picks is None:  # (topology key, weight) of the group's terms that pick the incoming pod
                    picks = picking[affinity_key] = [
                        (t.topology_key, w) for t, w in self._weighted_terms(info.affinity_examples[affinity_key].pod)
                        if t.matches(pod, own_ns_labels)]
                for topology_key, weight in picks:
                    if topology_key in labels:
                        scores[(topology_key, labels[topology_key])] += weight * count
        if not any(scores.values()):
            return Status.skip()
        state[_SCORE_KEY] = scores
        return SUCCESS

    def _weighted_terms(self, existing: dict) -> list[tuple[AffinityTerm, int]]:
        """An existing pod's terms that score the incoming pod, with their weights."""
        weighted: list[tuple[AffinityTerm, int]] = []
        if self.hard_weight:
            weighted += [(t, self.hard_weight) for t in required_terms(existing, "podAffinity")]
        if not self.ignore_existing_preferred:
            weighted += [(t, t.weight) for t in preferred_terms(existing, "podAffinity")]
            weighted += [(t, -t.weight) for t in preferred_terms(existing, "podAntiAffinity")]
        return weighted

    def score(self, pod: dict, node: NodeInfo, state: CycleState | None = None) -> int:
        scores = state.get(_SCORE_KEY) if state is not None else None
        if scores is None:
            return 0
        return sum(scores.get(pair, 0) for pair in node.labels.items())

    def normalize_score(self, pod: dict, scores: dict[str, int], state=None) -> None:
        if not scores:
            return
        low, high = min(scores.values()), max(scores.values())
        for k, v in scores.items():
            scores[k] = MAX_NODE_SCORE * (v - low) // (high - low) if high > low else 0
