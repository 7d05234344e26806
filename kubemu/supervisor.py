"""The local-cluster supervisor: runs every component of one cluster as its own OS process.

    python -m kubemu.supervisor --cluster-dir ~/.kubemu/clusters/default

``kubemu up`` writes the cluster directory's ``plan.json`` (see :func:`build_plan`) and starts
this daemon detached; ``kubemu down`` sends it SIGTERM. What it does, like k3s or kwokctl's
binary runtime:

* **Start in order.** etcd, then wait until it answers; the apiserver, then wait until its gRPC
  health check says SERVING; then the scheduler, the controller manager and the kubelets, which
  retry on their own until the apiserver answers. Each child runs in its own session (so its
  process group can be signalled as a whole) with stdout and stderr appended to
  ``logs/<name>.log``. Its pid, creation time, address and status go to ``state.json``.
* **Watch.** The main loop sleeps in ``select`` on a self-pipe that SIGCHLD, SIGTERM and SIGINT
  write to (``signal.set_wakeup_fd``), so it reacts to a child's death at once, and otherwise
  wakes twice a second to probe components that are not yet ready. The restart policy comes
  from the plan: ``never`` (the default) leaves a dead component dead and reports it, because
  fault-injection experiments kill components on purpose and must see the real outage;
  ``always`` restarts it after a backoff of 1 s doubling to 30 s (reset once it has run for a
  minute), like a pod's CrashLoopBackOff.
* **Stop in reverse.** On SIGTERM/SIGINT: the kubelets first (SIGTERM, up to 10 s, SIGKILL),
  then whatever containers they leave behind, then the controller manager, the scheduler, the
  apiserver and etcd, then the ``--netns`` network (see :mod:`kubemu.netns`, created before
  anything starts); then supervisor.pid is removed and the process exits 0.
* **Take requests.** ``kubemu chaos … --for`` and ``kubemu chaos restart`` ask the supervisor to
  start a component again by dropping a request file into ``control/`` and sending SIGUSR1;
  the main loop starts any named component that is not running (whatever the restart policy).

The helpers that kill processes (:func:`stop_processes`, :func:`cleanup_node_containers`) are
shared with ``kubemu down``, which uses them when the supervisor itself is gone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import glob
import ipaddress
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import psutil

from kubemu import cluster, pod_networks
from kubemu.cluster import ClusterDir, process_alive, process_create_time

log = logging.getLogger("kubemu.supervisor")

RESTART_NEVER = "never"
RESTART_ALWAYS = "always"
RESTART_POLICIES = (RESTART_NEVER, RESTART_ALWAYS)

# Kinds, in start order; shutdown goes the other way.
ETCD, APISERVER, SCHEDULER, CONTROLLER_MANAGER, KUBELET = "etcd", "apiserver", "scheduler", "controller-manager", \
    "kubelet"
KUBE_PROXY = "kube-proxy"
START_ORDER = (ETCD, APISERVER, SCHEDULER, CONTROLLER_MANAGER, KUBELET, KUBE_PROXY)

# apiserver-rest: the Kubernetes REST API (HTTPS) beside the gRPC API, for the real kubectl.
REST = "apiserver-rest"
# Prometheus /metrics over plain HTTP: the ports these components once served it on (kube-scheduler's
# 10251, kube-controller-manager's 10252, the kubelet's read-only 10255). The apiserver serves it on REST.
METRICS = {SCHEDULER: "scheduler-metrics", CONTROLLER_MANAGER: "controller-manager-metrics",
           KUBELET: "kubelet-metrics", KUBE_PROXY: "kube-proxy-metrics"}
# kube-proxy's /healthz (Kubernetes' 10256); its gRPC introspection port 10262 is kubemu's own.
PROXY_HEALTHZ = "kube-proxy-healthz"
DEFAULT_PORTS = {ETCD: 2379, "etcd-peer": 2380, APISERVER: 6443, REST: 6444, SCHEDULER: 10259,
                 CONTROLLER_MANAGER: 10257, KUBELET: 10250, METRICS[SCHEDULER]: 10251,
                 METRICS[CONTROLLER_MANAGER]: 10252, METRICS[KUBELET]: 10255, KUBE_PROXY: 10262,
                 METRICS[KUBE_PROXY]: 10249, PROXY_HEALTHZ: 10256}
MAX_NODES = 254  # node-N lives on 127.1.0.N with pod CIDR 127.244.N.0/24 (--netns: 10.244.N.0/24; kubemu.pod_networks)


def proxy_name(node: str) -> str:
    """The component name of a node's kube-proxy in the plan and state.json."""
    return f"kube-proxy-{node}"

STOP_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 60.0
BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 30.0
BACKOFF_RESET_AFTER_S = 60.0  # a child that ran this long restarts with the initial backoff again
PROBE_INTERVAL_S = 0.5
PROBE_TIMEOUT_S = 1.0


# --------------------------------------------------------------------------- the plan


def node_name(index: int) -> str:
    return f"node-{index}"


def node_ip(index: int) -> str:
    return f"127.1.0.{index}"


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def replica_names(base: str, count: int) -> list[str]:
    """``["scheduler"]`` for one replica, ``["scheduler-1", "scheduler-2"]`` for several."""
    return [base] if count == 1 else [f"{base}-{i}" for i in range(1, count + 1)]


def build_plan(cdir: ClusterDir, *, nodes: int = 3, ports: str = "default", restart_policy: str = RESTART_NEVER,
               scheduler: bool = True, controller_manager: bool = True, etcd_binary: str | None = None,
               python: str | None = None, secure: bool = True, etcd_members: int = 1, apiservers: int = 1,
               schedulers: int = 1, controller_managers: int = 1,
               extra_flags: dict[str, list[str]] | None = None, netns: bool = False,
               merge_kubeconfig: str = "", kube_proxy: bool = True) -> dict:
    """The plan ``kubemu up`` writes: every component's command line, address and ports.

    ``ports="auto"`` picks free ports for everything (tests, several clusters side by side) and
    claims a loopback pod network of the cluster's own (``127.<octet>.N.0/24``, see
    :mod:`kubemu.pod_networks`; the default ports go with 127.244);
    ``"default"`` uses Kubernetes' well-known ports (replicas beyond the first shift them:
    etcd-N +10000·(N-1), apiserver-N +2·(N-1) for both its gRPC (6443) and REST (6444) ports,
    scheduler-N and controller-manager-N +100·(N-1), their metrics ports 10251 and 10252 too).
    Every component's Prometheus endpoint is its ``metricsAddress`` (the apiserver's is on its
    REST port, read with the ``kubemu:monitoring`` token, its ``metricsTokenFile``).
    ``scheduler=False`` / ``controller_manager=False`` leave those components out (a test aid);
    ``kube_proxy=False`` leaves out the kube-proxy every node otherwise gets (benchmarks of many
    nodes, where an idle proxy per node would only cost memory).

    High availability: ``etcd_members`` (1 or 3, 5…) form one etcd cluster (static initial
    cluster over peer URLs); ``apiservers`` replicas all talk to every member; schedulers and
    controller managers run active/standby through their leader-election Leases; every client
    is given every apiserver and fails over. ``extra_flags`` adds flags per kind (``"scheduler"``,
    ``"kubelet"``, …), e.g. shortened timings for experiments.

    ``netns``: every kubelet runs in its own network namespace (see :mod:`kubemu.netns`), started
    through ``ip netns exec``; the apiservers listen on the bridge address (in their certificate's
    SANs) and kubelets get their namespace address as node IP. Pods get routable IPs: node N's pod
    CIDR is ``10.<octet>.N.0/24`` and its kubelet runs ``--pod-network routed`` (AnyIP plus a route
    to every other node's CIDR, kubelet/pod_routes.py); the controller manager's node IPAM takes the
    same ``10.<octet>.0.0/16``. The plan's ``netns`` key holds the topology (with the host's routes
    to every pod CIDR), which the supervisor creates before starting anything and removes on shutdown.

    ``secure`` (the default): the cluster gets its own CA, the apiserver serves TLS with a
    certificate it signed, every component authenticates with its own token (scheduler, controller
    manager, ``system:node:<node>`` per kubelet) and is authorized by RBAC and the Node authorizer;
    the CLI uses the ``admin`` identity (``system:masters``). Each kubelet serves its API (logs,
    exec) over mutual TLS with a serving certificate for its name and IP and asks the apiserver
    who may call it; the apiserver calls it as ``kube-apiserver-kubelet-client``. The scheduler and
    controller manager serve TLS. A component's ``caFile``/``certFile``/``keyFile``/``serverName``
    say how kubemu's own tools (probes, ``kubemu status``) reach it. ``secure=False`` runs
    everything unsecured (everyone is an administrator, plain gRPC), for experiments on the
    request path.

    Every apiserver also serves the Kubernetes REST API (HTTPS when secure, plain HTTP otherwise)
    for the real kubectl; the plan's ``restServers`` lists its URLs, the first becomes the
    kubeconfig's ``server``. ``merge_kubeconfig``: a kubeconfig path (kubectl's default file) into
    which the supervisor merges the ``kubemu-<cluster>`` context, and ``kubemu down`` removes it.
    """
    from kubemu.etcd_server import EtcdMember, etcd_version, find_etcd_binary
    from kubemu.pki import MONITORING

    if not 0 <= nodes <= MAX_NODES:
        raise ValueError(f"--nodes must be between 0 and {MAX_NODES}")
    if ports not in ("auto", "default"):
        raise ValueError("--ports must be auto or default")
    if restart_policy not in RESTART_POLICIES:
        raise ValueError(f"--restart-policy must be one of {', '.join(RESTART_POLICIES)}")
    for flag, count in (("--etcd-members", etcd_members), ("--apiservers", apiservers),
                        ("--schedulers", schedulers), ("--controller-managers", controller_managers)):
        if not 1 <= count <= 9:
            raise ValueError(f"{flag} must be between 1 and 9")
    extra = extra_flags or {}
    python = python or sys.executable
    binary = etcd_binary or find_etcd_binary()
    loopback = "127.0.0.1"

    def port(kind: str, replica: int = 1, host: str = loopback) -> int:
        if ports == "auto":
            return _free_port(host)
        shift = {ETCD: 10000, "etcd-peer": 10000, APISERVER: 2, REST: 2, SCHEDULER: 100,
                 CONTROLLER_MANAGER: 100, METRICS[SCHEDULER]: 100, METRICS[CONTROLLER_MANAGER]: 100}.get(kind, 0)
        return DEFAULT_PORTS[kind] + shift * (replica - 1)

    names = [node_name(i) for i in range(1, nodes + 1)]
    octet = pod_networks.claim(cdir.path, auto=ports == "auto",
                               previous=(cdir.read_plan() or {}).get("podNetworkOctet"))
    topo = None
    if netns:
        from kubemu import netns as netns_mod

        topo = netns_mod.plan_topology(cdir, names, octet)
    api_host = topo["bridgeIP"] if topo else loopback
    ips = {name: topo["nodes"][name]["ip"] if topo else node_ip(i) for i, name in enumerate(names, start=1)}
    service_range = pod_networks.service_cidr(octet)
    # The kubernetes Service's cluster IP is a name of the apiserver too, as in kube-apiserver's certificate.
    kubernetes_ip = str(ipaddress.IPv4Network(service_range).network_address + 1)
    creds = _credentials(cdir, ips, ([api_host] if topo else []) + [kubernetes_ip]) if secure else None

    def auth_flags(identity: str) -> list[str]:
        if creds is None:
            return []
        return ["--token-file", creds["tokenFiles"][identity], "--certificate-authority", creds["ca"]]

    def serving_flags(kind: str, node: str = "") -> tuple[list[str], dict]:
        """TLS flags of a component's own port, and how kubemu's tools reach it (state.json)."""
        if creds is None:
            return [], {}
        cert, key = creds["kubeletServing"][node] if kind == KUBELET else creds["serving"][kind]
        flags = ["--tls-cert-file", cert, "--tls-private-key-file", key]
        probe = {"caFile": creds["ca"]}
        if kind == KUBELET:
            # Mutual TLS, every call authorized by the apiserver; the tools call as the admin.
            flags += ["--client-ca-file", creds["ca"]]
            probe.update(certFile=creds["adminCert"], keyFile=creds["adminKey"], serverName=node)
        return flags, probe

    components: list[dict] = []
    etcd_names = replica_names(ETCD, etcd_members)
    previous = _previous_etcd_ports(cdir, etcd_names) if ports == "auto" else {}
    members = [EtcdMember(name, cdir.etcd_dir if etcd_members == 1 else os.path.join(cdir.etcd_dir, name),
                          *previous.get(name, (port(ETCD, i), port("etcd-peer", i))))
               for i, name in enumerate(etcd_names, start=1)]
    initial_cluster = ",".join(f"{m.name}={m.peer_url}" for m in members)
    for i, member in enumerate(members, start=1):
        member.initial_cluster = initial_cluster
        components.append({"name": member.name, "kind": ETCD, "command": member.command(binary) + extra.get(ETCD, []),
                           "address": member.client_url, "grpcAddress": f"{loopback}:{member.client_port}",
                           "metricsAddress": f"{member.client_url}/metrics",
                           # Members wait for a quorum: start them all, then wait on the last.
                           "waitReady": i == len(members),
                           "ports": [[loopback, member.client_port], [loopback, member.peer_port]]})
    etcd_urls = ",".join(m.client_url for m in members)
    api_flags = [] if creds is None else ["--token-auth-file", creds["tokenAuthFile"], "--tls-cert-file",
                                          creds["servingCert"], "--tls-private-key-file", creds["servingKey"],
                                          "--kubelet-client-certificate", creds["kubeletClient"][0],
                                          "--kubelet-client-key", creds["kubeletClient"][1],
                                          "--kubelet-certificate-authority", creds["ca"]]
    api_addresses, rest_urls = [], []
    scheme = "https" if creds else "http"
    for i, name in enumerate(replica_names(APISERVER, apiservers), start=1):
        api_port, rest_port = port(APISERVER, i), port(REST, i)
        address = f"{api_host}:{api_port}"
        api_addresses.append(address)
        rest_urls.append(f"{scheme}://{api_host}:{rest_port}")
        components.append({"name": name, "kind": APISERVER, "address": address, "grpcAddress": address,
                           "restAddress": rest_urls[-1], "waitReady": True,
                           "metricsAddress": f"{rest_urls[-1]}/metrics",
                           "metricsTokenFile": creds["tokenFiles"].get(MONITORING, "") if creds else "",
                           "ports": [[api_host, api_port], [api_host, rest_port]],
                           "caFile": creds["ca"] if creds else "",
                           "command": [python, "-m", "apiserver", "--etcd-servers", etcd_urls, "--bind-address",
                                       api_host, "--secure-port", str(api_port), "--rest-port", str(rest_port),
                                       "--service-cluster-ip-range", service_range,
                                       *api_flags, *extra.get(APISERVER, [])]})
    api_list = ",".join(api_addresses)
    for enabled, kind, module, count in ((scheduler, SCHEDULER, "scheduler", schedulers),
                                         (controller_manager, CONTROLLER_MANAGER, "controller_manager",
                                          controller_managers)):
        if not enabled:
            continue
        tls_flags, probe = serving_flags(kind)
        for i, name in enumerate(replica_names(kind, count), start=1):
            p, mp = port(kind, i), port(METRICS[kind], i)
            components.append({"name": name, "kind": kind, "address": f"{loopback}:{p}",
                               "grpcAddress": f"{loopback}:{p}", "waitReady": False,
                               "ports": [[loopback, p], [loopback, mp]], **probe,
                               "metricsAddress": f"http://{loopback}:{mp}/metrics",
                               "command": [python, "-m", module, "--apiserver", api_list, "--bind-address", loopback,
                                           "--port", str(p), "--metrics-port", str(mp), "--identity", name, *tls_flags,
                                           *auth_flags(f"system:{_IDENTITY[kind]}"),
                                           *(["--cluster-cidr", topo["clusterCIDR"]]
                                             if topo and kind == CONTROLLER_MANAGER else []),
                                           *extra.get(kind, [])]})
    for index in range(1, nodes + 1):
        name = node_name(index)
        link = topo["nodes"][name] if topo else None
        ip = ips[name]
        tls_flags, probe = serving_flags(KUBELET, name)
        # In a namespace the port only has to be free there: pick it on loopback when auto.
        p = port(KUBELET, host=loopback if link else ip)
        mp = port(METRICS[KUBELET], host=loopback if link else ip)
        prefix = ["ip", "netns", "exec", link["namespace"]] if link else []
        # Own network stacks need routed pod IPs (kubelet/pod_routes.py); one machine's loopback needs nothing.
        network = ["--pod-cidr", link["podCIDR"], "--pod-network", "routed"] if link else \
            ["--pod-cidr", f"127.{octet}.{index}.0/24"]
        components.append({"name": name, "kind": KUBELET, "node": name, "nodeDir": cdir.node_dir(name),
                           "address": f"{ip}:{p}", "grpcAddress": f"{ip}:{p}", "waitReady": False,
                           "ports": [[ip, p], [ip, mp]], **({"netns": link["namespace"]} if link else {}), **probe,
                           "metricsAddress": f"http://{ip}:{mp}/metrics",
                           "command": [*prefix, python, "-m", "kubelet", "--apiserver", api_list, "--node-name", name,
                                       "--node-ip", ip, "--bind-address", ip, "--port", str(p),
                                       "--metrics-port", str(mp),
                                       "--root-dir", cdir.node_dir(name), *network,
                                       *tls_flags, *auth_flags(f"system:node:{name}"), *extra.get(KUBELET, [])]})
    for index in range(1, nodes + 1 if kube_proxy else 1):
        name = node_name(index)
        link = topo["nodes"][name] if topo else None
        ip = ips[name]
        host = loopback if link else ip
        p, mp, hp = (port(kind, host=host) for kind in (KUBE_PROXY, METRICS[KUBE_PROXY], PROXY_HEALTHZ))
        prefix = ["ip", "netns", "exec", link["namespace"]] if link else []
        components.append({"name": proxy_name(name), "kind": KUBE_PROXY, "node": name,
                           "address": f"{ip}:{p}", "grpcAddress": f"{ip}:{p}", "waitReady": False,
                           "ports": [[ip, p], [ip, mp], [ip, hp]], **({"netns": link["namespace"]} if link else {}),
                           "metricsAddress": f"http://{ip}:{mp}/metrics",
                           "healthzAddress": f"http://{ip}:{hp}/healthz",
                           "command": [*prefix, python, "-m", "kube_proxy", "--apiserver", api_list,
                                       "--hostname-override", name, "--bind-address", ip, "--port", str(p),
                                       "--metrics-bind-address", f"{ip}:{mp}", "--healthz-bind-address", f"{ip}:{hp}",
                                       *auth_flags("system:kube-proxy"), *extra.get(KUBE_PROXY, [])]})
    return {"version": 1, "clusterDir": cdir.path, "restartPolicy": restart_policy, "nodes": nodes,
            "ports": ports, "podNetworkOctet": octet, "serviceClusterIPRange": service_range, "etcdBinary": binary,
            "etcdVersion": etcd_version(binary),
            "apiservers": api_addresses, "restServers": rest_urls, "mergeKubeconfig": merge_kubeconfig,
            "etcdEndpoints": [m.client_url for m in members],
            "components": components, "secure": secure, **({"netns": topo} if topo else {}),
            "kubeconfig": {"tokenFile": creds["tokenFiles"]["admin"], "ca": creds["ca"]} if creds else {}}


def _previous_etcd_ports(cdir: ClusterDir, names: list[str]) -> dict[str, tuple[int, int]]:
    """The ports etcd members had in this directory's last plan, when their data is still there.

    An etcd member remembers its peer URLs in its data directory; with ``--ports auto`` a rerun
    must give each member the same ports again or the cluster cannot re-form.
    """
    plan = cdir.read_plan() or {}
    if not os.path.isdir(cdir.etcd_dir) or not os.listdir(cdir.etcd_dir):
        return {}
    out = {}
    for comp in plan.get("components", []):
        if comp.get("kind") == ETCD and comp.get("name") in names and len(comp.get("ports", [])) == 2:
            (host_c, client), (host_p, peer) = comp["ports"]
            if _port_free(host_c, client) and _port_free(host_p, peer):
                out[comp["name"]] = (client, peer)
    return out if len(out) == len(names) else {}


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


_IDENTITY = {SCHEDULER: "kube-scheduler", CONTROLLER_MANAGER: "kube-controller-manager"}


def _credentials(cdir: ClusterDir, node_ips: dict[str, str], extra_sans: list[str] = ()) -> dict:
    """The cluster's CA, the apiserver's serving certificate and one token file per identity; the
    apiserver's kubelet client certificate, each kubelet's serving certificate (its name and IP),
    and the scheduler's and controller manager's serving certificates."""
    from kubemu import pki as pki_mod
    from kubemu.cluster import atomic_write
    from kubemu.pki import write_cluster_credentials

    pki = os.path.join(cdir.path, "pki")
    written = write_cluster_credentials(pki, list(node_ips), extra_sans=list(extra_sans))
    ca = pki_mod.CertificateAuthority.load(pki)
    kubelet_client = pki_mod.write_kubelet_client(pki, ca)
    kubelet_serving = {name: pki_mod.write_kubelet_serving(pki, name, [ip], ca) for name, ip in node_ips.items()}
    serving = {kind: pki_mod.write_component_serving(pki, kind, ca=ca) for kind in (SCHEDULER, CONTROLLER_MANAGER)}
    token_dir = os.path.join(pki, "tokens")
    os.makedirs(token_dir, mode=0o700, exist_ok=True)
    files = {}
    for user, token in written["tokens"].items():
        path = os.path.join(token_dir, user.replace(":", "-") + ".token")
        atomic_write(path, token + "\n")
        os.chmod(path, 0o600)
        files[user] = path
    return {"ca": written["ca"], "tokenAuthFile": written["token_file"], "tokenFiles": files,
            "servingCert": os.path.join(pki, "apiserver.crt"), "servingKey": os.path.join(pki, "apiserver.key"),
            "kubeletClient": kubelet_client, "kubeletServing": kubelet_serving, "serving": serving,
            "adminCert": os.path.join(pki, "admin.crt"), "adminKey": os.path.join(pki, "admin.key")}


def ports_in_use(plan: dict) -> list[tuple[str, str, int]]:
    """``(component, host, port)`` for every planned port something else already listens on.

    Ports in a kubelet's own network namespace, or on an address that does not exist yet (the
    ``--netns`` bridge), cannot be taken by anything on the host: they are not checked.
    """
    busy = []
    for comp in plan.get("components", []):
        if comp.get("netns"):
            continue
        for host, port in comp.get("ports", []):
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((host, port))
                except OSError as e:
                    if e.errno != errno.EADDRNOTAVAIL:
                        busy.append((comp["name"], host, port))
    return busy


# --------------------------------------------------------------------------- probes


def probe_health(address: str, timeout_s: float = PROBE_TIMEOUT_S, creds=None) -> str:
    """The gRPC health status of a component: SERVING, NOT_SERVING, … or UNREACHABLE (TLS when
    ``creds`` has a CA; :func:`kubemu.cluster.component_credentials` gives a component's)."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from machinery.client import Credentials, make_channel

    with make_channel(address, creds or Credentials()) as channel:
        try:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""),
                                                              timeout=timeout_s)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                return "SERVICE_UNKNOWN"
            return "UNREACHABLE"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)


def probe_etcd(address: str, timeout_s: float = PROBE_TIMEOUT_S) -> dict | None:
    """etcd's Maintenance/Status as a dict (version, leader, dbSize, revision), or None."""
    import grpc
    from etcd3 import etcdrpc

    with grpc.insecure_channel(address) as channel:
        try:
            resp = etcdrpc.MaintenanceStub(channel).Status(etcdrpc.StatusRequest(), timeout=timeout_s)
        except grpc.RpcError:
            return None
    return {"version": resp.version, "leader": resp.leader == resp.header.member_id, "dbSize": resp.dbSize,
            "revision": resp.header.revision, "raftTerm": resp.raftTerm}


def probe_ready(comp: dict) -> bool:
    if comp["kind"] == ETCD:
        return probe_etcd(comp["grpcAddress"]) is not None
    return probe_health(comp["grpcAddress"], creds=cluster.component_credentials(comp)) == "SERVING"


# --------------------------------------------------------------------------- killing processes


def _signal_group(pid: int, sig: int) -> None:
    """Signal ``pid``'s process group when it leads one (our children do), else just ``pid``."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_leftover_group(pgid: int) -> None:
    """SIGKILL what is left of a process group whose leader has exited (its pid cannot be reused
    while the group has members, so this only reaches leftovers of that group)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stop_processes(procs: list[tuple[int, float | None]], timeout_s: float = STOP_TIMEOUT_S,
                   waiter: dict[int, subprocess.Popen] | None = None) -> None:
    """SIGTERM every ``(pid, create_time)`` group at once, wait up to ``timeout_s`` for all, SIGKILL the rest.

    ``waiter`` maps pids that are our own children to their Popen, so they are reaped.
    """
    waiter = waiter or {}
    live = [(pid, ct) for pid, ct in procs if process_alive(pid, ct)]
    for pid, _ in live:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for pid, ct in live:
        remaining = max(0.0, deadline - time.monotonic())
        if pid in waiter:
            try:
                waiter[pid].wait(remaining)
            except subprocess.TimeoutExpired:
                pass
        else:
            try:
                psutil.Process(pid).wait(remaining)
            except (psutil.TimeoutExpired, psutil.Error):
                pass
        if process_alive(pid, ct):
            log.warning("pid %d did not stop within %.0fs; killing it", pid, timeout_s)
            _signal_group(pid, signal.SIGKILL)
            if pid in waiter:
                try:
                    waiter[pid].wait(5)
                except subprocess.TimeoutExpired:
                    pass
            else:
                try:
                    psutil.Process(pid).wait(5)
                except (psutil.TimeoutExpired, psutil.Error):
                    pass
        _kill_leftover_group(pid)
    for pid, popen in waiter.items():
        if all(pid != p for p, _ in live):  # exited before we got to it: reap it, mop up its group
            popen.poll()
            _kill_leftover_group(pid)


def _runtime_roots(node_dir: str) -> list[str]:
    """Where a node's container runtime keeps its pods: ``<node>/runtime`` (the kubelet's layout), or
    ``<node>`` itself."""
    return [d for d in (os.path.join(node_dir, "runtime"), node_dir) if os.path.isdir(os.path.join(d, "pods"))]


def kill_processes(procs: list[tuple[int, float | None]], timeout_s: float = 5.0) -> None:
    """SIGKILL every live ``(pid, create_time)`` with its process group and wait for them to go."""
    live = [(pid, ct) for pid, ct in procs if process_alive(pid, ct)]
    for pid, _ in live:
        _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout_s
    for pid, _ in live:
        try:
            psutil.Process(pid).wait(max(0.0, deadline - time.monotonic()))
        except (psutil.TimeoutExpired, psutil.Error):
            pass


def _container_pids(root: str) -> list[tuple[int, float | None]]:
    """``(pid, create_time)`` of the running containers recorded under the runtime root ``root``.

    A record without a create_time only counts when the process is older than the record, so a
    pid reused by an unrelated, later process is never taken for a container.
    """
    found = []
    for path in glob.glob(os.path.join(root, "pods", "*", "containers", "*", "container.json")):
        try:
            with open(path) as f:
                data = json.load(f)
            mtime = os.path.getmtime(path)
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("exit_code") is not None:
            continue
        pid, create_time = data.get("pid"), data.get("create_time")
        if not isinstance(pid, int) or pid <= 1 or pid == os.getpid():
            continue
        if not isinstance(create_time, int | float):
            actual = process_create_time(pid)
            if actual is None or actual > mtime + 1.0:
                continue
            create_time = actual
        found.append((pid, float(create_time)))
    return found


def cleanup_node_containers(node_dir: str, timeout_s: float = 5.0) -> None:
    """Kill the container processes a kubelet of ``node_dir`` left behind.

    The process runtime knows its containers best; while it is unavailable (or fails), fall back
    to the pids recorded in ``pods/*/containers/*/container.json``.
    """
    for root in _runtime_roots(node_dir):
        try:
            from kubelet.images import load_catalog
            from kubelet.runtime.process import ProcessRuntime

            ProcessRuntime(root_dir=root, catalog=load_catalog()).cleanup_all()
        except ImportError:
            pass
        except Exception:  # noqa: BLE001 - fall back to the pid files rather than leave processes behind
            log.exception("container cleanup of %s through the runtime failed; using container.json pids", root)
        pids = [(pid, ct) for pid, ct in _container_pids(root) if process_alive(pid, ct)]
        if pids:
            stop_processes(pids, timeout_s)


# --------------------------------------------------------------------------- the supervisor


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Child:
    """One planned component and the process currently running it."""

    spec: dict
    status: str = cluster.PENDING
    popen: subprocess.Popen | None = None
    create_time: float | None = None
    started_mono: float = 0.0
    restarts: int = 0
    exit_code: int | None = None
    backoff_s: float = BACKOFF_INITIAL_S
    next_start_mono: float | None = None
    next_probe_mono: float = 0.0
    started_at: str = ""
    message: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def kind(self) -> str:
        return self.spec["kind"]

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def to_state(self, cdir: ClusterDir) -> dict:
        out = {"name": self.name, "kind": self.kind, "pid": self.pid, "createTime": self.create_time,
               "address": self.spec.get("address", ""), "grpcAddress": self.spec.get("grpcAddress", ""),
               "log": cdir.log_path(self.name), "command": self.spec["command"], "status": self.status,
               "restarts": self.restarts, "exitCode": self.exit_code, "startedAt": self.started_at,
               **{k: self.spec.get(k, "") for k in ("caFile", "certFile", "keyFile", "serverName")}}
        for key in ("metricsAddress", "metricsTokenFile", "healthzAddress"):
            if self.spec.get(key):
                out[key] = self.spec[key]
        if self.spec.get("node"):
            out["node"] = self.spec["node"]
            out["nodeDir"] = self.spec.get("nodeDir", "")
        if self.message:
            out["message"] = self.message
        out.update(self.extra)
        return out


class Waker:
    """Sleep until a signal arrives or a timeout passes: the self-pipe trick.

    ``signal.set_wakeup_fd`` makes the interpreter write a byte to a pipe for every signal it
    receives, so a ``select`` on the pipe returns at once on SIGCHLD/SIGTERM, without the signal
    handler touching a lock (setting a ``threading.Event`` from a handler can deadlock).
    """

    def __init__(self):
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)

    def install(self) -> None:
        signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)

    def wait(self, timeout_s: float) -> None:
        readable, _, _ = select.select([self._read_fd], [], [], max(0.0, timeout_s))
        if readable:
            try:
                while os.read(self._read_fd, 4096):
                    pass
            except BlockingIOError:
                pass


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    # Make the project importable by `python -m <component>` whatever the working directory.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


class Supervisor:
    def __init__(self, cdir: ClusterDir, plan: dict, *, stop_timeout_s: float = STOP_TIMEOUT_S,
                 ready_timeout_s: float | None = None):
        self.cdir = cdir
        self.plan = plan
        self.policy = plan.get("restartPolicy", RESTART_NEVER)
        self.children = [Child(spec) for spec in plan["components"]]
        self.stop_timeout_s = stop_timeout_s
        self.ready_timeout_s = ready_timeout_s or float(plan.get("readyTimeoutSeconds", READY_TIMEOUT_S))
        self.phase = cluster.PHASE_STARTING
        self.error = ""
        self.waker = Waker()
        self.stop_signal: int | None = None  # set by the SIGTERM/SIGINT handler
        self._env = _child_env()

    # --- state ----------------------------------------------------------------------------

    def write_state(self) -> None:
        self.cdir.write_state({
            "version": 1, "phase": self.phase, "error": self.error, "restartPolicy": self.policy,
            "supervisor": {"pid": os.getpid(), "createTime": process_create_time(os.getpid()),
                           "log": self.cdir.log_path("supervisor")},
            "etcdVersion": self.plan.get("etcdVersion", ""), "apiservers": self.plan.get("apiservers", []),
            "updatedAt": _now(),
            "components": [c.to_state(self.cdir) for c in self.children],
        })

    # --- signals --------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self.stop_signal is not None

    def install_signal_handlers(self) -> None:
        """Handlers only record the signal (no locks, no logging in a handler); the waker's pipe
        wakes the main loop."""

        def on_stop(signum, _frame):
            self.stop_signal = signum

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a Python handler, so SIGCHLD reaches the wakeup fd
        signal.signal(signal.SIGUSR1, lambda *_: None)  # a control request is waiting in control/
        self.waker.install()

    # --- children -------------------------------------------------------------------------

    def start(self, child: Child) -> None:
        path = self.cdir.log_path(child.name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        cluster.rotate_log(path)
        if child.spec.get("nodeDir"):
            os.makedirs(child.spec["nodeDir"], exist_ok=True)
        with open(path, "ab") as out:
            attempt = f" (restart {child.restarts})" if child.restarts else ""
            out.write(f"==== kubemu supervisor {_now()}: starting {child.name}{attempt}: "
                      f"{' '.join(child.spec['command'])}\n".encode())
            out.flush()
            try:
                child.popen = subprocess.Popen(child.spec["command"], stdin=subprocess.DEVNULL, stdout=out,
                                               stderr=subprocess.STDOUT, env=self._env, cwd=self.cdir.path,
                                               start_new_session=True)
            except OSError as e:
                out.write(f"==== kubemu supervisor: cannot start {child.name}: {e}\n".encode())
                child.popen = None
                child.status, child.message = cluster.DEAD, f"cannot start: {e}"
                log.error("cannot start %s: %s", child.name, e)
                return
        child.create_time = process_create_time(child.popen.pid)
        child.started_mono = time.monotonic()
        child.started_at = _now()
        child.status, child.exit_code, child.message = cluster.STARTING, None, ""
        child.next_start_mono = None
        child.next_probe_mono = 0.0
        log.info("started %s (pid %d)", child.name, child.popen.pid)

    def wait_ready(self, child: Child) -> bool:
        """Block until ``child`` is ready; False when it died, timed out or we are stopping."""
        deadline = time.monotonic() + self.ready_timeout_s
        while not self.stopping:
            if child.popen is None or child.popen.poll() is not None:
                self._record_exit(child)
                self.error = f"{child.name} exited during start-up (exit code {child.exit_code})"
                return False
            if probe_ready(child.spec):
                self._mark_ready(child)
                return True
            if time.monotonic() > deadline:
                self.error = f"{child.name} did not become ready within {self.ready_timeout_s:.0f}s"
                child.message = "not ready in time"
                return False
            self.waker.wait(0.2)
        return False

    def _mark_ready(self, child: Child) -> None:
        child.status = cluster.RUNNING
        if child.kind == ETCD:
            info = probe_etcd(child.spec["grpcAddress"]) or {}
            if info.get("version"):
                child.extra["version"] = info["version"]
        log.info("%s is ready", child.name)
        self.write_state()

    def _record_exit(self, child: Child) -> None:
        code = child.popen.returncode if child.popen else None
        child.exit_code = code
        child.status = cluster.DEAD
        if code is not None and code < 0:
            try:
                child.message = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                child.message = f"killed by signal {-code}"
        elif code is not None:
            child.message = f"exited with code {code}"
        # What the child left in its process group keeps running, as after a real crash (a dead
        # kubelet leaves its containers running); shutdown kills it.

    def check_children(self) -> None:
        """React to exits (restart or report dead), start due restarts, probe starting children."""
        now = time.monotonic()
        changed = False
        for child in self.children:
            if child.popen is not None and child.status in (cluster.STARTING, cluster.RUNNING) \
                    and child.popen.poll() is not None:
                ran_s = now - child.started_mono
                self._record_exit(child)
                changed = True
                if self.policy == RESTART_ALWAYS:
                    if ran_s >= BACKOFF_RESET_AFTER_S:
                        child.backoff_s = BACKOFF_INITIAL_S
                    child.status = cluster.RESTARTING
                    child.next_start_mono = now + child.backoff_s
                    log.warning("%s %s; restarting in %.0fs", child.name, child.message, child.backoff_s)
                    child.backoff_s = min(child.backoff_s * 2, BACKOFF_MAX_S)
                else:
                    log.warning("%s %s; restart policy is never, leaving it down", child.name, child.message)
            elif child.status == cluster.RESTARTING and child.next_start_mono is not None \
                    and now >= child.next_start_mono:
                child.restarts += 1
                self.start(child)
                changed = True
            elif child.status == cluster.STARTING and now >= child.next_probe_mono:
                child.next_probe_mono = now + PROBE_INTERVAL_S
                if probe_ready(child.spec):
                    self._mark_ready(child)
        if changed:
            self.write_state()

    def handle_requests(self) -> None:
        """Start components named by request files in ``control/`` (from ``kubemu chaos``)."""
        for request in self.cdir.take_control_requests():
            name = request.get("start", "")
            child = next((c for c in self.children if c.name == name), None)
            if child is None:
                log.warning("control request for unknown component %r ignored", name)
                continue
            if child.popen is not None and child.popen.poll() is None:
                continue  # running (perhaps paused): nothing to start
            if child.popen is not None:
                self._record_exit(child)
            child.restarts += 1
            log.info("starting %s on request", name)
            self.start(child)
            self.write_state()

    def _next_timeout(self) -> float:
        timeout = 5.0
        now = time.monotonic()
        for child in self.children:
            if child.status == cluster.RESTARTING and child.next_start_mono is not None:
                timeout = min(timeout, max(0.0, child.next_start_mono - now))
            elif child.status == cluster.STARTING:
                timeout = min(timeout, PROBE_INTERVAL_S)
        return timeout

    # --- run ------------------------------------------------------------------------------

    def run(self) -> int:
        kubeconfig = self.plan.get("kubeconfig") or {}
        token = ""
        if kubeconfig.get("tokenFile"):
            with open(kubeconfig["tokenFile"]) as f:
                token = f.read().strip()
        doc = self.cdir.write_kubeconfig(self.plan.get("apiservers", []), token, kubeconfig.get("ca", ""),
                                         rest_servers=self.plan.get("restServers", []))
        if self.plan.get("mergeKubeconfig"):
            from kubemu import kubeconfig as kubeconfig_file

            try:
                kubeconfig_file.merge(self.plan["mergeKubeconfig"], doc)
                log.info("merged context %s into %s", doc["current-context"], self.plan["mergeKubeconfig"])
            except (OSError, ValueError) as e:
                log.error("cannot merge the kubeconfig into %s: %s", self.plan["mergeKubeconfig"], e)
        self.write_state()
        ok = self.setup_network() and self.start_all()
        if ok:
            self.phase = cluster.PHASE_RUNNING
            self.write_state()
            log.info("cluster is up")
            while not self.stopping:
                self.waker.wait(self._next_timeout())
                if not self.stopping:
                    self.check_children()
                    self.handle_requests()
        else:
            self.phase = cluster.PHASE_FAILED if not self.stopping else cluster.PHASE_STOPPING
            if self.error:
                log.error("%s", self.error)
            self.write_state()
        if self.stopping:
            log.info("received %s; stopping the cluster", signal.Signals(self.stop_signal).name)
        self.shutdown()
        return 0 if ok or self.stopping else 1

    def setup_network(self) -> bool:
        """Create the ``--netns`` topology (namespaces, veths, bridge) when the plan has one."""
        topo = self.plan.get("netns")
        if not topo:
            return True
        from kubemu import netns

        try:
            netns.setup(self.cdir, topo)
        except (netns.NetnsError, OSError) as e:
            self.error = f"cannot create the network namespaces: {e}"
            return False
        log.info("network namespaces ready: bridge %s at %s, %d node namespace(s)", topo["bridge"],
                 topo["bridgeIP"], len(topo.get("nodes") or {}))
        return True

    def teardown_network(self) -> None:
        if not self.plan.get("netns"):
            return
        from kubemu import netns

        try:
            removed = netns.teardown(self.cdir)
        except (netns.NetnsError, OSError) as e:
            log.error("network teardown incomplete: %s", e)
            return
        if removed:
            log.info("removed %s", ", ".join(removed))

    def start_all(self) -> bool:
        for kind in START_ORDER:
            for child in (c for c in self.children if c.kind == kind):
                if self.stopping:
                    return False
                self.start(child)
                self.write_state()
                if child.popen is None:
                    self.error = f"cannot start {child.name}: {child.message}"
                    return False
                if child.spec.get("waitReady") and not self.wait_ready(child):
                    self.write_state()
                    return False
        return not self.stopping

    def shutdown(self) -> None:
        """Stop everything: kubelets, their containers, then the control plane in reverse order."""
        if self.phase != cluster.PHASE_FAILED:
            self.phase = cluster.PHASE_STOPPING
        self.write_state()
        for kind in reversed(START_ORDER):
            group = [c for c in self.children if c.kind == kind]
            self._stop_group(group)
            if kind == KUBELET:
                node_dirs = {c.spec["nodeDir"] for c in group if c.spec.get("nodeDir")}
                node_dirs.update(self.cdir.node_dirs())
                for node_dir in sorted(node_dirs):
                    cleanup_node_containers(node_dir)
        self.teardown_network()
        if self.phase != cluster.PHASE_FAILED:
            self.phase = cluster.PHASE_STOPPED
        self.write_state()
        log.info("cluster stopped")

    def _stop_group(self, group: list[Child]) -> None:
        running = [c for c in group if c.popen is not None and c.popen.poll() is None]
        if running:
            log.info("stopping %s", ", ".join(c.name for c in running))
            stop_processes([(c.popen.pid, c.create_time) for c in running], self.stop_timeout_s,
                           waiter={c.popen.pid: c.popen for c in running})
        for child in group:
            if child.popen is not None:
                child.popen.poll()
                child.exit_code = child.popen.returncode
            if child.status in (cluster.STARTING, cluster.RUNNING, cluster.RESTARTING, cluster.PENDING):
                child.status = cluster.STOPPED
        self.write_state()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kubemu.supervisor", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cluster-dir", default=None, help="the cluster directory holding plan.json")
    p.add_argument("--stop-timeout", type=float, default=STOP_TIMEOUT_S,
                   help="seconds each component gets to exit after SIGTERM before SIGKILL")
    args = p.parse_args(argv)
    from machinery import logs

    logs.setup("kubemu-supervisor")
    cdir = ClusterDir(args.cluster_dir)
    plan = cdir.read_plan()
    if plan is None:
        log.error("no plan.json in %s; run `kubemu up`", cdir.path)
        return 2
    other = cdir.supervisor_pid()
    if other and other != os.getpid():
        log.error("a supervisor (pid %d) already runs for %s", other, cdir.path)
        return 2
    cdir.ensure()
    sup = Supervisor(cdir, plan, stop_timeout_s=args.stop_timeout)
    sup.install_signal_handlers()
    cdir.write_supervisor_pid()
    try:
        return sup.run()
    except BaseException:
        log.exception("supervisor failed; stopping everything")
        sup.shutdown()
        raise
    finally:
        cdir.remove_supervisor_pid()


if __name__ == "__main__":
    raise SystemExit(main())
