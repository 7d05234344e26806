"""The real kubectl (1.27, 1.32, 1.33) and the official Python client against a cluster of real
processes started by ``kubemu up``, through the REST API (apiserver/rest/).

Every step compares what kubectl prints with what it prints against Kubernetes: column headers,
the ``<kind>/<name> <verb>`` lines, error wording, ``explain``'s layout. One cluster for the whole
module keeps the suite fast.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid

import pytest
import yaml

from kubemu.cluster import ClusterDir
from tests.helpers import wait_for
from tests.test_supervisor import down_and_reap, kubemu

pytestmark = pytest.mark.e2e

KUBECTL_DIR = os.path.dirname(os.path.realpath("/usr/bin/kubectl"))
VERSIONS = ("1.27", "1.32", "1.33")



def kubectl_binary(version: str) -> str:
    path = os.path.join(KUBECTL_DIR, f"kubectl.{version}")
    if not os.access(path, os.X_OK):
        pytest.skip(f"kubectl {version} is not installed beside the dispatcher ({path})")
    return path


class Kubectl:
    def __init__(self, kubeconfig: str):
        self.kubeconfig = kubeconfig

    def __call__(self, version: str, *args: str, stdin: str | None = None, timeout_s: float = 60,
                 check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([kubectl_binary(version), "--kubeconfig", self.kubeconfig, *args], input=stdin,
                                capture_output=True, text=True, timeout=timeout_s)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {version} {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}{result.stderr}")
        return result

    def popen(self, version: str, *args: str) -> subprocess.Popen:
        return subprocess.Popen([kubectl_binary(version), "--kubeconfig", self.kubeconfig, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


@pytest.fixture(scope="module")
def cluster_dir(tmp_path_factory):
    cdir = ClusterDir(str(tmp_path_factory.mktemp("realkubectl") / "c"))
    result = kubemu("up", "--cluster-dir", cdir.path, "--ports", "auto", "--nodes", "2", "--no-merge-kubeconfig",
                    timeout_s=180)
    assert result.returncode == 0, result.stdout + result.stderr
    yield cdir
    down_and_reap(cdir)


@pytest.fixture(scope="module")
def k(cluster_dir) -> Kubectl:
    return Kubectl(cluster_dir.kubeconfig_path)


@pytest.fixture
def ns(k) -> str:
    name = f"rk-{uuid.uuid4().hex[:6]}"
    assert k("1.27", "create", "namespace", name).stdout == f"namespace/{name} created\n"
    return name


def header(output: str) -> list[str]:
    return re.split(r"\s{2,}", output.splitlines()[0].strip())


def wait_running(k: Kubectl, ns: str, name: str) -> None:
    k("1.32", "wait", "-n", ns, "--for=condition=Ready", f"pod/{name}", "--timeout=60s", timeout_s=70)


POD = """apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  containers:
  - name: web
    image: {image}
    ports:
    - containerPort: 80
"""


# --------------------------------------------------------------------------- discovery and reads


def test_version_and_get_nodes_with_every_kubectl(k):
    for version in VERSIONS:
        out = k(version, "get", "nodes").stdout
        assert header(out) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
        rows = out.splitlines()[1:]
        assert [r.split()[:3] for r in rows] == [["node-1", "Ready", "<none>"], ["node-2", "Ready", "<none>"]]
        assert all(r.split()[-1] == "v1.32.0" for r in rows)
    wide = k("1.33", "get", "no", "-o", "wide").stdout
    assert header(wide) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE",
                            "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    version = json.loads(k("1.32", "version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == "v1.32.0"


def test_short_names_and_api_resources(k):
    out = k("1.33", "api-resources").stdout
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert header(out) == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert re.match(r"pods\s+po\s+v1\s+true\s+Pod", rows["pods"])
    assert re.match(r"deployments\s+deploy\s+apps/v1\s+true\s+Deployment", rows["deployments"])
    assert k("1.27", "get", "ns", "default", "--no-headers").stdout.split()[:2] == ["default", "Active"]


# --------------------------------------------------------------------------- pods


def test_run_get_describe_logs_exec_delete(k, ns):
    assert k("1.33", "run", "web", "-n", ns, "--image=nginx").stdout == "pod/web created\n"
    wait_running(k, ns, "web")
    out = k("1.27", "get", "pods", "-n", ns).stdout
    assert header(out) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert out.splitlines()[1].split()[:4] == ["web", "1/1", "Running", "0"]
    wide = k("1.32", "get", "pods", "-n", ns, "-o", "wide").stdout
    assert header(wide) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE",
                            "READINESS GATES"]
    row = wide.splitlines()[1].split()
    assert row[5].startswith("127.") and row[6] in ("node-1", "node-2") and row[7:] == ["<none>", "<none>"], wide
    everywhere = k("1.33", "get", "pods", "-A").stdout
    assert header(everywhere)[:2] == ["NAMESPACE", "NAME"]
    assert any(line.split()[:2] == [ns, "web"] for line in everywhere.splitlines())
    assert "run=web" in k("1.33", "get", "pods", "-n", ns, "--show-labels").stdout
    pod = yaml.safe_load(k("1.33", "get", "pod", "web", "-n", ns, "-o", "yaml").stdout)
    assert (pod["kind"], pod["metadata"]["name"], pod["status"]["phase"]) == ("Pod", "web", "Running")
    as_json = json.loads(k("1.27", "get", "pod", "web", "-n", ns, "-o", "json").stdout)
    assert as_json["spec"]["containers"][0]["image"] == "nginx"
    ip = k("1.32", "get", "pod", "web", "-n", ns, "-o", "jsonpath={.status.podIP}").stdout
    assert ip == pod["status"]["podIP"] and ip.startswith("127.")

    described = k("1.33", "describe", "pod", "web", "-n", ns).stdout
    assert re.search(r"^Name:\s+web$", described, re.M) and re.search(r"^Status:\s+Running$", described, re.M)
    assert re.search(r"^Namespace:\s+" + ns, described, re.M) and "Events:" in described
    assert re.search(r"Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned " + ns + "/web",
                     described)

    assert "listening on" in k("1.33", "logs", "web", "-n", ns).stdout
    follow = k.popen("1.32", "logs", "-f", "web", "-n", ns)
    try:
        assert "listening on" in follow.stdout.readline()
        assert follow.poll() is None  # -f keeps the stream open
    finally:
        follow.kill()
        follow.wait()

    for version in ("1.32", "1.33"):
        assert k(version, "exec", "web", "-n", ns, "--", "echo", "hello").stdout == "hello\n"
    failed = k("1.33", "exec", "web", "-n", ns, "--", "sh", "-c", "echo oops >&2; exit 3", check=False)
    assert (failed.returncode, failed.stderr) == (3, "oops\ncommand terminated with exit code 3\n")
    assert k("1.33", "exec", "-i", "web", "-n", ns, "--", "cat", stdin="from stdin\n").stdout == "from stdin\n"
    old = k("1.27", "exec", "web", "-n", ns, "--", "true", check=False)  # SPDY only: not served
    assert old.returncode == 1 and "not SPDY: use kubectl 1.30 or newer" in old.stderr

    screen = exec_in_terminal(k, ns, "web", b"echo hello-tty\r", b"exit 5\r", expect_code=5)
    assert "# echo hello-tty\r\nhello-tty\r\n# " in screen  # typed, echoed, run, prompted again

    events = wait_for(lambda: (out := k("1.33", "get", "events", "-n", ns).stdout)
                      and re.search(r"Normal\s+Scheduled\s+pod/web\s+Successfully assigned", out)
                      and "Started container web" in out and out,
                      timeout_s=15, message="the Scheduled and Started events in kubectl get events")
    assert header(events) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    # As against Kubernetes: the kubelet's events in the order they happened, in its wording.
    rows = [re.split(r"\s{2,}", line.strip(), maxsplit=4) for line in events.splitlines()[1:]]
    kubelet = [(reason, message) for _, _, reason, obj, message in rows if obj == "pod/web" and
               reason != "Scheduled"]
    assert kubelet[0] == ("Pulling", 'Pulling image "nginx"'), events
    assert [r for r, _ in kubelet] == ["Pulling", "Pulled", "Created", "Started"], events
    assert re.fullmatch(r'Successfully pulled image "nginx" in [\d.]+m?s \([\d.]+m?s including waiting\)\. '
                        r"Image size: \d+ bytes\.", kubelet[1][1]), events
    assert kubelet[2:] == [("Created", "Created container: web"), ("Started", "Started container web")], events
    described = k("1.33", "describe", "pod", "web", "-n", ns).stdout
    table = described[described.index("Events:"):].splitlines()
    assert re.split(r"\s{2,}", table[1].strip()) == ["Type", "Reason", "Age", "From", "Message"]
    assert [line.split()[1] for line in table[3:] if "kubelet" in line] == ["Pulling", "Pulled", "Created",
                                                                             "Started"], described

    assert k("1.33", "delete", "pod", "web", "-n", ns).stdout == 'pod "web" deleted\n'
    gone = k("1.27", "get", "pod", "web", "-n", ns, check=False)
    assert gone.returncode == 1 and gone.stderr == 'Error from server (NotFound): pods "web" not found\n'


def exec_in_terminal(k: Kubectl, ns: str, pod: str, *typed: bytes, expect_code: int) -> str:
    """``kubectl exec -it POD -- sh`` on a pseudo-terminal: type ``typed``; the screen's text."""
    import pty
    import select

    controller, terminal = pty.openpty()
    proc = subprocess.Popen([kubectl_binary("1.33"), "--kubeconfig", k.kubeconfig, "exec", "-it", pod, "-n", ns,
                             "--", "sh"], stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True)
    os.close(terminal)
    screen = b""

    def read_until(marker: bytes) -> None:
        nonlocal screen
        deadline = time.monotonic() + 30
        while marker not in screen and time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if ready:
                try:
                    screen += os.read(controller, 4096)
                except OSError:
                    return

    try:
        read_until(b"# ")
        for line in typed:
            os.write(controller, line)
            read_until(line.strip().split()[-1] + b"\r\n")
        assert proc.wait(timeout=30) == expect_code
        read_until(b"\0")  # whatever is left
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(controller)
    return screen.decode(errors="replace")


def test_get_watch_prints_rows_as_they_change(k, ns):
    k("1.27", "run", "w0", "-n", ns, "--image=nginx")
    watch = k.popen("1.33", "get", "pods", "-n", ns, "-w")
    try:
        lines = [watch.stdout.readline() for _ in range(2)]  # the list is printed: the watch follows from it
        assert header(lines[0]) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        assert lines[1].split()[0] == "w0"
        k("1.27", "run", "w1", "-n", ns, "--image=nginx")
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(s.split()[:3] == ["w1", "1/1", "Running"] for s in seen):
            seen.append(watch.stdout.readline())
        rows = [s.split()[:3] for s in seen if s.startswith("w1 ")]
        assert rows[0] == ["w1", "0/1", "Pending"] and rows[-1] == ["w1", "1/1", "Running"], seen
        assert not any(s.startswith("NAME") for s in seen)  # the header is printed once
    finally:
        watch.kill()
        watch.wait()


def test_apply_twice_then_server_side(k, ns, tmp_path):
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD.format(name="app", image="nginx"))
    assert k("1.27", "apply", "-n", ns, "-f", str(manifest)).stdout == "pod/app created\n"
    manifest.write_text(POD.format(name="app", image="nginx:1.27"))
    assert k("1.32", "apply", "-n", ns, "-f", str(manifest)).stdout == "pod/app configured\n"
    assert k("1.33", "apply", "-n", ns, "-f", str(manifest)).stdout == "pod/app unchanged\n"
    image = k("1.33", "get", "pod", "app", "-n", ns, "-o", "jsonpath={.spec.containers[0].image}").stdout
    assert image == "nginx:1.27"
    ssa = tmp_path / "cm.yaml"
    ssa.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: '1'\n")
    assert k("1.33", "apply", "--server-side", "-n", ns, "-f", str(ssa)).stdout == \
        "configmap/settings serverside-applied\n"
    cm = json.loads(k("1.33", "get", "cm", "settings", "-n", ns, "-o", "json", "--show-managed-fields").stdout)
    assert [(m["manager"], m["operation"]) for m in cm["metadata"]["managedFields"]] == [("kubectl", "Apply")]
    out = k("1.33", "get", "cm", "-n", ns).stdout
    assert header(out) == ["NAME", "DATA", "AGE"] and out.splitlines()[1].split()[:2] == ["settings", "1"]


# --------------------------------------------------------------------------- workloads


def test_deployment_scale_rollout_set_image_undo(k, ns, tmp_path):
    assert k("1.27", "create", "deployment", "web", "-n", ns, "--image=nginx").stdout == \
        "deployment.apps/web created\n"
    assert k("1.32", "scale", "deployment", "web", "-n", ns, "--replicas=2").stdout == "deployment.apps/web scaled\n"
    done = k("1.27", "rollout", "status", "deployment/web", "-n", ns, "--timeout=90s", timeout_s=100).stdout
    assert done.endswith('deployment "web" successfully rolled out\n')
    out = k("1.33", "get", "deploy", "-n", ns).stdout
    assert header(out) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert out.splitlines()[1].split()[:4] == ["web", "2/2", "2", "2"]
    assert k("1.33", "set", "image", "deployment/web", "nginx=nginx:1.27", "-n", ns).stdout == \
        "deployment.apps/web image updated\n"
    k("1.33", "rollout", "status", "deployment/web", "-n", ns, "--timeout=90s", timeout_s=100)
    assert k("1.32", "rollout", "undo", "deployment/web", "-n", ns).stdout == "deployment.apps/web rolled back\n"
    k("1.32", "rollout", "status", "deployment/web", "-n", ns, "--timeout=90s", timeout_s=100)
    image = k("1.33", "get", "deploy", "web", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert image.stdout == "nginx"
    rs = k("1.33", "get", "rs", "-n", ns, "-o", "wide").stdout
    assert header(rs) == ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]

    applied = tmp_path / "web.yaml"
    applied.write_text(yaml.safe_dump({"apiVersion": "apps/v1", "kind": "Deployment",
                                       "metadata": {"name": "web", "namespace": ns},
                                       "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                                                "template": {"metadata": {"labels": {"app": "web"}},
                                                             "spec": {"containers": [{"name": "nginx",
                                                                                      "image": "nginx"}]}}}}))
    conflict = k("1.33", "apply", "--server-side", "-f", str(applied), check=False)
    assert conflict.returncode == 1
    assert conflict.stderr.startswith("error: Apply failed with 1 conflict: conflict with \"kubectl.1.32\" "
                                      "using apps/v1: .spec.replicas\nPlease review the fields above")
    forced = k("1.33", "apply", "--server-side", "--force-conflicts", "-f", str(applied))
    assert forced.stdout == "deployment.apps/web serverside-applied\n"
    assert k("1.33", "get", "deploy", "web", "-n", ns, "-o", "jsonpath={.spec.replicas}").stdout == "3"


def test_services_expose_create_get_describe_and_apply(k, ns, cluster_dir, tmp_path):
    assert k("1.27", "create", "deployment", "web", "-n", ns, "--image=nginx", "--replicas=2").stdout == \
        "deployment.apps/web created\n"
    assert k("1.32", "expose", "deployment", "web", "-n", ns, "--port", "80").stdout == "service/web exposed\n"
    assert k("1.33", "expose", "deployment", "web", "-n", ns, "--name", "web-np", "--type", "NodePort",
             "--port", "8080", "--target-port", "80").stdout == "service/web-np exposed\n"
    assert k("1.32", "create", "service", "clusterip", "cs", "-n", ns, "--tcp=80:8080", "--tcp=443").stdout == \
        "service/cs created\n"
    assert k("1.27", "create", "service", "nodeport", "np", "-n", ns, "--tcp=80:8080").stdout == \
        "service/np created\n"
    assert k("1.33", "create", "service", "clusterip", "headless", "-n", ns, "--clusterip=None").stdout == \
        "service/headless created\n"
    k("1.27", "rollout", "status", "deployment/web", "-n", ns, "--timeout=90s", timeout_s=100)
    out = k("1.32", "get", "svc", "-n", ns, "-o", "wide").stdout
    assert header(out) == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["web"][1:2] + rows["web"][3:5] + rows["web"][6:] == ["ClusterIP", "<none>", "80/TCP", "app=web"]
    assert rows["headless"][1:5] == ["ClusterIP", "None", "<none>", "<none>"]
    assert rows["cs"][4] == "80/TCP,443/TCP"
    assert re.fullmatch(r"8080:3\d{4}/TCP", rows["web-np"][4]) and rows["web-np"][1] == "NodePort"
    octet = json.load(open(os.path.join(cluster_dir.path, "plan.json")))["podNetworkOctet"]
    assert rows["web"][2].startswith(f"127.{octet - 100}.")

    def two_endpoints() -> bool:
        ep = k("1.33", "get", "ep", "web", "-n", ns).stdout
        assert header(ep) == ["NAME", "ENDPOINTS", "AGE"]
        return len(ep.splitlines()[1].split()[1].split(",")) == 2

    wait_for(two_endpoints, timeout_s=30, message="two endpoints of web")
    slices = k("1.32", "get", "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=web").stdout
    assert header(slices) == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert slices.splitlines()[1].split()[1:3] == ["IPv4", "80"]
    described = k("1.33", "describe", "svc", "web-np", "-n", ns).stdout
    for line in ("Selector:                 app=web", "Type:                     NodePort",
                 "IP Family Policy:         SingleStack", "TargetPort:               80/TCP",
                 "External Traffic Policy:  Cluster"):
        assert line in described.splitlines(), described
    assert re.search(r"^Endpoints:\s+127\.\d+\.\d+\.\d+:80,127\.", described, re.M), described
    assert re.search(r"^NodePort:\s+<unset>\s+3\d{4}/TCP$", described, re.M), described
    # client-side apply merges ports by number (ServiceSpec's patch merge key): a second apply changes nothing
    manifest = tmp_path / "svc.yaml"
    manifest.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "applied",
                                                                                          "namespace": ns},
                                        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}))
    assert k("1.32", "apply", "-f", str(manifest)).stdout == "service/applied created\n"
    assert k("1.32", "apply", "-f", str(manifest)).stdout == "service/applied unchanged\n"
    taken = k("1.33", "get", "svc", "web", "-n", ns, "-o", "jsonpath={.spec.clusterIP}").stdout
    manifest.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "thief",
                                                                                          "namespace": ns},
                                        "spec": {"clusterIP": taken, "ports": [{"port": 80}]}}))
    refused = k("1.33", "apply", "-f", str(manifest), check=False)
    assert refused.returncode == 1
    assert f'The Service "thief" is invalid: spec.clusterIPs: Invalid value: []string{{"{taken}"}}: ' \
           f"failed to allocated ip:{taken} with error:provided IP is already allocated" in refused.stderr
    explained = k("1.33", "explain", "service.spec.sessionAffinity").stdout
    assert "KIND:       Service" in explained and "FIELD: sessionAffinity <string>" in explained


def test_typed_creates_of_newer_kubectl(k):
    """kubectl ≥ 1.32 sends these bodies as Kubernetes protobuf (1.27 as JSON)."""
    for version in VERSIONS:
        ns = f"pb-{uuid.uuid4().hex[:6]}"
        assert k(version, "create", "namespace", ns).stdout == f"namespace/{ns} created\n"
        created = [
            (("deployment", "d", "--image=nginx", "--replicas=0"), "deployment.apps/d created"),
            (("configmap", "c", "--from-literal=a=b"), "configmap/c created"),
            (("secret", "generic", "s", "--from-literal=a=b"), "secret/s created"),
            (("serviceaccount", "sa"), "serviceaccount/sa created"),
            (("role", "r", "--verb=get", "--resource=pods"), "role.rbac.authorization.k8s.io/r created"),
            (("rolebinding", "rb", "--role=r", "--user=u"), "rolebinding.rbac.authorization.k8s.io/rb created"),
            (("job", "j", "--image=busybox", "--", "true"), "job.batch/j created"),
            (("quota", "q", "--hard=pods=5,cpu=2"), "resourcequota/q created"),
        ]
        for args, printed in created:
            assert k(version, "create", "-n", ns, *args).stdout == printed + "\n"
        deployment = json.loads(k(version, "get", "deploy", "d", "-n", ns, "-o", "json").stdout)
        assert deployment["spec"]["replicas"] == 0  # a pointer set to zero survives the protobuf body
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"
        assert k(version, "get", "secret", "s", "-n", ns, "-o", "jsonpath={.data.a}").stdout == "Yg=="
        assert k(version, "get", "quota", "q", "-n", ns, "-o", "jsonpath={.spec.hard.cpu}").stdout == "2"
        assert k(version, "auth", "can-i", "create", "pods").stdout == "yes\n"
        if version != "1.27":  # whoami is 1.28+
            whoami = k(version, "auth", "whoami").stdout
            assert header(whoami) == ["ATTRIBUTE", "VALUE"] and re.search(r"^Username\s+admin$", whoami, re.M)
    suffix = uuid.uuid4().hex[:6]
    assert k("1.33", "create", "clusterrole", f"cr-{suffix}", "--verb=get", "--resource=pods").stdout == \
        f"clusterrole.rbac.authorization.k8s.io/cr-{suffix} created\n"
    assert k("1.32", "create", "clusterrolebinding", f"crb-{suffix}", f"--clusterrole=cr-{suffix}",
             "--user=u").stdout == f"clusterrolebinding.rbac.authorization.k8s.io/crb-{suffix} created\n"
    assert k("1.33", "create", "priorityclass", f"pc-{suffix}", "--value=7").stdout == \
        f"priorityclass.scheduling.k8s.io/pc-{suffix} created\n"


# --------------------------------------------------------------------------- authorization and errors


def test_auth_can_i_yes_and_no(k, ns):
    for version in VERSIONS:  # 1.32 and 1.33 send the SelfSubjectAccessReview as protobuf
        assert k(version, "auth", "can-i", "create", "pods", "-n", ns).stdout == "yes\n"
        no = k(version, "auth", "can-i", "create", "pods", "-n", ns, "--as", "jane", check=False)
        assert (no.returncode, no.stdout) == (1, "no\n")
    k("1.27", "create", "rolebinding", "jane-edit", "--clusterrole=edit", "--user=jane", "-n", ns)
    for version in VERSIONS:
        assert k(version, "auth", "can-i", "create", "pods", "-n", ns, "--as", "jane").stdout == "yes\n"
    denied = k("1.27", "get", "pods", "-n", "default", "--as", "jane", check=False)
    assert denied.stderr == ('Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource '
                             '"pods" in API group "" in the namespace "default"\n')


def test_bad_input_gets_kubectls_usual_messages(k, cluster_dir, tmp_path):
    bad = k("1.33", "run", "Bad_Name", "--image=nginx", check=False)
    assert bad.returncode == 1
    assert bad.stderr.startswith('The Pod "Bad_Name" is invalid: \n* metadata.name: Invalid value: "Bad_Name": '
                                 "a lowercase RFC 1123 subdomain must consist of")
    missing = k("1.27", "run", "x", "--image=nginx", "-n", "no-such-ns", check=False)
    assert missing.stderr == 'Error from server (NotFound): namespaces "no-such-ns" not found\n'
    assert k("1.32", "get", "pods", "-n", "no-such-ns").stderr == "No resources found in no-such-ns namespace.\n"
    # Resources and kinds of a named group are qualified by it, as Kubernetes' messages name them.
    bad_deploy = k("1.32", "create", "deployment", "Bad", "--image=nginx", check=False)
    assert bad_deploy.stderr.startswith('error: failed to create deployment: Deployment.apps "Bad" is invalid: '
                                        'metadata.name: Invalid value: "Bad": a lowercase RFC 1123 subdomain')
    ghost = k("1.27", "delete", "deployment", "ghost", check=False)
    assert ghost.stderr == 'Error from server (NotFound): deployments.apps "ghost" not found\n'
    assert k("1.33", "scale", "deployment", "ghost", "--replicas=1", check=False).stderr == \
        'error: no objects passed to scale deployments.apps "ghost" not found\n'
    k("1.33", "create", "job", "once", "--image=busybox", "--", "true")
    twice = k("1.33", "create", "job", "once", "--image=busybox", "--", "true", check=False)
    assert twice.stderr == 'error: failed to create job: jobs.batch "once" already exists\n'
    k("1.33", "delete", "job", "once")
    denied = k("1.32", "get", "deployments", "-n", "default", "--as", "jane", check=False)
    assert denied.stderr == ('Error from server (Forbidden): deployments.apps is forbidden: User "jane" cannot list '
                             'resource "deployments" in API group "apps" in the namespace "default"\n')
    unknown_type = k("1.33", "get", "frobnicators", check=False)
    assert unknown_type.stderr == 'error: the server doesn\'t have a resource type "frobnicators"\n'
    doc = yaml.safe_load(open(cluster_dir.kubeconfig_path))
    doc["users"][0]["user"]["token"] = "not-a-token"
    wrong = tmp_path / "wrong.kubeconfig"
    wrong.write_text(yaml.safe_dump(doc))
    unauthorized = Kubectl(str(wrong))("1.33", "get", "pods", check=False)
    assert unauthorized.stderr.strip().endswith("error: You must be logged in to the server (Unauthorized)")


def test_unknown_field_with_strict_validation(k, ns, tmp_path):
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(POD.format(name="typo", image="nginx").replace("    image:", "    imagePullPolice: x\n"
                                                                                      "    image:"))
    for version in VERSIONS:
        for verb in ("create", "apply"):
            result = k(version, verb, "-n", ns, "-f", str(manifest), check=False)
            assert (result.returncode, result.stderr) == (1, (
                'Error from server (BadRequest): error when creating "' + str(manifest) + '": Pod in version "v1" '
                'cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagePullPolice"'
                "\n"))
    assert k("1.33", "get", "pod", "typo", "-n", ns, check=False).returncode == 1  # nothing was stored
    warned = k("1.33", "create", "--validate=warn", "-n", ns, "-f", str(manifest))
    assert (warned.stdout, warned.stderr) == ("pod/typo created\n",
                                              'Warning: unknown field "spec.containers[0].imagePullPolice"\n')


def test_a_value_of_the_wrong_type_is_a_bad_request(k, ns, tmp_path):
    manifest = tmp_path / "typed.yaml"
    manifest.write_text(POD.format(name="typed", image="nginx") + "    env:\n    - name: Y\n")  # YAML 1.1: true
    for version in VERSIONS:
        for verb in ("create", "apply"):
            result = k(version, verb, "-n", ns, "-f", str(manifest), check=False)
            assert (result.returncode, result.stderr) == (1, (
                f'Error from server (BadRequest): error when creating "{manifest}": Pod in version "v1" cannot be '
                "handled as a Pod: json: cannot unmarshal bool into Go struct field EnvVar.spec.containers.env.name "
                "of type string\n"))
    assert k("1.33", "get", "pod", "typed", "-n", ns, check=False).returncode == 1  # nothing was stored


def test_explain_pod_spec(k):
    for version in VERSIONS:
        out = k(version, "explain", "pod.spec").stdout
        assert out.startswith("KIND:       Pod\nVERSION:    v1\n\nFIELD: spec <PodSpec>\n")
        assert re.search(r"^  containers\t<\[\]Container> -required-\n    \S", out, re.M), out
        enum = "  enum: Always, Never, OnFailure\n" if version != "1.27" else ""  # 1.27 prints no enums
        assert re.search(r"^  restartPolicy\t<string>\n" + enum + r"    When the kubelet restarts", out, re.M), out
    v2 = k("1.27", "explain", "deployment.spec.strategy", "--output=plaintext-openapiv2").stdout  # /openapi/v2
    assert v2.startswith("KIND:     Deployment\nVERSION:  apps/v1\n\nRESOURCE: strategy <Object>\n")
    assert re.search(r"^   rollingUpdate\t<Object>\n     The pace of a rolling update", v2, re.M), v2
    limits = k("1.33", "explain", "pod.spec.containers.resources.limits").stdout
    assert "FIELD: limits <map[string]Quantity>\n" in limits


def test_explain_deployment_strategy(k):
    out = k("1.33", "explain", "deployment.spec.strategy").stdout
    assert out.startswith("GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n\n"
                          "FIELD: strategy <DeploymentStrategy>\n")
    fields = out[out.index("FIELDS:\n"):]
    assert re.search(r"^  rollingUpdate\t<RollingUpdateDeployment>\n    \S", fields, re.M), out
    assert re.search(r"^  type\t<string>\n  enum: Recreate, RollingUpdate\n    \S", fields, re.M), out
    missing = k("1.33", "explain", "pod.spec.frobnicate", check=False)
    assert (missing.returncode, missing.stderr) == (1, 'error: field "frobnicate" does not exist\n')


# --------------------------------------------------------------------------- the official Python client


def test_python_client_lists_creates_watches_and_deletes_pods(cluster_dir, ns):
    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes import client, config, watch

    api = client.CoreV1Api(config.new_client_from_config(cluster_dir.kubeconfig_path))
    assert api.list_namespaced_pod(ns).items == []
    created = api.create_namespaced_pod(ns, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "py"},
                                             "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    assert created.metadata.uid and created.kind == "Pod"
    phases = []
    stream = watch.Watch()
    for event in stream.stream(api.list_namespaced_pod, ns, field_selector="metadata.name=py", timeout_seconds=60):
        phases.append((event["type"], event["object"].status.phase))
        if event["object"].status.phase == "Running":
            stream.stop()
    assert phases[0] == ("ADDED", "Pending") and phases[-1] == ("MODIFIED", "Running")
    assert [p.metadata.name for p in api.list_namespaced_pod(ns).items] == ["py"]
    api.delete_namespaced_pod("py", ns)
    wait_for(lambda: not api.list_namespaced_pod(ns).items, timeout_s=30, message="pod py gone")
    with pytest.raises(kubernetes.client.exceptions.ApiException) as failure:
        api.read_namespaced_pod("py", ns)
    assert failure.value.status == 404
