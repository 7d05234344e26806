"""Running a probe or lifecycle-hook handler: ``exec``, ``httpGet``, ``tcpSocket``, ``grpc``, ``sleep``.

Probes (kubelet/probes.py) and hooks (``postStart``/``preStop``) share these, as in the
kubelet's ``prober`` and ``lifecycle`` packages:

- ``exec``: the command runs in the container's context (runtime ``exec_sync``); exit 0 passes.
- ``httpGet``: GET ``scheme://host:port/path`` (host defaults to the pod IP; TLS is not verified,
  like the kubelet); a status in [200, 400) passes. The body is read up to 10 KiB.
- ``tcpSocket``: a TCP connection to ``host:port`` opens.
- ``grpc``: the gRPC health service on ``port`` answers SERVING for ``service``.
- ``sleep`` (hooks only): wait ``seconds``.

A named port is looked up in the container's ports. Messages on failure follow the kubelet's
wording (``HTTP probe failed with statuscode: 500``, ``dial tcp …: connect: connection refused``)
because they end up in ``Unhealthy`` events users read.
"""

from __future__ import annotations

import socket
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from kubelet.runtime.base import ContainerRuntime, ContainerRuntimeError, PodSandbox

MAX_BODY_BYTES = 10 * 1024
MAX_OUTPUT_CHARS = 1024
USER_AGENT = "kube-probe/1.32"


@dataclass(frozen=True)
class Result:
    ok: bool
    message: str = ""


class _NoRedirectToOtherHosts(urllib.request.HTTPRedirectHandler):
    """Follow redirects to the same host only; another host's redirect counts as success (kubelet)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).hostname != urllib.parse.urlsplit(req.full_url).hostname:
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def resolve_port(port, container: dict) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    text = str(port or "")
    if text.isdigit():
        return int(text)
    for p in container.get("ports") or []:
        if isinstance(p, dict) and p.get("name") == text and isinstance(p.get("containerPort"), int):
            return p["containerPort"]
    raise ValueError(f'couldn\'t find port "{text}" in the container\'s ports')


def run(handler: dict, *, runtime: ContainerRuntime, sandbox: PodSandbox, container: dict, timeout_s: float,
        stop: threading.Event | None = None) -> Result:
    """Run one handler against the container; never raises."""
    try:
        if "exec" in handler:
            return _exec(handler["exec"] or {}, runtime, sandbox, container["name"], timeout_s)
        if "httpGet" in handler:
            return http_get(handler["httpGet"] or {}, sandbox.ip, container, timeout_s)
        if "tcpSocket" in handler:
            return tcp_socket(handler["tcpSocket"] or {}, sandbox.ip, container, timeout_s)
        if "grpc" in handler:
            return grpc_check(handler["grpc"] or {}, sandbox.ip, container, timeout_s)
        if "sleep" in handler:
            seconds = float((handler["sleep"] or {}).get("seconds") or 0)
            (stop or threading.Event()).wait(min(seconds, timeout_s))
            return Result(True)
    except ValueError as e:
        return Result(False, str(e))
    return Result(False, "handler has no exec, httpGet, tcpSocket, grpc or sleep action")


def _exec(spec: dict, runtime: ContainerRuntime, sandbox: PodSandbox, name: str, timeout_s: float) -> Result:
    command = [str(a) for a in spec.get("command") or []]
    if not command:
        return Result(False, "exec handler has no command")
    try:
        result = runtime.exec_sync(sandbox, name, command, timeout_s=timeout_s)
    except ContainerRuntimeError as e:
        return Result(False, str(e))
    output = (result.stdout + result.stderr).decode("utf-8", "replace")[:MAX_OUTPUT_CHARS]
    if result.timed_out:
        return Result(False, f"command {command!r} timed out")
    if result.exit_code != 0:
        return Result(False, output or f"command {command!r} exited with {result.exit_code}")
    return Result(True, output)


def http_get(spec: dict, pod_ip: str, container: dict, timeout_s: float) -> Result:
    scheme = str(spec.get("scheme") or "HTTP").lower()
    host = spec.get("host") or pod_ip or "127.0.0.1"
    port = resolve_port(spec.get("port"), container)
    path = str(spec.get("path") or "/")
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme}://{host}:{port}{path}"
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    for header in spec.get("httpHeaders") or []:
        if isinstance(header, dict) and header.get("name"):
            request.add_header(str(header["name"]), str(header.get("value", "")))
    handlers: list = [_NoRedirectToOtherHosts()]
    if scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout_s) as resp:
            body = resp.read(MAX_BODY_BYTES)
            code = resp.status
    except urllib.error.HTTPError as e:
        code, body = e.code, b""
        if 300 <= code < 400:  # a redirect to another host: the kubelet reports success with a warning
            return Result(True, f"Probe terminated redirects, Response: {code}")
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, TimeoutError | socket.timeout) or "timed out" in str(reason):
            return Result(False, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while '
                                 "awaiting headers)")
        return Result(False, f'Get "{url}": dial tcp {host}:{port}: connect: {_errno_text(reason)}')
    if 200 <= code < 400:
        return Result(True, body.decode("utf-8", "replace")[:MAX_OUTPUT_CHARS])
    return Result(False, f"HTTP probe failed with statuscode: {code}")


def tcp_socket(spec: dict, pod_ip: str, container: dict, timeout_s: float) -> Result:
    host = spec.get("host") or pod_ip or "127.0.0.1"
    port = resolve_port(spec.get("port"), container)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return Result(True)
    except TimeoutError:
        return Result(False, f"dial tcp {host}:{port}: i/o timeout")
    except OSError as e:
        return Result(False, f"dial tcp {host}:{port}: connect: {_errno_text(e)}")


def grpc_check(spec: dict, pod_ip: str, container: dict, timeout_s: float) -> Result:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    port = resolve_port(spec.get("port"), container)
    target = f"{pod_ip or '127.0.0.1'}:{port}"
    with grpc.insecure_channel(target) as channel:
        try:
            resp = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=str(spec.get("service") or "")), timeout=timeout_s)
        except grpc.RpcError as e:
            return Result(False, f"failed to connect service {target!r} within {timeout_s:g}s: {e.code().name}")
    if resp.status != health_pb2.HealthCheckResponse.SERVING:
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
        return Result(False, f"service unhealthy (responded with {name})")
    return Result(True)


def _errno_text(error: object) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error)
