"""Container environment resolution (kubelet/envvars.py): refs, expansion, envFrom, errors."""

from __future__ import annotations

import base64

import pytest

from kubelet import envvars
from kubelet.envvars import ConfigError, container_env, expand

OBJECTS = {
    ("configmaps", "ns", "cfg"): {"data": {"color": "blue", "size": "L"}},
    ("secrets", "ns", "creds"): {"data": {"user": base64.b64encode(b"admin").decode(),
                                          "pass": base64.b64encode(b"p@ss").decode()}},
}
POD = {"metadata": {"name": "web", "namespace": "ns", "uid": "u-1", "labels": {"app": "web"},
                    "annotations": {"team": "blue"}},
       "spec": {"nodeName": "node-1", "serviceAccountName": "sa"}}


def lookup(resource, namespace, name):
    return OBJECTS.get((resource, namespace, name))


def env_of(container: dict) -> dict[str, str]:
    return container_env(POD, container, lookup=lookup, pod_ip="127.0.0.5", host_ip="127.1.0.1", node_name="node-1",
                         allocatable={"cpu": "4", "memory": "8Gi"})


def test_values_refs_and_expansion_in_order():
    env = env_of({"env": [
        {"name": "A", "value": "x"},
        {"name": "B", "value": "$(A)-$(MISSING)-$$(A)"},
        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}},
        {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pass"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "TEAM", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['team']"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
        {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
    ]})
    assert env == {"A": "x", "B": "x-$(MISSING)-$(A)", "COLOR": "blue", "PASS": "p@ss", "POD": "web", "APP": "web",
                   "TEAM": "blue", "IP": "127.0.0.5", "HOST": "127.1.0.1", "SA": "sa"}


def test_env_from_with_prefix_is_overridden_by_env():
    env = env_of({"envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}, {"secretRef": {"name": "creds"}}],
                  "env": [{"name": "CFG_color", "value": "red"}]})
    assert env == {"CFG_color": "red", "CFG_size": "L", "user": "admin", "pass": "p@ss"}


def test_resource_field_refs_round_up_and_default_to_allocatable():
    env = env_of({"resources": {"requests": {"cpu": "250m", "memory": "64Mi"}},
                  "env": [{"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu"}}},
                          {"name": "MCPU", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu",
                                                                              "divisor": "1m"}}},
                          {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "requests.memory",
                                                                             "divisor": "1Mi"}}},
                          {"name": "LIM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory",
                                                                             "divisor": "1Gi"}}}]})
    assert env == {"CPU": "1", "MCPU": "250", "MEM": "64", "LIM": "8"}


def test_missing_references_fail_unless_optional():
    with pytest.raises(ConfigError, match='configmap "nope" not found'):
        env_of({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}]})
    with pytest.raises(ConfigError, match="couldn't find key k in ConfigMap ns/cfg"):
        env_of({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}]})
    with pytest.raises(ConfigError, match='secret "gone" not found'):
        env_of({"envFrom": [{"secretRef": {"name": "gone"}}]})
    assert env_of({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k",
                                                                        "optional": True}}}],
                   "envFrom": [{"configMapRef": {"name": "nope", "optional": True}}]}) == {}


def test_expand_handles_escapes():
    assert expand("$(A) $$(A) $(B) $", {"A": "1"}) == "1 $(A) $(B) $"


def svc(name: str, namespace: str, ip: str, ports: list[dict]) -> dict:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"clusterIP": ip, "ports": ports}}


SERVICES = [
    svc("kubernetes", "default", "10.96.0.1", [{"name": "https", "port": 443, "protocol": "TCP"}]),
    svc("redis-primary", "ns", "10.96.0.11", [{"port": 6379, "protocol": "TCP"}]),
    svc("web", "ns", "10.96.0.12", [{"name": "http", "port": 80, "protocol": "TCP"},
                                    {"name": "dns-udp", "port": 53, "protocol": "UDP"}]),
    svc("headless", "ns", "None", [{"port": 80}]),
    svc("elsewhere", "other", "10.96.0.13", [{"port": 80}]),
]


def test_service_variables_follow_kubernetes_names():
    env = envvars.service_env(SERVICES, "ns", True)
    assert env["REDIS_PRIMARY_SERVICE_HOST"] == "10.96.0.11"
    assert env["REDIS_PRIMARY_SERVICE_PORT"] == "6379"
    assert env["REDIS_PRIMARY_PORT"] == "tcp://10.96.0.11:6379"
    assert env["REDIS_PRIMARY_PORT_6379_TCP"] == "tcp://10.96.0.11:6379"
    assert env["REDIS_PRIMARY_PORT_6379_TCP_PROTO"] == "tcp"
    assert env["REDIS_PRIMARY_PORT_6379_TCP_PORT"] == "6379"
    assert env["REDIS_PRIMARY_PORT_6379_TCP_ADDR"] == "10.96.0.11"
    assert env["WEB_SERVICE_PORT"] == "80" and env["WEB_SERVICE_PORT_HTTP"] == "80"
    assert env["WEB_SERVICE_PORT_DNS_UDP"] == "53" and env["WEB_PORT_53_UDP"] == "udp://10.96.0.12:53"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and env["KUBERNETES_SERVICE_PORT"] == "443"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443" and env["KUBERNETES_PORT"] == "tcp://10.96.0.1:443"
    assert not any(k.startswith(("HEADLESS_", "ELSEWHERE_")) for k in env)


def test_without_service_links_only_the_kubernetes_service_is_there():
    env = envvars.service_env(SERVICES, "ns", False)
    assert {k.split("_")[0] for k in env} == {"KUBERNETES"}


def test_the_container_wins_over_service_variables_and_may_refer_to_them():
    services = envvars.service_env(SERVICES, "ns", True)
    container = {"env": [{"name": "WEB_SERVICE_PORT", "value": "8080"},
                         {"name": "REDIS_URL", "value": "redis://$(REDIS_PRIMARY_SERVICE_HOST):6379"}]}
    env = envvars.container_env({"metadata": {"namespace": "ns"}}, container, lookup=lambda *a: None, pod_ip="",
                                host_ip="", node_name="", services=services)
    assert env["WEB_SERVICE_PORT"] == "8080"
    assert env["REDIS_URL"] == "redis://10.96.0.11:6379"
    assert env["WEB_SERVICE_HOST"] == "10.96.0.12"
