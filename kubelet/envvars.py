"""A container's environment, resolved the way the kubelet does it (``makeEnvironmentVariables``).

Order and precedence follow Kubernetes: ``envFrom`` sources first (ConfigMaps and Secrets, each
key with the optional ``prefix``), then ``env`` entries in order, later ones winning. Values may
refer to variables defined before them as ``$(NAME)`` (``$$(NAME)`` is a literal), and the same
expansion applies to the container's ``command`` and ``args``. ``valueFrom`` supports:

- ``fieldRef``: metadata.name, metadata.namespace, metadata.uid, metadata.labels['k'],
  metadata.annotations['k'], spec.nodeName, spec.serviceAccountName, status.podIP(s),
  status.hostIP(s);
- ``resourceFieldRef``: limits/requests of cpu, memory and ephemeral-storage, divided by
  ``divisor`` and rounded up (an unset limit reads as the node's allocatable);
- ``configMapKeyRef`` / ``secretKeyRef`` (``optional`` skips a missing object or key).

Service environment variables (:func:`service_env`, the kubelet's getServiceEnvVarMap): for the
``kubernetes`` Service of ``default`` always, and for every Service of the pod's namespace when
``enableServiceLinks`` is true (the default), each with a cluster IP (not headless, not
ExternalName) gives ``<NAME>_SERVICE_HOST``, ``<NAME>_SERVICE_PORT`` (first port),
``<NAME>_SERVICE_PORT_<PORTNAME>`` per named port and the Docker-link style ``<NAME>_PORT``,
``<NAME>_PORT_<port>_<PROTO>`` and its ``_PROTO``, ``_PORT`` and ``_ADDR`` (``NAME`` upper-cased,
``-`` → ``_``). The container's own variables win over them and may refer to them as ``$(…)``;
only Services that existed when the container started are seen, as in Kubernetes.

A missing non-optional reference raises :class:`ConfigError`; the kubelet then leaves the
container waiting with reason ``CreateContainerConfigError`` and tries again later, as the
real one does. ConfigMaps and Secrets are read from the API through ``lookup`` (the node
authorizer lets a kubelet read them).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from decimal import Decimal

from machinery.quantity import QuantityError, parse_quantity

REASON = "CreateContainerConfigError"
_LABEL_REF = re.compile(r"^metadata\.(labels|annotations)\['([^']+)'\]$")
_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")

# lookup(resource, namespace, name) -> the object, or None when it does not exist.
Lookup = Callable[[str, str, str], dict | None]


class ConfigError(Exception):
    """A container's configuration refers to something missing; ``reason`` is the waiting reason."""

    reason = REASON


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: known variables are replaced, unknown ones kept, ``$$`` → ``$``."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return _VAR.sub(sub, text)


def field_values(pod: dict, pod_ip: str, host_ip: str, node_name: str) -> dict[str, str]:
    m = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    return {"metadata.name": m.get("name", ""), "metadata.namespace": m.get("namespace", ""),
            "metadata.uid": m.get("uid", ""), "spec.nodeName": node_name or spec.get("nodeName", ""),
            "spec.serviceAccountName": spec.get("serviceAccountName", "") or "",
            "status.podIP": pod_ip, "status.podIPs": pod_ip, "status.hostIP": host_ip, "status.hostIPs": host_ip}


def field_ref(pod: dict, path: str, fields: dict[str, str]) -> str:
    if path in fields:
        return fields[path]
    m = _LABEL_REF.match(path or "")
    if m:
        return str(((pod.get("metadata") or {}).get(m.group(1)) or {}).get(m.group(2), ""))
    raise ConfigError(f'unsupported fieldPath "{path}"')


def resource_ref(container: dict, ref: dict, allocatable: dict[str, str]) -> str:
    """``limits.cpu`` etc. of ``container`` divided by ``divisor``, rounded up (Kubernetes' rule)."""
    resource = ref.get("resource", "")
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or name not in ("cpu", "memory", "ephemeral-storage"):
        raise ConfigError(f'unsupported resource "{resource}"')
    values = (container.get("resources") or {}).get(kind) or {}
    raw = values.get(name)
    if raw is None and kind == "limits":
        raw = allocatable.get(name)
    if raw is None:
        return "0"
    try:
        amount = parse_quantity(raw)
        divisor = parse_quantity(ref.get("divisor") or "1")
    except QuantityError as e:
        raise ConfigError(f'invalid quantity for "{resource}": {e}') from None
    if divisor <= 0:
        raise ConfigError(f'invalid divisor for "{resource}"')
    return str(max(1, math.ceil(amount / divisor)) if amount > Decimal(0) else 0)


def _object_data(lookup: Lookup, kind: str, namespace: str, name: str, optional: bool) -> dict[str, str] | None:
    resource = "configmaps" if kind == "configmap" else "secrets"
    obj = lookup(resource, namespace, name)
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'{kind} "{name}" not found')
    return object_data(obj, kind)


def object_data(obj: dict, kind: str) -> dict[str, str]:
    """A ConfigMap's data (binaryData decoded) or a Secret's data (base64-decoded) and stringData."""
    out: dict[str, str] = {}
    if kind == "configmap":
        out.update({k: str(v) for k, v in (obj.get("data") or {}).items()})
        for k, v in (obj.get("binaryData") or {}).items():
            out[k] = _b64(v).decode("utf-8", "replace")
        return out
    for k, v in (obj.get("data") or {}).items():
        out[k] = _b64(v).decode("utf-8", "replace")
    out.update({k: str(v) for k, v in (obj.get("stringData") or {}).items()})
    return out


def object_bytes(obj: dict, kind: str) -> dict[str, bytes]:
    """Like :func:`object_data` but keeping binary values as bytes (for files in volumes)."""
    out: dict[str, bytes] = {}
    if kind == "configmap":
        out.update({k: str(v).encode() for k, v in (obj.get("data") or {}).items()})
        out.update({k: _b64(v) for k, v in (obj.get("binaryData") or {}).items()})
        return out
    out.update({k: _b64(v) for k, v in (obj.get("data") or {}).items()})
    out.update({k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()})
    return out


def _b64(value: object) -> bytes:
    try:
        return base64.b64decode(str(value), validate=False)
    except (binascii.Error, ValueError):
        return str(value).encode()


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def service_env(services: list[dict], namespace: str, enable_service_links: bool) -> dict[str, str]:
    """The Service variables a pod of ``namespace`` gets (see the module docstring)."""
    chosen: dict[str, dict] = {}
    for svc in services:
        spec = svc.get("spec") or {}
        m = svc.get("metadata") or {}
        if spec.get("clusterIP") in (None, "", "None") or not spec.get("ports"):
            continue
        name = str(m.get("name", ""))
        if m.get("namespace") == namespace and enable_service_links:
            chosen[name] = svc  # the pod's own namespace wins over default's kubernetes
        elif m.get("namespace") == "default" and name == "kubernetes":
            chosen.setdefault(name, svc)
    env: dict[str, str] = {}
    for name in sorted(chosen):
        spec = chosen[name]["spec"]
        prefix, ip = _env_name(name), str(spec["clusterIP"])
        ports = [p for p in spec["ports"] if isinstance(p, dict)]
        if not ports:
            continue
        env[f"{prefix}_SERVICE_HOST"] = ip
        env[f"{prefix}_SERVICE_PORT"] = str(ports[0].get("port"))
        for port in ports:
            if port.get("name"):
                env[f"{prefix}_SERVICE_PORT_{_env_name(str(port['name']))}"] = str(port.get("port"))
        for i, port in enumerate(ports):
            protocol = str(port.get("protocol") or "TCP")
            url = f"{protocol.lower()}://{ip}:{port.get('port')}"
            if i == 0:
                env[f"{prefix}_PORT"] = url
            port_prefix = f"{prefix}_PORT_{port.get('port')}_{protocol.upper()}"
            env[port_prefix] = url
            env[f"{port_prefix}_PROTO"] = protocol.lower()
            env[f"{port_prefix}_PORT"] = str(port.get("port"))
            env[f"{port_prefix}_ADDR"] = ip
    return env


def container_env(pod: dict, container: dict, *, lookup: Lookup, pod_ip: str, host_ip: str, node_name: str,
                  allocatable: dict[str, str] | None = None,
                  services: dict[str, str] | None = None) -> dict[str, str]:
    """The container's environment from its spec (envFrom, then env), with references resolved;
    ``services`` (from :func:`service_env`) come last, unless the container sets the same names."""
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    fields = field_values(pod, pod_ip, host_ip, node_name)
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        if not isinstance(source, dict):
            continue
        prefix = str(source.get("prefix") or "")
        for kind, key in (("configmap", "configMapRef"), ("secret", "secretRef")):
            ref = source.get(key)
            if isinstance(ref, dict):
                data = _object_data(lookup, kind, namespace, ref.get("name", ""), bool(ref.get("optional")))
                env.update({prefix + k: v for k, v in (data or {}).items()})
    for var in container.get("env") or []:
        if not isinstance(var, dict) or not var.get("name"):
            continue
        name = str(var["name"])
        if "valueFrom" not in var:
            env[name] = expand(str(var.get("value", "")), {**(services or {}), **env})
            continue
        value = _value_from(pod, container, var.get("valueFrom") or {}, lookup, namespace, fields, allocatable or {})
        if value is not None:
            env[name] = value
    return {**env, **{k: v for k, v in (services or {}).items() if k not in env}}


def _value_from(pod: dict, container: dict, source: dict, lookup: Lookup, namespace: str, fields: dict[str, str],
                allocatable: dict[str, str]) -> str | None:
    if "fieldRef" in source:
        return field_ref(pod, (source["fieldRef"] or {}).get("fieldPath", ""), fields)
    if "resourceFieldRef" in source:
        return resource_ref(container, source["resourceFieldRef"] or {}, allocatable)
    for kind, key, what in (("configmap", "configMapKeyRef", "ConfigMap"), ("secret", "secretKeyRef", "Secret")):
        ref = source.get(key)
        if not isinstance(ref, dict):
            continue
        optional = bool(ref.get("optional"))
        data = _object_data(lookup, kind, namespace, ref.get("name", ""), optional)
        if data is None:
            return None
        if ref.get("key") not in data:
            if optional:
                return None
            raise ConfigError(f'couldn\'t find key {ref.get("key")} in {what} {namespace}/{ref.get("name")}')
        return data[ref["key"]]
    return None
