"""Scheduler plugins, registered by name (kube-scheduler's plugins/registry.go)."""

from __future__ import annotations

from scheduler.plugins.balanced_allocation import BalancedAllocation
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.plugins.node_name import NodeName
from scheduler.plugins.node_ready import NodeReady
from scheduler.plugins.node_resources_fit import NodeResourcesFit
from scheduler.plugins.node_unschedulable import NodeUnschedulable
from scheduler.plugins.taint_toleration import TaintToleration

REGISTRY = {cls.name: cls for cls in (NodeReady, NodeUnschedulable, NodeName, NodeResourcesFit, BalancedAllocation,
                                      TaintToleration, NodeAffinity)}
