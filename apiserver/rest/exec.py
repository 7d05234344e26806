"""``pods/exec`` over the Kubernetes WebSocket streaming protocol (kubectl ≥ 1.30).

kubectl opens ``GET|POST …/pods/NAME/exec?command=…&container=…&stdin=…&stdout=…&stderr=…&tty=…``
with ``Upgrade: websocket`` and offers ``v5.channel.k8s.io`` (preferred) and ``v4.channel.k8s.io``.
Every binary message starts with its channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error (the
final Status), 4 resize; v5 adds 255 "close", whose second byte names the stream the client has
finished writing (stdin).

kubemu's kubelet runs a command to completion (``Kubelet.Exec``, unary): so the server first
collects stdin (until the client closes it — v5 close, or the connection's end with v4), then
runs the command through :class:`apiserver.proxy.KubeletProxy` and sends stdout, stderr and the
Status on channel 3: ``Success``, or ``Failure`` with reason ``NonZeroExitCode`` and the exit code
in ``details.causes`` (kubectl prints ``command terminated with exit code N`` and exits with N).
With a TTY (``kubectl exec -it POD -- sh``) and a shell as the whole command, the server acts
as a line-oriented terminal instead (:class:`LineShell`): it echoes what is typed, runs every
line as ``sh -c LINE`` in the container when Enter is pressed, prints the output and a ``# ``
prompt, and ends at ``exit [N]`` or Ctrl-D with the last exit code. Each line is its own
process, so shell state (``cd``, variables) does not carry over between lines. Any other command
with a TTY runs once stdin is closed. SPDY (kubectl ≤ 1.29) is not served; those clients get a
BadRequest saying so.
"""

from __future__ import annotations

import json

from machinery.pb import api_pb2

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
# Bound on the stdin collected before the command runs (the kubelet's output bound, too).
MAX_STDIN_BYTES = 4 * 1024 * 1024
# Without stdin the command runs at once; with it, stdin must close within this long.
STDIN_TIMEOUT_S = 300.0
SPDY_MESSAGE = ("kubemu serves pods/exec over WebSocket only (v5.channel.k8s.io, v4.channel.k8s.io), not SPDY: "
                "use kubectl 1.30 or newer")


def flag(query, name: str) -> bool:
    return str(query.get(name, "")).lower() in ("true", "1")


def exec_request(namespace: str, name: str, query, commands: list[str], stdin: bytes = b"") \
        -> api_pb2.PodExecRequest:
    return api_pb2.PodExecRequest(namespace=namespace, name=name, container=query.get("container", ""),
                                  command=commands, stdin=stdin)


def frame(channel: int, data: bytes) -> bytes:
    return bytes([channel]) + data


def exit_status(exit_code: int, command: list[str], timed_out: bool = False) -> bytes:
    """The channel-3 Status kubectl reads for the exit code."""
    if exit_code == 0 and not timed_out:
        return json.dumps({"metadata": {}, "status": "Success"}).encode()
    message = (f"command terminated with non-zero exit code: error executing command {json.dumps(command)}, "
               f"exit code {exit_code}")
    if timed_out:
        message += " (timed out)"
    return json.dumps({"metadata": {}, "status": "Failure", "message": message, "reason": "NonZeroExitCode",
                       "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]}}).encode()


def error_status(message: str) -> bytes:
    return json.dumps({"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError",
                       "code": 500}).encode()


SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "/bin/sh", "/bin/bash", "/bin/ash", "/bin/dash",
                    "/bin/zsh", "/usr/bin/bash", "/usr/bin/zsh"})
PROMPT = b"# "
MAX_LINE_BYTES = 64 * 1024
CTRL_C, CTRL_D, BACKSPACE, DELETE = 3, 4, 8, 127


def is_interactive_shell(query, commands: list[str]) -> bool:
    return flag(query, "tty") and flag(query, "stdin") and len(commands) == 1 and commands[0] in SHELLS


class LineShell:
    """The terminal side of ``exec -it POD -- sh``: feed it the stdin bytes, it answers what to
    echo and which lines to run. Pure, so the line editing is testable without a connection."""

    def __init__(self):
        self.line = bytearray()
        self.exit_code: int | None = None

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        """``("echo", bytes)`` to show and ``("run", line)`` to execute, in order; sets
        ``exit_code`` once the user leaves."""
        out: list[tuple[str, bytes]] = []
        for byte in data:
            if self.exit_code is not None:
                break
            if byte in (10, 13):
                out.append(("echo", b"\r\n"))
                text = bytes(self.line).decode(errors="replace").strip()
                self.line.clear()
                if text == "exit" or text.startswith("exit "):
                    argument = text[5:].strip()
                    self.exit_code = int(argument) if argument.isdigit() else -1
                elif text:
                    out.append(("run", text.encode()))
                else:
                    out.append(("echo", PROMPT))
            elif byte == CTRL_D and not self.line:
                out.append(("echo", b"\r\n"))
                self.exit_code = -1
            elif byte == CTRL_C:
                self.line.clear()
                out.append(("echo", b"^C\r\n" + PROMPT))
            elif byte in (BACKSPACE, DELETE):
                if self.line:
                    self.line.pop()
                    out.append(("echo", b"\b \b"))
            elif byte >= 32 and len(self.line) < MAX_LINE_BYTES:
                self.line.append(byte)
                out.append(("echo", bytes([byte])))
        return out


def terminal_text(data: bytes) -> bytes:
    """Output for a raw-mode terminal: bare newlines become CR LF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
