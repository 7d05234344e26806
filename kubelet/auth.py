"""Who may call the kubelet's API (its gRPC port, 10250), as Kubernetes' kubelet decides it.

Serving (kubelet flags): ``--tls-cert-file``/``--tls-private-key-file`` — the node's serving
certificate, signed by the cluster CA, valid for the node's name and addresses — and
``--client-ca-file``: every client must present a certificate that CA signed (x509
authentication; CN = user, O = groups). ``--authorization-mode Webhook`` (the default when a
client CA is given) then asks the apiserver, through a SubjectAccessReview, whether the caller
may do what the RPC does to this Node (machinery/serving_auth.py), with the attributes the
kubelet gives its HTTP paths:

=================================  ==========================  ===============================
RPC                                Kubernetes path             SubjectAccessReview
=================================  ==========================  ===============================
``Kubelet/ContainerLogs``          ``GET /containerLogs/…``    ``get nodes/proxy``
``Kubelet/Exec``                   ``POST /exec/…``            ``create nodes/proxy``
``Kubelet/Stats``                  ``GET /stats/…``            ``get nodes/stats``
``Component/Describe``             ``GET /configz``            ``get nodes/proxy``
``Component/Spans``                (kubemu's trace spans)      ``get nodes/proxy``
``grpc.health.v1.Health/*``        ``/healthz``                authentication only
anything else                      any other path              ``create nodes/proxy``
=================================  ==========================  ===============================

RBAC grants these to the apiserver's kubelet client (user ``kube-apiserver-kubelet-client``,
bound to ``system:kubelet-api-admin``) and to ``system:masters``; a node's own identity, or any
other user, is refused. Without TLS files the kubelet serves plain gRPC and lets everyone do
everything (``kubemu up --insecure``, the tests' plain clusters): it says so loudly at start.
"""

from __future__ import annotations

import argparse
import logging

import grpc

from machinery.client import APIClient
from machinery.server import TLSFiles
from machinery.serving_auth import AlwaysAllow, AuthInterceptor, ResourceAttributes, WebhookAuthorizer

log = logging.getLogger(__name__)

MODES = ("Webhook", "AlwaysAllow")
_HEALTH = "/grpc.health.v1.Health/"
_METHODS = {
    "/kubemu.v1.Kubelet/ContainerLogs": ("get", "proxy"),
    "/kubemu.v1.Kubelet/Exec": ("create", "proxy"),
    "/kubemu.v1.Kubelet/Stats": ("get", "stats"),
    "/kubemu.v1.Component/Describe": ("get", "proxy"),
    "/kubemu.v1.Component/Spans": ("get", "proxy"),
}


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--authorization-mode", default="", choices=("", *MODES),
                   help="Webhook: ask the apiserver (SubjectAccessReview) whether each caller may use the kubelet API "
                        "(default with --client-ca-file); AlwaysAllow: no checks (default without)")
    p.add_argument("--authorization-webhook-cache-authorized-ttl", type=float, default=300.0,
                   help="seconds an allowed answer of the apiserver is reused (Kubernetes: 5m)")
    p.add_argument("--authorization-webhook-cache-unauthorized-ttl", type=float, default=30.0,
                   help="seconds a denied answer of the apiserver is reused (Kubernetes: 30s)")


def attributes_for(node_name: str):
    """``method -> ResourceAttributes | None`` for the kubelet of ``node_name``."""

    def of(method: str) -> ResourceAttributes | None:
        if method.startswith(_HEALTH):
            return None
        verb, subresource = _METHODS.get(method, ("create", "proxy"))
        return ResourceAttributes(verb, "nodes", subresource, node_name)

    return of


def mode(args: argparse.Namespace, tls: TLSFiles | None) -> str:
    chosen = args.authorization_mode or ("Webhook" if tls and tls.client_ca_file else "AlwaysAllow")
    if chosen == "Webhook" and not (tls and tls.client_ca_file):
        raise SystemExit("error: --authorization-mode Webhook needs --client-ca-file (callers are known by their "
                         "client certificates) and --tls-cert-file/--tls-private-key-file")
    return chosen


def interceptors(args: argparse.Namespace, tls: TLSFiles | None, client: APIClient,
                 node_name: str) -> tuple[list[grpc.ServerInterceptor], WebhookAuthorizer | None]:
    """The server interceptors for the chosen mode, and the webhook authorizer (for Describe)."""
    chosen = mode(args, tls)
    address = f"{args.bind_address}:{args.port}"
    if tls is None:
        log.warning("the kubelet API on %s is plain gRPC without authentication: anyone who reaches it can read "
                    "logs and exec into this node's pods; give --tls-cert-file, --tls-private-key-file and "
                    "--client-ca-file (kubemu up, docker compose and kubemu certs --node do)", address)
        return [], None
    if chosen == "AlwaysAllow":
        who = "any client with a certificate the client CA signed" if tls.client_ca_file else "any TLS client"
        log.warning("the kubelet API on %s authorizes nothing (--authorization-mode AlwaysAllow): %s may exec "
                    "into this node's pods", address, who)
        return ([AuthInterceptor(attributes_for(node_name), AlwaysAllow())] if tls.client_ca_file else []), None
    webhook = WebhookAuthorizer(client, allowed_ttl_s=args.authorization_webhook_cache_authorized_ttl,
                                denied_ttl_s=args.authorization_webhook_cache_unauthorized_ttl)
    log.info("kubelet API on %s: TLS, x509 client certificates, Webhook authorization", address)
    return [AuthInterceptor(attributes_for(node_name), webhook)], webhook
