"""NodeAffinity: ``spec.nodeSelector`` and required node affinity decide where a pod may go;
preferred node affinity terms add their weights to a node's score, normalised so the
best-matching node gets 100 (kube-scheduler's DefaultNormalizeScore).

Match expressions support In, NotIn, Exists, DoesNotExist, Gt and Lt over node labels, and
matchFields on ``metadata.name``. Terms in ``nodeSelectorTerms`` are ORed; the expressions in
one term are ANDed, as in Kubernetes. The profile may add an ``addedAffinity`` (NodeAffinityArgs)
that every pod of the profile must satisfy as well.

As in kube-scheduler, PreFilter reads the pod's selector and terms once per cycle and says Skip
when there are none (most pods), and PreScore says Skip when there are no preferred terms.
"""

from __future__ import annotations

from machinery.nodeaffinity import term_matches
from scheduler.framework import (
    NODE_ADD,
    NODE_UPDATE,
    SUCCESS,
    CycleState,
    Handle,
    NodeInfo,
    Plugin,
    Status,
    default_normalize,
)

REASON = "node(s) didn't match Pod's node affinity/selector"
_FILTER_KEY = "NodeAffinity/preFilter"
_SCORE_KEY = "NodeAffinity/preScore"


def _node_affinity(affinity: dict | None) -> dict:
    return ((affinity or {}).get("nodeAffinity") or {}) if isinstance(affinity, dict) else {}


def _required(pod: dict) -> tuple[dict, list | None]:
    """The pod's nodeSelector and its required nodeSelectorTerms (None: not given)."""
    spec = pod.get("spec") or {}
    required = _node_affinity(spec.get("affinity")).get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    return spec.get("nodeSelector") or {}, required.get("nodeSelectorTerms")


def _matches(selector: dict, terms: list | None, node: dict, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in selector.items()):
        return False
    return terms is None or any(term_matches(t, node) for t in terms)


def required_matches(pod: dict, node: dict) -> bool:
    """The pod's nodeSelector and required node affinity hold on ``node`` (shared with topology spread)."""
    selector, terms = _required(pod)
    if not selector and terms is None:
        return True
    return _matches(selector, terms, node, (node.get("metadata") or {}).get("labels") or {})


class NodeAffinity(Plugin):
    name = "NodeAffinity"
    events = frozenset({NODE_ADD, NODE_UPDATE})

    def __init__(self, added_affinity: dict | None = None):
        self.added = _node_affinity({"nodeAffinity": added_affinity} if added_affinity else None)
        self.added_terms = (self.added.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get(
            "nodeSelectorTerms")
        self.added_preferred = list(self.added.get("preferredDuringSchedulingIgnoredDuringExecution") or [])

    @classmethod
    def new(cls, args: dict | None, handle: Handle) -> NodeAffinity:
        args = dict(args or {})
        added = args.pop("addedAffinity", None)
        if args:
            raise ValueError(f"NodeAffinity args: unknown keys {', '.join(sorted(args))}")
        return cls(added)

    def pre_filter(self, pod: dict, nodes: list[NodeInfo], state: CycleState) -> Status:
        selector, terms = _required(pod)
        if not selector and terms is None and self.added_terms is None:
            return Status.skip()
        state[_FILTER_KEY] = (selector, terms)
        return SUCCESS

    def filter(self, pod: dict, node: NodeInfo, state: CycleState | None = None) -> Status:
        required = state.get(_FILTER_KEY) if state is not None else None
        selector, terms = required if required is not None else _required(pod)
        if (selector or terms is not None) and not _matches(selector, terms, node.node, node.labels):
            return Status.unschedulable(REASON, unresolvable=True)
        if self.added_terms is not None and not any(term_matches(t, node.node) for t in self.added_terms):
            return Status.unschedulable(REASON, unresolvable=True)
        return SUCCESS

    def _preferred(self, pod: dict) -> list:
        own = _node_affinity((pod.get("spec") or {}).get("affinity")).get(
            "preferredDuringSchedulingIgnoredDuringExecution") or []
        return [p for p in [*own, *self.added_preferred] if isinstance(p, dict)]

    def pre_score(self, pod: dict, feasible: list[NodeInfo], nodes: list[NodeInfo], state: CycleState) -> Status:
        preferred = self._preferred(pod)
        if not preferred:
            return Status.skip()
        state[_SCORE_KEY] = preferred
        return SUCCESS

    def score(self, pod: dict, node: NodeInfo, state: CycleState | None = None) -> int:
        """The summed weights of the preferred terms the node matches (the profile's included)."""
        preferred = state.get(_SCORE_KEY) if state is not None else None
        if preferred is None:
            preferred = self._preferred(pod)
        return sum(int(p.get("weight", 0)) for p in preferred if term_matches(p.get("preference") or {}, node.node))

    def normalize_score(self, pod: dict, scores: dict[str, int], state=None) -> None:
        default_normalize(scores)
