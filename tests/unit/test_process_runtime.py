"""ProcessRuntime with real processes in a temporary node dir: serving, exit codes, stopping, adoption."""

from __future__ import annotations

import errno
import json
import os
import random
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from kubelet import container_gc
from kubelet.images import http_server, load_catalog
from kubelet.runtime import ContainerRuntimeError, ContainerSpec, ImagePullError, ProcessRuntime
from kubelet.runtime.process import CONTAINER_FILE
from tests.helpers import wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CATALOG_OVERRIDES = """
defaults:
  pullDelaySeconds: 0
images:
  nginx: {pullDelaySeconds: 0}
  busybox: {pullDelaySeconds: 0}
  python: {pullDelaySeconds: 0}
  pause: {pullDelaySeconds: 0}
  does-not-exist: {pullDelaySeconds: 0}
  slow: {kind: idle, pullDelaySeconds: 0.2, sizeBytes: 1234}
"""


def pod_ip() -> str:
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid``."""
    members = []
    for proc in psutil.process_iter(["status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if os.getpgid(proc.pid) == pgid:
                members.append(proc.pid)
        except OSError:
            continue
    return members


def terminated(runtime, sandbox, name):
    state = runtime.container_status(sandbox, name)
    return state if state.state == "terminated" else None


@pytest.fixture
def catalog_path(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG_OVERRIDES)
    return str(path)


@pytest.fixture
def runtime(tmp_path, catalog_path):
    rt = ProcessRuntime(str(tmp_path / "node"), load_catalog(catalog_path))
    started: list[int] = []
    rt.started = started  # pids to check at teardown
    yield rt
    rt.cleanup_all(grace_period_s=0)
    for pid in started:
        assert group_members(pid) == [], f"process group {pid} left behind"
    zombies = [c.pid for c in psutil.Process().children() if c.pid in started and c.status() == "zombie"]
    assert zombies == [], "children left unreaped"


def start(rt, sandbox, spec):
    state = rt.run_container(sandbox, spec)
    if state.pid:
        rt.started.append(state.pid)
    return state


def read(path: str) -> str:
    with open(path, errors="replace") as f:
        return f.read()


def http_get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return resp.status, resp.read().decode()


def test_nginx_container_serves_on_the_pod_ip(runtime):
    assert runtime.pull_image("nginx:1.25").image == "nginx:1.25"
    assert runtime.image_present("docker.io/library/nginx:1.25")
    ip = pod_ip()
    sandbox = runtime.run_sandbox("uid-web", "default", "web-0", ip)
    state = start(runtime, sandbox, ContainerSpec(name="nginx", image="nginx:1.25"))
    assert state.state == "running" and state.restart_count == 0 and state.started_at.endswith("Z")
    port = 80 if os.geteuid() == 0 else 8080
    status, body = wait_for(lambda: http_get(f"http://{ip}:{port}/"), timeout_s=10, message="nginx answers")
    assert status == 200 and "Welcome to nginx!" in body and "default/web-0" in body and ip in body
    assert http_get(f"http://{ip}:{port}/healthz") == (200, "ok")
    log_path = runtime.container_log_path(sandbox, "nginx")
    wait_for(lambda: '"GET /healthz HTTP/1.1" 200' in read(log_path), timeout_s=5, message="access log")
    stopped = runtime.stop_container(sandbox, "nginx", grace_period_s=5)
    assert (stopped.state, stopped.exit_code, stopped.reason) == ("terminated", 0, "Completed")
    assert stopped.finished_at is not None


def test_container_port_is_used(runtime):
    ip = pod_ip()
    sandbox = runtime.run_sandbox("uid-port", "default", "web-1", ip)
    start(runtime, sandbox, ContainerSpec(name="web", image="httpd", ports=[8088]))
    status, body = wait_for(lambda: http_get(f"http://{ip}:8088/"), timeout_s=10, message="httpd answers")
    assert "It works!" in body


def test_http_server_falls_back_when_the_port_is_denied(monkeypatch, capsys):
    real = http_server.ThreadingHTTPServer

    def denying(address, handler):
        if address[1] == 80:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(address, handler)

    monkeypatch.setattr(http_server, "ThreadingHTTPServer", denying)
    server = http_server.bind(pod_ip(), 80, 0)  # fallback 0: any free port, so the test never collides
    try:
        assert server.server_address[1] != 80
        assert "Permission denied" in capsys.readouterr().out
    finally:
        server.server_close()
    with pytest.raises(PermissionError):
        http_server.bind(pod_ip(), 80, None)


def test_shell_container_exit_code_and_log(runtime):
    sandbox = runtime.run_sandbox("uid-job", "batch", "job-0", pod_ip())
    start(runtime, sandbox, ContainerSpec(name="main", image="busybox",
                                          command=["sh", "-c", "echo hello; exit 3"]))
    state = wait_for(lambda: terminated(runtime, sandbox, "main"), timeout_s=5, message="exit")
    assert (state.exit_code, state.reason, state.restart_count) == (3, "Error", 0)
    assert "hello" in read(runtime.container_log_path(sandbox, "main"))
    # Starting the same name again is a restart: a new log file, the previous one kept.
    again = start(runtime, sandbox, ContainerSpec(name="main", image="busybox", command=["sh", "-c", "true"]))
    assert again.restart_count == 1
    state = wait_for(lambda: terminated(runtime, sandbox, "main"), timeout_s=5, message="second exit")
    assert (state.exit_code, state.reason, state.restart_count) == (0, "Completed", 1)
    assert runtime.container_log_path(sandbox, "main").endswith("/1.log")
    assert runtime.container_log_path(sandbox, "main", previous=True).endswith("/0.log")


def test_shell_form_python_env_and_working_dir(runtime):
    sandbox = runtime.run_sandbox("uid-py", "default", "py-0", pod_ip())
    script = "import os; print(os.environ['KUBEMU_POD_NAME'], os.environ['GREETING'], os.getcwd())"
    start(runtime, sandbox, ContainerSpec(name="py", image="python:3.12", command=["python", "-c", script],
                                          env={"GREETING": "hi"}, working_dir="/kubemu-no-such-dir/app"))
    start(runtime, sandbox, ContainerSpec(name="sh", image="alpine", command=["echo one && echo two"]))
    for name in ("py", "sh"):
        assert wait_for(lambda n=name: terminated(runtime, sandbox, n), timeout_s=10).exit_code == 0
    out = read(runtime.container_log_path(sandbox, "py"))
    assert out.split() == ["py-0", "hi", os.path.join(sandbox.dir, "rootfs", "kubemu-no-such-dir", "app")]
    assert read(runtime.container_log_path(sandbox, "sh")).split() == ["one", "two"]


def test_create_prepares_start_launches_remove_deletes(runtime):
    sandbox = runtime.run_sandbox("uid-cri", "default", "cri-0", pod_ip())
    spec = ContainerSpec(name="c", image="busybox", command=["sh", "-c", "echo run; sleep 1000"])
    with pytest.raises(ContainerRuntimeError, match="container c of pod default/cri-0 was not created"):
        runtime.start_container(sandbox, "c")
    created = runtime.create_container(sandbox, spec)
    assert (created.state, created.reason, created.pid, created.restart_count) == ("waiting", "ContainerCreating",
                                                                                   None, 0)
    assert runtime.container_status(sandbox, "c") == created  # nothing runs until it is started
    assert runtime.container_log_path(sandbox, "c") is None and runtime.stats([sandbox]) == {}
    assert runtime.create_container(sandbox, spec).restart_count == 0  # never started: replaced, same attempt
    running = runtime.start_container(sandbox, "c")
    runtime.started.append(running.pid)
    assert running.state == "running" and running.pid > 0 and running.restart_count == 0
    with pytest.raises(ContainerRuntimeError, match="not in the created state: its attempt 0 is running"):
        runtime.start_container(sandbox, "c")
    with pytest.raises(ContainerRuntimeError, match="already running"):
        runtime.create_container(sandbox, spec)
    with pytest.raises(ContainerRuntimeError, match="running .*stop it before removing it"):
        runtime.remove_container(sandbox, "c")
    runtime.stop_container(sandbox, "c", grace_period_s=5)
    with pytest.raises(ContainerRuntimeError, match=r"its attempt 0 is exited \(Error\); create it again"):
        runtime.start_container(sandbox, "c")
    # The next instance: attempt 1, the previous run as its last state, the previous log kept.
    again = runtime.create_container(sandbox, spec)
    assert (again.state, again.restart_count, again.last.exit_code) == ("waiting", 1, 143)
    assert "run" in read(runtime.container_log_path(sandbox, "c", previous=True))
    assert runtime.list_attempts(sandbox, "c") == [0, 1]
    runtime.remove_container(sandbox, "c", 0)  # an earlier instance: its log goes
    assert runtime.list_attempts(sandbox, "c") == [1]
    assert runtime.container_log_path(sandbox, "c", previous=True) is None
    runtime.remove_container(sandbox, "c")
    assert runtime.list_attempts(sandbox, "c") == [] and runtime.list_containers(sandbox) == []
    assert not os.path.exists(os.path.join(sandbox.dir, "containers", "c"))
    runtime.remove_container(sandbox, "c")  # removing what is gone is not an error (CRI)
    assert runtime.run_container(sandbox, spec).restart_count == 0  # a removed container starts over
    runtime.stop_container(sandbox, "c", grace_period_s=0)


def test_create_refuses_what_cannot_be_prepared(runtime):
    sandbox = runtime.run_sandbox("uid-cre", "default", "cre-0", pod_ip())
    with pytest.raises(ImagePullError):
        runtime.create_container(sandbox, ContainerSpec(name="c", image="does-not-exist"))
    with pytest.raises(ContainerRuntimeError, match="workingDir .* escapes the sandbox"):
        runtime.create_container(sandbox, ContainerSpec(name="c", image="busybox",
                                                        working_dir="/kubemu-no-such/../../../x"))
    with pytest.raises(ContainerRuntimeError, match="invalid container name"):
        runtime.create_container(sandbox, ContainerSpec(name="../c", image="busybox"))
    assert runtime.list_containers(sandbox) == []


def test_garbage_collection_keeps_the_previous_instance(runtime):
    sandbox = runtime.run_sandbox("uid-gc", "default", "gc-0", pod_ip())
    spec = ContainerSpec(name="c", image="busybox", command=["sh", "-c", "echo run $KUBEMU_POD_NAME; exit 1"])
    for attempt in range(4):
        created = runtime.create_container(sandbox, spec)
        assert created.restart_count == attempt
        container_gc.collect(runtime, sandbox, "c", created.restart_count)
        runtime.start_container(sandbox, "c")
        wait_for(lambda: terminated(runtime, sandbox, "c"), timeout_s=5, message="exit")
    assert runtime.list_attempts(sandbox, "c") == [2, 3]
    cdir = os.path.join(sandbox.dir, "containers", "c")
    assert sorted(n for n in os.listdir(cdir) if n.endswith(".log")) == ["2.log", "3.log"]
    assert read(runtime.container_log_path(sandbox, "c", previous=True)) == "run gc-0\n"
    assert runtime.container_status(sandbox, "c").last.exit_code == 1


def test_missing_executable_is_a_start_error(runtime):
    sandbox = runtime.run_sandbox("uid-bad", "default", "bad-0", pod_ip())
    spec = ContainerSpec(name="c", image="busybox", command=["kubemu-no-such"])
    state = runtime.run_container(sandbox, spec)
    assert (state.state, state.exit_code, state.reason) == ("terminated", 128, "StartError")
    assert "executable file not found" in state.message
    assert runtime.container_status(sandbox, "c").reason == "StartError"
    assert "kubemu-no-such" in read(runtime.container_log_path(sandbox, "c"))


def test_sigterm_ignoring_container_is_killed_after_grace(runtime):
    sandbox = runtime.run_sandbox("uid-stub", "default", "stubborn-0", pod_ip())
    state = start(runtime, sandbox, ContainerSpec(name="c", image="busybox",
                                                  command=["sh", "-c", "trap '' TERM; sleep 1000"]))
    # The trap is in place once the shell has started `sleep` (it ignores TERM too: SIG_IGN is inherited).
    wait_for(lambda: any(psutil.Process(p).name() == "sleep" for p in group_members(state.pid)), timeout_s=5)
    began = time.monotonic()
    stopped = runtime.stop_container(sandbox, "c", grace_period_s=0.5)
    assert time.monotonic() - began >= 0.5
    assert (stopped.state, stopped.exit_code, stopped.reason) == ("terminated", 137, "Error")
    assert group_members(state.pid) == []


def test_idle_container_stops_with_143_and_leftovers_are_killed(runtime):
    sandbox = runtime.run_sandbox("uid-idle", "default", "idle-0", pod_ip())
    idle = start(runtime, sandbox, ContainerSpec(name="pause", image="registry.k8s.io/pause:3.9"))
    unknown = start(runtime, sandbox, ContainerSpec(name="mystery", image="quay.io/acme/widget:1"))
    assert idle.state == unknown.state == "running"
    assert runtime.stop_container(sandbox, "pause", grace_period_s=5).exit_code == 143
    # A background child is killed once the container's main process exits, like a cgroup teardown.
    bg = start(runtime, sandbox, ContainerSpec(name="bg", image="busybox",
                                               command=["sh", "-c", "sleep 1000 & echo started"]))
    assert wait_for(lambda: terminated(runtime, sandbox, "bg"), timeout_s=5).exit_code == 0
    assert group_members(bg.pid) == []
    runtime.stop_sandbox(sandbox, grace_period_s=5)
    assert [(s.name, s.exit_code) for s in runtime.list_containers(sandbox)] == [
        ("bg", 0), ("mystery", 143), ("pause", 143)]
    assert runtime.list_sandboxes()[0].ready is False
    runtime.remove_sandbox(sandbox)
    assert not os.path.exists(sandbox.dir) and runtime.list_sandboxes() == []


def test_restarted_kubelet_adopts_then_cleans_up(runtime, tmp_path, catalog_path):
    ips = [pod_ip(), pod_ip()]
    sandboxes = [runtime.run_sandbox(f"uid-{i}", "default", f"pod-{i}", ips[i]) for i in range(2)]
    states = [start(runtime, sb, ContainerSpec(name="c", image="busybox", command=["sleep", "1000"]))
              for sb in sandboxes]
    # A second runtime on the same dir, as a restarted kubelet would create.
    adopted = ProcessRuntime(runtime.root_dir, load_catalog(catalog_path))
    found = {sb.uid: sb for sb in adopted.list_sandboxes()}
    assert {uid: sb.ip for uid, sb in found.items()} == {"uid-0": ips[0], "uid-1": ips[1]}
    for sb, state in zip(sandboxes, states, strict=True):
        seen = adopted.container_status(found[sb.uid], "c")
        assert (seen.state, seen.pid, seen.started_at) == ("running", state.pid, state.started_at)
    # A stop by the adopting runtime: it signalled, so it knows the exit code.
    assert adopted.stop_container(found["uid-0"], "c", grace_period_s=5).exit_code == 143
    # `kubemu down` style: a fresh process that started nothing cleans up everything.
    code = f"from kubelet.images import load_catalog\nfrom kubelet.runtime import ProcessRuntime\n" \
           f"print(ProcessRuntime({runtime.root_dir!r}, load_catalog()).cleanup_all(grace_period_s=5))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"
    for state in states:
        assert group_members(state.pid) == []
    final = runtime.container_status(sandboxes[1], "c")  # the original parent reaps, reads the record
    assert (final.state, final.exit_code) == ("terminated", 143)
    assert not psutil.pid_exists(states[1].pid) or psutil.Process(states[1].pid).status() != "zombie"


def test_reused_pid_is_never_signalled(runtime):
    sandbox = runtime.run_sandbox("uid-reuse", "default", "reuse-0", pod_ip())
    start(runtime, sandbox, ContainerSpec(name="c", image="busybox", command=["sleep", "1000"]))
    runtime.stop_container(sandbox, "c", grace_period_s=5)
    # Forge the record: a "running" container whose pid now belongs to an unrelated process.
    stranger = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    try:
        path = os.path.join(sandbox.dir, "containers", "c", CONTAINER_FILE)
        with open(path) as f:
            record = json.load(f)
        record.update(pid=stranger.pid, exit_code=None, finished_at=None,
                      create_time=record["create_time"] - 60)
        with open(path, "w") as f:
            json.dump(record, f)
        fresh = ProcessRuntime(runtime.root_dir, runtime.catalog)
        assert fresh.cleanup_all(grace_period_s=0) == 0
        assert stranger.poll() is None, "an unrelated process was killed"
        seen = fresh.container_status(sandbox, "c")
        assert (seen.state, seen.exit_code, seen.reason) == ("terminated", 137, "ContainerStatusUnknown")
    finally:
        stranger.kill()
        stranger.wait()


def test_pulls(runtime, catalog_path):
    with pytest.raises(ImagePullError, match="not found"):
        runtime.pull_image("does-not-exist:v1")
    assert not runtime.image_present("does-not-exist:v1")
    first = runtime.pull_image("slow:1")
    assert first.duration_s >= 0.2 and first.size_bytes == 1234
    assert runtime.pull_image("slow:1").duration_s == 0.0
    assert runtime.image_present("slow:1") and not runtime.image_present("slow:2")
    again = ProcessRuntime(runtime.root_dir, load_catalog(catalog_path))  # the image cache is on disk
    assert again.image_present("docker.io/library/slow:1")
    assert again.list_images() == {"docker.io/library/slow:1": 1234}


def test_logs_are_bounded(tmp_path, catalog_path):
    rt = ProcessRuntime(str(tmp_path / "node"), load_catalog(catalog_path), max_log_bytes=4096)
    sandbox = rt.run_sandbox("uid-chatty", "default", "chatty-0", pod_ip())
    script = "for i in range(500): print(f'line {i:04d} ' + 'x' * 40)"
    rt.run_container(sandbox, ContainerSpec(name="c", image="python", command=["python3", "-c", script]))
    assert wait_for(lambda: terminated(rt, sandbox, "c"), timeout_s=10).exit_code == 0
    rt.container_status(sandbox, "c")
    path = rt.container_log_path(sandbox, "c")
    text = read(path)
    assert os.path.getsize(path) <= 4096
    assert text.startswith("[kubemu] log truncated") and text.rstrip().endswith("line 0499 " + "x" * 40)
    rt.cleanup_all(grace_period_s=0)


SUBREAPER_SCRIPT = """
import json, os, sys, time
import psutil
from kubelet.images import load_catalog
from kubelet.runtime import ContainerSpec, ProcessRuntime

def zombies(pgid):
    found = []
    for p in psutil.process_iter(["status"]):
        try:
            if p.info["status"] == psutil.STATUS_ZOMBIE and os.getpgid(p.pid) == pgid:
                found.append(p.pid)
        except OSError:
            pass
    return found

def until(condition, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.02)

rt = ProcessRuntime(sys.argv[1], load_catalog(sys.argv[2]), subreaper=True)
sb = rt.run_sandbox("uid-reap", "default", "reap-0", sys.argv[3])
stopped = rt.run_container(sb, ContainerSpec(name="stopped", image="busybox",
                                               command=["sh", "-c", "sleep 1000 & sleep 1000 & wait"]))
exited = rt.run_container(sb, ContainerSpec(name="exited", image="busybox",
                                              command=["sh", "-c", "sleep 1000 & echo started"]))
until(lambda: len(psutil.Process(stopped.pid).children()) == 2)
rt.stop_container(sb, "stopped", grace_period_s=2)
until(lambda: rt.container_status(sb, "exited").state == "terminated")
print(json.dumps({"subreaper": rt.subreaper, "zombies": zombies(stopped.pid) + zombies(exited.pid)}))
"""


def test_subreaper_leaves_no_zombies(tmp_path, catalog_path):
    script = tmp_path / "reap.py"
    script.write_text(SUBREAPER_SCRIPT)
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "node"), catalog_path, pod_ip()],
                         cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"subreaper": True, "zombies": []}
