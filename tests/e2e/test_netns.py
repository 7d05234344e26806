"""Components on different "machines" without Docker: Linux network namespaces.

Three namespaces per run, joined by veth pairs to a bridge that lives in its own namespace, so
nothing is added to the host's network and traffic flows only between this test's namespaces,
in an address range reserved for network testing (198.18.0.0/15):

    <p>-cp   198.18.N.1   etcd (127.0.0.1:2379), apiserver (:6443), scheduler, controller manager
    <p>-n1   198.18.N.2   a kubelet joined with `kubemu certs --node` (mutual TLS, its own identity)
    <p>-sw   bridge br0   the switch; its port `n1` is the node's cable

A pod runs on the remote kubelet and answers on its pod IP inside the node's namespace; pulling
the node's cable (``ip link set n1 down``) stops its Lease renewals and the node lifecycle
controller turns the node NotReady; plugging it back makes it Ready again.

Every component takes the defaults a real machine would (ports 6443, 10250 …): the namespaces
are separate network stacks. The test's own API calls go through a small agent process in the
control-plane namespace (a client on that machine), over its stdin/stdout. Needs root (to create
namespaces); skips with the reason otherwise. Namespaces and processes are always removed.

The tests at the end check the join flow's files without any namespace (not marked e2e).
"""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid

import pytest
import yaml

from kubemu import join
from kubemu.etcd_server import find_etcd_binary
from tests.conftest import ROOT, Proc
from tests.helpers import wait_for

LEASE_RENEW_S = 2
NODE = "remote-1"

AGENT = r"""
import json, sys
from machinery import errors
from machinery.client import APIClient, Credentials
address, ca, cert, key = sys.argv[1:5]
client = APIClient(address, Credentials(ca_file=ca, cert_file=cert, key_file=key), retry_timeout_s=3,
                   request_timeout_s=5)


def exec_text(namespace, name, command):
    from kubemu.kubectl_pods import pod_exec
    from machinery.pb import api_pb2

    resp = pod_exec(client, api_pb2.PodExecRequest(namespace=namespace, name=name, command=command,
                                                   timeout_seconds=20))
    return {"stdout": resp.stdout.decode(), "exitCode": resp.exit_code}


def logs_text(namespace, name):
    from kubemu.kubectl_pods import pod_logs
    from machinery.pb import api_pb2

    return b"".join(pod_logs(client, api_pb2.PodLogsRequest(namespace=namespace, name=name))).decode()


extra = {"exec_text": exec_text, "logs_text": logs_text}
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    try:
        call = extra.get(req["method"]) or getattr(client, req["method"])
        out = call(*req.get("args", []), **req.get("kwargs", {}))
        if hasattr(out, "resource_version") and hasattr(out, "items"):
            out = {"items": out.items, "resourceVersion": out.resource_version}
        resp = {"ok": out}
    except errors.APIError as e:
        resp = {"error": {"reason": e.reason, "message": str(e)}}
    print(json.dumps(resp), flush=True)
"""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def _netns_problem() -> str | None:
    if not shutil.which("ip"):
        return "the `ip` command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    probe = f"kmuprobe{uuid.uuid4().hex[:6]}"
    done = _ip("netns", "add", probe, check=False)
    if done.returncode != 0:
        return f"`ip netns add` does not work here: {done.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def sweep_stale_namespaces(max_age_s: float = 3600) -> None:
    """Remove namespaces of earlier runs that were killed before cleaning up: ours by name, old, empty."""
    import re

    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if not re.fullmatch(r"kmu[0-9a-f]{6}-(cp|n1|sw)", name):
            continue
        try:
            age = time.time() - os.stat(f"/run/netns/{name}").st_mtime
        except OSError:
            continue
        if age > max_age_s and not _ip("netns", "pids", name, check=False).stdout.strip():
            _ip("netns", "del", name, check=False)


class RemoteAPIError(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class Agent:
    """An APIClient living in a namespace, driven over a pipe: ``agent.get("nodes", "x")``."""

    def __init__(self, namespace: str, address: str, pki_dir: str, log_path: str):
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", AGENT, address, f"{pki_dir}/ca.crt",
             f"{pki_dir}/admin.crt", f"{pki_dir}/admin.key"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, cwd=ROOT, text=True,
            start_new_session=True)
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self._lock = threading.Lock()
        first = self._next(30)
        assert first.get("ready"), first

    def _pump(self) -> None:
        for line in self.popen.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _next(self, timeout_s: float) -> dict:
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            raise AssertionError(f"the API agent did not answer within {timeout_s}s") from None
        if line is None:
            raise AssertionError("the API agent exited")
        return json.loads(line)

    def __getattr__(self, method: str):
        def call(*args, **kwargs):
            with self._lock:
                self.popen.stdin.write(json.dumps({"method": method, "args": args, "kwargs": kwargs}) + "\n")
                self.popen.stdin.flush()
                resp = self._next(60)
            if "error" in resp:
                raise RemoteAPIError(resp["error"]["reason"], resp["error"]["message"])
            return resp["ok"]

        return call

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.stdin.close()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()


class Machines:
    """The namespaces, the cluster directory and the processes of one run."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.prefix = f"kmu{uuid.uuid4().hex[:6]}"
        self.subnet = random.randint(1, 254)
        self.cp, self.n1, self.sw = (f"{self.prefix}-{s}" for s in ("cp", "n1", "sw"))
        self.cp_ip, self.n1_ip = f"198.18.{self.subnet}.1", f"198.18.{self.subnet}.2"
        self.procs: dict[str, Proc] = {}
        self.namespaces: list[str] = []
        self.agent: Agent | None = None

    def create_network(self) -> None:
        for ns in (self.sw, self.cp, self.n1):
            _ip("netns", "add", ns)
            self.namespaces.append(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", self.sw, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.sw, "link", "set", "br0", "up")
        for ns, port, address in ((self.cp, "cp", self.cp_ip), (self.n1, "n1", self.n1_ip)):
            _ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", self.sw)
            _ip("-n", self.sw, "link", "set", port, "master", "br0", "up")
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")

    def start(self, name: str, namespace: str, args: list[str]) -> Proc:
        proc = Proc(["ip", "netns", "exec", namespace, *args], str(self.tmp / f"{name}.log"))
        self.procs[name] = proc
        return proc

    def set_cable(self, up: bool) -> None:
        _ip("-n", self.sw, "link", "set", "n1", "up" if up else "down")

    def dump_logs(self) -> str:
        return "\n".join(f"===== {n} =====\n{p.output()[-3000:]}" for n, p in self.procs.items())

    def cleanup(self) -> None:
        if self.agent:
            self.agent.stop()
        for proc in reversed(list(self.procs.values())):
            proc.stop()
        from kubelet.images import load_catalog
        from kubelet.runtime.process import ProcessRuntime

        runtime_dir = self.tmp / "kubelet" / "runtime"
        if runtime_dir.exists():
            ProcessRuntime(str(runtime_dir), load_catalog()).cleanup_all()
        for ns in reversed(self.namespaces):
            _ip("netns", "del", ns, check=False)
        left = [ns for ns in self.namespaces if ns in _ip("netns", "list", check=False).stdout]
        assert not left, f"network namespaces left behind: {left}"


def _ready(node: dict) -> str:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status", "Unknown")
    return "Unknown"


def supported_flags(module: str, wanted: dict[str, str]) -> list[str]:
    """``--flag value`` pairs for the flags the component in this tree accepts (timings shortened for tests)."""
    import importlib

    parser = importlib.import_module(f"{module}.__main__").build_parser()
    have = {o for a in parser._actions for o in a.option_strings}
    return [x for flag, value in wanted.items() if f"--{flag}" in have for x in (f"--{flag}", value)]


@pytest.fixture(scope="module")
def machines(tmp_path_factory):
    problem = _netns_problem()
    if problem:
        pytest.skip(f"cannot build network namespaces: {problem}")
    sweep_stale_namespaces()
    tmp = tmp_path_factory.mktemp("netns")
    m = Machines(tmp)
    try:
        m.create_network()
        cluster = str(tmp / "cluster")
        # On the control-plane "machine": credentials and configs, then a node's join directory.
        assert join.main(["--cluster-dir", cluster, "--apiserver", f"{m.cp_ip}:6443", "--etcd-servers",
                          "http://127.0.0.1:2379", "--quiet"]) == 0
        assert join.main(["--cluster-dir", cluster, "--node", NODE, "--node-ip", m.n1_ip, "--out",
                          str(tmp / "join"), "--quiet"]) == 0
        m.cluster, m.join_dir = cluster, str(tmp / "join")
        py = sys.executable
        m.start("etcd", m.cp, [find_etcd_binary(), "--name", "cp", "--data-dir", str(tmp / "etcd"),
                               "--listen-client-urls", "http://127.0.0.1:2379",
                               "--advertise-client-urls", "http://127.0.0.1:2379",
                               "--listen-peer-urls", "http://127.0.0.1:2380",
                               "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
                               "--initial-cluster", "cp=http://127.0.0.1:2380"])
        m.start("apiserver", m.cp, [py, "-m", "apiserver", "--config", f"{cluster}/config/apiserver.yaml"])
        m.start("scheduler", m.cp, [py, "-m", "scheduler", "--config", f"{cluster}/config/scheduler.yaml",
                                    "--pod-max-backoff-seconds", "2"])
        m.start("controller-manager", m.cp, [py, "-m", "controller_manager", "--config",
                                             f"{cluster}/config/controller-manager.yaml",
                                             *supported_flags("controller_manager", {
                                                 "node-monitor-grace-period": "10", "node-monitor-period": "1"})])
        # On the node "machine": only the join directory (CA, its certificate and key, kubelet.yaml).
        # It listens on every interface of its machine (Kubernetes' default --address 0.0.0.0): its
        # API is mutual TLS, and only the apiserver may use it.
        m.start("kubelet", m.n1, [py, "-m", "kubelet", "--config", f"{m.join_dir}/kubelet.yaml",
                                  "--root-dir", str(tmp / "kubelet"),
                                  "--cpu", "2", "--memory", "2Gi",
                                  "--node-lease-renew-interval", str(LEASE_RENEW_S),
                                  "--node-status-update-frequency", str(LEASE_RENEW_S)])
        m.agent = Agent(m.cp, f"{m.cp_ip}:6443", f"{cluster}/pki", str(tmp / "agent.log"))
        try:
            wait_for(lambda: _ready(m.agent.get("nodes", NODE)) == "True", timeout_s=60, interval_s=0.5,
                     message=f"node {NODE} Ready")
        except AssertionError:
            print(m.dump_logs())
            raise
        yield m
    finally:
        m.cleanup()


@pytest.mark.e2e
def test_remote_node_registers_with_its_own_identity(machines):
    node = machines.agent.get("nodes", NODE)
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == machines.n1_ip
    assert node["spec"]["podCIDR"] == "127.246.1.0/24"
    # The node registers first; its Lease follows from the heartbeat loop a moment later.
    lease = wait_for(lambda: machines.agent.get("leases", NODE, "kube-node-lease"), timeout_s=30,
                     message="the remote node's Lease")
    assert lease["spec"]["holderIdentity"] == NODE
    # The join directory holds no cluster-wide secret: no CA key, no other identity than the node's
    # and its kube-proxy's.
    assert sorted(os.listdir(machines.join_dir)) == ["ca.crt", "kube-proxy.crt", "kube-proxy.key", "kube-proxy.yaml",
                                                     "kubelet.crt", "kubelet.key", "kubelet.yaml", "node.crt",
                                                     "node.key", "token"]


@pytest.mark.e2e
def test_pod_runs_on_the_remote_kubelet(machines):
    agent = machines.agent
    agent.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
                          "spec": {"containers": [{"name": "nginx", "image": "nginx",
                                                   "ports": [{"containerPort": 80}]}]}})
    try:
        pod = wait_for(lambda: (p := agent.get("pods", "web", "default"))["status"].get("phase") == "Running" and p,
                       timeout_s=60, interval_s=0.5, message="pod web Running on the remote node")
    except AssertionError:
        print(machines.dump_logs())
        raise
    assert pod["spec"]["nodeName"] == NODE
    assert pod["status"]["hostIP"] == machines.n1_ip
    assert pod["status"]["podIP"].startswith("127.246.1.")
    # The pod's processes live on the node's machine: its IP answers there ...
    probe = ("import sys, urllib.request; "
             "print(urllib.request.urlopen('http://' + sys.argv[1] + '/', timeout=5).status)")
    # Running means the container's process started, not that it listens yet (as in Kubernetes).
    def answers_on_the_node():
        out = subprocess.run(["ip", "netns", "exec", machines.n1, sys.executable, "-c", probe,
                              pod["status"]["podIP"]], capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "200", out.stdout + out.stderr
        return True

    wait_for(answers_on_the_node, timeout_s=20, interval_s=0.5, message="nginx answering on the node's machine")
    # ... and not on the control plane's.
    out = subprocess.run(["ip", "netns", "exec", machines.cp, sys.executable, "-c", probe, pod["status"]["podIP"]],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0


DIRECT_EXEC = r"""
import sys, grpc
from machinery.client import Credentials, make_channel
from machinery.pb import api_pb2, kubelet_pb2_grpc
address, node, ca, stem = sys.argv[1:5]
creds = Credentials(ca_file=ca, cert_file=stem + ".crt", key_file=stem + ".key", tls_server_name=node) if stem else \
    Credentials()
with make_channel(address, creds) as channel:
    try:
        kubelet_pb2_grpc.KubeletStub(channel).Exec(api_pb2.PodExecRequest(namespace="default", name="shell",
                                                                          command=["id"]), timeout=10)
        print("ALLOWED")
    except grpc.RpcError as e:
        print(e.code().name, e.details())
"""


@pytest.mark.e2e
def test_logs_and_exec_reach_the_remote_kubelet_only_through_the_apiserver(machines):
    agent = machines.agent
    agent.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shell", "namespace": "default"},
                          "spec": {"containers": [{"name": "c", "image": "python", "command": [
                              "python", "-c", "import time\nprint('up', flush=True)\ntime.sleep(3600)"]}]}})
    wait_for(lambda: agent.get("pods", "shell", "default")["status"].get("phase") == "Running", timeout_s=60,
             interval_s=0.5, message="pod shell Running")
    # Through the apiserver, which calls the kubelet over mutual TLS as its kubelet client.
    out = agent.exec_text("default", "shell", ["python", "-c", "print('exec on', 'the node')"])
    assert out == {"stdout": "exec on the node\n", "exitCode": 0}
    wait_for(lambda: agent.logs_text("default", "shell") == "up\n", timeout_s=10, message="the pod's log")
    # Straight to the kubelet's port from the control-plane machine: plain text, or the node's own
    # credentials (what a compromised node or pod could hold), or an admin-less user: refused.
    pki_dir = f"{machines.cluster}/pki"

    def direct(stem: str) -> str:
        done = subprocess.run(["ip", "netns", "exec", machines.cp, sys.executable, "-c", DIRECT_EXEC,
                               f"{machines.n1_ip}:10250", NODE, f"{pki_dir}/ca.crt", stem],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert direct("").startswith("UNAVAILABLE")
    assert direct(f"{machines.join_dir}/node") == \
        f"PERMISSION_DENIED Forbidden (user=system:node:{NODE}, verb=create, resource=nodes, subresource(s)=[proxy])"
    assert direct(f"{pki_dir}/system-kube-scheduler").startswith("PERMISSION_DENIED")
    assert direct(f"{pki_dir}/apiserver-kubelet-client") == "ALLOWED"


def _renew_time(machines) -> str:
    return machines.agent.get("leases", NODE, "kube-node-lease")["spec"]["renewTime"]


@pytest.mark.e2e
def test_cutting_the_link_stops_the_heartbeat(machines):
    wait_for(lambda: _ready(machines.agent.get("nodes", NODE)) == "True", timeout_s=30, message="node Ready")
    machines.set_cable(False)
    cut = time.monotonic()
    try:
        time.sleep(LEASE_RENEW_S + 1)  # a renewal in flight when the cable was pulled may still land
        last = _renew_time(machines)
        time.sleep(3 * LEASE_RENEW_S)
        assert _renew_time(machines) == last, "the lease was renewed through a cut link"
        # The node lifecycle controller notices the silence after its grace period.
        wait_for(lambda: _ready(machines.agent.get("nodes", NODE)) != "True", timeout_s=90, interval_s=1,
                 message=f"node {NODE} NotReady after its link went down")
        print(f"link down -> node not Ready: {time.monotonic() - cut:.1f}s")
    finally:
        machines.set_cable(True)
    wait_for(lambda: _renew_time(machines) != last, timeout_s=60, interval_s=0.5,
             message="lease renewals after the link came back")
    wait_for(lambda: _ready(machines.agent.get("nodes", NODE)) == "True", timeout_s=60, interval_s=0.5,
             message="node Ready again")


# --------------------------------------------------------------------------- the join flow's files, no namespaces


def test_certs_writes_configs_and_join_directory(tmp_path, capsys):
    cluster = str(tmp_path / "c")
    assert join.main(["--cluster-dir", cluster, "--apiserver", "10.9.8.7", "--san", "cp.example"]) == 0
    text = capsys.readouterr().out
    assert f"kubemu-apiserver --config {cluster}/config/apiserver.yaml" in text
    sans = join.cert_sans(f"{cluster}/pki/apiserver.crt")
    assert {"10.9.8.7", "cp.example", "localhost", "127.0.0.1"} <= sans
    with open(f"{cluster}/config/scheduler.yaml") as f:
        sched = yaml.safe_load(f)
    assert sched["apiserver"] == "10.9.8.7:6443"
    assert sched["client-certificate"].endswith("system-kube-scheduler.crt")
    # Its own port: TLS on loopback (as kubeadm binds it).
    assert sched["bind-address"] == "127.0.0.1"
    assert {"localhost", "127.0.0.1", "scheduler"} <= join.cert_sans(sched["tls-cert-file"])
    with open(f"{cluster}/config/apiserver.yaml") as f:
        api = yaml.safe_load(f)
    assert api["kubelet-client-certificate"] == f"{cluster}/pki/apiserver-kubelet-client.crt"
    assert api["kubelet-certificate-authority"] == f"{cluster}/pki/ca.crt"
    from cryptography import x509

    with open(api["kubelet-client-certificate"], "rb") as f:
        assert x509.load_pem_x509_certificate(f.read()).subject.rfc4514_string() == "CN=kube-apiserver-kubelet-client"

    assert join.main(["--cluster-dir", cluster, "--node", "n-9", "--node-ip", "10.9.8.9",
                      "--install-dir", "/etc/kubemu", "-o", "json"]) == 0
    result = json.loads(capsys.readouterr().out)["join"]
    assert result["kubeletCommand"][:5] == ["kubemu-kubelet", "--apiserver", "10.9.8.7:6443", "--node-name", "n-9"]
    assert result["podCIDR"] == "127.246.1.0/24"
    with open(os.path.join(result["outDir"], "kubelet.yaml")) as f:
        kubelet = yaml.safe_load(f)
    assert kubelet["client-certificate"] == "/etc/kubemu/node.crt"
    # The kubelet API: its serving certificate (for its name and IP) and the CA its callers need.
    assert (kubelet["tls-cert-file"], kubelet["tls-private-key-file"], kubelet["client-ca-file"]) == \
        ("/etc/kubemu/kubelet.crt", "/etc/kubemu/kubelet.key", "/etc/kubemu/ca.crt")
    assert join.cert_sans(os.path.join(result["outDir"], "kubelet.crt")) == {"n-9", "10.9.8.9"}
    assert "--client-ca-file" in result["kubeletCommand"]
    from kubemu import pki

    tokens = pki.read_token_file(f"{cluster}/pki/tokens.csv")
    assert tokens["system:node:n-9"][0] == result["token"]
    # Joining again keeps the node's token and pod CIDR.
    assert join.main(["--cluster-dir", cluster, "--node", "n-9", "-q"]) == 0
    assert pki.read_token_file(f"{cluster}/pki/tokens.csv")["system:node:n-9"][0] == result["token"]
    with open(f"{cluster}/config/nodes.yaml") as f:
        assert yaml.safe_load(f) == {"n-9": "127.246.1.0/24"}


def test_certs_no_token_changes_nothing_in_the_cluster_dir(tmp_path):
    cluster = str(tmp_path / "c")
    assert join.main(["--cluster-dir", cluster, "--apiserver", "apiserver:6443", "-q"]) == 0
    before = {p: os.stat(os.path.join(d, p)).st_mtime_ns for d, _, ps in os.walk(cluster) for p in ps}
    assert join.main(["--cluster-dir", cluster, "--node", "abc123", "--no-token", "--out",
                      str(tmp_path / "node"), "-q"]) == 0
    after = {p: os.stat(os.path.join(d, p)).st_mtime_ns for d, _, ps in os.walk(cluster) for p in ps}
    assert before == after
    from cryptography import x509

    with open(tmp_path / "node" / "node.crt", "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    assert cert.subject.rfc4514_string() == "CN=system:node:abc123,O=system:nodes"
    assert join.cert_sans(str(tmp_path / "node" / "kubelet.crt")) == {"abc123"}
    with open(tmp_path / "node" / "kubelet.yaml") as f:
        assert yaml.safe_load(f)["apiserver"] == "apiserver:6443"


def test_certs_rejects_bad_node_names(tmp_path):
    cluster = str(tmp_path / "c")
    assert join.main(["--cluster-dir", cluster, "-q"]) == 0
    with pytest.raises(SystemExit, match="invalid node name"):
        join.main(["--cluster-dir", cluster, "--node", "Bad_Name", "-q"])
