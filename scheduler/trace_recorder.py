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

The cycle details come from the cycle's :class:`~scheduler.framework.CycleResult`, the decision
the scheduler already keeps for ``explain-schedule``. The node list is a lazy attribute, built
only when the span is read (most never are), and cut at :data:`MAX_NODES` so a span stays small.
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

    def done(self, result, attempts: int | None = None) -> None:
        """Record the cycle's :class:`~scheduler.framework.CycleResult`. The per-node list is built
        only if the span is read (a lazy attribute), so a cycle pays for its trace very little."""
        if self.span is None or result is None:
            return
        self.recorded = True
        verdicts = result.verdicts
        self.span.set(profile=result.profile, selected=result.selected, weights=result.weights,
                      feasible=sum(1 for v in verdicts.values() if v.status.ok), evaluated=len(verdicts),
                      nodes=lambda: [_node(v) for _, v in sorted(verdicts.items())[:MAX_NODES]])
        if len(verdicts) > MAX_NODES:
            self.span.set(nodesOmitted=len(verdicts) - MAX_NODES)
        if attempts:
            self.span.set(attempt=attempts)
        if result.nominated_node:
            self.span.set(nominatedNode=result.nominated_node)
        if not result.selected:
            self.span.fail(result.failure_message() or "no node fits")
            self.owner._requeued(self.key)


def _node(v) -> dict:
    """One node's verdict (a :class:`~scheduler.framework.NodeVerdict`) as the span lists it."""
    out = {"node": v.node, "feasible": v.status.ok}
    if v.status.ok:
        out.update(scores=dict(v.scores), total=v.total)
    else:
        out.update(rejectedBy=v.status.plugin, reasons=list(v.status.reasons))
    return out
