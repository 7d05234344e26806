"""Pod status as a pure function of container views (kubelet/pod_status.py): phases, init, conditions."""

from __future__ import annotations

from kubelet.pod_status import View, Waiting, build_status, pod_phase
from kubelet.runtime.base import ContainerState

NOW = "2024-01-01T00:00:00Z"


def running(restarts: int = 0, last: ContainerState | None = None) -> ContainerState:
    return ContainerState("c", "running", started_at=NOW, restart_count=restarts, last=last)


def exited(code: int, restarts: int = 0, reason: str = "") -> ContainerState:
    return ContainerState("c", "terminated", exit_code=code, reason=reason or ("Completed" if code == 0 else "Error"),
                          started_at=NOW, finished_at=NOW, restart_count=restarts)


def pod(policy: str = "Always", init: int = 0, apps: int = 1, **extra) -> dict:
    spec = {"restartPolicy": policy, "containers": [{"name": f"app{i}", "image": "busybox"} for i in range(apps)]}
    if init:
        spec["initContainers"] = [{"name": f"init{i}", "image": "busybox"} for i in range(init)]
    spec.update(extra)
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": spec, "status": {}}


def cond(status: dict, ctype: str) -> dict:
    return next(c for c in status["conditions"] if c["type"] == ctype)


def test_phases_follow_get_phase():
    spec = pod()["spec"]
    assert pod_phase(spec, {}, {}) == "Pending"
    assert pod_phase(spec, {}, {"app0": View(running())}) == "Running"
    assert pod_phase(spec, {}, {"app0": View(exited(1), Waiting("CrashLoopBackOff"))}) == "Running"
    assert pod_phase(pod("Never")["spec"], {}, {"app0": View(exited(1))}) == "Failed"
    assert pod_phase(pod("Never")["spec"], {}, {"app0": View(exited(0))}) == "Succeeded"
    assert pod_phase(pod("OnFailure")["spec"], {}, {"app0": View(exited(0))}) == "Succeeded"
    assert pod_phase(pod("OnFailure")["spec"], {}, {"app0": View(exited(2))}) == "Running"
    two = pod("Never", apps=2)["spec"]
    assert pod_phase(two, {}, {"app0": View(exited(1)), "app1": View(running())}) == "Running"


def test_init_containers_gate_and_fail_per_policy():
    spec = pod(init=2)["spec"]
    assert pod_phase(spec, {"init0": View(exited(0)), "init1": View(running())}, {}) == "Pending"
    assert pod_phase(spec, {"init0": View(exited(0)), "init1": View(exited(0))}, {"app0": View(running())}) == \
        "Running"
    assert pod_phase(spec, {"init0": View(exited(1), Waiting("CrashLoopBackOff"))}, {}) == "Pending"
    assert pod_phase(pod("Never", init=1)["spec"], {"init0": View(exited(1))}, {}) == "Failed"


def test_status_while_initializing():
    p = pod(init=2)
    status = build_status(p, pod_ip="127.0.0.9", host_ip="127.1.0.1", start_time=NOW, now=NOW,
                          init={"init0": View(exited(0)), "init1": View(running(), started=True)},
                          app={"app0": View(waiting=Waiting("PodInitializing"))})
    assert status["phase"] == "Pending"
    init0, init1 = status["initContainerStatuses"]
    assert (init0["ready"], init0["started"], init0["state"]["terminated"]["reason"]) == (True, False, "Completed")
    assert "running" in init1["state"]
    assert cond(status, "Initialized") == {"type": "Initialized", "status": "False", "lastTransitionTime": NOW,
                                           "reason": "ContainersNotInitialized",
                                           "message": "containers with incomplete status: [init1]"}
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert cond(status, "Ready")["status"] == "False"


def test_ready_follows_readiness_and_crash_loop_shows_the_last_run():
    p = pod(apps=2)
    crashed = exited(2, restarts=3)
    status = build_status(p, pod_ip="127.0.0.9", host_ip="h", start_time=NOW, now=NOW,
                          app={"app0": View(running(), ready=False, started=True),
                               "app1": View(crashed, Waiting("CrashLoopBackOff", "back-off 40s"))})
    a0, a1 = status["containerStatuses"]
    assert (a0["ready"], a0["started"]) == (False, True)
    assert a1["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}
    assert a1["lastState"]["terminated"]["exitCode"] == 2 and a1["restartCount"] == 3
    assert status["phase"] == "Running"
    assert cond(status, "ContainersReady")["message"] == "containers with unready status: [app0 app1]"
    ok = build_status(p, pod_ip="127.0.0.9", host_ip="h", start_time=NOW, now=NOW,
                      app={"app0": View(running(1, last=exited(137, reason="OOMKilled")), ready=True, started=True),
                           "app1": View(running(), ready=True, started=True)})
    assert cond(ok, "Ready")["status"] == "True" and ok["conditions"][0]["type"] == "PodReadyToStartContainers"
    assert ok["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "OOMKilled"


def test_rejected_pod_is_failed_with_reason():
    status = build_status(pod(), pod_ip="", host_ip="h", start_time=NOW, app={}, reason="OutOfcpu",
                          message="Pod was rejected: …")
    assert (status["phase"], status["reason"]) == ("Failed", "OutOfcpu")
    assert "podIP" not in status


def test_sidecar_init_container_counts_once_started():
    p = pod(init=1)
    p["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    status = build_status(p, pod_ip="127.0.0.9", host_ip="h", start_time=NOW, now=NOW,
                          init={"init0": View(running(), ready=True, started=True)},
                          app={"app0": View(running(), ready=True, started=True)})
    assert cond(status, "Initialized")["status"] == "True"
    assert status["phase"] == "Running" and cond(status, "Ready")["status"] == "True"
