"""The Endpoints controller: the pods behind every Service with a selector, as one v1 Endpoints.

``reconcile(namespace/name)`` of a Service, after kube-controller-manager's endpoint controller
(pkg/controller/endpoint/endpoints_controller.go, syncService):

1. read the Service from the cache; gone: delete its Endpoints (they have no owner reference,
   so nothing else would); without a selector (hand-managed endpoints) or ExternalName: nothing;
2. for every selected pod with an IP that has not finished and is not being deleted (unless
   ``publishNotReadyAddresses``), an address ``{ip, nodeName, targetRef}`` (and ``hostname`` when
   the pod names the Service as its subdomain) in ``addresses`` when the pod is Ready (or
   ``publishNotReadyAddresses``), else in ``notReadyAddresses``, once per Service port whose
   ``targetPort`` the pod has (named ports resolved per pod); a headless Service without ports
   lists the addresses with no ports;
3. addresses with the same ports are packed into one subset (``RepackSubsets``), sorted, and the
   Endpoints (named like the Service, with its labels, plus ``service.kubernetes.io/headless``
   for a headless one) is created or updated when it differs.

Event handlers only enqueue the Service's key: on Service changes, on changes of the pods it
selects that endpoints show, and when its Endpoints are deleted or edited by someone else. At
start, Endpoints left over from Services deleted while no controller ran are removed.
"""

from __future__ import annotations

import logging

from controller_manager.common import Lister
from controller_manager.service_pods import (
    ServiceIndex,
    find_port,
    hostname_for,
    is_pod_ready,
    pod_ip,
    selected_pods,
    selector_of_service,
    should_be_in_endpoints,
    target_ref,
)
from machinery import errors, meta
from machinery.client import APIClient
from machinery.controller import Controller
from machinery.informer import Handlers

log = logging.getLogger(__name__)

HEADLESS_LABEL = "service.kubernetes.io/headless"


class EndpointsController(Controller):
    name = "endpoint"

    def __init__(self, client: APIClient, services: Lister, pods: Lister, endpoints: Lister, *, workers: int = 5):
        super().__init__(client, workers=workers)
        self.services = services
        self.pods = pods
        self.endpoints = endpoints
        self.informers = [services.informer, pods.informer, endpoints.informer]
        self.writes = 0
        services.add_handlers(Handlers(self._changed, lambda old, new: self._changed(new), self._changed))
        ServiceIndex(services, pods, self.enqueue)
        endpoints.add_handlers(Handlers(None, lambda old, new: self._edited(new), self._changed))

    def start(self) -> None:
        super().start()
        # Kubernetes' checkLeftoverEndpoints: Endpoints whose Service went while no controller ran.
        for obj in self.endpoints.list():
            if self.services.get(meta.key_of(obj)) is None:
                self.enqueue(meta.key_of(obj))

    def _changed(self, obj: dict) -> None:
        self.enqueue(meta.key_of(obj))

    def _edited(self, obj: dict) -> None:
        """Endpoints of a Service changed by someone else are put right (others are left alone)."""
        if self.services.get(meta.key_of(obj)) is not None:
            self.enqueue(meta.key_of(obj))

    def reconcile(self, key: str) -> float | None:
        namespace, name = meta.split_key(key)
        svc = self.services.get(key)
        if svc is None:
            self._delete_orphan(key, namespace, name)
            return None
        if selector_of_service(svc) is None or (svc.get("spec") or {}).get("type") == "ExternalName":
            return None
        desired = self.desired_subsets(svc)
        labels = dict((svc.get("metadata") or {}).get("labels") or {})
        if (svc.get("spec") or {}).get("clusterIP") == "None":
            labels[HEADLESS_LABEL] = ""
        current = self.endpoints.get(key)
        if current is None:
            body = {"apiVersion": "v1", "kind": "Endpoints",
                    "metadata": {"name": name, "namespace": namespace, "labels": labels}, "subsets": desired}
            try:
                self.client.create("endpoints", body, namespace)
            except errors.AlreadyExists:
                current = self.client.get("endpoints", name, namespace)  # the cache lagged: update it below
            else:
                self.writes += 1
                log.info("endpoints: created %s (%s)", key, _summary(desired))
                return None
        current_labels = (current.get("metadata") or {}).get("labels") or {}
        if (current.get("subsets") or []) == desired and current_labels == labels:
            return None
        updated = meta.deep_copy(current)
        updated["subsets"] = desired
        updated["metadata"]["labels"] = labels
        self.client.update("endpoints", updated)
        self.writes += 1
        log.info("endpoints: updated %s (%s)", key, _summary(desired))
        return None

    def _delete_orphan(self, key: str, namespace: str, name: str) -> None:
        if self.endpoints.get(key) is None:
            return
        try:
            self.client.delete("endpoints", name, namespace)
            self.writes += 1
        except errors.NotFound:
            pass

    def desired_subsets(self, svc: dict) -> list[dict]:
        spec = svc.get("spec") or {}
        publish_not_ready = bool(spec.get("publishNotReadyAddresses"))
        service_ports = spec.get("ports") or []
        # ports (as a hashable key) -> (ports, ready addresses, not-ready addresses)
        subsets: dict[tuple, tuple[list[dict], list[dict], list[dict]]] = {}
        for pod in selected_pods(svc, self.pods):
            if not should_be_in_endpoints(pod, include_terminating=publish_not_ready):
                continue
            address = {"ip": pod_ip(pod), "targetRef": target_ref(pod)}
            node = (pod.get("spec") or {}).get("nodeName")
            if node:
                address["nodeName"] = node
            hostname = hostname_for(pod, svc)
            if hostname:
                address["hostname"] = hostname
            ready = publish_not_ready or is_pod_ready(pod)
            ports = []
            for service_port in service_ports:
                number = find_port(pod, service_port)
                if number is None:
                    continue
                port = {"name": service_port.get("name", ""), "port": number,
                        "protocol": service_port.get("protocol") or "TCP"}
                if not port["name"]:
                    del port["name"]
                if service_port.get("appProtocol"):
                    port["appProtocol"] = service_port["appProtocol"]
                ports.append(port)
            if service_ports and not ports:
                continue
            ports.sort(key=lambda p: (p.get("name", ""), p["port"], p["protocol"]))
            group_key = tuple((p.get("name", ""), p["port"], p["protocol"]) for p in ports)
            group = subsets.setdefault(group_key, (ports, [], []))
            (group[1] if ready else group[2]).append(address)
        out = []
        for group_key in sorted(subsets):
            ports, ready, not_ready = subsets[group_key]
            subset: dict = {}
            if ready:
                subset["addresses"] = sorted(ready, key=lambda a: (a["ip"], a["targetRef"]["name"]))
            if not_ready:
                subset["notReadyAddresses"] = sorted(not_ready, key=lambda a: (a["ip"], a["targetRef"]["name"]))
            if ports:
                subset["ports"] = ports
            out.append(subset)
        return out

    def stats(self) -> dict:
        return {**super().stats(), "writes": self.writes}


def _summary(subsets: list[dict]) -> str:
    ready = sum(len(s.get("addresses") or []) for s in subsets)
    not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
    return f"{ready} ready, {not_ready} not ready"
