"""The userspace proxier: a listening socket per Service port, each connection forwarded to a pod.

Kubernetes' kube-proxy once had exactly this mode (``--proxy-mode userspace``, removed in 1.26 in
favour of iptables/IPVS/nftables rules in the kernel): kubemu has no kernel rules to write — its
pods are processes on loopback addresses — so a userspace proxy is the faithful choice.

For every :class:`~kube_proxy.servicemap.ServicePort` with at least one ready backend:

* a socket listens on ``clusterIP:port`` (TCP, or UDP: :mod:`kube_proxy.udp`). Service ranges of
  local clusters are on loopback (``127.x``), so the address is bindable, and every node's
  kube-proxy binds the same one with ``SO_REUSEPORT``: the kernel spreads new connections over
  the live proxies of the machine, so killing one kube-proxy loses nothing but its open
  connections;
* for a NodePort Service, a socket on ``nodeIP:nodePort`` for every address of
  ``--nodeport-addresses`` (by default the node's IP; without SO_REUSEPORT, so two clusters on one
  machine can never share one);
* an accepted connection goes to a backend chosen by :class:`~kube_proxy.balancer.Balancer`
  (round robin, ClientIP affinity); a backend that refuses or does not answer within
  ``connect_timeout_s`` is skipped for the next, and when none answers the client gets a reset.
  Bytes are then copied both ways until both sides closed (half-closes are passed on).

A Service port **without ready endpoints has no listener**, so a connection to it is refused at
once by the kernel — as kube-proxy's REJECT rule does. A listener that cannot be bound (the port
is taken, the address is not local, a port below 1024 without root) is reported and retried at
the next sync. SCTP ports get no listener (counted in ``unsupported``).

Concurrency: the data plane is one asyncio event loop on its own thread — a proxy is all waiting
on sockets, which threads would pay for with a thread per connection. Open connections are
bounded by ``max_connections`` (more are reset); :meth:`Proxier.sync` is called from the sync
thread and runs on the loop, so listener state is only ever touched by the loop.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import threading
from dataclasses import dataclass, field

from kube_proxy import metrics
from kube_proxy.balancer import Balancer
from kube_proxy.servicemap import ServicePort
from kube_proxy.udp import UDPRelay

log = logging.getLogger(__name__)

BACKLOG = 511
READ_CHUNK = 64 * 1024
SYNC_TIMEOUT_S = 30.0


@dataclass
class SyncResult:
    listeners: int = 0
    opened: int = 0
    closed: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # "ip:port" -> why it cannot listen
    unsupported: int = 0


class Listener:
    """One listening socket and the service port whose connections (or datagrams) it forwards."""

    def __init__(self, address: str, port: int, protocol: str, service_port: ServicePort, *, reuse_port: bool):
        self.address = address
        self.port = port
        self.protocol = protocol
        self.service_port = service_port
        self.reuse_port = reuse_port
        self.server: asyncio.AbstractServer | None = None
        self.datagrams: asyncio.DatagramTransport | None = None

    def __str__(self) -> str:
        return f"{self.address}:{self.port}/{self.protocol}"

    def bind(self) -> socket.socket:
        kind = socket.SOCK_DGRAM if self.protocol == "UDP" else socket.SOCK_STREAM
        sock = socket.socket(socket.AF_INET, kind)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((self.address, self.port))
            if kind == socket.SOCK_STREAM:
                sock.listen(BACKLOG)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        if self.datagrams is not None:
            self.datagrams.close()
            self.datagrams = None


class Proxier:
    """Listeners for service ports, run on an event loop of their own."""

    def __init__(self, *, node_ips: list[str], connect_timeout_s: float = 1.0, max_connections: int = 1000,
                 udp_timeout_s: float = 0.25, balancer: Balancer | None = None):
        self.node_ips = list(node_ips)
        self.connect_timeout_s = connect_timeout_s
        self.max_connections = max_connections
        self.udp_timeout_s = udp_timeout_s
        self.balancer = balancer or Balancer()
        self.listeners: dict[tuple[str, int, str], Listener] = {}
        self.failed: dict[str, str] = {}
        self.active = 0
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="proxier", daemon=True)

    # --- lifecycle (any thread) -----------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._close_all(), self.loop).result(timeout=5)
        except Exception:  # noqa: BLE001 - stopping anyway
            log.exception("closing the listeners failed")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)

    def sync(self, service_ports: dict[str, ServicePort]) -> SyncResult:
        """Make the listeners match ``service_ports`` (blocks until the loop has done it)."""
        return asyncio.run_coroutine_threadsafe(self._apply(service_ports), self.loop).result(timeout=SYNC_TIMEOUT_S)

    # --- on the loop ----------------------------------------------------------------------

    async def _close_all(self) -> None:
        for listener in list(self.listeners.values()):
            listener.close()
        self.listeners.clear()

    async def _open(self, listener: Listener) -> None:
        sock = listener.bind()
        if listener.protocol == "UDP":
            listener.datagrams, _ = await self.loop.create_datagram_endpoint(
                lambda: UDPRelay(lambda: listener.service_port, self.balancer, timeout_s=self.udp_timeout_s,
                                 max_sessions=self.max_connections), sock=sock)
        else:
            listener.server = await asyncio.start_server(
                lambda r, w: self._handle(listener, r, w), sock=sock)

    async def _apply(self, service_ports: dict[str, ServicePort]) -> SyncResult:
        result = SyncResult()
        desired: dict[tuple[str, int, str], tuple[ServicePort, bool]] = {}
        for sp in service_ports.values():
            if sp.protocol not in ("TCP", "UDP"):
                result.unsupported += 1
                continue
            if not sp.backends:
                continue  # no listener: connections are refused, like kube-proxy's REJECT
            desired[(sp.cluster_ip, sp.port, sp.protocol)] = (sp, True)
            if sp.node_port:
                for ip in self.node_ips:
                    desired[(ip, sp.node_port, sp.protocol)] = (sp, False)
        for key in [k for k in self.listeners if k not in desired]:
            self.listeners.pop(key).close()
            result.closed += 1
        for key, (sp, reuse_port) in desired.items():
            listener = self.listeners.get(key)
            if listener is not None:
                listener.service_port = sp
                continue
            listener = Listener(key[0], key[1], key[2], sp, reuse_port=reuse_port)
            try:
                await self._open(listener)
            except OSError as e:
                result.failed[str(listener)] = f"{sp.key}: {e.strerror or e}"
                continue
            self.listeners[key] = listener
            result.opened += 1
        for address, why in result.failed.items():
            if self.failed.get(address) != why:
                log.error("cannot listen on %s for service %s; retrying at the next sync", address, why)
        for address in set(self.failed) - set(result.failed):
            log.info("listening on %s now", address)
        self.failed = result.failed
        self.balancer.forget(set(service_ports))
        result.listeners = len(self.listeners)
        metrics.LISTENERS.set(result.listeners)
        metrics.LISTENER_ERRORS.set(len(result.failed))
        return result

    async def _handle(self, listener: Listener, client_reader: asyncio.StreamReader,
                      client_writer: asyncio.StreamWriter) -> None:
        sp = listener.service_port
        peer = client_writer.get_extra_info("peername") or ("", 0)
        if self.active >= self.max_connections:
            metrics.CONNECTIONS.labels("rejected").inc()
            _reset(client_writer)
            return
        self.active += 1
        metrics.ACTIVE.inc()
        try:
            for backend in self.balancer.candidates(sp, peer[0]):
                try:
                    backend_reader, backend_writer = await asyncio.wait_for(
                        asyncio.open_connection(backend.ip, backend.port), self.connect_timeout_s)
                except (TimeoutError, OSError) as e:
                    log.debug("%s: backend %s of %s failed: %s", listener, backend, sp.key, e)
                    continue
                self.balancer.connected(sp, peer[0], backend)
                self.connections += 1
                metrics.CONNECTIONS.labels("proxied").inc()
                await _splice(client_reader, client_writer, backend_reader, backend_writer)
                return
            metrics.CONNECTIONS.labels("no_endpoint").inc()
            _reset(client_writer)
        finally:
            self.active -= 1
            metrics.ACTIVE.dec()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a connection nobody can serve should end."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Copy until EOF (then half-close the other side); False when a side failed."""
    try:
        while True:
            data = await reader.read(READ_CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof() and not writer.is_closing():
            writer.write_eof()
        return True
    except (ConnectionError, OSError):
        return False


async def _splice(client_reader, client_writer, backend_reader, backend_writer) -> None:
    to_backend = asyncio.ensure_future(_pipe(client_reader, backend_writer))
    to_client = asyncio.ensure_future(_pipe(backend_reader, client_writer))
    try:
        pending = {to_backend, to_client}
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if any(not task.result() for task in done):
                break  # one side failed: tear the connection down both ways
    finally:
        for task in (to_backend, to_client):
            task.cancel()
        for writer in (client_writer, backend_writer):
            writer.close()
