"""ProcessRuntime additions for the kubelet: mounts and localhost as a container sees them, exec in the
container's context, usage stats, forced stop reasons, log indexes, last state, served doc roots."""

from __future__ import annotations

import os
import random
import time
import urllib.request

import pytest

from kubelet.images import load_catalog
from kubelet.runtime import ContainerSpec, ProcessRuntime
from kubelet.runtime.base import ContainerRuntimeError, Mount
from kubelet.runtime.process import rewrite_text
from tests.helpers import wait_for


def pod_ip() -> str:
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


@pytest.fixture
def rt(tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("defaults: {pullDelaySeconds: 0}\nimages:\n  nginx: {pullDelaySeconds: 0}\n")
    runtime = ProcessRuntime(str(tmp_path / "node"), load_catalog(str(catalog)))
    yield runtime
    runtime.cleanup_all(grace_period_s=0, remove=True)


def read(path) -> str:
    with open(path) as f:
        return f.read()


def done(rt, sb, name):
    state = rt.container_status(sb, name)
    return state if state.state == "terminated" else None


def test_rewrite_text_matches_whole_paths_and_hosts():
    rewrites = [("/data", "/host/vol"), ("localhost", "127.9.0.1"), ("127.0.0.1", "127.9.0.1")]
    assert rewrite_text("cat /data/x /database /mnt/data >/data", rewrites) == \
        "cat /host/vol/x /database /mnt/data >/host/vol"
    assert rewrite_text("http://localhost:80/ 127.0.0.1 127.0.0.10 localhost.example", rewrites) == \
        "http://127.9.0.1:80/ 127.9.0.1 127.0.0.10 localhost.example"


def test_mounts_localhost_and_env_as_the_container_sees_them(rt, tmp_path):
    ip = pod_ip()
    volume = tmp_path / "vol"
    volume.mkdir()
    sb = rt.run_sandbox("uid-m", "ns", "m-0", ip)
    script = ("echo hi > /data/out; echo $TARGET; echo $KUBEMU_MOUNT_SHARED_DATA $KUBEMU_LOCALHOST; "
              "ls $KUBEMU_ROOTFS/data; pwd")
    rt.run_container(sb, ContainerSpec("c", "busybox", command=["sh", "-c", script], working_dir="/data",
                                         env={"TARGET": "http://localhost:8080/data"},
                                         mounts=[Mount("shared-data", str(volume), "/data")]))
    assert wait_for(lambda: done(rt, sb, "c"), timeout_s=10).exit_code == 0
    assert read(volume / "out") == "hi\n"
    lines = read(rt.container_log_path(sb, "c")).splitlines()
    assert lines == [f"http://{ip}:8080/data", f"{volume} {ip}", "out", str(volume)]


def test_containers_of_a_pod_share_dev_shm_and_other_pods_do_not(rt, tmp_path):
    one = rt.run_sandbox("uid-ipc1", "ns", "ipc-1", pod_ip())
    rt.run_container(one, ContainerSpec("writer", "busybox", command=["sh", "-c", "echo hello > /dev/shm/msg"]))
    assert wait_for(lambda: done(rt, one, "writer"), timeout_s=10).exit_code == 0
    rt.run_container(one, ContainerSpec("reader", "busybox", command=["cat", "/dev/shm/msg"]))
    assert wait_for(lambda: done(rt, one, "reader"), timeout_s=10).exit_code == 0
    assert read(rt.container_log_path(one, "reader")) == "hello\n"
    other = rt.run_sandbox("uid-ipc2", "ns", "ipc-2", pod_ip())
    rt.run_container(other, ContainerSpec("reader", "busybox", command=["sh", "-c", "ls /dev/shm | wc -l"]))
    assert wait_for(lambda: done(rt, other, "reader"), timeout_s=10).exit_code == 0
    assert read(rt.container_log_path(other, "reader")).strip() == "0"  # another pod: its own, empty /dev/shm
    volume = tmp_path / "mem"
    volume.mkdir()
    rt.run_container(other, ContainerSpec("mounted", "busybox", command=["sh", "-c", "echo v > /dev/shm/f"],
                                            mounts=[Mount("dshm", str(volume), "/dev/shm")]))
    assert wait_for(lambda: done(rt, other, "mounted"), timeout_s=10).exit_code == 0
    assert read(volume / "f") == "v\n"  # a volume mounted on /dev/shm (emptyDir medium Memory) wins
    rt.remove_sandbox(one)
    assert not os.path.exists(os.path.join(one.dir, "shm"))


def test_exec_runs_in_the_container_context(rt):
    ip = pod_ip()
    sb = rt.run_sandbox("uid-e", "ns", "e-0", ip)
    rt.run_container(sb, ContainerSpec("c", "busybox", command=["sleep", "3600"], env={"COLOR": "blue"}))
    result = rt.exec_sync(sb, "c", ["sh", "-c", "echo $COLOR $KUBEMU_POD_IP; cat; echo err >&2; exit 3"],
                          stdin=b"from stdin\n")
    assert (result.exit_code, result.stdout, result.stderr) == (3, f"blue {ip}\nfrom stdin\n".encode(), b"err\n")
    began = time.monotonic()
    slow = rt.exec_sync(sb, "c", ["sleep", "30"], timeout_s=0.3)
    assert slow.timed_out and slow.exit_code == 137 and time.monotonic() - began < 5
    missing = rt.exec_sync(sb, "c", ["kubemu-no-such-command"])
    assert missing.exit_code == 127 and b"executable file not found" in missing.stderr
    rt.stop_container(sb, "c", 0)
    with pytest.raises(ContainerRuntimeError, match="not running"):
        rt.exec_sync(sb, "c", ["true"])


def test_stats_forced_reason_and_last_state(rt):
    sb = rt.run_sandbox("uid-s", "ns", "s-0", pod_ip())
    hog = "x = b'a' * (40 * 1024 * 1024)\nimport time\nprint('ready', flush=True)\ntime.sleep(3600)\n"
    rt.run_container(sb, ContainerSpec("hog", "python", command=["python", "-c", hog]))
    wait_for(lambda: "ready" in read(rt.container_log_path(sb, "hog")), timeout_s=10)
    stats = rt.stats([sb])[("uid-s", "hog")]
    assert stats.memory_bytes > 40 * 1024 * 1024 and stats.processes == 1 and stats.cpu_seconds > 0
    killed = rt.stop_container(sb, "hog", 0, reason="OOMKilled")
    assert (killed.exit_code, killed.reason) == (137, "OOMKilled")
    assert rt.stats([sb]) == {}
    again = rt.run_container(sb, ContainerSpec("hog", "busybox", command=["sh", "-c", "echo one; exit 0"]))
    assert again.last.reason == "OOMKilled" and again.last.exit_code == 137
    wait_for(lambda: done(rt, sb, "hog"), timeout_s=10)
    index = rt.log_index(sb, "hog")
    assert index and index[-1][0] == os.path.getsize(rt.container_log_path(sb, "hog"))
    assert abs(index[-1][1] - time.time()) < 30


def test_nginx_serves_a_volume_at_its_doc_root(rt, tmp_path):
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.html").write_text("<p>from a volume</p>")
    ip = pod_ip()
    sb = rt.run_sandbox("uid-n", "ns", "n-0", ip)
    rt.run_container(sb, ContainerSpec("web", "nginx", ports=[8081],
                                         mounts=[Mount("html", str(html), "/usr/share/nginx/html")]))
    body = wait_for(lambda: urllib.request.urlopen(f"http://{ip}:8081/", timeout=2).read().decode(), timeout_s=10)
    assert body == "<p>from a volume</p>"
    assert urllib.request.urlopen(f"http://{ip}:8081/healthz", timeout=2).read() == b"ok"


def test_containers_and_exec_see_the_pods_hostname(rt):
    import socket

    from kubelet.runtime import uts

    host = socket.gethostname()
    sb = rt.run_sandbox("uid-h", "ns", "h-0", pod_ip(), hostname="db-0")
    rt.run_container(sb, ContainerSpec("c", "busybox", command=["sh", "-c", "hostname; echo $HOSTNAME; sleep 3600"]))
    wait_for(lambda: len(read(rt.container_log_path(sb, "c")).splitlines()) == 2, timeout_s=10)
    execed = rt.exec_sync(sb, "c", ["sh", "-c", "hostname; echo $HOSTNAME"])
    assert rt.get_sandbox("uid-h").hostname == "db-0"  # kept in sandbox.json for a restarted kubelet
    if uts.namespaces_permitted():
        assert read(rt.container_log_path(sb, "c")) == "db-0\ndb-0\n"
        assert execed.stdout == b"db-0\ndb-0\n"
    else:  # no UTS namespace here: only $HOSTNAME says the pod's name (docs/kubelet.md)
        assert read(rt.container_log_path(sb, "c")) == f"{host}\ndb-0\n"
        assert execed.stdout == f"{host}\ndb-0\n".encode()
    assert socket.gethostname() == host  # the node's own hostname is never touched
    rt.stop_container(sb, "c", 0)


def test_pod_hostname_is_spec_hostname_else_the_name_cut_to_63():
    from kubelet.runtime.uts import pod_hostname

    assert pod_hostname({"metadata": {"name": "web-0"}}) == "web-0"
    assert pod_hostname({"metadata": {"name": "web-0"}, "spec": {"hostname": "db"}}) == "db"
    assert pod_hostname({"metadata": {"name": "a" * 62 + "-b"}}) == "a" * 62


def test_without_permission_for_a_namespace_the_container_still_starts(rt, monkeypatch):
    import socket

    from kubelet.runtime import uts

    class Refusing:
        def unshare(self, flags):
            return -1  # as for a kubelet without CAP_SYS_ADMIN

    monkeypatch.setattr(uts, "_may_try", lambda: True)
    monkeypatch.setattr(uts, "_load_libc", lambda: Refusing())
    sb = rt.run_sandbox("uid-nh", "ns", "nh-0", pod_ip(), hostname="db-1")
    rt.run_container(sb, ContainerSpec("c", "busybox", command=["sh", "-c", "hostname; echo $HOSTNAME"]))
    assert wait_for(lambda: done(rt, sb, "c"), timeout_s=10).exit_code == 0
    assert read(rt.container_log_path(sb, "c")) == f"{socket.gethostname()}\ndb-1\n"
