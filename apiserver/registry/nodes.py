"""Nodes: the machines pods run on, registered and kept current by each node's kubelet.

Cluster-scoped. The kubelet creates its Node, then reports capacity, allocatable and
conditions through the status subresource; ``spec`` holds what operators set (taints,
unschedulable, podCIDR).
"""

from __future__ import annotations

from apiserver.registry.base import Strategy
from machinery import validation
from machinery.validation import Cause

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class NodeStrategy(Strategy):
    def prepare_for_create(self, obj: dict) -> None:
        # A node registers itself with its status: keep what the kubelet sends.
        obj.setdefault("status", {})

    def validate(self, obj: dict) -> list[Cause]:
        causes = self.validate_metadata(obj)
        spec = obj.get("spec", {})
        if not isinstance(spec, dict):
            return causes + [validation.invalid("spec", spec, "must be an object")]
        taints = spec.get("taints") or []
        if not isinstance(taints, list):
            return causes + [validation.invalid("spec.taints", taints, "must be a list")]
        for i, taint in enumerate(taints):
            where = f"spec.taints[{i}]"
            if not isinstance(taint, dict) or not taint.get("key"):
                causes.append(validation.required(f"{where}.key"))
                continue
            causes += validation.label_key(taint["key"], f"{where}.key")
            if taint.get("effect") not in TAINT_EFFECTS:
                causes.append(validation.not_supported(f"{where}.effect", taint.get("effect"), TAINT_EFFECTS))
        return causes
