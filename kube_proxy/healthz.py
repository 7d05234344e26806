"""kube-proxy's health endpoint: ``GET /healthz`` (and ``/livez``) on ``--healthz-bind-address``
(``0.0.0.0:10256``), plain HTTP, as load balancers and the kubelet's probes ask kube-proxy.

The answer is kube-proxy's JSON ``{"lastUpdated": …, "currentTime": …, "nodeEligible": true}``,
200 while the proxy is healthy and 503 otherwise. Healthy, as kube-proxy's ProxierHealthServer
judges it: the first sync is done, and no change has been waiting for a sync longer than the
health timeout (twice ``--sync-period``). Anything else is 404. At most 4 requests at once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from machinery.bounded_http import BoundedHTTPServer

log = logging.getLogger(__name__)

MAX_REQUESTS = 4


class HealthState:
    """When the proxy last synced and since when a change waits; read by the health server."""

    def __init__(self, timeout_s: float, clock: Callable[[], float] = time.time):
        self.timeout_s = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self.last_updated: float | None = None
        self.queued_since: float | None = None
        self._changes = 0

    def queued(self) -> None:
        """A change asks for a sync."""
        with self._lock:
            self._changes += 1
            if self.queued_since is None:
                self.queued_since = self._clock()

    def begin_sync(self) -> int:
        """A sync starts; what it returns goes to :meth:`updated`."""
        with self._lock:
            return self._changes

    def updated(self, begun: int) -> None:
        """The sync started at ``begun`` finished: changes queued since then still wait."""
        with self._lock:
            self.last_updated = self._clock()
            self.queued_since = None if self._changes == begun else self.last_updated

    def healthy(self) -> tuple[bool, dict]:
        with self._lock:
            now = self._clock()
            ok = self.last_updated is not None and \
                (self.queued_since is None or now - self.queued_since <= self.timeout_s)
            body = {"lastUpdated": _iso(self.last_updated), "currentTime": _iso(now), "nodeEligible": True}
        return ok, body


def _iso(t: float | None) -> str:
    if t is None:
        return ""
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Handler(BaseHTTPRequestHandler):
    timeout = 10.0
    server_version = "kubemu-proxy"

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
        if self.path.split("?", 1)[0] not in ("/healthz", "/livez"):
            self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return
        ok, body = self.server.state.healthy()
        self._send(200 if ok else 503, json.dumps(body).encode(), "application/json")

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the http.server signature
        log.debug("healthz %s: " + format, self.address_string(), *args)


class HealthzServer:
    def __init__(self, host: str, port: int, state: HealthState):
        try:
            self._server = BoundedHTTPServer((host, port), _Handler, MAX_REQUESTS)
        except OSError as e:
            raise OSError(f"cannot serve /healthz on {host}:{port}: {e}") from e
        self._server.state = state  # what _Handler answers from
        self.host, self.port = host, self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.5},
                                        daemon=True, name="healthz")

    def start(self) -> HealthzServer:
        self._thread.start()
        log.info("serving /healthz on http://%s:%d", self.host, self.port)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
