"""Priority: resolve ``spec.priorityClassName`` into ``spec.priority``.

A pod without a class gets the class marked ``globalDefault`` (or priority 0); naming a
class that does not exist is refused. ``system-cluster-critical`` and
``system-node-critical`` exist in every cluster (created at bootstrap).
"""

from __future__ import annotations

from apiserver.admission.chain import Attributes, created_pod_spec
from apiserver.admission.lookup import Lookup
from machinery import errors

SYSTEM_CLASSES = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}


class Priority:
    name = "Priority"

    def __init__(self, lookup: Lookup):
        self.lookup = lookup

    def admit(self, attrs: Attributes) -> None:
        spec = created_pod_spec(attrs)
        if spec is None:
            return
        name = spec.get("priorityClassName")
        if not name:
            default = next((pc for pc in self.lookup.list("priorityclasses") if pc.get("globalDefault")), None)
            if default is not None:
                spec["priorityClassName"] = default["metadata"]["name"]
                spec["priority"] = int(default.get("value", 0))
                spec.setdefault("preemptionPolicy", default.get("preemptionPolicy", "PreemptLowerPriority"))
            else:
                spec["priority"] = 0
            return
        pc = self.lookup.get("priorityclasses", "", str(name))
        if pc is None:
            raise errors.Forbidden(f'pods "{attrs.name}" is forbidden: no PriorityClass with name {name} was found',
                                   kind="pods", name=attrs.name)
        spec["priority"] = int(pc.get("value", 0))
        spec.setdefault("preemptionPolicy", pc.get("preemptionPolicy", "PreemptLowerPriority"))
