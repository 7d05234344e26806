"""Admission against allocatable and memory-limit enforcement (kubelet/resources.py)."""

from __future__ import annotations

from kubelet.resources import ResourceMonitor, admit, pod_requests
from kubelet.runtime.base import ContainerStats, PodSandbox


def pod(*containers: dict, init: tuple = ()) -> dict:
    return {"metadata": {"name": "p", "uid": "u"},
            "spec": {"containers": list(containers), "initContainers": list(init)}}


def c(name: str = "c", cpu: str | None = None, memory: str | None = None, limit_memory: str | None = None,
      **extra) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    limits = {"memory": limit_memory} if limit_memory else {}
    return {"name": name, "resources": {"requests": requests, "limits": limits}, **extra}


def test_effective_requests():
    assert pod_requests(pod(c(cpu="500m", memory="1Gi"), c(cpu="250m"))) == {"cpu": 750, "memory": 1 << 30}
    # The largest init container wins when it asks for more than the app containers together.
    assert pod_requests(pod(c(cpu="100m"), init=(c("i", cpu="2"),)))["cpu"] == 2000
    # A limit without a request counts as the request; sidecars add to both sides.
    assert pod_requests(pod(c(limit_memory="64Mi")))["memory"] == 64 << 20
    assert pod_requests(pod(c(cpu="1"), init=(c("side", cpu="500m", restartPolicy="Always"),
                                              c("i", cpu="1")))) == {"cpu": 1500, "memory": 0}


def test_admission_messages_match_the_kubelet():
    allocatable = {"cpu": "2", "memory": "1Gi", "pods": "3"}
    running = [pod(c(cpu="1500m"))]
    assert admit(pod(c(cpu="500m")), running, allocatable) is None
    rejected = admit(pod(c(cpu="1")), running, allocatable)
    assert rejected.reason == "OutOfcpu"
    assert rejected.message == "Node didn't have enough resource: cpu, requested: 1000, used: 1500, capacity: 2000"
    assert admit(pod(c(memory="2Gi")), [], allocatable).reason == "OutOfmemory"
    assert admit(pod(c()), [pod(c())] * 3, allocatable).reason == "OutOfpods"


class FakeRuntime:
    def __init__(self):
        self.samples = [{("u1", "web"): ContainerStats(50 << 20, 1.0, 2)},
                        {("u1", "web"): ContainerStats(300 << 20, 1.5, 2)}]

    def stats(self, sandboxes):
        return self.samples.pop(0)


def test_monitor_reports_cpu_and_kills_over_the_memory_limit():
    now = [0.0]
    sandbox = PodSandbox("u1", "ns", "p", "127.0.0.2", "/tmp")
    target = (sandbox, pod(c("web", limit_memory="256Mi")))
    killed = []
    monitor = ResourceMonitor(FakeRuntime(), targets=lambda: [target],
                              on_oom=lambda sb, p, name, usage, limit: killed.append((name, usage, limit)),
                              clock=lambda: now[0])
    monitor.sample()
    assert killed == [] and monitor.usage("u1", "web").memory_bytes == 50 << 20
    now[0] = 2.0
    monitor.sample()
    assert monitor.usage("u1", "web").cpu_millis == 250  # 0.5 s of CPU over 2 s
    assert killed == [("web", 300 << 20, 256 << 20)]
    assert set(monitor.pod_usage("u1")) == {"web"}
