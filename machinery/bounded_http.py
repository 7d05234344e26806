"""A small plain-HTTP server for a component's side endpoints (``/metrics``, kube-proxy's
``/healthz``): at most ``max_requests`` are served at once, each on its own thread; a request
beyond that is closed at once (scrapers and probes retry), so a storm of them cannot take
threads or CPU from the component's real work."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class BoundedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler: type[BaseHTTPRequestHandler], max_requests: int):
        self._slots = threading.BoundedSemaphore(max_requests)
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # too many at once: close, the client retries
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()
