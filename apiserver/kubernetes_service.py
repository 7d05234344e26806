"""The ``kubernetes`` Service in ``default``: how pods find the API, kept by the apiservers.

kube-apiserver keeps this Service itself (its bootstrap controller and the "lease" endpoint
reconciler, pkg/controlplane/controller and reconcilers/lease.go), and so does every kubemu
apiserver, every ``interval_s`` (10 s, as Kubernetes):

* the Service ``default/kubernetes`` exists: ClusterIP, the **first address** of
  ``--service-cluster-ip-range`` (10.96.0.1 by default), port ``https`` 443/TCP with the
  apiserver's port as targetPort, labels ``component: apiserver`` and ``provider: kubernetes``.
  A Service deleted by hand comes back; one that exists is left alone (a replica with another
  port does not fight over targetPort);
* each apiserver writes its **master lease**, ``/registry/masterleases/<ip>:<port>``, an etcd key
  with a ``lease_ttl_s`` (15 s) time to live, renewed on every round; an apiserver that dies
  stops renewing and its key vanishes;
* the Endpoints ``default/kubernetes`` and the EndpointSlice ``default/kubernetes`` list the
  addresses of every live lease, and are rewritten when that set changes. On shutdown an
  apiserver removes its lease and rewrites them at once.

The port is the REST port (HTTPS, 6444), not kubemu's gRPC 6443: what a pod reaching
``https://kubernetes.default`` speaks is the Kubernetes REST API. Replicas on one machine share
an IP and differ by port, so the Endpoints have one subset, and the EndpointSlices one slice, per
port (``kubernetes``, then ``kubernetes-<port>``).
"""

from __future__ import annotations

import copy
import logging
import threading

from apiserver.api import API
from apiserver.authn import UNSECURED_USER
from apiserver.storage import KeyNotFound, RevisionMismatch, Storage
from machinery import errors

log = logging.getLogger(__name__)

NAME = "kubernetes"
NAMESPACE = "default"
LEASE_PREFIX = "/registry/masterleases/"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
INTERVAL_S = 10.0
LEASE_TTL_S = 15


class KubernetesService:
    """Keeps the ``kubernetes`` Service, this apiserver's master lease and the Service's endpoints."""

    def __init__(self, api: API, storage: Storage, cluster_ip: str, advertise_ip: str, port: int, *,
                 interval_s: float = INTERVAL_S, lease_ttl_s: int = LEASE_TTL_S, endpoints: bool = True):
        self.api = api
        self.storage = storage
        self.cluster_ip = cluster_ip
        self.advertise_ip = advertise_ip
        self.port = port
        self.interval_s = interval_s
        self.lease_ttl_s = lease_ttl_s
        self.endpoints = endpoints
        self.syncs = 0

    @property
    def lease_key(self) -> str:
        return f"{LEASE_PREFIX}{self.advertise_ip}:{self.port}"

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.sync()
            except errors.APIError as e:
                log.warning("cannot keep the kubernetes service yet: %s", e)
            except Exception:  # noqa: BLE001 - never let the loop die
                log.exception("keeping the kubernetes service failed")
            stop.wait(self.interval_s)
        if self.endpoints:
            self.remove_own_lease()

    def sync(self) -> None:
        self.ensure_service()
        if self.endpoints:
            self.storage.put_with_ttl(self.lease_key, self._lease(), self.lease_ttl_s)
            self.reconcile_endpoints()
        self.syncs += 1

    # --- the Service ----------------------------------------------------------------------

    def desired_service(self) -> dict:
        return {"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": NAME, "namespace": NAMESPACE,
                             "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"type": "ClusterIP", "clusterIP": self.cluster_ip, "sessionAffinity": "None",
                         "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": self.port}]}}

    def ensure_service(self) -> None:
        try:
            self.api.get(UNSECURED_USER, "services", NAMESPACE, NAME)
            return
        except errors.NotFound:
            pass
        try:
            self.api.create(UNSECURED_USER, "services", NAMESPACE, self.desired_service())
            log.info("created service default/kubernetes at %s", self.cluster_ip)
        except errors.AlreadyExists:
            pass
        except errors.Invalid as e:
            log.error("cannot create service default/kubernetes: %s", e)

    # --- leases and endpoints -------------------------------------------------------------

    def _lease(self) -> dict:
        return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": f"{self.advertise_ip}:{self.port}"},
                "subsets": [{"addresses": [{"ip": self.advertise_ip}],
                             "ports": [{"name": "https", "port": self.port, "protocol": "TCP"}]}]}

    def live_apiservers(self) -> list[tuple[str, int]]:
        """(ip, port) of every apiserver whose lease is alive."""
        out = set()
        for lease in self.storage.list(LEASE_PREFIX).items:
            for subset in lease.get("subsets") or []:
                for address in subset.get("addresses") or []:
                    for port in subset.get("ports") or []:
                        if address.get("ip") and isinstance(port.get("port"), int):
                            out.add((address["ip"], port["port"]))
        return sorted(out)

    def reconcile_endpoints(self) -> None:
        servers = self.live_apiservers()
        by_port: dict[int, list[str]] = {}
        for ip, port in servers:
            by_port.setdefault(port, []).append(ip)
        subsets = [{"addresses": [{"ip": ip} for ip in sorted(ips)],
                    "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}
                   for port, ips in sorted(by_port.items())]
        self._apply("endpoints", NAME, {
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                         "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": subsets})
        wanted = {}
        for i, (port, ips) in enumerate(sorted(by_port.items())):
            name = NAME if i == 0 else f"{NAME}-{port}"
            wanted[name] = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                            "metadata": {"name": name, "namespace": NAMESPACE, "labels": {SERVICE_NAME_LABEL: NAME}},
                            "addressType": "IPv4",
                            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in sorted(ips)],
                            "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}
        if not wanted:
            wanted[NAME] = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {SERVICE_NAME_LABEL: NAME}},
                            "addressType": "IPv4", "endpoints": [], "ports": []}
        for name, slice_ in wanted.items():
            self._apply("endpointslices", name, slice_)
        existing = self.api.list(UNSECURED_USER, "endpointslices", NAMESPACE,
                                 label_selector=f"{SERVICE_NAME_LABEL}={NAME}").items
        for stale in existing:
            name = stale["metadata"]["name"]
            labels = stale["metadata"].get("labels") or {}
            if name not in wanted and "endpointslice.kubernetes.io/managed-by" not in labels:
                try:
                    self.api.delete(UNSECURED_USER, "endpointslices", NAMESPACE, name)
                except errors.NotFound:
                    pass

    def _apply(self, resource: str, name: str, desired: dict) -> None:
        """Create ``desired``, or update the stored object when its content differs."""
        fields = ("subsets",) if resource == "endpoints" else ("addressType", "endpoints", "ports")
        try:
            current = self.api.get(UNSECURED_USER, resource, NAMESPACE, name)
        except errors.NotFound:
            try:
                self.api.create(UNSECURED_USER, resource, NAMESPACE, desired)
            except errors.AlreadyExists:
                pass
            return
        labels = current["metadata"].get("labels") or {}
        if all(current.get(f) == desired.get(f) for f in fields) and \
                all(labels.get(k) == v for k, v in desired["metadata"]["labels"].items()):
            return
        updated = copy.deepcopy(current)
        for f in fields:
            updated[f] = desired.get(f)
        updated["metadata"]["labels"] = {**labels, **desired["metadata"]["labels"]}
        try:
            self.api.update(UNSECURED_USER, resource, NAMESPACE, name, updated)
        except (errors.Conflict, errors.NotFound):
            pass  # another apiserver wrote meanwhile: the next round looks again

    def remove_own_lease(self) -> None:
        """On shutdown: drop this apiserver from the endpoints at once rather than after the TTL."""
        try:
            lease = self.storage.get(self.lease_key)
            self.storage.delete(self.lease_key, int(lease["metadata"]["resourceVersion"]))
            self.reconcile_endpoints()
        except (KeyNotFound, RevisionMismatch):
            pass
        except errors.APIError as e:
            log.warning("cannot remove this apiserver's master lease: %s", e)
