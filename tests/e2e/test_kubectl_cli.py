"""``kubemu kubectl`` as a user runs it after ``make up``: a real ``kubemu up`` cluster, every command a
real CLI process. ``get`` and ``describe`` are compared with what the real kubectl prints for the same
command on the same cluster (through the REST API); ``apply`` and ``exec`` are checked for kubectl's
exact output."""

from __future__ import annotations

import os
import re
import subprocess
import uuid

import pytest

from kubelet.runtime import uts
from tests.helpers import wait_for
from tests.test_supervisor import kubemu

pytestmark = pytest.mark.e2e

KUBECTL = os.path.join(os.path.dirname(os.path.realpath("/usr/bin/kubectl")), "kubectl.1.32")
AGE = re.compile(r"\b\d+[smhdy](\d+[smhd])?\b")


def masked(text: str) -> str:
    """Output with ages (which move between two runs) masked, and so column widths that follow them."""
    return re.sub(r" +", " ", AGE.sub("AGE", text))


class Clients:
    def __init__(self, cdir):
        self.cdir = cdir

    def kubemu(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = kubemu("kubectl", "--cluster-dir", self.cdir.path, *args, timeout_s=60)
        assert not check or result.returncode == 0, f"kubemu kubectl {' '.join(args)}: {result.stdout}{result.stderr}"
        return result

    def real(self, *args: str) -> subprocess.CompletedProcess:
        if not os.access(KUBECTL, os.X_OK):
            pytest.skip(f"no real kubectl at {KUBECTL}")
        return subprocess.run([KUBECTL, "--kubeconfig", self.cdir.kubeconfig_path, *args], capture_output=True,
                              text=True, timeout=60)


@pytest.fixture(scope="module")
def cli(up_cluster) -> Clients:
    return Clients(up_cluster)


@pytest.fixture
def ns(cli) -> str:
    name = f"cli-{uuid.uuid4().hex[:6]}"
    assert cli.kubemu("create", "namespace", name).stdout == f"namespace/{name} created\n"
    return name


def wait_phase(cli: Clients, ns: str, pod: str, phase: str = "Running") -> None:
    wait_for(lambda: cli.kubemu("get", "pod", pod, "-n", ns, "-o", "jsonpath={.status.phase}",
                                check=False).stdout == phase, timeout_s=60, message=f"pod {pod} {phase}")


POD = """apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {{app: web{extra}}}
spec:
  containers:
  - name: web
    image: nginx
    ports:
    - containerPort: 80
"""


# --------------------------------------------------------------------------- apply and describe


def test_apply_reapply_and_describe_a_running_pod(cli, ns, tmp_path):
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD.format(extra=""))
    assert cli.kubemu("apply", "-f", str(manifest), "-n", ns).stdout == "pod/web created\n"
    wait_phase(cli, ns, "web")
    assert cli.kubemu("apply", "-f", str(manifest), "-n", ns).stdout == "pod/web unchanged\n"
    manifest.write_text(POD.format(extra=", tier: front"))
    assert cli.kubemu("apply", "-f", str(manifest), "-n", ns).stdout == "pod/web configured\n"
    wait_for(lambda: len(events(cli.kubemu("describe", "pod", "web", "-n", ns).stdout)) >= 5, timeout_s=30,
             message="the kubelet's events")

    described = cli.kubemu("describe", "pod", "web", "-n", ns).stdout
    for pattern in (r"^Name:\s+web$", rf"^Namespace:\s+{ns}$", r"^Node:\s+node-\d/127\.1\.0\.\d$",
                    r"^Labels:\s+app=web\n\s+tier=front$", r"^Status:\s+Running$",
                    # Where the pod's trace continues (docs/trace.md): the one annotation kubemu adds.
                    r"^Annotations:\s+trace\.kubemu\.io/traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-01$",
                    r"^IP:\s+127\.\d+\.\d+\.\d+$", r"^Containers:\n  web:$", r"^    Image:\s+nginx$",
                    r"^    Port:\s+80/TCP$", r"^    State:\s+Running$", r"^    Ready:\s+True$",
                    r"^Conditions:\n  Type\s+Status$", r"^  Ready\s+True\s*$", r"^QoS Class:\s+BestEffort$",
                    r"^Events:\n  Type\s+Reason\s+Age\s+From\s+Message$"):
        assert re.search(pattern, described, re.M), f"{pattern!r} not in:\n{described}"
    got = events(described)
    node = re.search(r"^Node:\s+(node-\d)/", described, re.M).group(1)
    assert ("Normal", "Scheduled", "default-scheduler", f"Successfully assigned {ns}/web to {node}") in got
    assert {("Normal", reason, "kubelet") for reason in ("Pulling", "Pulled", "Created", "Started")} <= \
        {e[:3] for e in got}
    # The real kubectl describes the same pod the same way (its events come in another order).
    real = cli.real("describe", "pod", "web", "-n", ns).stdout
    assert described.split("\nEvents:")[0] == real.split("\nEvents:")[0]
    assert set(events(real)) == set(events(described))


def events(described: str) -> list[tuple[str, ...]]:
    """(type, reason, from, message) of each line of describe's Events table."""
    table = described.split("\nEvents:\n", 1)[-1].splitlines()[2:]
    return [tuple(re.split(r"\s{2,}", line.strip(), maxsplit=4)[i] for i in (0, 1, 3, 4)) for line in table
            if len(re.split(r"\s{2,}", line.strip())) >= 5]


# --------------------------------------------------------------------------- get, against the real kubectl


JOB = """apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: ["true"]}]
"""


def test_get_prints_what_the_real_kubectl_prints(cli, ns, tmp_path):
    (tmp_path / "job.yaml").write_text(JOB)
    cli.kubemu("create", "deployment", "web", "--image=nginx", "--replicas=2", "-n", ns)
    cli.kubemu("run", "solo", "--image=nginx", "--labels=app=solo,tier=front", "-n", ns)
    cli.kubemu("apply", "-f", str(tmp_path / "job.yaml"), "-n", ns)
    wait_for(lambda: cli.kubemu("get", "deploy", "web", "-n", ns, "-o", "jsonpath={.status.readyReplicas}",
                                check=False).stdout == "2", timeout_s=90, message="web ready")
    wait_phase(cli, ns, "solo")
    wait_for(lambda: cli.kubemu("get", "job", "once", "-n", ns, "-o", "jsonpath={.status.succeeded}",
                                check=False).stdout == "1", timeout_s=60, message="job done")
    wait_for(lambda: "Completed" in cli.kubemu("get", "pods", "-n", ns, "-l", "job-name=once").stdout,
             timeout_s=30, message="job pod Completed")
    pod = cli.kubemu("get", "pods", "-n", ns, "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}").stdout
    commands = [
        ["get", "all"], ["get", "deploy,rs,pods"], ["get", "pods,nodes"], ["get", "pods,deploy", "web"],
        ["get", f"pod/{pod}", "deploy/web", "pod/solo"], ["get", "pod/solo", "pod/missing"],
        ["get", "all", "-o", "name"], ["get", "all", "-o", "wide"], ["get", "pods,deploy", "--no-headers"],
        ["get", "pods", "--show-labels"], ["get", "pods", "-L", "app,tier", "-L", "example.com/team"],
        ["get", "pods", "-l", "app=web", "--show-labels", "-o", "wide"], ["get", "pods", "-l", "app in (solo)"],
        ["get", "pods", "--field-selector", "status.phase=Running", "-o", "name"],
        ["get", "pods", "--sort-by=.metadata.name", "-o", "name"], ["get", "pods", "--sort-by=.metadata.labels.app"],
        ["get", "pods", "-o", "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app,IMAGES:spec.containers[*]"
                              ".image,PORTS:.spec.containers[0].ports"],
        ["get", "pods", "-o", 'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}'],
        ["get", "pod", "solo", "-o", "jsonpath={.metadata.labels} {.spec.containers[*].name} {.nope}"],
        ["get", "deploy", "web", "-o", 'jsonpath={.status.conditions[?(@.type=="Available")].status}'],
        ["get", "pods,deploy", "-o", "jsonpath={.items[*].kind}"], ["get", "deploy", "web", "-o", "yaml"],
        ["get", "pods,deploy", "-l", "nothing=here"], ["get", "pods,deploy", "-w"], ["get", "all", "solo"],
        ["get", "pods", "-o", "name", "--sort-by=.spec.nope"],
    ]
    for command in commands:
        ours, real = cli.kubemu(*command, "-n", ns, check=False), cli.real(*command, "-n", ns)
        assert ours.returncode == real.returncode, (command, ours.stderr, real.stderr)
        assert masked(ours.stdout) == masked(real.stdout), (command, ours.stdout, real.stdout)
        assert ours.stderr.splitlines()[:1] == real.stderr.splitlines()[:1], (command, ours.stderr, real.stderr)
    everywhere = cli.kubemu("get", "pods,nodes", "-A", "--show-labels").stdout
    assert masked(everywhere) == masked(cli.real("get", "pods,nodes", "-A", "--show-labels").stdout)


def test_get_watch_prints_changes(cli, ns):
    watch = subprocess.Popen([*kubemu_argv(cli), "get", "pods", "-n", ns, "-w", "-o", "name"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        cli.kubemu("run", "watched", "--image=nginx", "-n", ns)
        assert watch.stdout.readline() == "pod/watched\n"
    finally:
        watch.kill()
        watch.wait()


def kubemu_argv(cli: Clients) -> list[str]:
    import sys

    return [sys.executable, "-m", "kubemu.cli", "kubectl", "--cluster-dir", cli.cdir.path]


# --------------------------------------------------------------------------- exec


def test_exec_prints_the_pods_hostname(cli, ns, tmp_path):
    cli.kubemu("run", "box", "--image=nginx", "-n", ns)
    wait_phase(cli, ns, "box")
    # The kubelets run as this test does: a UTS namespace each container where that is permitted.
    expected = "box\n" if uts.namespaces_permitted() else f"{os.uname().nodename}\n"
    assert cli.kubemu("exec", "box", "-n", ns, "--", "hostname").stdout == expected
    assert cli.real("exec", "box", "-n", ns, "--", "hostname").stdout == expected
    assert cli.kubemu("exec", "box", "-n", ns, "--", "sh", "-c", "echo $HOSTNAME").stdout == "box\n"
    assert os.uname().nodename != "box"  # the node's own name is untouched
