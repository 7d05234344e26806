"""``kubemu trace pod NAME``: every step of a pod's life, as a timeline, a picture or JSON.

    kubemu trace pod nginx [-n NS]                 # terminal timeline, indented by component
    kubemu trace pod nginx --html trace.html       # a self-contained page: a swimlane per process
    kubemu trace pod nginx --json                  # for tools
    kubemu kubectl apply -f pod.yaml --trace       # apply, wait until Running, print the trace

(``kubemu kubectl trace …`` is the same command.) It needs only the apiserver: the CLI calls
``kubemu.v1.Component/Spans`` with ``gather`` on the first apiserver it reaches, which adds the
spans of the scheduler, the controller manager and the pod's kubelet (apiserver/trace_gather.py);
every other apiserver replica it knows is asked for its own spans too (each keeps the writes it
served). The spans are ordered by :mod:`kubemu.trace_view` and drawn by :mod:`kubemu.trace_html`.

With ``apply --trace`` the CLI is a traced process too: its **kubectl apply** step is the root of
the pod's trace (its create request carries the ``traceparent``), and **watch saw pod Running**
is the moment its watch delivered the pod Running. Those two steps exist only in this process,
so a later ``kubemu trace`` shows the cluster's steps without them. If the pod is not Running
within ``--trace-timeout`` the command says where it is stuck and why, and exits 1.
"""

from __future__ import annotations

import argparse
import getpass
import shutil
import sys
import time
from contextlib import contextmanager
from typing import Any, TextIO

import grpc

from machinery import errors, tracing
from machinery.client import make_channel
from machinery.pb import component_pb2, component_pb2_grpc

COMMAND = "trace"
GATHER_TIMEOUT_S = 20.0
DEFAULT_TRACE_TIMEOUT_S = 60.0
WORKLOADS = ("deployments", "replicasets", "statefulsets", "daemonsets", "jobs")


class TraceError(Exception):
    pass


def register(subparsers, *, parents: tuple[argparse.ArgumentParser, ...] = ()) -> None:
    p = subparsers.add_parser(COMMAND, parents=list(parents), help="Show every step of a pod's life",
                              description="Show every step of a pod's life, recorded by the processes that did "
                                          "them (docs/trace.md).")
    p.add_argument("kind", metavar="pod", help="the kind of object: pod")
    p.add_argument("name", help="the pod's name")
    add_output_flags(p)
    p.add_argument("--trace-id", default="", help="a trace id instead of the pod's newest trace")


def add_output_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--html", default="", metavar="FILE", help="write a self-contained HTML page (a swimlane per "
                                                              "process) to FILE")
    p.add_argument("--json", action="store_true", help="print the ordered steps as JSON")
    p.add_argument("--brief", action="store_true", help="one line per step, without the details that explain it")


def run(args: argparse.Namespace, client: Any, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    if args.kind not in ("pod", "pods", "po"):
        err.write(f'error: kubemu trace shows pods: use "kubemu trace pod NAME" (not "{args.kind}")\n')
        return 1
    namespace = args.namespace or "default"
    try:
        trace_id, spans, sources = gather(client, namespace, args.name, args.trace_id)
    except TraceError as e:
        err.write(f"error: {e}\n")
        return 1
    emit(spans, trace_id=trace_id, pod=f"{namespace}/{args.name}", sources=sources, args=args, out=out, err=err)
    return 0


def gather(client: Any, namespace: str, name: str, trace_id: str = "") -> tuple[str, list[dict], list[dict]]:
    """(trace id, spans, sources): the first reachable apiserver gathers from every component;
    any other apiserver replica adds the spans of the writes it served."""
    spans: dict[str, dict] = {}
    sources: list[dict] = []
    gathered = False
    last_error: Exception | None = None
    for endpoint in client.endpoints:
        channel = make_channel(endpoint, client.credentials)
        try:
            stub = component_pb2_grpc.ComponentStub(channel)
            request = component_pb2.SpansRequest(trace_id=trace_id, namespace=namespace, name=name,
                                                 gather=not gathered)
            answer = stub.Spans(request, metadata=client.metadata(), timeout=GATHER_TIMEOUT_S)
        except grpc.RpcError as e:
            error = errors.from_rpc_error(e)
            if isinstance(error, errors.NotFound | errors.Forbidden | errors.Unauthorized):
                raise TraceError(error.message) from None
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                error = errors.Unavailable("this apiserver does not serve trace spans (an older kubemu)")
            sources.append({"component": "apiserver", "address": endpoint, "error": error.message})
            last_error = error
            continue
        finally:
            channel.close()
        gathered = True
        trace_id = trace_id or answer.trace_id
        for s in answer.spans:
            spans.setdefault(s.span_id, tracing.from_proto(s))
        for s in answer.sources:
            if s.component == "apiserver" and s.address == "(this apiserver)":
                s.address = endpoint
            sources.append({"component": s.component, "identity": s.identity, "address": s.address,
                            "spans": s.spans, "error": s.error})
    if not gathered:
        raise TraceError(f"no apiserver answered: {last_error}")
    return trace_id, list(spans.values()), sources


def emit(spans: list[dict], *, trace_id: str, pod: str, sources: list[dict], args: argparse.Namespace,
         out: TextIO, err: TextIO) -> None:
    from kubemu import trace_view

    timeline = trace_view.build(spans, trace_id=trace_id, pod=pod, sources=sources)
    if args.html:
        from kubemu.trace_html import render_html

        with open(args.html, "w", encoding="utf-8") as f:
            f.write(render_html(timeline))
        err.write(f"wrote {args.html}: {len(timeline.steps)} steps in {len(timeline.lanes)} swimlanes\n")
    if args.json:
        out.write(trace_view.to_json(timeline))
    else:
        width = shutil.get_terminal_size((0, 0)).columns if out.isatty() else 0
        out.write(trace_view.render_text(timeline, width=width, brief=getattr(args, "brief", False)))


# --- kubectl apply --trace -------------------------------------------------------------------------


class ApplyTrace:
    """``apply --trace``: the CLI's own steps, then waiting for Running, then the whole trace."""

    def __init__(self, client: Any, timeout_s: float = DEFAULT_TRACE_TIMEOUT_S):
        self.client = client
        self.timeout_s = timeout_s
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = ""
        self.tracer = tracing.Tracer("kubectl", user, capacity=256)

    @contextmanager
    def applying(self, info, obj: dict, namespace: str, source: str):
        """The **kubectl apply** step: the root of a new pod's trace (its create carries the
        traceparent), or a step of an existing pod's trace."""
        m = obj.get("metadata") or {}
        parent = None
        if info.name == "pods" and m.get("name"):
            try:
                parent = tracing.object_context(self.client.get("pods", m["name"], namespace))
            except errors.NotFound:
                parent = None
        with self.tracer.span("kubectl apply", parent=parent, trace_id="" if parent else tracing.new_trace_id(),
                              attributes={"file": source, "kind": info.kind, "name": m.get("name", "")}) as span:
            yield span

    def follow(self, info, applied: dict, result: dict, namespace: str, *, out: TextIO, err: TextIO,
               args: argparse.Namespace) -> int:
        deadline = time.monotonic() + self.timeout_s
        if info.name == "pods":
            name = result["metadata"]["name"]
        elif info.name in WORKLOADS:
            name = self._first_pod(result, namespace, deadline)
            if not name:
                err.write(f"{info.kind.lower()}/{result['metadata']['name']}: no pod appeared within "
                          f"{self.timeout_s:.0f}s: nothing to trace\n")
                return 1
        else:
            return 0
        pod, seen = self._wait_running(namespace, name, deadline)
        try:
            trace_id, spans, sources = gather(self.client, namespace, name)
        except TraceError as e:
            err.write(f"error: cannot gather the trace of pod {namespace}/{name}: {e}\n")
            return 1
        spans += [s.to_dict() for s in self.tracer.spans(trace_id=trace_id)]
        if seen is not None:
            spans.append(seen.to_dict())
        emit(spans, trace_id=trace_id, pod=f"{namespace}/{name}", sources=sources, args=args, out=out, err=err)
        if seen is None:
            err.write(f"pod {namespace}/{name} is not Running after {self.timeout_s:.0f}s: {stuck_reason(pod)}\n")
            return 1
        return 0

    def _first_pod(self, workload: dict, namespace: str, deadline: float) -> str:
        labels = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        if not selector:
            return ""
        while time.monotonic() < deadline:
            pods = self.client.list("pods", namespace, label_selector=selector).items
            if pods:
                pods.sort(key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)
                return pods[0]["metadata"]["name"]
            time.sleep(0.25)
        return ""

    def _wait_running(self, namespace: str, name: str, deadline: float):
        """(latest pod, the **watch saw pod Running** span or None on timeout)."""
        started = time.time_ns()
        pod = None
        while time.monotonic() < deadline:
            try:
                pod = self.client.get("pods", name, namespace)
            except errors.NotFound:
                time.sleep(0.25)
                continue
            if _phase(pod) == "Running":
                return pod, self._seen(pod, started)
            if _phase(pod) in ("Succeeded", "Failed"):
                return pod, None
            remaining = int(deadline - time.monotonic()) + 1
            watch = self.client.watch("pods", namespace, resource_version=pod["metadata"]["resourceVersion"],
                                      field_selector=f"metadata.name={name}", timeout_s=remaining, bookmarks=False)
            try:
                for event in watch:
                    if event.type == "DELETED":
                        return event.object, None
                    pod = event.object
                    if _phase(pod) == "Running":
                        return pod, self._seen(pod, started)
                    if _phase(pod) in ("Succeeded", "Failed"):
                        return pod, None
            except errors.APIError:
                time.sleep(0.25)  # the watch broke (apiserver restart, compaction): read again
            finally:
                watch.cancel()
        return pod, None

    def _seen(self, pod: dict, started_ns: int):
        parent = tracing.object_context(pod)
        waited_ms = (time.time_ns() - started_ns) // 1_000_000
        span = self.tracer.event("watch saw pod Running", parent=parent, obj=pod,
                                 attributes={"phase": "Running", "waitedMs": waited_ms})
        return span.read(pod["metadata"].get("resourceVersion"))


def _phase(pod: dict | None) -> str:
    return ((pod or {}).get("status") or {}).get("phase", "")


def stuck_reason(pod: dict | None) -> str:
    """Where a pod that is not Running waits, and why, from its status."""
    if pod is None:
        return "it does not exist"
    status = pod.get("status") or {}
    scheduled = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
    if not (pod.get("spec") or {}).get("nodeName"):
        if scheduled and scheduled.get("status") == "False":
            return f"waiting for the scheduler: {scheduled.get('reason', '')}: {scheduled.get('message', '')}"
        return "waiting for the scheduler to pick a node"
    for c in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (c.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason") not in (None, "PodInitializing"):
            return (f"on node {pod['spec']['nodeName']}, container {c.get('name')} is waiting: "
                    f"{waiting.get('reason')}" + (f": {waiting['message']}" if waiting.get("message") else ""))
    phase = status.get("phase") or "Pending"
    return f"on node {pod['spec']['nodeName']}, phase {phase}" + (
        f": {status['reason']}: {status.get('message', '')}" if status.get("reason") else "")
