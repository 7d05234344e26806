"""The service account controller: every active namespace has a ``default`` ServiceAccount.

Recreated if deleted, as in Kubernetes, so pods (which run as ``default`` unless they say
otherwise) always have an identity to run as.
"""

from __future__ import annotations

from machinery import errors
from machinery.client import APIClient
from machinery.controller import Controller
from machinery.informer import Handlers, Informer

DEFAULT_ACCOUNT = "default"


class ServiceAccountController(Controller):
    name = "serviceaccount"

    def __init__(self, client: APIClient, namespaces: Informer, accounts: Informer, *, workers: int = 2):
        super().__init__(client, workers=workers)
        self.namespaces = namespaces
        self.accounts = accounts
        self.informers = [namespaces, accounts]
        namespaces.add_handlers(Handlers(lambda ns: self.enqueue(ns["metadata"]["name"]),
                                         lambda old, ns: self.enqueue(ns["metadata"]["name"])))
        accounts.add_handlers(Handlers(on_delete=lambda sa: self.enqueue(sa["metadata"]["namespace"])))

    def reconcile(self, key: str) -> float | None:
        ns = self.namespaces.get(key)
        if ns is None or ns["metadata"].get("deletionTimestamp"):
            return None
        if self.accounts.get(f"{key}/{DEFAULT_ACCOUNT}") is not None:
            return None
        try:
            self.client.create("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                   "metadata": {"name": DEFAULT_ACCOUNT, "namespace": key}}, key)
        except (errors.AlreadyExists, errors.NotFound, errors.Forbidden):
            pass  # created meanwhile, or the namespace is going away
        return None
