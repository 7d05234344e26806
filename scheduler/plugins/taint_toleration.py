"""TaintToleration: a pod may only land on a node whose NoSchedule and NoExecute taints it
tolerates; among the rest, nodes with fewer untolerated PreferNoSchedule taints score higher."""

from __future__ import annotations

from machinery.taints import format_taint, untolerated
from scheduler.framework import MAX_NODE_SCORE, SUCCESS, NodeInfo, Status


class TaintToleration:
    name = "TaintToleration"

    def filter(self, pod: dict, node: NodeInfo) -> Status:
        taints = (node.node.get("spec") or {}).get("taints") or []
        tolerations = (pod.get("spec") or {}).get("tolerations") or []
        bad = untolerated(taints, tolerations, ("NoSchedule", "NoExecute"))
        if bad:
            return Status.unschedulable(f"node(s) had untolerated taint {format_taint(bad[0])}", unresolvable=True)
        return SUCCESS

    def score(self, pod: dict, node: NodeInfo) -> int:
        taints = (node.node.get("spec") or {}).get("taints") or []
        tolerations = (pod.get("spec") or {}).get("tolerations") or []
        bad = len(untolerated(taints, tolerations, ("PreferNoSchedule",)))
        return max(0, MAX_NODE_SCORE - 10 * bad)
