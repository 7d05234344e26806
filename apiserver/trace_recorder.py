"""The apiserver's steps in a pod's trace: one span per write to a pod, with what explains it.

The transports (gRPC in :mod:`apiserver.service`, REST in :mod:`apiserver.rest.server`) note
what only they know about a request — the caller's ``traceparent`` and how it authenticated —
in a context variable (:func:`grpc_request`, :func:`rest_handler`). :func:`traced` wraps the
writing verbs of :class:`apiserver.api.API` (create, update, modify, delete, evict, bind): for a
pod it opens a span, and the steps inside add to it through the same context variable —
:func:`authorized` (which RBAC binding, role and rule, or the Node authorizer, allowed it),
:func:`admitting` (the admission :class:`Attributes`, whose ``trace`` lists every plugin in order
with its JSON Patch or why it refused). When the verb returns, the span records the etcd key and
the revision written; when it raises, why.

Which writes are traced: every pod create (a new trace, or the caller's when it sent a
``traceparent``) — the apiserver then stores the trace context on the pod in the
``trace.kubemu.io/traceparent`` annotation (:data:`machinery.tracing.ANNOTATION`); and every later
write to a pod that carries that annotation or comes with a ``traceparent``. Other resources
(Leases, Events, Nodes …) are not traced: a trace tells one pod's story.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from apiserver.storage import object_key
from machinery import errors, tracing
from machinery.jsondiff import diff

log = logging.getLogger(__name__)

TRACED_RESOURCE = "pods"
# An update's "what changed" patch keeps at most this many operations.
MAX_CHANGES = 40
# Metadata every write changes: left out of the "what changed" patch of an update.
_NOISE = ("resourceVersion", "managedFields", "generation")


@dataclass(frozen=True)
class Incoming:
    """What the transport knows about the request being served."""

    parent: tracing.SpanContext | None
    authentication: str
    transport: str


_incoming: contextvars.ContextVar[Incoming | None] = contextvars.ContextVar("kubemu_incoming", default=None)
_request: contextvars.ContextVar[_RequestSpan | None] = contextvars.ContextVar("kubemu_request", default=None)


def authentication_method(header: str, *, secured: bool, certificate: bool = False) -> str:
    if not secured:
        return "none: the apiserver runs unsecured (every caller is system:unsecured)"
    if header:
        return "bearer token"
    return "client certificate" if certificate else "anonymous"


@contextmanager
def grpc_request(context, authenticator):
    """Note the gRPC caller's traceparent and authentication method while its handler runs."""
    metadata = tuple(context.invocation_metadata() or ())
    header = next((v for k, v in metadata if k == "authorization"), "")
    certificate = not header and authenticator.client_certs
    token = _incoming.set(Incoming(tracing.incoming_context(metadata),
                                   authentication_method(header, secured=authenticator.secured,
                                                         certificate=certificate), "gRPC"))
    try:
        yield
    finally:
        _incoming.reset(token)


def rest_handler(handle: Callable, authenticator) -> Callable:
    """``handle(call)`` run with the REST caller's traceparent header and authentication noted."""

    @functools.wraps(handle)
    def run(call):
        header = call.headers.get("Authorization", "")
        token = _incoming.set(Incoming(tracing.parse_traceparent(call.headers.get(tracing.TRACEPARENT_HEADER)),
                                       authentication_method(header, secured=authenticator.secured,
                                                             certificate=authenticator.client_certs),
                                       "REST"))
        try:
            return handle(call)
        finally:
            _incoming.reset(token)

    return run


def authorized(reason: str) -> None:
    """The authorizer's reason for allowing the request being served (no-op when untraced)."""
    request = _request.get()
    if request is not None and "authorization" not in request.span.attributes:
        request.span.set(authorization=reason)


def admitting(attrs) -> None:
    """The admission Attributes of the request being served: their ``trace`` fills in as plugins run."""
    request = _request.get()
    if request is not None:
        request.attrs = attrs


class _RequestSpan:
    def __init__(self, span, verb: str, resource: str, explicit_parent: bool):
        self.span = span
        self.verb = verb
        self.resource = resource
        self.explicit_parent = explicit_parent
        self.attrs = None

    def finish(self, result: dict | None, error: Exception | None) -> None:
        span = self.span
        attrs = self.attrs
        if attrs is not None:
            span.set(admission=list(attrs.trace))
            if attrs.operation == "UPDATE" and isinstance(attrs.old_object, dict) and isinstance(attrs.object, dict):
                changes = diff(_quiet(attrs.old_object), _quiet(attrs.object))
                if len(changes) > MAX_CHANGES:
                    changes = changes[:MAX_CHANGES] + [{"op": "…", "more": len(changes) - MAX_CHANGES}]
                span.set(changes=changes)
        if isinstance(result, dict) and (result.get("metadata") or {}).get("name"):
            span.about(result)
            if not span.parent_id and not self.explicit_parent and self.verb != "create":
                parent = tracing.object_context(result)
                if parent is None:
                    return  # a pod created without tracing: nothing to join
                span.trace_id, span.parent_id = parent.trace_id, parent.span_id
            m = result["metadata"]
            ns = m.get("namespace", "")
            span.set(etcdKey=object_key(TRACED_RESOURCE, ns, m["name"]))
            if not span.attributes.get("dryRun"):
                span.wrote(m.get("resourceVersion"))
        if error is not None:
            if not span.parent_id and not self.explicit_parent and self.verb != "create":
                return  # an untraced pod's failed write
            span.fail(str(error))
            if isinstance(error, errors.APIError):
                span.set(errorReason=error.reason)  # Conflict: a lost compare-and-swap, retried
            if isinstance(error, errors.Invalid):
                span.set(validation=[str(c) for c in error.causes] or str(error))
        elif self.verb in ("create", "update"):
            span.set(validation="passed")
        span.end()


def _quiet(obj: dict) -> dict:
    m = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _NOISE}
    return {**obj, "metadata": m}


def traced(verb: str, *, resource: str = "", subresource: str = ""):
    """Wrap an API verb: a write to a pod becomes a span of the pod's trace (see the module doc)."""

    def wrap(fn: Callable) -> Callable:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def run(self, user, *args, **kwargs):
            target = resource or (args[0] if args else kwargs.get("resource"))
            if target != TRACED_RESOURCE or not tracing.TRACER.enabled or _request.get() is not None:
                return fn(self, user, *args, **kwargs)
            try:
                request = _begin(verb, subresource, signature.bind(self, user, *args, **kwargs).arguments)
            except Exception:  # noqa: BLE001 - tracing never fails a request; the verb judges the input
                log.exception("could not start tracing a %s request", verb)
                return fn(self, user, *args, **kwargs)
            token = _request.set(request)
            try:
                result = fn(self, user, *args, **kwargs)
            except Exception as e:
                _finish(request, None, e)
                raise
            finally:
                _request.reset(token)
            _finish(request, result, None)
            return result

        return run

    return wrap


def _finish(request: _RequestSpan, result, error) -> None:
    try:
        request.finish(result, error)
    except Exception:  # noqa: BLE001 - a span that cannot be finished is dropped, the answer stands
        log.exception("could not record the span of a %s request", request.verb)


def _begin(verb: str, subresource: str, arguments: dict) -> _RequestSpan:
    incoming = _incoming.get()
    parent = incoming.parent if incoming else None
    sub = subresource or arguments.get("subresource") or ("status" if arguments.get("status") else "")
    if verb == "modify":
        verb = arguments.get("verb", "update")
    obj = arguments.get("obj")
    user = arguments.get("user")
    # Without a caller's context a create starts a new trace; another write joins the pod's trace
    # once its annotation is known (finish).
    span = tracing.TRACER.start(f"{verb} pods{'/' + sub if sub else ''}", parent=parent)
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    name = arguments.get("name") or (metadata.get("name") if isinstance(metadata, dict) else "")
    namespace = arguments.get("namespace") or "default"
    span.object = f"{namespace}/{name}" if isinstance(name, str) and name else ""
    span.set(verb=verb, resource="pods" + (f"/{sub}" if sub else ""),
             user=getattr(user, "name", ""), groups=list(getattr(user, "groups", ()) or ()),
             authentication=incoming.authentication if incoming else "in-process",
             transport=incoming.transport if incoming else "in-process")
    if arguments.get("dry_run"):
        span.set(dryRun=True)
    if verb == "bind":
        span.set(node=arguments.get("node_name", ""))
    if verb == "create" and isinstance(metadata, dict) and isinstance(metadata.get("annotations") or {}, dict):
        # The pod carries its trace: later steps by other components (and processes) join it.
        # (Malformed metadata is left as it came, for validation to refuse.)
        metadata["annotations"] = {**(metadata.get("annotations") or {}), tracing.ANNOTATION: span.context.traceparent}
    return _RequestSpan(span, verb, "pods", parent is not None)
