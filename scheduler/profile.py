"""Scheduler profiles: which plugins run and with what weights (KubeSchedulerConfiguration).

The default profile mirrors kube-scheduler's defaults for the plugins kubemu has: filters
NodeReady, NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodeResourcesFit;
scores NodeResourcesFit (LeastAllocated) ×1, BalancedAllocation ×1, TaintToleration ×3,
NodeAffinity ×2.
"""

from __future__ import annotations

from scheduler.framework import Framework
from scheduler.plugins import REGISTRY

DEFAULT_FILTERS = ["NodeReady", "NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity",
                   "NodeResourcesFit"]
DEFAULT_SCORES = {"NodeResourcesFit": 1, "BalancedAllocation": 1, "TaintToleration": 3, "NodeAffinity": 2}


def default_framework(scoring_strategy: str = "LeastAllocated") -> Framework:
    instances = {}

    def plugin(name: str):
        if name not in instances:
            cls = REGISTRY[name]
            instances[name] = cls(scoring_strategy) if name == "NodeResourcesFit" else cls()
        return instances[name]

    return Framework([plugin(n) for n in DEFAULT_FILTERS], [(plugin(n), w) for n, w in DEFAULT_SCORES.items()])
