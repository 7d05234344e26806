"""The resource quota controller: keeps each ResourceQuota's ``status.used`` current.

Admission computes usage itself when it decides (so decisions never rest on a stale
``status``); this controller recomputes what the namespace's pods use whenever a pod or a
quota changes, so ``kubectl describe quota`` shows the truth.
"""

from __future__ import annotations

from decimal import Decimal

from machinery import meta
from machinery.client import APIClient
from machinery.controller import Controller
from machinery.informer import Handlers, Informer
from machinery.quantity import QuantityError, format_bytes, format_cpu_millis, parse_quantity

TERMINAL = ("Succeeded", "Failed")


def _q(value) -> Decimal:
    try:
        return parse_quantity(value) if value is not None else Decimal(0)
    except QuantityError:
        return Decimal(0)


def usage_of(pods: list[dict]) -> dict[str, Decimal]:
    used = {k: Decimal(0) for k in ("pods", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")}
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in TERMINAL:
            continue
        used["pods"] += 1
        for c in (pod.get("spec") or {}).get("containers") or []:
            res = (c or {}).get("resources") or {}
            for kind in ("requests", "limits"):
                for name in ("cpu", "memory"):
                    used[f"{kind}.{name}"] += _q((res.get(kind) or {}).get(name))
    used["cpu"], used["memory"] = used["requests.cpu"], used["requests.memory"]
    return used


def render(resource: str, value: Decimal) -> str:
    if resource == "pods":
        return str(int(value))
    if resource.endswith("cpu"):
        return format_cpu_millis(int((value * 1000).to_integral_value()))
    return format_bytes(int(value))


class ResourceQuotaController(Controller):
    name = "resourcequota"

    def __init__(self, client: APIClient, quotas: Informer, pods: Informer, *, workers: int = 2):
        super().__init__(client, workers=workers)
        self.quotas = quotas
        self.pods = pods
        self.informers = [quotas, pods]
        quotas.add_handlers(Handlers(self._quota, lambda old, q: self._quota(q)))
        pods.add_handlers(Handlers(self._pod, lambda old, p: self._pod(p), self._pod))

    def _quota(self, quota: dict) -> None:
        self.enqueue(meta.key_of(quota))

    def _pod(self, pod: dict) -> None:
        ns = pod["metadata"].get("namespace", "")
        for quota in self.quotas.list():
            if quota["metadata"].get("namespace") == ns:
                self.enqueue(meta.key_of(quota))

    def reconcile(self, key: str) -> float | None:
        quota = self.quotas.get(key)
        if quota is None:
            return None
        ns = quota["metadata"]["namespace"]
        used = usage_of([p for p in self.pods.list() if p["metadata"].get("namespace") == ns])
        hard = (quota.get("spec") or {}).get("hard") or {}
        status = {"hard": dict(hard), "used": {r: render(r, used[r]) for r in hard if r in used}}
        if quota.get("status") == status:
            return None

        def write(fresh: dict) -> bool:
            if fresh.get("status") == status:
                return False
            fresh["status"] = status
            return True

        self.client.mutate("resourcequotas", quota["metadata"]["name"], ns, write, status=True)
        return None
