"""``kubemu trace`` end to end: a 3-node cluster of real processes (``kubemu up``), one node cordoned.

A Deployment's pod yields one trace with every step, in causal order, from all four components
(the controller manager's reconcile, the apiserver's authentication, authorization, admission,
validation and etcd write, the scheduler's queue, per-node verdicts, scores and bind, the kubelet's
watch delivery, sandbox IP, image, each container created then started with its pid, readiness and
status writes); ``apply --trace`` adds the client's own steps; a pod that fits nowhere ends at the
scheduler with its reason; the HTML page renders in headless Chromium with one swimlane per process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

import pytest
import yaml

from kubemu.cluster import client_credentials
from machinery.client import APIClient
from tests.helpers import wait_for
from tests.test_supervisor import Cluster

pytestmark = pytest.mark.e2e

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
      - {name: setup, image: busybox, command: ["true"]}
      containers:
      - name: nginx
        image: nginx
        ports: [{containerPort: 80}]
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}
"""
POD = """
apiVersion: v1
kind: Pod
metadata: {name: solo}
spec:
  containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
"""
HUGE = """
apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers:
  - {name: c, image: busybox, command: [sleep, "3600"], resources: {requests: {cpu: "500"}}}
"""
# The steps of a Deployment pod's life, in the causal order the trace must show them.
STORY = [("controller-manager", "create pod"), ("apiserver", "create pods"), ("scheduler", "scheduling queue"),
         ("scheduler", "schedule"), ("scheduler", "bind"), ("apiserver", "bind pods/binding"),
         ("kubelet", "watch delivered pod"), ("kubelet", "create sandbox"), ("kubelet", "pull image"),
         ("kubelet", "create container"), ("kubelet", "start container"), ("kubelet", "container ready")]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(str(tmp_path_factory.mktemp("trace")))
    c.up("--nodes", "3")
    c.files = tmp_path_factory.mktemp("manifests")
    with open(c.dir.kubeconfig_path) as f:
        creds = client_credentials(yaml.safe_load(f), os.path.dirname(c.dir.kubeconfig_path))
    c.api = APIClient(c.dir.read_kubeconfig()[0], creds, retry_timeout_s=10)

    def cordon(node: dict) -> None:
        node["spec"]["unschedulable"] = True

    c.api.mutate("nodes", "node-1", "", cordon)
    yield c
    c.api.close()
    c.teardown()


def manifest(cluster, name: str, text: str) -> str:
    path = cluster.files / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


@pytest.fixture(scope="module")
def web_pod(cluster) -> dict:
    result = cluster.run("kubectl", "apply", "-f", manifest(cluster, "web", DEPLOYMENT))
    assert result.returncode == 0, result.stderr

    def ready_pod():
        pods = cluster.api.list("pods", "default", label_selector="app=web").items
        return next((p for p in pods if ready(p)), None)

    return wait_for(ready_pod, timeout_s=90, message="the Deployment's pod Ready")


def trace_json(cluster, name: str) -> dict:
    result = cluster.run("trace", "pod", name, "-n", "default", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def first(steps: list[dict], component: str, name: str, start: int = 0, **where) -> int:
    for i in range(start, len(steps)):
        s = steps[i]
        if s["component"] == component and s["name"] == name and \
                all(s["attributes"].get(k) == v for k, v in where.items()):
            return i
    raise AssertionError(f"no {component} step {name!r} {where or ''} after step {start}: "
                         f"{[(s['component'], s['name']) for s in steps]}")


def test_a_deployment_pod_trace_tells_every_step_in_causal_order(cluster, web_pod):
    trace = trace_json(cluster, web_pod["metadata"]["name"])
    steps = trace["steps"]
    assert {s["component"] for s in steps} >= {"controller-manager", "apiserver", "scheduler", "kubelet"}
    assert all(s["traceId"] == trace["traceId"] for s in steps)
    assert not [s for s in trace["sources"] if s.get("error")], trace["sources"]
    at, positions = 0, {}
    for component, name in STORY:
        at = first(steps, component, name, at)
        positions[name] = steps[at]
    running = steps[first(steps, "kubelet", "write status", steps.index(positions["start container"]),
                          phase="Running")]
    ready_write = first(steps, "kubelet", "write status", at)
    assert steps[ready_write]["attributes"]["conditions"]["Ready"] == "True", "readiness, then its status write"

    cm = positions["create pod"]["attributes"]
    assert cm["controller"] == "replicaset" and cm["owner"].startswith("ReplicaSet default/web-")
    assert cm["ownerControlledBy"] == "Deployment web" and "want 1" in cm["reason"]

    create = positions["create pods"]
    a = create["attributes"]
    assert create["parentSpanId"] == positions["create pod"]["spanId"], "the controller's step caused the create"
    assert a["user"] == "system:kube-controller-manager" and a["authentication"] in ("bearer token",
                                                                                    "client certificate")
    assert a["authorization"].startswith('RBAC: allowed by ClusterRoleBinding "system:kube-controller-manager"')
    assert re.search(r"\(rule: verbs=\[.+\] .*resources=\[.+\]\)$", a["authorization"]), "the rule that matched"
    plugins = [(p["phase"], p["plugin"]) for p in a["admission"]]
    assert plugins.index(("mutating", "ServiceAccount")) < plugins.index(("validating", "NamespaceLifecycle"))
    service_account = next(p for p in a["admission"] if p["plugin"] == "ServiceAccount")
    assert {"op": "add", "path": "/spec/serviceAccountName", "value": "default"} in service_account["patch"]
    assert a["validation"] == "passed"
    assert a["etcdKey"] == f"/registry/pods/default/{web_pod['metadata']['name']}" and create["writeRevision"] > 0

    schedule = positions["schedule"]["attributes"]
    chosen = schedule["selected"]
    assert chosen == web_pod["spec"]["nodeName"] != "node-1"
    verdicts = {n["node"]: n for n in schedule["nodes"]}
    assert verdicts["node-1"]["feasible"] is False and verdicts["node-1"]["rejectedBy"] == "NodeUnschedulable"
    assert verdicts["node-1"]["reasons"] == ["node(s) were unschedulable"]
    assert verdicts[chosen]["scores"] and verdicts[chosen]["total"] > 0
    assert positions["bind pods/binding"]["attributes"]["node"] == chosen

    delivered = positions["watch delivered pod"]
    assert delivered["identity"] == chosen and delivered["readRevision"] >= positions["bind pods/binding"][
        "writeRevision"]
    assert positions["create sandbox"]["attributes"]["podIP"] == web_pod["status"]["podIP"]
    # Each container, init first, created (attempt 0), then started with its pid; the app's image before.
    created = positions["create container"]["attributes"]
    assert (created["container"], created["kind"], created["attempt"]) == ("setup", "init", 0)
    init = positions["start container"]["attributes"]
    assert (init["container"], init["kind"]) == ("setup", "init") and init["pid"] > 0
    app_created = first(steps, "kubelet", "create container", steps.index(positions["start container"]) + 1,
                        container="nginx")
    assert (steps[app_created]["attributes"]["kind"], steps[app_created]["attributes"]["attempt"]) == ("app", 0)
    app_at = first(steps, "kubelet", "start container", app_created + 1, container="nginx")
    assert steps[app_at]["attributes"]["kind"] == "app" and steps[app_at]["attributes"]["pid"] > 0
    assert first(steps, "kubelet", "pull image", image="nginx") < app_created
    assert positions["container ready"]["attributes"]["readinessProbe"].startswith("httpGet")
    assert running["writeRevision"] > 0
    status_write = next(s for s in steps if s["parentSpanId"] == running["spanId"])
    assert status_write["component"] == "apiserver" and status_write["name"] == "update pods/status"
    assert status_write["writeRevision"] == running["writeRevision"]


def test_the_terminal_timeline_is_indented_by_component(cluster, web_pod):
    result = cluster.run("trace", "pod", web_pod["metadata"]["name"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    column = {c: next(line.index(f" {c}") for line in lines if f" {c}" in line and "—" in line)
              for c in ("controller-manager", "apiserver", "scheduler", "kubelet")}
    assert column["controller-manager"] < column["apiserver"] < column["scheduler"] < column["kubelet"]
    assert "node-1: rejected by NodeUnschedulable: node(s) were unschedulable" in result.stdout
    assert "<- chosen" in result.stdout and "authorized: RBAC: allowed by ClusterRoleBinding" in result.stdout
    delivered = next(line for line in lines if ": watch delivered pod" in line)
    assert re.search(r"read rev \d+, [\d.]+ m?s after (bind pods/binding|update pods)", delivered), delivered


def test_apply_trace_adds_the_clients_steps(cluster):
    result = cluster.run("kubectl", "apply", "-f", manifest(cluster, "solo", POD), "--trace", timeout_s=150)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith("pod/solo created\n")
    for step in ("kubectl: kubectl apply", "apiserver", ": create pods", "scheduler: schedule", ": bind pods/binding",
                 ": watch delivered pod", ": create container", ": start container", "kubectl: watch saw pod Running"):
        assert step in out, step
    assert out.index("kubectl: kubectl apply") < out.index(": create pods") < out.index("scheduler: schedule") < \
        out.index(": create container") < out.index(": start container") < out.index("kubectl: watch saw pod Running")


def test_a_pending_pods_trace_ends_at_the_scheduler_with_the_reason(cluster):
    result = cluster.run("kubectl", "apply", "-f", manifest(cluster, "huge", HUGE), "--trace", "--trace-timeout",
                         "5s", timeout_s=90)
    assert result.returncode == 1
    assert "pod default/huge is not Running after 5s: waiting for the scheduler: Unschedulable: 0/3 nodes are " \
           "available" in result.stderr
    trace = trace_json(cluster, "huge")
    story = [s for s in trace["steps"] if s["component"] != "apiserver" or s["name"] == "create pods"]
    last = story[-1]
    assert (last["component"], last["name"]) == ("scheduler", "schedule")
    assert "1 node(s) were unschedulable" in last["error"] and "2 Insufficient cpu" in last["error"]
    assert {n["rejectedBy"] for n in last["attributes"]["nodes"]} == {"NodeUnschedulable", "NodeResourcesFit"}
    text = cluster.run("trace", "pod", "huge").stdout
    assert "stuck at scheduler: schedule failed: 0/3 nodes are available" in text


def png_colors(path: str) -> tuple[int, int, int]:
    """(width, height, distinct colours) of an 8-bit RGB(A) PNG, decoded here (no imaging library)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color_type = header[:4]
    assert depth == 8 and color_type in (2, 6), f"unexpected PNG format {header}"
    bpp = 3 if color_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    previous, colors = bytearray(stride), set()
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        if y % 4 == 0:
            colors.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp * 2))
        previous = line
    return width, height, len(colors)


def test_the_html_page_renders_a_swimlane_per_process(cluster, web_pod, tmp_path):
    page = tmp_path / "trace.html"
    result = cluster.run("trace", "pod", web_pod["metadata"]["name"], "--html", str(page))
    assert result.returncode == 0, result.stderr
    html = page.read_text()
    assert "<script" not in html and "<link" not in html, "self-contained: no scripts, no external assets"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): the page was written but not rendered")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with tempfile.TemporaryDirectory() as profile:
        shot = tmp_path / "trace.png"
        subprocess.run([chromium, *flags, f"--user-data-dir={profile}", f"--screenshot={shot}",
                        "--window-size=1280,900", f"file://{page}"], capture_output=True, timeout=120, check=False)
        assert shot.exists(), "chromium wrote no screenshot"
        width, height, colors = png_colors(str(shot))
        assert (width, height) == (1280, 900) and colors > 8, f"a blank page? {colors} colours"
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([chromium, *flags, f"--user-data-dir={profile}", "--dump-dom", f"file://{page}"],
                             capture_output=True, text=True, timeout=120, check=False).stdout
    lanes = [line for line in dom.split("<g ")[1:] if line.startswith('class="swimlane"')]
    components = sorted(lane.split('data-component="')[1].split('"')[0] for lane in lanes)
    assert components == sorted(["controller-manager", "apiserver", "scheduler", "kubelet"])
