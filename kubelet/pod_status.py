"""Computing a pod's status from what the runtime reports (the kubelet's generateAPIPodStatus).

A pure function of the pod spec and one :class:`View` per container (the runtime's state, why it
waits, what the probes say), so it is easy to test and the same status comes out however often it
is computed (the kubelet writes it only when it changes). Phase rules follow Kubernetes'
``getPhase``:

- **Pending**: an init container has not completed yet, or an app container has not started
  (image pull, creation, config error);
- **Running**: every app container started and at least one runs, or restarts per policy;
- **Succeeded**: every app container exited 0 and the restart policy will not restart them;
- **Failed**: every app container terminated, at least one non-zero, and none will restart — or
  an init container failed under ``restartPolicy: Never``, or the kubelet rejected the pod
  (``reason`` OutOfcpu…).

Conditions: ``PodReadyToStartContainers`` (sandbox with IP), ``Initialized`` (every init
container completed, or for sidecars started), ``ContainersReady`` and ``Ready`` (every app
container and sidecar running and ready per its readiness probe), ``PodScheduled``. Init
containers that have not run yet, and app containers while init runs, wait with reason
``PodInitializing``; a completed init container is ``ready`` and not ``started``, as in Kubernetes.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubelet.runtime.base import ContainerState
from machinery import meta

REASON_POD_INITIALIZING = "PodInitializing"


@dataclass
class Waiting:
    """Why a container is not running yet (ContainerCreating, ErrImagePull, CrashLoopBackOff…)."""

    reason: str
    message: str = ""


@dataclass
class View:
    """What the kubelet knows about one container right now."""

    state: ContainerState | None = None  # None: never started
    waiting: Waiting | None = None
    ready: bool = False  # readiness probe (or no probe) says ready
    started: bool = False  # startup probe (or no probe) passed
    image_id: str = ""


def is_sidecar(container: dict) -> bool:
    """A restartable init container (``restartPolicy: Always``), Kubernetes' native sidecar."""
    return container.get("restartPolicy") == "Always"


def container_status(spec: dict, view: View, pod_uid: str, *, init: bool = False) -> dict:
    state = view.state
    running = bool(state and state.state == "running")
    out = {"name": spec["name"], "image": spec.get("image", ""), "imageID": view.image_id if state else "",
           "ready": bool(running and view.ready), "restartCount": state.restart_count if state else 0,
           "started": bool(running and view.started)}
    if state is not None and state.state != "waiting":
        out["containerID"] = f"kubemu://{pod_uid}/{spec['name']}/{state.restart_count}"
    last = state.last if state is not None else None
    if view.waiting is not None or state is None or state.state == "waiting":
        w = view.waiting or Waiting("ContainerCreating")
        out["state"] = {"waiting": {"reason": w.reason, **({"message": w.message} if w.message else {})}}
        if state is not None and state.state == "terminated":
            last = state  # waiting to restart (CrashLoopBackOff): the run that ended is the last state
    elif running:
        out["state"] = {"running": {"startedAt": state.started_at}}
    else:
        out["state"] = {"terminated": _terminated(state)}
        if init and state.exit_code == 0 and not is_sidecar(spec):
            out["ready"] = True  # a completed init container reads as ready (not started)
    out["lastState"] = {"terminated": _terminated(last)} if last is not None and last.state == "terminated" else {}
    return out


def _terminated(state: ContainerState) -> dict:
    out = {"exitCode": state.exit_code if state.exit_code is not None else 0,
           "reason": state.reason or ("Completed" if state.exit_code == 0 else "Error"),
           "startedAt": state.started_at, "finishedAt": state.finished_at}
    if state.message:
        out["message"] = state.message
    return out


def will_restart(policy: str, state: ContainerState) -> bool:
    if state.state != "terminated":
        return False
    if policy == "Always":
        return True
    if policy == "OnFailure":
        return state.exit_code != 0
    return False


def init_done(container: dict, view: View) -> bool:
    """An init container lets the next one start: completed with 0, or (sidecar) started."""
    state = view.state
    if state is None:
        return False
    if is_sidecar(container):
        return state.state == "running" and view.started
    return state.state == "terminated" and state.exit_code == 0


def init_failed(container: dict, view: View) -> bool:
    state = view.state
    return (not is_sidecar(container) and state is not None and state.state == "terminated"
            and state.exit_code != 0)


def pod_phase(spec: dict, init: dict[str, View], app: dict[str, View]) -> str:
    """Kubernetes' getPhase: a container waiting after an earlier run counts as stopped."""
    policy = spec.get("restartPolicy", "Always")
    pending_init = failed_init = 0
    for c in (c for c in spec.get("initContainers") or [] if isinstance(c, dict)):
        view = init.get(c["name"], View())
        if init_done(c, view) or _completed_before(c, view):
            continue
        if init_failed(c, view):
            failed_init += 1
        else:
            pending_init += 1
    if failed_init and policy == "Never":
        return "Failed"
    if pending_init or failed_init:
        return "Pending"
    waiting = running = stopped = succeeded = 0
    for c in (c for c in spec.get("containers") or [] if isinstance(c, dict)):
        state = app.get(c["name"], View()).state
        if state is None or state.state == "waiting":
            waiting += 1
        elif state.state == "running":
            running += 1
        else:
            stopped += 1
            succeeded += state.exit_code == 0
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if not stopped:
        return "Pending"
    if policy == "Always" or (policy == "OnFailure" and stopped != succeeded):
        return "Running"
    return "Succeeded" if stopped == succeeded else "Failed"


def _completed_before(container: dict, view: View) -> bool:
    """A sidecar that started once and now restarts still counts as initialized."""
    return is_sidecar(container) and view.state is not None and view.state.restart_count > 0


def build_status(pod: dict, *, pod_ip: str, host_ip: str, app: dict[str, View], init: dict[str, View] | None = None,
                 start_time: str, reason: str = "", message: str = "", now: str | None = None) -> dict:
    """The whole pod status; conditions keep their transition times from the current status."""
    init = init or {}
    spec = pod.get("spec") or {}
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    inits = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    uid = pod["metadata"].get("uid", "")
    old = pod.get("status") or {}
    status: dict = {"conditions": [dict(c) for c in old.get("conditions") or []]}
    statuses = [container_status(c, app.get(c["name"], View()), uid) for c in containers]
    init_statuses = [container_status(c, init.get(c["name"], View()), uid, init=True) for c in inits]
    phase = "Failed" if reason else pod_phase(spec, init, app)
    initialized = all(init_done(c, init.get(c["name"], View())) or _completed_before(c, init.get(c["name"], View()))
                      for c in inits)
    sidecar_statuses = [s for c, s in zip(inits, init_statuses, strict=True) if is_sidecar(c)]
    readiness = statuses + sidecar_statuses
    all_ready = initialized and bool(statuses) and all(s["ready"] for s in readiness)
    now = now or meta.format_time()
    if pod_ip:
        meta.set_condition(status, "PodReadyToStartContainers", "True", now=now)
    pending_init = [c["name"] for c in inits if not init_done(c, init.get(c["name"], View()))]
    if initialized:
        meta.set_condition(status, "Initialized", "True", now=now)
    else:
        meta.set_condition(status, "Initialized", "False", "ContainersNotInitialized",
                           f"containers with incomplete status: [{' '.join(pending_init)}]", now=now)
    not_ready = [s["name"] for s in readiness if not s["ready"]]
    cond_reason = "" if all_ready else ("PodCompleted" if phase in ("Succeeded", "Failed") else "ContainersNotReady")
    cond_message = ""
    if not all_ready and cond_reason != "PodCompleted":
        cond_message = f"containers with unready status: [{' '.join(not_ready)}]"
    meta.set_condition(status, "ContainersReady", "True" if all_ready else "False", cond_reason, cond_message,
                       now=now)
    meta.set_condition(status, "Ready", "True" if all_ready else "False", cond_reason, cond_message, now=now)
    meta.set_condition(status, "PodScheduled", "True", now=now)
    status["conditions"].sort(key=lambda c: _CONDITION_ORDER.get(c["type"], 99))
    status.update(phase=phase, hostIP=host_ip, hostIPs=[{"ip": host_ip}], startTime=start_time,
                  containerStatuses=statuses, qosClass=old.get("qosClass", "BestEffort"))
    if inits:
        status["initContainerStatuses"] = init_statuses
    if reason:
        status["reason"], status["message"] = reason, message
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    return status


_CONDITION_ORDER = {"PodReadyToStartContainers": 0, "Initialized": 1, "Ready": 2, "ContainersReady": 3,
                    "PodScheduled": 4}
