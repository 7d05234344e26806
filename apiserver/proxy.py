"""The pods/log and pods/exec subresources: the apiserver relays them to the pod's kubelet.

As kube-apiserver does for ``/api/v1/namespaces/NS/pods/NAME/log`` and ``/exec``, a request is
authorized (``get pods/log``, ``create pods/exec``), the pod is read from storage, its container is
checked (or defaulted when the pod has exactly one), and the pod's node gives the kubelet's
address: the Node's ``status.addresses`` InternalIP and ``status.daemonEndpoints.kubeletEndpoint
.Port``. The kubelet's ``kubemu.v1.Kubelet`` gRPC service (proto/kubemu/v1/kubelet.proto) then
answers; its errors pass through unchanged, and an unreachable kubelet is ``Unavailable``
("error dialing backend"). The pod's uid travels along, so a pod recreated under the same name
is never confused with the one that was asked for.

Channels to kubelets are cached per address (bounded; the oldest is closed first).

Security (``--kubelet-client-certificate``/``--kubelet-client-key``/``--kubelet-certificate-authority``):
the apiserver dials kubelets over mutual TLS. It presents its kubelet-client identity
(``kube-apiserver-kubelet-client``, which RBAC binds to ``system:kubelet-api-admin``; the kubelet
asks the apiserver whether that user may ``create nodes/proxy`` … before it serves the call,
kubelet/auth.py) and checks the kubelet's serving certificate against the CA, expecting it to be
valid for the **node's name** — Kubernetes checks the dialled address instead; the name is the
node's identity whatever address it reports, and a certificate can be issued before the address is
known (``kubemu certs --node``). A kubelet whose certificate does not match, or that serves plain
gRPC, is unreachable ("error dialing backend"). Without those flags the channel is plain gRPC
(``kubemu up --insecure``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import grpc

from apiserver.dialer import ChannelCache
from apiserver.storage import KeyNotFound, object_key
from machinery import errors
from machinery.client import Credentials
from machinery.pb import api_pb2, kubelet_pb2_grpc
from machinery.resources import RESOURCES

log = logging.getLogger(__name__)

MAX_CHANNELS = 256
# A unary exec may run up to its own timeout; the call gets a little longer than that.
EXEC_DEADLINE_SLACK_S = 10.0
DEFAULT_EXEC_TIMEOUT_S = 60


def kubelet_address(node: dict) -> str:
    """``ip:port`` of the node's kubelet, from its status (InternalIP, then Hostname)."""
    status = node.get("status") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or [] if isinstance(a, dict)}
    host = addresses.get("InternalIP") or addresses.get("Hostname")
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    if not host or not isinstance(port, int) or port <= 0:
        name = (node.get("metadata") or {}).get("name", "")
        raise errors.Unavailable(f'error dialing backend: node "{name}" reports no kubelet address')
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_container(pod: dict, container: str) -> str:
    """The container the request means: the one named (init containers included), or the only one."""
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    apps = [c.get("name") for c in spec.get("containers") or [] if isinstance(c, dict)]
    inits = [c.get("name") for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    if not container:
        if len(apps) == 1:
            return apps[0]
        raise errors.BadRequest(f"a container name must be specified for pod {name}, choose one of: "
                                f"[{' '.join(apps)}]" + (f" or one of the init containers: [{' '.join(inits)}]"
                                                         if inits else ""))
    if container not in apps + inits:
        raise errors.BadRequest(f"container {container} is not valid for pod {name}")
    return container


class KubeletProxy:
    def __init__(self, api, credentials: Credentials | None = None, *, channels: ChannelCache | None = None):
        """``credentials``: the kubelet client certificate and the CA of kubelets' serving certificates
        (mutual TLS); None dials kubelets over plain gRPC. ``channels``: a cache shared with others."""
        self.api = api
        self.credentials = credentials
        self.channels = channels or ChannelCache(credentials, max_channels=MAX_CHANNELS)

    def _pod(self, namespace: str, name: str) -> dict:
        try:
            return self.api.storage.get(object_key("pods", namespace, name))
        except KeyNotFound:
            raise errors.NotFound(f'pods "{name}" not found', kind="pods", name=name) from None

    def _stub(self, pod: dict) -> kubelet_pb2_grpc.KubeletStub:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            raise errors.BadRequest(f"pod {pod['metadata']['name']} does not have a host assigned")
        try:
            node = self.api.storage.get(object_key("nodes", "", node_name))
        except KeyNotFound:
            raise errors.Unavailable(f'error dialing backend: node "{node_name}" not found') from None
        address = kubelet_address(node)
        return kubelet_pb2_grpc.KubeletStub(self.channels.get(address, node_name))

    def _prepare(self, user, verb: str, sub: str, request) -> tuple[dict, kubelet_pb2_grpc.KubeletStub]:
        self.api.authorize(user, verb, RESOURCES["pods"], request.namespace, request.name, subresource=sub)
        pod = self._pod(request.namespace, request.name)
        request.container = check_container(pod, request.container)
        request.pod_uid = pod["metadata"].get("uid", "")
        return pod, self._stub(pod)

    def check(self, user, verb: str, subresource: str, request) -> None:
        """Authorize and resolve the pod, container and kubelet of ``request`` without calling the
        kubelet: the REST server does this before it upgrades a connection for exec."""
        self._prepare(user, verb, subresource, request)

    def logs(self, user, request: api_pb2.PodLogsRequest, context: grpc.ServicerContext) -> Iterator[bytes]:
        """Authorize ``get pods/log`` and relay the kubelet's log stream; ends when the client goes."""
        _, stub = self._prepare(user, "get", "log", request)
        call = stub.ContainerLogs(request)
        context.add_callback(call.cancel)
        try:
            for chunk in call:
                yield chunk.data
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.CANCELLED and not context.is_active():
                return
            raise _backend_error(e) from None

    def exec(self, user, request: api_pb2.PodExecRequest) -> api_pb2.PodExecResponse:
        """Authorize ``create pods/exec`` and run the command through the kubelet."""
        _, stub = self._prepare(user, "create", "exec", request)
        timeout = request.timeout_seconds if request.timeout_seconds > 0 else DEFAULT_EXEC_TIMEOUT_S
        try:
            return stub.Exec(request, timeout=timeout + EXEC_DEADLINE_SLACK_S)
        except grpc.RpcError as e:
            raise _backend_error(e) from None

    def close(self) -> None:
        self.channels.close()


def _backend_error(e: grpc.RpcError) -> errors.APIError:
    if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNIMPLEMENTED):
        return errors.Unavailable(f"error dialing backend: {e.details() or e.code().name}")
    return errors.from_rpc_error(e)
