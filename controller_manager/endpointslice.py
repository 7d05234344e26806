"""The EndpointSlice controller: the endpoints of every Service with a selector, as EndpointSlices.

``reconcile(namespace/name)`` of a Service, after kube-controller-manager's endpointslice
controller (pkg/controller/endpointslice, staging/src/k8s.io/endpointslice/reconciler.go):

1. read the Service from the cache; gone, or without a selector, or ExternalName: nothing to do
   (its slices carry an ownerReference to it, so the garbage collector removes them with it);
2. one endpoint per selected pod that has an IP and has not finished: ``addresses: [podIP]``,
   ``conditions`` ``serving`` (the pod is Ready), ``terminating`` (it is being deleted) and
   ``ready`` (serving and not terminating, or always with ``publishNotReadyAddresses``),
   ``nodeName``, ``targetRef`` to the pod, and a ``hostname`` when the pod names the Service as
   its subdomain;
3. each endpoint's ports are the Service's ports with ``targetPort`` resolved on that pod (a named
   port may be a different number on each pod); endpoints with the same ports share slices of at
   most ``max_endpoints_per_slice`` (100) endpoints. A pod that lacks a named port is left out of
   that port's slices. A Service selecting nothing gets one empty slice, as Kubernetes does;
4. the slices are named ``<service>-<random>``, labelled ``kubernetes.io/service-name`` and
   ``endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`` (with the Service's
   own labels), owned by the Service; existing ones are updated in place when their content
   differs, extra ones deleted.

The informer cache can lag behind the controller's own writes: a slice just created may not be
in it yet, and acting on that view would create it twice. Like Kubernetes' EndpointSliceTracker,
the controller remembers the resourceVersion of every slice it wrote (and the slices it deleted)
and, while the cache is older than that, looks again shortly instead of acting.
"""

from __future__ import annotations

import logging
import threading

from controller_manager.common import Lister, owner_ref
from controller_manager.service_pods import (
    SERVICE_NAME_LABEL,
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

MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS_PER_SLICE = 100  # kube-controller-manager's --max-endpoints-per-slice
# How soon to look again while the cache has not caught up with our own writes.
STALE_CACHE_RETRY_S = 0.2
_DELETED = -1


class SliceTracker:
    """The resourceVersion of every slice the controller wrote, per Service key (-1: deleted)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._expected: dict[str, dict[str, int]] = {}

    def wrote(self, service_key: str, slice_: dict) -> None:
        with self._lock:
            self._expected.setdefault(service_key, {})[meta.name_of(slice_)] = meta.resource_version(slice_)

    def deleted(self, service_key: str, name: str) -> None:
        with self._lock:
            self._expected.setdefault(service_key, {})[name] = _DELETED

    def stale(self, service_key: str, cached: dict[str, dict]) -> bool:
        """Whether the cache misses one of our writes; forgets what it has caught up with."""
        with self._lock:
            expected = self._expected.get(service_key)
            if not expected:
                return False
            for name, rv in list(expected.items()):
                current = cached.get(name)
                if rv == _DELETED and current is None or rv != _DELETED and current is not None and \
                        meta.resource_version(current) >= rv:
                    del expected[name]
            if not expected:
                del self._expected[service_key]
                return False
            return True

    def forget(self, service_key: str) -> None:
        with self._lock:
            self._expected.pop(service_key, None)


class EndpointSliceController(Controller):
    name = "endpointslice"

    def __init__(self, client: APIClient, services: Lister, pods: Lister, slices: Lister, *, workers: int = 5,
                 max_endpoints_per_slice: int = MAX_ENDPOINTS_PER_SLICE):
        super().__init__(client, workers=workers)
        self.services = services
        self.pods = pods
        self.slices = slices
        self.informers = [services.informer, pods.informer, slices.informer]
        self.max_endpoints = max_endpoints_per_slice
        self.tracker = SliceTracker()
        self.writes = 0
        services.add_handlers(Handlers(self._service_changed, lambda old, new: self._service_changed(new),
                                       self._service_deleted))
        ServiceIndex(services, pods, self.enqueue)
        slices.add_handlers(Handlers(self._slice_changed, lambda old, new: self._slice_changed(new),
                                     self._slice_changed))

    # --- handlers ---------------------------------------------------------------------------

    def _service_changed(self, svc: dict) -> None:
        self.enqueue(meta.key_of(svc))

    def _service_deleted(self, svc: dict) -> None:
        self.tracker.forget(meta.key_of(svc))

    def _slice_changed(self, slice_: dict) -> None:
        """A managed slice edited or deleted by someone else is put right."""
        labels = (slice_.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY_LABEL) == CONTROLLER_NAME and labels.get(SERVICE_NAME_LABEL):
            self.enqueue(f"{meta.namespace_of(slice_)}/{labels[SERVICE_NAME_LABEL]}")

    # --- reconcile --------------------------------------------------------------------------

    def _managed_slices(self, svc: dict) -> dict[str, dict]:
        uid = (svc.get("metadata") or {}).get("uid")
        out = {}
        for slice_ in self.slices.list(meta.namespace_of(svc)):
            labels = (slice_.get("metadata") or {}).get("labels") or {}
            if labels.get(SERVICE_NAME_LABEL) != meta.name_of(svc) or labels.get(MANAGED_BY_LABEL) != CONTROLLER_NAME:
                continue
            owners = (slice_.get("metadata") or {}).get("ownerReferences") or []
            if any(o.get("uid") == uid for o in owners if isinstance(o, dict)):
                out[meta.name_of(slice_)] = slice_
        return out

    def reconcile(self, key: str) -> float | None:
        svc = self.services.get(key)
        if svc is None:
            self.tracker.forget(key)
            return None
        if selector_of_service(svc) is None or (svc.get("spec") or {}).get("type") == "ExternalName":
            return None
        existing = self._managed_slices(svc)
        if self.tracker.stale(key, existing):
            return STALE_CACHE_RETRY_S
        desired = self.desired_slices(svc)
        self._converge(key, svc, desired, existing)
        return None

    def desired_slices(self, svc: dict) -> list[tuple[list[dict], list[dict]]]:
        """``(ports, endpoints)`` of every slice the Service should have."""
        spec = svc.get("spec") or {}
        publish_not_ready = bool(spec.get("publishNotReadyAddresses"))
        groups: dict[tuple, tuple[list[dict], list[dict]]] = {}
        for pod in selected_pods(svc, self.pods):
            if not should_be_in_endpoints(pod, include_terminating=True):
                continue
            ports = []
            for service_port in spec.get("ports") or []:
                number = find_port(pod, service_port)
                if number is None:
                    continue
                port = {"name": service_port.get("name", ""), "port": number,
                        "protocol": service_port.get("protocol") or "TCP"}
                if service_port.get("appProtocol"):
                    port["appProtocol"] = service_port["appProtocol"]
                ports.append(port)
            if spec.get("ports") and not ports:
                continue
            group = groups.setdefault(tuple(sorted((p["name"], p["port"], p["protocol"]) for p in ports)), (ports, []))
            group[1].append(self._endpoint(pod, svc, publish_not_ready))
        out = []
        for ports, endpoints in groups.values():
            for i in range(0, len(endpoints), self.max_endpoints):
                out.append((ports, endpoints[i:i + self.max_endpoints]))
        if not out:
            out.append(([], []))  # Kubernetes keeps one empty slice for a Service that selects nothing
        return out

    @staticmethod
    def _endpoint(pod: dict, svc: dict, publish_not_ready: bool) -> dict:
        serving = is_pod_ready(pod)
        terminating = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
        endpoint = {"addresses": [pod_ip(pod)],
                    "conditions": {"ready": publish_not_ready or (serving and not terminating), "serving": serving,
                                   "terminating": terminating},
                    "targetRef": target_ref(pod)}
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            endpoint["nodeName"] = node
        hostname = hostname_for(pod, svc)
        if hostname:
            endpoint["hostname"] = hostname
        return endpoint

    def _converge(self, key: str, svc: dict, desired: list[tuple[list[dict], list[dict]]],
                  existing: dict[str, dict]) -> None:
        unused = dict(existing)
        pending: list[tuple[list[dict], list[dict]]] = []
        labels = self._labels(svc)
        # Keep slices whose content is already right; reuse the others for what remains.
        for ports, endpoints in desired:
            match = next((n for n, s in unused.items() if _same(s, labels, ports, endpoints)), None)
            if match is not None:
                del unused[match]
            else:
                pending.append((ports, endpoints))
        for ports, endpoints in pending:
            if unused:
                name = sorted(unused)[0]
                self._update(key, svc, unused.pop(name), ports, endpoints)
            else:
                self._create(key, svc, ports, endpoints)
        for name in sorted(unused):
            try:
                self.client.delete("endpointslices", name, meta.namespace_of(svc))
                self.writes += 1
            except errors.NotFound:
                pass
            self.tracker.deleted(key, name)

    def _labels(self, svc: dict) -> dict:
        own = dict((svc.get("metadata") or {}).get("labels") or {})
        return {**own, SERVICE_NAME_LABEL: meta.name_of(svc), MANAGED_BY_LABEL: CONTROLLER_NAME}

    def _create(self, key: str, svc: dict, ports: list[dict], endpoints: list[dict]) -> None:
        slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                  "metadata": {"generateName": f"{meta.name_of(svc)[:57]}-", "namespace": meta.namespace_of(svc),
                               "labels": self._labels(svc), "ownerReferences": [owner_ref(svc)]},
                  "addressType": "IPv4", "ports": ports, "endpoints": endpoints}
        created = self.client.create("endpointslices", slice_, meta.namespace_of(svc))
        self.writes += 1
        self.tracker.wrote(key, created)
        log.info("endpointslice: created %s for service %s (%d endpoints)", meta.key_of(created), key, len(endpoints))

    def _update(self, key: str, svc: dict, current: dict, ports: list[dict], endpoints: list[dict]) -> None:
        updated = meta.deep_copy(current)
        updated["ports"], updated["endpoints"] = ports, endpoints
        updated["metadata"]["labels"] = self._labels(svc)
        written = self.client.update("endpointslices", updated)
        self.writes += 1
        self.tracker.wrote(key, written)
        log.info("endpointslice: updated %s for service %s (%d endpoints)", meta.key_of(written), key, len(endpoints))

    def stats(self) -> dict:
        return {**super().stats(), "writes": self.writes}


def _same(slice_: dict, labels: dict, ports: list[dict], endpoints: list[dict]) -> bool:
    return (slice_.get("ports") or []) == ports and (slice_.get("endpoints") or []) == endpoints and \
        (slice_.get("metadata") or {}).get("labels") == labels
