"""NodeAffinity: ``spec.nodeSelector`` and required node affinity decide where a pod may go;
preferred node affinity terms add their weights to a node's score.

Match expressions support In, NotIn, Exists, DoesNotExist, Gt and Lt over node labels, and
matchFields on ``metadata.name``. Terms in ``nodeSelectorTerms`` are ORed; the expressions in
one term are ANDed, as in Kubernetes.
"""

from __future__ import annotations

from scheduler.framework import SUCCESS, NodeInfo, Status


def expression_matches(expr: dict, labels: dict[str, str]) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and len(values) == 1:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def term_matches(term: dict, node: dict) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False  # an empty term matches nothing
    name_fields = {"metadata.name": node["metadata"]["name"]}
    return all(expression_matches(e, labels) for e in exprs) and all(
        expression_matches(f, name_fields) for f in fields)


class NodeAffinity:
    name = "NodeAffinity"

    def filter(self, pod: dict, node: NodeInfo) -> Status:
        spec = pod.get("spec") or {}
        labels = (node.node.get("metadata") or {}).get("labels") or {}
        selector = spec.get("nodeSelector") or {}
        if any(labels.get(k) != v for k, v in selector.items()):
            return Status.unschedulable("node(s) didn't match Pod's node affinity/selector", unresolvable=True)
        required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution") or {}
        terms = required.get("nodeSelectorTerms")
        if terms is not None and not any(term_matches(t, node.node) for t in terms):
            return Status.unschedulable("node(s) didn't match Pod's node affinity/selector", unresolvable=True)
        return SUCCESS

    def score(self, pod: dict, node: NodeInfo) -> int:
        preferred = (((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}).get(
            "preferredDuringSchedulingIgnoredDuringExecution") or []
        return sum(int(p.get("weight", 0)) for p in preferred if term_matches(p.get("preference") or {}, node.node))
