"""ServiceAccount: every pod runs as a service account, ``default`` unless it names one.

A pod naming a service account that does not exist is refused, as in Kubernetes. The
``default`` account is created in every namespace by the controller manager; unlike
Kubernetes, a pod is not refused while that account is still being created (a namespace
created a moment ago must be usable at once by scripts and tests).
"""

from __future__ import annotations

from apiserver.admission.chain import Attributes, created_pod_spec
from apiserver.admission.lookup import Lookup
from machinery import errors


class ServiceAccount:
    name = "ServiceAccount"

    def __init__(self, lookup: Lookup):
        self.lookup = lookup

    def admit(self, attrs: Attributes) -> None:
        spec = created_pod_spec(attrs)
        if spec is None:
            return
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        if not isinstance(account, str):
            return
        spec["serviceAccountName"] = account
        spec["serviceAccount"] = account
        if account != "default" and self.lookup.get("serviceaccounts", attrs.namespace, account) is None:
            raise errors.Forbidden(f'pods "{attrs.name}" is forbidden: error looking up service account '
                                   f'{attrs.namespace}/{account}: serviceaccount "{account}" not found',
                                   kind="pods", name=attrs.name)
