"""The controller manager: shared informers plus the enabled controllers, started on leadership."""

from __future__ import annotations

import logging

from controller_manager.namespace import NamespaceController
from controller_manager.resourcequota import ResourceQuotaController
from controller_manager.serviceaccount import ServiceAccountController
from machinery.client import APIClient
from machinery.informer import Informer

log = logging.getLogger(__name__)

ALL_CONTROLLERS = ("namespace", "serviceaccount", "resourcequota")


class ControllerManager:
    def __init__(self, client: APIClient, *, enabled: str = "*", workers: int = 5):
        self.client = client
        names = ALL_CONTROLLERS if enabled.strip() in ("*", "") else tuple(
            n.strip() for n in enabled.split(",") if n.strip())
        unknown = set(names) - set(ALL_CONTROLLERS)
        if unknown:
            raise SystemExit(f"unknown controllers: {', '.join(sorted(unknown))}; known: {', '.join(ALL_CONTROLLERS)}")
        self.informers: dict[str, Informer] = {}
        self.controllers = []
        if "namespace" in names:
            self.controllers.append(NamespaceController(client, self._informer("namespaces")))
        if "serviceaccount" in names:
            self.controllers.append(ServiceAccountController(client, self._informer("namespaces"),
                                                             self._informer("serviceaccounts")))
        if "resourcequota" in names:
            self.controllers.append(ResourceQuotaController(client, self._informer("resourcequotas"),
                                                            self._informer("pods")))
        self.running = False

    def _informer(self, resource: str) -> Informer:
        """One shared informer per resource, whatever number of controllers use it."""
        if resource not in self.informers:
            self.informers[resource] = Informer(self.client, resource, name=f"cm-{resource}")
        return self.informers[resource]

    def run(self) -> None:
        """Start informers and controllers (called once this replica leads)."""
        for informer in self.informers.values():
            informer.start()
        for controller in self.controllers:
            controller.start()
        self.running = True
        log.info("controllers running: %s", ", ".join(c.name for c in self.controllers))

    def stop(self) -> None:
        for controller in self.controllers:
            controller.stop()
        for informer in self.informers.values():
            informer.stop()

    def stats(self) -> dict:
        return {"running": self.running, "controllers": {c.name: c.stats() for c in self.controllers}}
