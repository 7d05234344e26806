"""Which pods back a Service, and on which port: what the Endpoints and EndpointSlice controllers share.

The pieces of kube-controller-manager's ``pkg/controller/util/endpoint`` and ``podutil.FindPort``:

- :func:`selected_pods`: the pods of the Service's namespace its ``spec.selector`` matches (a
  Service without a selector has hand-managed endpoints: neither controller touches it);
- :func:`should_be_in_endpoints`: a pod with an IP that has not finished (Succeeded/Failed);
  a terminating pod only when asked (EndpointSlices keep it, with ``terminating: true``);
- :func:`find_port`: a Service port's ``targetPort`` on one pod — a number as is, a name looked up
  among the pod's container ports with the Service port's protocol (so one Service can reach
  pods that call their port ``http`` on different numbers);
- :class:`ServiceIndex`: a pod event enqueues every Service of its namespace that selects the
  pod before or after the change, and only when something endpoints show changed (IP,
  readiness, labels, deletion, node, phase), not on every status write.
"""

from __future__ import annotations

from collections.abc import Callable

from controller_manager.common import Lister
from machinery import meta
from machinery.informer import Handlers

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
TERMINAL_PHASES = ("Succeeded", "Failed")


def selector_of_service(svc: dict) -> dict[str, str] | None:
    """``spec.selector`` when it selects (a non-empty map), else None."""
    selector = (svc.get("spec") or {}).get("selector")
    return selector if isinstance(selector, dict) and selector else None


def selects(selector: dict[str, str], pod: dict) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def selected_pods(svc: dict, pods: Lister) -> list[dict]:
    selector = selector_of_service(svc)
    if selector is None:
        return []
    return sorted((p for p in pods.list(meta.namespace_of(svc)) if selects(selector, p)), key=meta.name_of)


def pod_ip(pod: dict) -> str:
    status = pod.get("status") or {}
    ips = [i.get("ip") for i in status.get("podIPs") or [] if isinstance(i, dict) and i.get("ip")]
    return ips[0] if ips else str(status.get("podIP") or "")


def is_pod_ready(pod: dict) -> bool:
    cond = meta.condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True")


def should_be_in_endpoints(pod: dict, *, include_terminating: bool) -> bool:
    if not pod_ip(pod):
        return False
    if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
        return False
    if (pod.get("metadata") or {}).get("deletionTimestamp") and not include_terminating:
        return False
    return True


def find_port(pod: dict, service_port: dict) -> int | None:
    """The pod's port for ``service_port``'s targetPort (podutil.FindPort); None when a named port is
    not declared by any container with that protocol."""
    target = service_port.get("targetPort")
    if target in (None, "", 0):
        target = service_port.get("port")
    if isinstance(target, int) and not isinstance(target, bool):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or [] if isinstance(container, dict) else []:
            if isinstance(port, dict) and port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return port.get("containerPort")
    return None


def hostname_for(pod: dict, svc: dict) -> str:
    """The pod's hostname when it names this Service as its subdomain (headless DNS records)."""
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == meta.name_of(svc) and \
            meta.namespace_of(pod) == meta.namespace_of(svc):
        return str(spec["hostname"])
    return ""


def target_ref(pod: dict) -> dict:
    return {"kind": "Pod", "namespace": meta.namespace_of(pod), "name": meta.name_of(pod),
            "uid": (pod.get("metadata") or {}).get("uid", "")}


def _endpoint_view(pod: dict) -> tuple:
    """What of a pod endpoints show: a change elsewhere (a status heartbeat) is no reason to sync."""
    m = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    return (pod_ip(pod), is_pod_ready(pod), bool(m.get("deletionTimestamp")), (pod.get("status") or {}).get("phase"),
            spec.get("nodeName"), spec.get("hostname"), spec.get("subdomain"),
            tuple(sorted((m.get("labels") or {}).items())))


class ServiceIndex:
    """Routes pod events to the keys of the Services selecting the pod."""

    def __init__(self, services: Lister, pods: Lister, enqueue: Callable[[str], None]):
        self.services = services
        self._enqueue = enqueue
        pods.add_handlers(Handlers(self._pod_added, self._pod_updated, self._pod_added))

    def services_for(self, pod: dict) -> list[str]:
        out = []
        for svc in self.services.list(meta.namespace_of(pod)):
            selector = selector_of_service(svc)
            if selector is not None and selects(selector, pod):
                out.append(meta.key_of(svc))
        return out

    def _pod_added(self, pod: dict) -> None:
        for key in self.services_for(pod):
            self._enqueue(key)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if _endpoint_view(old) == _endpoint_view(new):
            return
        for key in set(self.services_for(old)) | set(self.services_for(new)):
            self._enqueue(key)
