"""What every API client component shares at start-up: client flags, leader-election flags,
signal handling, and the leader-election run loop.

Flag names follow the Kubernetes components (``--leader-elect``,
``--leader-elect-lease-duration`` …); the apiserver address(es) and credentials come from
``--apiserver`` / ``--token`` / ``--token-file`` / ``--certificate-authority`` (or the
``KUBEMU_*`` environment variables, or a ``--config`` file: see :mod:`machinery.config`).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Protocol

from machinery.client import APIClient, Credentials
from machinery.leaderelection import LeaderElectionConfig, LeaderElector
from machinery.server import TLSFiles

log = logging.getLogger(__name__)


def add_client_flags(p: argparse.ArgumentParser, *, default_port: int) -> None:
    p.add_argument("--apiserver", default="127.0.0.1:6443",
                   help="apiserver address(es), comma-separated for failover")
    p.add_argument("--token", default="", help="bearer token for the apiserver")
    p.add_argument("--token-file", default="", help="file holding the bearer token")
    p.add_argument("--certificate-authority", default="", help="CA bundle to verify the apiserver (enables TLS)")
    p.add_argument("--client-certificate", default="", help="client certificate for mutual TLS")
    p.add_argument("--client-key", default="", help="client key for mutual TLS")
    p.add_argument("--tls-server-name", default="", help="name to expect in the apiserver certificate")
    p.add_argument("--bind-address", default="0.0.0.0", help="address of this component's gRPC/health server")
    p.add_argument("--port", type=int, default=default_port, help="port of this component's gRPC/health server")
    p.add_argument("-v", "--v", type=int, default=0, help="log verbosity")


def add_serving_flags(p: argparse.ArgumentParser) -> None:
    """TLS of the component's own gRPC port (kube components' secure-serving flag names)."""
    g = p.add_argument_group("serving")
    g.add_argument("--tls-cert-file", default="",
                   help="certificate to serve this component's gRPC port over TLS (with --tls-private-key-file)")
    g.add_argument("--tls-private-key-file", default="", help="key of --tls-cert-file")
    g.add_argument("--client-ca-file", default="",
                   help="require every client to present a certificate this CA signed (mutual TLS)")


def serving_tls(args: argparse.Namespace) -> TLSFiles | None:
    """The TLS files of ``add_serving_flags``, None for plain gRPC; a clear error for half a setup."""
    if bool(args.tls_cert_file) != bool(args.tls_private_key_file):
        raise SystemExit("error: --tls-cert-file and --tls-private-key-file must be given together")
    if args.client_ca_file and not args.tls_cert_file:
        raise SystemExit("error: --client-ca-file needs --tls-cert-file and --tls-private-key-file")
    for flag, path in (("--tls-cert-file", args.tls_cert_file), ("--tls-private-key-file", args.tls_private_key_file),
                       ("--client-ca-file", args.client_ca_file)):
        if path and not os.path.isfile(path):
            raise SystemExit(f"error: {flag} {path}: no such file")
    if not args.tls_cert_file:
        return None
    return TLSFiles(args.tls_cert_file, args.tls_private_key_file, args.client_ca_file)


def add_leader_election_flags(p: argparse.ArgumentParser, *, lease_name: str) -> None:
    p.add_argument("--leader-elect", default=True, action=argparse.BooleanOptionalAction,
                   help="run active/standby through a Lease (default true)")
    p.add_argument("--leader-elect-resource-name", default=lease_name, help="name of the Lease")
    p.add_argument("--leader-elect-resource-namespace", default="kube-system", help="namespace of the Lease")
    p.add_argument("--leader-elect-lease-duration", type=float, default=15.0,
                   help="seconds a standby waits after the last renewal before taking over")
    p.add_argument("--leader-elect-renew-deadline", type=float, default=10.0,
                   help="seconds the leader keeps trying to renew before giving up")
    p.add_argument("--leader-elect-retry-period", type=float, default=2.0, help="seconds between attempts")
    p.add_argument("--identity", default="", help="this replica's identity (default: hostname_uuid)")


def client_from_args(args: argparse.Namespace, user_agent: str) -> APIClient:
    token = args.token
    if not token and args.token_file:
        with open(args.token_file) as f:
            token = f.read().strip()
    creds = Credentials(token=token, ca_file=args.certificate_authority, cert_file=args.client_certificate,
                        key_file=args.client_key, tls_server_name=args.tls_server_name)
    # Components ride out long apiserver outages: their loops retry on their own.
    # A heartbeat must not wait on a dead connection longer than a lease renewal period.
    return APIClient(args.apiserver, creds, user_agent=user_agent, retry_timeout_s=10.0, request_timeout_s=10.0)


def default_identity(args: argparse.Namespace) -> str:
    return args.identity or f"{socket.gethostname()}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def stop_event_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


class Current:
    """The worker of the current leadership term, for code that outlives terms (gRPC services,
    introspection): attribute reads go to the newest worker ``build()`` made."""

    def __init__(self, build: Callable[[], object]):
        self._build = build
        self.obj = build()
        self._fresh = True

    def next(self):
        """The worker for a new term: the one made at start-up for the first term, then a new one."""
        if self._fresh:
            self._fresh = False
        else:
            self.obj = self._build()
        return self.obj

    def __getattr__(self, name: str):
        return getattr(self.obj, name)


class Worker(Protocol):
    """What a leader-elected component runs while it leads: run() starts (may block), stop() ends it."""

    def run(self) -> None: ...

    def stop(self) -> None: ...


def run_while_leading(client: APIClient, args: argparse.Namespace, identity: str, *, build: Callable[[], Worker],
                      stop: threading.Event, publish: Callable[[LeaderElector], None] | None = None) -> int:
    """Campaign for the lease; while leading, run a freshly built worker; on losing the lease,
    stop and drop it and campaign again — until ``stop`` is set.

    Kubernetes components exit when they lose their lease and rely on a supervisor to restart
    them clean; kubemu's supervisor deliberately does not restart killed components, so the
    process restarts its work itself: a new worker means new informers and caches, never state
    from before the loss. Without ``--leader-elect`` the worker simply runs.
    """
    if not args.leader_elect:
        worker = build()
        threading.Thread(target=worker.run, daemon=True, name="run").start()
        stop.wait()
        worker.stop()
        return 0
    while not stop.is_set():
        lost = threading.Event()
        current: dict[str, Worker] = {}

        def lead(current: dict[str, Worker] = current) -> None:
            worker = current["worker"] = build()
            worker.run()

        elector = LeaderElector(client, LeaderElectionConfig(
            args.leader_elect_resource_name, identity, args.leader_elect_resource_namespace,
            args.leader_elect_lease_duration, args.leader_elect_renew_deadline, args.leader_elect_retry_period),
            on_started_leading=lead, on_stopped_leading=lost.set)
        if publish:
            publish(elector)
        thread = threading.Thread(target=elector.run, daemon=True, name="leader-election")
        thread.start()
        while not stop.is_set() and not lost.is_set():
            stop.wait(0.5)
        if not lost.is_set():
            elector.stop()
            thread.join(timeout=2)
        worker = current.get("worker")
        if worker is not None:
            worker.stop()
        if lost.is_set() and not stop.is_set():
            log.error("leader election lost; stopped working with the old state, campaigning again")
    return 0
