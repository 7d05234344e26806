"""kubemu-controller-manager: runs the controllers, active/standby through a Lease.

    kubemu-controller-manager --apiserver 127.0.0.1:6443 --port 10257

Only the replica holding ``kube-system/kube-controller-manager`` runs controllers. Timings
that are long in Kubernetes are flags with Kubernetes' defaults, so tests can shorten them
(``--node-monitor-grace-period 6s``). The controllers are described in docs/controllers.md.
Its gRPC port (Health, Component/Describe) is served over TLS with ``--tls-cert-file``/
``--tls-private-key-file`` (``--client-ca-file``: mutual TLS), as kube-controller-manager serves 10257.
Prometheus metrics (every controller's work queue, leader election, the process):
``http://<bind address>:10252/metrics`` (``--metrics-port``; see docs/metrics.md).
"""

from __future__ import annotations

import argparse
import logging
import threading

from controller_manager.manager import ALL_CONTROLLERS, ControllerManager, ControllerOptions
from controller_manager.nodelifecycle import NodeLifecycleConfig
from machinery import component, config, durations, lease_address, logs, metrics, tracing
from machinery.server import ComponentServer

log = logging.getLogger("controller-manager")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubemu-controller-manager", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    component.add_client_flags(p, default_port=10257)
    component.add_serving_flags(p)
    component.add_leader_election_flags(p, lease_name="kube-controller-manager")
    metrics.add_flags(p, default_port=10252)
    tracing.add_flags(p)
    p.add_argument("--controllers", default="*",
                   help="controllers to run: * for all, names, -name to leave one out (e.g. '*,-podgc'); "
                        f"known: {', '.join(ALL_CONTROLLERS)}")
    p.add_argument("--advertise-address", default="",
                   help="host[:port] the apiserver uses to reach this replica's gRPC service (kubemu trace; "
                        "default: the bind address)")
    p.add_argument("--concurrent-syncs", type=int, default=5, help="workers per controller")
    g = p.add_argument_group("node lifecycle")
    g.add_argument("--node-monitor-period", type=duration_s, default=5.0,
                   help="how often node health is checked (seconds or 5s, 1m)")
    g.add_argument("--node-monitor-grace-period", type=duration_s, default=50.0,
                   help="how long a node may stay silent before it is marked Unknown (Kubernetes 1.32+: 50s)")
    g.add_argument("--node-startup-grace-period", type=duration_s, default=60.0,
                   help="the same for a node that never posted a Ready condition")
    g.add_argument("--node-eviction-rate", type=float, default=0.1,
                   help="nodes per second that may be tainted NoExecute (pods then evicted) in a healthy zone")
    g.add_argument("--secondary-node-eviction-rate", type=float, default=0.01,
                   help="the same in a zone with --unhealthy-zone-threshold of its nodes not ready")
    g.add_argument("--unhealthy-zone-threshold", type=float, default=0.55)
    g.add_argument("--large-cluster-size-threshold", type=int, default=50,
                   help="zones of at most this many nodes stop evicting when partially disrupted")
    g = p.add_argument_group("node IPAM")
    g.add_argument("--allocate-node-cidrs", default=True, action=argparse.BooleanOptionalAction,
                   help="give nodes without spec.podCIDR one from --cluster-cidr (default true)")
    g.add_argument("--cluster-cidr", default="10.244.0.0/16", help="the range pod CIDRs are taken from")
    g.add_argument("--node-cidr-mask-size", type=int, default=24, help="prefix length of each node's pod CIDR")
    g = p.add_argument_group("pods and jobs")
    g.add_argument("--terminated-pod-gc-threshold", type=int, default=12500,
                   help="terminated pods kept before the oldest are deleted (0: no limit)")
    g.add_argument("--job-pod-failure-backoff", type=duration_s, default=10.0,
                   help="first delay before a failed Job pod is replaced (doubles up to 6m)")
    return p


def duration_s(text: str) -> float:
    """``50``, ``50s``, ``1m30s``, ``500ms`` → seconds."""
    try:
        return durations.parse_seconds(text)
    except ValueError:
        raise ValueError(f"invalid duration {str(text).strip()!r} (use 30, 30s, 1m30s, 500ms)") from None


def options_from_args(args: argparse.Namespace) -> ControllerOptions:
    return ControllerOptions(
        node_lifecycle=NodeLifecycleConfig(
            monitor_period_s=args.node_monitor_period, grace_period_s=args.node_monitor_grace_period,
            startup_grace_period_s=args.node_startup_grace_period,
            eviction_rate=args.node_eviction_rate, secondary_eviction_rate=args.secondary_node_eviction_rate,
            unhealthy_zone_threshold=args.unhealthy_zone_threshold,
            large_cluster_size_threshold=args.large_cluster_size_threshold),
        cluster_cidr=args.cluster_cidr, node_cidr_mask_size=args.node_cidr_mask_size,
        terminated_pod_gc_threshold=args.terminated_pod_gc_threshold,
        job_pod_failure_backoff_s=args.job_pod_failure_backoff)


def main(argv: list[str] | None = None) -> int:
    args = config.parse(build_parser(), argv)
    logs.setup("controller-manager", args.v)
    identity = component.default_identity(args)
    tracing.configure_from_args(args, "controller-manager", identity)
    tls = component.serving_tls(args)
    client = component.client_from_args(args, "kubemu-controller-manager")
    enabled = args.controllers if args.allocate_node_cidrs else f"{args.controllers},-nodeipam"
    # A new manager (fresh informers and queues) for every leadership term.
    manager = component.Current(lambda: ControllerManager(client, enabled=enabled, workers=args.concurrent_syncs,
                                                          options=options_from_args(args)))
    elector_box: dict = {}

    def details() -> dict:
        elector = elector_box.get("elector")
        return {"leader": elector.is_leader if elector else True, "holder": elector.holder if elector else identity,
                **manager.stats()}

    server = ComponentServer("controller-manager", identity, f"{args.bind_address}:{args.port}", details=details,
                             tls=tls)
    server.start()
    server.set_serving(True)
    metrics_server = metrics.serve_from_args(args, "controller-manager")
    address = lease_address.advertised_address(args.bind_address, server.port, args.advertise_address)
    stop = component.stop_event_on_signals()

    def term() -> ControllerManager:
        """A new term's manager; the leader advertises its address in the Lease (the apiserver
        asks it for trace spans there)."""
        if args.leader_elect:
            threading.Thread(target=lease_address.advertise, name="advertise", daemon=True,
                             args=(client, args.leader_elect_resource_namespace, args.leader_elect_resource_name,
                                   identity, address, lease_address.CONTROLLER_MANAGER_PREFIX)).start()
        return manager.next()

    code = component.run_while_leading(client, args, identity, build=term, stop=stop,
                                       publish=lambda e: elector_box.update(elector=e))
    log.info("stopping")
    manager.stop()
    if metrics_server is not None:
        metrics_server.stop()
    server.stop()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
