"""How Services, Endpoints and EndpointSlices print (kubectl's columns, server-side Tables and
``describe service``) and the Services ``expose`` and ``create service`` build, as kubectl does."""

from __future__ import annotations

import argparse
import datetime as dt
import re

import pytest

from apiserver.rest.tables import table
from kubemu.describe_service import describe_service, endpoints_of_port
from kubemu.kubectl_services import ServiceError, build_created, build_exposed
from kubemu.printers import format_table
from machinery.resources import lookup

NOW = dt.datetime(2024, 1, 1, 0, 10, tzinfo=dt.UTC)
CREATED = "2024-01-01T00:00:00Z"


def service(name: str, **spec) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "creationTimestamp": CREATED},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                     "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}], **spec}}


def test_services_print_kubectls_columns():
    rows = [service("web", selector={"app": "web", "tier": "fe"}),
            service("np", type="NodePort", ports=[{"port": 80, "protocol": "TCP", "nodePort": 30080},
                                                  {"port": 53, "protocol": "UDP", "nodePort": 30053}]),
            service("lb", type="LoadBalancer", externalIPs=["1.2.3.4"]),
            service("pending", type="LoadBalancer"),
            {"metadata": {"name": "ext", "creationTimestamp": CREATED},
             "spec": {"type": "ExternalName", "externalName": "example.com"}}]
    text = format_table("services", rows, wide=True, now=NOW)
    assert text.splitlines() == [
        "NAME      TYPE           CLUSTER-IP   EXTERNAL-IP   PORT(S)                     AGE   SELECTOR",
        "web       ClusterIP      10.96.0.10   <none>        80/TCP                      10m   app=web,tier=fe",
        "np        NodePort       10.96.0.10   <none>        80:30080/TCP,53:30053/UDP   10m   <none>",
        "lb        LoadBalancer   10.96.0.10   1.2.3.4       80/TCP                      10m   <none>",
        "pending   LoadBalancer   10.96.0.10   <pending>     80/TCP                      10m   <none>",
        "ext       ExternalName   <none>       example.com   <none>                      10m   <none>"]


def test_the_server_side_table_has_the_same_columns_and_cells():
    got = table(lookup("svc"), [service("web", selector={"app": "web"})])
    assert [c["name"] for c in got["columnDefinitions"]] == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)",
                                                             "Age", "Selector"]
    assert [c["priority"] for c in got["columnDefinitions"]] == [0, 0, 0, 0, 0, 0, 1]
    assert got["rows"][0]["cells"][:5] == ["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP"]
    assert [c["name"] for c in table(lookup("ep"), [])["columnDefinitions"]] == ["Name", "Endpoints", "Age"]
    assert [c["name"] for c in table(lookup("endpointslices"), [])["columnDefinitions"]] == \
        ["Name", "AddressType", "Ports", "Endpoints", "Age"]


def cells(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]


def test_endpoints_and_slices_list_three_then_say_how_many_more():
    ep = {"metadata": {"name": "web", "creationTimestamp": CREATED},
          "subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 5)], "ports": [{"port": 80}]}]}
    not_ready = {"metadata": {"name": "nr", "creationTimestamp": CREATED},
                 "subsets": [{"notReadyAddresses": [{"ip": "10.0.0.9"}], "ports": [{"port": 80}]}]}
    empty = {"metadata": {"name": "none", "creationTimestamp": CREATED}}
    assert cells(format_table("endpoints", [ep, not_ready, empty], now=NOW)) == [
        ["NAME", "ENDPOINTS", "AGE"], ["web", "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...", "10m"],
        ["nr", "10m"], ["none", "<none>", "10m"]]
    slice_ = {"metadata": {"name": "web-abc", "creationTimestamp": CREATED}, "addressType": "IPv4",
              "ports": [{"name": "http", "port": 80}], "endpoints": [{"addresses": ["10.0.0.1"]}]}
    empty_slice = {"metadata": {"name": "web-def", "creationTimestamp": CREATED}, "addressType": "IPv4",
                   "ports": [], "endpoints": []}
    assert format_table("endpointslices", [slice_, empty_slice], now=NOW).splitlines() == [
        "NAME      ADDRESSTYPE   PORTS     ENDPOINTS   AGE",
        "web-abc   IPv4          80        10.0.0.1    10m",
        "web-def   IPv4          <unset>   <unset>     10m"]


def test_describe_service_has_kubectls_sections_with_endpoints_per_port():
    svc = service("web", type="NodePort", selector={"app": "web"}, ipFamilyPolicy="SingleStack",
                  ipFamilies=["IPv4"], sessionAffinity="None", externalTrafficPolicy="Cluster",
                  internalTrafficPolicy="Cluster",
                  ports=[{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "web", "nodePort": 30080}])
    svc["metadata"]["labels"] = {"app": "web"}
    slices = [{"ports": [{"name": "http", "port": 8080}],
               "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True}},
                             {"addresses": ["10.0.0.2"], "conditions": {"ready": False}}]}]
    assert describe_service(svc, slices, [], now=NOW).splitlines() == [
        "Name:                     web",
        "Namespace:                default",
        "Labels:                   app=web",
        "Annotations:              <none>",
        "Selector:                 app=web",
        "Type:                     NodePort",
        "IP Family Policy:         SingleStack",
        "IP Families:              IPv4",
        "IP:                       10.96.0.10",
        "IPs:                      10.96.0.10",
        "Port:                     http  80/TCP",
        "TargetPort:               web/TCP",
        "NodePort:                 http  30080/TCP",
        "Endpoints:                10.0.0.1:8080",
        "Session Affinity:         None",
        "External Traffic Policy:  Cluster",
        "Internal Traffic Policy:  Cluster",
        "Events:                   <none>"]
    assert endpoints_of_port([], "http") == "<none>"


def expose_args(**kw) -> argparse.Namespace:
    defaults = {"port": "", "target_port": "", "protocol": "", "name": "", "type": "", "labels": "", "selector": "",
                "cluster_ip": "", "external_ip": "", "session_affinity": ""}
    return argparse.Namespace(**{**defaults, **kw})


DEPLOYMENT = {"kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
              "spec": {"selector": {"matchLabels": {"app": "web"}},
                       "template": {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80},
                                                                                    {"containerPort": 53,
                                                                                     "protocol": "UDP"}]}]}}}}


def test_expose_builds_the_service_kubectl_builds():
    svc = build_exposed(DEPLOYMENT, "deployments", expose_args(port="8080", target_port="80", name="web2",
                                                               type="NodePort"))
    assert svc == {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web2", "labels": {"app": "web"}},
                   "spec": {"ports": [{"port": 8080, "protocol": "TCP", "targetPort": 80}],
                            "selector": {"app": "web"}, "type": "NodePort"}}
    introspected = build_exposed(DEPLOYMENT, "deployments", expose_args())
    assert introspected["spec"]["ports"] == [{"name": "port-1", "port": 80, "protocol": "TCP", "targetPort": 80},
                                             {"name": "port-2", "port": 53, "protocol": "UDP", "targetPort": 53}]
    pod = {"kind": "Pod", "metadata": {"name": "p", "labels": {"run": "p"}}, "spec": {"containers": [{}]}}
    assert build_exposed(pod, "pods", expose_args(port="80", target_port="http"))["spec"] == \
        {"ports": [{"port": 80, "protocol": "TCP", "targetPort": "http"}], "selector": {"run": "p"}}
    with pytest.raises(ServiceError, match="couldn't find port via --port flag or introspection"):
        build_exposed(pod, "pods", expose_args())
    with pytest.raises(ServiceError, match="the pod has no labels"):
        build_exposed({"metadata": {"name": "bare"}}, "pods", expose_args(port="80"))


def test_create_service_builds_what_kubectl_builds():
    args = argparse.Namespace(tcp=["80:8080", "443"], node_port=0, clusterip="", external_name="")
    assert build_created("clusterip", "cs", args) == {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "cs", "labels": {"app": "cs"}},
        "spec": {"type": "ClusterIP", "selector": {"app": "cs"},
                 "ports": [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080},
                           {"name": "443", "port": 443, "protocol": "TCP", "targetPort": 443}]}}
    node_port = build_created("nodeport", "np", argparse.Namespace(tcp=["80:8080"], node_port=30123, clusterip="",
                                                                   external_name=""))
    assert node_port["spec"]["ports"][0]["nodePort"] == 30123 and node_port["spec"]["type"] == "NodePort"
    headless = build_created("clusterip", "hl", argparse.Namespace(tcp=[], node_port=0, clusterip="None",
                                                                   external_name=""))
    assert headless["spec"] == {"type": "ClusterIP", "selector": {"app": "hl"}, "clusterIP": "None"}
    with pytest.raises(ServiceError, match="at least one tcp port"):
        build_created("clusterip", "x", argparse.Namespace(tcp=[], node_port=0, clusterip="", external_name=""))
