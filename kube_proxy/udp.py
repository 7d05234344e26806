"""UDP Service ports: datagrams relayed through one socket per client, as the userspace proxier did.

UDP has no connections, so the relay makes them up, like kube-proxy's userspace mode
(pkg/proxy/userspace/proxysocket.go): the first datagram from a client address picks a backend
(:class:`~kube_proxy.balancer.Balancer`, so ClientIP affinity holds) and opens a socket connected
to it; later datagrams of that client go through the same socket, and the backend's replies go
back to the client from the Service's address. A client silent for ``timeout_s``
(``--udp-timeout``, 250 ms as kube-proxy's) loses its socket, so the next datagram may go
elsewhere. A backend that answers with ICMP "port unreachable" (nothing listens) drops the
client's socket at once, so the next datagram tries another backend. At most ``max_sessions``
clients at a time; datagrams of others are dropped (UDP may drop).

Everything runs on the proxier's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from kube_proxy import metrics
from kube_proxy.balancer import Balancer
from kube_proxy.servicemap import ServicePort

log = logging.getLogger(__name__)


class _BackendSide(asyncio.DatagramProtocol):
    """The socket towards one backend for one client: replies go back to the client."""

    def __init__(self, relay: UDPRelay, client: tuple):
        self.relay = relay
        self.client = client
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.relay.reply(self.client, data)

    def error_received(self, exc: Exception) -> None:
        self.relay.drop(self.client)  # ICMP port unreachable and the like: try another backend next time


class _Session:
    def __init__(self, side: _BackendSide):
        self.side = side
        self.last = time.monotonic()


class UDPRelay(asyncio.DatagramProtocol):
    """The listening UDP socket of one Service port."""

    def __init__(self, service_port: Callable[[], ServicePort], balancer: Balancer, *, timeout_s: float,
                 max_sessions: int):
        self.service_port = service_port
        self.balancer = balancer
        self.timeout_s = timeout_s
        self.max_sessions = max_sessions
        self.transport: asyncio.DatagramTransport | None = None
        self.sessions: dict[tuple, _Session] = {}
        self._pending: set[tuple] = set()
        self._sweeper: asyncio.Task | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self._sweeper = asyncio.ensure_future(self._sweep())

    def connection_lost(self, exc) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for client in list(self.sessions):
            self.drop(client)

    def datagram_received(self, data: bytes, addr) -> None:
        session = self.sessions.get(addr)
        if session is not None and session.side.transport is not None:
            session.last = time.monotonic()
            session.side.transport.sendto(data)
            return
        if addr in self._pending:
            return  # the client's socket is being opened: UDP may drop this one
        if len(self.sessions) + len(self._pending) >= self.max_sessions:
            metrics.CONNECTIONS.labels("rejected").inc()
            return
        self._pending.add(addr)
        asyncio.ensure_future(self._open(addr, data))

    async def _open(self, client: tuple, first: bytes) -> None:
        sp = self.service_port()
        loop = asyncio.get_running_loop()
        try:
            for backend in self.balancer.candidates(sp, client[0])[:1]:
                try:
                    _, side = await loop.create_datagram_endpoint(lambda: _BackendSide(self, client),
                                                                  remote_addr=(backend.ip, backend.port))
                except OSError as e:
                    log.debug("udp backend %s of %s: %s", backend, sp.key, e)
                    continue
                self.balancer.connected(sp, client[0], backend)
                self.sessions[client] = _Session(side)
                metrics.CONNECTIONS.labels("proxied").inc()
                side.transport.sendto(first)
                return
            metrics.CONNECTIONS.labels("no_endpoint").inc()
        finally:
            self._pending.discard(client)

    def reply(self, client: tuple, data: bytes) -> None:
        session = self.sessions.get(client)
        if session is not None:
            session.last = time.monotonic()
        if self.transport is not None:
            self.transport.sendto(data, client)

    def drop(self, client: tuple) -> None:
        session = self.sessions.pop(client, None)
        if session is not None and session.side.transport is not None:
            session.side.transport.close()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(max(self.timeout_s / 2, 0.05))
            now = time.monotonic()
            for client, session in list(self.sessions.items()):
                if now - session.last > self.timeout_s:
                    self.drop(client)
