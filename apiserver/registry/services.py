"""Services, Endpoints and EndpointSlices: what the apiserver defaults, resets and checks.

A Service is a stable name, virtual IP (``spec.clusterIP``) and set of ports in front of the pods
its selector matches. As in Kubernetes (pkg/apis/core/validation ``ValidateService``,
pkg/registry/core/service/strategy.go):

* **defaults** (:func:`default_service`): ``type: ClusterIP``, ``sessionAffinity: None`` (with a
  3-hour ClientIP timeout when ClientIP), each port's ``protocol: TCP`` and ``targetPort`` = its
  ``port``, ``internalTrafficPolicy: Cluster``, ``externalTrafficPolicy: Cluster`` for NodePort and
  LoadBalancer, ``allocateLoadBalancerNodePorts: true`` for LoadBalancer, ``ipFamilies: [IPv4]`` and
  ``ipFamilyPolicy: SingleStack``; ``clusterIP`` and ``clusterIPs`` are made to agree;
* **validation**: a DNS-1035 name; ports (at least one unless headless or ExternalName; names
  required and unique when there are several, DNS-1123 labels; port 1–65535; protocol TCP, UDP or
  SCTP; targetPort a number 1–65535 or an IANA port name; no two ports with the same number and
  protocol; ``nodePort`` only for NodePort and LoadBalancer); the type; the session affinity;
  ``clusterIP`` an IPv4 address or ``None`` (headless, not for NodePort or LoadBalancer); the
  selector's labels; traffic policies; external IPs;
* **updates**: ``clusterIP`` never changes once set (except to and from ExternalName); an update
  that leaves out what the server allocated (clusterIP, clusterIPs, ip families, node ports of the
  same port) keeps it, as kube-apiserver's ``patchAllocatedValues`` does, and a type change drops
  what the new type does not use if the client left it unchanged (``dropTypeDependentFields``:
  node ports, the cluster IP for ExternalName, the external traffic policy);
* the **status** (the load balancer's ingress) starts empty and changes only through the status
  subresource.

Allocation of cluster IPs and node ports needs etcd and is not the strategy's job: see
:mod:`apiserver.service_allocation`, which the API calls around the write.

Endpoints and EndpointSlices get their ports' ``protocol: TCP`` by default, valid IP addresses and
ports, at most 1000 endpoints and 100 ports per slice, and an immutable ``addressType``. One
deliberate difference: Kubernetes refuses loopback addresses (127.0.0.0/8) in Endpoints; kubemu's
pods live on loopback, so they are allowed.
"""

from __future__ import annotations

import copy
import ipaddress

from apiserver.registry.base import Strategy
from machinery import validation
from machinery.validation import Cause

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
PROTOCOLS = ("SCTP", "TCP", "UDP")
AFFINITIES = ("ClientIP", "None")
TRAFFIC_POLICIES = ("Cluster", "Local")
IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
CLUSTER_IP_NONE = "None"
# Kubernetes' default ClientIP affinity timeout (3 hours) and its maximum (1 day).
DEFAULT_AFFINITY_TIMEOUT_S = 10800
MAX_AFFINITY_TIMEOUT_S = 86400
MAX_SLICE_ENDPOINTS = 1000
MAX_SLICE_PORTS = 100
_PORT_RANGE_MSG = "must be between 1 and 65535, inclusive"


def _spec(obj: dict) -> dict:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def service_type(svc: dict) -> str:
    return str(_spec(svc).get("type") or "ClusterIP")


def needs_node_ports(svc: dict) -> bool:
    """NodePort services, and LoadBalancers unless allocateLoadBalancerNodePorts is false."""
    kind = service_type(svc)
    return kind == "NodePort" or (kind == "LoadBalancer" and
                                  _spec(svc).get("allocateLoadBalancerNodePorts") is not False)


def is_headless(svc: dict) -> bool:
    return _spec(svc).get("clusterIP") == CLUSTER_IP_NONE


# --- defaulting -----------------------------------------------------------------------------------


def default_service(svc: dict) -> None:
    """Fill what Kubernetes fills when a client leaves it out; malformed values are left for validation."""
    spec = svc.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec.get("sessionAffinity") == "ClientIP":
        config = spec.setdefault("sessionAffinityConfig", {})
        if isinstance(config, dict):
            client_ip = config.setdefault("clientIP", {})
            if isinstance(client_ip, dict):
                client_ip.setdefault("timeoutSeconds", DEFAULT_AFFINITY_TIMEOUT_S)
    for port in spec.get("ports") or [] if isinstance(spec.get("ports"), list) else []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if port.get("targetPort") in (None, 0, "") and isinstance(port.get("port"), int):
                port["targetPort"] = port["port"]
    kind = spec.get("type")
    if kind == "ExternalName":
        return
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if kind in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    _normalize_cluster_ips(spec)
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")


def _normalize_cluster_ips(spec: dict) -> None:
    """clusterIP and clusterIPs say the same thing: one is filled from the other."""
    ip, ips = spec.get("clusterIP"), spec.get("clusterIPs")
    if ip and not ips:
        spec["clusterIPs"] = [ip]
    elif ips and isinstance(ips, list) and not ip:
        spec["clusterIP"] = ips[0]


# --- validation -----------------------------------------------------------------------------------


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _ipv4(value) -> bool:
    try:
        ipaddress.IPv4Address(value)
        return True
    except (ipaddress.AddressValueError, ValueError, TypeError):
        return False


def validate_target_port(value, path: str) -> list[Cause]:
    """A port number 1–65535 or an IANA port name (``http``)."""
    if _is_int(value):
        return [] if 1 <= value <= 65535 else [validation.invalid(path, value, _PORT_RANGE_MSG)]
    if isinstance(value, str) and value:
        return [validation.invalid(path, value, message) for message in validation.is_valid_port_name(value)]
    return [validation.invalid(path, value, "must be a port number or a port name")]


def _validate_service_ports(spec: dict, kind: str) -> list[Cause]:
    ports = spec.get("ports")
    if ports is None:
        ports = []
    if not isinstance(ports, list):
        return [validation.invalid("spec.ports", ports, "must be a list")]
    causes: list[Cause] = []
    if not ports and spec.get("clusterIP") != CLUSTER_IP_NONE and kind != "ExternalName":
        causes.append(validation.required("spec.ports"))
    names: set[str] = set()
    keys: set[tuple] = set()
    for i, port in enumerate(ports):
        where = f"spec.ports[{i}]"
        if not isinstance(port, dict):
            causes.append(validation.invalid(where, port, "must be an object"))
            continue
        name = port.get("name", "")
        if len(ports) > 1 and not name:
            causes.append(validation.required(f"{where}.name"))
        elif name:
            causes += validation.dns1123_label(name, f"{where}.name")
            if name in names:
                causes.append(validation.duplicate(f"{where}.name", name))
            names.add(name)
        number = port.get("port")
        if number is None:
            causes.append(validation.required(f"{where}.port"))
        elif not _is_int(number) or not 1 <= number <= 65535:
            causes.append(validation.invalid(f"{where}.port", number, _PORT_RANGE_MSG))
        protocol = port.get("protocol")
        if not protocol:
            causes.append(validation.required(f"{where}.protocol"))
        elif protocol not in PROTOCOLS:
            causes.append(validation.not_supported(f"{where}.protocol", protocol, PROTOCOLS))
        if "targetPort" in port:
            causes += validate_target_port(port["targetPort"], f"{where}.targetPort")
        node_port = port.get("nodePort")
        if node_port not in (None, 0):
            if kind in ("ClusterIP", "ExternalName"):
                causes.append(validation.forbidden(f"{where}.nodePort",
                                                   f"may not be used when `type` is '{kind}'"))
            elif not _is_int(node_port) or not 1 <= node_port <= 65535:
                causes.append(validation.invalid(f"{where}.nodePort", node_port, _PORT_RANGE_MSG))
        key = (number, protocol)
        if key in keys:
            causes.append(validation.duplicate(where, {"port": number, "protocol": protocol}))
        keys.add(key)
    return causes


def _validate_cluster_ips(spec: dict, kind: str) -> list[Cause]:
    causes: list[Cause] = []
    ip, ips = spec.get("clusterIP"), spec.get("clusterIPs")
    if kind == "ExternalName":
        if ip or ips:
            causes.append(validation.forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        return causes
    if ips is not None and not isinstance(ips, list):
        return [validation.invalid("spec.clusterIPs", ips, "must be a list")]
    ips = ips or []
    if len(ips) > 1:
        causes.append(validation.invalid("spec.clusterIPs", ips, "may specify no more than one IP for each IP "
                                                                 "family (kubemu serves IPv4 only)"))
    if ip and ips and ips[0] != ip:
        causes.append(validation.invalid("spec.clusterIPs[0]", ips[0], "must be equal to clusterIP"))
    for i, value in enumerate(ips[:1]):
        if value == CLUSTER_IP_NONE:
            if kind in ("NodePort", "LoadBalancer"):
                causes.append(validation.invalid(f"spec.clusterIPs[{i}]", value,
                                                 f"may not be set to 'None' for {kind} services"))
        elif not _ipv4(value):
            try:
                ipaddress.ip_address(value)
                message = "may not use IPv6 on a cluster which is not configured for it"
            except (ValueError, TypeError):
                message = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
            causes.append(validation.invalid(f"spec.clusterIPs[{i}]", value, message))
    families = spec.get("ipFamilies")
    if isinstance(families, list):
        for i, family in enumerate(families):
            if family != "IPv4":
                causes.append(validation.invalid(f"spec.ipFamilies[{i}]", family,
                                                 f"ipfamily {family} is not configured on cluster"))
    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in IP_FAMILY_POLICIES:
        causes.append(validation.not_supported("spec.ipFamilyPolicy", policy, IP_FAMILY_POLICIES))
    elif policy == "RequireDualStack":
        causes.append(validation.invalid("spec.ipFamilyPolicy", policy,
                                         "Cluster is not configured for dual stack services"))
    return causes


def validate_service_spec(spec: dict) -> list[Cause]:
    kind = spec.get("type", "ClusterIP")
    causes: list[Cause] = []
    if kind not in SERVICE_TYPES:
        causes.append(validation.not_supported("spec.type", kind, SERVICE_TYPES))
    if kind == "ExternalName":
        name = spec.get("externalName")
        causes += validation.dns1123_subdomain(name, "spec.externalName") if name else \
            [validation.required("spec.externalName")]
    causes += _validate_service_ports(spec, kind)
    causes += _validate_cluster_ips(spec, kind)
    if "selector" in spec:
        causes += validation.labels(spec["selector"], "spec.selector")
    affinity = spec.get("sessionAffinity", "None")
    if affinity not in AFFINITIES:
        causes.append(validation.not_supported("spec.sessionAffinity", affinity, AFFINITIES))
    timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds") \
        if isinstance(spec.get("sessionAffinityConfig"), dict) else None
    if affinity == "ClientIP" and timeout is not None and \
            (not _is_int(timeout) or not 0 < timeout <= MAX_AFFINITY_TIMEOUT_S):
        causes.append(validation.invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout,
                                         f"must be greater than 0 and less than {MAX_AFFINITY_TIMEOUT_S}"))
    elif affinity == "None" and spec.get("sessionAffinityConfig"):
        causes.append(validation.invalid("spec.sessionAffinityConfig", spec["sessionAffinityConfig"],
                                         "must not be set when session affinity is None"))
    for field in ("externalTrafficPolicy", "internalTrafficPolicy"):
        value = spec.get(field)
        if value is not None and value not in TRAFFIC_POLICIES:
            causes.append(validation.not_supported(f"spec.{field}", value, TRAFFIC_POLICIES))
    if spec.get("externalTrafficPolicy") and kind not in ("NodePort", "LoadBalancer"):
        causes.append(validation.invalid("spec.externalTrafficPolicy", spec["externalTrafficPolicy"],
                                         "may only be set for externally-accessible services"))
    external = spec.get("externalIPs") or []
    for i, ip in enumerate(external if isinstance(external, list) else [external]):
        if not _ipv4(ip):
            causes.append(validation.invalid(f"spec.externalIPs[{i}]", ip,
                                             "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
    return causes


class ServiceStrategy(Strategy):
    """Services: name rules, defaults, validation, immutable cluster IP."""

    name_rule = staticmethod(validation.dns1035_label)

    def initial_status(self, obj: dict) -> dict:
        return {"loadBalancer": {}}

    def prepare_for_create(self, obj: dict) -> None:
        super().prepare_for_create(obj)
        default_service(obj)

    def validate(self, obj: dict) -> list[Cause]:
        causes = self.validate_metadata(obj)
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return causes + [validation.required("spec")]
        return causes + validate_service_spec(spec)

    def prepare_for_update(self, new: dict, old: dict) -> None:
        super().prepare_for_update(new, old)
        drop_type_dependent_fields(new, old)
        keep_allocated_values(new, old)
        default_service(new)

    def validate_update(self, new: dict, old: dict) -> list[Cause]:
        causes = self.validate(new)
        new_spec, old_spec = _spec(new), _spec(old)
        if service_type(new) != "ExternalName" and service_type(old) != "ExternalName" and \
                old_spec.get("clusterIP") and new_spec.get("clusterIP") != old_spec.get("clusterIP"):
            causes.append(validation.invalid("spec.clusterIP", new_spec.get("clusterIP"), "field is immutable"))
        return causes


def drop_type_dependent_fields(new: dict, old: dict) -> None:
    """A type change wipes what the new type does not use, where the client left it as it was
    (kube-apiserver's dropTypeDependentFields): so ``kubectl patch -p '{"spec":{"type":"ClusterIP"}}'``
    turns a NodePort Service back without the client clearing its node ports."""
    new_spec, old_spec = new.get("spec"), _spec(old)
    if not isinstance(new_spec, dict):
        return
    if service_type(old) != "ExternalName" and service_type(new) == "ExternalName":
        for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if new_spec.get(field) == old_spec.get(field):
                new_spec.pop(field, None)
    ports = new_spec.get("ports")
    if needs_node_ports(old) and not needs_node_ports(new) and isinstance(ports, list):
        old_ports = [p.get("nodePort") for p in old_spec.get("ports") or [] if isinstance(p, dict)]
        if [p.get("nodePort") for p in ports if isinstance(p, dict)] == old_ports:
            for port in ports:
                if isinstance(port, dict):
                    port.pop("nodePort", None)
    if service_type(new) != "LoadBalancer":
        new_spec.pop("allocateLoadBalancerNodePorts", None)
    if service_type(new) not in ("NodePort", "LoadBalancer") and service_type(old) in ("NodePort", "LoadBalancer") \
            and new_spec.get("externalTrafficPolicy") == old_spec.get("externalTrafficPolicy"):
        new_spec.pop("externalTrafficPolicy", None)


def keep_allocated_values(new: dict, old: dict) -> None:
    """What the server allocated survives an update that leaves it out (kube-apiserver's
    patchAllocatedValues): the cluster IPs and families while the service keeps one, and each
    port's node port (matched by port number and protocol) while it still needs node ports."""
    new_spec, old_spec = new.get("spec"), _spec(old)
    if not isinstance(new_spec, dict) or service_type(new) == "ExternalName" or service_type(old) == "ExternalName":
        return
    if not new_spec.get("clusterIP") and not new_spec.get("clusterIPs") and old_spec.get("clusterIP"):
        new_spec["clusterIP"] = old_spec["clusterIP"]
        if old_spec.get("clusterIPs"):
            new_spec["clusterIPs"] = copy.deepcopy(old_spec["clusterIPs"])
    for field in ("ipFamilies", "ipFamilyPolicy"):
        if field not in new_spec and field in old_spec:
            new_spec[field] = copy.deepcopy(old_spec[field])
    if needs_node_ports(new) and isinstance(new_spec.get("ports"), list):
        old_ports = {(p.get("port"), p.get("protocol") or "TCP"): p.get("nodePort")
                     for p in old_spec.get("ports") or [] if isinstance(p, dict) and p.get("nodePort")}
        for port in new_spec["ports"]:
            if isinstance(port, dict) and not port.get("nodePort"):
                kept = old_ports.get((port.get("port"), port.get("protocol") or "TCP"))
                if kept:
                    port["nodePort"] = kept


# --- endpoints ------------------------------------------------------------------------------------


def _validate_endpoint_port(port, where: str, *, slice_port: bool, several: bool) -> list[Cause]:
    if not isinstance(port, dict):
        return [validation.invalid(where, port, "must be an object")]
    causes: list[Cause] = []
    name = port.get("name")
    if name:
        causes += validation.dns1123_label(name, f"{where}.name")
    elif several and not slice_port:
        causes.append(validation.required(f"{where}.name"))
    number = port.get("port")
    if number is None and not slice_port:
        causes.append(validation.required(f"{where}.port"))
    elif number is not None and (not _is_int(number) or not 1 <= number <= 65535):
        causes.append(validation.invalid(f"{where}.port", number, _PORT_RANGE_MSG))
    protocol = port.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        causes.append(validation.not_supported(f"{where}.protocol", protocol, PROTOCOLS))
    return causes


def _default_ports(ports) -> None:
    for port in ports if isinstance(ports, list) else []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


class EndpointsStrategy(Strategy):
    """Endpoints: valid addresses and ports; ports default to TCP."""

    def prepare_for_create(self, obj: dict) -> None:
        super().prepare_for_create(obj)
        for subset in obj.get("subsets") or [] if isinstance(obj.get("subsets"), list) else []:
            if isinstance(subset, dict):
                _default_ports(subset.get("ports"))

    def prepare_for_update(self, new: dict, old: dict) -> None:
        super().prepare_for_update(new, old)
        self.prepare_for_create(new)

    def validate(self, obj: dict) -> list[Cause]:
        causes = self.validate_metadata(obj)
        subsets = obj.get("subsets") or []
        if not isinstance(subsets, list):
            return causes + [validation.invalid("subsets", subsets, "must be a list")]
        for i, subset in enumerate(subsets):
            where = f"subsets[{i}]"
            if not isinstance(subset, dict):
                causes.append(validation.invalid(where, subset, "must be an object"))
                continue
            for field in ("addresses", "notReadyAddresses"):
                for j, address in enumerate(subset.get(field) or []):
                    ip = address.get("ip") if isinstance(address, dict) else None
                    if not ip:
                        causes.append(validation.required(f"{where}.{field}[{j}].ip"))
                    else:
                        try:
                            ipaddress.ip_address(ip)
                        except (ValueError, TypeError):
                            causes.append(validation.invalid(f"{where}.{field}[{j}].ip", ip,
                                                             "must be a valid IP address"))
            ports = subset.get("ports") or []
            for j, port in enumerate(ports):
                causes += _validate_endpoint_port(port, f"{where}.ports[{j}]", slice_port=False,
                                                  several=len(ports) > 1)
        return causes


class EndpointSliceStrategy(Strategy):
    """EndpointSlices: addresses of the slice's type, at most 1000 endpoints and 100 ports, an
    immutable addressType; ports default to TCP."""

    def prepare_for_create(self, obj: dict) -> None:
        super().prepare_for_create(obj)
        _default_ports(obj.get("ports"))

    def prepare_for_update(self, new: dict, old: dict) -> None:
        super().prepare_for_update(new, old)
        _default_ports(new.get("ports"))

    def validate(self, obj: dict) -> list[Cause]:
        causes = self.validate_metadata(obj)
        address_type = obj.get("addressType")
        if not address_type:
            causes.append(validation.required("addressType"))
        elif address_type not in ADDRESS_TYPES:
            causes.append(validation.not_supported("addressType", address_type, ADDRESS_TYPES))
        endpoints = obj.get("endpoints")
        if endpoints is None:
            endpoints = []
        if not isinstance(endpoints, list):
            return causes + [validation.invalid("endpoints", endpoints, "must be a list")]
        if len(endpoints) > MAX_SLICE_ENDPOINTS:
            causes.append(validation.too_many("endpoints", len(endpoints), MAX_SLICE_ENDPOINTS))
        for i, endpoint in enumerate(endpoints):
            where = f"endpoints[{i}]"
            if not isinstance(endpoint, dict):
                causes.append(validation.invalid(where, endpoint, "must be an object"))
                continue
            addresses = endpoint.get("addresses") or []
            if not addresses:
                causes.append(validation.required(f"{where}.addresses"))
            for j, address in enumerate(addresses):
                causes += _validate_slice_address(address, address_type, f"{where}.addresses[{j}]")
        ports = obj.get("ports") or []
        if isinstance(ports, list):
            if len(ports) > MAX_SLICE_PORTS:
                causes.append(validation.too_many("ports", len(ports), MAX_SLICE_PORTS))
            for j, port in enumerate(ports):
                causes += _validate_endpoint_port(port, f"ports[{j}]", slice_port=True, several=len(ports) > 1)
        return causes

    def validate_update(self, new: dict, old: dict) -> list[Cause]:
        causes = self.validate(new)
        if old.get("addressType") and new.get("addressType") != old.get("addressType"):
            causes.append(validation.invalid("addressType", new.get("addressType"), "field is immutable"))
        return causes


def _validate_slice_address(address, address_type, where: str) -> list[Cause]:
    if address_type == "FQDN":
        return validation.dns1123_subdomain(address, where)
    try:
        parsed = ipaddress.ip_address(address)
    except (ValueError, TypeError):
        return [validation.invalid(where, address, f"must be a valid {address_type} address")]
    if address_type == "IPv4" and parsed.version != 4 or address_type == "IPv6" and parsed.version != 6:
        return [validation.invalid(where, address, f"must be a valid {address_type} address")]
    return []
