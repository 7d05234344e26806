"""Pods: what the apiserver checks and resets for the smallest unit Kubernetes manages.

A pod is one or more containers that run on the same node and share its IP and volumes. On
create the status is reset to Pending; the spec is validated (at least one container, each
with a DNS-1123 name and an image, unique names, valid ports and quantities). After create,
the spec is immutable except for container images, activeDeadlineSeconds and added
tolerations, as in Kubernetes; ``spec.nodeName`` changes only through the binding
subresource. Deleting a pod that runs on a node is graceful: the kubelet gets the grace
period to stop the containers and then confirms.
"""

from __future__ import annotations

import copy

from apiserver.registry.base import Strategy
from machinery import validation
from machinery.validation import Cause

RESTART_POLICIES = ("Always", "OnFailure", "Never")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("TCP", "UDP", "SCTP")
DEFAULT_GRACE_PERIOD_S = 30
TERMINAL_PHASES = ("Succeeded", "Failed")
_MUTABLE_SPEC_HINT = ("pod updates may not change fields other than `spec.containers[*].image`, "
                      "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, "
                      "`spec.tolerations` (only additions to existing tolerations) or "
                      "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")


class PodStrategy(Strategy):
    def initial_status(self, obj: dict) -> dict:
        spec = obj.get("spec")
        return {"phase": "Pending", "qosClass": qos_class(spec if isinstance(spec, dict) else {})}

    def validate(self, obj: dict) -> list[Cause]:
        causes = self.validate_metadata(obj)
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return causes + [validation.required("spec")]
        causes += validate_pod_spec(spec, "spec")
        return causes

    def validate_update(self, new: dict, old: dict) -> list[Cause]:
        causes = self.validate(new)
        if causes:
            return causes
        if _comparable_spec(new.get("spec") or {}, old.get("spec") or {}) != (old.get("spec") or {}):
            causes.append(validation.forbidden("spec", _MUTABLE_SPEC_HINT))
        return causes

    def grace_period_s(self, obj: dict, requested: int | None) -> int:
        spec = obj.get("spec") or {}
        if not spec.get("nodeName") or (obj.get("status") or {}).get("phase") in TERMINAL_PHASES:
            return 0  # nothing runs it: nobody would confirm
        if requested is not None:
            return max(0, requested)
        grace = spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_PERIOD_S)
        return grace if isinstance(grace, int) and grace >= 0 else DEFAULT_GRACE_PERIOD_S


def _comparable_spec(new: dict, old: dict) -> dict:
    """``new`` with its mutable fields replaced by ``old``'s, for the immutability check."""
    out = copy.deepcopy(new)
    for field in ("containers", "initContainers"):
        for i, container in enumerate(out.get(field) or []):
            old_list = old.get(field) or []
            if isinstance(container, dict) and i < len(old_list) and isinstance(old_list[i], dict):
                container["image"] = old_list[i].get("image")
    for field in ("activeDeadlineSeconds", "tolerations"):
        if field in old:
            out[field] = copy.deepcopy(old[field])
        else:
            out.pop(field, None)
    return out


def validate_pod_spec(spec: dict, path: str) -> list[Cause]:
    causes: list[Cause] = []
    containers = spec.get("containers")
    if not containers:
        causes.append(validation.required(f"{path}.containers"))
    elif not isinstance(containers, list):
        causes.append(validation.invalid(f"{path}.containers", containers, "must be a list"))
    else:
        causes += _validate_containers(containers, f"{path}.containers", set())
    init = spec.get("initContainers")
    if init is not None:
        if not isinstance(init, list):
            causes.append(validation.invalid(f"{path}.initContainers", init, "must be a list"))
        else:
            names = {c.get("name") for c in containers or [] if isinstance(c, dict)} if isinstance(
                containers, list) else set()
            causes += _validate_containers(init, f"{path}.initContainers", names)
    policy = spec.get("restartPolicy", "Always")
    if policy not in RESTART_POLICIES:
        causes.append(validation.not_supported(f"{path}.restartPolicy", policy, RESTART_POLICIES))
    grace = spec.get("terminationGracePeriodSeconds")
    if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool) or grace < 0):
        causes.append(validation.invalid(f"{path}.terminationGracePeriodSeconds", grace,
                                         "must be greater than or equal to 0"))
    node_name = spec.get("nodeName")
    if node_name:
        if not isinstance(node_name, str):
            causes.append(validation.invalid(f"{path}.nodeName", node_name, "must be a string"))
        else:
            causes += validation.dns1123_subdomain(node_name, f"{path}.nodeName")
    selector = spec.get("nodeSelector")
    if selector is not None:
        causes += validation.labels(selector, f"{path}.nodeSelector")
    return causes


def _validate_containers(containers: list, path: str, taken: set) -> list[Cause]:
    causes: list[Cause] = []
    names = set(taken)
    for i, container in enumerate(containers):
        where = f"{path}[{i}]"
        if not isinstance(container, dict):
            causes.append(validation.invalid(where, container, "must be an object"))
            continue
        name = container.get("name")
        if not name:
            causes.append(validation.required(f"{where}.name"))
        elif not isinstance(name, str):
            causes.append(validation.invalid(f"{where}.name", name, "must be a string"))
        else:
            causes += validation.dns1123_label(name, f"{where}.name")
            if name in names:
                causes.append(validation.duplicate(f"{where}.name", name))
            names.add(name)
        image = container.get("image")
        if not image or not isinstance(image, str) or not image.strip():
            causes.append(validation.required(f"{where}.image"))
        elif image != image.strip():
            causes.append(validation.invalid(f"{where}.image", image, "must not have leading or trailing whitespace"))
        for field in ("command", "args"):
            value = container.get(field)
            if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
                causes.append(validation.invalid(f"{where}.{field}", value, "must be a list of strings"))
        pull = container.get("imagePullPolicy")
        if pull is not None and pull not in PULL_POLICIES:
            causes.append(validation.not_supported(f"{where}.imagePullPolicy", pull, PULL_POLICIES))
        causes += _validate_ports(container.get("ports"), f"{where}.ports")
        causes += _validate_resources(container.get("resources"), f"{where}.resources")
        causes += _validate_env(container.get("env"), f"{where}.env")
    return causes


def _validate_ports(ports, path: str) -> list[Cause]:
    if ports is None:
        return []
    if not isinstance(ports, list):
        return [validation.invalid(path, ports, "must be a list")]
    causes: list[Cause] = []
    seen = set()
    for i, port in enumerate(ports):
        where = f"{path}[{i}]"
        if not isinstance(port, dict):
            causes.append(validation.invalid(where, port, "must be an object"))
            continue
        number = port.get("containerPort")
        if number is None:
            causes.append(validation.required(f"{where}.containerPort"))
        elif not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 65535:
            causes.append(validation.invalid(f"{where}.containerPort", number,
                                             "must be between 1 and 65535, inclusive"))
        protocol = port.get("protocol", "TCP")
        if protocol not in PROTOCOLS:
            causes.append(validation.not_supported(f"{where}.protocol", protocol, PROTOCOLS))
        if (number, protocol) in seen:
            causes.append(validation.duplicate(f"{where}", f"{number}/{protocol}"))
        seen.add((number, protocol))
        if "name" in port:
            causes += validation.dns1123_label(str(port["name"]), f"{where}.name") if isinstance(
                port["name"], str) else [validation.invalid(f"{where}.name", port["name"], "must be a string")]
    return causes


def _validate_resources(resources, path: str) -> list[Cause]:
    if resources is None:
        return []
    if not isinstance(resources, dict):
        return [validation.invalid(path, resources, "must be an object")]
    causes: list[Cause] = []
    for section in ("requests", "limits"):
        values = resources.get(section)
        if values is None:
            continue
        if not isinstance(values, dict):
            causes.append(validation.invalid(f"{path}.{section}", values, "must be a map of quantities"))
            continue
        for name, value in values.items():
            causes += validation.quantity(value, f"{path}.{section}[{name}]", non_negative=True)
    if not causes:
        causes += _requests_within_limits(resources, path)
    return causes


def _requests_within_limits(resources: dict, path: str) -> list[Cause]:
    from machinery.quantity import parse_quantity

    causes = []
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    for name, limit in limits.items():
        if name in requests and parse_quantity(requests[name]) > parse_quantity(limit):
            causes.append(validation.invalid(f"{path}.requests[{name}]", requests[name],
                                             f"must be less than or equal to {name} limit of {limit}"))
    return causes


def _validate_env(env, path: str) -> list[Cause]:
    if env is None:
        return []
    if not isinstance(env, list):
        return [validation.invalid(path, env, "must be a list")]
    causes = []
    for i, var in enumerate(env):
        if not isinstance(var, dict) or not var.get("name"):
            causes.append(validation.required(f"{path}[{i}].name"))
        elif "value" in var and not isinstance(var["value"], str):
            causes.append(validation.invalid(f"{path}[{i}].value", var["value"], "must be a string"))
    return causes


def qos_class(spec: dict) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' requests and limits."""
    containers = [c for field in ("containers", "initContainers") if isinstance(spec.get(field), list)
                  for c in spec[field] if isinstance(c, dict)]
    resources = [c.get("resources") or {} for c in containers]
    if not any((r.get("requests") or r.get("limits")) for r in resources if isinstance(r, dict)):
        return "BestEffort"
    for r in resources:
        if not isinstance(r, dict):
            return "Burstable"
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                return "Burstable"
    return "Guaranteed"
