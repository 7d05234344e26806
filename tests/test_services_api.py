"""Services through a real apiserver process on a real etcd: defaults, validation, cluster IP and
node port allocation (conflicts, release, concurrency, two apiserver replicas), and the
``kubernetes`` Service the apiservers keep."""

from __future__ import annotations

import ipaddress
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from machinery import errors
from machinery.client import APIClient
from tests.conftest import start_apiserver
from tests.helpers import wait_for

SERVICE_RANGE = ipaddress.IPv4Network("10.96.0.0/12")


def service(name: str, *, ports=None, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": ports or [{"port": 80}], **spec}}


def free_ip(client: APIClient) -> str:
    """An address of the range no Service of the session holds (the session shares one etcd)."""
    used = {s["spec"].get("clusterIP") for s in client.list("services").items}
    while True:
        ip = str(SERVICE_RANGE.network_address + random.randrange(300, SERVICE_RANGE.num_addresses - 2))
        if ip not in used:
            return ip


def test_a_service_gets_a_cluster_ip_from_the_range_and_kubernetes_defaults(client, namespace):
    created = client.create("services", service("web", ports=[{"port": 80, "targetPort": 8080}]), namespace)
    spec = created["spec"]
    assert ipaddress.IPv4Address(spec["clusterIP"]) in SERVICE_RANGE
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    assert spec["type"] == "ClusterIP" and spec["sessionAffinity"] == "None"
    assert spec["ports"] == [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert created["status"] == {"loadBalancer": {}}
    plain = client.create("services", service("plain"), namespace)
    assert plain["spec"]["ports"][0]["targetPort"] == 80
    assert plain["spec"]["clusterIP"] != spec["clusterIP"]


def test_a_requested_ip_that_is_taken_or_outside_the_range_is_invalid_and_nothing_is_stored(client, namespace):
    ip = free_ip(client)
    client.create("services", service("first", clusterIP=ip), namespace)
    with pytest.raises(errors.Invalid) as taken:
        client.create("services", service("second", clusterIP=ip), namespace)
    assert f"failed to allocated ip:{ip} with error:provided IP is already allocated" in str(taken.value)
    assert taken.value.causes[0].field == "spec.clusterIPs"
    with pytest.raises(errors.Invalid) as outside:
        client.create("services", service("third", clusterIP="192.168.7.7"), namespace)
    assert "provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12" in str(outside.value)
    names = {s["metadata"]["name"] for s in client.list("services", namespace).items}
    assert names == {"first"}


def test_deleting_a_service_gives_its_ip_and_node_ports_back(client, namespace):
    ip = free_ip(client)
    created = client.create("services", service("np", type="NodePort", clusterIP=ip), namespace)
    node_port = created["spec"]["ports"][0]["nodePort"]
    client.delete("services", "np", namespace)
    again = client.create("services", service("np2", type="NodePort", clusterIP=ip,
                                              ports=[{"port": 80, "nodePort": node_port}]), namespace)
    assert again["spec"]["clusterIP"] == ip and again["spec"]["ports"][0]["nodePort"] == node_port


def test_node_ports_come_from_the_node_port_range_and_conflicts_are_refused(client, namespace):
    created = client.create("services", service("np", type="NodePort", ports=[
        {"name": "http", "port": 80}, {"name": "https", "port": 443}]), namespace)
    ports = [p["nodePort"] for p in created["spec"]["ports"]]
    assert all(30000 <= p <= 32767 for p in ports) and len(set(ports)) == 2
    assert created["spec"]["externalTrafficPolicy"] == "Cluster"
    with pytest.raises(errors.Invalid) as taken:
        client.create("services", service("np2", type="NodePort", ports=[{"port": 80, "nodePort": ports[0]}]),
                      namespace)
    assert "spec.ports[0].nodePort" in str(taken.value) and "provided port is already allocated" in str(taken.value)
    with pytest.raises(errors.Invalid) as outside:
        client.create("services", service("np3", type="NodePort", ports=[{"port": 80, "nodePort": 8080}]), namespace)
    assert "The range of valid ports is 30000-32767" in str(outside.value)
    with pytest.raises(errors.Invalid) as cluster_ip:
        client.create("services", service("np4", ports=[{"port": 80, "nodePort": 31999}]), namespace)
    assert "may not be used when `type` is 'ClusterIP'" in str(cluster_ip.value)


def test_load_balancer_services_are_accepted_with_node_ports_and_no_ingress(client, namespace):
    created = client.create("services", service("lb", type="LoadBalancer"), namespace)
    assert created["spec"]["ports"][0]["nodePort"] and created["spec"]["allocateLoadBalancerNodePorts"] is True
    assert created["status"] == {"loadBalancer": {}}


def test_changing_the_type_takes_and_gives_back_node_ports(client, namespace):
    created = client.create("services", service("t"), namespace)
    created["spec"]["type"] = "NodePort"
    as_node_port = client.update("services", created)
    node_port = as_node_port["spec"]["ports"][0]["nodePort"]
    assert node_port and as_node_port["spec"]["clusterIP"] == created["spec"]["clusterIP"]
    # Back to ClusterIP with nothing else changed: the node ports and the external traffic policy
    # are dropped by the server (dropTypeDependentFields), as `kubectl patch -p '{"spec":{"type":…}}'` needs.
    as_node_port["spec"]["type"] = "ClusterIP"
    back = client.update("services", as_node_port)
    assert "nodePort" not in back["spec"]["ports"][0] and "externalTrafficPolicy" not in back["spec"]
    reuse = client.create("services", service("t2", type="NodePort", ports=[{"port": 80, "nodePort": node_port}]),
                          namespace)
    assert reuse["spec"]["ports"][0]["nodePort"] == node_port


def test_the_cluster_ip_is_immutable_and_kept_when_an_update_leaves_it_out(client, namespace):
    created = client.create("services", service("imm", type="NodePort"), namespace)
    changed = dict(created, spec={**created["spec"], "clusterIP": free_ip(client), "clusterIPs": []})
    with pytest.raises(errors.Invalid) as e:
        client.update("services", changed)
    assert "spec.clusterIP" in str(e.value) and "field is immutable" in str(e.value)
    replaced = service("imm", type="NodePort")
    replaced["metadata"] = {"name": "imm", "namespace": namespace}
    replaced["spec"]["selector"] = {"app": "other"}
    kept = client.update("services", replaced)
    assert kept["spec"]["clusterIP"] == created["spec"]["clusterIP"]
    assert kept["spec"]["ports"][0]["nodePort"] == created["spec"]["ports"][0]["nodePort"]
    assert kept["spec"]["selector"] == {"app": "other"}


def test_headless_services_get_no_ip_and_a_dry_run_takes_nothing(client, namespace):
    headless = client.create("services", service("hl", clusterIP="None"), namespace)
    assert headless["spec"]["clusterIP"] == "None"
    ip = free_ip(client)
    dry = client.create("services", service("dry", clusterIP=ip), namespace, dry_run=True)
    assert dry["spec"]["clusterIP"] == ip
    assert client.create("services", service("real", clusterIP=ip), namespace)["spec"]["clusterIP"] == ip


@pytest.mark.parametrize("spec, message", [
    ({"ports": [{"port": 80}, {"port": 81}]}, "spec.ports[0].name: Required value"),
    ({"ports": [{"name": "a", "port": 80}, {"name": "a", "port": 81}]}, 'spec.ports[1].name: Duplicate value: "a"'),
    ({"ports": [{"port": 0}]}, "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
    ({"ports": [{"port": 80, "protocol": "HTTP"}]}, 'spec.ports[0].protocol: Unsupported value: "HTTP"'),
    ({"ports": [{"port": 80, "targetPort": "web--port"}]}, "must not contain consecutive hyphens"),
    ({"ports": [{"port": 80, "targetPort": 70000}]}, "spec.ports[0].targetPort: Invalid value: 70000"),
    ({"type": "Magic"}, 'spec.type: Unsupported value: "Magic"'),
    ({"type": "NodePort", "clusterIP": "None"}, "may not be set to 'None' for NodePort services"),
    ({"clusterIP": "10.96.0.300"}, "must be a valid IP address"),
    ({"sessionAffinity": "Sticky"}, 'spec.sessionAffinity: Unsupported value: "Sticky"'),
    ({"ports": []}, "spec.ports: Required value"),
])
def test_invalid_services_name_the_field_and_the_rule(client, namespace, spec, message):
    body = service("bad")
    body["spec"].update(spec)
    with pytest.raises(errors.Invalid) as e:
        client.create("services", body, namespace)
    assert message in str(e.value)
    assert client.list("services", namespace).items == []


def test_a_service_name_must_start_with_a_letter(client, namespace):
    with pytest.raises(errors.Invalid) as e:
        client.create("services", service("1web"), namespace)
    assert "a DNS-1035 label must consist of lower case alphanumeric characters" in str(e.value)


def test_concurrent_creates_on_two_apiservers_never_share_an_ip_or_a_node_port(apiserver, etcd, namespace,
                                                                                 tmp_path):
    second, address = start_apiserver(etcd.client_url, tmp_path)
    clients = [APIClient(apiserver.address, retry_timeout_s=5), APIClient(address, retry_timeout_s=5)]
    try:
        def create(i: int) -> dict:
            return clients[i % 2].create("services", service(f"c{i}", type="NodePort"), namespace)

        with ThreadPoolExecutor(max_workers=16) as pool:
            created = list(pool.map(create, range(40)))
        ips = [s["spec"]["clusterIP"] for s in created]
        node_ports = [s["spec"]["ports"][0]["nodePort"] for s in created]
        assert len(set(ips)) == 40 and len(set(node_ports)) == 40
    finally:
        for c in clients:
            c.close()
        second.stop()


def test_the_kubernetes_service_is_kept_by_the_apiserver(client):
    svc = wait_for(lambda: client.get("services", "kubernetes", "default"), message="the kubernetes service")
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    assert svc["spec"]["ports"][0]["name"] == "https" and svc["spec"]["ports"][0]["port"] == 443
    assert svc["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}

    def endpoints_list_the_apiserver():
        ep = client.get("endpoints", "kubernetes", "default")
        return any(a["ip"] == "127.0.0.1" for s in ep.get("subsets") or [] for a in s.get("addresses") or [])

    wait_for(endpoints_list_the_apiserver, message="the apiserver in the kubernetes endpoints")
    slice_ = client.get("endpointslices", "kubernetes", "default")
    assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == "kubernetes"
    assert slice_["endpoints"][0]["addresses"] == ["127.0.0.1"]
    client.delete("services", "kubernetes", "default")
    wait_for(lambda: client.get("services", "kubernetes", "default")["spec"]["clusterIP"] == "10.96.0.1",
             timeout_s=30, message="the kubernetes service recreated")
