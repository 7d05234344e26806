"""NodeAffinity: ``spec.nodeSelector`` and required node affinity decide where a pod may go;
preferred node affinity terms add their weights to a node's score, normalised so the
best-matching node gets 100 (kube-scheduler's DefaultNormalizeScore).

Match expressions support In, NotIn, Exists, DoesNotExist, Gt and Lt over node labels, and
matchFields on ``metadata.name``. Terms in ``nodeSelectorTerms`` are ORed; the expressions in
one term are ANDed, as in Kubernetes. The profile may add an ``addedAffinity`` (NodeAffinityArgs)
that every pod of the profile must satisfy as well.
"""

from __future__ import annotations

from machinery.nodeaffinity import term_matches
from scheduler.framework import NODE_ADD, NODE_UPDATE, SUCCESS, Handle, NodeInfo, Plugin, Status, default_normalize

REASON = "node(s) didn't match Pod's node affinity/selector"


def _node_affinity(affinity: dict | None) -> dict:
    return ((affinity or {}).get("nodeAffinity") or {}) if isinstance(affinity, dict) else {}


def required_matches(pod: dict, node: dict) -> bool:
    """The pod's nodeSelector and required node affinity hold on ``node`` (shared with topology spread)."""
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = _node_affinity(spec.get("affinity")).get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    terms = required.get("nodeSelectorTerms")
    return terms is None or any(term_matches(t, node) for t in terms)


class NodeAffinity(Plugin):
    name = "NodeAffinity"
    events = frozenset({NODE_ADD, NODE_UPDATE})

    def __init__(self, added_affinity: dict | None = None):
        self.added = _node_affinity({"nodeAffinity": added_affinity} if added_affinity else None)

    @classmethod
    def new(cls, args: dict | None, handle: Handle) -> NodeAffinity:
        args = dict(args or {})
        added = args.pop("addedAffinity", None)
        if args:
            raise ValueError(f"NodeAffinity args: unknown keys {', '.join(sorted(args))}")
        return cls(added)

    def filter(self, pod: dict, node: NodeInfo, state=None) -> Status:
        if not required_matches(pod, node.node):
            return Status.unschedulable(REASON, unresolvable=True)
        terms = (self.added.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")
        if terms is not None and not any(term_matches(t, node.node) for t in terms):
            return Status.unschedulable(REASON, unresolvable=True)
        return SUCCESS

    def score(self, pod: dict, node: NodeInfo, state=None) -> int:
        """The summed weights of the preferred terms the node matches (the profile's included)."""
        preferred = list(_node_affinity((pod.get("spec") or {}).get("affinity")).get(
            "preferredDuringSchedulingIgnoredDuringExecution") or [])
        preferred += self.added.get("preferredDuringSchedulingIgnoredDuringExecution") or []
        return sum(int(p.get("weight", 0)) for p in preferred
                   if isinstance(p, dict) and term_matches(p.get("preference") or {}, node.node))

    def normalize_score(self, pod: dict, scores: dict[str, int], state=None) -> None:
        default_normalize(scores)
