"""kubemu-proxy: kube-proxy, one per node — a userspace proxy for every Service port.

    kubemu-proxy --apiserver 127.0.0.1:6443 --token-file kube-proxy.token --hostname-override node-1 \\
        --bind-address 127.1.0.1

It lists and watches Services and EndpointSlices through the apiserver (as ``system:kube-proxy``,
allowed by the ``system:node-proxier`` ClusterRole) and listens on every Service's
``clusterIP:port`` and, for NodePort Services, on ``nodeIP:nodePort``, forwarding each connection
to a ready endpoint (kube_proxy/proxier.py, docs/services.md). Like kube-proxy it answers
``/healthz`` on ``--healthz-bind-address`` (0.0.0.0:10256) and serves Prometheus metrics on
``--metrics-bind-address`` (127.0.0.1:10249), both plain HTTP; ``host:0`` turns one off. Like
every kubemu component it also serves gRPC Health and ``Component/Describe`` on ``--port``
(kubemu's own, 10262; kube-proxy has no such port) for ``kubemu status``.

The node's IP, where node ports listen, is ``--nodeport-addresses`` when given, else
``--bind-address`` when it is not 0.0.0.0, else the InternalIP of this node's Node object.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import resource
import socket

from kube_proxy.healthz import HealthState, HealthzServer
from kube_proxy.proxier import Proxier
from kube_proxy.proxy import KubeProxy
from machinery import component, config, durations, errors, logs, metrics
from machinery.client import APIClient
from machinery.server import ComponentServer

log = logging.getLogger("kube-proxy")

DEFAULT_PORT = 10262


def duration_s(text: str) -> float:
    """``30``, ``30s``, ``1m``, ``500ms`` → seconds (kube-proxy's flags take Go durations)."""
    try:
        return durations.parse_seconds(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid duration {str(text).strip()!r} (use 30s, 1m, 500ms)") from None


def host_port(default_port: int):
    """A flag type: ``0.0.0.0:10256`` → (host, port), a bare host takes ``default_port``; port 0: off."""
    def parse(text: str) -> tuple[str, int]:
        text = str(text).strip()
        host, sep, port = text.rpartition(":")
        if not sep:
            host, port = text, str(default_port)
        if not port.isdigit() or not host:
            raise argparse.ArgumentTypeError(f"invalid address {text!r}: expected HOST:PORT")
        return host.strip("[]"), int(port)

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubemu-proxy", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    component.add_client_flags(p, default_port=DEFAULT_PORT)
    p.add_argument("--hostname-override", default="", help="this node's name (default: the host name)")
    p.add_argument("--proxy-mode", default="userspace", choices=("userspace",),
                   help="how Services are implemented: userspace (a listening socket per Service port); kubemu "
                        "writes no kernel rules, so iptables, ipvs and nftables are not available")
    p.add_argument("--nodeport-addresses", default="",
                   help="comma-separated IPs (or CIDRs of the node's addresses) node ports listen on "
                        "(default: the node's IP)")
    p.add_argument("--healthz-bind-address", type=host_port(10256), default=("0.0.0.0", 10256),
                   help="HOST:PORT of /healthz (port 0: off)")
    p.add_argument("--metrics-bind-address", type=host_port(10249), default=("127.0.0.1", 10249),
                   help="HOST:PORT of /metrics (port 0: off)")
    p.add_argument("--sync-period", type=duration_s, default=30.0,
                   help="how often the listeners are synced even without changes (30s)")
    p.add_argument("--min-sync-period", type=duration_s, default=1.0,
                   help="the least time between two syncs, however fast things change (1s)")
    p.add_argument("--connect-timeout", type=duration_s, default=1.0,
                   help="how long a backend may take to accept before the next one is tried")
    p.add_argument("--udp-timeout", type=duration_s, default=0.25,
                   help="how long a UDP client may stay silent before its backend socket is closed (250ms, as "
                        "kube-proxy's userspace mode)")
    p.add_argument("--max-connections", type=int, default=1000,
                   help="connections forwarded at once; more are reset (each holds two sockets)")
    return p


def _raise_file_limit() -> None:
    """Two sockets per forwarded connection: take the hard limit on open files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def node_ips(args: argparse.Namespace, client: APIClient, node_name: str, stop) -> list[str]:
    """Where node ports listen (see the module docstring); waits for the Node when it must ask it."""
    if args.nodeport_addresses:
        out = []
        for item in args.nodeport_addresses.split(","):
            item = item.strip()
            if "/" in item:
                raise SystemExit(f"error: --nodeport-addresses {item}: give the node's IPs; CIDR matching of "
                                 "interface addresses is not supported by kubemu")
            ipaddress.IPv4Address(item)
            out.append(item)
        return out
    if args.bind_address not in ("0.0.0.0", "", "::"):
        return [args.bind_address]
    while not stop.is_set():
        try:
            node = client.get("nodes", node_name)
            for address in (node.get("status") or {}).get("addresses") or []:
                if address.get("type") == "InternalIP" and address.get("address"):
                    return [address["address"]]
            log.warning("node %s has no InternalIP yet; waiting", node_name)
        except errors.NotFound:
            log.info("node %s is not registered yet; waiting for it to learn the node IP", node_name)
        except errors.APIError as e:
            log.warning("cannot read node %s: %s", node_name, e)
        stop.wait(2.0)
    return []


def main(argv: list[str] | None = None) -> int:
    args = config.parse(build_parser(), argv)
    logs.setup("kube-proxy", args.v)
    node_name = args.hostname_override or socket.gethostname()
    _raise_file_limit()
    client = component.client_from_args(args, "kubemu-proxy")
    stop = component.stop_event_on_signals()
    ips = node_ips(args, client, node_name, stop)
    if stop.is_set():
        return 0
    health = HealthState(2 * args.sync_period)
    proxier = Proxier(node_ips=ips, connect_timeout_s=args.connect_timeout, max_connections=args.max_connections,
                      udp_timeout_s=args.udp_timeout)
    proxy = KubeProxy(client, proxier, health, node_name=node_name, sync_period_s=args.sync_period,
                      min_sync_period_s=args.min_sync_period)
    server = ComponentServer("kube-proxy", node_name, f"{args.bind_address}:{args.port}", details=proxy.details)
    server.start()
    metrics.record_build_info("kube-proxy")
    healthz = HealthzServer(*args.healthz_bind_address, health).start() if args.healthz_bind_address[1] else None
    metrics_server = metrics.MetricsServer(*args.metrics_bind_address).start() if args.metrics_bind_address[1] \
        else None
    proxy.start()
    server.set_serving(True)
    log.info("kube-proxy of node %s: node ports on %s", node_name, ", ".join(ips))
    stop.wait()
    log.info("stopping")
    server.set_serving(False)
    proxy.stop()
    for srv in (healthz, metrics_server):
        if srv is not None:
            srv.stop()
    server.stop()
    client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
