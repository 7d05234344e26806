"""DefaultTolerationSeconds: pods tolerate a not-ready or unreachable node for 300 s.

Adds ``node.kubernetes.io/not-ready`` and ``node.kubernetes.io/unreachable`` NoExecute
tolerations with ``tolerationSeconds`` (flags ``--default-not-ready-toleration-seconds`` and
``--default-unreachable-toleration-seconds``) unless the pod already tolerates them, so the
node lifecycle controller evicts pods from a dead node after that long.
"""

from __future__ import annotations

from apiserver.admission.chain import Attributes, created_pod_spec
from machinery.taints import tolerates

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"


class DefaultTolerationSeconds:
    name = "DefaultTolerationSeconds"

    def __init__(self, not_ready_s: int = 300, unreachable_s: int = 300):
        self.seconds = {NOT_READY: not_ready_s, UNREACHABLE: unreachable_s}

    def admit(self, attrs: Attributes) -> None:
        spec = created_pod_spec(attrs)
        if spec is None:
            return
        tolerations = spec.get("tolerations")
        if tolerations is None:
            tolerations = spec["tolerations"] = []
        if not isinstance(tolerations, list):
            return
        for key, seconds in self.seconds.items():
            taint = {"key": key, "effect": "NoExecute"}
            if not any(tolerates(t, taint) for t in tolerations if isinstance(t, dict)):
                tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                    "tolerationSeconds": seconds})
