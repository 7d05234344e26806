"""NodeRestriction: a kubelet may change only what belongs to its node.

Together with the Node authorizer (which decides by verb and name), this plugin checks the
content of writes by node identities: a node may not create or change another Node, may not
give its Node labels under ``node-restriction.kubernetes.io/``, may only update the status of
pods bound to it, and may only write its own Lease.
"""

from __future__ import annotations

from apiserver.admission.chain import Attributes
from apiserver.authz.node import node_name_of
from machinery import errors

RESTRICTED_LABEL_PREFIX = "node-restriction.kubernetes.io/"


class NodeRestriction:
    name = "NodeRestriction"

    def validate(self, attrs: Attributes) -> None:
        node = node_name_of(attrs.user)
        if node is None or attrs.operation not in ("CREATE", "UPDATE"):
            return
        if attrs.resource == "nodes":
            if attrs.name != node:
                self._refuse(attrs, f"node \"{node}\" is not allowed to modify node \"{attrs.name}\"")
            labels = ((attrs.object or {}).get("metadata") or {}).get("labels") or {}
            old = ((attrs.old_object or {}).get("metadata") or {}).get("labels") or {}
            for key, value in labels.items():
                if key.startswith(RESTRICTED_LABEL_PREFIX) and old.get(key) != value:
                    self._refuse(attrs, f'is not allowed to modify labels: {key}')
        elif attrs.resource == "pods":
            bound = (((attrs.old_object or attrs.object) or {}).get("spec") or {}).get("nodeName")
            if attrs.subresource != "status" or bound != node:
                self._refuse(attrs, f'node "{node}" can only update pod status for pods with spec.nodeName set to '
                                    "itself")
        elif attrs.resource == "leases" and (attrs.namespace != "kube-node-lease" or attrs.name != node):
            self._refuse(attrs, 'can only access node lease with the same name as the requesting node')

    @staticmethod
    def _refuse(attrs: Attributes, message: str) -> None:
        raise errors.Forbidden(f'{attrs.resource} "{attrs.name}" is forbidden: {message}', kind=attrs.resource,
                               name=attrs.name)
