"""Prometheus metrics of a real cluster (``kubemu up --ports auto``): every component's
``/metrics`` parses with the Prometheus text parser, and the named series move when pods and a
ReplicaSet are created — through gRPC (the Python client) and REST alike.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import wait_for
from tests.test_supervisor import Cluster

pytestmark = pytest.mark.e2e

NODES = 2
PAUSE = "registry.k8s.io/pause:3.9"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(str(tmp_path_factory.mktemp("metrics")))
    try:
        c.up("--nodes", str(NODES))
        yield c
    finally:
        c.teardown()


def get(url: str, *, ca: str = "", token: str = "", accept: str = "text/plain") -> tuple[int, str]:
    headers = {"Accept": accept, **({"Authorization": f"Bearer {token}"} if token else {})}
    context = ssl.create_default_context(cafile=ca) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10, context=context) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def token(cluster: Cluster, identity: str) -> str:
    with open(f"{cluster.dir.path}/pki/tokens/{identity}.token") as f:
        return f.read().strip()


class Metrics:
    """Every component's samples, parsed with prometheus_client's text parser."""

    def __init__(self, cluster: Cluster):
        self.comps = {name: c for name, c in cluster.components().items() if c.get("metricsAddress")}
        self.monitoring = token(cluster, "kubemu-monitoring")

    def scrape(self, name: str) -> list:
        comp = self.comps[name]
        code, text = get(comp["metricsAddress"], ca=comp.get("caFile", ""),
                         token=self.monitoring if comp["kind"] == "apiserver" else "")
        assert code == 200, f"{name}: HTTP {code}: {text[:300]}"
        return [s for family in text_string_to_metric_families(text) for s in family.samples]

    def value(self, names: str | list[str], sample: str, **labels: str) -> float:
        """The sum of ``sample`` over components ``names`` (one or several) and matching labels."""
        total = 0.0
        for name in [names] if isinstance(names, str) else names:
            total += sum(s.value for s in self.scrape(name)
                         if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()))
        return total


def pod(name: str, labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": PAUSE}], "terminationGracePeriodSeconds": 1}}


def test_every_component_serves_parsable_metrics_with_process_series(cluster):
    m = Metrics(cluster)
    assert set(m.comps) == {"etcd", "apiserver", "scheduler", "controller-manager", "node-1", "node-2",
                            "kube-proxy-node-1", "kube-proxy-node-2"}
    for name in m.comps:
        samples = {s.name for s in m.scrape(name)}
        assert {"process_cpu_seconds_total", "process_resident_memory_bytes"} <= samples, name
    assert m.value("scheduler", "leader_election_master_status", name="kube-scheduler") == 1
    assert m.value("controller-manager", "leader_election_master_status", name="kube-controller-manager") == 1
    assert m.value("node-1", "kubelet_node_name", node="node-1") == 1
    wait_for(lambda: m.value("kube-proxy-node-1", "kubeproxy_sync_proxy_rules_last_timestamp_seconds") > 0,
             timeout_s=30, message="node-1's kube-proxy to have synced")
    wait_for(lambda: m.value("node-1", "kubelet_node_lease_renewals_total", result="success") >= 1,
             timeout_s=30, message="node-1's lease renewals to be counted")


def test_the_apiserver_metrics_need_the_monitoring_group_or_masters(cluster):
    comp = cluster.components()["apiserver"]
    url, ca = comp["metricsAddress"], comp["caFile"]
    assert get(url, ca=ca)[0] == 401
    code, body = get(url, ca=ca, token=token(cluster, "system-node-node-1"))
    assert code == 403 and 'cannot get path \\"/metrics\\"' in body
    assert get(url, ca=ca, token=token(cluster, "admin"))[0] == 200
    assert get(url, ca=ca, token=token(cluster, "kubemu-monitoring"))[0] == 200
    # The monitoring identity reads metrics, not objects.
    assert get(url.replace("/metrics", "/api/v1/pods"), ca=ca, token=token(cluster, "kubemu-monitoring"))[0] == 403


def test_series_move_when_pods_and_a_replicaset_are_created(cluster):
    m = Metrics(cluster)
    kubelets = [f"node-{i}" for i in range(1, NODES + 1)]
    before = {
        "posts": m.value("apiserver", "apiserver_request_total", verb="POST", resource="pods", code="201"),
        "rest_lists": m.value("apiserver", "apiserver_request_total", verb="LIST", resource="pods",
                              scope="namespace", code="200"),
        "pod_events": m.value("apiserver", "apiserver_watch_events_total", kind="Pod"),
        "etcd_creates": m.value("apiserver", "etcd_request_duration_seconds_count", operation="create", type="pods"),
        "scheduled": m.value("scheduler", "scheduler_schedule_attempts_total", result="scheduled"),
        "rs_adds": m.value("controller-manager", "workqueue_adds_total", name="replicaset"),
        "started": m.value(kubelets, "kubelet_pod_start_duration_seconds_count"),
    }
    client = cluster.dir.api_client(retry_timeout_s=10.0)
    try:
        client.create("pods", pod("solo"), namespace="default")
        client.create("replicasets", {
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "metrics-rs"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "metrics-rs"}},
                     "template": {"metadata": {"labels": {"app": "metrics-rs"}},
                                  "spec": pod("x")["spec"]}}}, namespace="default")
    finally:
        client.close()
    # One REST list through the HTTPS API, as the real kubectl would.
    rest = cluster.components()["apiserver"]
    code, body = get(rest["metricsAddress"].replace("/metrics", "/api/v1/namespaces/default/pods"),
                     ca=rest["caFile"], token=token(cluster, "admin"), accept="application/json")
    assert code == 200 and json.loads(body)["kind"] == "PodList"

    wait_for(lambda: m.value(kubelets, "kubelet_running_pods") == 4, timeout_s=90,
             message="kubelet_running_pods to reach 4 across the nodes")
    wait_for(lambda: m.value(kubelets, "kubelet_running_containers", container_state="running") >= 4,
             timeout_s=30, message="kubelet_running_containers{running} to reach 4")
    wait_for(lambda: m.value(kubelets, "kubelet_pod_start_duration_seconds_count") >= before["started"] + 4,
             timeout_s=30, message="four pod start durations")
    after = m.value("apiserver", "apiserver_request_total", verb="POST", resource="pods", code="201")
    assert after >= before["posts"] + 4  # ours, and the ReplicaSet controller's three
    assert m.value("apiserver", "apiserver_request_total", verb="POST", resource="replicasets", code="201") >= 1
    assert m.value("apiserver", "apiserver_request_total", verb="LIST", resource="pods", scope="namespace",
                   code="200") >= before["rest_lists"] + 1
    assert m.value("apiserver", "apiserver_request_total", verb="POST", resource="pods",
                   subresource="binding", code="201") >= 4
    assert m.value("apiserver", "apiserver_request_duration_seconds_count", verb="POST", resource="pods") >= 4
    assert m.value("apiserver", "apiserver_watch_events_total", kind="Pod") > before["pod_events"]
    assert m.value("apiserver", "etcd_request_duration_seconds_count", operation="create",
                   type="pods") >= before["etcd_creates"] + 4
    assert m.value("scheduler", "scheduler_schedule_attempts_total", result="scheduled") >= before["scheduled"] + 4
    assert m.value("scheduler", "scheduler_scheduling_attempt_duration_seconds_count", result="scheduled") >= 4
    assert m.value("scheduler", "scheduler_pending_pods", queue="active") == 0
    assert m.value("controller-manager", "workqueue_adds_total", name="replicaset") > before["rs_adds"]
    assert m.value("controller-manager", "workqueue_work_duration_seconds_count", name="replicaset") >= 1
    assert any(s.name == "workqueue_depth" and s.labels == {"name": "replicaset"}
               for s in m.scrape("controller-manager"))


def test_status_shows_the_metrics_of_every_component(cluster):
    result = cluster.run("status", "--rate-interval", "0.5")
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines() if line.strip()]
    header = lines.index(["COMPONENT", "METRICS", "LEADER", "QUEUES", "RATES", "(/s)", "CPU", "RSS"])
    end = lines.index(["NODE", "STATUS"])
    rows = {words[0]: words for words in lines[header + 1:end]}
    for name in ("etcd", "apiserver", "scheduler", "controller-manager", "node-1", "node-2"):
        assert rows[name][1] == "up", result.stdout
    assert rows["scheduler"][2] == "yes" and rows["node-1"][2] == "-"
    assert "kubelet-pods=" in " ".join(rows["node-1"]) and "requests=" in " ".join(rows["apiserver"])
    assert "over 0.5s" in result.stdout


def test_a_pod_that_fits_nowhere_moves_the_pending_pods_gauge(cluster):
    """``scheduler_pending_pods{queue="unschedulable"}`` counts a pod no node can take, and drops
    back when it is deleted; its failed attempts count as ``result="unschedulable"``."""
    m = Metrics(cluster)
    before = m.value("scheduler", "scheduler_schedule_attempts_total", result="unschedulable")
    huge = pod("too-big")
    huge["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "500"}}
    client = cluster.dir.api_client(retry_timeout_s=10.0)
    try:
        client.create("pods", huge, namespace="default")
        wait_for(lambda: m.value("scheduler", "scheduler_pending_pods", queue="unschedulable") == 1, timeout_s=30,
                 message='scheduler_pending_pods{queue="unschedulable"} to reach 1')
        assert m.value("scheduler", "scheduler_schedule_attempts_total", result="unschedulable") >= before + 1
        client.delete("pods", "too-big", "default")
    finally:
        client.close()
    wait_for(lambda: m.value("scheduler", "scheduler_pending_pods", queue="unschedulable") == 0, timeout_s=30,
             message="the deleted pod to leave the unschedulable queue")
