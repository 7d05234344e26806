"""The namespace controller: empties a Terminating namespace, then lets it go.

Deleting a namespace only marks it (deletionTimestamp, phase Terminating). This controller
deletes every namespaced object in it (pods gracefully: their kubelets confirm), waits until
nothing is left, then removes the ``kubernetes`` finalizer from ``spec.finalizers``, at which
point the apiserver removes the namespace.
"""

from __future__ import annotations

import logging

from machinery import errors
from machinery.client import APIClient
from machinery.controller import Controller
from machinery.informer import Handlers, Informer
from machinery.resources import RESOURCES

log = logging.getLogger(__name__)

FINALIZER = "kubernetes"
# Deleted last, so the namespace's own story (events) stays readable while it empties.
_ORDER = sorted((r for r in RESOURCES.values() if r.namespaced), key=lambda r: r.name == "events")


class NamespaceController(Controller):
    name = "namespace"

    def __init__(self, client: APIClient, namespaces: Informer, *, workers: int = 2):
        super().__init__(client, workers=workers)
        self.namespaces = namespaces
        self.informers = [namespaces]
        namespaces.add_handlers(Handlers(self._on_change, lambda old, new: self._on_change(new)))

    def _on_change(self, ns: dict) -> None:
        if ns["metadata"].get("deletionTimestamp"):
            self.enqueue(ns["metadata"]["name"])

    def reconcile(self, key: str) -> float | None:
        ns = self.namespaces.get(key)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return None
        remaining = 0
        for info in _ORDER:
            for obj in self.client.list_all(info.name, key).items:
                remaining += 1
                if obj["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    self.client.delete(info.name, obj["metadata"]["name"], key)
                except errors.NotFound:
                    pass
        if remaining:
            log.info("namespace %s: waiting for %d objects to go", key, remaining)
            return 1.0

        def drop_finalizer(obj: dict) -> bool:
            finalizers = (obj.get("spec") or {}).get("finalizers") or []
            if FINALIZER not in finalizers:
                return False
            obj["spec"]["finalizers"] = [f for f in finalizers if f != FINALIZER]
            return True

        self.client.mutate("namespaces", key, "", drop_finalizer)
        log.info("namespace %s is empty; finalized", key)
        return None
