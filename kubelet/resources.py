"""Resources on the node: admission of pods against allocatable, memory limits, usage.

**Admission** (the kubelet's ``canAdmitPod``, predicate "NodeResourcesFit"): before running a pod
the kubelet adds its requests to those of the pods it already admitted that have not finished, and
rejects it when cpu, memory or the pod count would exceed the node's allocatable. The rejected pod
is ``Failed`` with reason ``OutOfcpu``/``OutOfmemory``/``OutOfpods`` and the message "Pod was
rejected: Node didn't have enough resource: cpu, requested: 64000, used: 500, capacity: 2000"
(millicores / bytes), as kubectl shows for the real one. A pod's request per resource is the
larger of the sum over its app containers and the largest init container (Kubernetes' effective
request); an unset request with a limit counts as the limit.

**Memory limits**: there are no cgroups, so the kubelet plays the kernel's OOM killer: every
``period_s`` it samples each running container's process-tree RSS (the runtime's ``stats``, one
psutil pass for all), and a container above ``resources.limits.memory`` is SIGKILLed and reported
``terminated`` with reason ``OOMKilled`` and exit code 137. A sampling period means a fast
allocation can overshoot the limit for up to one period; the kernel would stop it at once.

**CPU**: usage in millicores is the growth of the tree's CPU time between samples; it is reported
with memory in the kubelet's ``Describe`` details and its ``Stats`` gRPC call. CPU limits are not
enforced (no CFS quota without cgroups).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kubelet.runtime.base import ContainerRuntime, PodSandbox
from machinery.quantity import QuantityError, bytes_value, cpu_millis

log = logging.getLogger(__name__)

REASON_OOM = "OOMKilled"


def _amount(resource: str, value) -> int:
    try:
        return cpu_millis(value) if resource == "cpu" else bytes_value(value)
    except (QuantityError, TypeError, ValueError):
        return 0


def container_request(container: dict, resource: str) -> int:
    res = container.get("resources") or {}
    value = (res.get("requests") or {}).get(resource)
    if value is None:
        value = (res.get("limits") or {}).get(resource)
    return _amount(resource, value) if value is not None else 0


def pod_requests(pod: dict) -> dict[str, int]:
    """Effective requests: max(sum of app containers (+ restartable init sidecars), largest init container)."""
    spec = pod.get("spec") or {}
    out = {}
    for resource in ("cpu", "memory"):
        app = sum(container_request(c, resource) for c in spec.get("containers") or [] if isinstance(c, dict))
        init = 0
        sidecars = 0
        for c in spec.get("initContainers") or []:
            if not isinstance(c, dict):
                continue
            if c.get("restartPolicy") == "Always":
                sidecars += container_request(c, resource)
            else:
                init = max(init, sidecars + container_request(c, resource))
        out[resource] = max(app + sidecars, init)
    return out


def memory_limit(container: dict) -> int | None:
    value = ((container.get("resources") or {}).get("limits") or {}).get("memory")
    amount = _amount("memory", value) if value is not None else 0
    return amount or None


@dataclass(frozen=True)
class Rejection:
    reason: str
    message: str


def admit(pod: dict, admitted: list[dict], allocatable: dict[str, str]) -> Rejection | None:
    """None when ``pod`` fits next to ``admitted`` (pods still running here); else why not."""
    capacity = {"cpu": _amount("cpu", allocatable.get("cpu", "0")),
                "memory": _amount("memory", allocatable.get("memory", "0"))}
    try:
        max_pods = int(allocatable.get("pods", 0) or 0)
    except (TypeError, ValueError):
        max_pods = 0
    if max_pods and len(admitted) + 1 > max_pods:
        return Rejection("OutOfpods", f"Node didn't have enough resource: pods, requested: 1, used: "
                                      f"{len(admitted)}, capacity: {max_pods}")
    wanted = pod_requests(pod)
    for resource in ("cpu", "memory"):
        used = sum(pod_requests(p)[resource] for p in admitted)
        if wanted[resource] and used + wanted[resource] > capacity[resource]:
            return Rejection(f"OutOf{resource}", f"Node didn't have enough resource: {resource}, requested: "
                                               f"{wanted[resource]}, used: {used}, capacity: {capacity[resource]}")
    return None


@dataclass
class Usage:
    memory_bytes: int = 0
    cpu_millis: int = 0
    cpu_seconds: float = 0.0
    at: float = 0.0


class ResourceMonitor:
    """Samples container usage every ``period_s``; kills containers over their memory limit."""

    def __init__(self, runtime: ContainerRuntime, *, targets: Callable[[], list[tuple[PodSandbox, dict]]],
                 on_oom: Callable[[PodSandbox, dict, str, int, int], None], period_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.runtime = runtime
        self.targets = targets  # -> [(sandbox, pod)] of pods with a sandbox
        self.on_oom = on_oom  # (sandbox, pod, container name, usage bytes, limit bytes)
        self.period_s = period_s
        self._clock = clock
        self._usage: dict[tuple[str, str], Usage] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._loop, daemon=True, name="resource-monitor").start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a bad sample must not end monitoring
                log.exception("sampling container usage failed")

    def sample(self) -> None:
        targets = self.targets()
        stats = self.runtime.stats([sb for sb, _ in targets])
        now = self._clock()
        fresh: dict[tuple[str, str], Usage] = {}
        with self._lock:
            for key, st in stats.items():
                prev = self._usage.get(key)
                millis = 0
                if prev is not None and now > prev.at and st.cpu_seconds >= prev.cpu_seconds:
                    millis = int(round((st.cpu_seconds - prev.cpu_seconds) / (now - prev.at) * 1000))
                elif prev is not None:
                    millis = prev.cpu_millis
                fresh[key] = Usage(st.memory_bytes, millis, st.cpu_seconds, now)
            self._usage = fresh
        for sandbox, pod in targets:
            spec = pod.get("spec") or {}
            for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
                if not isinstance(container, dict):
                    continue
                usage = fresh.get((sandbox.uid, container.get("name", "")))
                limit = memory_limit(container)
                if usage is not None and limit is not None and usage.memory_bytes > limit:
                    self.on_oom(sandbox, pod, container["name"], usage.memory_bytes, limit)

    def usage(self, uid: str, name: str) -> Usage | None:
        with self._lock:
            return self._usage.get((uid, name))

    def pod_usage(self, uid: str) -> dict[str, Usage]:
        with self._lock:
            return {name: u for (u_id, name), u in self._usage.items() if u_id == uid}
