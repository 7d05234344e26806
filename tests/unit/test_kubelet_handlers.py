"""Probe and hook handlers (kubelet/handlers.py) against real local servers."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kubelet import handlers
from kubelet.runtime.base import ContainerRuntimeError, ExecResult, PodSandbox


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        code = {"/ok": 200, "/redirect": 302, "/bad": 500}.get(self.path, 404)
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "http://example.invalid/elsewhere")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_get(server):
    container = {"name": "c", "ports": [{"name": "http", "containerPort": server}]}
    assert handlers.http_get({"path": "/ok", "port": "http"}, "127.0.0.1", container, 2).ok
    assert handlers.http_get({"path": "/redirect", "port": server}, "127.0.0.1", container, 2).ok
    bad = handlers.http_get({"path": "/bad", "port": server}, "127.0.0.1", container, 2)
    assert (bad.ok, bad.message) == (False, "HTTP probe failed with statuscode: 500")
    port = closed_port()
    refused = handlers.http_get({"path": "/", "port": port}, "127.0.0.1", container, 2)
    assert refused.message == f'Get "http://127.0.0.1:{port}/": dial tcp 127.0.0.1:{port}: connect: connection refused'


def test_tcp_socket_and_named_ports(server):
    assert handlers.tcp_socket({"port": server}, "127.0.0.1", {}, 1).ok
    port = closed_port()
    assert handlers.tcp_socket({"port": port}, "127.0.0.1", {}, 1).message == \
        f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    with pytest.raises(ValueError, match="couldn't find port"):
        handlers.resolve_port("metrics", {"ports": [{"name": "http", "containerPort": 80}]})
    assert handlers.resolve_port("8080", {}) == 8080


class ExecRuntime:
    def __init__(self, result=None, error=None):
        self.result, self.error, self.calls = result, error, []

    def exec_sync(self, sandbox, name, argv, *, stdin=b"", timeout_s=60.0):
        self.calls.append((name, argv, timeout_s))
        if self.error:
            raise self.error
        return self.result


def test_exec_and_sleep():
    sb = PodSandbox("u", "ns", "p", "127.0.0.1", "/tmp")
    ok = ExecRuntime(ExecResult(0, b"fine\n"))
    assert handlers.run({"exec": {"command": ["cat", "/ready"]}}, runtime=ok, sandbox=sb, container={"name": "c"},
                        timeout_s=3).ok
    assert ok.calls == [("c", ["cat", "/ready"], 3)]
    failed = handlers.run({"exec": {"command": ["false"]}}, runtime=ExecRuntime(ExecResult(1, b"", b"nope\n")),
                          sandbox=sb, container={"name": "c"}, timeout_s=1)
    assert (failed.ok, failed.message) == (False, "nope\n")
    timed = handlers.run({"exec": {"command": ["sleep", "9"]}},
                         runtime=ExecRuntime(ExecResult(137, timed_out=True)), sandbox=sb, container={"name": "c"},
                         timeout_s=1)
    assert "timed out" in timed.message
    gone = handlers.run({"exec": {"command": ["x"]}}, runtime=ExecRuntime(error=ContainerRuntimeError("not running")),
                        sandbox=sb, container={"name": "c"}, timeout_s=1)
    assert gone.message == "not running"
    stop = threading.Event()
    stop.set()
    assert handlers.run({"sleep": {"seconds": 30}}, runtime=ok, sandbox=sb, container={}, timeout_s=5, stop=stop).ok
    assert not handlers.run({}, runtime=ok, sandbox=sb, container={}, timeout_s=1).ok
