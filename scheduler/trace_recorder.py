"""The scheduler's steps in a pod's trace: waiting in the queue, each scheduling cycle, the bind.

Spans join the pod's trace through its ``trace.kubemu.io/traceparent`` annotation:

- **scheduling queue**: from when the informer handed the pod to the queue (or the last attempt
  sent it back there) until a cycle popped it;
- **schedule**: one cycle — every node with the filter plugin that rejected it and why, or its
  normalized score per plugin and weighted total, the chosen node; a failed cycle carries
  kube-scheduler's message (``0/3 nodes are available: …``) as its error, and the pod's
  ``PodScheduled=False`` status write is its child;
- **bind**: PreBind, Bind (the ``pods/binding`` call, whose apiserver span is its child) and
  PostBind, on the binding thread pool.

The cycle details are the decision the scheduler already keeps for ``explain-schedule``; nothing
is computed twice. Node lists are cut at :data:`MAX_NODES` so a span stays small.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager

from machinery import tracing

MAX_NODES = 50
MAX_QUEUED = 10000


class SchedulingTracer:
    def __init__(self, tracer: tracing.Tracer | None = None):
        self.tracer = tracer or tracing.TRACER
        self._queued: OrderedDict[str, int] = OrderedDict()  # pod key -> wall time it (re)entered the queue
        self._lock = threading.Lock()

    def enqueued(self, key: str) -> None:
        """The pod entered the queue now (a later re-add keeps the first time)."""
        if not self.tracer.enabled:
            return
        with self._lock:
            if key not in self._queued:
                self._queued[key] = time.time_ns()
                while len(self._queued) > MAX_QUEUED:
                    self._queued.popitem(last=False)

    def _requeued(self, key: str) -> None:
        with self._lock:
            self._queued[key] = time.time_ns()
            self._queued.move_to_end(key)

    @contextmanager
    def cycle(self, key: str, pod: dict | None):
        """Around one ``schedule_one``: ``cycle.done(result, decision)`` records it (a skipped pod is
        not recorded); the cycle's API calls carry its traceparent."""
        parent = tracing.object_context(pod) if self.tracer.enabled else None
        if parent is None:
            yield _Cycle(None, key, self)
            return
        now = time.time_ns()
        with self._lock:
            queued_at = self._queued.pop(key, None)
        if queued_at is not None and queued_at <= now:
            self.tracer.start("scheduling queue", parent=parent, start_ns=queued_at, obj=pod,
                              attributes={"wait": "until a scheduling cycle popped the pod"}).read(
                pod["metadata"].get("resourceVersion")).end(now)
        span = self.tracer.start("schedule", parent=parent, obj=pod).read(pod["metadata"].get("resourceVersion"))
        cycle = _Cycle(span, key, self)
        with tracing.activate(span):
            yield cycle
        if cycle.recorded:
            span.end()

    def binding(self, bind: Callable, pod: dict, node: str) -> Callable:
        """``bind`` wrapped to run as the **bind** step, a child of the current (schedule) span."""
        run = tracing.in_current_context(self._bind_step)
        return lambda *args: run(bind, pod, node, *args)

    def _bind_step(self, bind: Callable, pod: dict, node: str, *args):
        current = tracing.current_span()
        if current is None:
            return bind(*args)
        with self.tracer.span("bind", obj=pod, attributes={"node": node}) as span:
            status = bind(*args)
            if status is not None and not getattr(status, "ok", True):
                span.fail(getattr(status, "message", "") or "binding failed")
            return status


class _Cycle:
    def __init__(self, span, key: str, owner: SchedulingTracer):
        self.span, self.key, self.owner = span, key, owner
        self.recorded = False

    def done(self, result, decision: dict | Callable[[], dict | None] | None) -> None:
        """Record the cycle's ``decision`` (or a function returning it, called only when traced)."""
        if self.span is None or result is None:
            return
        self.recorded = True
        d = (decision() if callable(decision) else decision) or {}
        nodes = d.get("nodes") or []
        omitted = d.get("nodesOmitted", max(0, len(nodes) - MAX_NODES))
        self.span.set(profile=d.get("profile", ""), selected=d.get("selected", ""), weights=d.get("weights", {}),
                      feasible=d.get("feasibleCount", sum(1 for n in nodes if n.get("feasible"))),
                      evaluated=d.get("evaluatedCount", len(nodes)), nodes=[_node(n) for n in nodes[:MAX_NODES]])
        if omitted:
            self.span.set(nodesOmitted=omitted)
        if d.get("attempts"):
            self.span.set(attempt=d["attempts"])
        if d.get("nominatedNode"):
            self.span.set(nominatedNode=d["nominatedNode"])
        if not d.get("selected"):
            self.span.fail(d.get("message") or "no node fits")
            self.owner._requeued(self.key)


def _node(n: dict) -> dict:
    out = {"node": n.get("node", ""), "feasible": bool(n.get("feasible"))}
    if n.get("feasible"):
        out.update(scores=n.get("scores") or {}, total=n.get("total", 0))
    else:
        out.update(rejectedBy=n.get("rejectedBy", ""), reasons=n.get("reasons") or [])
    return out
