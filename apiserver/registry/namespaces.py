"""Namespaces: named scopes for objects; the four defaults exist from the first start.

A namespace is created Active with the ``kubernetes`` finalizer in ``spec.finalizers``.
Deleting one marks it Terminating: the namespace controller removes what it contains and
then the finalizer, and only then is the namespace gone (see controller_manager). The four
default namespaces (default, kube-system, kube-public, kube-node-lease) cannot be deleted.
"""

from __future__ import annotations

from apiserver.registry.base import Strategy
from machinery import validation
from machinery.validation import Cause

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
NAMESPACE_FINALIZER = "kubernetes"


class NamespaceStrategy(Strategy):
    name_rule = staticmethod(validation.dns1123_label)

    def prepare_for_create(self, obj: dict) -> None:
        super().prepare_for_create(obj)
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        finalizers = spec.setdefault("finalizers", [])
        if isinstance(finalizers, list) and NAMESPACE_FINALIZER not in finalizers:
            finalizers.append(NAMESPACE_FINALIZER)
        labels = obj["metadata"].setdefault("labels", {})
        if isinstance(labels, dict) and isinstance(obj["metadata"].get("name"), str):
            labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]

    def blocks_deletion(self, obj: dict) -> bool:
        return bool((obj.get("spec") or {}).get("finalizers"))

    def initial_status(self, obj: dict) -> dict:
        return {"phase": "Active"}

    def validate(self, obj: dict) -> list[Cause]:
        causes = self.validate_metadata(obj)
        spec = obj.get("spec", {})
        if not isinstance(spec, dict):
            causes.append(validation.invalid("spec", spec, "must be an object"))
        return causes
