"""Probe workers (kubelet/probes.py): thresholds, startup gating, kill verdicts, spec parsing."""

from __future__ import annotations

from kubelet.probes import ProbeManager, ProbeSpec
from kubelet.runtime.base import ContainerState, PodSandbox

SANDBOX = PodSandbox("u1", "ns", "p", "127.0.0.2", "/tmp")
SLOW = {"periodSeconds": 3600, "initialDelaySeconds": 3600}


class VerdictRuntime:
    """A runtime whose probes answer from a script: ``answers[kind]`` is popped per probe."""

    def __init__(self):
        self.answers: dict[str, list[bool]] = {"startup": [], "liveness": [], "readiness": []}

    def probe(self, sandbox, name, kind):
        return self.answers[kind].pop(0)


def setup(container: dict):
    runtime = VerdictRuntime()
    changes, events = [], []
    # The clock stands still at the container's start and every probe has an initial delay, so the
    # worker threads never probe on their own: the test drives _probe_once.
    manager = ProbeManager(runtime, on_change=changes.append, event=lambda *a: events.append(a[1:]),
                           clock=lambda: 1704067200.0)
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": {"containers": [container]}}
    state = ContainerState("c", "running", started_at="2024-01-01T00:00:00Z")
    return runtime, manager, pod, state, changes, events


def workers(manager) -> dict:
    return {k[2]: w for k, w in manager._workers.items()}


def test_spec_defaults_and_limits():
    spec = ProbeSpec.parse({"exec": {"command": ["true"]}}, "liveness")
    assert (spec.initial_delay_s, spec.period_s, spec.timeout_s, spec.success_threshold, spec.failure_threshold) == \
        (0, 10, 1, 1, 3)
    spec = ProbeSpec.parse({"periodSeconds": 0, "successThreshold": 3, "terminationGracePeriodSeconds": 5}, "liveness")
    assert (spec.period_s, spec.success_threshold, spec.termination_grace_s) == (1, 1, 5)
    assert ProbeSpec.parse({"successThreshold": 3}, "readiness").success_threshold == 3


def test_thresholds_startup_gating_and_liveness_verdict():
    container = {"name": "c",
                 "startupProbe": {"exec": {"command": ["x"]}, "failureThreshold": 2, **SLOW},
                 "livenessProbe": {"exec": {"command": ["x"]}, "failureThreshold": 2, **SLOW},
                 "readinessProbe": {"exec": {"command": ["x"]}, "successThreshold": 2, **SLOW}}
    runtime, manager, pod, state, changes, events = setup(container)
    manager.sync(pod, SANDBOX, container, state)
    try:
        w = workers(manager)
        assert set(w) == {"startup", "liveness", "readiness"}
        assert not manager.started("u1", "c", container) and not manager.ready("u1", "c", container)
        assert manager._may_probe(w["liveness"]) is False  # gated by the startup probe
        runtime.answers["startup"] = [False, True]
        manager._probe_once(w["startup"])
        assert not manager.started("u1", "c", container)
        manager._probe_once(w["startup"])
        assert manager.started("u1", "c", container) and changes == ["ns/p"]
        runtime.answers["readiness"] = [True, True, False, False, False]
        manager._probe_once(w["readiness"])
        assert not manager.ready("u1", "c", container)  # needs two successes
        manager._probe_once(w["readiness"])
        assert manager.ready("u1", "c", container)
        for _ in range(3):
            manager._probe_once(w["readiness"])
        assert not manager.ready("u1", "c", container)
        runtime.answers["liveness"] = [False, False]
        manager._probe_once(w["liveness"])
        assert manager.fatal("u1", "c", state) is None
        manager._probe_once(w["liveness"])
        kind, spec = manager.fatal("u1", "c", state)
        assert kind == "liveness" and spec.failure_threshold == 2
        assert ("Warning", "Unhealthy", "Liveness probe failed: simulated probe failure") in events
        # The next run of the container gets fresh workers.
        restarted = ContainerState("c", "running", started_at="2024-01-01T00:00:00Z", restart_count=1)
        manager.sync(pod, SANDBOX, container, restarted)
        assert manager.fatal("u1", "c", restarted) is None and not manager.started("u1", "c", container)
    finally:
        manager.stop_all()


def test_a_restarted_kubelet_keeps_reported_readiness():
    container = {"name": "c", "readinessProbe": {"exec": {"command": ["x"]}, "periodSeconds": 3600,
                                                 "initialDelaySeconds": 3600}}
    runtime, manager, pod, state, changes, events = setup(container)
    pod["status"] = {"containerStatuses": [{"name": "c", "ready": True, "containerID": "kubemu://u1/c/0"}]}
    manager.sync(pod, SANDBOX, container, state)
    try:
        assert manager.ready("u1", "c", container)
    finally:
        manager.stop_all()
    manager.sync(pod, SANDBOX, container, ContainerState("c", "terminated", exit_code=0))
    assert manager._workers == {}
