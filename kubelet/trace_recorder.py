"""The kubelet's steps in a pod's trace: from the watch delivering the pod to its status writes.

Spans join the pod's trace through its ``trace.kubemu.io/traceparent`` annotation and name the
node. Recorded steps:

- **watch delivered pod**: the moment this kubelet's informer first saw the pod (its revision:
  the renderer sets it against the bind that wrote it, giving the watch delay);
- **create sandbox**: the pod IP (host-local IPAM from the node's pod CIDR, a CNI plugin, or the
  node's IP with hostNetwork);
- **pull image** (or **image present**): image, pull policy, size and duration, or the error;
- **create container**: init or app container, its attempt (the restart count), or why the runtime
  refused (CreateContainerError);
- **start container**: init or app container, its pid, or why it did not start (StartError);
- **container ready**: a container's readiness turned true (the readiness probe passed, or it has
  none);
- **write status**: every status the kubelet stored — phase, conditions, the revision written;
  the apiserver's span of that write is its child.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from contextlib import contextmanager

from machinery import tracing

MAX_SEEN = 10000


class PodTracer:
    def __init__(self, node_name: str, tracer: tracing.Tracer | None = None):
        self.node = node_name
        self.tracer = tracer or tracing.TRACER
        self._seen: OrderedDict[str, None] = OrderedDict()  # pod uids already delivered
        self._ready: OrderedDict[str, set[str]] = OrderedDict()  # pod uid -> containers reported ready
        self._lock = threading.Lock()

    def _parent(self, pod: dict | None) -> tracing.SpanContext | None:
        return tracing.object_context(pod) if self.tracer.enabled else None

    def begin(self, pod: dict | None, name: str, *, start_ns: int | None = None, **attributes):
        """A span of ``pod``'s trace (not ended); a no-op span for an untraced pod."""
        parent = self._parent(pod)
        if parent is None:
            return tracing.NO_SPAN
        return self.tracer.start(name, parent=parent, obj=pod, start_ns=start_ns,
                                 attributes={"node": self.node, **attributes})

    @contextmanager
    def step(self, pod: dict | None, name: str, **attributes):
        span = self.begin(pod, name, **attributes)
        with tracing.activate(span):
            try:
                yield span
            except Exception as e:
                span.fail(str(e) or type(e).__name__)
                raise
            finally:
                span.end()

    # --- the steps --------------------------------------------------------------------------

    def delivered(self, pod: dict) -> None:
        """Informer add handler: the watch (or, after a restart, the list) handed the pod over."""
        uid = pod["metadata"].get("uid", "")
        with self._lock:
            if uid in self._seen:
                return
            self._seen[uid] = None
            while len(self._seen) > MAX_SEEN:
                self._seen.popitem(last=False)
        span = self.begin(pod, "watch delivered pod", phase=(pod.get("status") or {}).get("phase", ""))
        span.read(pod["metadata"].get("resourceVersion")).end(span.start_ns if span.recording else None)

    def sandbox(self, span, record, retry: float | None, how: str) -> None:
        if record.sandbox is not None:
            span.set(podIP=record.sandbox.ip, ipam=how)
        else:
            span.fail(f"no sandbox yet; retrying in {retry:.0f}s" if retry else "no sandbox")

    def image(self, pod: dict, image: str, policy: str, started_ns: int, *, result=None, error: str = "",
              present: bool = False) -> None:
        if present:
            span = self.begin(pod, "image present", image=image, pullPolicy=policy)
            span.end(span.start_ns if span.recording else None)
            return
        span = self.begin(pod, "pull image", start_ns=started_ns, image=image, pullPolicy=policy)
        if result is not None:
            span.set(sizeBytes=getattr(result, "size_bytes", 0))
        if error:
            span.fail(error)
        span.end()

    def container_created(self, pod: dict, name: str, state, started_ns: int, *, error: str = "") -> None:
        span = self.begin(pod, "create container", start_ns=started_ns, container=name, kind=_kind(pod, name),
                          attempt=getattr(state, "restart_count", None))
        if error:
            span.fail(error)
        span.end()

    def container_started(self, pod: dict, name: str, state, started_ns: int, *, error: str = "") -> None:
        span = self.begin(pod, "start container", start_ns=started_ns, container=name, kind=_kind(pod, name),
                          pid=getattr(state, "pid", None))
        if getattr(state, "state", "") == "terminated" and getattr(state, "reason", "") == "StartError":
            error = error or getattr(state, "message", "") or "failed to start container"
        if error:
            span.fail(error)
        span.end()

    def readiness(self, pod: dict, status: dict) -> None:
        """One **container ready** step per container whose readiness turned true since the last
        status this kubelet wrote."""
        if self._parent(pod) is None:
            return
        uid = pod["metadata"].get("uid", "")
        probes = {c.get("name"): c.get("readinessProbe") for c in (pod.get("spec") or {}).get("containers") or []
                  if isinstance(c, dict)}
        with self._lock:
            ready = self._ready.setdefault(uid, set())
            self._ready.move_to_end(uid)
            while len(self._ready) > MAX_SEEN:
                self._ready.popitem(last=False)
            turned = []
            for c in status.get("containerStatuses") or []:
                name = c.get("name")
                if c.get("ready") and name not in ready:
                    ready.add(name)
                    turned.append(name)
                elif not c.get("ready"):
                    ready.discard(name)
        for name in turned:
            probe = probes.get(name)
            span = self.begin(pod, "container ready", container=name,
                              readinessProbe=_probe(probe) if probe else "none: ready once started")
            span.end(span.start_ns if span.recording else None)

    def status_written(self, span, status: dict, updated: dict | None) -> None:
        if updated is None:
            return  # nothing changed: no write, no step
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        span.set(phase=status.get("phase", ""), conditions=conditions, podIP=status.get("podIP", ""),
                 containers={c.get("name"): _state(c) for c in status.get("containerStatuses") or []})
        span.wrote(updated["metadata"].get("resourceVersion")).end()


def now_ns() -> int:
    return time.time_ns()


def _kind(pod: dict, name: str) -> str:
    spec = pod.get("spec") or {}
    init = any(isinstance(c, dict) and c.get("name") == name for c in spec.get("initContainers") or [])
    return "init" if init else "app"


def _state(c: dict) -> str:
    state = c.get("state") or {}
    for kind in ("running", "terminated", "waiting"):
        if kind in state:
            reason = (state[kind] or {}).get("reason", "")
            return f"{kind}{f' ({reason})' if reason else ''}{', ready' if c.get('ready') else ''}"
    return "unknown"


def _probe(probe: dict) -> str:
    for kind in ("httpGet", "tcpSocket", "exec", "grpc"):
        if kind in probe:
            return f"{kind} {probe[kind]}"
    return str(probe)
