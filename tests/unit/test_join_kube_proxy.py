"""``kubemu certs`` for Services: the apiserver's loopback service range and certificate name, the
compose kube-proxies' config, and a joining node's kube-proxy identity and config."""

from __future__ import annotations

import os

import yaml
from cryptography import x509

from kubemu import join


def test_the_control_plane_and_a_joining_node_get_what_kube_proxy_needs(tmp_path):
    layout = join.Layout(str(tmp_path / "cluster"))
    join.ensure_control_plane(layout, apiservers=["10.0.0.1:6443"], etcd_servers="http://127.0.0.1:2379", sans=[])
    with open(layout.config_file("apiserver.yaml")) as f:
        assert yaml.safe_load(f)["service-cluster-ip-range"] == "127.144.0.0/16"
    assert "127.144.0.1" in join.cert_sans(layout.pki_file("apiserver.crt"))
    with open(layout.config_file("kube-proxy.yaml")) as f:
        proxy = yaml.safe_load(f)
    assert proxy["client-certificate"] == layout.pki_file("system-kube-proxy.crt")
    assert os.path.exists(proxy["client-key"])

    out = tmp_path / "join"
    result = join.node_join(layout, "node-b", apiservers=["10.0.0.1:6443"], out_dir=str(out),
                            install_dir="/etc/kubemu", node_ip="10.0.0.2")
    with open(out / "kube-proxy.yaml") as f:
        config = yaml.safe_load(f)
    assert config == {"apiserver": "10.0.0.1:6443", "hostname-override": "node-b",
                      "certificate-authority": "/etc/kubemu/ca.crt", "client-certificate": "/etc/kubemu/kube-proxy.crt",
                      "client-key": "/etc/kubemu/kube-proxy.key", "bind-address": "10.0.0.2",
                      "healthz-bind-address": "10.0.0.2:10256", "metrics-bind-address": "10.0.0.2:10249"}
    cert = x509.load_pem_x509_certificate((out / "kube-proxy.crt").read_bytes())
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "system:kube-proxy"
    assert result["proxyConfig"] == "/etc/kubemu/kube-proxy.yaml"
