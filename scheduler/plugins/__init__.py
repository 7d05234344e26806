"""Scheduler plugins, registered by name (kube-scheduler's plugins/registry.go).

A profile names plugins; :data:`REGISTRY` maps each name to its class, whose ``new(args,
handle)`` builds it from the profile's ``pluginConfig`` args. Out-of-tree plugins are added
with :func:`register`.
"""

from __future__ import annotations

from scheduler.plugins.balanced_allocation import BalancedAllocation
from scheduler.plugins.default_binder import DefaultBinder
from scheduler.plugins.default_preemption import DefaultPreemption
from scheduler.plugins.image_locality import ImageLocality
from scheduler.plugins.inter_pod_affinity import InterPodAffinity
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.plugins.node_name import NodeName
from scheduler.plugins.node_ports import NodePorts
from scheduler.plugins.node_ready import NodeReady
from scheduler.plugins.node_resources_fit import NodeResourcesFit
from scheduler.plugins.node_unschedulable import NodeUnschedulable
from scheduler.plugins.pod_topology_spread import PodTopologySpread
from scheduler.plugins.queue_sort import PrioritySort
from scheduler.plugins.taint_toleration import TaintToleration

REGISTRY: dict[str, type] = {cls.name: cls for cls in (
    PrioritySort, NodeReady, NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
    PodTopologySpread, InterPodAffinity, DefaultPreemption, BalancedAllocation, ImageLocality, DefaultBinder)}

# Older kubemu spellings still accepted in a profile.
ALIASES = {"BalancedAllocation": BalancedAllocation.name}


def register(cls: type) -> None:
    """Add a plugin class (with a ``name`` and a ``new(args, handle)`` factory) to the registry."""
    if not getattr(cls, "name", "") or not hasattr(cls, "new"):
        raise ValueError("a plugin class needs a name and a new(args, handle) factory")
    REGISTRY[cls.name] = cls


def lookup(name: str) -> type:
    name = ALIASES.get(name, name)
    if name not in REGISTRY:
        raise ValueError(f"unknown plugin {name!r} (known: {', '.join(sorted(REGISTRY))})")
    return REGISTRY[name]
