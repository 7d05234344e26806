"""The kubelet's gRPC service (proto/kubemu/v1/kubelet.proto): container logs, exec, usage stats.

It serves on the kubelet's port next to Health and Component/Describe; the apiserver relays
``pods/log`` and ``pods/exec`` to it (apiserver/proxy.py), as kube-apiserver does to the kubelet's
``/containerLogs`` and ``/exec`` endpoints. Handlers are thin: find the pod among those this
kubelet runs, pick the container the way the API does (the only one, or the one named), then
read the log files (kubelet/logs.py) or call the runtime. Errors are :mod:`machinery.errors`
exceptions with the messages kube-apiserver gives for the same situations.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import grpc

from kubelet import logs
from kubelet.resources import memory_limit
from kubelet.runtime.base import ContainerRuntimeError, PodSandbox
from machinery import errors, meta
from machinery.pb import api_pb2, kubelet_pb2, kubelet_pb2_grpc

log = logging.getLogger(__name__)

DEFAULT_EXEC_TIMEOUT_S = 60.0
MAX_EXEC_TIMEOUT_S = 3600.0
MAX_CHUNK_BYTES = 64 * 1024

# find(namespace, name, uid) -> (pod, sandbox) of a pod this kubelet runs, else None.
PodFinder = Callable[[str, str, str], "tuple[dict, PodSandbox] | None"]


def pick_container(pod: dict, name: str) -> dict:
    """The container ``name`` of ``pod`` (init containers included), or its only app container."""
    spec = pod.get("spec") or {}
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    every = containers + [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    pod_name = pod["metadata"]["name"]
    if not name:
        if len(containers) == 1:
            return containers[0]
        names = " ".join(c["name"] for c in containers)
        raise errors.BadRequest(f"a container name must be specified for pod {pod_name}, choose one of: [{names}]")
    for c in every:
        if c.get("name") == name:
            return c
    raise errors.BadRequest(f"container {name} is not valid for pod {pod_name}")


def since_unix(request) -> float | None:
    if request.since_time:
        parsed = meta.parse_time(request.since_time)
        if parsed is None:
            raise errors.BadRequest(f'invalid sinceTime "{request.since_time}": not an RFC 3339 time')
        return parsed.timestamp()
    if request.since_seconds > 0:
        return time.time() - request.since_seconds
    if request.since_seconds < 0:
        raise errors.BadRequest("sinceSeconds must be greater than 0")
    return None


class KubeletServicer(kubelet_pb2_grpc.KubeletServicer):
    def __init__(self, kubelet):
        self.kubelet = kubelet

    def _find(self, namespace: str, name: str, uid: str) -> tuple[dict, PodSandbox]:
        found = self.kubelet.find_pod(namespace, name, uid)
        if found is None:
            raise errors.NotFound(f'pods "{name}" not found', kind="pods", name=name)
        return found

    def ContainerLogs(self, request, context):
        try:
            pod, sandbox = self._find(request.namespace, request.name, request.pod_uid)
            container = pick_container(pod, request.container)
            runtime = self.kubelet.runtime
            cname = container["name"]
            path = runtime.container_log_path(sandbox, cname, previous=request.previous)
            state = runtime.container_status(sandbox, cname)
            if path is None and request.previous:
                raise errors.BadRequest(f'previous terminated container "{cname}" in pod "{request.name}" not found')
            if path is None and state.state == "waiting" and not runtime.simulated:
                raise errors.BadRequest(f'container "{cname}" in pod "{request.name}" is waiting to start: '
                                        f"{self.kubelet.waiting_reason(pod, cname)}")
            opts = logs.LogOptions(tail_lines=request.tail_lines if request.HasField("tail_lines") else None,
                                   since_unix=since_unix(request), timestamps=request.timestamps,
                                   limit_bytes=max(0, request.limit_bytes), follow=request.follow)
            index = runtime.log_index(sandbox, cname, previous=request.previous)
        except errors.APIError as e:
            errors.abort(context, e)
            return
        data, offset = logs.read(path, index, opts)
        for i in range(0, len(data), MAX_CHUNK_BYTES):
            yield api_pb2.PodLogChunk(data=data[i:i + MAX_CHUNK_BYTES])
        if not request.follow or request.previous or path is None:
            return
        if opts.limit_bytes and len(data) >= opts.limit_bytes:
            return
        run = state.restart_count

        def alive() -> bool:
            now = runtime.container_status(sandbox, cname)
            return now.state == "running" and now.restart_count == run

        for chunk in logs.follow(path, offset, opts, alive=alive, cancelled=lambda: not context.is_active(),
                                 sent_bytes=len(data)):
            yield api_pb2.PodLogChunk(data=chunk)

    def Exec(self, request, context):
        try:
            pod, sandbox = self._find(request.namespace, request.name, request.pod_uid)
            container = pick_container(pod, request.container)
            if not request.command:
                raise errors.BadRequest("you must specify at least one command for the container")
            timeout = float(request.timeout_seconds) if request.timeout_seconds > 0 else DEFAULT_EXEC_TIMEOUT_S
            try:
                result = self.kubelet.runtime.exec_sync(sandbox, container["name"], list(request.command),
                                                        stdin=request.stdin, timeout_s=min(timeout, MAX_EXEC_TIMEOUT_S))
            except ContainerRuntimeError as e:
                raise errors.BadRequest(f"unable to upgrade connection: container not found "
                                        f'("{container["name"]}"): {e}') from None
            log.info("exec in %s/%s container %s: %s → %d", request.namespace, request.name, container["name"],
                     list(request.command)[:3], result.exit_code)
            return api_pb2.PodExecResponse(stdout=result.stdout, stderr=result.stderr, exit_code=result.exit_code,
                                           timed_out=result.timed_out, truncated=result.truncated)
        except errors.APIError as e:
            errors.abort(context, e)

    def Stats(self, request, context):
        pods = []
        for pod, sandbox in self.kubelet.running_pods():
            if request.namespace and pod["metadata"].get("namespace") != request.namespace:
                continue
            usage = self.kubelet.monitor.pod_usage(sandbox.uid)
            containers = []
            spec = pod.get("spec") or {}
            for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
                u = usage.get(c.get("name"))
                if u is None:
                    continue
                containers.append(kubelet_pb2.ContainerUsage(name=c["name"], cpu_millicores=u.cpu_millis,
                                                             memory_bytes=u.memory_bytes,
                                                             memory_limit_bytes=memory_limit(c) or 0))
            pods.append(kubelet_pb2.PodUsage(namespace=pod["metadata"].get("namespace", ""),
                                             name=pod["metadata"]["name"], uid=sandbox.uid, containers=containers))
        return kubelet_pb2.StatsResponse(node=self.kubelet.node_name, sampled_at=meta.format_time(), pods=pods)


def register(kubelet) -> Callable[[grpc.Server], None]:
    def add(server: grpc.Server) -> None:
        kubelet_pb2_grpc.add_KubeletServicer_to_server(KubeletServicer(kubelet), server)

    return add
