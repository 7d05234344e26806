"""kubemu-kubelet: the node agent, one process per simulated node.

    kubemu-kubelet --apiserver 127.0.0.1:6443 --node-name node-1 --node-ip 127.1.0.1 \
        --root-dir /tmp/node-1 --pod-cidr 127.244.1.0/24

Registers the Node, renews its Lease in kube-node-lease every 10 s, posts node status every
10 s, and runs the pods bound to it: as real OS processes (``--runtime process``, the default) or
as in-memory simulations (``--runtime simulated``, for scale). Its gRPC port also serves the
Kubelet service (container logs, exec, usage stats) that the apiserver proxies pods/log and
pods/exec to: over mutual TLS with ``--tls-cert-file``/``--tls-private-key-file``/``--client-ca-file``,
each call authorized by the apiserver (kubelet/auth.py). Every duration is a flag with
Kubernetes' default; tests shorten them.
Pod IPs come from the node's pod CIDR; ``--pod-network routed`` also makes that CIDR local and routes
every other node's via its InternalIP (kubelet/pod_routes.py; needs CAP_NET_ADMIN).
Prometheus metrics: ``http://<bind address>:10255/metrics`` (``--metrics-port``, the kubelet's
old read-only port; see docs/metrics.md).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import threading

from kubelet import auth as kubelet_auth
from kubelet import metrics as kubelet_metrics
from kubelet.images import load_catalog
from kubelet.kubelet import Kubelet, KubeletTimings
from kubelet.node_status import NodeConfig, NodeHeartbeat
from kubelet.runtime.base import ContainerRuntime
from kubelet.runtime.process import ProcessRuntime
from kubelet.server import register as register_kubelet_service
from machinery import component, config, errors, logs, metrics, tracing
from machinery.server import ComponentServer

log = logging.getLogger("kubelet")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubemu-kubelet", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    component.add_client_flags(p, default_port=10250)
    p.add_argument("--address", dest="bind_address", default=argparse.SUPPRESS,
                   help="Kubernetes' name of --bind-address (default 0.0.0.0: every interface)")
    component.add_serving_flags(p)
    kubelet_auth.add_flags(p)
    metrics.add_flags(p, default_port=10255)
    tracing.add_flags(p)
    p.add_argument("--node-name", default=socket.gethostname(), help="this node's name (default: hostname)")
    p.add_argument("--node-ip", default="", help="the node's InternalIP (default: the bind address or 127.0.0.1)")
    p.add_argument("--root-dir", default="", help="state directory (default: ~/.kubemu/kubelet/<node>)")
    p.add_argument("--pod-cidr", default="", help="pod IP range of this node (else the Node's spec.podCIDR)")
    p.add_argument("--cpu", default="", help="CPU capacity to report, a quantity (default: the machine's)")
    p.add_argument("--memory", default="", help="memory capacity to report (default: the machine's)")
    p.add_argument("--max-pods", type=int, default=110)
    p.add_argument("--node-labels", default="", help="extra node labels: k=v,k2=v2")
    p.add_argument("--register-with-taints", default="", help="taints at registration: key=value:Effect,...")
    p.add_argument("--image-catalog", default="", help="YAML file of extra image behaviours")
    p.add_argument("--node-status-update-frequency", type=float, default=10.0, help="seconds between statuses")
    p.add_argument("--node-lease-renew-interval", type=float, default=10.0, help="seconds between lease renewals")
    p.add_argument("--node-lease-duration-seconds", type=int, default=40)
    p.add_argument("--crash-loop-backoff", type=float, default=10.0,
                   help="first CrashLoopBackOff delay in seconds (doubles up to --crash-loop-backoff-max)")
    p.add_argument("--crash-loop-backoff-max", type=float, default=300.0)
    p.add_argument("--crash-loop-backoff-reset", type=float, default=600.0,
                   help="seconds a container must run before its backoff starts over (Kubernetes: 2x the max)")
    p.add_argument("--image-pull-backoff", type=float, default=10.0,
                   help="first ImagePullBackOff delay in seconds (doubles up to --image-pull-backoff-max)")
    p.add_argument("--image-pull-backoff-max", type=float, default=300.0)
    p.add_argument("--sync-frequency", type=float, default=60.0,
                   help="seconds between full resyncs of every pod (refreshes configMap/secret volumes)")
    p.add_argument("--pleg-relist-period", type=float, default=1.0, help="seconds between container state polls")
    p.add_argument("--housekeeping-interval", type=float, default=1.0,
                   help="seconds between container usage samples (memory limits are enforced on each)")
    p.add_argument("--pod-workers", type=int, default=8)
    p.add_argument("--runtime", choices=("process", "simulated"), default="process",
                   help="process: containers are OS processes; simulated: no processes (scale tests)")
    p.add_argument("--simulated-behaviour", default="",
                   help="YAML file of container behaviours for --runtime simulated (merged over the defaults)")
    p.add_argument("--cni-conf-file", default="",
                   help="CNI network config (.conf/.conflist): pod IPs come from CNI plugins, not host-local IPAM")
    p.add_argument("--cni-bin-dir", default="/opt/cni/bin", help="where CNI plugin executables are (colon-separated)")
    p.add_argument("--pod-network", choices=("loopback", "routed"), default="loopback",
                   help="loopback: configure nothing (pod CIDRs in 127.0.0.0/8 are bindable without privileges, "
                        "reachable on this machine only); routed: make the pod CIDR local (AnyIP) and route every "
                        "other node's pod CIDR via its InternalIP, like flannel's host-gw (needs CAP_NET_ADMIN)")
    p.add_argument("--pod-network-resync-period", type=float, default=10.0,
                   help="seconds between full checks of the routes of --pod-network routed")
    return p


def _parse_labels(text: str) -> dict[str, str]:
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, _, value = item.partition("=")
        out[key] = value
    return out


def _parse_taints(text: str) -> list[dict]:
    taints = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        kv, _, effect = item.rpartition(":")
        key, _, value = kv.partition("=")
        taints.append({"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect})
    return taints


def main(argv: list[str] | None = None) -> int:
    args = config.parse(build_parser(), argv)
    logs.setup(f"kubelet {args.node_name}", args.v)
    node_ip = args.node_ip or (args.bind_address if args.bind_address not in ("0.0.0.0", "::") else "127.0.0.1")
    root = args.root_dir or os.path.expanduser(f"~/.kubemu/kubelet/{args.node_name}")
    os.makedirs(root, exist_ok=True)
    tracing.configure_from_args(args, "kubelet", args.node_name)
    tls = component.serving_tls(args)
    client = component.client_from_args(args, f"kubemu-kubelet/{args.node_name}")
    interceptors, webhook = kubelet_auth.interceptors(args, tls, client, args.node_name)
    cfg = NodeConfig(args.node_name, node_ip, root, args.pod_cidr, args.cpu, args.memory, args.max_pods,
                     _parse_labels(args.node_labels), _parse_taints(args.register_with_taints),
                     runtime=args.runtime, kubelet_port=args.port)
    routes = build_pod_routes(args, client)
    runtime = build_runtime(args, root)
    heartbeat = NodeHeartbeat(client, cfg, lease_duration_s=args.node_lease_duration_seconds,
                              images=runtime.list_images)
    cidr = {"value": args.pod_cidr}

    def pod_cidr() -> str:
        """The CIDR the IPAM hands out from; '' until known and, when routed, until its addresses are local."""
        value = cidr["value"]
        if value and routes is not None and not routes.ensure_local(value):
            return ""
        return value

    kubelet = Kubelet(client, runtime, args.node_name, node_ip, ipam_dir=os.path.join(root, "ipam"),
                      pod_cidr_source=pod_cidr, workers=args.pod_workers, root_dir=root,
                      allocatable_source=cfg.capacity, network=build_network(args, root),
                      timings=KubeletTimings(crash_backoff_s=args.crash_loop_backoff,
                                             crash_backoff_max_s=args.crash_loop_backoff_max,
                                             crash_backoff_reset_s=args.crash_loop_backoff_reset,
                                             image_pull_backoff_s=args.image_pull_backoff,
                                             image_pull_backoff_max_s=args.image_pull_backoff_max,
                                             pleg_period_s=args.pleg_relist_period, resync_s=args.sync_frequency,
                                             housekeeping_s=args.housekeeping_interval))

    def details() -> dict:
        return {"node": args.node_name, "nodeIP": node_ip, "podCIDR": cidr["value"],
                "lastLeaseRenew": heartbeat.last_lease_renew, "lastStatusUpdate": heartbeat.last_status_update,
                "apiServing": ("mutual TLS" if tls and tls.client_ca_file else "TLS") if tls else "plain",
                "apiAuthorization": kubelet_auth.mode(args, tls),
                "podNetwork": routes.details() if routes else {"mode": "loopback"},
                **({"accessReviews": webhook.reviews} if webhook else {}), **kubelet.stats()}

    server = ComponentServer("kubelet", args.node_name, f"{args.bind_address}:{args.port}", details=details,
                             register=register_kubelet_service(kubelet), tls=tls, interceptors=interceptors)
    server.start()
    server.set_serving(True)
    kubelet_metrics.watch_kubelet(args.node_name, kubelet.running_counts)
    metrics_server = metrics.serve_from_args(args, "kubelet")
    stop = component.stop_event_on_signals()
    if routes is not None:
        routes.start()

    while not stop.is_set():
        try:
            node = heartbeat.register()
            cidr["value"] = heartbeat.pod_cidr(node)
            _check_pod_cidr(cidr["value"], routes is not None)
            break
        except errors.APIError as e:
            log.warning("unable to register node %s: %s; retrying", args.node_name, e)
            stop.wait(2.0)
    threading.Thread(target=_loop, args=(stop, args.node_lease_renew_interval,
                                         kubelet_metrics.timed_lease_renewal(heartbeat.renew_lease), "lease"),
                     daemon=True, name="lease").start()

    def post_status() -> None:
        node = heartbeat.update_status()
        cidr["value"] = heartbeat.pod_cidr(node)

    threading.Thread(target=_loop, args=(stop, args.node_status_update_frequency, post_status, "node status"),
                     daemon=True, name="node-status").start()
    if not stop.is_set():
        kubelet.start()
        log.info("kubelet %s running (node IP %s, pod CIDR %s)", args.node_name, node_ip, cidr["value"] or "none")
    stop.wait()
    log.info("stopping; containers keep running until kubemu down or the next kubelet start")
    kubelet.stop()
    if routes is not None:
        routes.stop()
    if metrics_server is not None:
        metrics_server.stop()
    server.stop()
    return 0


def build_runtime(args: argparse.Namespace, root: str) -> ContainerRuntime:
    if args.runtime == "simulated":
        from kubelet.runtime.simulated import SimulatedRuntime, load_behaviours

        return SimulatedRuntime(load_behaviours(args.simulated_behaviour or None))
    # The kubelet adopts and reaps orphaned grandchildren of containers (PID 1 may not reap them).
    return ProcessRuntime(os.path.join(root, "runtime"), load_catalog(args.image_catalog or None), subreaper=True)


def build_network(args: argparse.Namespace, root: str):
    """A CNINetwork when --cni-conf-file is given; None means the built-in host-local IPAM."""
    if not args.cni_conf_file:
        return None
    from kubelet.cni import CNINetwork

    return CNINetwork(args.cni_conf_file, args.cni_bin_dir.split(":"), os.path.join(root, "cni"))


def build_pod_routes(args: argparse.Namespace, client):
    """The route agent of ``--pod-network routed`` (kubelet/pod_routes.py), None for loopback; a clear
    exit when this process cannot change routes."""
    if args.pod_network != "routed":
        return None
    if not args.pod_network_resync_period > 0:
        raise SystemExit("error: --pod-network-resync-period must be greater than 0 (seconds)")
    from kubelet import pod_routes

    why = pod_routes.problem()
    if why:
        raise SystemExit(f"error: {why}")
    return pod_routes.PodRoutes(client, args.node_name, resync_s=args.pod_network_resync_period)


def _check_pod_cidr(value: str, routed: bool) -> None:
    import ipaddress

    try:
        loopback = bool(value) and ipaddress.ip_network(value, strict=False).is_loopback
    except ValueError:
        return
    if value and not loopback and not routed:
        log.warning("pod CIDR %s is not a loopback range: pods cannot bind their IPs unless this machine has them "
                    "(--pod-network routed makes them local)", value)


def _loop(stop: threading.Event, period_s: float, action, what: str) -> None:
    """Run ``action`` now and every ``period_s``; failures are logged and retried sooner."""
    while not stop.is_set():
        try:
            action()
            wait = period_s
        except errors.APIError as e:
            log.warning("%s failed: %s", what, e)
            wait = min(period_s, 2.0)
        except Exception:
            log.exception("%s failed unexpectedly", what)
            wait = period_s
        stop.wait(wait)


if __name__ == "__main__":
    raise SystemExit(main())
