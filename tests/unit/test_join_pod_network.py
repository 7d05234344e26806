"""``kubemu certs --node NAME --pod-network routed``: a joining node whose kubelet routes pod CIDRs, with its
pod CIDR left to the controller manager's node IPAM; the default stays the loopback 127.246.N.0/24."""

from __future__ import annotations

import yaml

from controller_manager import __main__ as controller_manager_main
from kubelet import __main__ as kubelet_main
from kubemu import join
from machinery import config


def control_plane(tmp_path) -> join.Layout:
    layout = join.Layout(str(tmp_path / "cluster"))
    join.ensure_control_plane(layout, apiservers=["10.0.0.1:6443"], etcd_servers="http://127.0.0.1:2379", sans=[])
    return layout


def test_a_routed_node_gets_no_pod_cidr_and_a_kubelet_config_that_routes(tmp_path, capsys):
    layout = control_plane(tmp_path)
    out = tmp_path / "join"
    assert join.main(["--cluster-dir", layout.root, "--node", "node-b", "--node-ip", "10.0.0.2", "--out", str(out),
                      "--pod-network", "routed"]) == 0
    printed = capsys.readouterr().out
    assert "routed (pod CIDR from the controller manager)" in printed and "CAP_NET_ADMIN" in printed
    with open(out / "kubelet.yaml") as f:
        kubelet_yaml = yaml.safe_load(f)
    assert kubelet_yaml["pod-network"] == "routed" and "pod-cidr" not in kubelet_yaml
    args = config.parse(kubelet_main.build_parser(), ["--config", str(out / "kubelet.yaml")])
    assert (args.pod_network, args.pod_cidr, args.node_name) == ("routed", "", "node-b")
    # The node IPAM hands out the pod CIDRs, from Kubernetes' (and flannel's) default 10.244.0.0/16.
    cm_args = config.parse(controller_manager_main.build_parser(),
                           ["--config", layout.config_file("controller-manager.yaml")])
    assert cm_args.allocate_node_cidrs and cm_args.cluster_cidr == "10.244.0.0/16"


def test_the_default_stays_a_loopback_pod_cidr_without_privileges(tmp_path):
    layout = control_plane(tmp_path)
    result = join.node_join(layout, "node-c", apiservers=["10.0.0.1:6443"], out_dir=str(tmp_path / "j"))
    assert result["podCIDR"] == "127.246.1.0/24" and result["podNetwork"] == "loopback"
    with open(tmp_path / "j" / "kubelet.yaml") as f:
        kubelet_yaml = yaml.safe_load(f)
    assert kubelet_yaml["pod-cidr"] == "127.246.1.0/24" and "pod-network" not in kubelet_yaml
    assert "--pod-network" not in result["kubeletCommand"]
