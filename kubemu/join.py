"""``kubemu certs``: credentials and config files to run kubemu across machines, and to join nodes.

    kubemu certs [--cluster-dir D] [--apiserver HOST:PORT] [--san NAME] ...      # the control plane
    kubemu certs [--cluster-dir D] --node NAME [--node-ip IP] [--out DIR]        # a node joining it

The first form creates (or completes) the cluster's PKI in ``D/pki`` (see :mod:`kubemu.pki`) and
writes a ``--config`` file per control-plane component into ``D/config/`` plus an admin
kubeconfig, then prints the commands that start the control plane. Mutual TLS throughout: the
apiserver serves with a certificate valid for every ``--san`` (and its address), and every
client presents a certificate signed by the cluster CA.

The control plane's files also secure the other direction: the apiserver reaches kubelets as
``kube-apiserver-kubelet-client`` (``pki/apiserver-kubelet-client.crt``) and checks their serving
certificates against the CA; the scheduler and controller manager serve TLS
(``pki/<component>-serving.crt``) on loopback, as kubeadm binds them.

The second form is ``kubeadm join``'s counterpart: it issues the identity of node NAME
(``system:node:NAME`` in ``system:nodes``, as a client certificate, plus a bearer token in
``tokens.csv``) and the kubelet's serving certificate (valid for NAME and ``--node-ip``; the
kubelet serves its API over mutual TLS and lets only callers the apiserver authorizes in), and
writes a join directory (``D/join/NAME`` or ``--out``) holding the CA, the node's client
certificate and key, its serving certificate and key (``kubelet.crt``/``kubelet.key``), a
``kubelet.yaml`` for ``kubemu-kubelet --config``, and the node's kube-proxy identity
(``system:kube-proxy``, ``kube-proxy.crt``/``.key``) with a ``kube-proxy.yaml`` for ``kubemu-proxy
--config``. The control plane's apiserver allocates Service cluster IPs from the loopback range
127.144.0.0/16, which every node's kube-proxy can listen on. It prints
the apiserver address, the CA's hash, the token and the exact kubelet command line to run on
the new machine. The certificate works at once (the apiserver checks it against the CA); the
token only once the apiserver re-reads ``tokens.csv`` at its next start.

Pods of a joined node get loopback IPs (``127.246.N.0/24``) by default: no privileges needed, but
they are reachable on that machine only. ``--pod-network routed`` gives the node a routed pod
network instead (kubelet/pod_routes.py, like flannel's host-gw): no pod CIDR in its
``kubelet.yaml`` — the controller manager's node IPAM assigns ``10.244.N.0/24`` out of its
``--cluster-cidr`` — and ``pod-network: routed``, so its kubelet makes its pod CIDR local and
routes every other node's via that node's InternalIP. That kubelet needs root or CAP_NET_ADMIN,
and the nodes must share a link (one subnet: each is the other's next hop).

``--no-token`` issues the certificate without changing anything in D (read-only access is
enough; the docker compose kubelets use it to name themselves after their container).

Also runnable as ``python -m kubemu.join ...``.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import re
import shlex
import socket
import sys

import yaml

from kubemu import pki

DEFAULT_PORT = 6443
# Service cluster IPs must be bindable by every node's kube-proxy: a loopback range, the one kubemu up
# gives the default local cluster (kubemu/pod_networks.py).
SERVICE_CLUSTER_IP_RANGE = "127.144.0.0/16"
KUBERNETES_SERVICE_IP = "127.144.0.1"
POD_NETWORKS = ("loopback", "routed")  # kubemu-kubelet --pod-network
JOIN_POD_CIDR_BASE = (127, 246)  # joined nodes get 127.246.N.0/24 (kubemu up's own nodes use 127.244.N.0/24)
HEALTHCHECK_IDENTITY = pki.Identity("kubemu:healthcheck")
NODE_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


# --------------------------------------------------------------------------- paths and small helpers


class Layout:
    """Where ``kubemu certs`` keeps things inside a cluster directory."""

    def __init__(self, cluster_dir: str):
        self.root = os.path.abspath(os.path.expanduser(cluster_dir))
        self.pki = os.path.join(self.root, "pki")
        self.config = os.path.join(self.root, "config")

    def pki_file(self, name: str) -> str:
        return os.path.join(self.pki, name)

    def config_file(self, name: str) -> str:
        return os.path.join(self.config, name)

    @property
    def cluster_file(self) -> str:
        return self.config_file("cluster.yaml")

    @property
    def admin_kubeconfig(self) -> str:
        return self.config_file("admin.kubeconfig")

    def join_dir(self, node: str) -> str:
        return os.path.join(self.root, "join", node)


def _write(path: str, data: str | bytes, private: bool = False) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
    os.replace(tmp, path)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def primary_ip() -> str:
    """This machine's address on its default route (no packet is sent), else 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def host_of(endpoint: str) -> str:
    host, _, _ = endpoint.rpartition(":")
    return host.strip("[]") if host else endpoint


def ca_hash(ca_cert_pem: bytes) -> str:
    """kubeadm's ``--discovery-token-ca-cert-hash``: sha256 of the CA's SubjectPublicKeyInfo."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(ca_cert_pem)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def cert_sans(path: str) -> set[str]:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(_read(path))
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return set()
    return {str(v) for v in ext.get_values_for_type(x509.DNSName)} | \
        {str(v) for v in ext.get_values_for_type(x509.IPAddress)}


def _normalize_san(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


# --------------------------------------------------------------------------- the control plane


def _read_cluster(layout: Layout) -> dict:
    try:
        with open(layout.cluster_file) as f:
            data = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def ensure_control_plane(layout: Layout, *, apiservers: list[str], etcd_servers: str, sans: list[str],
                         kubeconfig_server: str = "", bind_address: str = "0.0.0.0") -> dict:
    """Create what is missing of the PKI, refresh the serving certificate's names, write the config files."""
    # The kubernetes Service's cluster IP (first address of the service range) names the apiserver too.
    sans = [_normalize_san(s) for s in dict.fromkeys([*sans, *(host_of(a) for a in apiservers), KUBERNETES_SERVICE_IP])
            if s]
    identities = pki.cluster_identities([])
    missing = [i for i in identities if not os.path.exists(layout.pki_file(f"{i.file_stem}.crt"))]
    if not os.path.exists(layout.pki_file("ca.key")) or missing or not os.path.exists(layout.pki_file("tokens.csv")):
        pki.write_cluster_credentials(layout.pki, [], extra_sans=sans)
    ca = pki.CertificateAuthority.load(layout.pki)
    # This machine's host name is always added by pki; it alone (a new compose `init` container)
    # is no reason to re-issue.
    wanted = set(pki.default_server_sans(sans)) - {socket.gethostname()}
    if not wanted <= cert_sans(layout.pki_file("apiserver.crt")):
        cert, key = ca.issue("kube-apiserver", sans=pki.default_server_sans(sans), server=True, client=False)
        _write(layout.pki_file("apiserver.crt"), cert)
        _write(layout.pki_file("apiserver.key"), key, private=True)
    stem = HEALTHCHECK_IDENTITY.file_stem
    if not os.path.exists(layout.pki_file(f"{stem}.crt")):
        cert, key = ca.issue(HEALTHCHECK_IDENTITY.user)
        _write(layout.pki_file(f"{stem}.crt"), cert)
        _write(layout.pki_file(f"{stem}.key"), key, private=True)
    # The apiserver's identity towards kubelets, and the scheduler's and controller manager's
    # serving certificates (their own ports: health, Describe, Explain).
    if not os.path.exists(layout.pki_file("apiserver-kubelet-client.key")):
        pki.write_kubelet_client(layout.pki, ca)
    for component in ("scheduler", "controller-manager"):
        if not os.path.exists(layout.pki_file(f"{component}-serving.key")):
            pki.write_component_serving(layout.pki, component, ca=ca)

    port = apiservers[0].rpartition(":")[2] if apiservers else str(DEFAULT_PORT)
    ca_file = layout.pki_file("ca.crt")
    _write(layout.config_file("apiserver.yaml"), _yaml({
        "etcd-servers": etcd_servers, "bind-address": bind_address, "secure-port": int(port),
        "tls-cert-file": layout.pki_file("apiserver.crt"), "tls-private-key-file": layout.pki_file("apiserver.key"),
        "client-ca-file": ca_file, "token-auth-file": layout.pki_file("tokens.csv"),
        "kubelet-client-certificate": layout.pki_file("apiserver-kubelet-client.crt"),
        "kubelet-client-key": layout.pki_file("apiserver-kubelet-client.key"),
        "kubelet-certificate-authority": ca_file, "service-cluster-ip-range": SERVICE_CLUSTER_IP_RANGE}))
    # Every node's kube-proxy, as system:kube-proxy (the compose kubelets start it beside the kubelet).
    _write(layout.config_file("kube-proxy.yaml"), _yaml({
        "apiserver": ",".join(apiservers), "certificate-authority": ca_file,
        "client-certificate": layout.pki_file("system-kube-proxy.crt"),
        "client-key": layout.pki_file("system-kube-proxy.key")}))
    for component, ident in (("scheduler", "system-kube-scheduler"),
                             ("controller-manager", "system-kube-controller-manager")):
        # Their own ports listen on loopback only, as kubeadm binds kube-scheduler and
        # kube-controller-manager to 127.0.0.1.
        _write(layout.config_file(f"{component}.yaml"), _yaml({
            "apiserver": ",".join(apiservers), "certificate-authority": ca_file,
            "client-certificate": layout.pki_file(f"{ident}.crt"), "client-key": layout.pki_file(f"{ident}.key"),
            "bind-address": "127.0.0.1", "tls-cert-file": layout.pki_file(f"{component}-serving.crt"),
            "tls-private-key-file": layout.pki_file(f"{component}-serving.key")}))
    cluster = {"apiservers": apiservers, "etcd-servers": etcd_servers, "kubeconfig-server": kubeconfig_server
               or apiservers[0], "sans": sans}
    _write(layout.cluster_file, _yaml(cluster))
    tokens = pki.read_token_file(layout.pki_file("tokens.csv"))
    admin_token = tokens.get("admin", ("", None))[0]
    _write(layout.admin_kubeconfig, kubeconfig(cluster["kubeconfig-server"], ca=ca_file,
                                               cert=layout.pki_file("admin.crt"), key=layout.pki_file("admin.key"),
                                               token=admin_token), private=True)
    return {**cluster, "token": admin_token, "caHash": ca_hash(_read(ca_file)),
            "apiserverCertNames": sorted(cert_sans(layout.pki_file("apiserver.crt")))}


REST_PORT = 6444


def rest_server_for(server: str) -> str:
    """The REST API's ``host:port`` beside a gRPC ``host:port``: same host, kube-apiserver-style
    port 6444 (``KUBEMU_REST_PORT`` overrides it, as docker compose publishes it)."""
    host = server.rpartition(":")[0] or server
    return f"{host}:{os.environ.get('KUBEMU_REST_PORT') or REST_PORT}"


def kubeconfig(server: str, *, ca: str, cert: str, key: str, token: str = "", name: str = "kubemu",
               user: str = "admin", rest_server: str = "") -> str:
    """A kubeconfig naming the CA, client certificate and key files (relative paths are relative to the
    kubeconfig's directory, as kubectl reads them) and the bearer token. ``server`` is the REST API
    (for the real kubectl); the gRPC address ``server`` goes into the ``kubemu.io/grpc`` extension
    that kubemu's own clients read (kubemu/kubeconfig.py)."""
    from kubemu.kubeconfig import GRPC_EXTENSION

    user_entry = {"client-certificate": cert, "client-key": key}
    if token:
        user_entry["token"] = token
    rest = rest_server or rest_server_for(server)
    return _yaml({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": name, "cluster": {
            "server": f"https://{rest}", "certificate-authority": ca,
            "extensions": [{"name": GRPC_EXTENSION, "extension": {"servers": [server]}}]}}],
        "users": [{"name": user, "user": user_entry}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user}}],
        "current-context": name})


def export_admin(layout: Layout, path: str, server: str) -> list[str]:
    """Write a kubeconfig at ``path`` with copies of the CA, the admin certificate, key and token beside it."""
    directory = os.path.dirname(os.path.abspath(path))
    token = pki.read_token_file(layout.pki_file("tokens.csv")).get("admin", ("", None))[0]
    written = []
    for src, dst, private in (("ca.crt", "ca.crt", False), ("admin.crt", "admin.crt", False),
                              ("admin.key", "admin.key", True)):
        _write(os.path.join(directory, dst), _read(layout.pki_file(src)), private=private)
        written.append(dst)
    _write(os.path.join(directory, "token"), token + "\n", private=True)
    _write(path, kubeconfig(server, ca="ca.crt", cert="admin.crt", key="admin.key", token=token), private=True)
    return [*written, "token", os.path.basename(path)]


# --------------------------------------------------------------------------- joining nodes


def _allocate_pod_cidr(layout: Layout, node: str) -> str:
    """A pod CIDR for a joined node, remembered in ``config/nodes.yaml`` so a re-join gets the same one."""
    path = layout.config_file("nodes.yaml")
    try:
        with open(path) as f:
            nodes = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError):
        nodes = {}
    if node in nodes:
        return nodes[node]
    used = set(nodes.values())
    for n in range(1, 255):
        cidr = f"{JOIN_POD_CIDR_BASE[0]}.{JOIN_POD_CIDR_BASE[1]}.{n}.0/24"
        if cidr not in used:
            nodes[node] = cidr
            _write(path, _yaml(nodes))
            return cidr
    raise SystemExit("error: no free pod CIDR left in 127.246.0.0/16; pass --pod-cidr")


def node_join(layout: Layout, node: str, *, apiservers: list[str], out_dir: str, install_dir: str = "",
              node_ip: str = "", pod_cidr: str | None = None, token: bool = True,
              pod_network: str = "loopback") -> dict:
    """Issue node NAME's identity and write its join directory; return what was made (for printing)."""
    if not NODE_NAME_RE.fullmatch(node) or len(node) > 253:
        raise SystemExit(f"error: invalid node name {node!r}: a DNS-1123 subdomain (lowercase letters, digits, "
                         "'-' and '.') is required")
    ca = pki.CertificateAuthority.load(layout.pki)
    ident = pki.Identity(f"system:node:{node}", ("system:nodes",))
    node_token = ""
    if token:
        node_token = pki.add_node_token(layout.pki, node)
        cert = _read(layout.pki_file(f"{ident.file_stem}.crt"))
        key = _read(layout.pki_file(f"{ident.file_stem}.key"))
    else:
        cert, key = ca.issue(ident.user, orgs=ident.groups)
    if pod_network not in POD_NETWORKS:
        raise SystemExit(f"error: --pod-network must be one of {', '.join(POD_NETWORKS)}")
    if pod_cidr is None:
        # routed: the controller manager's node IPAM assigns one; loopback: the next 127.246.N.0/24.
        pod_cidr = _allocate_pod_cidr(layout, node) if token and pod_network == "loopback" else ""
    # The kubelet's serving certificate, for its name and (when given) its address: the apiserver
    # checks it against the CA, expecting the node's name, when it relays logs and exec.
    serving_cert, serving_key = pki.issue_kubelet_serving(ca, node, [node_ip] if node_ip else [])
    proxy_cert, proxy_key = ca.issue("system:kube-proxy")
    out_dir = os.path.abspath(out_dir)
    install_dir = install_dir or out_dir
    files = {"ca": "ca.crt", "cert": "node.crt", "key": "node.key", "serving-cert": "kubelet.crt",
             "serving-key": "kubelet.key", "proxy-cert": "kube-proxy.crt", "proxy-key": "kube-proxy.key"}
    _write(os.path.join(out_dir, files["ca"]), _read(layout.pki_file("ca.crt")))
    _write(os.path.join(out_dir, files["cert"]), cert)
    _write(os.path.join(out_dir, files["key"]), key, private=True)
    _write(os.path.join(out_dir, files["serving-cert"]), serving_cert)
    _write(os.path.join(out_dir, files["serving-key"]), serving_key, private=True)
    _write(os.path.join(out_dir, files["proxy-cert"]), proxy_cert)
    _write(os.path.join(out_dir, files["proxy-key"]), proxy_key, private=True)
    if node_token:
        _write(os.path.join(out_dir, "token"), node_token + "\n", private=True)
    installed = {k: os.path.join(install_dir, v) for k, v in files.items()}
    config = {"apiserver": ",".join(apiservers), "node-name": node, "certificate-authority": installed["ca"],
              "client-certificate": installed["cert"], "client-key": installed["key"],
              "tls-cert-file": installed["serving-cert"], "tls-private-key-file": installed["serving-key"],
              "client-ca-file": installed["ca"]}
    if node_ip:
        config["node-ip"] = node_ip
    if pod_cidr:
        config["pod-cidr"] = pod_cidr
    if pod_network != "loopback":
        config["pod-network"] = pod_network
    _write(os.path.join(out_dir, "kubelet.yaml"), _yaml(config))
    proxy_config = {"apiserver": ",".join(apiservers), "hostname-override": node,
                    "certificate-authority": installed["ca"], "client-certificate": installed["proxy-cert"],
                    "client-key": installed["proxy-key"]}
    if node_ip:
        proxy_config.update({"bind-address": node_ip, "healthz-bind-address": f"{node_ip}:10256",
                             "metrics-bind-address": f"{node_ip}:10249"})
    _write(os.path.join(out_dir, "kube-proxy.yaml"), _yaml(proxy_config))
    command = ["kubemu-kubelet", "--apiserver", config["apiserver"], "--node-name", node,
               "--certificate-authority", installed["ca"], "--client-certificate", installed["cert"],
               "--client-key", installed["key"], "--tls-cert-file", installed["serving-cert"],
               "--tls-private-key-file", installed["serving-key"], "--client-ca-file", installed["ca"]]
    if pod_cidr:
        command += ["--pod-cidr", pod_cidr]
    if pod_network != "loopback":
        command += ["--pod-network", pod_network]
    command += ["--node-ip", node_ip or "<this machine's IP>"]
    return {"node": node, "apiservers": apiservers, "caHash": ca_hash(_read(layout.pki_file("ca.crt"))),
            "token": node_token, "podCIDR": pod_cidr, "podNetwork": pod_network, "nodeIP": node_ip, "outDir": out_dir,
            "installDir": install_dir, "files": sorted(os.listdir(out_dir)),
            "kubeletConfig": os.path.join(install_dir, "kubelet.yaml"), "kubeletCommand": command,
            "proxyConfig": os.path.join(install_dir, "kube-proxy.yaml")}


# --------------------------------------------------------------------------- the command


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--apiserver", default="",
                   help="apiserver address(es) HOST:PORT as nodes and components reach them, comma-separated "
                        "(default: the recorded ones, else this machine's IP:6443)")
    p.add_argument("--etcd-servers", default="", help="etcd client URLs for the apiserver "
                   "(default: the recorded ones, else http://127.0.0.1:2379)")
    p.add_argument("--san", action="append", default=[],
                   help="extra DNS name or IP for the apiserver certificate (repeatable)")
    p.add_argument("--kubeconfig-server", default="",
                   help="address written into the admin kubeconfig (default: the first --apiserver)")
    p.add_argument("--kubeconfig-out", default="",
                   help="also write an admin kubeconfig here, with copies of ca.crt, admin.crt, admin.key and "
                        "token beside it (to take the admin credentials to another machine)")
    p.add_argument("--node", default="", help="issue the identity of this node and print how it joins")
    p.add_argument("--node-ip", default="", help="the joining node's IP (written into its kubelet.yaml)")
    p.add_argument("--pod-cidr", default=None,
                   help="the joining node's pod CIDR (default: the next free 127.246.N.0/24, or with "
                        "--pod-network routed none, for the controller manager's node IPAM; '' for none)")
    p.add_argument("--pod-network", choices=POD_NETWORKS, default="loopback",
                   help="loopback (default): pod IPs reachable on the node's machine only, no privileges; "
                        "routed: pods reach pods on every node by IP (the kubelet routes pod CIDRs; it needs root "
                        "or CAP_NET_ADMIN, and the nodes one shared subnet)")
    p.add_argument("--out", default="", help="join directory to write (default: <cluster dir>/join/<node>)")
    p.add_argument("--install-dir", default="",
                   help="where the join directory will live on the new machine (paths in kubelet.yaml; "
                        "default: the --out directory itself)")
    p.add_argument("--no-token", action="store_true",
                   help="only a client certificate: change nothing in the cluster directory")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing")


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``kubemu certs`` to the top-level ``kubemu`` command's subparsers."""
    p = subparsers.add_parser("certs", help="credentials for the control plane, and what a new node needs to join",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cluster-dir", default=argparse.SUPPRESS, help="the cluster directory")
    add_arguments(p)
    p.set_defaults(handler=run)
    return p


def _cluster_dir(args: argparse.Namespace) -> str:
    explicit = getattr(args, "cluster_dir", None)
    if explicit:
        return explicit
    from kubemu.cluster import default_cluster_dir

    return default_cluster_dir()


def _endpoints(text: str) -> list[str]:
    from machinery.client import parse_endpoints

    return [e if re.search(r":\d+$", e) else f"{e}:{DEFAULT_PORT}" for e in parse_endpoints(text)]


def run(args: argparse.Namespace) -> int | None:
    layout = Layout(_cluster_dir(args))
    recorded = _read_cluster(layout)
    apiservers = _endpoints(args.apiserver) if args.apiserver else list(recorded.get("apiservers") or [])
    guessed = not apiservers
    if guessed:
        apiservers = [f"{primary_ip()}:{DEFAULT_PORT}"]
    say = (lambda *a, **k: None) if args.quiet or args.output == "json" else print
    if args.node and args.no_token:
        if not os.path.exists(layout.pki_file("ca.key")):
            print(f"error: no cluster CA in {layout.pki}: run `kubemu certs --cluster-dir {layout.root}` first",
                  file=sys.stderr)
            return 1
        result = node_join(layout, args.node, apiservers=apiservers, out_dir=args.out or layout.join_dir(args.node),
                           install_dir=args.install_dir, node_ip=args.node_ip, pod_cidr=args.pod_cidr, token=False,
                           pod_network=args.pod_network)
        _print_join(result, say)
        if args.output == "json" and not args.quiet:
            print(json.dumps(result, indent=2))
        return 0
    etcd = args.etcd_servers or recorded.get("etcd-servers") or "http://127.0.0.1:2379"
    # Names given once stay in the certificate; a guessed address brings this machine's names.
    sans = [*(recorded.get("sans") or []), *args.san, *([socket.gethostname(), primary_ip()] if guessed else [])]
    cp = ensure_control_plane(layout, apiservers=apiservers, etcd_servers=etcd, sans=sans,
                              kubeconfig_server=args.kubeconfig_server or recorded.get("kubeconfig-server", ""))
    result: dict = {"clusterDir": layout.root, "controlPlane": cp}
    if args.kubeconfig_out:
        result["exported"] = export_admin(layout, args.kubeconfig_out, cp["kubeconfig-server"])
    if args.node:
        result["join"] = node_join(layout, args.node, apiservers=apiservers,
                                   out_dir=args.out or layout.join_dir(args.node), install_dir=args.install_dir,
                                   node_ip=args.node_ip, pod_cidr=args.pod_cidr, token=True,
                                   pod_network=args.pod_network)
        _print_join(result["join"], say)
    else:
        _print_control_plane(layout, cp, say, guessed)
    if args.output == "json" and not args.quiet:
        print(json.dumps(result, indent=2))
    return 0


def _print_control_plane(layout: Layout, cp: dict, say, guessed: bool) -> None:
    d = layout.root
    etcd_url = cp["etcd-servers"].split(",")[0]
    say(f"Cluster credentials are in {layout.pki} (CA {cp['caHash']}).")
    if guessed:
        say(f"The apiserver address was guessed as {cp['apiservers'][0]}; pass --apiserver HOST:PORT to change it.")
    say()
    say("Start the control plane on this machine (each in its own terminal or service):")
    say()
    if etcd_url.startswith("http://127.0.0.1:") or etcd_url.startswith("http://localhost:"):
        say(f"  etcd --data-dir {shlex.quote(os.path.join(d, 'etcd'))} --listen-client-urls {etcd_url} "
            f"--advertise-client-urls {etcd_url}")
    for component in ("apiserver", "scheduler", "controller-manager"):
        say(f"  kubemu-{component} --config {shlex.quote(layout.config_file(component + '.yaml'))}")
    say()
    say("Talk to it:")
    say(f"  kubemu kubectl --kubeconfig {shlex.quote(layout.admin_kubeconfig)} get nodes")
    say()
    say("Add a node (prints what to copy to the new machine and the command to run there):")
    say(f"  kubemu certs --cluster-dir {shlex.quote(d)} --node NAME --node-ip ITS-IP")


def _print_join(j: dict, say) -> None:
    say(f'Node "{j["node"]}" can join the cluster at {", ".join(j["apiservers"])}.')
    say()
    say(f"  CA:        {j['caHash']}")
    if j["token"]:
        say(f"  token:     {j['token']}   (bearer token; the apiserver reads new tokens when it starts)")
    say(f"  identity:  system:node:{j['node']} (client certificate node.crt, group system:nodes)")
    names = ", ".join(pki.kubelet_serving_sans(j["node"], [j["nodeIP"]] if j["nodeIP"] else []))
    say(f"  serving:   kubelet.crt, {names} (kubelet API, mutual TLS: only the apiserver and admins may call it)")
    if j["podCIDR"]:
        say(f"  pod CIDR:  {j['podCIDR']}")
    if j.get("podNetwork") == "routed":
        say(f"  pods:      routed{'' if j['podCIDR'] else ' (pod CIDR from the controller manager)'}: run the kubelet "
            "as root (or with CAP_NET_ADMIN); every node on one subnet")
    say()
    say(f"1. Copy the files of {j['outDir']} ({', '.join(j['files'])}) to {j['installDir']} on the new machine:")
    say(f"     ssh NEW-MACHINE mkdir -p {shlex.quote(j['installDir'])}")
    say(f"     scp {shlex.quote(j['outDir'])}/* NEW-MACHINE:{shlex.quote(j['installDir'])}/")
    say("2. Run on the new machine:")
    ip_flag = "" if j["nodeIP"] else " --node-ip <this machine's IP>"
    say(f"     kubemu-kubelet --config {shlex.quote(j['kubeletConfig'])}{ip_flag}")
    say("   which is the same as:")
    say("     " + " ".join(shlex.quote(a) if not a.startswith("<") else a for a in j["kubeletCommand"]))
    say("3. And its kube-proxy (Services; as system:kube-proxy, certificate kube-proxy.crt):")
    say(f"     kubemu-proxy --config {shlex.quote(j['proxyConfig'])}"
        + ("" if j["nodeIP"] else " --bind-address <this machine's IP>"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="kubemu certs", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cluster-dir", default=None, help="the cluster directory (default $KUBEMU_CLUSTER_DIR "
                                                       "or ~/.kubemu/clusters/default)")
    add_arguments(p)
    return run(p.parse_args(argv)) or 0


if __name__ == "__main__":
    raise SystemExit(main())
