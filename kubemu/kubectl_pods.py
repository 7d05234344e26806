"""``kubemu kubectl logs`` and ``kubemu kubectl exec``: the pod subresources that reach a kubelet.

    kubemu kubectl logs [-f] [-c CONTAINER] [-p|--previous] [--tail N] [--since 5m] [--since-time T]
                        [--timestamps] [--limit-bytes N] POD
    kubemu kubectl exec POD [-c CONTAINER] [-i] -- COMMAND [ARGS...]

Both go to the apiserver's ``PodLogs``/``PodExec`` RPCs (the pods/log and pods/exec
subresources), which relay to the pod's kubelet. As kubectl does, a pod with several containers
and no ``-c`` uses the ``kubectl.kubernetes.io/default-container`` annotation or its first
container, saying so on stderr. ``exec`` is not interactive (no TTY): with ``-i`` the whole of
stdin is sent first; the command's output is printed when it ends, and kubemu exits with the
command's exit code (printing "command terminated with exit code N" like kubectl).

The kubectl module wires these in: ``register(subparsers)`` adds the two sub-commands and
``run(args, client)`` runs one, returning its exit code, or None for a command that is not ours.
A client may offer ``pod_logs(request)``/``pod_exec(request)`` itself; otherwise this module
calls the API service over the client's endpoints and credentials.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import grpc

from machinery import errors
from machinery.pb import api_pb2, api_pb2_grpc

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
COMMAND_DEST = "kubectl_pods_command"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> int:
    """``"90s"``, ``"5m"``, ``"1h30m"`` → whole seconds (kubectl's --since)."""
    text = text.strip()
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise ValueError(f'invalid duration "{text}": use a number with a unit, like 10s, 5m or 1h')
    return max(1, int(total)) if total > 0 else 0


def register(subparsers, *, parents: tuple[argparse.ArgumentParser, ...] = ()) -> None:
    """Add ``logs`` and ``exec`` to the kubectl command's argparse sub-parsers."""
    logs = subparsers.add_parser("logs", parents=list(parents), help="Print the logs for a container in a pod",
                                 description="Print the logs for a container in a pod.")
    logs.add_argument("args", nargs="*", metavar="POD", help="the pod (NAME or pod/NAME)")
    logs.add_argument("-c", "--container", default="", help="the container (default: the only or default one)")
    logs.add_argument("-f", "--follow", action="store_true", help="stream the logs as they are written")
    logs.add_argument("-p", "--previous", action="store_true", help="the logs of the previous run")
    logs.add_argument("--tail", type=int, default=-1, help="lines of recent log to show (-1: all)")
    logs.add_argument("--since", default="", help="only logs newer than a relative duration like 5s, 2m or 3h")
    logs.add_argument("--since-time", default="", help="only logs after an RFC 3339 time")
    logs.add_argument("--timestamps", action="store_true", help="prefix each line with its time")
    logs.add_argument("--limit-bytes", type=int, default=0, help="maximum bytes of logs to return")
    logs.set_defaults(**{COMMAND_DEST: "logs"})
    ex = subparsers.add_parser("exec", parents=list(parents), help="Execute a command in a container",
                               description="Execute a command in a container (not interactive).")
    ex.add_argument("args", nargs="*", metavar="POD -- COMMAND", help="the pod, then -- and the command")
    ex.add_argument("-c", "--container", default="", help="the container (default: the only or default one)")
    ex.add_argument("-i", "--stdin", action="store_true", help="send this process' stdin to the command")
    ex.add_argument("--timeout", default="60s", help="kill the command after this long (e.g. 30s, 5m)")
    ex.set_defaults(**{COMMAND_DEST: "exec"})
    if not parents:
        for p in (logs, ex):
            p.add_argument("-n", "--namespace", default=None, help="the namespace of the pod")


def run(args: argparse.Namespace, client: Any, *, out: TextIO | None = None, err: TextIO | None = None,
        stdin: Any = None) -> int | None:
    """Run ``logs`` or ``exec``; None when ``args`` is another command's."""
    command = getattr(args, COMMAND_DEST, None) or getattr(args, "command", None)
    if command not in ("logs", "exec"):
        return None
    out, err = out or sys.stdout, err or sys.stderr
    try:
        if command == "logs":
            return _logs(args, client, out, err)
        return _exec(args, client, out, err, stdin)
    except errors.APIError as e:
        err.write(f"Error from server ({e.reason}): {e.message}\n")
        return 1
    except ValueError as e:
        err.write(f"error: {e}\n")
        return 1


def _namespace(args: argparse.Namespace) -> str:
    return getattr(args, "namespace", None) or "default"


def _pod_name(text: str) -> str:
    kind, sep, name = text.partition("/")
    if not sep:
        return text
    if kind not in ("pod", "pods", "po"):
        raise ValueError(f'cannot get logs or exec into a "{kind}": only pods are supported')
    return name


def _default_container(client: Any, namespace: str, name: str, err: TextIO) -> str:
    """kubectl's choice when -c is missing: the annotated default, else the first container."""
    pod = client.get("pods", name, namespace)
    containers = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or [] if isinstance(c, dict)]
    if len(containers) <= 1:
        return ""
    annotated = ((pod.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    chosen = annotated if annotated in containers else containers[0]
    if annotated != chosen:
        err.write(f'Defaulted container "{chosen}" out of: {", ".join(containers)}\n')
    return chosen


def _logs(args: argparse.Namespace, client: Any, out: TextIO, err: TextIO) -> int:
    positional = list(args.args or [])
    if len(positional) != 1:
        raise ValueError("expected exactly one pod: kubemu kubectl logs [-f] [-c CONTAINER] POD")
    namespace, name = _namespace(args), _pod_name(positional[0])
    container = args.container or _default_container(client, namespace, name, err)
    request = api_pb2.PodLogsRequest(namespace=namespace, name=name, container=container, follow=args.follow,
                                     previous=args.previous, timestamps=args.timestamps,
                                     limit_bytes=max(0, args.limit_bytes))
    if args.tail is not None and args.tail >= 0:
        request.tail_lines = args.tail
    if args.since_time:
        request.since_time = args.since_time
    elif args.since:
        request.since_seconds = parse_duration(args.since)
    sink = getattr(out, "buffer", None)
    try:
        for data in pod_logs(client, request):
            if sink is not None:
                sink.write(data)
                sink.flush()
            else:
                out.write(data.decode("utf-8", "replace"))
                out.flush()
    except KeyboardInterrupt:
        return 0
    return 0


def _exec(args: argparse.Namespace, client: Any, out: TextIO, err: TextIO, stdin: Any) -> int:
    positional = list(args.args or [])
    extra = list(getattr(args, "extra", None) or [])
    if not positional:
        raise ValueError("expected a pod: kubemu kubectl exec POD [-c CONTAINER] -- COMMAND [ARGS...]")
    name, command = _pod_name(positional[0]), extra or positional[1:]
    if not command:
        raise ValueError("you must specify at least one command for the container")
    namespace = _namespace(args)
    container = args.container or _default_container(client, namespace, name, err)
    data = b""
    if args.stdin:
        source = stdin if stdin is not None else sys.stdin
        raw = getattr(source, "buffer", source).read()
        data = raw.encode() if isinstance(raw, str) else raw
    request = api_pb2.PodExecRequest(namespace=namespace, name=name, container=container, command=command,
                                     stdin=data, timeout_seconds=parse_duration(args.timeout) or 60)
    resp = pod_exec(client, request)
    for stream, payload in ((out, resp.stdout), (err, resp.stderr)):
        if not payload:
            continue
        sink = getattr(stream, "buffer", None)
        if sink is not None:
            sink.write(payload)
        else:
            stream.write(payload.decode("utf-8", "replace"))
        stream.flush()
    if resp.timed_out:
        err.write(f"command timed out after {args.timeout}\n")
    if resp.exit_code != 0:
        err.write(f"command terminated with exit code {resp.exit_code}\n")
    return resp.exit_code


# -- the RPCs, over a machinery.client.APIClient (or anything offering pod_logs/pod_exec) ----------


def _stubs(client: Any) -> Iterator[tuple[api_pb2_grpc.APIStub, list[tuple[str, str]], Any]]:
    from machinery.client import make_channel

    for endpoint in client.endpoints:
        channel = make_channel(endpoint, client.credentials)
        yield api_pb2_grpc.APIStub(channel), client.metadata(), channel


def pod_logs(client: Any, request: api_pb2.PodLogsRequest) -> Iterator[bytes]:
    """The log stream's data; tries each apiserver endpoint until one answers."""
    if hasattr(client, "pod_logs"):
        yield from client.pod_logs(request)
        return
    last: errors.APIError | None = None
    for stub, metadata, channel in _stubs(client):
        got_any = False
        call = stub.PodLogs(request, metadata=metadata)
        try:
            for chunk in call:
                got_any = True
                yield chunk.data
            return
        except grpc.RpcError as e:
            last = errors.from_rpc_error(e)
            if got_any or not errors.is_retryable(last):
                raise last from None
        finally:
            call.cancel()
            channel.close()
    if last is not None:
        raise last


def pod_exec(client: Any, request: api_pb2.PodExecRequest) -> api_pb2.PodExecResponse:
    if hasattr(client, "pod_exec"):
        return client.pod_exec(request)
    last: errors.APIError | None = None
    for stub, metadata, channel in _stubs(client):
        try:
            return stub.PodExec(request, metadata=metadata, timeout=request.timeout_seconds + 30)
        except grpc.RpcError as e:
            last = errors.from_rpc_error(e)
            if not errors.is_retryable(last):
                raise last from None
        finally:
            channel.close()
    raise last or errors.Unavailable("no apiserver endpoint")
