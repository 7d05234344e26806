"""Computing a pod's status from what the runtime reports (the kubelet's generateAPIPodStatus).

A pure function of the pod spec, the sandbox and the containers' states, so it is easy to
test and the same status comes out however often it is computed (the kubelet writes it only
when it changes). Phase rules follow Kubernetes:

- **Pending**: not every container has started yet (image pull, creation);
- **Running**: every container started and at least one runs, or restarts per policy;
- **Succeeded**: every container exited 0 and the restart policy will not restart them;
- **Failed**: every container terminated, at least one non-zero, and none will restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubelet.runtime.base import ContainerState
from machinery import meta


@dataclass
class Waiting:
    """Why a container is not running yet (ContainerCreating, ErrImagePull, CrashLoopBackOff…)."""

    reason: str
    message: str = ""


def container_status(spec: dict, state: ContainerState | None, waiting: Waiting | None, ready: bool,
                     last: ContainerState | None, image_id: str, pod_uid: str) -> dict:
    out = {"name": spec["name"], "image": spec.get("image", ""), "imageID": image_id if state else "",
           "ready": bool(ready and state and state.state == "running"),
           "restartCount": state.restart_count if state else 0,
           "started": bool(state and state.state == "running")}
    if state is not None and state.state != "waiting":
        out["containerID"] = f"kubemu://{pod_uid}/{spec['name']}/{state.restart_count}"
    if waiting is not None or state is None or state.state == "waiting":
        w = waiting or Waiting("ContainerCreating")
        out["state"] = {"waiting": {"reason": w.reason, **({"message": w.message} if w.message else {})}}
    elif state.state == "running":
        out["state"] = {"running": {"startedAt": state.started_at}}
    else:
        out["state"] = {"terminated": _terminated(state)}
    if last is not None and last.state == "terminated":
        out["lastState"] = {"terminated": _terminated(last)}
    else:
        out["lastState"] = {}
    return out


def _terminated(state: ContainerState) -> dict:
    out = {"exitCode": state.exit_code if state.exit_code is not None else 0,
           "reason": state.reason or ("Completed" if state.exit_code == 0 else "Error"),
           "startedAt": state.started_at, "finishedAt": state.finished_at,
           "containerID": ""}
    if state.message:
        out["message"] = state.message
    out.pop("containerID")
    return out


def will_restart(policy: str, state: ContainerState) -> bool:
    if state.state != "terminated":
        return False
    if policy == "Always":
        return True
    if policy == "OnFailure":
        return state.exit_code != 0
    return False


def pod_phase(containers: list[dict], states: dict[str, ContainerState | None], policy: str) -> str:
    started = [states.get(c["name"]) for c in containers]
    if any(s is None or s.state == "waiting" for s in started):
        return "Pending"
    if any(s.state == "running" for s in started):
        return "Running"
    # Every container has terminated.
    if any(will_restart(policy, s) for s in started):
        return "Running"
    if all(s.exit_code == 0 for s in started):
        return "Succeeded"
    return "Failed"


def build_status(pod: dict, *, pod_ip: str, host_ip: str, states: dict[str, ContainerState | None],
                 waiting: dict[str, Waiting], last_states: dict[str, ContainerState], image_ids: dict[str, str],
                 start_time: str, initialized: bool = True, now: str | None = None) -> dict:
    """The whole pod status; conditions keep their transition times from the current status."""
    spec = pod.get("spec") or {}
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    policy = spec.get("restartPolicy", "Always")
    uid = pod["metadata"].get("uid", "")
    old = pod.get("status") or {}
    status: dict = {"conditions": [dict(c) for c in old.get("conditions") or []]}
    statuses = [container_status(c, states.get(c["name"]), waiting.get(c["name"]), True,
                                 last_states.get(c["name"]), image_ids.get(c["name"], ""), uid)
                for c in containers]
    phase = pod_phase(containers, states, policy)
    all_ready = bool(statuses) and all(s["ready"] for s in statuses)
    now = now or meta.format_time()
    if pod_ip:
        meta.set_condition(status, "PodReadyToStartContainers", "True", now=now)
    meta.set_condition(status, "Initialized", "True" if initialized else "False",
                       "" if initialized else "ContainersNotInitialized", now=now)
    not_ready = [s["name"] for s in statuses if not s["ready"]]
    reason = "" if all_ready else ("PodCompleted" if phase in ("Succeeded", "Failed") else "ContainersNotReady")
    message = ""
    if not all_ready and reason != "PodCompleted":
        message = f"containers with unready status: [{' '.join(not_ready)}]"
    meta.set_condition(status, "ContainersReady", "True" if all_ready else "False", reason, message, now=now)
    meta.set_condition(status, "Ready", "True" if all_ready else "False", reason, message, now=now)
    meta.set_condition(status, "PodScheduled", "True", now=now)
    status["conditions"].sort(key=lambda c: _CONDITION_ORDER.get(c["type"], 99))
    status.update(phase=phase, hostIP=host_ip, hostIPs=[{"ip": host_ip}], startTime=start_time,
                  containerStatuses=statuses, qosClass=old.get("qosClass", "BestEffort"))
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    return status


_CONDITION_ORDER = {"PodReadyToStartContainers": 0, "Initialized": 1, "Ready": 2, "ContainersReady": 3,
                    "PodScheduled": 4}
