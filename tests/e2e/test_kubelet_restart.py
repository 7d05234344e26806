"""A kubelet killed with SIGKILL and started again re-adopts its running containers: never two copies,
no restarts, and exec, status and deletion keep working for the adopted pods."""

from __future__ import annotations

import os

import psutil
import pytest

from tests.e2e.test_kubelet_pods import kexec, node_ready, phase, pod, start_kubelet, status_of, stop_kubelet
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def node(cluster):
    n = start_kubelet(cluster, "kl-restart", 61)
    api = cluster.client(retry_timeout_s=10)
    wait_for(lambda: node_ready(api, n.name), timeout_s=30, message="kubelet node Ready")
    yield n
    api.close()
    stop_kubelet(cluster, n)


def leaders(ns: str, name: str) -> dict[str, list[int]]:
    """Container name → pids of the process-group leaders (one per container run) of pod ns/name."""
    out: dict[str, list[int]] = {}
    for proc in psutil.process_iter(["environ", "status"]):
        env = proc.info["environ"] or {}
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if env.get("KUBEMU_POD_NAMESPACE") == ns and env.get("KUBEMU_POD_NAME") == name:
            try:
                if os.getpgid(proc.pid) == proc.pid:
                    out.setdefault(env["KUBEMU_CONTAINER_NAME"], []).append(proc.pid)
            except OSError:
                continue
    return out


def test_kill_dash_nine_and_restart_readopts_every_container(api, ns, node):
    api.create("pods", pod("adopt", ns, node, [
        {"name": "web", "image": "nginx", "ports": [{"containerPort": 80}],
         "readinessProbe": {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 1}},
        {"name": "side", "image": "busybox", "command": ["sh", "-c", "while true; do sleep 1; done"]}]))
    wait_for(lambda: (s := phase(api, "adopt", ns, "Running")) and all(c["ready"] for c in s["containerStatuses"]),
             timeout_s=30, message="adopt Running and ready")
    before = leaders(ns, "adopt")
    assert {k: len(v) for k, v in before.items()} == {"web": 1, "side": 1}

    node.proc.kill()  # SIGKILL: no chance to clean anything up
    assert leaders(ns, "adopt") == before, "containers outlive their kubelet"
    node.restart()
    # The restarted kubelet syncs: a new pod runs, and the adopted pod answers exec.
    api.create("pods", pod("after", ns, node, [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]))
    wait_for(lambda: phase(api, "after", ns, "Running"), timeout_s=30, message="a new pod runs after the restart")
    code, out, _ = wait_for(lambda: (r := kexec(api, "adopt", ns, "sh", "-c", "echo $KUBEMU_POD_NAME",
                                              container="side")) and r[0] == 0 and r,
                            timeout_s=20, message="exec into an adopted container")
    assert out == "adopt\n"
    # Several PLEG periods later: still exactly the same single process per container, nothing restarted.
    wait_for(lambda: all(c["ready"] for c in status_of(api, "adopt", ns)["containerStatuses"]), timeout_s=20,
             message="readiness probed again by the new kubelet")
    assert leaders(ns, "adopt") == before
    assert [c["restartCount"] for c in status_of(api, "adopt", ns)["containerStatuses"]] == [0, 0]
    pids = [pid for group in before.values() for pid in group]
    api.delete("pods", "adopt", ns, grace_period_s=1)
    wait_for(lambda: not leaders(ns, "adopt"), timeout_s=30, message="adopted containers stopped on delete")
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids)
