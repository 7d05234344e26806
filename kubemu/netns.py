"""The network-namespace topology of ``kubemu up --netns``: one network stack per kubelet.

Every node gets its own network namespace ``kmu-<id>-<node>`` (``<id>``: 6 hex digits derived
from the cluster directory), joined by a veth pair to a bridge ``kmu<id>br`` in the host
namespace. Addresses come from 198.18.0.0/15, the range reserved for network benchmarking
(RFC 2544), one /24 per cluster::

    host namespace    bridge kmu<id>br   198.18.X.1    etcd (127.0.0.1), apiserver (198.18.X.1), scheduler, ...
    kmu-<id>-node-1   eth0               198.18.X.2    kubelet of node-1, kube-proxy, its pods (10.244.1.0/24)
    kmu-<id>-node-2   eth0               198.18.X.3    kubelet of node-2 ...

Pods are routed, as flannel's host-gw backend does it: node N's pod CIDR is ``10.<octet>.N.0/24``
(:mod:`kubemu.pod_networks`: 10.244 for the default cluster, the claimed octet for ``--ports
auto``), recorded here as the node's ``podCIDR``; each kubelet runs ``--pod-network routed``
(kubelet/pod_routes.py), which makes its CIDR local in its namespace (``ip route replace local …
dev lo``) and routes every other node's CIDR via that node's address, watching Nodes. The host
namespace gets one route per node (``ip route replace 10.<octet>.N.0/24 via 198.18.X.(N+1)``) so
the host, and the apiserver on it, reach every pod; they go with the bridge. Node-to-node
traffic crosses the bridge, and with ``br_netfilter`` loaded (Docker loads it, and sets the
FORWARD policy to DROP) bridged packets pass iptables' FORWARD chain: an ACCEPT rule for
traffic within the bridge is inserted at setup (when ``iptables`` exists) and deleted at teardown.

The host end of node N's veth is ``kmu<id>h<N>``: that is where ``kubemu chaos partition``
pulls the cable and ``delay``/``loss`` attach a netem qdisc (the namespace's ``eth0`` gets the
other direction). What is created is recorded in ``<cluster dir>/netns.json`` *before* it is
created, so :func:`teardown` removes everything even after a crash, and is idempotent.
Needs root and iproute2 (``ip``, ``tc``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess

from kubemu import pod_networks
from kubemu.cluster import ClusterDir, atomic_write

log = logging.getLogger(__name__)

RANGE_SUBNETS = 512  # 198.18.0.0/15 holds 512 /24s
RECORD = "netns.json"
FAULTS = "network-faults.json"  # kubemu chaos's record of the faults in place
NS_IFACE = "eth0"


class NetnsError(Exception):
    """The topology cannot be built or changed; the message says why."""


def problem() -> str | None:
    """Why ``--netns`` cannot work on this machine, or None."""
    if os.geteuid() != 0:
        return "--netns needs root (it creates network namespaces, a bridge and veth pairs)"
    for tool in ("ip", "tc"):
        if not shutil.which(tool):
            return f"--netns needs the `{tool}` command (Debian/Ubuntu: apt-get install iproute2)"
    return None


def cluster_id(cdir: ClusterDir) -> str:
    return hashlib.sha1(cdir.path.encode()).hexdigest()[:6]


def subnet_prefix(index: int) -> str:
    """``198.18.0`` … ``198.19.255``: the first three octets of the index-th /24 of 198.18.0.0/15."""
    return f"198.{18 + index // 256}.{index % 256}"


def _used_prefixes() -> set[str]:
    out = _run(["ip", "-o", "-4", "addr", "show"], check=False).stdout
    return {m.group(1) for m in re.finditer(r"inet (198\.1[89]\.\d+)\.\d+/", out)}


def plan_topology(cdir: ClusterDir, node_names: list[str], pod_octet: int = pod_networks.DEFAULT_OCTET) -> dict:
    """Names, addresses and pod CIDRs for this cluster's namespaces, veths and bridge (nothing is created)."""
    if len(node_names) > 253:
        raise ValueError("--netns supports at most 253 nodes (one /24 per cluster)")
    cid = cluster_id(cdir)
    previous = read_record(cdir)
    used = _used_prefixes()
    if previous and previous.get("id") == cid and previous.get("subnet"):
        used.discard(previous["subnet"])  # our own leftovers are torn down before setup
    start = int(cid, 16) % RANGE_SUBNETS
    prefix = next((subnet_prefix((start + i) % RANGE_SUBNETS) for i in range(RANGE_SUBNETS)
                   if subnet_prefix((start + i) % RANGE_SUBNETS) not in used), None)
    if prefix is None:
        raise ValueError("no free /24 left in 198.18.0.0/15 for another --netns cluster")
    nodes = {name: {"namespace": f"kmu-{cid}-{name}", "veth": f"kmu{cid}h{i}", "ip": f"{prefix}.{i + 1}",
                    "podCIDR": pod_networks.routed_node_cidr(pod_octet, i)}
             for i, name in enumerate(node_names, start=1)}
    return {"id": cid, "subnet": prefix, "bridge": f"kmu{cid}br", "bridgeIP": f"{prefix}.1", "prefixLen": 24,
            "clusterCIDR": pod_networks.routed_cluster_cidr(pod_octet), "nodes": nodes}


# --------------------------------------------------------------------------- running ip / tc


def _run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        if check:
            raise NetnsError(f"{' '.join(cmd)}: {e}") from None
        return subprocess.CompletedProcess(cmd, 1, "", str(e))
    if check and done.returncode != 0:
        raise NetnsError(f"{' '.join(cmd)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run(["ip", *args], check=check)


def tc(*args: str, namespace: str = "", check: bool = True) -> subprocess.CompletedProcess:
    return _run((["ip", "netns", "exec", namespace] if namespace else []) + ["tc", *args], check=check)


def link_exists(name: str, namespace: str = "") -> bool:
    return ip(*(["-n", namespace] if namespace else []), "link", "show", "dev", name, check=False).returncode == 0


def namespaces() -> set[str]:
    return {line.split()[0] for line in ip("netns", "list", check=False).stdout.splitlines() if line.split()}


# --------------------------------------------------------------------------- setup / teardown


def record_path(cdir: ClusterDir) -> str:
    return os.path.join(cdir.path, RECORD)


def read_record(cdir: ClusterDir) -> dict | None:
    try:
        with open(record_path(cdir)) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _forward_rule(bridge: str) -> list[str]:
    return ["FORWARD", "-i", bridge, "-o", bridge, "-m", "comment", "--comment", "kubemu: pods across nodes",
            "-j", "ACCEPT"]


def _iptables(*args: str) -> subprocess.CompletedProcess:
    return _run(["iptables", "-w", *args], check=False)


def setup(cdir: ClusterDir, topo: dict) -> None:
    """Create the bridge, then per node a namespace (lo up), a veth pair and the addresses; then a
    host route to every node's pod CIDR and the FORWARD rule for traffic between nodes."""
    teardown(cdir)  # leftovers of a crashed run with the same names
    topo = {**topo, "forwardRule": bool(shutil.which("iptables"))}
    atomic_write(record_path(cdir), json.dumps(topo, indent=2) + "\n")  # before creating: a crash still cleans up
    bridge, prefix_len = topo["bridge"], topo["prefixLen"]
    ip("link", "add", bridge, "type", "bridge")
    ip("addr", "add", f"{topo['bridgeIP']}/{prefix_len}", "dev", bridge)
    ip("link", "set", bridge, "up")
    for node in topo["nodes"].values():
        ns, veth = node["namespace"], node["veth"]
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
        ip("link", "add", veth, "type", "veth", "peer", "name", NS_IFACE, "netns", ns)
        ip("link", "set", veth, "master", bridge, "up")
        ip("-n", ns, "addr", "add", f"{node['ip']}/{prefix_len}", "dev", NS_IFACE)
        ip("-n", ns, "link", "set", NS_IFACE, "up")
    for node in topo["nodes"].values():
        if node.get("podCIDR"):
            ip("route", "replace", node["podCIDR"], "via", node["ip"], "dev", bridge)
    if topo["forwardRule"]:
        done = _iptables("-I", *_forward_rule(bridge))
        if done.returncode != 0:
            log.warning("cannot let traffic between nodes through iptables' FORWARD chain (%s): with "
                        "br_netfilter and a DROP policy, pods will not reach pods on other nodes",
                        (done.stderr or done.stdout).strip())

def teardown(cdir: ClusterDir) -> list[str]:
    """Remove every namespace, veth and the bridge recorded for ``cdir``; what was removed. Idempotent."""
    topo = read_record(cdir)
    if not topo:
        return []
    removed = []
    present = namespaces()
    for node in (topo.get("nodes") or {}).values():
        if node.get("veth") and link_exists(node["veth"]):
            ip("link", "del", node["veth"], check=False)
            removed.append(node["veth"])
        if node.get("namespace") in present:
            ip("netns", "del", node["namespace"], check=False)
            removed.append(node["namespace"])
    if topo.get("bridge") and link_exists(topo["bridge"]):
        ip("link", "del", topo["bridge"], check=False)  # its routes go with it
        removed.append(topo["bridge"])
    if topo.get("bridge") and topo.get("forwardRule"):
        for _ in range(10):  # once per insertion; a crashed setup may have inserted it again
            if _iptables("-D", *_forward_rule(topo["bridge"])).returncode != 0:
                break
    left = [n["namespace"] for n in (topo.get("nodes") or {}).values() if n.get("namespace") in namespaces()]
    if topo.get("bridge") and link_exists(topo["bridge"]):
        left.append(topo["bridge"])
    if left:
        raise NetnsError(f"could not remove {', '.join(left)} (see `ip netns list`, `ip link`)")
    for path in (record_path(cdir), os.path.join(cdir.path, FAULTS)):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    return removed


def node_link(cdir: ClusterDir, node: str) -> dict:
    """``{"namespace", "veth", "ip"}`` of ``node`` in a running netns cluster."""
    topo = read_record(cdir)
    if not topo:
        raise NetnsError(f"the cluster in {cdir.path} does not run in network namespaces: network faults "
                         "need a cluster started with `kubemu up --netns`")
    nodes = topo.get("nodes") or {}
    if node not in nodes:
        raise NetnsError(f'no node "{node}" in the netns topology (nodes: {", ".join(sorted(nodes)) or "none"})')
    return nodes[node]
