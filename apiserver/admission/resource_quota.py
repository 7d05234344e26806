"""ResourceQuota: a namespace's pods may not add up to more than its quotas allow.

For each ResourceQuota in the namespace, the plugin adds the new pod's usage to what the
namespace's non-terminal pods already use and refuses the pod when any ``spec.hard`` limit
would be exceeded, with Kubernetes' message (``exceeded quota: q, requested: pods=1,
used: pods=2, limited: pods=2``). Tracked: ``pods``, ``requests.cpu``/``cpu``,
``requests.memory``/``memory``, ``limits.cpu``, ``limits.memory``; when a quota tracks a
compute resource, a pod that does not state it is refused (``must specify …``). Usage is
computed from storage on every decision, so it never drifts; the controller manager keeps
``status.used`` current for users to read.
"""

from __future__ import annotations

from decimal import Decimal

from apiserver.admission.chain import Attributes, is_pod_create
from apiserver.admission.lookup import Lookup
from machinery import errors
from machinery.quantity import QuantityError, format_bytes, format_cpu_millis, parse_quantity

TRACKED = ("pods", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory")
_ALIASES = {"cpu": "requests.cpu", "memory": "requests.memory"}


def pod_usage(pod: dict) -> dict[str, Decimal]:
    """What one pod counts against a quota (app containers summed, init containers as max)."""
    usage = {"pods": Decimal(1)}
    spec = pod.get("spec") or {}
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            total = Decimal(0)
            for c in spec.get("containers") or []:
                total += _q(((c or {}).get("resources") or {}).get(kind, {}).get(resource))
            for c in spec.get("initContainers") or []:
                total = max(total, _q(((c or {}).get("resources") or {}).get(kind, {}).get(resource)))
            usage[f"{kind}.{resource}"] = total
    usage["cpu"], usage["memory"] = usage["requests.cpu"], usage["requests.memory"]
    return usage


def _q(value) -> Decimal:
    if value is None:
        return Decimal(0)
    try:
        return parse_quantity(value)
    except QuantityError:
        return Decimal(0)


def namespace_usage(pods: list[dict]) -> dict[str, Decimal]:
    total = {k: Decimal(0) for k in TRACKED}
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for k, v in pod_usage(pod).items():
            total[k] += v
    return total


def format_amount(resource: str, value: Decimal) -> str:
    if resource == "pods":
        return str(int(value))
    if resource.endswith("cpu"):
        return format_cpu_millis(int((value * 1000).to_integral_value()))
    return format_bytes(int(value))


def _states(pod: dict, resource: str) -> bool:
    """Whether every container states ``requests.cpu``-like ``resource``."""
    kind, _, name = _ALIASES.get(resource, resource).partition(".")
    containers = (pod.get("spec") or {}).get("containers") or []
    return all(name in (((c or {}).get("resources") or {}).get(kind) or {}) for c in containers)


class ResourceQuota:
    name = "ResourceQuota"

    def __init__(self, lookup: Lookup):
        self.lookup = lookup

    def validate(self, attrs: Attributes) -> None:
        if not is_pod_create(attrs):
            return
        quotas = self.lookup.list("resourcequotas", attrs.namespace)
        if not quotas:
            return
        used = namespace_usage(self.lookup.list("pods", attrs.namespace))
        wanted = pod_usage(attrs.object)
        for quota in quotas:
            hard = (quota.get("spec") or {}).get("hard") or {}
            qname = quota["metadata"]["name"]
            missing = [r for r in hard if r in TRACKED and r != "pods" and not _states(attrs.object, r)]
            if missing:
                raise errors.Forbidden(f'pods "{attrs.name}" is forbidden: failed quota: {qname}: must specify '
                                       f"{','.join(sorted(missing))}", kind="pods", name=attrs.name)
            over = [r for r in sorted(hard) if r in TRACKED and used[r] + wanted[r] > _q(hard[r])]
            if over:
                requested = ",".join(f"{r}={format_amount(r, wanted[r])}" for r in over)
                in_use = ",".join(f"{r}={format_amount(r, used[r])}" for r in over)
                limited = ",".join(f"{r}={hard[r]}" for r in over)
                raise errors.Forbidden(f'pods "{attrs.name}" is forbidden: exceeded quota: {qname}, requested: '
                                       f"{requested}, used: {in_use}, limited: {limited}", kind="pods",
                                       name=attrs.name)
