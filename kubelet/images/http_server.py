"""The program an ``http-server`` container (nginx, httpd) runs: a tiny web server on the pod IP.

``python -m kubelet.images.http_server --host IP --port P [--fallback-port F] [--name N] [--root DIR]``

With ``--root`` (a volume mounted at the image's docRoot) it serves the files under DIR, ``index.html``
for a directory, and falls back to the built-in pages for paths that are not there. It answers
``GET /`` with a page in the spirit of nginx's "Welcome to nginx!" that also names the pod
(from ``KUBEMU_POD_NAME``/``KUBEMU_POD_NAMESPACE``/``KUBEMU_POD_IP``, or the downward-API style
``POD_NAME``/``POD_NAMESPACE``/``POD_IP``), ``GET /healthz`` with ``ok`` (for probes), anything else
with 404, and writes one access-log line per request to stdout, flushed, in nginx's combined format so
``kubectl logs`` looks familiar. If binding the port fails with a permission error (a kubelet not
running as root cannot bind port 80) it says so and binds ``--fallback-port`` instead. SIGTERM (and
SIGINT) stop it promptly with exit code 0, like nginx's graceful shutdown.
"""

from __future__ import annotations

import argparse
import errno
import html
import mimetypes
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY_LOG_CHARS = 200
MAX_FILE_BYTES = 16 * 1024 * 1024
POLL_INTERVAL_S = 0.1


def log(line: str) -> None:
    print(line, flush=True)


def pod_identity() -> dict[str, str]:
    env = os.environ
    return {
        "name": env.get("KUBEMU_POD_NAME") or env.get("POD_NAME") or env.get("HOSTNAME", ""),
        "namespace": env.get("KUBEMU_POD_NAMESPACE") or env.get("POD_NAMESPACE", ""),
        "ip": env.get("KUBEMU_POD_IP") or env.get("POD_IP", ""),
    }


def welcome_page(server_name: str) -> bytes:
    pod = {k: html.escape(v) for k, v in pod_identity().items()}
    title = "It works!" if server_name == "httpd" else f"Welcome to {html.escape(server_name)}!"
    who = "/".join(part for part in (pod["namespace"], pod["name"]) if part) or "an unnamed pod"
    where = f" at {pod['ip']}" if pod["ip"] else ""
    served = f"<p>Served by pod <b>{who}</b>{where} (kubemu).</p>"
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n<title>" + title + "</title>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n"
        f"<p>If you see this page, the {html.escape(server_name)} web server is successfully installed and\n"
        "working. Further configuration is required.</p>\n"
        f"{served}\n"
        "<p><em>Thank you for using kubemu.</em></p>\n</body>\n</html>\n"
    ).encode()


class Handler(BaseHTTPRequestHandler):
    server_version = "nginx/1.25.3"
    protocol_version = "HTTP/1.1"
    server_name_label = "nginx"
    doc_root: str | None = None
    _size = 0

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._respond(include_body=True)

    def do_HEAD(self) -> None:
        self._respond(include_body=False)

    def _respond(self, include_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        served = self._file(path)
        if served is not None:
            status, body, ctype = 200, served, _content_type(path)
        elif path in ("/", "/index.html"):
            status, body, ctype = 200, welcome_page(self.server_name_label), "text/html"
        elif path in ("/healthz", "/readyz", "/livez"):
            status, body, ctype = 200, b"ok", "text/plain"
        else:
            status, body, ctype = 404, b"<html><body><h1>404 Not Found</h1></body></html>\n", "text/html"
        self._size = len(body)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if include_body:
            self.wfile.write(body)

    def _file(self, path: str) -> bytes | None:
        """The file under ``doc_root`` for ``path`` (index.html for a directory), never outside it."""
        if not self.doc_root:
            return None
        root = os.path.realpath(self.doc_root)
        target = os.path.realpath(os.path.join(root, urllib.parse.unquote(path).lstrip("/")))
        if target != root and not target.startswith(root + os.sep):
            return None
        if os.path.isdir(target):
            target = os.path.join(target, "index.html")
        try:
            if os.path.getsize(target) > MAX_FILE_BYTES:
                return None
            with open(target, "rb") as f:
                return f.read()
        except OSError:
            return None

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One nginx "combined" access-log line per request."""
        when = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        referer = self.headers.get("Referer", "-") if self.headers else "-"
        agent = self.headers.get("User-Agent", "-") if self.headers else "-"
        request = self.requestline[:MAX_BODY_LOG_CHARS]
        log(f'{self.client_address[0]} - - [{when}] "{request}" {code} {self._size} "{referer}" "{agent}"')
        self._size = 0

    def log_message(self, format: str, *args: object) -> None:
        log(f"[error] {(format % args)[:MAX_BODY_LOG_CHARS]}")


def _content_type(path: str) -> str:
    if path.endswith("/") or path.endswith((".html", ".htm")):
        return "text/html"
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def bind(host: str, port: int, fallback_port: int | None) -> ThreadingHTTPServer:
    """Bind ``host:port``; on EACCES (privileged port, not root) bind ``host:fallback_port``."""
    try:
        return ThreadingHTTPServer((host, port), Handler)
    except PermissionError as e:
        if fallback_port is None or e.errno != errno.EACCES:
            raise
        log(f"[warn] bind() to {host}:{port} failed (13: Permission denied); "
            f"using fallback port {fallback_port}")
        return ThreadingHTTPServer((host, fallback_port), Handler)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kubelet.images.http_server", description=__doc__.split("\n")[0])
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--fallback-port", type=int, default=None)
    p.add_argument("--name", default="nginx", help="the server it imitates (nginx, httpd)")
    p.add_argument("--root", default=None, help="directory of files to serve (a volume at the docRoot)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    Handler.server_name_label = args.name
    Handler.doc_root = args.root
    Handler.server_version = "nginx/1.25.3" if args.name == "nginx" else f"{args.name}/kubemu"
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server = bind(args.host, args.port, args.fallback_port)
    except OSError as e:
        log(f"[emerg] bind() to {args.host}:{args.port} failed ({e.errno}: {e.strerror})")
        return 1
    server.daemon_threads = True
    host, port = server.server_address[:2]
    log(f"[notice] {args.name} (kubemu http-server) listening on {host}:{port}, pid {os.getpid()}")
    thread = threading.Thread(target=server.serve_forever, args=(POLL_INTERVAL_S,), daemon=True)
    thread.start()
    while not stop.wait(POLL_INTERVAL_S * 5):
        pass
    log("[notice] signal received, shutting down gracefully")
    server.shutdown()
    server.server_close()
    log("[notice] exiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
