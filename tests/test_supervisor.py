"""``kubemu up`` / ``status`` / ``kubectl`` / ``down`` end to end: a real cluster of real processes.

Each cluster lives in a temporary cluster directory on free ports (``--ports auto``). Whatever
happens, teardown runs ``kubemu down`` and then SIGKILLs anything still alive, so a failing
test never leaves processes behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import psutil
import pytest

from kubemu.cluster import ClusterDir, process_alive
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTROL_PLANE = ("etcd", "apiserver", "scheduler", "controller-manager")


def kubemu(*args: str, timeout_s: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if k not in ("KUBEMU_SERVER", "KUBEMU_TOKEN", "KUBEMU_CLUSTER_DIR")},
           **(env or {})}
    return subprocess.run([sys.executable, "-m", "kubemu.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=timeout_s)


def process_pids(cdir: ClusterDir) -> list[tuple[int, float | None]]:
    """``(pid, create_time)`` of the supervisor and every component in state.json."""
    pids = []
    sup = cdir.read_supervisor_pid()
    if sup:
        pids.append(sup)
    state = cdir.read_state() or {}
    if state.get("supervisor", {}).get("pid") and not sup:
        pids.append((state["supervisor"]["pid"], state["supervisor"].get("createTime")))
    return pids + [(c["pid"], c.get("createTime")) for c in state.get("components", []) if c.get("pid")]


def container_pids(cdir: ClusterDir) -> list[tuple[int, float | None]]:
    pids = []
    for root, _, files in os.walk(cdir.nodes_dir):
        if "container.json" in files:
            with open(os.path.join(root, "container.json")) as f:
                data = json.load(f)
            if data.get("pid"):
                pids.append((data["pid"], data.get("create_time")))
    return pids


def cluster_pids(cdir: ClusterDir) -> list[tuple[int, float | None]]:
    """Every process of the cluster: supervisor, components and the containers they recorded."""
    return process_pids(cdir) + container_pids(cdir)


def down_and_reap(cdir: ClusterDir) -> subprocess.CompletedProcess:
    """``kubemu down``, then kill whatever of the cluster is still alive: a fixture's teardown must
    not leave processes behind even when ``down`` failed (its result is returned for the test)."""
    down = kubemu("down", "--cluster-dir", cdir.path)
    for pid, _ in cluster_pids(cdir):
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    return down


def alive(pids: list[tuple[int, float | None]]) -> list[int]:
    return [pid for pid, ct in pids if process_alive(pid, ct)]


class Cluster:
    def __init__(self, path: str):
        self.dir = ClusterDir(path)
        self.seen: list[tuple[int, float | None]] = []

    def run(self, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
        result = kubemu(*args, "--cluster-dir", self.dir.path, timeout_s=timeout_s) if args[0] != "kubectl" else \
            kubemu("kubectl", "--cluster-dir", self.dir.path, *args[1:], timeout_s=timeout_s)
        self.seen += cluster_pids(self.dir)
        return result

    def up(self, *extra: str) -> subprocess.CompletedProcess:
        result = self.run("up", "--ports", "auto", "--timeout", "60", *extra)
        assert result.returncode == 0, f"kubemu up failed:\n{result.stdout}\n{result.stderr}"
        return result

    def components(self) -> dict[str, dict]:
        return {c["name"]: c for c in (self.dir.read_state() or {}).get("components", [])}

    def teardown(self) -> None:
        self.seen += cluster_pids(self.dir)
        kubemu("down", "--cluster-dir", self.dir.path)
        for pid in alive(self.seen):  # last resort: never leave processes behind
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory):
    """A cluster without nodes, shared by the tests that only look at it."""
    cluster = Cluster(str(tmp_path_factory.mktemp("cluster")))
    cluster.up_result = cluster.up("--nodes", "0")
    yield cluster
    cluster.teardown()


def test_up_starts_every_control_plane_component(control_plane):
    out = control_plane.up_result.stdout
    for name in CONTROL_PLANE:
        assert f" {name}" in out and "ready at" in out
    assert "kubemu kubectl" in out and "kubemu down" in out
    comps = control_plane.components()
    for name in CONTROL_PLANE:
        proc = psutil.Process(comps[name]["pid"])
        assert proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
        assert os.getpgid(proc.pid) == proc.pid  # each in its own process group
        assert os.path.exists(comps[name]["log"])
    assert control_plane.dir.read_kubeconfig()[0] == [comps["apiserver"]["address"]]


def test_status_shows_every_component_serving(control_plane):
    result = control_plane.run("status")
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines() if line.strip()]
    rows = {}
    for words in lines:  # the component table comes first; the metrics table repeats the names
        rows.setdefault(words[0], words)
    assert rows["COMPONENT"][:5] == ["COMPONENT", "PID", "ADDRESS", "HEALTH", "DETAILS"]
    for name in CONTROL_PLANE:
        assert rows[name][3] == "SERVING", result.stdout
    assert "leader=yes" in " ".join(rows["etcd"])
    # The metrics table: every component's /metrics answered; the lone scheduler and controller
    # manager lead, and so does the lone etcd member.
    metrics = {words[0]: words for words in lines[lines.index(["COMPONENT", "METRICS", "LEADER", "QUEUES",
                                                               "RATES", "(/s)", "CPU", "RSS"]) + 1:]
               if words[0] in CONTROL_PLANE}
    assert set(metrics) == set(CONTROL_PLANE), result.stdout
    for name in CONTROL_PLANE:
        assert metrics[name][1] == "up", result.stdout
    for name in ("etcd", "scheduler", "controller-manager"):
        assert metrics[name][2] == "yes", result.stdout
    assert "requests=" in " ".join(metrics["apiserver"]) and "active=0" in " ".join(metrics["scheduler"])


def test_kubectl_lists_the_default_namespaces_and_creates_one(control_plane):
    result = control_plane.run("kubectl", "get", "namespaces")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0] == ["NAME", "STATUS", "AGE"]
    status = {row[0]: row[1] for row in rows[1:]}
    for name in ("default", "kube-node-lease", "kube-public", "kube-system"):
        assert status[name] == "Active"
    created = control_plane.run("kubectl", "create", "namespace", "demo")
    assert (created.returncode, created.stdout) == (0, "namespace/demo created\n"), created.stderr
    again = control_plane.run("kubectl", "create", "namespace", "demo")
    assert again.returncode == 1
    assert again.stderr == 'Error from server (AlreadyExists): namespaces "demo" already exists\n'
    got = control_plane.run("kubectl", "get", "ns", "demo", "-o", "name")
    assert got.stdout == "namespace/demo\n"


def test_up_refuses_a_running_cluster(control_plane):
    result = control_plane.run("up", "--ports", "auto", "--nodes", "0")
    assert result.returncode == 1
    assert "already running" in result.stderr


def test_down_stops_everything_and_is_idempotent(tmp_path):
    cluster = Cluster(str(tmp_path / "c"))
    try:
        cluster.up("--nodes", "0", "--no-scheduler", "--no-controller-manager")
        assert set(cluster.components()) == {"etcd", "apiserver"}
        pids = cluster_pids(cluster.dir)
        assert len(alive(pids)) == 3  # supervisor, etcd, apiserver
        merged_into_default_kubeconfig_and_removed_by_down(cluster, before_down=True)
        result = cluster.run("down")
        assert (result.returncode, result.stdout.splitlines()[-1]) == (0, "cluster stopped")
        merged_into_default_kubeconfig_and_removed_by_down(cluster, before_down=False)
        wait_for(lambda: not alive(pids), timeout_s=15, message="every cluster process to exit")
        assert not os.path.exists(cluster.dir.supervisor_pid_path)
        assert cluster.run("status").returncode == 1
        again = cluster.run("down")
        assert again.returncode == 0 and "no cluster is running" in again.stdout
    finally:
        cluster.teardown()


def merged_into_default_kubeconfig_and_removed_by_down(cluster: Cluster, *, before_down: bool) -> None:
    """Like kind, ``kubemu up`` adds a current ``kubemu-<cluster>`` context to the default kubeconfig
    (``$KUBECONFIG``: a file of the test session's own, see conftest.py), so the ``kubectl`` on PATH —
    the dispatcher that runs the real kubectl matching the server's ``/version`` — works with no
    flags; ``kubemu down`` takes the context out again."""
    import shutil

    import yaml

    path = os.environ["KUBECONFIG"]
    context = f"kubemu-{cluster.dir.name}"
    with open(path) as f:
        doc = yaml.safe_load(f) or {}
    if not before_down:
        assert context not in [c["name"] for c in doc.get("contexts") or []]
        assert doc.get("current-context") != context
        return
    assert doc["current-context"] == context
    if shutil.which("kubectl") is None:
        return  # machines without kubectl still check the merge and the removal
    env = {k: v for k, v in os.environ.items() if k not in ("KUBEMU_SERVER", "KUBEMU_TOKEN")}
    got = subprocess.run(["kubectl", "get", "namespaces", "-o", "name"], capture_output=True, text=True,
                         timeout=60, env=env)
    assert got.returncode == 0, got.stderr
    assert "namespace/kube-system" in got.stdout.splitlines()
    version = subprocess.run(["kubectl", "version", "-o", "json"], capture_output=True, text=True, timeout=60,
                             env=env)
    assert json.loads(version.stdout)["serverVersion"]["gitVersion"] == "v1.32.0", version.stderr


def test_node_pods_restarts_and_clean_shutdown(tmp_path):
    """One node, restart policy always: a pod runs, a killed apiserver comes back, down kills the container."""
    cluster = Cluster(str(tmp_path / "c"))
    try:
        result = cluster.up("--nodes", "1", "--restart-policy", "always")
        assert "node-1 Ready" in result.stdout
        created = cluster.run("kubectl", "run", "sleeper", "--image=busybox", "--", "sleep", "600")
        assert created.returncode == 0, created.stderr

        def running() -> bool:
            got = cluster.run("kubectl", "get", "pod", "sleeper", "-o", "json")
            return got.returncode == 0 and json.loads(got.stdout)["status"].get("phase") == "Running"

        wait_for(running, timeout_s=30, interval_s=0.3, message="the pod to run")
        assert alive(container_pids(cluster.dir)), "the container process should be running"

        old = cluster.components()["apiserver"]["pid"]
        os.kill(old, signal.SIGKILL)

        def restarted() -> bool:
            comp = cluster.components()["apiserver"]
            return comp["pid"] != old and comp["status"] == "running" and comp["restarts"] == 1

        wait_for(restarted, timeout_s=30, message="the apiserver to be restarted")
        status = cluster.run("status")
        assert "restarts=1" in status.stdout
        pids = cluster_pids(cluster.dir)
        assert cluster.run("down").returncode == 0
        wait_for(lambda: not alive(pids), timeout_s=15, message="every process, containers included, to exit")
    finally:
        cluster.teardown()



def test_up_reports_a_component_that_dies_and_cleans_up(tmp_path):
    fake_etcd = tmp_path / "etcd"
    fake_etcd.write_text("#!/bin/sh\necho 'etcd: boom, cannot start' >&2\nexit 3\n")
    fake_etcd.chmod(0o755)
    cdir = ClusterDir(str(tmp_path / "c"))
    try:
        result = kubemu("up", "--ports", "auto", "--nodes", "0", "--timeout", "30", "--cluster-dir", cdir.path,
                        env={"KUBEMU_ETCD_BINARY": str(fake_etcd)})
        assert result.returncode == 1
        assert "etcd" in result.stderr and "exited with code 3" in result.stderr
        assert "etcd: boom, cannot start" in result.stderr  # the end of its log
        wait_for(lambda: not alive(process_pids(cdir)), timeout_s=15, message="the supervisor to exit")
    finally:
        kubemu("down", "--cluster-dir", cdir.path)
