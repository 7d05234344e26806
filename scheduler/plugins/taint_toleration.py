"""TaintToleration: a pod may only land on a node whose NoSchedule and NoExecute taints it
tolerates. Score counts the node's PreferNoSchedule taints the pod does not tolerate, and
NormalizeScore turns that around (fewest such taints → 100), as kube-scheduler does, so with
its default weight of 3 a soft taint outweighs resource spreading. A node without taints (the
usual case) answers at once; the node's taints are read once per node version."""

from __future__ import annotations

from machinery.taints import format_taint, untolerated
from scheduler.framework import (
    NODE_ADD,
    NODE_UPDATE,
    SUCCESS,
    CycleState,
    NodeInfo,
    Plugin,
    Status,
    default_normalize,
)

_KEY = "TaintToleration/preScore"


def _prefer_no_schedule_tolerations(pod: dict) -> list[dict]:
    return [t for t in (pod.get("spec") or {}).get("tolerations") or []
            if isinstance(t, dict) and t.get("effect") in (None, "", "PreferNoSchedule")]


class TaintToleration(Plugin):
    name = "TaintToleration"
    events = frozenset({NODE_ADD, NODE_UPDATE})

    def filter(self, pod: dict, node: NodeInfo, state=None) -> Status:
        if not node.taints:
            return SUCCESS
        tolerations = (pod.get("spec") or {}).get("tolerations") or []
        bad = untolerated(node.taints, tolerations, ("NoSchedule", "NoExecute"))
        if bad:
            return Status.unschedulable(f"node(s) had untolerated taint {format_taint(bad[0])}", unresolvable=True)
        return SUCCESS

    def filter_nodes(self, pod: dict, nodes: list[NodeInfo], state=None) -> list[Status] | None:
        if not any(n.taints for n in nodes):
            return None
        return [self.filter(pod, n, state) for n in nodes]

    def pre_score(self, pod: dict, feasible: list[NodeInfo], nodes: list[NodeInfo], state: CycleState) -> Status:
        state[_KEY] = _prefer_no_schedule_tolerations(pod)
        return SUCCESS

    def score(self, pod: dict, node: NodeInfo, state: CycleState | None = None) -> int:
        """The number of PreferNoSchedule taints on the node the pod does not tolerate (lower is better)."""
        if not node.taints:
            return 0
        tolerations = state.get(_KEY) if state is not None else None
        if tolerations is None:
            tolerations = _prefer_no_schedule_tolerations(pod)
        return len(untolerated(node.taints, tolerations, ("PreferNoSchedule",)))

    def score_nodes(self, pod: dict, nodes: list[NodeInfo], state: CycleState | None = None) -> list[int]:
        if not any(n.taints for n in nodes):
            return [0] * len(nodes)
        return [self.score(pod, n, state) for n in nodes]

    def normalize_score(self, pod: dict, scores: dict[str, int], state=None) -> None:
        default_normalize(scores, reverse=True)
