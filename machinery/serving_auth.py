"""Who may call a component's own gRPC port, and what they may do there (the kubelet's 10250).

kube-apiserver is not the only server in a cluster: the kubelet serves logs and exec, and anyone
who reaches that port unchecked can run commands in every pod of the node. Kubernetes protects it
the way kubemu does here:

* **Authentication: x509 client certificates.** A server given a client CA
  (``TLSFiles.client_ca_file``) requires every client to present a certificate that CA signed;
  gRPC's Python server cannot ask for a certificate without requiring one, so a client without
  one never gets past the TLS handshake (it sees UNAVAILABLE, and no RPC runs). The
  certificate's CN is the user, its O fields the groups — how Kubernetes reads x509 identities.
  A call that reaches a handler without a verified certificate (a server with TLS but no client
  CA) is ``Unauthorized`` (UNAUTHENTICATED).
* **Authorization: ask the apiserver** (the kubelet's ``--authorization-mode Webhook``). Each RPC
  maps to resource attributes (the kubelet: ``create nodes/proxy`` for exec, ``get nodes/proxy``
  for logs, ``get nodes/stats`` for usage), and :class:`WebhookAuthorizer` asks the apiserver
  with a SubjectAccessReview whether the caller may do that, so RBAC decides: the apiserver's
  kubelet-client identity is bound to ``system:kubelet-api-admin``, ``system:masters`` may do
  everything, anyone else is ``Forbidden`` (PERMISSION_DENIED) with the kubelet's message
  ``Forbidden (user=…, verb=…, resource=…, subresource(s)=[…])``. Answers are cached like the
  kubelet's (allowed 5 minutes, denied 30 seconds; bounded), so a stream of exec calls costs one
  review. When the apiserver cannot answer, the call fails as UNAVAILABLE and nothing runs.
* RPCs mapped to no attributes (health checks) need authentication only, as Kubernetes'
  ``--authorization-always-allow-paths`` lets ``/healthz`` through.

:class:`AuthInterceptor` applies both to every RPC of a server before its handler runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import grpc

from machinery import errors

log = logging.getLogger(__name__)

DEFAULT_ALLOWED_TTL_S = 300.0  # kubelet --authorization-webhook-cache-authorized-ttl
DEFAULT_DENIED_TTL_S = 30.0  # kubelet --authorization-webhook-cache-unauthorized-ttl
MAX_CACHE_ENTRIES = 4096


@dataclass(frozen=True)
class Caller:
    """An authenticated client: the user and groups its certificate names."""

    user: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResourceAttributes:
    """What an RPC does, as a SubjectAccessReview's ``spec.resourceAttributes`` says it."""

    verb: str
    resource: str
    subresource: str = ""
    name: str = ""
    namespace: str = ""
    group: str = ""

    def forbidden_message(self, user: str) -> str:
        """The kubelet's wording for a refused request."""
        return (f"Forbidden (user={user}, verb={self.verb}, resource={self.resource}, "
                f"subresource(s)=[{self.subresource}])")


def certificate_caller(context: grpc.ServicerContext) -> Caller | None:
    """The caller named by the verified TLS client certificate of this RPC, or None."""
    auth = context.auth_context() or {}
    if (auth.get("transport_security_type") or [b""])[0] != b"ssl":
        return None
    pem = (auth.get("x509_pem_cert") or [b""])[0]
    common_name = (auth.get("x509_common_name") or [b""])[0].decode(errors="replace")
    if not pem or not common_name:
        return None
    return Caller(common_name, tuple(certificate_organizations(pem)))


def certificate_organizations(pem: bytes) -> list[str]:
    """The O= fields of a PEM certificate's subject (groups, as Kubernetes reads them)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_pem_x509_certificate(pem)
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]


class Authorizer(Protocol):
    name: str

    def authorize(self, caller: Caller, attrs: ResourceAttributes) -> tuple[bool, str]: ...


class AlwaysAllow:
    name = "AlwaysAllow"

    def authorize(self, caller: Caller, attrs: ResourceAttributes) -> tuple[bool, str]:
        return True, ""


class ReviewClient(Protocol):
    def create(self, resource: str, obj: dict, namespace: str = "") -> dict: ...


class WebhookAuthorizer:
    """Asks the apiserver (SubjectAccessReview) and caches its answers for a while."""

    name = "Webhook"

    def __init__(self, client: ReviewClient, *, allowed_ttl_s: float = DEFAULT_ALLOWED_TTL_S,
                 denied_ttl_s: float = DEFAULT_DENIED_TTL_S, max_entries: int = MAX_CACHE_ENTRIES,
                 clock: Callable[[], float] = time.monotonic):
        self._client = client
        self._ttl = {True: allowed_ttl_s, False: denied_ttl_s}
        self._max = max_entries
        self._clock = clock
        self._cache: OrderedDict[tuple, tuple[float, bool, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.reviews = 0  # SubjectAccessReviews sent (for Describe and tests)

    def authorize(self, caller: Caller, attrs: ResourceAttributes) -> tuple[bool, str]:
        """Raises :class:`errors.APIError` when the apiserver cannot answer."""
        key = (caller.user, caller.groups, attrs)
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                self._cache.move_to_end(key)
                return hit[1], hit[2]
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": {"user": caller.user, "groups": list(caller.groups),
                           "resourceAttributes": {k: v for k, v in (
                               ("verb", attrs.verb), ("resource", attrs.resource), ("subresource", attrs.subresource),
                               ("name", attrs.name), ("namespace", attrs.namespace), ("group", attrs.group)) if v}}}
        answer = self._client.create("subjectaccessreviews", review)
        status = answer.get("status") if isinstance(answer.get("status"), dict) else {}
        allowed, reason = status.get("allowed") is True, str(status.get("reason") or "")
        with self._lock:
            self.reviews += 1
            self._cache[key] = (now + self._ttl[allowed], allowed, reason)
            self._cache.move_to_end(key)
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return allowed, reason


# attributes(method) -> what the RPC needs, or None for "authentication is enough" (health).
AttributesOf = Callable[[str], "ResourceAttributes | None"]


class AuthInterceptor(grpc.ServerInterceptor):
    """Authenticates (client certificate) and authorizes every RPC before its handler runs."""

    def __init__(self, attributes: AttributesOf, authorizer: Authorizer):
        self._attributes = attributes
        self._authorizer = authorizer

    def check(self, method: str, context: grpc.ServicerContext) -> None:
        """Abort the RPC unless its caller is authenticated and allowed."""
        caller = certificate_caller(context)
        if caller is None:
            errors.abort(context, errors.Unauthorized("Unauthorized: a client certificate signed by the "
                                                      "cluster CA is required"))
        attrs = self._attributes(method)
        if attrs is None:
            return
        try:
            allowed, _ = self._authorizer.authorize(caller, attrs)
        except errors.APIError as e:
            log.warning("cannot authorize %s for %s: %s", method, caller.user, e)
            errors.abort(context, errors.Unavailable(
                f"Authorization error (user={caller.user}, verb={attrs.verb}, resource={attrs.resource}, "
                f"subresource(s)=[{attrs.subresource}]): {e}"))
        if not allowed:
            log.info("refused %s to %s (%s)", method, caller.user, ",".join(caller.groups))
            errors.abort(context, errors.Forbidden(attrs.forbidden_message(caller.user)))

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        return _guarded(handler, lambda context: self.check(method, context))


def _guarded(handler: grpc.RpcMethodHandler, check: Callable[[grpc.ServicerContext], None]) -> grpc.RpcMethodHandler:
    """``handler`` with ``check(context)`` run first (it aborts the RPC to refuse it)."""
    des, ser = handler.request_deserializer, handler.response_serializer
    if handler.unary_unary:
        inner_uu = handler.unary_unary

        def unary_unary(request, context):
            check(context)
            return inner_uu(request, context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, des, ser)
    if handler.unary_stream:
        inner_us = handler.unary_stream

        def unary_stream(request, context):
            check(context)
            yield from inner_us(request, context)

        return grpc.unary_stream_rpc_method_handler(unary_stream, des, ser)
    if handler.stream_unary:
        inner_su = handler.stream_unary

        def stream_unary(requests, context):
            check(context)
            return inner_su(requests, context)

        return grpc.stream_unary_rpc_method_handler(stream_unary, des, ser)
    inner_ss = handler.stream_stream

    def stream_stream(requests, context):
        check(context)
        yield from inner_ss(requests, context)

    return grpc.stream_stream_rpc_method_handler(stream_stream, des, ser)
