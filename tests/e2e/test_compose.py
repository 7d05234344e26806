"""The docker compose stack end to end: build, 3 kubelets, a pod from the host, pods reaching pods in
other kubelet containers by IP (the routed pod network), Services through the kube-proxies with
endpoints in several containers, etcd killed and restarted without losing anything acknowledged, a kubelet stopped —
the faults through ``kubemu chaos --compose``, as a user injects them.

Installs nothing on the host (CI's ``.ci/run`` installs Debian's docker.io and docker-compose and starts
dockerd); skips only when Docker cannot run at all. No image registry is reachable, so the
base images are built locally (``tests/fixtures_images.py``, cached across runs) and handed to
the stack through ``BASE_IMAGE`` and ``ETCD_IMAGE``: the defaults in the files stay the public
images. Every run uses its own compose project name, API port and host directory, and removes
its containers, network and volumes (``down -v``) whatever happens.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
import yaml

from kubemu.etcd_server import free_port
from machinery import errors
from machinery.client import APIClient, Credentials
from tests import fixtures_images
from tests.helpers import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KUBELETS = 3
LEASE_RENEW_S = 2
COMPOSE_TIMEOUT_S = 240


def _docker_problem() -> str | None:
    """Why Docker cannot run here, or None when it can."""
    if not shutil.which("docker"):
        return "the docker CLI is not installed (CI's .ci/run installs docker.io)"
    try:
        done = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                              timeout=30)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 30s"
    if done.returncode != 0:
        return f"no Docker daemon answers: {done.stderr.strip()[-300:]}"
    return None


def compose_command() -> list[str]:
    """``docker compose`` (v2) when present, else Debian's ``docker-compose`` (1.29)."""
    try:
        if subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0:
            return ["docker", "compose"]
    except (OSError, subprocess.TimeoutExpired):
        pass
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("Docker runs but neither `docker compose` nor `docker-compose` is installed "
                "(apt-get install docker-compose; .ci/run does)")


class Stack:
    def __init__(self, project: str, env: dict, files: list[str], host_dir: str, port: int):
        self.project, self.env, self.files, self.host_dir, self.port = project, env, files, host_dir, port
        self.compose = compose_command()

    def run(self, *args: str, timeout_s: float = COMPOSE_TIMEOUT_S, check: bool = True) -> str:
        cmd = [*self.compose, "-p", self.project, *(a for f in self.files for a in ("-f", f)), *args]
        try:
            done = subprocess.run(cmd, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"{' '.join(cmd)} timed out after {timeout_s}s\n{self.diagnostics()}") from e
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
                                 f"{done.stderr[-3000:]}\n{self.diagnostics()}")
        return done.stdout + done.stderr

    def containers(self, service: str, *, all_states: bool = False) -> list[str]:
        out = subprocess.run(["docker", "ps", *(["-a"] if all_states else []), "--format", "{{.ID}}",
                              "--filter", f"label=com.docker.compose.project={self.project}",
                              "--filter", f"label=com.docker.compose.service={service}"],
                             capture_output=True, text=True, timeout=30).stdout
        return out.split()

    def diagnostics(self) -> str:
        parts = []
        for args in (["ps"], ["logs", "--no-color", "--tail", "40"]):
            cmd = [*self.compose, "-p", self.project, *(a for f in self.files for a in ("-f", f)), *args]
            try:
                done = subprocess.run(cmd, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60)
                parts.append(f"$ {' '.join(args)}\n{done.stdout[-12000:]}{done.stderr[-2000:]}")
            except subprocess.TimeoutExpired:
                parts.append(f"$ {' '.join(args)}: timed out")
        return "\n".join(parts)

    def chaos(self, *args: str) -> str:
        """``kubemu chaos --compose ARGS`` on this stack (its project and compose file), as a user runs it."""
        cmd = [sys.executable, "-m", "kubemu.cli", "chaos", "--compose", "--project-name", self.project,
               "--file", self.files[0], *args]
        done = subprocess.run(cmd, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=COMPOSE_TIMEOUT_S)
        assert done.returncode == 0, f"kubemu chaos --compose {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def client(self, **kw) -> APIClient:
        return APIClient(f"127.0.0.1:{self.port}", Credentials(
            ca_file=os.path.join(self.host_dir, "ca.crt"), cert_file=os.path.join(self.host_dir, "admin.crt"),
            key_file=os.path.join(self.host_dir, "admin.key")), **{"retry_timeout_s": 10, **kw})


def sweep_stale_projects(max_age_s: float = 3 * 3600) -> None:
    """Remove the containers, volumes and network of test projects killed before `down` ran (hours old)."""
    from datetime import datetime

    def ids(kind: str, *filters: str) -> list[str]:
        args = ["docker", kind, "ls", "-q"] if kind != "container" else ["docker", "ps", "-aq"]
        return subprocess.run([*args, *(a for f in filters for a in ("--filter", f))], capture_output=True,
                              text=True, timeout=30).stdout.split()

    projects: dict[str, float] = {}
    for cid in ids("container", "label=com.docker.compose.project"):
        out = subprocess.run(["docker", "inspect", "--format",
                              '{{index .Config.Labels "com.docker.compose.project"}} {{.Created}}', cid],
                             capture_output=True, text=True, timeout=30).stdout.split()
        if len(out) == 2 and out[0].startswith("kubemu-test-"):
            created = datetime.fromisoformat(out[1][:26].rstrip("Z") + "+00:00").timestamp()
            projects[out[0]] = max(projects.get(out[0], 0.0), created)
    for project, newest in projects.items():
        if time.time() - newest < max_age_s:
            continue
        label = f"label=com.docker.compose.project={project}"
        subprocess.run(["docker", "rm", "-f", "-v", *ids("container", label)], capture_output=True, timeout=120)
        volumes = ids("volume", label)
        if volumes:
            subprocess.run(["docker", "volume", "rm", *volumes], capture_output=True, timeout=60)
        subprocess.run(["docker", "network", "rm", f"{project}_default"], capture_output=True, timeout=60)


def _flags(module: str) -> set[str]:
    """Long flag names the component in this source tree accepts (the image is built from it)."""
    import importlib

    parser = importlib.import_module(f"{module}.__main__").build_parser()
    return {o[2:] for a in parser._actions for o in a.option_strings if o.startswith("--")}


def _env_for(module: str, wanted: dict[str, str]) -> dict[str, str]:
    """``KUBEMU_<FLAG>`` settings for the flags that exist (an unknown one would be harmless, a wrong type not)."""
    have = _flags(module)
    return {"KUBEMU_" + k.upper().replace("-", "_"): v for k, v in wanted.items() if k in have}


def _override_file(path: str) -> None:
    """Short timings for the test, as KUBEMU_* environment (flags > env > the stack's config files)."""
    services = {
        "kubelet": _env_for("kubelet", {"node-lease-renew-interval": str(LEASE_RENEW_S),
                                        "node-status-update-frequency": "2", "cpu": "2", "memory": "2Gi"}),
        "scheduler": _env_for("scheduler", {"pod-max-backoff-seconds": "2"}),
        "apiserver": _env_for("apiserver", {"default-not-ready-toleration-seconds": "2",
                                            "default-unreachable-toleration-seconds": "2"}),
        "controller-manager": _env_for("controller_manager", {
            "node-monitor-grace-period": "10", "node-monitor-period": "1", "node-startup-grace-period": "20",
            "node-eviction-rate": "100"}),
    }
    with open(path, "w") as f:
        json.dump({"services": {name: {"environment": env} for name, env in services.items() if env}}, f, indent=2)


def _ready(node: dict) -> str:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status", "Unknown")
    return "Unknown"


@pytest.fixture(scope="module")
def stack(tmp_path_factory, request):
    problem = _docker_problem()
    if problem:
        pytest.skip(f"Docker cannot run here: {problem}")
    sweep_stale_projects()
    started = time.monotonic()
    base = fixtures_images.build_base_image()
    etcd_image = fixtures_images.build_etcd_image()
    images_s = time.monotonic() - started
    project = f"kubemu-test-{uuid.uuid4().hex[:8]}"
    image = f"kubemu-test:{project}"  # per run: concurrent runs of other trees never swap images
    fixtures_images.build_kubemu_image(image, ROOT, base)
    build_s = time.monotonic() - started - images_s
    tmp = tmp_path_factory.mktemp("compose")
    host_dir = str(tmp / "host")
    os.makedirs(host_dir)
    override = str(tmp / "docker-compose.test.json")
    _override_file(override)
    port = free_port()
    env = {**fixtures_images.docker_env(), "KUBEMU_IMAGE": image, "BASE_IMAGE": base, "ETCD_IMAGE": etcd_image,
           "KUBEMU_API_PORT": str(port), "KUBEMU_REST_PORT": str(free_port()), "KUBEMU_HOST_DIR": host_dir,
           "COMPOSE_PROJECT_NAME": project}
    env.pop("DOCKER_BUILDKIT", None)
    s = Stack(project, env, [os.path.join(ROOT, "docker-compose.yml"), override], host_dir, port)
    s.timings = {"base images (cached after the first run)": images_s, "kubemu image build": build_s}
    try:
        t0 = time.monotonic()
        s.run("up", "-d", "--no-build", "--scale", f"kubelet={KUBELETS}")
        s.timings["compose up"] = time.monotonic() - t0
        client = s.client()
        try:
            wait_for(lambda: len([n for n in client.list("nodes").items if _ready(n) == "True"]) == KUBELETS,
                     timeout_s=120, interval_s=0.5, message=f"{KUBELETS} Ready nodes")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{s.diagnostics()}") from None
        finally:
            client.close()
        s.timings["up until 3 nodes Ready"] = time.monotonic() - t0
        print("compose stack timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in s.timings.items()))
        failed_before = request.session.testsfailed
        yield s
        if request.session.testsfailed > failed_before:
            print(f"===== the stack after the failure =====\n{s.diagnostics()}")
    finally:
        s.run("down", "-v", "--remove-orphans", "-t", "5", timeout_s=180, check=False)
        leftovers = s.containers("etcd", all_states=True) + s.containers("apiserver", all_states=True)
        shutil.rmtree(str(tmp), ignore_errors=True)
        subprocess.run(["docker", "rmi", image], capture_output=True, timeout=60)  # layers stay cached
        assert not leftovers, f"containers of {project} survived `down -v`: {leftovers}"


def test_swarm_stack_file_is_valid():
    """deploy/docker-stack.yml parses for `docker stack deploy` (no swarm needed to check)."""
    problem = _docker_problem()
    if problem:
        pytest.skip(f"Docker cannot run here: {problem}")
    commands = subprocess.run(["docker", "stack", "--help"], capture_output=True, text=True, timeout=30).stdout
    if not any(line.split()[:1] == ["config"] for line in commands.splitlines()):
        pytest.skip("this docker CLI has no `docker stack config` (newer Docker CLIs have it)")
    env = {**os.environ, "KUBEMU_HOST_DIR": "/tmp"}
    done = subprocess.run(["docker", "stack", "config", "-c", os.path.join(ROOT, "deploy", "docker-stack.yml")],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    assert set(config["services"]) == {"etcd", "init", "apiserver", "scheduler", "controller-manager", "kubelet"}
    assert config["services"]["kubelet"]["hostname"] == "kubelet-{{.Task.Slot}}"


# Run inside the apiserver container (python and prometheus_client are in the image): scrape every
# component over the stack's network as the compose Prometheus does (deploy/prometheus.yml).
SCRAPE_IN_STACK = r"""
import json, socket, ssl, urllib.request
from prometheus_client.parser import text_string_to_metric_families
pki = "/var/lib/kubemu/pki/"
tls = ssl.create_default_context(cafile=pki + "ca.crt")
tls.load_cert_chain(pki + "kubemu-monitoring.crt", pki + "kubemu-monitoring.key")
targets = {"apiserver": "https://apiserver:6444/metrics", "scheduler": "http://scheduler:10251/metrics",
           "controller-manager": "http://controller-manager:10252/metrics"}
for ip in sorted({a[4][0] for a in socket.getaddrinfo("kubelet", 10255, proto=socket.IPPROTO_TCP)}):
    targets["kubelet " + ip] = f"http://{ip}:10255/metrics"
out = {}
for name, url in targets.items():
    with urllib.request.urlopen(url, timeout=10, context=tls if url.startswith("https") else None) as r:
        out[name] = sorted({s.name for f in text_string_to_metric_families(r.read().decode()) for s in f.samples})
print(json.dumps(out))
"""


def test_every_component_serves_metrics_on_the_stack_network(stack):
    """What the optional Prometheus scrapes: the apiserver with the monitoring certificate, the others plainly."""
    (apiserver,) = stack.containers("apiserver")
    done = subprocess.run(["docker", "exec", apiserver, "python", "-c", SCRAPE_IN_STACK], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    scraped = json.loads(done.stdout)
    assert len([t for t in scraped if t.startswith("kubelet ")]) == KUBELETS
    for name, samples in scraped.items():
        assert "process_resident_memory_bytes" in samples, name
    assert "apiserver_request_total" in scraped["apiserver"]
    assert "scheduler_pending_pods" in scraped["scheduler"]
    assert "leader_election_master_status" in scraped["controller-manager"]
    assert all("kubelet_running_pods" in v for k, v in scraped.items() if k.startswith("kubelet "))


@pytest.fixture
def api(stack):
    c = stack.client()
    yield c
    c.close()


def nginx_pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default",
                                                            "labels": {"app": name}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}]}]}}


def kubectl_supports_client_certs() -> bool:
    """Whether ``kubemu kubectl`` can present a client certificate (the stack's apiserver asks for one)."""
    from kubemu import kubectl

    with open(kubectl.__file__) as f:
        return '"--client-certificate"' in f.read()


def test_nodes_are_the_kubelet_containers(stack, api):
    nodes = {n["metadata"]["name"]: n for n in api.list("nodes").items}
    containers = stack.containers("kubelet")
    assert len(containers) == KUBELETS
    # Each node is named after its container's hostname (the container ID's first 12 characters).
    assert sorted(nodes) == sorted(c[:12] for c in containers)
    cidrs = [n["spec"].get("podCIDR") for n in nodes.values()]
    assert all(cidrs) and len(set(cidrs)) == KUBELETS, cidrs
    # The routed pod network: the controller manager's node IPAM hands out 10.244.N.0/24.
    assert all(ipaddress.ip_network(c).subnet_of(ipaddress.ip_network("10.244.0.0/16")) for c in cidrs), cidrs
    for name in nodes:
        lease = api.get("leases", name, "kube-node-lease")
        assert lease["spec"]["holderIdentity"] == name


def test_the_real_kubectl_reaches_the_stack_through_the_host_kubeconfig(stack):
    """The host's kubeconfig.yaml points the real kubectl at the published REST port (KUBEMU_REST_PORT)."""
    kubectl = os.path.join(os.path.dirname(os.path.realpath("/usr/bin/kubectl")), "kubectl.1.32")
    if not os.access(kubectl, os.X_OK):
        pytest.skip("the real kubectl 1.32 is not installed")
    out = subprocess.run([kubectl, "--kubeconfig", os.path.join(stack.host_dir, "kubeconfig.yaml"), "get", "nodes"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:5] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert len(out.stdout.splitlines()) == 1 + KUBELETS


def test_pod_from_the_host_runs_on_a_kubelet_container(stack, api, tmp_path):
    if kubectl_supports_client_certs():
        manifest = tmp_path / "pod.json"
        manifest.write_text(json.dumps(nginx_pod("web")))
        out = subprocess.run([os.path.join(ROOT, ".venv", "bin", "kubemu"), "kubectl", "--kubeconfig",
                              "kubeconfig.yaml", "apply", "-f", str(manifest)],
                             capture_output=True, text=True, timeout=60, cwd=stack.host_dir)
        assert out.returncode == 0, out.stdout + out.stderr
    else:
        api.create("pods", nginx_pod("web"))
    pod = wait_for(lambda: (p := api.get("pods", "web", "default"))["status"].get("phase") == "Running" and p,
                   timeout_s=60, interval_s=0.5, message="pod web Running")
    node = api.get("nodes", pod["spec"]["nodeName"])
    internal_ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    assert pod["status"]["hostIP"] == internal_ip
    import ipaddress

    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(node["spec"]["podCIDR"])
    # The pod really serves on its IP inside that node's container.
    probe = ("import urllib.request, sys; "
             "print(urllib.request.urlopen('http://' + sys.argv[1] + '/', timeout=5).status)")
    # Running means the container's process started, not that it listens yet (as in Kubernetes).
    def answers_in_the_node_container():
        out = subprocess.run(["docker", "exec", pod["spec"]["nodeName"], "python", "-c", probe,
                              pod["status"]["podIP"]], capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "200", out.stdout + out.stderr
        return True

    wait_for(answers_in_the_node_container, timeout_s=20, interval_s=0.5, message="nginx answering in the node")


def test_a_service_reaches_its_pod_through_each_nodes_kube_proxy(stack, api):
    """kube-proxy runs beside every kubelet: the cluster IP answers inside the pod's node container,
    the node port on that container's address from the host, the kubernetes Service over TLS."""
    pod = nginx_pod("svc-web")
    api.create("pods", pod)
    api.create("services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc-web"},
                            "spec": {"type": "NodePort", "selector": {"app": "svc-web"}, "ports": [{"port": 80}]}},
               "default")
    pod = wait_for(lambda: (p := api.get("pods", "svc-web", "default"))["status"].get("phase") == "Running" and p,
                   timeout_s=60, interval_s=0.5, message="pod svc-web Running")
    svc = api.get("services", "svc-web", "default")["spec"]
    assert svc["clusterIP"].startswith("127.144."), svc
    node = api.get("nodes", pod["spec"]["nodeName"])
    node_ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    probe = ("import ssl, sys, urllib.request; ctx = ssl.create_default_context(cafile='/var/lib/kubemu/pki/ca.crt'); "
             "print(urllib.request.urlopen(sys.argv[1], timeout=5, context=ctx).status)")

    def in_node(url: str) -> bool:
        out = subprocess.run(["docker", "exec", pod["spec"]["nodeName"], "python", "-c", probe, url],
                             capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "200", out.stdout + out.stderr
        return True

    wait_for(lambda: in_node(f"http://{svc['clusterIP']}/"), timeout_s=30, interval_s=0.5,
             message="the cluster IP inside the pod's node container")
    wait_for(lambda: in_node(f"https://{api.get('services', 'kubernetes', 'default')['spec']['clusterIP']}/version"),
             timeout_s=30, interval_s=0.5, message="the kubernetes Service inside a node container")
    import urllib.request

    def from_host() -> bool:
        with urllib.request.urlopen(f"http://{node_ip}:{svc['ports'][0]['nodePort']}/", timeout=5) as response:
            return response.status == 200

    wait_for(from_host, timeout_s=30, interval_s=0.5, message="the node port from the host")


FETCH = ("import re, sys, urllib.request\n"
         "try:\n"
         "    page = urllib.request.urlopen(sys.argv[1], timeout=3).read().decode()\n"
         "    print(re.search(r'Served by pod <b>([^<]+)</b>', page).group(1))\n"
         "except OSError as e:\n"
         "    print('error', e)\n")


def fetch_in_pod(api, pod: str, url: str) -> str:
    """What ``url`` answers inside ``pod``: the pod named by the nginx page that served, or 'error …'."""
    from kubemu.kubectl_pods import pod_exec
    from machinery.pb import api_pb2

    resp = pod_exec(api, api_pb2.PodExecRequest(namespace="default", name=pod, timeout_seconds=20,
                                                command=["python", "-c", FETCH, url]))
    assert resp.exit_code == 0, resp.stderr
    return resp.stdout.decode().strip()


@pytest.fixture(scope="module")
def spread(stack):
    """An nginx pod in each of two kubelet containers (app=spread) behind the Service `spread`."""
    c = stack.client()
    try:
        nodes = sorted(n["metadata"]["name"] for n in c.list("nodes").items if _ready(n) == "True")[:2]
        for i, node in enumerate(nodes):
            pod = nginx_pod(f"spread-{i}")
            pod["metadata"]["labels"] = {"app": "spread"}
            pod["spec"]["nodeName"] = node
            c.create("pods", pod)
        c.create("services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "spread"},
                              "spec": {"selector": {"app": "spread"}, "ports": [{"port": 80}]}}, "default")
        pods = [wait_for(lambda i=i: (p := c.get("pods", f"spread-{i}", "default"))["status"].get("phase") == "Running"
                         and p, timeout_s=60, interval_s=0.5, message=f"spread-{i} Running") for i in range(2)]
        assert pods[0]["spec"]["nodeName"] != pods[1]["spec"]["nodeName"]
        yield pods
    finally:
        c.close()


def test_a_pod_reaches_a_pod_in_another_kubelet_container_by_ip(api, spread):
    """The routed pod network: each kubelet container routes the others' pod CIDRs via their addresses."""
    for here, there in ((spread[0], spread[1]), (spread[1], spread[0])):
        wait_for(lambda here=here, there=there: fetch_in_pod(api, here["metadata"]["name"],
                                                             f"http://{there['status']['podIP']}/")
                 == f"default/{there['metadata']['name']}", timeout_s=30, interval_s=0.5,
                 message=f"{here['metadata']['name']} reaching {there['metadata']['name']} across containers")


def test_a_service_reaches_endpoints_in_every_kubelet_container(api, spread):
    cluster_ip = api.get("services", "spread", "default")["spec"]["clusterIP"]
    seen: set[str] = set()

    def both() -> bool:
        seen.add(fetch_in_pod(api, "spread-0", f"http://{cluster_ip}/"))
        return {"default/spread-0", "default/spread-1"} <= seen

    wait_for(both, timeout_s=60, interval_s=0.2, message=f"both endpoints behind {cluster_ip} (seen {seen})")


def test_kubemu_trace_from_the_host_gathers_every_container(stack, api):
    """Only the apiserver is published: it asks the scheduler, controller manager and kubelet
    containers for their spans over the compose network (docs/trace.md)."""
    api.create("pods", nginx_pod("traced"))
    wait_for(lambda: api.get("pods", "traced", "default")["status"].get("phase") == "Running", timeout_s=60,
             interval_s=0.5, message="pod traced Running")
    out = subprocess.run([os.path.join(ROOT, ".venv", "bin", "kubemu"), "trace", "pod", "traced", "--kubeconfig",
                          "kubeconfig.yaml", "--json"], capture_output=True, text=True, timeout=60,
                         cwd=stack.host_dir)
    assert out.returncode == 0, out.stdout + out.stderr
    trace = json.loads(out.stdout)
    assert not [s for s in trace["sources"] if s.get("error")], trace["sources"]
    steps = {(s["component"], s["name"]) for s in trace["steps"]}
    assert {("apiserver", "create pods"), ("scheduler", "schedule"), ("kubelet", "start container")} <= steps
    assert {s["component"] for s in trace["sources"]} >= {"apiserver", "scheduler", "controller-manager", "kubelet"}


def test_kubelets_answer_the_apiserver_only(stack, api):
    """Logs and exec go through the apiserver (mutual TLS to the kubelet, as its kubelet client);
    another node's container calling that kubelet's port itself gets nothing."""
    from kubemu.kubectl_pods import pod_exec, pod_logs
    from machinery.pb import api_pb2
    from tests.e2e.test_netns import DIRECT_EXEC

    api.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shell", "namespace": "default"},
                        "spec": {"containers": [{"name": "c", "image": "python", "command": [
                            "python", "-c", "import time\nprint('up', flush=True)\ntime.sleep(3600)"]}]}})
    pod = wait_for(lambda: (p := api.get("pods", "shell", "default"))["status"].get("phase") == "Running" and p,
                   timeout_s=60, interval_s=0.5, message="pod shell Running")
    resp = pod_exec(api, api_pb2.PodExecRequest(namespace="default", name="shell", timeout_seconds=20,
                                                command=["python", "-c", "print(6 * 7)"]))
    assert (resp.stdout, resp.exit_code) == (b"42\n", 0)
    wait_for(lambda: b"".join(pod_logs(api, api_pb2.PodLogsRequest(namespace="default", name="shell"))) == b"up\n",
             timeout_s=10, message="the pod's log through the apiserver")
    target = pod["spec"]["nodeName"]
    other = next(n["metadata"]["name"] for n in api.list("nodes").items if n["metadata"]["name"] != target)

    def direct(stem: str) -> str:
        out = subprocess.run(["docker", "exec", other, "python", "-c", DIRECT_EXEC, f"{pod['status']['hostIP']}:10250",
                              target, "/home/kubemu/node/ca.crt", stem], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert direct("").startswith("UNAVAILABLE")
    assert direct("/home/kubemu/node/node") == (f"PERMISSION_DENIED Forbidden (user=system:node:{other}, verb=create, "
                                                "resource=nodes, subresource(s)=[proxy])")


def test_killing_etcd_loses_nothing_acknowledged(stack, api):
    acknowledged = {}
    for i in range(30):
        cm = api.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": f"ack-{i}", "namespace": "default"},
                                       "data": {"i": str(i)}})
        acknowledged[cm["metadata"]["name"]] = cm["metadata"]["resourceVersion"]
    t0 = time.monotonic()
    assert stack.chaos("kill", "etcd").rstrip().endswith(" kill etcd: done")
    assert stack.containers("etcd") == []  # no longer running
    outage = stack.client(retry_timeout_s=0)
    try:
        with pytest.raises(errors.APIError) as raised:
            outage.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "during-outage", "namespace": "default"}})
        assert raised.value.reason in ("ServiceUnavailable", "Timeout", "InternalError"), raised.value
    finally:
        outage.close()
    assert stack.chaos("start", "etcd").rstrip().endswith(" start etcd: done")
    wait_for(lambda: api.get("configmaps", "ack-0", "default"), timeout_s=60, interval_s=0.5,
             message="the apiserver to answer again after etcd restarted")
    recovered_s = time.monotonic() - t0
    for name, rv in acknowledged.items():
        cm = api.get("configmaps", name, "default")
        assert cm["metadata"]["resourceVersion"] == rv
        assert cm["data"] == {"i": name.split("-")[1]}
    assert api.get("pods", "web", "default")["status"]["phase"] == "Running"
    api.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "after-outage", "namespace": "default"}})
    # Every node keeps heart-beating after the outage.
    wait_for(lambda: len([n for n in api.list("nodes").items if _ready(n) == "True"]) == KUBELETS, timeout_s=60,
             interval_s=0.5, message="all nodes Ready after the etcd restart")
    print(f"etcd kill -> start -> API answers: {recovered_s:.1f}s")


@pytest.fixture(scope="module")
def stopped_node(stack):
    """Stop a kubelet container that runs one of a Deployment's pods."""
    c = stack.client()
    try:
        c.create("deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "movers", "namespace": "default"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "movers"}},
                     "template": {"metadata": {"labels": {"app": "movers"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
        wait_for(lambda: len([p for p in c.list("pods", "default", label_selector="app=movers").items
                              if p["status"].get("phase") == "Running"]) == 3,
                 timeout_s=90, interval_s=0.5, message="3 Deployment pods Running")
        node = c.list("pods", "default", label_selector="app=movers").items[0]["spec"]["nodeName"]
        before = c.get("leases", node, "kube-node-lease")["spec"]["renewTime"]
        stack.stopped_at = time.monotonic()
        out = stack.chaos("stop", "kubelet", node)  # the kubelet container whose hostname is the node
        assert out.startswith("docker stop ") and out.rstrip().endswith(": done"), out
        assert node not in [c[:12] for c in stack.containers("kubelet")]
        yield {"node": node, "renewTime": before}
    finally:
        c.close()


def test_stopped_kubelet_stops_renewing_its_lease(stack, api, stopped_node):
    node = stopped_node["node"]
    others = [n["metadata"]["name"] for n in api.list("nodes").items if n["metadata"]["name"] != node]
    last = api.get("leases", node, "kube-node-lease")["spec"]["renewTime"]
    before_others = {n: api.get("leases", n, "kube-node-lease")["spec"]["renewTime"] for n in others}
    time.sleep(3 * LEASE_RENEW_S + 1)
    assert api.get("leases", node, "kube-node-lease")["spec"]["renewTime"] == last, "the stopped node renewed"
    for n in others:
        assert api.get("leases", n, "kube-node-lease")["spec"]["renewTime"] != before_others[n], f"{n} stopped too"


def test_stopped_kubelet_node_goes_not_ready(stack, api, stopped_node):
    wait_for(lambda: _ready(api.get("nodes", stopped_node["node"])) != "True", timeout_s=90, interval_s=1,
             message=f"node {stopped_node['node']} NotReady after its kubelet stopped")
    print(f"kubelet stopped -> node not Ready: {time.monotonic() - stack.stopped_at:.1f}s")


def test_stopped_kubelet_managed_pods_move(stack, api, stopped_node):
    node = stopped_node["node"]

    def moved() -> bool:
        pods = [p for p in api.list("pods", "default", label_selector="app=movers").items
                if not p["metadata"].get("deletionTimestamp")]
        running = [p for p in pods if p["status"].get("phase") == "Running" and p["spec"].get("nodeName") != node]
        return len(running) == 3

    wait_for(moved, timeout_s=150, interval_s=1, message="the Deployment's 3 pods Running on the other nodes")
    print(f"kubelet stopped -> Deployment pods Running elsewhere: {time.monotonic() - stack.stopped_at:.1f}s")
