"""The apiserver's ``Component/Spans``: its own spans of a trace, and — with ``gather`` — those of
every other process that took part, so ``kubemu trace`` needs only the apiserver's address.

Each component keeps its spans in memory and serves them on its own gRPC port; the apiserver
knows where they are without any registry of its own:

- the **scheduler** and the **controller manager**: the address their leader advertised in its
  Lease (``kube-system/kube-scheduler``, ``kube-system/kube-controller-manager``, see
  :mod:`machinery.lease_address`);
- the **kubelet** of the pod's node (and of any node the trace's bind steps name): the Node's
  InternalIP and ``status.daemonEndpoints.kubeletEndpoint.Port``, as for ``pods/log``.

The caller must be allowed to ``get`` the pod (or ``list`` pods in every namespace to ask by trace
id alone). Sources are asked in parallel with a short deadline; one that does not answer is
named in the response's ``sources`` with the reason, and the others still count. Spans are merged
by span id (an apiserver replica asked twice is harmless).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import grpc

from apiserver.dialer import ChannelCache
from apiserver.proxy import kubelet_address
from apiserver.storage import KeyNotFound, object_key
from machinery import errors, lease_address, tracing
from machinery.client import Credentials
from machinery.pb import component_pb2, component_pb2_grpc
from machinery.resources import RESOURCES

log = logging.getLogger(__name__)

SOURCE_TIMEOUT_S = 3.0
MAX_CHANNELS = 64
MAX_KUBELETS = 16
LEASE_NAMESPACE = "kube-system"
LEASES = (("scheduler", lease_address.SCHEDULER_LEASE, lease_address.SCHEDULER_PREFIX),
          ("controller-manager", lease_address.CONTROLLER_MANAGER_LEASE, lease_address.CONTROLLER_MANAGER_PREFIX))


class SpanGatherer:
    """``spans(request, context)`` for the apiserver's Component service."""

    def __init__(self, api, authenticator, *, tracer: tracing.Tracer | None = None,
                 timeout_s: float = SOURCE_TIMEOUT_S, credentials: Credentials | None = None,
                 channels: ChannelCache | None = None):
        """``credentials``: the apiserver's kubelet client certificate and the cluster CA. The
        scheduler's, controller manager's and kubelets' ports serve TLS in a secured cluster, and
        a kubelet answers only callers the apiserver authorizes (``nodes/proxy``), as for logs."""
        self.api = api
        self.authenticator = authenticator
        self.channels = channels or ChannelCache(credentials, max_channels=MAX_CHANNELS)
        self.tracer = tracer or tracing.TRACER
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="trace-gather")

    def __call__(self, request, context) -> component_pb2.SpansResponse:
        user = self.authenticator.authenticate(context)
        namespace = request.namespace or "default"
        pods = RESOURCES["pods"]
        if request.name:
            self.api.authorize(user, "get", pods, namespace, request.name)
        else:
            self.api.authorize(user, "list", pods)
        pod = self._stored("pods", namespace, request.name) if request.name else None
        trace_id = request.trace_id
        if not trace_id and pod is not None:
            ctx = tracing.object_context(pod)
            trace_id = ctx.trace_id if ctx else ""
        if not trace_id and request.name:
            # A pod refused at creation, or gone: its newest trace in this apiserver's memory.
            trace_id = self.tracer.latest_trace_of(f"{namespace}/{request.name}")
        if not trace_id:
            why = ("it was created with tracing off" if pod is not None else
                   "it does not exist, and this apiserver remembers no step about that name")
            raise errors.NotFound(f'no trace of pod "{request.name}" in namespace "{namespace}": {why}',
                                  kind="pods", name=request.name)
        own = self.tracer.spans(trace_id=trace_id)
        spans = {s.span_id: tracing.to_proto(s) for s in own}
        sources = [component_pb2.SpanSource(component="apiserver", identity=self.tracer.identity,
                                            address="(this apiserver)", spans=len(own))]
        if request.gather:
            for source, answer in self._gather(trace_id, pod, own):
                sources.append(source)
                for span in answer:
                    spans.setdefault(span.span_id, span)
        return component_pb2.SpansResponse(trace_id=trace_id, spans=list(spans.values()), sources=sources)

    # --- where the others are ---------------------------------------------------------------

    def _stored(self, resource: str, namespace: str, name: str) -> dict | None:
        try:
            return self.api.storage.get(object_key(resource, namespace, name))
        except KeyNotFound:
            return None
        except errors.APIError:
            return None

    def _targets(self, pod: dict | None, own: list) -> list[tuple[component_pb2.SpanSource, str]]:
        targets = []
        for component, lease_name, prefix in LEASES:
            lease = self._stored("leases", LEASE_NAMESPACE, lease_name)
            address, holder = lease_address.leader_address(lease or {}, prefix)
            source = component_pb2.SpanSource(component=component, identity=holder, address=address)
            if not address:
                source.error = (f"no leader has advertised its address in lease {LEASE_NAMESPACE}/{lease_name}"
                                if lease else f"no lease {LEASE_NAMESPACE}/{lease_name}: is it running?")
            targets.append((source, address))
        nodes = []
        node_of_pod = ((pod or {}).get("spec") or {}).get("nodeName")
        if node_of_pod:
            nodes.append(node_of_pod)
        for span in own:
            node = span.attributes.get("node")
            if isinstance(node, str) and node and node not in nodes:
                nodes.append(node)
        for name in nodes[:MAX_KUBELETS]:
            source = component_pb2.SpanSource(component="kubelet", identity=name)
            node = self._stored("nodes", "", name)
            address = ""
            if node is None:
                source.error = f'node "{name}" not found'
            else:
                try:
                    address = kubelet_address(node)
                except errors.APIError as e:
                    source.error = e.message
            source.address = address
            targets.append((source, address))
        return targets

    def _gather(self, trace_id: str, pod: dict | None, own: list):
        targets = self._targets(pod, own)
        # A kubelet's serving certificate names its node; the others name their component and host.
        futures = [(source, self._pool.submit(self._ask, address, trace_id,
                                              source.identity if source.component == "kubelet" else "")
                    if address else None)
                   for source, address in targets]
        for source, future in futures:
            if future is None:
                yield source, []
                continue
            try:
                answer = future.result(timeout=self.timeout_s + 1)
            except Exception as e:  # noqa: BLE001 - one silent source must not spoil the rest
                source.error = _reason(e)
                yield source, []
                continue
            source.spans = len(answer.spans)
            if answer.spans:
                first = answer.spans[0]
                source.identity = source.identity or first.identity
            yield source, answer.spans

    def _ask(self, address: str, trace_id: str, server_name: str = "") -> component_pb2.SpansResponse:
        channel = self.channels.get(address, server_name)
        stub = component_pb2_grpc.ComponentStub(channel)
        return stub.Spans(component_pb2.SpansRequest(trace_id=trace_id), timeout=self.timeout_s)


def _reason(e: Exception) -> str:
    if isinstance(e, grpc.RpcError):
        return f"{e.code().name}: {e.details() or ''}".rstrip(": ")
    return str(e) or type(e).__name__
