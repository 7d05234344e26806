"""kubemu-apiserver: the only etcd client; serves the Kubernetes API over gRPC and, beside it, the
Kubernetes REST API over HTTPS for the real kubectl and client libraries (docs/rest-api.md).

    kubemu-apiserver --etcd-servers http://127.0.0.1:2379 --secure-port 6443 --rest-port 6444

Flags mirror kube-apiserver's names where one exists. Every flag can also come from a
``KUBEMU_<FLAG>`` environment variable or a ``--config`` YAML file. Prometheus metrics are
served at ``/metrics`` on the REST port, like kube-apiserver's (docs/metrics.md).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading

from apiserver.admission import ALL_PLUGINS, Lookup, build_chain
from apiserver.api import API
from apiserver.authn import Authenticator, load_token_file
from apiserver.authz import AllowAll, AuthorizerChain
from apiserver.authz.node import NodeAuthorizer
from apiserver.authz.rbac import RBACAuthorizer
from apiserver.bootstrap import ensure_defaults
from apiserver.cache import ObjectCache
from apiserver.etcd import EtcdClient, EtcdError, TLSConfig
from apiserver.kubernetes_service import KubernetesService
from apiserver.metrics import InstrumentedStorage
from apiserver.proxy import KubeletProxy
from apiserver.service import APIServicer, register
from apiserver.service_allocation import (
    DEFAULT_NODE_PORT_RANGE,
    DEFAULT_SERVICE_CIDR,
    REPAIR_INTERVAL_S,
    ServiceAllocations,
)
from apiserver.storage import KeyNotFound, Storage, collection_prefix, object_key
from apiserver.trace_gather import SpanGatherer
from apiserver.watch_cache import WatchCache
from machinery import logs, metrics, tracing
from machinery.client import Credentials
from machinery.server import ComponentServer, TLSFiles

log = logging.getLogger("apiserver")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubemu-apiserver", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--etcd-servers", default="http://127.0.0.1:2379",
                   help="comma-separated etcd client URLs (one per member, for failover)")
    p.add_argument("--etcd-cafile", default="", help="CA bundle for etcd TLS")
    p.add_argument("--etcd-certfile", default="", help="client certificate for etcd TLS")
    p.add_argument("--etcd-keyfile", default="", help="client key for etcd TLS")
    p.add_argument("--etcd-request-timeout", type=float, default=5.0,
                   help="seconds before an etcd request fails as unavailable")
    p.add_argument("--bind-address", default="0.0.0.0", help="address to listen on")
    p.add_argument("--secure-port", type=int, default=6443, help="port of the gRPC API (Kubernetes' 6443)")
    p.add_argument("--rest-port", type=int, default=6444,
                   help="port of the Kubernetes REST API (HTTPS with --tls-cert-file); 0 turns it off")
    p.add_argument("--rest-bind-address", default="", help="address the REST API listens on (default: --bind-address)")
    p.add_argument("--rest-max-workers", type=int, default=64,
                   help="threads running REST requests (watches and log streams get their own, bounded)")
    p.add_argument("--token-auth-file", default="", help="static token file: token,user,uid,\"groups\"")
    p.add_argument("--tls-cert-file", default="", help="serving certificate (enables TLS)")
    p.add_argument("--tls-private-key-file", default="", help="serving key")
    p.add_argument("--client-ca-file", default="", help="CA that signs client certificates (mutual TLS)")
    p.add_argument("--kubelet-client-certificate", default="",
                   help="client certificate the apiserver presents to kubelets (logs, exec); enables TLS to them")
    p.add_argument("--kubelet-client-key", default="", help="key of --kubelet-client-certificate")
    p.add_argument("--kubelet-certificate-authority", default="",
                   help="CA that signed the kubelets' serving certificates (each must be valid for its node's name)")
    p.add_argument("--authorization-mode", default="",
                   help="Node,RBAC (default when authentication is configured) or AlwaysAllow (default when not)")
    p.add_argument("--enable-admission-plugins", default=",".join(ALL_PLUGINS),
                   help=f"admission plugins to run (order is fixed): {','.join(ALL_PLUGINS)}")
    p.add_argument("--default-not-ready-toleration-seconds", type=int, default=300)
    p.add_argument("--default-unreachable-toleration-seconds", type=int, default=300)
    p.add_argument("--disable-admission-plugins", default="", help="admission plugins to turn off")
    p.add_argument("--watch-bookmark-interval", type=float, default=60.0,
                   help="seconds between watch bookmarks for clients that allow them")
    p.add_argument("--watch-cache", type=_bool, default=True,
                   help="serve watches from one in-memory cache per resource (one etcd watch each) instead of "
                        "one etcd watch per client watch: true or false")
    p.add_argument("--default-watch-cache-size", type=int, default=1000,
                   help="changes each resource's watch cache keeps for watches that resume from a "
                        "resourceVersion (older ones are served by etcd directly)")
    g = p.add_argument_group("services")
    g.add_argument("--service-cluster-ip-range", default=DEFAULT_SERVICE_CIDR,
                   help="the IPv4 range Services' cluster IPs are allocated from (its first address is the "
                        "kubernetes Service's); kubemu up gives each local cluster a loopback range")
    g.add_argument("--service-node-port-range", default=DEFAULT_NODE_PORT_RANGE,
                   help="the ports NodePort Services' node ports are allocated from, FIRST-LAST")
    g.add_argument("--advertise-address", default="",
                   help="the IP this apiserver publishes in the kubernetes Service's endpoints (default: the "
                        "REST bind address, or this host's address when that is 0.0.0.0)")
    g.add_argument("--endpoint-reconciler-type", default="lease", choices=("lease", "none"),
                   help="lease: every apiserver keeps a master lease and the kubernetes Service's endpoints list "
                        "the live ones; none: they are not maintained")
    g.add_argument("--service-allocation-repair-interval", type=float, default=REPAIR_INTERVAL_S,
                   help="seconds between rebuilds of the cluster IP and node port allocations from the stored "
                        "Services (leaked ones are given back after three); Kubernetes' 3 minutes")
    p.add_argument("--max-workers", type=int, default=512,
                   help="gRPC worker threads: bounds open watches plus in-flight requests")
    p.add_argument("-v", "--v", type=int, default=0, help="log verbosity")
    tracing.add_flags(p)
    return p


# Resources whose watch caches start with the apiserver (every cluster watches them); others get one
# on their first watch.
PRIMED_WATCH_CACHES = ("pods", "nodes", "leases", "namespaces", "replicasets", "deployments", "statefulsets",
                       "daemonsets", "jobs", "controllerrevisions", "configmaps", "secrets", "serviceaccounts",
                       "resourcequotas", "limitranges", "priorityclasses", "services", "endpoints", "endpointslices")


def _bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f'expected true or false, got "{text}"')


def main(argv: list[str] | None = None) -> int:
    from machinery import config

    args = config.parse(build_parser(), argv)
    logs.setup("apiserver", args.v)
    tracing.configure_from_args(args, "apiserver", f"{socket.gethostname()}:{args.secure_port}")
    enabled = {p for p in args.enable_admission_plugins.split(",") if p} - \
        {p for p in args.disable_admission_plugins.split(",") if p}
    etcd = EtcdClient(args.etcd_servers.split(","), request_timeout_s=args.etcd_request_timeout,
                      tls=TLSConfig(args.etcd_cafile, args.etcd_certfile, args.etcd_keyfile))
    storage = InstrumentedStorage(etcd)
    metrics.record_build_info("apiserver")
    watch_cache = WatchCache(storage, capacity=args.default_watch_cache_size) if args.watch_cache else None
    # Namespaces, for NamespaceLifecycle: every create and bind asks for its namespace.
    namespace_cache = ObjectCache(storage, ["namespaces"])
    api = API(storage, build_chain(enabled, Lookup(storage),
                                   not_ready_toleration_s=args.default_not_ready_toleration_seconds,
                                   unreachable_toleration_s=args.default_unreachable_toleration_seconds,
                                   cached_namespace=lambda name: namespace_cache.get("namespaces", name)),
              watch_cache=watch_cache)
    try:
        allocations = ServiceAllocations(storage, args.service_cluster_ip_range, args.service_node_port_range)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    api.hooks["services"] = allocations
    tokens = load_token_file(args.token_auth_file) if args.token_auth_file else {}
    authenticator = Authenticator(tokens, client_certs=bool(args.client_ca_file), token_file=args.token_auth_file)
    rbac_cache = ObjectCache(storage, ["roles", "rolebindings", "clusterroles", "clusterrolebindings"])
    api.authorizer = build_authorizer(args.authorization_mode or ("Node,RBAC" if authenticator.secured
                                                                  else "AlwaysAllow"), storage, rbac_cache)
    rbac_cache.start()
    namespace_cache.start()
    proxy = KubeletProxy(api, kubelet_credentials(args))
    servicer = APIServicer(api, authenticator, bookmark_interval_s=args.watch_bookmark_interval, proxy=proxy)
    stop = threading.Event()

    def details() -> dict:
        return {"etcdServers": args.etcd_servers, "openWatches": servicer.open_watches,
                "watchCache": watch_cache.stats() if watch_cache else "off",
                "admissionPlugins": api.admission.names, "authorization": [a.name for a in api.authorizer.authorizers],
                "authentication": "secured" if authenticator.secured else "unsecured",
                "recentAdmission": list(api.traces)[-20:],
                "rest": f"{rest.scheme}://{rest.host}:{rest.port}" if rest else "off",
                **allocations.stats(),
                "restOpenWatches": rest.open_watches if rest else 0}

    # The REST API comes up before gRPC does, so a client that sees gRPC serving (the supervisor,
    # the tests) can count on the REST port too.
    etcd_ready = threading.Event()
    rest = None
    if args.rest_port:
        from apiserver.rest.server import RestServer

        rest = RestServer(api, authenticator, args.rest_bind_address or args.bind_address, args.rest_port,
                          tls=TLSFiles(args.tls_cert_file, args.tls_private_key_file, args.client_ca_file),
                          ready=etcd_ready.is_set, max_workers=args.rest_max_workers,
                          bookmark_interval_s=args.watch_bookmark_interval, proxy=proxy)
        rest.start()
    server = ComponentServer("apiserver", "apiserver", f"{args.bind_address}:{args.secure_port}",
                             details=details, max_workers=args.max_workers, register=register(servicer),
                             spans=SpanGatherer(api, authenticator, channels=proxy.channels),
                             tls=TLSFiles(args.tls_cert_file, args.tls_private_key_file, args.client_ca_file))
    server.start()
    log.info("admission chain: %s", ", ".join(api.admission.names) or "(none)")
    kubernetes_service = KubernetesService(
        api, storage, allocations.first_ip(), advertise_ip(args), args.rest_port or args.secure_port,
        endpoints=args.endpoint_reconciler_type == "lease")
    threading.Thread(target=allocations.run_repairs, args=(stop, args.service_allocation_repair_interval),
                     daemon=True, name="service-allocation-repair").start()
    bootstrap = threading.Thread(target=_bootstrap, args=(api, allocations, kubernetes_service, stop),
                                 daemon=True, name="bootstrap")
    bootstrap.start()
    if watch_cache is not None:
        threading.Thread(target=watch_cache.prime, args=([collection_prefix(r) for r in PRIMED_WATCH_CACHES],),
                         daemon=True, name="watch-cache-prime").start()
    threading.Thread(target=_readiness_loop, args=(etcd, server, stop, etcd_ready), daemon=True,
                     name="readiness").start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    log.info("stopping")
    bootstrap.join(timeout=5)
    servicer.stop()
    if rest is not None:
        rest.stop()
    server.stop()
    proxy.close()
    etcd.close()
    return 0


def _bootstrap(api: API, allocations: ServiceAllocations, kubernetes_service: KubernetesService,
               stop: threading.Event) -> None:
    """The defaults first, then (once the allocations were repaired) the kubernetes Service,
    kept until stop; on stop this apiserver leaves its endpoints."""
    ensure_defaults(api, stop)
    while not stop.is_set() and not allocations.repaired.is_set():
        stop.wait(0.2)
    kubernetes_service.run(stop)


def advertise_ip(args: argparse.Namespace) -> str:
    """``--advertise-address``, else the address the REST API (or gRPC) listens on, else this host's."""
    if args.advertise_address:
        return args.advertise_address
    bound = args.rest_bind_address or args.bind_address
    if bound and bound not in ("0.0.0.0", "::"):
        return bound
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def kubelet_credentials(args: argparse.Namespace) -> Credentials | None:
    """How the apiserver reaches kubelets: mutual TLS with the kubelet-client identity, checking each
    kubelet's serving certificate against ``--kubelet-certificate-authority``; None for plain gRPC."""
    cert, key, ca = args.kubelet_client_certificate, args.kubelet_client_key, args.kubelet_certificate_authority
    if not (cert or key or ca):
        return None
    if bool(cert) != bool(key):
        raise SystemExit("error: --kubelet-client-certificate and --kubelet-client-key must be given together")
    if not ca:
        raise SystemExit("error: --kubelet-client-certificate needs --kubelet-certificate-authority: kubemu always "
                         "verifies the kubelet's serving certificate")
    for flag, path in (("--kubelet-client-certificate", cert), ("--kubelet-client-key", key),
                       ("--kubelet-certificate-authority", ca)):
        if path and not os.path.isfile(path):
            raise SystemExit(f"error: {flag} {path}: no such file")
    return Credentials(ca_file=ca, cert_file=cert, key_file=key)


def build_authorizer(mode: str, storage: Storage, cache: ObjectCache) -> AuthorizerChain:
    def pod_node(namespace: str, name: str) -> str | None:
        try:
            return (storage.get(object_key("pods", namespace, name)).get("spec") or {}).get("nodeName")
        except KeyNotFound:
            return None

    def node_pods(namespace: str, node: str) -> list[dict]:
        bound = lambda pod: (pod.get("spec") or {}).get("nodeName") == node  # noqa: E731
        return storage.list(collection_prefix("pods", namespace), predicate=bound).items

    factories = {"Node": lambda: NodeAuthorizer(pod_node, node_pods), "RBAC": lambda: RBACAuthorizer(cache.objects),
                 "AlwaysAllow": AllowAll}
    modes = [m.strip() for m in mode.split(",") if m.strip()]
    unknown = [m for m in modes if m not in factories]
    if unknown:
        raise SystemExit(f"unknown --authorization-mode {', '.join(unknown)}; known: Node, RBAC, AlwaysAllow")
    return AuthorizerChain([factories[m]() for m in modes])


def _readiness_loop(etcd: EtcdClient, server: ComponentServer, stop: threading.Event,
                    ready_event: threading.Event) -> None:
    """SERVING while etcd answers, like kube-apiserver's /readyz etcd check."""
    was = None
    while not stop.is_set():
        try:
            etcd.status()
            ready = True
        except EtcdError as e:
            ready = False
            if was is not False:
                log.warning("etcd is unreachable: %s", e)
        if ready:
            ready_event.set()
        else:
            ready_event.clear()
        if ready != was:
            server.set_serving(ready)
            if ready:
                log.info("etcd is reachable; serving")
            was = ready
        stop.wait(1.0 if ready else 0.5)


if __name__ == "__main__":
    raise SystemExit(main())
