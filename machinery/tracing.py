"""Tracing: every step of a pod's life, recorded by the process that did it (``kubemu trace``).

A *span* is one step (admission, a scheduling cycle, an image pull …) with its wall-clock start,
its duration, the etcd revision it read or wrote, and attributes that explain it. Spans of one
pod share a *trace id*; each names its parent span, so steps done by different processes on
different machines join one tree. docs/trace.md describes the whole design.

Propagation follows W3C Trace Context: a ``traceparent`` value
``00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`` travels

- in gRPC metadata (key ``traceparent``): :meth:`machinery.client.APIClient.metadata` adds the
  current span's context to every call, so the apiserver's span for a write is the child of the
  caller's step;
- on the object, in the annotation ``trace.kubemu.io/traceparent`` that the apiserver sets when
  it creates a pod: the scheduler, the kubelet and controllers read it later and join the trace.

Recording is cheap and never blocks: a finished span is appended to a bounded ring buffer
(:class:`Tracer`, ``--trace-buffer-spans``, oldest dropped first) and offered to the optional
OTLP exporter's bounded queue. Nothing is written to etcd. The ring buffer is read through the
``kubemu.v1.Component/Spans`` RPC that every component serves (:func:`local_spans`). With
``--tracing=false`` :meth:`Tracer.start` returns a span that records nothing.

The current span lives in a :mod:`contextvars` variable, set by :meth:`Tracer.span` /
:func:`activate` for the code it wraps (one thread). Work handed to a thread pool carries it
along with :func:`in_current_context`.
"""

from __future__ import annotations

import argparse
import contextvars
import functools
import json
import logging
import os
import random
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)

TRACEPARENT_HEADER = "traceparent"
# Where a pod keeps its trace context, so components that act on it later join its trace.
ANNOTATION = "trace.kubemu.io/traceparent"
DEFAULT_CAPACITY = 4096
# One attribute value is cut to this many characters (a span must stay small in the ring buffer).
MAX_ATTRIBUTE_CHARS = 4000

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


@dataclass(frozen=True)
class SpanContext:
    """What crosses process boundaries: the trace and the span to hang children from."""

    trace_id: str
    span_id: str
    sampled: bool = True

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"


def parse_traceparent(value: str | None) -> SpanContext | None:
    """A W3C ``traceparent`` value, or None when it is absent or malformed (then a new trace starts,
    as the spec asks of a receiver that cannot parse it)."""
    if not value or not isinstance(value, str):
        return None
    m = _TRACEPARENT.match(value.strip().lower())
    if not m:
        return None
    version, trace_id, span_id, flags, rest = m.groups()
    if version == "ff" or (version == "00" and rest) or set(trace_id) == {"0"} or set(span_id) == {"0"}:
        return None
    return SpanContext(trace_id, span_id, bool(int(flags, 16) & 1))


# Ids need to be unique, not secret: a PRNG seeded from the OS is ~20x cheaper than a getrandom
# system call per span (which dominated the cost of recording one).
_ids = random.Random(os.urandom(16))


def new_trace_id() -> str:
    return f"{_ids.getrandbits(128) or 1:032x}"


def new_span_id() -> str:
    return f"{_ids.getrandbits(64) or 1:016x}"


def object_context(obj: dict | None) -> SpanContext | None:
    """The trace context an object carries in its annotation, if any."""
    annotations = ((obj or {}).get("metadata") or {}).get("annotations")
    return parse_traceparent(annotations.get(ANNOTATION)) if isinstance(annotations, dict) else None


def object_key(obj: dict | None) -> tuple[str, str]:
    """``("namespace/name", uid)`` of an object, for the span's object fields."""
    m = (obj or {}).get("metadata") or {}
    name = m.get("name", "")
    return (f"{m.get('namespace', '')}/{name}" if name else ""), str(m.get("uid", "") or "")


def _cap(value):
    """Attribute values stay JSON and small: long strings are cut, odd types become strings. A
    callable is called first: an attribute that is costly to build (the scheduler's per-node
    verdicts) is built only if the span is ever read."""
    if callable(value):
        value = value()
    if isinstance(value, str):
        return value if len(value) <= MAX_ATTRIBUTE_CHARS else value[:MAX_ATTRIBUTE_CHARS] + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): _cap(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cap(v) for v in value]
    return _cap(str(value))


class Span:
    """One step being recorded; :meth:`end` puts it in its tracer's ring buffer."""

    __slots__ = ("tracer", "name", "trace_id", "span_id", "parent_id", "start_ns", "_mono", "duration_ns",
                 "object", "uid", "attributes", "error", "read_revision", "write_revision", "_ended")

    def __init__(self, tracer: Tracer, name: str, trace_id: str, parent_id: str, *, start_ns: int | None = None,
                 obj: str = "", uid: str = "", attributes: dict | None = None):
        self.tracer = tracer
        self.name = name
        self.trace_id, self.span_id, self.parent_id = trace_id, new_span_id(), parent_id
        now_ns = time.time_ns()
        self.start_ns = now_ns if start_ns is None else start_ns
        # Durations come from the monotonic clock; a start given in the past is measured from there.
        self._mono = time.monotonic_ns() - (now_ns - self.start_ns)
        self.duration_ns = 0
        self.object, self.uid = obj, uid
        self.attributes: dict = dict(attributes or {})
        self.error = ""
        self.read_revision = self.write_revision = 0
        self._ended = False

    @property
    def recording(self) -> bool:
        return True

    @property
    def context(self) -> SpanContext | None:
        return SpanContext(self.trace_id, self.span_id)

    def set(self, **attributes) -> Span:
        self.attributes.update(attributes)
        return self

    def about(self, obj: dict | None) -> Span:
        """Name the pod this step is about (its namespace/name and uid)."""
        key, uid = object_key(obj)
        self.object, self.uid = key or self.object, uid or self.uid
        return self

    def read(self, revision) -> Span:
        self.read_revision = _revision(revision) or self.read_revision
        return self

    def wrote(self, revision) -> Span:
        self.write_revision = _revision(revision) or self.write_revision
        return self

    def fail(self, message: str) -> Span:
        self.error = str(message)
        return self

    def end(self, end_ns: int | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        elapsed = time.monotonic_ns() - self._mono
        self.duration_ns = max(0, elapsed if end_ns is None else end_ns - self.start_ns)
        self.tracer.record(self)

    def to_dict(self) -> dict:
        t = self.tracer
        return {"traceId": self.trace_id, "spanId": self.span_id, "parentSpanId": self.parent_id, "name": self.name,
                "component": t.component, "identity": t.identity, "host": t.host, "pid": t.pid,
                "startUnixNanos": self.start_ns, "durationNanos": self.duration_ns,
                "readRevision": self.read_revision, "writeRevision": self.write_revision, "object": self.object,
                "objectUid": self.uid, "error": self.error, "attributes": _cap(self.attributes)}


class _NoSpan:
    """What a switched-off tracer hands out: every method accepts its arguments and does nothing."""

    recording = False
    context = None
    name = trace_id = span_id = parent_id = object = uid = error = ""
    attributes: dict = {}

    def set(self, **_):
        return self

    def about(self, _):
        return self

    def read(self, _):
        return self

    def wrote(self, _):
        return self

    def fail(self, _):
        return self

    def end(self, end_ns: int | None = None) -> None:
        pass


NO_SPAN = _NoSpan()


def _revision(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


_current: contextvars.ContextVar[Span | None] = contextvars.ContextVar("kubemu_span", default=None)


def current_span() -> Span | None:
    return _current.get()


@contextmanager
def activate(span) -> Iterator:
    """Make ``span`` the current one (calls made meanwhile carry its traceparent); not ended here."""
    if not getattr(span, "recording", False):
        yield span
        return
    token = _current.set(span)
    try:
        yield span
    finally:
        _current.reset(token)


def outgoing_metadata() -> list[tuple[str, str]]:
    """The gRPC metadata that makes the callee's step a child of the current span."""
    span = _current.get()
    return [(TRACEPARENT_HEADER, span.context.traceparent)] if span is not None else []


def incoming_context(metadata) -> SpanContext | None:
    """The caller's trace context from gRPC invocation metadata (pairs), if it sent one."""
    for key, value in metadata or ():
        if key == TRACEPARENT_HEADER:
            return parse_traceparent(value)
    return None


def in_current_context(fn: Callable) -> Callable:
    """``fn`` bound to the caller's context (current span included), for a thread pool."""
    ctx = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args, **kwargs):
        return ctx.run(fn, *args, **kwargs)

    return run


class Tracer:
    """A process's span recorder: a bounded ring buffer of finished spans.

    ``component`` and ``identity`` name the process on every span (its swimlane in the picture).
    """

    def __init__(self, component: str = "", identity: str = "", *, capacity: int = DEFAULT_CAPACITY,
                 enabled: bool = True, host: str = ""):
        self.component, self.identity = component, identity
        self.host = host or socket.gethostname()
        self.pid = os.getpid()
        self.enabled = enabled and capacity > 0
        self._spans: deque[Span] = deque(maxlen=max(1, capacity))
        self._lock = threading.Lock()
        self.exporter = None  # an object with offer(span): machinery.otlp.OTLPExporter
        self.recorded = 0

    def configure(self, component: str, identity: str, *, capacity: int = DEFAULT_CAPACITY,
                  enabled: bool = True) -> Tracer:
        with self._lock:
            self.component, self.identity = component, identity
            self.pid = os.getpid()
            self.enabled = enabled and capacity > 0
            self._spans = deque(self._spans, maxlen=max(1, capacity))
        return self

    # --- recording ------------------------------------------------------------------------

    def start(self, name: str, *, parent: SpanContext | None = None, trace_id: str = "",
              start_ns: int | None = None, obj: dict | None = None, attributes: dict | None = None):
        """A new span: the child of ``parent`` (or of the current span), else the root of ``trace_id``
        or of a new trace. ``obj``: the pod the step is about."""
        if not self.enabled:
            return NO_SPAN
        if parent is None and not trace_id:
            current = _current.get()
            parent = current.context if current is not None else None
        span = Span(self, name, parent.trace_id if parent else (trace_id or new_trace_id()),
                    parent.span_id if parent else "", start_ns=start_ns, attributes=attributes)
        if obj is not None:
            span.about(obj)
        return span

    @contextmanager
    def span(self, name: str, **kwargs) -> Iterator:
        """Start a span, make it current for the block, and end it (an exception is its error)."""
        span = self.start(name, **kwargs)
        with activate(span):
            try:
                yield span
            except Exception as e:
                if not span.error:
                    span.fail(str(e) or type(e).__name__)
                raise
            finally:
                span.end()

    def event(self, name: str, *, at_ns: int | None = None, **kwargs):
        """A step without duration (something observed at one moment), recorded at once."""
        span = self.start(name, start_ns=at_ns, **kwargs)
        span.end(span.start_ns if span.recording else None)
        return span

    def record(self, span: Span) -> None:
        with self._lock:
            self._spans.append(span)
            self.recorded += 1
        exporter = self.exporter
        if exporter is not None:
            exporter.offer(span)

    # --- reading --------------------------------------------------------------------------

    def spans(self, *, trace_id: str = "", obj: str = "") -> list[Span]:
        with self._lock:
            spans = list(self._spans)
        return [s for s in spans if (not trace_id or s.trace_id == trace_id) and (not obj or s.object == obj)]

    def latest_trace_of(self, obj: str) -> str:
        """The trace id of the newest span about ``obj`` ("namespace/name"), or ""."""
        with self._lock:
            spans = list(self._spans)
        for span in reversed(spans):
            if span.object == obj:
                return span.trace_id
        return ""

    def stats(self) -> dict:
        with self._lock:
            return {"enabled": self.enabled, "buffered": len(self._spans), "capacity": self._spans.maxlen,
                    "recorded": self.recorded}


# The process's tracer: each component's main() configures it (configure_from_args).
TRACER = Tracer()


def tracer() -> Tracer:
    return TRACER


# --- flags ----------------------------------------------------------------------------------


def add_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("tracing (docs/trace.md)")
    g.add_argument("--tracing", default=True, action=argparse.BooleanOptionalAction,
                   help="record the steps of pods' lives as trace spans for kubemu trace (default true)")
    g.add_argument("--trace-buffer-spans", type=int, default=DEFAULT_CAPACITY,
                   help="spans kept in memory for kubemu trace; the oldest are dropped first")
    g.add_argument("--otlp-endpoint", default="",
                   help="also export spans over OTLP/HTTP (JSON) to this collector, e.g. http://jaeger:4318 "
                        "(default off)")


def configure_from_args(args: argparse.Namespace, component: str, identity: str) -> Tracer:
    TRACER.configure(component, identity, capacity=args.trace_buffer_spans, enabled=args.tracing)
    if args.tracing and args.otlp_endpoint:
        from machinery.otlp import OTLPExporter

        TRACER.exporter = OTLPExporter(args.otlp_endpoint, service=f"kubemu-{component}")
        TRACER.exporter.start()
    return TRACER


# --- the Spans RPC ----------------------------------------------------------------------------


def to_proto(span: Span):
    from machinery.pb import component_pb2

    d = span.to_dict()
    return component_pb2.Span(
        trace_id=d["traceId"], span_id=d["spanId"], parent_span_id=d["parentSpanId"], name=d["name"],
        component=d["component"], identity=d["identity"], host=d["host"], pid=d["pid"],
        start_unix_nanos=d["startUnixNanos"], duration_nanos=d["durationNanos"], read_revision=d["readRevision"],
        write_revision=d["writeRevision"], object=d["object"], object_uid=d["objectUid"], error=d["error"],
        attributes=json.dumps(d["attributes"], separators=(",", ":"), default=str).encode())


def from_proto(msg) -> dict:
    """A Span message as the dict :meth:`Span.to_dict` makes (what the CLI renders)."""
    try:
        attributes = json.loads(msg.attributes) if msg.attributes else {}
    except ValueError:
        attributes = {}
    return {"traceId": msg.trace_id, "spanId": msg.span_id, "parentSpanId": msg.parent_span_id, "name": msg.name,
            "component": msg.component, "identity": msg.identity, "host": msg.host, "pid": msg.pid,
            "startUnixNanos": msg.start_unix_nanos, "durationNanos": msg.duration_nanos,
            "readRevision": msg.read_revision, "writeRevision": msg.write_revision, "object": msg.object,
            "objectUid": msg.object_uid, "error": msg.error, "attributes": attributes}


def local_spans(request, tracer_: Tracer | None = None):
    """This process's answer to ``Component/Spans``: its buffered spans of the trace (or of the
    newest trace about the named pod)."""
    from machinery.pb import component_pb2

    t = tracer_ or TRACER
    trace_id = request.trace_id
    if not trace_id and request.name:
        trace_id = t.latest_trace_of(f"{request.namespace or 'default'}/{request.name}")
    spans = t.spans(trace_id=trace_id) if trace_id else []
    return component_pb2.SpansResponse(trace_id=trace_id, spans=[to_proto(s) for s in spans])
