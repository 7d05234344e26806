"""kube-proxy's pieces: the service map from Services and EndpointSlices, the balancer, and the
userspace proxier on real loopback sockets (forwarding, refusal without endpoints, a refusing
backend skipped, SO_REUSEPORT shared by two proxiers, node ports, ClientIP affinity) and the
health state."""

from __future__ import annotations

import random
import socket
import socketserver
import threading

import pytest

from kube_proxy.balancer import Balancer
from kube_proxy.healthz import HealthState
from kube_proxy.proxier import Proxier
from kube_proxy.servicemap import Backend, ServicePort, service_ports


def svc(name: str, ip: str, ports: list[dict], **spec) -> dict:
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": {"clusterIP": ip, "ports": ports, **spec}}


def eps(service: str, ports: list[dict], endpoints: list[dict], name: str = "") -> dict:
    return {"metadata": {"name": name or f"{service}-x", "namespace": "ns",
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4", "ports": ports, "endpoints": endpoints}


def ep(ip: str, ready=True, node: str = "node-1") -> dict:
    conditions = {} if ready is None else {"ready": ready}
    return {"addresses": [ip], "conditions": conditions, "nodeName": node}


def test_service_ports_take_ready_endpoints_at_the_port_of_the_same_name():
    services = [svc("web", "10.96.0.10", [{"name": "http", "port": 80, "protocol": "TCP"},
                                           {"name": "admin", "port": 9000, "protocol": "TCP", "nodePort": 30001}],
                    type="NodePort", sessionAffinity="ClientIP"),
                svc("headless", "None", [{"port": 80}]),
                svc("other", "10.96.0.11", [{"port": 80}], type="ExternalName"),
                {**svc("elsewhere", "10.96.0.12", [{"port": 80}]),
                 "metadata": {"name": "elsewhere", "namespace": "ns",
                              "labels": {"service.kubernetes.io/service-proxy-name": "another"}}}]
    slices = [eps("web", [{"name": "http", "port": 8080}, {"name": "admin", "port": 9090}],
                  [ep("127.0.0.2"), ep("127.0.0.3", ready=False), ep("127.0.0.4", ready=None)]),
              eps("web", [{"name": "http", "port": 8080}], [ep("127.0.0.2")], name="web-y")]
    ports = service_ports(services, slices)
    assert set(ports) == {"ns/web:http", "ns/web:admin"}
    http = ports["ns/web:http"]
    assert [str(b) for b in http.backends] == ["127.0.0.2:8080", "127.0.0.4:8080"]
    assert http.cluster_ip == "10.96.0.10" and http.port == 80 and http.affinity_timeout_s == 10800
    assert ports["ns/web:admin"].node_port == 30001
    assert [str(b) for b in ports["ns/web:admin"].backends] == ["127.0.0.2:9090", "127.0.0.4:9090"]


def test_internal_traffic_policy_local_keeps_this_nodes_endpoints():
    services = [svc("web", "10.96.0.10", [{"port": 80}], internalTrafficPolicy="Local")]
    slices = [eps("web", [{"port": 8080}], [ep("127.0.0.2", node="node-1"), ep("127.0.0.3", node="node-2")])]
    assert [b.ip for b in service_ports(services, slices, node_name="node-2")["ns/web"].backends] == ["127.0.0.3"]


def sp(backends: list[Backend], affinity: float = 0, ip: str = "10.0.0.1", port: int = 80, node_port: int = 0,
       protocol: str = "TCP"):
    return ServicePort("ns/web", "", protocol, ip, port, node_port, affinity, tuple(backends))


def test_round_robin_and_client_ip_affinity():
    now = [0.0]
    balancer = Balancer(clock=lambda: now[0])
    a, b = Backend("127.0.0.2", 80), Backend("127.0.0.3", 80)
    plain = sp([a, b])
    assert [balancer.candidates(plain, "c")[0] for _ in range(4)] == [a, b, a, b]
    sticky = sp([a, b], affinity=60)
    first = balancer.candidates(sticky, "client-1")[0]
    balancer.connected(sticky, "client-1", first)
    assert all(balancer.candidates(sticky, "client-1")[0] == first for _ in range(5))
    now[0] = 61.0
    assert {balancer.candidates(sticky, "client-1")[0] for _ in range(4)} == {a, b}, "the affinity expired"


def test_health_waits_for_the_first_sync_and_for_queued_changes():
    now = [100.0]
    health = HealthState(60.0, clock=lambda: now[0])
    assert health.healthy()[0] is False
    begun = health.begin_sync()
    health.updated(begun)
    assert health.healthy()[0] is True
    health.queued()
    now[0] += 61
    assert health.healthy()[0] is False, "a change waited longer than the health timeout"
    health.updated(health.begin_sync())
    ok, body = health.healthy()
    assert ok and body["nodeEligible"] is True and body["lastUpdated"]


# --- the proxier on real sockets --------------------------------------------------------------


def loopback() -> str:
    """A loopback address no other test (or cluster) uses."""
    return f"127.98.{random.randrange(1, 255)}.{random.randrange(1, 255)}"


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        data = self.request.recv(1024)
        self.request.sendall(self.server.tag + b":" + data)


@pytest.fixture
def backends():
    servers = []

    def start(tag: str) -> Backend:
        server = socketserver.ThreadingTCPServer((loopback(), 0), _Echo)
        server.daemon_threads = True
        server.tag = tag.encode()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return Backend(*server.server_address)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxiers():
    made = []

    def make(**kw) -> Proxier:
        proxier = Proxier(node_ips=kw.pop("node_ips", []), **kw)
        proxier.start()
        made.append(proxier)
        return proxier

    yield make
    for proxier in made:
        proxier.stop()


def ask(ip: str, port: int, payload: bytes = b"hi") -> bytes:
    with socket.create_connection((ip, port), timeout=5) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = s.recv(1024)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def free_port(ip: str) -> int:
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def test_connections_reach_every_backend_and_without_endpoints_are_refused(backends, proxiers):
    a, b = backends("a"), backends("b")
    ip = loopback()
    port = free_port(ip)
    proxier = proxiers()
    result = proxier.sync({"ns/web": sp([a, b], ip=ip, port=port)})
    assert result.opened == 1 and not result.failed
    replies = {ask(ip, port) for _ in range(6)}
    assert replies == {b"a:hi", b"b:hi"}
    proxier.sync({"ns/web": sp([], ip=ip, port=port)})
    with pytest.raises(ConnectionRefusedError):
        ask(ip, port)


def test_a_refusing_backend_is_skipped(backends, proxiers):
    live = backends("live")
    dead = Backend(loopback(), 9)  # nothing listens there: refused at once
    ip = loopback()
    port = free_port(ip)
    proxier = proxiers()
    proxier.sync({"ns/web": sp([dead, live], ip=ip, port=port)})
    assert all(ask(ip, port) == b"live:hi" for _ in range(4))


def test_two_proxiers_share_a_cluster_ip_and_either_can_go(backends, proxiers):
    a = backends("a")
    ip = loopback()
    port = free_port(ip)
    first, second = proxiers(), proxiers()
    ports = {"ns/web": sp([a], ip=ip, port=port)}
    assert first.sync(ports).opened == 1 and second.sync(ports).opened == 1, "SO_REUSEPORT lets both bind"
    first.stop()
    assert all(ask(ip, port) == b"a:hi" for _ in range(4))


def test_node_ports_listen_on_the_node_ip(backends, proxiers):
    a = backends("a")
    node_ip, ip = loopback(), loopback()
    node_port, port = free_port(node_ip), free_port(ip)
    proxier = proxiers(node_ips=[node_ip])
    result = proxier.sync({"ns/web": sp([a], ip=ip, port=port, node_port=node_port)})
    assert result.listeners == 2
    assert ask(node_ip, node_port) == b"a:hi"


def test_a_port_that_cannot_be_bound_is_reported_and_the_rest_still_served(backends, proxiers):
    a = backends("a")
    ip = loopback()
    port = free_port(ip)
    blocker = socket.socket()
    blocker.bind((ip, port))
    blocker.listen()
    try:
        other_ip = loopback()
        other_port = free_port(other_ip)
        proxier = proxiers()
        result = proxier.sync({"ns/web": sp([a], ip=ip, port=port),
                               "ns/api": ServicePort("ns/api", "", "TCP", other_ip, other_port, 0, 0, (a,))})
        assert list(result.failed) == [f"{ip}:{port}/TCP"] and "ns/web" in result.failed[f"{ip}:{port}/TCP"]
        assert ask(other_ip, other_port) == b"a:hi"
    finally:
        blocker.close()


class _UDPEcho(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(self.server.tag + b":" + data, self.client_address)


def udp_backend(tag: str) -> tuple[socketserver.UDPServer, Backend]:
    server = socketserver.ThreadingUDPServer((loopback(), 0), _UDPEcho)
    server.tag = tag.encode()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, Backend(*server.server_address)


def udp_ask(ip: str, port: int, payload: bytes = b"q") -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.connect((ip, port))
        s.send(payload)
        return s.recv(1024)


def test_udp_service_ports_relay_datagrams_and_refuse_without_endpoints(proxiers):
    servers = [udp_backend("a"), udp_backend("b")]
    try:
        ip = loopback()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((ip, 0))
            port = probe.getsockname()[1]
        proxier = proxiers(udp_timeout_s=0.2)
        result = proxier.sync({"ns/dns": sp([b for _, b in servers], ip=ip, port=port, protocol="UDP")})
        assert result.opened == 1 and not result.failed
        assert {udp_ask(ip, port) for _ in range(6)} == {b"a:q", b"b:q"}, "each client socket is a new session"
        proxier.sync({"ns/dns": sp([], ip=ip, port=port, protocol="UDP")})
        with pytest.raises(ConnectionRefusedError):
            udp_ask(ip, port)
    finally:
        for server, _ in servers:
            server.shutdown()
            server.server_close()
