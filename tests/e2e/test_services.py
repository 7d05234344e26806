"""Services end to end on a ``kubemu up`` cluster (2 nodes, free ports, its own loopback service range):
the apiserver allocates, the controllers publish endpoints, every node's kube-proxy forwards.

A Deployment of two nginx pods exposed with ``kubemu kubectl expose`` answers on its cluster IP
from the host, from both pods (the nginx emulation names the pod that served); scaled to zero
its cluster IP refuses connections, scaled back it serves again; a NodePort Service answers on
every node's IP; a pod reaches a Service from inside (exec) through the environment variables the
kubelet gave it; the ``kubernetes`` Service reaches the apiserver over TLS with the cluster CA;
killing kube-proxies and starting them again through ``kubemu chaos`` loses, then restores,
service; ``kubemu status`` shows the proxies and they serve /healthz and /metrics.
"""

from __future__ import annotations

import ipaddress
import json
import re
import ssl
import urllib.error
import urllib.request

import pytest

from kubemu import pod_networks
from kubemu.cluster import process_alive
from tests.helpers import wait_for
from tests.test_supervisor import Cluster

pytestmark = pytest.mark.e2e

SERVED_BY = re.compile(r"Served by pod <b>([^<]+)</b>")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(str(tmp_path_factory.mktemp("services")))
    try:
        c.up("--nodes", "2", "--no-merge-kubeconfig")
        yield c
    finally:
        proxies = [(comp["pid"], comp.get("createTime")) for comp in c.components().values()
                   if comp["kind"] == "kube-proxy" and comp.get("pid")]
        c.teardown()
        assert not [pid for pid, ct in proxies if process_alive(pid, ct)], "kubemu down stops the kube-proxies"


@pytest.fixture(scope="module")
def api(cluster):
    client = cluster.dir.api_client(retry_timeout_s=10)
    yield client
    client.close()


def kubectl(cluster: Cluster, *args: str) -> str:
    out = cluster.run("kubectl", *args)
    assert out.returncode == 0, f"kubectl {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def served_by(url: str, timeout_s: float = 5.0) -> str:
    """Which pod answered ``GET url`` (an error propagates: refused, reset, timeout)."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        body = response.read().decode()
    match = SERVED_BY.search(body)
    assert match, body
    return match.group(1)


def refused(url: str) -> bool:
    try:
        served_by(url, timeout_s=3)
    except urllib.error.URLError as e:
        return isinstance(e.reason, ConnectionRefusedError)
    except ConnectionError:
        return False  # reset by a proxy still catching up: not yet refused
    return False


def pods_of(api, selector: str) -> set[str]:
    return {f"default/{p['metadata']['name']}" for p in api.list("pods", "default", label_selector=selector).items
            if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")}


@pytest.fixture(scope="module")
def web(cluster, api):
    """Deployment web (2 nginx) exposed on port 80; its cluster IP."""
    kubectl(cluster, "create", "deployment", "web", "--image=nginx", "--replicas=2")
    assert kubectl(cluster, "expose", "deployment", "web", "--port", "80") == "service/web exposed\n"
    wait_for(lambda: len(pods_of(api, "app=web")) == 2, timeout_s=60, message="two web pods running")
    return api.get("services", "web", "default")["spec"]["clusterIP"]


def test_the_cluster_ip_is_in_the_clusters_loopback_service_range(cluster, web):
    octet = (cluster.dir.read_plan() or {})["podNetworkOctet"]
    assert ipaddress.IPv4Address(web) in ipaddress.IPv4Network(pod_networks.service_cidr(octet))
    table = kubectl(cluster, "get", "svc", "web")
    assert table.split("\n")[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert table.split("\n")[1].split()[:5] == ["web", "ClusterIP", web, "<none>", "80/TCP"]


def test_connections_to_the_cluster_ip_reach_both_pods(api, web):
    url = f"http://{web}/"
    expected = pods_of(api, "app=web")
    seen: set[str] = set()

    def both() -> bool:
        seen.add(served_by(url))
        return seen == expected

    wait_for(both, timeout_s=30, interval_s=0.05, message=f"both pods {expected} answering on {url}")


def test_scaled_to_zero_the_cluster_ip_refuses_and_scaled_back_it_serves(cluster, api, web):
    url = f"http://{web}/"
    kubectl(cluster, "scale", "deployment", "web", "--replicas=0")
    wait_for(lambda: refused(url), timeout_s=60, message="connections refused without endpoints")
    assert "<none>" in kubectl(cluster, "get", "endpoints", "web")
    kubectl(cluster, "scale", "deployment", "web", "--replicas=2")
    wait_for(lambda: len(pods_of(api, "app=web")) == 2, timeout_s=60, message="two web pods again")
    wait_for(lambda: served_by(url) in pods_of(api, "app=web"), timeout_s=30, message="served again")


def test_a_node_port_answers_on_every_node(cluster, api, web):
    assert kubectl(cluster, "expose", "deployment", "web", "--name", "web-np", "--type", "NodePort",
                   "--port", "8080", "--target-port", "80") == "service/web-np exposed\n"
    node_port = api.get("services", "web-np", "default")["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    for node in api.list("nodes").items:
        ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        wait_for(lambda ip=ip: served_by(f"http://{ip}:{node_port}/") in pods_of(api, "app=web"), timeout_s=30,
                 message=f"node port {node_port} on {ip}")


def test_a_pod_reaches_a_service_from_inside_through_its_environment(cluster, api, web):
    client_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "namespace": "default"},
                  "spec": {"terminationGracePeriodSeconds": 0, "containers": [{
                      "name": "c", "image": "python", "command": ["python", "-c", "import time; time.sleep(3600)"]}]}}
    api.create("pods", client_pod)
    wait_for(lambda: api.get("pods", "client", "default")["status"].get("phase") == "Running", timeout_s=60,
             message="the client pod running")
    env = dict(line.split("=", 1) for line in kubectl(cluster, "exec", "client", "--", "env").splitlines()
               if "=" in line)
    svc = api.get("services", "web", "default")["spec"]
    assert env["WEB_SERVICE_HOST"] == web and env["WEB_SERVICE_PORT"] == "80"
    assert env["WEB_PORT"] == f"tcp://{web}:80" and env["WEB_PORT_80_TCP_ADDR"] == web
    assert env["KUBERNETES_SERVICE_HOST"] == api.get("services", "kubernetes", "default")["spec"]["clusterIP"]
    assert env["KUBERNETES_SERVICE_PORT"] == "443"
    script = ("import os, urllib.request; url = 'http://%s:%s/' % (os.environ['WEB_SERVICE_HOST'], "
              "os.environ['WEB_SERVICE_PORT']); print(urllib.request.urlopen(url, timeout=5).read().decode())")
    page = kubectl(cluster, "exec", "client", "--", "python", "-c", script)
    assert SERVED_BY.search(page).group(1) in pods_of(api, "app=web")
    assert svc["clusterIP"] == web


def test_the_kubernetes_service_reaches_the_apiserver_over_tls(cluster, api):
    octet = (cluster.dir.read_plan() or {})["podNetworkOctet"]
    first = str(ipaddress.IPv4Network(pod_networks.service_cidr(octet)).network_address + 1)
    svc = api.get("services", "kubernetes", "default")
    assert svc["spec"]["clusterIP"] == first and svc["spec"]["ports"][0]["port"] == 443
    context = ssl.create_default_context(cafile=f"{cluster.dir.path}/pki/ca.crt")
    with urllib.request.urlopen(f"https://{first}/version", context=context, timeout=5) as response:
        assert json.load(response)["gitVersion"].startswith("v1.")
    endpoints = kubectl(cluster, "get", "endpoints", "kubernetes").splitlines()[1].split()
    rest = (cluster.dir.read_plan() or {})["restServers"][0]
    assert endpoints[1] == rest.split("://", 1)[1]


def test_kube_proxies_come_back_after_being_killed(cluster, api, web):
    url = f"http://{web}/"
    kinds = {name: comp for name, comp in cluster.components().items() if comp["kind"] == "kube-proxy"}
    assert sorted(kinds) == ["kube-proxy-node-1", "kube-proxy-node-2"]
    out = cluster.run("chaos", "kill", "kube-proxy", "node-1")
    assert out.returncode == 0, out.stdout + out.stderr
    assert all(served_by(url) in pods_of(api, "app=web") for _ in range(10)), "node-2's proxy serves alone"
    out = cluster.run("chaos", "kill", "kube-proxy-node-2")
    assert out.returncode == 0, out.stdout + out.stderr
    assert refused(url), "no proxy left: nothing listens on the cluster IP"
    for name in kinds:
        out = cluster.run("chaos", "restart", name)
        assert out.returncode == 0, out.stdout + out.stderr
    wait_for(lambda: served_by(url) in pods_of(api, "app=web"), timeout_s=30, message="service after the restart")


def test_status_healthz_and_metrics_of_the_proxies(cluster, web):
    out = cluster.run("status")
    rows: dict[str, list[str]] = {}
    for line in out.stdout.splitlines():  # the component table first; the metrics table repeats the names
        if line.strip():
            rows.setdefault(line.split()[0], line.split())
    for name in ("kube-proxy-node-1", "kube-proxy-node-2"):
        assert rows[name][3] == "SERVING", out.stdout
        comp = cluster.components()[name]
        with urllib.request.urlopen(comp["healthzAddress"], timeout=5) as response:
            assert json.load(response)["nodeEligible"] is True
        with urllib.request.urlopen(comp["metricsAddress"], timeout=5) as response:
            text = response.read().decode()
        assert "kubeproxy_sync_proxy_rules_last_timestamp_seconds " in text
        assert re.search(r"kubeproxy_userspace_listeners \d", text)
