"""Trace recording switched off: ``KUBEMU_TRACING=false kubemu up`` (every component it starts reads
the variable as ``--no-tracing``). A Deployment's pod then runs as usual, carries no trace
annotation, no component keeps a span about it, and ``kubemu trace`` says why there is nothing
to show; ``apply --trace`` says so too instead of waiting for steps that never come.
"""

from __future__ import annotations

import pytest

from kubemu.cluster import ClusterDir
from machinery import tracing
from machinery.client import Credentials, make_channel
from machinery.pb import component_pb2, component_pb2_grpc
from tests.helpers import wait_for
from tests.test_supervisor import Cluster, kubemu

pytestmark = pytest.mark.e2e

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: quiet}
spec:
  replicas: 1
  selector: {matchLabels: {app: quiet}}
  template:
    metadata: {labels: {app: quiet}}
    spec:
      containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(str(tmp_path_factory.mktemp("traceoff") / "c"))
    try:
        result = kubemu("up", "--cluster-dir", c.dir.path, "--ports", "auto", "--nodes", "1", "--timeout", "60",
                        env={"KUBEMU_TRACING": "false"}, timeout_s=180)
        assert result.returncode == 0, result.stdout + result.stderr
        yield c
    finally:
        c.teardown()


def spans_about(cluster: Cluster, component: dict, name: str) -> int:
    """How many spans a component's own ``Component/Spans`` keeps about pod ``default/name`` (asked
    as the apiserver asks: kubelets answer only its client certificate)."""
    client = f"{cluster.dir.path}/pki/apiserver-kubelet-client"
    creds = Credentials(ca_file=component.get("caFile", ""), cert_file=f"{client}.crt", key_file=f"{client}.key")
    with make_channel(component["grpcAddress"], creds) as channel:
        answer = component_pb2_grpc.ComponentStub(channel).Spans(
            component_pb2.SpansRequest(namespace="default", name=name), timeout=10)
    return len(answer.spans)


def test_with_tracing_off_pods_run_untraced_and_trace_says_why(cluster, tmp_path):
    manifest = tmp_path / "quiet.yaml"
    manifest.write_text(DEPLOYMENT)
    assert cluster.run("kubectl", "apply", "-f", str(manifest)).returncode == 0
    client = ClusterDir(cluster.dir.path).api_client(retry_timeout_s=10.0)
    try:
        def running_pod():
            pods = client.list("pods", "default", label_selector="app=quiet").items
            return next((p for p in pods if (p.get("status") or {}).get("phase") == "Running"), None)

        pod = wait_for(running_pod, timeout_s=90, message="the Deployment's pod Running")
    finally:
        client.close()
    assert tracing.object_context(pod) is None
    assert tracing.ANNOTATION not in (pod["metadata"].get("annotations") or {})

    name = pod["metadata"]["name"]
    shown = cluster.run("trace", "pod", name)
    assert shown.returncode == 1
    assert f'no trace of pod "{name}" in namespace "default": it was created with tracing off' in shown.stderr

    components = cluster.components()
    for component in ("scheduler", "controller-manager", "node-1"):
        assert spans_about(cluster, components[component], name) == 0, component

    solo = tmp_path / "solo.yaml"
    solo.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: solo}\n"
                    "spec: {containers: [{name: c, image: busybox, command: [sleep, '3600']}]}\n")
    traced = cluster.run("kubectl", "apply", "-f", str(solo), "--trace", "--trace-timeout", "30s", timeout_s=90)
    assert traced.stdout.startswith("pod/solo created\n"), traced.stdout + traced.stderr
    assert (traced.returncode, traced.stderr) == (1, 'error: cannot gather the trace of pod default/solo: no trace of '
                                                     'pod "solo" in namespace "default": it was created with tracing '
                                                     'off\n')
