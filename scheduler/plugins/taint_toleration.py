"""TaintToleration: a pod may only land on a node whose NoSchedule and NoExecute taints it
tolerates. Score counts the node's PreferNoSchedule taints the pod does not tolerate, and
NormalizeScore turns that around (fewest such taints → 100), as kube-scheduler does, so with
its default weight of 3 a soft taint outweighs resource spreading."""

from __future__ import annotations

from machinery.taints import format_taint, untolerated
from scheduler.framework import NODE_ADD, NODE_UPDATE, SUCCESS, NodeInfo, Plugin, Status, default_normalize


class TaintToleration(Plugin):
    name = "TaintToleration"
    events = frozenset({NODE_ADD, NODE_UPDATE})

    def filter(self, pod: dict, node: NodeInfo, state=None) -> Status:
        taints = (node.node.get("spec") or {}).get("taints") or []
        tolerations = (pod.get("spec") or {}).get("tolerations") or []
        bad = untolerated(taints, tolerations, ("NoSchedule", "NoExecute"))
        if bad:
            return Status.unschedulable(f"node(s) had untolerated taint {format_taint(bad[0])}", unresolvable=True)
        return SUCCESS

    def score(self, pod: dict, node: NodeInfo, state=None) -> int:
        """The number of PreferNoSchedule taints on the node the pod does not tolerate (lower is better)."""
        taints = (node.node.get("spec") or {}).get("taints") or []
        tolerations = [t for t in (pod.get("spec") or {}).get("tolerations") or []
                       if isinstance(t, dict) and t.get("effect") in (None, "", "PreferNoSchedule")]
        return len(untolerated(taints, tolerations, ("PreferNoSchedule",)))

    def normalize_score(self, pod: dict, scores: dict[str, int], state=None) -> None:
        default_normalize(scores, reverse=True)
