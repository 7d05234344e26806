"""Node selector terms: does a node match a pod's nodeSelectorTerm? Shared by the scheduler
(NodeAffinity, PodTopologySpread) and the DaemonSet controller (which node should run a
daemon pod), so both read node affinity exactly alike.

Match expressions support In, NotIn, Exists, DoesNotExist, Gt and Lt over node labels, and
matchFields on ``metadata.name``. The expressions of one term are ANDed; an empty term matches
nothing, as in Kubernetes (terms of a nodeSelector are ORed by the caller).
"""

from __future__ import annotations


def expression_matches(expr: dict, values_by_key: dict[str, str]) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    present = key in values_by_key
    if op == "In":
        return present and values_by_key[key] in values
    if op == "NotIn":
        return not present or values_by_key[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and len(values) == 1:
        try:
            have, want = int(values_by_key[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def term_matches(term: dict, node: dict) -> bool:
    metadata = node.get("metadata") or {}
    exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not exprs and not fields:
        return False
    labels = metadata.get("labels") or {}
    return all(expression_matches(e, labels) for e in exprs) and all(
        expression_matches(f, {"metadata.name": metadata.get("name", "")}) for f in fields)
