"""The kubelet end to end, through real processes: multi-container pods, volumes, env references,
init containers, CrashLoopBackOff, probes, memory limits, admission, preStop, logs and exec.

The session's cluster (etcd, apiserver, scheduler, controller manager) is shared; this module adds
its own kubelet with short timings (``start_kubelet``) and pins pods to it with ``spec.nodeName``,
so they bypass the scheduler and the shared nodes stay as other tests expect. Its Node is deleted
when the module ends.
"""

from __future__ import annotations

import base64
import io
import os
import sys
import time
import urllib.request
from dataclasses import dataclass

import psutil
import pytest

from kubemu import kubectl_pods
from kubemu.etcd_server import free_port
from machinery import errors
from tests.conftest import Proc
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

# Short timings for tests; every one is a kubelet flag with Kubernetes' default.
FAST_FLAGS = ["--node-status-update-frequency", "2", "--node-lease-renew-interval", "2",
              "--crash-loop-backoff", "1", "--crash-loop-backoff-max", "4", "--image-pull-backoff", "1",
              "--image-pull-backoff-max", "4", "--sync-frequency", "3", "--housekeeping-interval", "0.25",
              "--pleg-relist-period", "0.25"]


@dataclass
class Node:
    name: str
    ip: str
    root: object
    proc: Proc
    args: list[str]

    def restart(self) -> None:
        """Start the kubelet again with the same flags (after a kill -9)."""
        self.proc = Proc(self.args, self.proc.log_path)


def start_kubelet(cluster, name: str, index: int, *extra: str, cpu: str = "2", memory: str = "4Gi") -> Node:
    ip = f"127.1.{index}.1"
    root = cluster.log_dir / name
    args = [sys.executable, "-m", "kubelet", "--apiserver", cluster.address, "--node-name", name, "--node-ip", ip,
            "--bind-address", ip, "--port", str(free_port(ip)), "--root-dir", str(root),
            "--pod-cidr", f"127.246.{index}.0/24", "--cpu", cpu, "--memory", memory, *FAST_FLAGS, *extra]
    return Node(name, ip, root, Proc(args, str(cluster.log_dir / f"{name}.log")), args)


def node_ready(api, name: str) -> bool:
    node = api.get("nodes", name)
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in node["status"].get("conditions") or [])


def stop_kubelet(cluster, node: Node, *, runtime: str = "process") -> None:
    node.proc.stop()
    if runtime == "process":
        from kubelet.images import load_catalog
        from kubelet.runtime.process import ProcessRuntime

        ProcessRuntime(str(node.root / "runtime"), load_catalog()).cleanup_all(grace_period_s=0, remove=True)
    api = cluster.client(retry_timeout_s=5)
    for resource, ns in (("nodes", ""), ("leases", "kube-node-lease")):
        try:
            api.delete(resource, node.name, ns, grace_period_s=0)
        except errors.NotFound:
            pass
    api.close()


@pytest.fixture(scope="module")
def node(cluster):
    n = start_kubelet(cluster, "kl-pods", 60)
    api = cluster.client(retry_timeout_s=10)
    try:
        wait_for(lambda: node_ready(api, n.name), timeout_s=30, message="kubelet node Ready")
    except AssertionError:
        print(n.proc.output()[-4000:])
        raise
    yield n
    api.close()
    stop_kubelet(cluster, n)


def pod(name: str, ns: str, node: Node, containers: list[dict], **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "spec": {"nodeName": node.name, "containers": containers, **spec}}


def status_of(api, name: str, ns: str) -> dict:
    return api.get("pods", name, ns).get("status") or {}


def phase(api, name: str, ns: str, want: str) -> dict | None:
    status = status_of(api, name, ns)
    return status if status.get("phase") == want else None


def container(status: dict, name: str, key: str = "containerStatuses") -> dict:
    return next(c for c in status.get(key) or [] if c["name"] == name)


def condition(status: dict, ctype: str) -> str:
    return next((c["status"] for c in status.get("conditions") or [] if c["type"] == ctype), "")


def events(api, name: str, ns: str, reason: str = "") -> list[dict]:
    selector = f"involvedObject.name={name}" + (f",reason={reason}" if reason else "")
    return api.list("events", ns, field_selector=selector).items


def wait_for_events(api, name: str, ns: str, ok, what: str, reason: str = "", timeout_s: float = 15) -> list[dict]:
    """Events about ``name`` once ``ok(events)`` holds: the kubelet records events in the
    background, so they land a moment after the status change they describe."""
    return wait_for(lambda: (found := events(api, name, ns, reason)) and ok(found) and found,
                    timeout_s=timeout_s, message=what)


def logs(api, name: str, ns: str, *argv: str) -> str:
    """``kubemu kubectl logs`` through the CLI module."""
    import argparse

    parser = argparse.ArgumentParser()
    kubectl_pods.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["logs", "-n", ns, name, *argv])
    out, err = io.StringIO(), io.StringIO()
    code = kubectl_pods.run(args, api, out=out, err=err)
    assert code == 0, err.getvalue()
    return out.getvalue()


def kexec(api, name: str, ns: str, *argv: str, container: str = "") -> tuple[int, str, str]:
    """``kubemu kubectl exec`` through the CLI module: (exit code, stdout, stderr)."""
    import argparse

    parser = argparse.ArgumentParser()
    kubectl_pods.register(parser.add_subparsers(dest="command"))
    # kubectl's own parsing splits the command off at "--" into args.extra, as here.
    args = parser.parse_args(["exec", "-n", ns, name, *(["-c", container] if container else [])])
    args.extra = list(argv)
    out, err = io.StringIO(), io.StringIO()
    code = kubectl_pods.run(args, api, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# -- 1. multi-container pods: one IP, localhost, a shared emptyDir ------------------------------------

SIDECAR = ("i=0; while true; do i=$((i+1)); echo \"<h1>hello from the sidecar, round $i</h1>\" "
           "> /usr/share/nginx/html/index.html; sleep 0.2; done")
FETCH = ("import urllib.request, time\n"
         "while True:\n"
         "    try:\n"
         "        page = urllib.request.urlopen('http://localhost:80/', timeout=2).read().decode()\n"
         "        print(page.strip(), flush=True)\n"
         "    except OSError as e:\n"
         "        print('fetch failed', e, flush=True)\n"
         "    time.sleep(0.3)\n")


def test_two_containers_share_ip_localhost_and_empty_dir(api, ns, node):
    mount = [{"name": "html", "mountPath": "/usr/share/nginx/html"}]
    api.create("pods", pod("web", ns, node, [
        {"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}], "volumeMounts": mount},
        {"name": "writer", "image": "busybox", "command": ["sh", "-c", SIDECAR], "volumeMounts": mount},
        {"name": "reader", "image": "python:3.12", "command": ["python", "-c", FETCH]},
    ], volumes=[{"name": "html", "emptyDir": {}}]))
    status = wait_for(lambda: phase(api, "web", ns, "Running"), timeout_s=30, message="pod Running")
    ip = status["podIP"]
    # The reader reaches nginx on "localhost", nginx serves what the writer put in the emptyDir.
    out = wait_for(lambda: (text := logs(api, "web", ns, "-c", "reader")) and "hello from the sidecar" in text
                   and text, timeout_s=20, message="the reader fetched the sidecar's page through localhost")
    assert "round" in out
    body = urllib.request.urlopen(f"http://{ip}:80/", timeout=5).read().decode()
    assert "hello from the sidecar" in body
    # Every container sees the same pod IP.
    for name in ("nginx", "writer", "reader"):
        code, stdout, _ = kexec(api, "web", ns, "sh", "-c", "echo $KUBEMU_POD_IP $KUBEMU_LOCALHOST", container=name)
        assert (code, stdout.split()) == (0, [ip, ip])
    # The emptyDir is one directory, shared; it is removed with the pod.
    uid = api.get("pods", "web", ns)["metadata"]["uid"]
    volume = node.root / "pods" / uid / "volumes" / "html"
    assert (volume / "index.html").read_text().startswith("<h1>hello")
    api.delete("pods", "web", ns, grace_period_s=1)
    wait_for(lambda: not volume.exists() and not _exists(api, "web", ns), timeout_s=30, message="pod and volume gone")


def _exists(api, name: str, ns: str) -> bool:
    try:
        api.get("pods", name, ns)
        return True
    except errors.NotFound:
        return False


# -- 2. volumes and env references --------------------------------------------------------------------


def test_config_map_secret_host_path_and_env_references(api, ns, node, tmp_path):
    api.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": ns},
                              "data": {"greeting": "hello", "app.conf": "mode=fast\n"}})
    api.create("secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": ns},
                           "data": {"password": base64.b64encode(b"s3cret").decode()}})
    host = tmp_path / "host-data"
    script = ("cat /etc/config/app.conf; cat /etc/creds/password; echo; cat /host/marker; "
              "echo env $GREETING $PASSWORD $MY_POD $MY_NODE $MY_IP $WHO; sleep 3600")
    api.create("pods", pod("vols", ns, node, [{
        "name": "c", "image": "busybox", "command": ["sh", "-c", script],
        "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}},
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                {"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "MY_NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "WHO", "value": "$(MY_POD)@$(MY_NODE)"}],
        "volumeMounts": [{"name": "config", "mountPath": "/etc/config"},
                         {"name": "creds", "mountPath": "/etc/creds", "readOnly": True},
                         {"name": "host", "mountPath": "/host"}]}],
        volumes=[{"name": "config", "configMap": {"name": "cfg"}},
                 {"name": "creds", "secret": {"secretName": "creds"}},
                 {"name": "host", "hostPath": {"path": str(host), "type": "DirectoryOrCreate"}}],
        initContainers=[{"name": "mark", "image": "busybox", "command": ["sh", "-c", "echo from-host > /host/marker"],
                         "volumeMounts": [{"name": "host", "mountPath": "/host"}]}]))
    status = wait_for(lambda: phase(api, "vols", ns, "Running"), timeout_s=30, message="pod Running")
    out = wait_for(lambda: (t := logs(api, "vols", ns)) and "env" in t and t, timeout_s=10, message="output")
    assert out.splitlines() == ["mode=fast", "s3cret", "from-host",
                                f"env hello s3cret vols {node.name} {status['podIP']} vols@{node.name}"]
    assert (host / "marker").read_text() == "from-host\n"
    # A missing ConfigMap key: the container waits with CreateContainerConfigError.
    api.create("pods", pod("missing", ns, node, [{
        "name": "c", "image": "busybox", "command": ["sleep", "3600"],
        "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}]}]))

    def config_error():
        waiting = (container(status_of(api, "missing", ns), "c").get("state") or {}).get("waiting") or {}
        return waiting.get("reason") == "CreateContainerConfigError" and waiting

    assert wait_for(config_error, timeout_s=20, message="CreateContainerConfigError")["message"] == \
        'configmap "nope" not found'


# -- 3. init containers -------------------------------------------------------------------------------


def test_init_containers_gate_the_app_one_by_one(api, ns, node, tmp_path):
    gate = tmp_path / "gate"
    api.create("pods", pod("gated", ns, node, [{"name": "app", "image": "busybox", "command": ["sleep", "3600"]}],
                           initContainers=[
                               {"name": "first", "image": "busybox", "command": ["sh", "-c", "echo first done"]},
                               {"name": "wait", "image": "busybox",
                                "command": ["sh", "-c", f"while [ ! -f {gate} ]; do sleep 0.1; done"]}]))

    def waiting_on_second():
        status = status_of(api, "gated", ns)
        inits = status.get("initContainerStatuses") or []
        return len(inits) == 2 and "terminated" in inits[0]["state"] and "running" in inits[1]["state"] and status

    status = wait_for(waiting_on_second, timeout_s=30, message="first init done, second running")
    assert status["phase"] == "Pending"
    assert condition(status, "Initialized") == "False"
    assert container(status, "app")["state"]["waiting"]["reason"] == "PodInitializing"
    from machinery.rows import _summarize_pod

    assert _summarize_pod(api.get("pods", "gated", ns)).reason == "Init:1/2"
    gate.write_text("go")
    status = wait_for(lambda: phase(api, "gated", ns, "Running"), timeout_s=30, message="app Running after init")
    assert condition(status, "Initialized") == "True"
    assert [c["state"]["terminated"]["reason"] for c in status["initContainerStatuses"]] == ["Completed"] * 2


def test_failing_init_container_follows_restart_policy(api, ns, node):
    api.create("pods", pod("never", ns, node, [{"name": "app", "image": "busybox", "command": ["sleep", "3600"]}],
                           restartPolicy="Never",
                           initContainers=[{"name": "bad", "image": "busybox", "command": ["sh", "-c", "exit 3"]}]))
    api.create("pods", pod("always", ns, node, [{"name": "app", "image": "busybox", "command": ["sleep", "3600"]}],
                           initContainers=[{"name": "bad", "image": "busybox", "command": ["sh", "-c", "exit 3"]}]))
    failed = wait_for(lambda: phase(api, "never", ns, "Failed"), timeout_s=30, message="Never: pod Failed")
    assert container(failed, "bad", "initContainerStatuses")["state"]["terminated"]["exitCode"] == 3
    assert container(failed, "bad", "initContainerStatuses")["restartCount"] == 0

    def restarted():
        status = status_of(api, "always", ns)
        inits = status.get("initContainerStatuses") or []
        return inits and inits[0]["restartCount"] >= 2 and status

    status = wait_for(restarted, timeout_s=30, message="Always: the init container restarts")
    assert status["phase"] == "Pending"
    assert "waiting" in container(status, "app")["state"]


# -- 4. CrashLoopBackOff with growing delays ----------------------------------------------------------


def test_crash_loop_backoff_delays_grow(api, ns, node):
    api.create("pods", pod("crash", ns, node, [{"name": "c", "image": "busybox",
                                                "command": ["sh", "-c", "echo run; exit 1"]}]))
    first_seen: dict[int, float] = {}
    reasons: set[str] = set()

    def four_restarts():
        cs = (status_of(api, "crash", ns).get("containerStatuses") or [{}])[0]
        first_seen.setdefault(cs.get("restartCount", 0), time.monotonic())
        reasons.add(((cs.get("state") or {}).get("waiting") or {}).get("reason", ""))
        return cs.get("restartCount", 0) >= 4 and cs

    status = wait_for(four_restarts, timeout_s=40, interval_s=0.05, message="four restarts")
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert "CrashLoopBackOff" in reasons
    # --crash-loop-backoff 1: restart 1 at once, then 1 s, 2 s, 4 s after the previous run ended.
    gaps = [first_seen[i + 1] - first_seen[i] for i in (1, 2, 3)]
    print("restart gaps (s):", [round(g, 2) for g in gaps])
    assert gaps[0] < gaps[1] < gaps[2], gaps
    assert 0.7 <= gaps[0] <= 2.5 and 3.2 <= gaps[2] <= 6.5, gaps
    wait_for_events(api, "crash", ns, bool, "a BackOff event", reason="BackOff")
    # Container garbage collection (MaxPerPodContainer = 1): only the current and the previous
    # instance are left on the node, logs included.
    uid = api.get("pods", "crash", ns)["metadata"]["uid"]
    containers = node.root / "runtime" / "pods" / uid / "containers" / "c"

    def two_instances():
        runs = sorted(int(p.stem) for p in containers.glob("*.log"))
        return len(runs) == 2 and runs[1] == runs[0] + 1 and runs[0] >= 3 and runs

    wait_for(two_instances, timeout_s=15, message="older instances removed, the previous one kept")


# -- 5. probes ----------------------------------------------------------------------------------------


def test_liveness_failure_restarts_and_readiness_drives_ready(api, ns, node, tmp_path):
    ready_file = tmp_path / "ready"
    api.create("pods", pod("probed", ns, node, [
        {"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "name": "http"}],
         "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1},
         "readinessProbe": {"exec": {"command": ["test", "-f", str(ready_file)]}, "periodSeconds": 1}},
        {"name": "dies", "image": "busybox", "command": ["sh", "-c", "touch /tmp/kubemu-alive-$$; sleep 3600"],
         "livenessProbe": {"tcpSocket": {"port": 9}, "periodSeconds": 1, "failureThreshold": 2}}]))
    status = wait_for(lambda: phase(api, "probed", ns, "Running"), timeout_s=30, message="Running")
    assert container(status, "web")["ready"] is False
    assert condition(status, "Ready") == "False"

    def restarted():
        status = status_of(api, "probed", ns)
        return container(status, "dies")["restartCount"] >= 1 and status

    wait_for(restarted, timeout_s=30, message="liveness failure restarts the container")

    def liveness_events(found):
        reasons = [(e["reason"], e["message"]) for e in found]
        return (any(r == "Unhealthy" and m.startswith("Liveness probe failed: dial tcp") for r, m in reasons)
                and ("Killing", "Container dies failed liveness probe, will be restarted") in reasons)

    wait_for_events(api, "probed", ns, liveness_events, "Unhealthy and Killing events for the liveness failure")
    ready_file.write_text("ok")
    status = wait_for(lambda: (s := status_of(api, "probed", ns)) and container(s, "web")["ready"] and s,
                      timeout_s=20, message="readiness passes")
    assert container(status, "web")["restartCount"] == 0  # its liveness probe passes
    ready_file.unlink()
    wait_for(lambda: not container(status_of(api, "probed", ns), "web")["ready"], timeout_s=20,
             message="readiness fails again")


# -- 6. resources -------------------------------------------------------------------------------------


def test_memory_hog_is_oom_killed(api, ns, node):
    hog = "import time\nx = b'a' * (300 * 1024 * 1024)\nprint('allocated', flush=True)\ntime.sleep(3600)\n"
    api.create("pods", pod("hog", ns, node, [{"name": "hog", "image": "python", "command": ["python", "-c", hog],
                                              "resources": {"limits": {"memory": "100Mi"}}}],
                           restartPolicy="Never"))
    status = wait_for(lambda: phase(api, "hog", ns, "Failed"), timeout_s=30, message="OOMKilled")
    terminated = container(status, "hog")["state"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)


def test_cpu_and_memory_usage_are_reported(api, ns, node):
    import grpc

    from machinery.pb import kubelet_pb2, kubelet_pb2_grpc

    busy = "import time\nx = b'a' * (30 * 1024 * 1024)\nwhile True:\n    sum(range(10000))\n"
    api.create("pods", pod("busy", ns, node, [{"name": "spin", "image": "python", "command": ["python", "-c", busy],
                                               "resources": {"limits": {"memory": "1Gi"}}}]))
    wait_for(lambda: phase(api, "busy", ns, "Running"), timeout_s=30, message="Running")
    port = node.args[node.args.index("--port") + 1]
    with grpc.insecure_channel(f"{node.ip}:{port}") as channel:
        stub = kubelet_pb2_grpc.KubeletStub(channel)

        def sampled():
            pods = stub.Stats(kubelet_pb2.StatsRequest(namespace=ns), timeout=5).pods
            usage = [c for p in pods if p.name == "busy" for c in p.containers]
            return usage and usage[0].cpu_millicores > 300 and usage[0].memory_bytes > 30 * 1024 * 1024 and usage[0]

        usage = wait_for(sampled, timeout_s=20, message="a busy container's usage")
    print(f"busy container: {usage.cpu_millicores}m CPU, {usage.memory_bytes >> 20} MiB")
    assert usage.memory_limit_bytes == 1 << 30


def test_kubelet_admission_rejects_what_does_not_fit(api, ns, node):
    api.create("pods", pod("big", ns, node, [{"name": "c", "image": "pause",
                                              "resources": {"requests": {"cpu": "3"}}}]))
    status = wait_for(lambda: phase(api, "big", ns, "Failed"), timeout_s=20, message="rejected")
    assert status["reason"] == "OutOfcpu"
    assert status["message"].startswith("Pod was rejected: Node didn't have enough resource: cpu, requested: 3000")
    wait_for_events(api, "big", ns, bool, "an OutOfcpu event", reason="OutOfcpu")


# -- 7. graceful termination --------------------------------------------------------------------------


def test_pre_stop_hook_runs_before_sigterm(api, ns, node, tmp_path):
    trace = tmp_path / "trace"
    api.create("pods", pod("graceful", ns, node, [{
        "name": "c", "image": "busybox",
        "command": ["sh", "-c", f"trap 'echo TERM >> {trace}; exit 0' TERM; while true; do sleep 0.1; done"],
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", f"echo preStop >> {trace}"]}}}}],
        terminationGracePeriodSeconds=10))
    wait_for(lambda: phase(api, "graceful", ns, "Running"), timeout_s=30, message="Running")
    api.delete("pods", "graceful", ns)
    wait_for(lambda: not _exists(api, "graceful", ns), timeout_s=30, message="deleted")
    assert trace.read_text().split() == ["preStop", "TERM"]


# -- 8. logs and exec ---------------------------------------------------------------------------------


def test_logs_options_and_exec(api, ns, node):
    script = "for i in 1 2 3 4 5; do echo line $i; done; echo err >&2; sleep 3600"
    api.create("pods", pod("talk", ns, node, [{"name": "c", "image": "busybox", "command": ["sh", "-c", script],
                                               "workingDir": "/tmp", "env": [{"name": "COLOR", "value": "blue"}]}]))
    wait_for(lambda: phase(api, "talk", ns, "Running"), timeout_s=30, message="Running")
    full = wait_for(lambda: (t := logs(api, "talk", ns)) and "err" in t and t, timeout_s=10, message="logs")
    assert full.split("\n")[:5] == [f"line {i}" for i in range(1, 6)]
    assert logs(api, "talk", ns, "--tail", "2").splitlines() == ["line 5", "err"]
    stamped = logs(api, "talk", ns, "--timestamps", "--tail", "1")
    assert stamped.split(" ", 1)[0].endswith("Z") and stamped.rstrip().endswith("err")
    assert logs(api, "talk", ns, "--since", "1h").splitlines()[0] == "line 1"
    assert logs(api, "talk", ns, "--limit-bytes", "6") == "line 1"
    code, out, err = kexec(api, "talk", ns, "sh", "-c", "echo $COLOR $PWD; echo oops >&2; exit 4")
    assert (code, out, "oops" in err, "exit code 4" in err) == (4, "blue /tmp\n", True, True)
    # Follow: the stream ends when the container does.
    api.create("pods", pod("short", ns, node, [{"name": "c", "image": "busybox",
                                                "command": ["sh", "-c", "echo a; sleep 1; echo b"]}],
                           restartPolicy="Never"))
    wait_for(lambda: status_of(api, "short", ns).get("phase") in ("Running", "Succeeded"), timeout_s=30,
             message="started")
    assert logs(api, "short", ns, "-f").splitlines() == ["a", "b"]
    with pytest.raises(errors.NotFound):
        list(kubectl_pods.pod_logs(api, kubectl_pods.api_pb2.PodLogsRequest(namespace=ns, name="nope")))


def test_previous_logs_after_a_restart(api, ns, node):
    api.create("pods", pod("prev", ns, node, [{"name": "c", "image": "busybox",
                                               "command": ["sh", "-c", "echo run at $(date +%s%N); exit 1"]}]))

    def restarted():
        cs = (status_of(api, "prev", ns).get("containerStatuses") or [{}])[0]
        return cs.get("restartCount", 0) >= 1

    wait_for(restarted, timeout_s=30, message="a restart")
    previous = logs(api, "prev", ns, "--previous")
    assert previous.startswith("run at ")


# -- 9. image pulls -----------------------------------------------------------------------------------


def test_image_pull_backoff(api, ns, node):
    api.create("pods", pod("nopull", ns, node, [{"name": "c", "image": "does-not-exist:v1"}]))

    def backoff():
        waiting = (container(status_of(api, "nopull", ns), "c").get("state") or {}).get("waiting") or {}
        return waiting.get("reason") == "ImagePullBackOff"

    wait_for(backoff, timeout_s=30, message="ImagePullBackOff")
    wait_for_events(api, "nopull", ns, lambda found: {"Pulling", "Failed", "BackOff"} <= {e["reason"] for e in found},
                    "Pulling, Failed and BackOff events")


def test_container_processes_are_real(api, ns, node):
    api.create("pods", pod("real", ns, node, [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]))
    wait_for(lambda: phase(api, "real", ns, "Running"), timeout_s=30, message="Running")
    procs = [p for p in psutil.process_iter(["environ"])
             if (p.info["environ"] or {}).get("KUBEMU_POD_NAME") == "real"
             and (p.info["environ"] or {}).get("KUBEMU_POD_NAMESPACE") == ns]
    assert len(procs) == 1 and os.path.basename(procs[0].exe()) == "sleep"
