"""Credentials for a cluster: a CA, serving and client certificates, and bearer tokens.

``kubemu up`` (and ``kubemu certs``) write, into ``<cluster dir>/pki``:

- ``ca.crt``/``ca.key``: the cluster CA (ECDSA P-256, 10 years);
- ``apiserver.crt``/``.key``: the apiserver's serving certificate, valid for ``localhost``,
  ``127.0.0.1``, the host name and any extra names/addresses given (``--apiserver-cert-extra-sans``);
- ``<identity>.crt``/``.key``: client certificates with CN = user and O = groups, the way
  Kubernetes reads x509 identities (``admin`` in ``system:masters``, ``system:kube-scheduler``…);
- ``tokens.csv``: kube-apiserver's static token file, one random token per identity;
- ``apiserver-kubelet-client.crt``/``.key``: the apiserver's identity towards kubelets
  (``kube-apiserver-kubelet-client``, as kubeadm names it; RBAC binds it to ``system:kubelet-api-admin``);
- ``kubelet-<node>.crt``/``.key``: a kubelet's serving certificate (CN ``system:node:<node>``,
  O ``system:nodes``, server auth only), valid for the node's name and addresses
  (:func:`write_kubelet_serving`);
- ``<component>-serving.crt``/``.key``: the scheduler's and controller manager's serving
  certificates (:func:`write_component_serving`).

Nothing here talks to the network; files holding keys or tokens are written mode 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import socket
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class Identity:
    """A user the cluster knows: name, uid and groups (the token file's columns)."""

    user: str
    groups: tuple[str, ...] = ()

    @property
    def file_stem(self) -> str:
        return self.user.replace(":", "-")


# The identity scrapers use for the apiserver's /metrics (``kubemu status``, the compose Prometheus):
# in Kubernetes' ``system:monitoring`` group, which may read the monitoring endpoints and nothing else.
MONITORING = "kubemu:monitoring"


def cluster_identities(node_names: list[str]) -> list[Identity]:
    return [Identity("admin", ("system:masters",)), Identity("system:kube-scheduler"),
            Identity("system:kube-controller-manager"), Identity("system:kube-proxy"),
            Identity(MONITORING, ("system:monitoring",)),
            *(Identity(f"system:node:{n}", ("system:nodes",)) for n in node_names)]


def _write(path: str, data: bytes, private: bool = False) -> None:
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str, orgs: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    return x509.Name(attrs + [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class CertificateAuthority:
    def __init__(self, cert: x509.Certificate, key):
        self.cert, self.key = cert, key

    @classmethod
    def create(cls, common_name: str = "kubemu-ca") -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(_name(common_name))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(cert, key)

    @classmethod
    def load(cls, directory: str) -> CertificateAuthority:
        with open(os.path.join(directory, "ca.crt"), "rb") as c, open(os.path.join(directory, "ca.key"), "rb") as k:
            return cls(x509.load_pem_x509_certificate(c.read()), serialization.load_pem_private_key(k.read(), None))

    def save(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        _write(os.path.join(directory, "ca.crt"), self.cert.public_bytes(serialization.Encoding.PEM))
        _write(os.path.join(directory, "ca.key"), _key_pem(self.key), private=True)

    def issue(self, common_name: str, *, orgs: tuple[str, ...] = (), sans: list[str] = (),
              server: bool = False, client: bool = True) -> tuple[bytes, bytes]:
        """A leaf certificate and its key, PEM encoded."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
            [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
        builder = (x509.CertificateBuilder().subject_name(_name(common_name, orgs)).issuer_name(self.cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(usages), critical=False))
        if sans:
            entries = []
            for san in sans:
                try:
                    entries.append(x509.IPAddress(ipaddress.ip_address(san)))
                except ValueError:
                    entries.append(x509.DNSName(san))
            builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def default_server_sans(extra: list[str] = ()) -> list[str]:
    names = ["localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "apiserver", socket.gethostname()]
    return list(dict.fromkeys(names + [e for e in extra if e]))


def write_cluster_credentials(directory: str, node_names: list[str], *, extra_sans: list[str] = ()) -> dict:
    """Create (or reuse) the CA, then certificates and tokens for every identity; returns paths and tokens."""
    os.makedirs(directory, exist_ok=True)
    if os.path.exists(os.path.join(directory, "ca.key")):
        ca = CertificateAuthority.load(directory)
    else:
        ca = CertificateAuthority.create()
        ca.save(directory)
    cert, key = ca.issue("kube-apiserver", sans=default_server_sans(list(extra_sans)), server=True, client=False)
    _write(os.path.join(directory, "apiserver.crt"), cert)
    _write(os.path.join(directory, "apiserver.key"), key, private=True)
    tokens = read_token_file(os.path.join(directory, "tokens.csv"))
    for ident in cluster_identities(node_names):
        cert, key = ca.issue(ident.user, orgs=ident.groups)
        _write(os.path.join(directory, f"{ident.file_stem}.crt"), cert)
        _write(os.path.join(directory, f"{ident.file_stem}.key"), key, private=True)
        if ident.user not in tokens:
            tokens[ident.user] = (secrets.token_hex(16), ident)
    write_token_file(os.path.join(directory, "tokens.csv"), tokens)
    return {"ca": os.path.join(directory, "ca.crt"), "tokens": {u: t for u, (t, _) in tokens.items()},
            "token_file": os.path.join(directory, "tokens.csv")}


KUBELET_CLIENT = Identity("kube-apiserver-kubelet-client")


def _issue_to(ca: CertificateAuthority, directory: str, stem: str, common_name: str, **kwargs) -> tuple[str, str]:
    cert, key = ca.issue(common_name, **kwargs)
    cert_path, key_path = os.path.join(directory, f"{stem}.crt"), os.path.join(directory, f"{stem}.key")
    _write(cert_path, cert)
    _write(key_path, key, private=True)
    return cert_path, key_path


def write_kubelet_client(directory: str, ca: CertificateAuthority | None = None) -> tuple[str, str]:
    """The apiserver's client certificate for kubelets; returns (cert, key) paths."""
    ca = ca or CertificateAuthority.load(directory)
    return _issue_to(ca, directory, "apiserver-kubelet-client", KUBELET_CLIENT.user)


def kubelet_serving_sans(node_name: str, addresses: list[str] = ()) -> list[str]:
    return list(dict.fromkeys([node_name, *(a for a in addresses if a)]))


def issue_kubelet_serving(ca: CertificateAuthority, node_name: str, addresses: list[str] = ()) -> tuple[bytes, bytes]:
    """A kubelet's serving certificate and key (PEM), as a kubelet's approved serving CSR makes them:
    CN ``system:node:<node>``, O ``system:nodes``, server auth only, valid for the name and addresses."""
    return ca.issue(f"system:node:{node_name}", orgs=("system:nodes",),
                    sans=kubelet_serving_sans(node_name, addresses), server=True, client=False)


def write_kubelet_serving(directory: str, node_name: str, addresses: list[str] = (),
                          ca: CertificateAuthority | None = None) -> tuple[str, str]:
    """``kubelet-<node>.crt``/``.key`` in ``directory``; returns their paths."""
    ca = ca or CertificateAuthority.load(directory)
    cert, key = issue_kubelet_serving(ca, node_name, addresses)
    cert_path, key_path = (os.path.join(directory, f"kubelet-{node_name}.{ext}") for ext in ("crt", "key"))
    _write(cert_path, cert)
    _write(key_path, key, private=True)
    return cert_path, key_path


def write_component_serving(directory: str, component: str, sans: list[str] = (),
                            ca: CertificateAuthority | None = None) -> tuple[str, str]:
    """``<component>-serving.crt``/``.key`` for the scheduler or controller manager, valid for
    ``localhost``, ``127.0.0.1``, this host's name, the component's name and ``sans``."""
    ca = ca or CertificateAuthority.load(directory)
    names = list(dict.fromkeys(["localhost", "127.0.0.1", socket.gethostname(), component, *(s for s in sans if s)]))
    return _issue_to(ca, directory, f"{component}-serving", f"kube-{component}", sans=names, server=True,
                     client=False)


def add_node_token(directory: str, node_name: str) -> str:
    """A token (and client certificate) for one more node joining the cluster."""
    ca = CertificateAuthority.load(directory)
    ident = Identity(f"system:node:{node_name}", ("system:nodes",))
    cert, key = ca.issue(ident.user, orgs=ident.groups)
    _write(os.path.join(directory, f"{ident.file_stem}.crt"), cert)
    _write(os.path.join(directory, f"{ident.file_stem}.key"), key, private=True)
    tokens = read_token_file(os.path.join(directory, "tokens.csv"))
    if ident.user not in tokens:
        tokens[ident.user] = (secrets.token_hex(16), ident)
        write_token_file(os.path.join(directory, "tokens.csv"), tokens)
    return tokens[ident.user][0]


def read_token_file(path: str) -> dict[str, tuple[str, Identity]]:
    import csv

    out: dict[str, tuple[str, Identity]] = {}
    if not os.path.exists(path):
        return out
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if len(row) >= 3:
                groups = tuple(g for g in (row[3].split(",") if len(row) > 3 else []) if g)
                out[row[1]] = (row[0], Identity(row[1], groups))
    return out


def write_token_file(path: str, tokens: dict[str, tuple[str, Identity]]) -> None:
    lines = [f'{token},{ident.user},{i + 1},"{",".join(ident.groups)}"\n'
             for i, (token, ident) in enumerate(tokens.values())]
    _write(path, "".join(lines).encode(), private=True)
