"""The gRPC server every component runs: health checking, introspection, and its own services.

Each process (apiserver, scheduler, controller manager, kubelet) serves the standard
``grpc.health.v1.Health`` service, so any gRPC health probe (and ``kubemu status``) can ask
whether it is SERVING, plus ``kubemu.v1.Component/Describe`` saying what it is doing.

TLS (``tls``): the server serves TLS with its certificate and key; with a client CA as well,
every client must present a certificate that CA signed (mutual TLS). ``interceptors`` run
before every handler: the kubelet's authentication and authorization (machinery/serving_auth.py).

Threads: the server runs on a bounded thread pool; every streaming RPC (a watch) holds one
worker for its lifetime, so ``max_workers`` bounds open watches plus in-flight requests.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from machinery import errors, meta, tracing
from machinery.client import SERVER_OPTIONS
from machinery.pb import component_pb2, component_pb2_grpc

log = logging.getLogger(__name__)

VERSION = "0.1.0"
# The Kubernetes version kubemu's objects and behaviour follow (reported as kubeletVersion etc.).
KUBERNETES_VERSION = "v1.32.0"


@dataclass(frozen=True)
class TLSFiles:
    cert_file: str = ""
    key_file: str = ""
    # client_ca_file: when set, clients may present certificates signed by it (mutual TLS).
    client_ca_file: str = ""


class _ComponentServicer(component_pb2_grpc.ComponentServicer):
    def __init__(self, component: str, identity: str, details: Callable[[], dict], spans: Callable | None = None):
        self._component, self._identity, self._details = component, identity, details
        self._spans = spans or (lambda request, context: tracing.local_spans(request))
        self._started = meta.format_time()

    def Spans(self, request, context):
        """The trace spans this process recorded (machinery/tracing.py); the apiserver gathers more."""
        try:
            return self._spans(request, context)
        except errors.APIError as e:
            errors.abort(context, e)
        except Exception:
            log.exception("answering Spans failed")
            errors.abort(context, errors.InternalError("internal error while reading trace spans"))

    def Describe(self, request, context):
        try:
            details = self._details()
        except Exception as e:  # noqa: BLE001 - introspection must never take the process down
            details = {"error": str(e)}
        if isinstance(details, dict):
            details.setdefault("tracing", tracing.TRACER.stats())
        return component_pb2.ComponentInfo(component=self._component, identity=self._identity, version=VERSION,
                                           started_at=self._started, details=json.dumps(details).encode())


class ComponentServer:
    """A started gRPC server plus its health state."""

    def __init__(self, component: str, identity: str, address: str, *, details: Callable[[], dict] | None = None,
                 max_workers: int = 64, tls: TLSFiles | None = None,
                 register: Callable[[grpc.Server], None] | None = None, spans: Callable | None = None,
                 interceptors: list[grpc.ServerInterceptor] | None = None):
        self.component = component
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers,
                                                             thread_name_prefix=f"{component}-grpc"),
                                  options=SERVER_OPTIONS, interceptors=interceptors or None)
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        component_pb2_grpc.add_ComponentServicer_to_server(
            _ComponentServicer(component, identity, details or dict, spans), self.server)
        if register:
            register(self.server)
        if tls and tls.cert_file:
            with open(tls.key_file, "rb") as k, open(tls.cert_file, "rb") as c:
                pair = [(k.read(), c.read())]
            client_ca = open(tls.client_ca_file, "rb").read() if tls.client_ca_file else None  # noqa: SIM115
            # gRPC's Python server cannot ask for a client certificate without requiring one: with a
            # client CA every client must present a certificate it signed (tokens still name the user).
            creds = grpc.ssl_server_credentials(pair, root_certificates=client_ca,
                                                require_client_auth=client_ca is not None)
            self.port = self.server.add_secure_port(address, creds)
        else:
            self.port = self.server.add_insecure_port(address)
        if not self.port:
            raise OSError(f"cannot listen on {address}")
        self.address = address

    def start(self) -> None:
        self.server.start()
        log.info("%s serving gRPC on %s", self.component, self.address)

    def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        self.health.set("", status)
        self.health.set(self.component, status)

    def stop(self, grace_s: float = 2.0) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace_s).wait()
