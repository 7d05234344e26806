"""What kube-proxy programs, computed from the Services and EndpointSlices it watches.

A pure function of the two informer caches, as kube-proxy's ServicePortMap and EndpointsMap
(pkg/proxy/servicechangetracker.go, endpointslicecache.go), so it is tested without sockets:

* one :class:`ServicePort` per port of every Service that has a cluster IP: not ExternalName, not
  headless (``clusterIP: None``), not handed to another proxy (label
  ``service.kubernetes.io/service-proxy-name``);
* its backends are the endpoints of the Service's EndpointSlices (label
  ``kubernetes.io/service-name``) whose ``conditions.ready`` is not false (unset means ready, as
  in the API), at the slice port with the Service port's name; an address listed twice (two
  slices during a rewrite) counts once;
* ``sessionAffinity: ClientIP`` carries its timeout (3 hours by default).

A Service with ``internalTrafficPolicy: Local`` keeps only the endpoints on this node, as
kube-proxy does; ``externalTrafficPolicy`` is not emulated (every node forwards to every
endpoint).
"""

from __future__ import annotations

from dataclasses import dataclass

PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_AFFINITY_TIMEOUT_S = 10800


@dataclass(frozen=True)
class Backend:
    ip: str
    port: int
    node: str = ""

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service and where its traffic may go."""

    service: str  # namespace/name
    name: str  # the Service port's name ("" for an unnamed only port)
    protocol: str
    cluster_ip: str
    port: int
    node_port: int
    affinity_timeout_s: float  # 0: no session affinity
    backends: tuple[Backend, ...]

    @property
    def key(self) -> str:
        """``namespace/name:port-name`` as kube-proxy names a service port."""
        return f"{self.service}:{self.name}" if self.name else self.service


def _key(obj: dict) -> str:
    m = obj.get("metadata") or {}
    return f"{m.get('namespace', '')}/{m.get('name', '')}"


def proxied(svc: dict) -> bool:
    """Whether kube-proxy handles this Service at all."""
    spec = svc.get("spec") or {}
    labels = (svc.get("metadata") or {}).get("labels") or {}
    ip = spec.get("clusterIP")
    return spec.get("type") != "ExternalName" and bool(ip) and ip != "None" and PROXY_NAME_LABEL not in labels


def backends_by_service(slices: list[dict]) -> dict[str, dict[str, list[Backend]]]:
    """service key → slice port name → ready backends, from every EndpointSlice."""
    out: dict[str, dict[str, dict[tuple[str, int], Backend]]] = {}
    for slice_ in slices:
        labels = (slice_.get("metadata") or {}).get("labels") or {}
        service = labels.get(SERVICE_NAME_LABEL)
        if not service or slice_.get("addressType", "IPv4") != "IPv4":
            continue
        key = f"{(slice_.get('metadata') or {}).get('namespace', '')}/{service}"
        ports = [p for p in slice_.get("ports") or [] if isinstance(p, dict) and isinstance(p.get("port"), int)]
        for endpoint in slice_.get("endpoints") or []:
            if not isinstance(endpoint, dict) or (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            addresses = endpoint.get("addresses") or []
            if not addresses:
                continue
            for port in ports:
                backend = Backend(str(addresses[0]), port["port"], str(endpoint.get("nodeName") or ""))
                out.setdefault(key, {}).setdefault(port.get("name") or "", {})[(backend.ip, backend.port)] = backend
    return {svc: {name: sorted(found.values(), key=lambda b: (b.ip, b.port)) for name, found in ports.items()}
            for svc, ports in out.items()}


def service_ports(services: list[dict], slices: list[dict], *, node_name: str = "") -> dict[str, ServicePort]:
    """Every ServicePort to program, by key."""
    backends = backends_by_service(slices)
    out: dict[str, ServicePort] = {}
    for svc in services:
        if not proxied(svc):
            continue
        spec = svc.get("spec") or {}
        affinity = 0.0
        if spec.get("sessionAffinity") == "ClientIP":
            timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds")
            affinity = float(timeout or DEFAULT_AFFINITY_TIMEOUT_S)
        local_only = spec.get("internalTrafficPolicy") == "Local"
        for port in spec.get("ports") or []:
            if not isinstance(port, dict) or not isinstance(port.get("port"), int):
                continue
            found = backends.get(_key(svc), {}).get(port.get("name") or "", [])
            if local_only:
                found = [b for b in found if b.node == node_name]
            sp = ServicePort(_key(svc), str(port.get("name") or ""), str(port.get("protocol") or "TCP"),
                             str(spec["clusterIP"]), port["port"], int(port.get("nodePort") or 0), affinity,
                             tuple(found))
            out[sp.key] = sp
    return out
