"""The seed's pod creation flow across real processes: apply → apiserver → etcd → scheduler →
kubelet → Running with an IP and live processes → status back through the apiserver."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import urllib.request

import psutil
import pytest

from machinery import errors
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e


def nginx(name: str, ns: str, **container) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}],
                                     **container}]}}


def pod_processes(name: str, ns: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["environ"]):
        try:
            env = proc.info["environ"] or {}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if env.get("KUBEMU_POD_NAME") == name and env.get("KUBEMU_POD_NAMESPACE") == ns:
            found.append(proc)
    return found


def running(api, name: str, ns: str) -> dict | None:
    pod = api.get("pods", name, ns)
    return pod if (pod.get("status") or {}).get("phase") == "Running" else None


def etcd_value(cluster, key: str) -> str:
    from kubemu.etcd_server import find_etcd_binary

    etcdctl = find_etcd_binary()[: -len("etcd")] + "etcdctl"
    out = subprocess.run([etcdctl, "--endpoints", cluster.etcd.client_url, "get", key, "--print-value-only"],
                         capture_output=True, text=True, env={"ETCDCTL_API": "3"}, timeout=10)
    return out.stdout.strip()


def test_pod_runs_with_ip_processes_and_etcd_record(cluster, api, ns):
    api.create("pods", nginx("web", ns))
    pod = wait_for(lambda: running(api, "web", ns), timeout_s=30, message="pod Running")
    node, ip = pod["spec"]["nodeName"], pod["status"]["podIP"]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(cluster.node_cidrs[node])
    assert pod["status"]["containerStatuses"][0]["ready"] is True
    assert pod_processes("web", ns), "the container runs as a real OS process"
    # Running means the process started; it answers once it has bound its port (no readiness probe here).
    body = wait_for(lambda: urllib.request.urlopen(f"http://{ip}:80/", timeout=5).read().decode(), timeout_s=10,
                    message="nginx answering on the pod IP")
    assert "Welcome to nginx!" in body
    stored = json.loads(etcd_value(cluster, f"/registry/pods/{ns}/web"))
    assert stored["spec"]["nodeName"] == node and stored["status"]["podIP"] == ip
    # Components record events in the background: they land a moment after the status they describe.
    wait_for(lambda: {"Scheduled", "Pulling", "Pulled", "Created", "Started"}
             <= {e["reason"] for e in api.list("events", ns, field_selector="involvedObject.name=web").items},
             timeout_s=15, message="Scheduled, Pulling, Pulled, Created and Started events")
    # The node now reports the pulled image in status.images (what ImageLocality scores).
    images = wait_for(lambda: [i for i in api.get("nodes", node)["status"].get("images") or []
                               if "docker.io/library/nginx:latest" in i["names"]], timeout_s=30,
                      message="the node reporting the nginx image in status.images")
    assert images[0]["sizeBytes"] == 70_000_000


def test_pods_get_unique_ips(cluster, api, ns):
    for i in range(4):
        api.create("pods", nginx(f"ip-{i}", ns))
    pods = [wait_for(lambda i=i: running(api, f"ip-{i}", ns), timeout_s=30, message="pod Running") for i in range(4)]
    ips = [p["status"]["podIP"] for p in pods]
    assert len(set(ips)) == 4


def test_impossible_cpu_request_stays_pending_with_reason(cluster, api, ns):
    api.create("pods", nginx("huge", ns, resources={"requests": {"cpu": "64"}}))

    def failed_event():
        events = api.list("events", ns, field_selector="involvedObject.name=huge,reason=FailedScheduling").items
        return events[0] if events else None

    event = wait_for(failed_event, timeout_s=20, message="FailedScheduling event")
    assert event["message"] == ("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
                                "2 No preemption victims found for incoming pod.")

    def scheduled_condition():  # written after the event, which is recorded in the background
        conditions = api.get("pods", "huge", ns)["status"].get("conditions") or []
        return next((c for c in conditions if c["type"] == "PodScheduled"), None)

    cond = wait_for(scheduled_condition, timeout_s=20, message="PodScheduled condition")
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    pod = api.get("pods", "huge", ns)
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")


def test_pending_pod_is_scheduled_when_room_appears(cluster, api, ns):
    blockers = [f"block-{i}" for i in (1, 2)]
    for name in blockers:
        api.create("pods", nginx(name, ns, resources={"requests": {"cpu": "1500m"}}))
    for name in blockers:
        wait_for(lambda name=name: running(api, name, ns), timeout_s=30, message=f"{name} Running")
    api.create("pods", nginx("waiter", ns, resources={"requests": {"cpu": "1"}}))
    wait_for(lambda: api.list("events", ns, field_selector="involvedObject.name=waiter,reason=FailedScheduling")
             .items, timeout_s=20, message="waiter unschedulable")
    api.delete("pods", "block-1", ns)
    pod = wait_for(lambda: running(api, "waiter", ns), timeout_s=40, message="waiter Running after room appeared")
    assert pod["spec"]["nodeName"]


def test_delete_stops_processes_and_removes_key(cluster, api, ns):
    api.create("pods", nginx("doomed", ns))
    wait_for(lambda: running(api, "doomed", ns), timeout_s=30, message="pod Running")
    procs = pod_processes("doomed", ns)
    assert procs
    api.delete("pods", "doomed", ns)

    def gone():
        try:
            api.get("pods", "doomed", ns)
            return False
        except errors.NotFound:
            return True

    wait_for(gone, timeout_s=40, message="pod removed after its kubelet confirmed")
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in procs)
    assert etcd_value(cluster, f"/registry/pods/{ns}/doomed") == ""


def test_same_pod_name_in_two_namespaces_runs_twice(cluster, api, ns):
    other = f"{ns}-two"
    api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}})
    api.create("pods", nginx("twin", ns))
    api.create("pods", nginx("twin", other))
    a = wait_for(lambda: running(api, "twin", ns), timeout_s=30, message="first twin Running")
    b = wait_for(lambda: running(api, "twin", other), timeout_s=30, message="second twin Running")
    assert a["metadata"]["uid"] != b["metadata"]["uid"] and a["status"]["podIP"] != b["status"]["podIP"]


def test_crashing_container_restarts_with_backoff(cluster, api, ns):
    api.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crash", "namespace": ns},
                        "spec": {"containers": [{"name": "c", "image": "busybox",
                                                 "command": ["sh", "-c", "echo boom; exit 2"]}]}})

    def restarted_twice():
        statuses = (api.get("pods", "crash", ns).get("status") or {}).get("containerStatuses") or []
        return statuses and statuses[0]["restartCount"] >= 2 and statuses[0]

    status = wait_for(restarted_twice, timeout_s=40, message="two restarts")
    assert status["lastState"]["terminated"]["exitCode"] == 2


def test_deleting_a_namespace_removes_its_pods(cluster, api):
    api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed-ns"}})
    api.create("pods", nginx("inside", "doomed-ns"))
    wait_for(lambda: running(api, "inside", "doomed-ns"), timeout_s=30, message="pod Running")
    api.delete("namespaces", "doomed-ns")
    assert api.get("namespaces", "doomed-ns")["status"]["phase"] == "Terminating"

    def gone():
        try:
            api.get("namespaces", "doomed-ns")
            return False
        except errors.NotFound:
            return True

    wait_for(gone, timeout_s=60, message="namespace gone")
    assert not pod_processes("inside", "doomed-ns")


def test_every_namespace_gets_a_default_service_account(api, ns):
    sa = wait_for(lambda: api.get("serviceaccounts", "default", ns), timeout_s=20, message="default SA")
    assert sa["metadata"]["namespace"] == ns


def test_quota_status_tracks_usage(api, ns):
    api.create("resourcequotas", {"apiVersion": "v1", "kind": "ResourceQuota",
                                  "metadata": {"name": "q", "namespace": ns}, "spec": {"hard": {"pods": "5"}}})
    api.create("pods", nginx("counted", ns))
    wait_for(lambda: (api.get("resourcequotas", "q", ns).get("status") or {}).get("used") == {"pods": "1"},
             timeout_s=20, message="quota status.used current")


def test_pods_reach_each_other_by_ip_on_the_same_node_and_across_nodes(cluster, api, ns):
    """The seed's pod networking: every pod has its own IP, and pods talk by IP, not by container."""
    server = nginx("server", ns)
    server["spec"]["nodeName"] = "node-1"
    api.create("pods", server)
    ip = wait_for(lambda: running(api, "server", ns), timeout_s=30, message="server Running")["status"]["podIP"]
    # Running is not listening: wait until nginx answers before the clients ask once.
    wait_for(lambda: urllib.request.urlopen(f"http://{ip}:80/", timeout=5).status == 200, timeout_s=10,
             message="nginx answering on its pod IP")
    fetch = "import urllib.request, sys; print(urllib.request.urlopen(sys.argv[1], timeout=5).status)"
    for node in ("node-1", "node-2"):
        api.create("pods", {"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": f"client-{node}", "namespace": ns},
                            "spec": {"nodeName": node, "restartPolicy": "Never", "containers": [{
                                "name": "c", "image": "python",
                                "command": ["python", "-c", fetch, f"http://{ip}:80/"]}]}})
    for node in ("node-1", "node-2"):
        client = wait_for(lambda node=node: (p := api.get("pods", f"client-{node}", ns))["status"].get("phase")
                          in ("Succeeded", "Failed") and p, timeout_s=40, message=f"the client on {node} done")
        assert client["status"]["phase"] == "Succeeded", client["status"]
        assert client["status"]["podIP"] != ip  # exit 0: urlopen got a 200 from the server's IP
