"""The controller manager: shared informers plus the enabled controllers, started on leadership.

One informer (and one :class:`Lister` over it) per resource, whatever number of controllers
read that resource, as in kube-controller-manager's shared informer factory. ``enabled`` is
kube-controller-manager's ``--controllers`` syntax: ``*`` for all, names to pick, ``-name``
to drop one (``*,-podgc``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from controller_manager.common import Lister
from controller_manager.daemonset import DaemonSetController
from controller_manager.deployment import DeploymentController
from controller_manager.endpoints import EndpointsController
from controller_manager.endpointslice import EndpointSliceController
from controller_manager.garbagecollector import GarbageCollector, collectable_resources
from controller_manager.job import JobController
from controller_manager.namespace import NamespaceController
from controller_manager.nodeipam import NodeIPAMController
from controller_manager.nodelifecycle import NodeLifecycleConfig, NodeLifecycleController
from controller_manager.podgc import PodGCController
from controller_manager.replicaset import ReplicaSetController
from controller_manager.resourcequota import ResourceQuotaController
from controller_manager.serviceaccount import ServiceAccountController
from controller_manager.statefulset import StatefulSetController
from machinery.client import APIClient
from machinery.informer import Informer

log = logging.getLogger(__name__)

ALL_CONTROLLERS = ("namespace", "serviceaccount", "resourcequota", "replicaset", "deployment", "statefulset",
                   "daemonset", "job", "endpoint", "endpointslice", "nodelifecycle", "nodeipam", "garbagecollector",
                   "podgc")


@dataclass
class ControllerOptions:
    """Per-controller settings from the command line (Kubernetes' flag defaults)."""

    node_lifecycle: NodeLifecycleConfig = field(default_factory=NodeLifecycleConfig)
    # cluster_cidr / node_cidr_mask_size: where node IPAM takes pod CIDRs from.
    cluster_cidr: str = "10.244.0.0/16"
    node_cidr_mask_size: int = 24
    # terminated_pod_gc_threshold: terminated pods kept before pod GC deletes the oldest (0: keep all).
    terminated_pod_gc_threshold: int = 12500
    # job_pod_failure_backoff_s: first delay before replacing a failed Job pod (doubles, capped at 6 min).
    job_pod_failure_backoff_s: float = 10.0


def parse_enabled(enabled: str) -> tuple[str, ...]:
    """``*`` / ``a,b`` / ``*,-c`` → the controller names to run, in ALL_CONTROLLERS order."""
    items = [n.strip() for n in (enabled or "*").split(",") if n.strip()] or ["*"]
    unknown = {n.lstrip("-") for n in items if n != "*"} - set(ALL_CONTROLLERS)
    if unknown:
        raise SystemExit(f"unknown controllers: {', '.join(sorted(unknown))}; known: {', '.join(ALL_CONTROLLERS)}")
    chosen = set(ALL_CONTROLLERS) if "*" in items else set()
    chosen |= {n for n in items if n != "*" and not n.startswith("-")}
    chosen -= {n[1:] for n in items if n.startswith("-")}
    return tuple(n for n in ALL_CONTROLLERS if n in chosen)


class ControllerManager:
    def __init__(self, client: APIClient, *, enabled: str = "*", workers: int = 5,
                 options: ControllerOptions | None = None):
        self.client = client
        self.options = options or ControllerOptions()
        names = parse_enabled(enabled)
        self.informers: dict[str, Informer] = {}
        self.listers: dict[str, Lister] = {}
        self.controllers = []
        opts = self.options
        lister = self._lister
        if "namespace" in names:
            self.controllers.append(NamespaceController(client, self._informer("namespaces")))
        if "serviceaccount" in names:
            self.controllers.append(ServiceAccountController(client, self._informer("namespaces"),
                                                             self._informer("serviceaccounts")))
        if "resourcequota" in names:
            self.controllers.append(ResourceQuotaController(client, self._informer("resourcequotas"),
                                                            self._informer("pods")))
        if "replicaset" in names:
            self.controllers.append(ReplicaSetController(client, lister("replicasets"), lister("pods"),
                                                         workers=workers))
        if "deployment" in names:
            self.controllers.append(DeploymentController(client, lister("deployments"), lister("replicasets"),
                                                         lister("pods"), workers=workers))
        if "statefulset" in names:
            self.controllers.append(StatefulSetController(client, lister("statefulsets"), lister("pods"),
                                                          lister("controllerrevisions"), workers=workers))
        if "daemonset" in names:
            self.controllers.append(DaemonSetController(client, lister("daemonsets"), lister("pods"),
                                                        lister("nodes"), workers=max(1, workers // 2)))
        if "job" in names:
            self.controllers.append(JobController(client, lister("jobs"), lister("pods"), workers=workers,
                                                  pod_failure_backoff_s=opts.job_pod_failure_backoff_s))
        if "endpoint" in names:
            self.controllers.append(EndpointsController(client, lister("services"), lister("pods"),
                                                        lister("endpoints"), workers=workers))
        if "endpointslice" in names:
            self.controllers.append(EndpointSliceController(client, lister("services"), lister("pods"),
                                                            lister("endpointslices"), workers=workers))
        if "nodelifecycle" in names:
            self.controllers.append(NodeLifecycleController(client, lister("nodes"), lister("leases"),
                                                            lister("pods"), config=opts.node_lifecycle))
        if "nodeipam" in names:
            self.controllers.append(NodeIPAMController(client, lister("nodes"), cluster_cidr=opts.cluster_cidr,
                                                       node_mask_size=opts.node_cidr_mask_size))
        if "garbagecollector" in names:
            self.controllers.append(GarbageCollector(client, {r: lister(r) for r in collectable_resources()},
                                                     workers=workers))
        if "podgc" in names:
            self.controllers.append(PodGCController(client, lister("pods"), lister("nodes"),
                                                    terminated_pod_threshold=opts.terminated_pod_gc_threshold))
        self.running = False

    def _informer(self, resource: str) -> Informer:
        """One shared informer per resource, whatever number of controllers use it."""
        if resource not in self.informers:
            self.informers[resource] = Informer(self.client, resource, name=f"cm-{resource}")
        return self.informers[resource]

    def _lister(self, resource: str) -> Lister:
        """One shared lister (namespace index) per resource, over the shared informer."""
        if resource not in self.listers:
            self.listers[resource] = Lister(self._informer(resource))
        return self.listers[resource]

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
