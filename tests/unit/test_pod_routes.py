"""The routed pod network's reconciler (kubelet/pod_routes.py) against a fake `ip` that keeps a route table,
and its `ip` commands against a real kernel in a throwaway network namespace (root only)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import threading
import uuid

import pytest

from kubelet import pod_routes
from kubelet.pod_routes import PodRoutes, RouteTable, plan_routes
from tests.helpers import wait_for


def node(name: str, cidr: str | None = None, ip: str | None = None, **extra) -> dict:
    spec = {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {}
    addresses = [{"type": "InternalIP", "address": ip}] if ip else []
    addresses.append({"type": "Hostname", "address": name})
    return {"metadata": {"name": name, "uid": f"uid-{name}", **extra.pop("metadata", {})}, "spec": spec,
            "status": {"addresses": addresses, **extra}}


class FakeIP:
    """`ip` with a kernel's route table: routes by (table, destination) with type, gateway and protocol."""

    def __init__(self, connected: str = "198.18.0.0/24"):
        self.routes: dict[tuple[str, str], dict] = {}
        self.connected = connected  # gateways must be on this link, as for the kernel
        self.commands: list[list[str]] = []
        self.fail: dict[str, str] = {}  # destination -> the error its replace/del gets
        self.lock = threading.Lock()

    def writes(self) -> list[str]:
        return [" ".join(c) for c in self.commands if c[:2] != ["-j", "-4"]]

    def __call__(self, args: list[str]) -> subprocess.CompletedProcess:
        import ipaddress

        with self.lock:
            self.commands.append(list(args))
            if args[:4] == ["-j", "-4", "route", "show"]:
                proto = args[args.index("proto") + 1]
                out = []
                for (_table, dst), r in sorted(self.routes.items()):
                    if r["proto"] != proto:
                        continue
                    entry = {"dst": dst, "dev": r["dev"], "flags": []}
                    if r["type"] == "local":
                        entry.update(type="local", table="local", scope="host")
                    else:
                        entry["gateway"] = r["via"]
                    out.append(entry)
                return subprocess.CompletedProcess(args, 0, json.dumps(out) + "\n", "")
            assert args[0] == "route", args
            verb, rest = args[1], args[2:]
            kind = "unicast"
            if rest[0] == "local":
                kind, rest = "local", rest[1:]
            dst = rest[0]
            opts = dict(zip(rest[1::2], rest[2::2], strict=False))
            table = "local" if kind == "local" else "main"
            if dst in self.fail:
                return subprocess.CompletedProcess(args, 2, "", self.fail[dst] + "\n")
            if verb == "replace":
                if kind != "local" and ipaddress.ip_address(opts["via"]) not in ipaddress.ip_network(self.connected):
                    return subprocess.CompletedProcess(args, 2, "", "Error: Nexthop has invalid gateway.\n")
                self.routes[(table, dst)] = {"type": kind, "via": opts.get("via"), "dev": opts.get("dev", "eth0"),
                                             "proto": opts.get("proto", "boot")}
                return subprocess.CompletedProcess(args, 0, "", "")
            if verb == "del":
                r = self.routes.get((table, dst))
                if r is None or r["proto"] != opts.get("proto", r["proto"]):
                    return subprocess.CompletedProcess(args, 2, "", "RTNETLINK answers: No such process\n")
                del self.routes[(table, dst)]
                return subprocess.CompletedProcess(args, 0, "", "")
            raise AssertionError(f"unexpected ip command {args}")

    def ours(self) -> dict[str, str]:
        """``{dst: via or 'local'}`` of the routes tagged with kubemu's protocol."""
        return {dst: (r["via"] or "local") for (_, dst), r in self.routes.items() if r["proto"] == pod_routes.RT_PROTO}


class FakeInformer:
    def __init__(self, nodes: list[dict] | None = None, synced: bool = True):
        self.store = {n["metadata"]["name"]: n for n in nodes or []}
        self.handlers = []
        self.synced = threading.Event()
        if synced:
            self.synced.set()

    def add_handlers(self, handlers):
        self.handlers.append(handlers)

    def start(self):
        pass

    def stop(self):
        pass

    @property
    def has_synced(self):
        return self.synced.is_set()

    def wait_synced(self, timeout_s=None):
        return self.synced.wait(timeout_s)

    def list(self):
        return list(self.store.values())

    def put(self, obj: dict) -> None:
        old = self.store.get(obj["metadata"]["name"])
        self.store[obj["metadata"]["name"]] = obj
        for h in self.handlers:
            if old is None:
                h.on_add(obj)
            else:
                h.on_update(old, obj)

    def remove(self, name: str) -> None:
        obj = self.store.pop(name)
        for h in self.handlers:
            h.on_delete(obj)


THREE = [node("node-1", "10.244.1.0/24", "198.18.0.2"), node("node-2", "10.244.2.0/24", "198.18.0.3"),
         node("node-3", "10.244.3.0/24", "198.18.0.4")]


def agent(nodes=THREE, ip: FakeIP | None = None, synced: bool = True) -> tuple[PodRoutes, FakeIP, FakeInformer]:
    ip = ip or FakeIP()
    informer = FakeInformer(nodes, synced=synced)
    return PodRoutes(None, "node-1", table=RouteTable(ip), informer=informer, resync_s=0.2), ip, informer


# --------------------------------------------------------------------------- the plan


def test_plan_routes_every_other_node_and_makes_its_own_cidr_local():
    plan = plan_routes(THREE, "node-1")
    assert plan.own_known and plan.local == {"10.244.1.0/24"}
    assert plan.routes == {"10.244.2.0/24": "198.18.0.3", "10.244.3.0/24": "198.18.0.4"}
    assert plan.skipped == {}


def test_plan_skips_nodes_it_cannot_route_to_and_says_why():
    nodes = [node("a-own", "10.244.1.0/24", "198.18.0.2"),
             node("b-no-cidr", None, "198.18.0.3"),
             node("c-no-ip", "10.244.3.0/24"),
             node("d-loopback-ip", "10.244.4.0/24", "127.1.0.4"),
             node("e-same-ip", "10.244.5.0/24", "198.18.0.2"),
             node("f-loopback-cidr", "127.244.6.0/24", "198.18.0.6"),
             node("g-overlaps-own", "10.244.1.128/25", "198.18.0.7"),
             node("h-first", "10.244.8.0/24", "198.18.0.8"),
             node("i-duplicate", "10.244.8.0/24", "198.18.0.9"),
             node("j-bad", "not-a-cidr", "198.18.0.10"),
             {"metadata": {"name": "k-empty"}}]
    plan = plan_routes(nodes, "a-own")
    assert plan.routes == {"10.244.8.0/24": "198.18.0.8"}
    assert plan.skipped == {
        "b-no-cidr": "no pod CIDR",
        "c-no-ip": "no IPv4 InternalIP",
        "d-loopback-ip": "InternalIP 127.1.0.4 is a loopback address",
        "e-same-ip": "InternalIP 198.18.0.2 is this node's own",
        "f-loopback-cidr": "pod CIDR 127.244.6.0/24 is a loopback range (not routable)",
        "g-overlaps-own": "pod CIDR 10.244.1.128/25 overlaps this node's",
        "i-duplicate": "pod CIDR 10.244.8.0/24 overlaps node h-first's",
        "j-bad": "invalid pod CIDR 'not-a-cidr'",
        "k-empty": "no pod CIDR; no IPv4 InternalIP",
    }


def test_plan_finds_partial_overlaps_either_way_round():
    nodes = [node("own", "10.1.0.0/24", "198.18.0.1"), node("a", "10.244.8.0/24", "198.18.0.2"),
             node("b", "10.244.0.0/16", "198.18.0.3"), node("c", "10.244.9.128/25", "198.18.0.4"),
             node("d", "10.244.9.0/24", "198.18.0.5"), node("e", "10.244.7.255/32", "198.18.0.6")]
    plan = plan_routes(nodes, "own")
    assert plan.routes == {"10.244.8.0/24": "198.18.0.2", "10.244.9.128/25": "198.18.0.4",
                           "10.244.7.255/32": "198.18.0.6"}
    assert plan.skipped == {"b": "pod CIDR 10.244.0.0/16 overlaps node a's",
                            "d": "pod CIDR 10.244.9.0/24 overlaps node c's"}


def test_plan_without_its_own_node_keeps_nothing_local_and_says_so():
    plan = plan_routes(THREE[1:], "node-1")
    assert not plan.own_known and plan.local == set()
    assert set(plan.routes) == {"10.244.2.0/24", "10.244.3.0/24"}


def test_a_loopback_own_cidr_needs_no_local_route():
    assert plan_routes([node("node-1", "127.244.1.0/24", "127.1.0.1")], "node-1").local == set()


# --------------------------------------------------------------------------- the reconciler


def test_first_sync_writes_anyip_and_one_route_per_other_node_then_nothing():
    routes, ip, _ = agent()
    assert routes.sync()
    assert ip.ours() == {"10.244.1.0/24": "local", "10.244.2.0/24": "198.18.0.3", "10.244.3.0/24": "198.18.0.4"}
    assert ip.writes() == ["route replace local 10.244.1.0/24 dev lo proto 244",
                           "route replace 10.244.2.0/24 via 198.18.0.3 proto 244",
                           "route replace 10.244.3.0/24 via 198.18.0.4 proto 244"]
    ip.commands.clear()
    assert routes.sync()
    assert ip.writes() == []  # level-triggered and idempotent: a converged table is only read
    assert routes.details()["routes"] == {"10.244.2.0/24": "198.18.0.3", "10.244.3.0/24": "198.18.0.4"}


def test_routes_follow_nodes_removed_readdressed_and_recidred():
    routes, ip, informer = agent()
    routes.sync()
    informer.remove("node-3")
    informer.put(node("node-2", "10.244.2.0/24", "198.18.0.30"))  # a new InternalIP
    informer.put(node("node-4", "10.244.4.0/24", "198.18.0.5"))  # joined
    routes.sync()
    assert ip.ours() == {"10.244.1.0/24": "local", "10.244.2.0/24": "198.18.0.30", "10.244.4.0/24": "198.18.0.5"}
    informer.put(node("node-2", "10.244.20.0/24", "198.18.0.30"))  # re-created with another pod CIDR
    routes.sync()
    assert ip.ours() == {"10.244.1.0/24": "local", "10.244.20.0/24": "198.18.0.30", "10.244.4.0/24": "198.18.0.5"}


def test_routes_of_others_are_never_touched_and_removed_ones_are_put_back():
    ip = FakeIP()
    ip.routes[("main", "10.244.2.0/24")] = {"type": "unicast", "via": "198.18.0.99", "dev": "eth0", "proto": "static"}
    ip.routes[("main", "10.9.0.0/16")] = {"type": "unicast", "via": "198.18.0.1", "dev": "eth0", "proto": "boot"}
    routes, ip, _ = agent(ip=ip)
    routes.sync()
    # `ip route replace` takes over a destination someone else routed; what kubemu did not make stays.
    assert ip.routes[("main", "10.9.0.0/16")]["proto"] == "boot"
    assert ip.routes[("main", "10.244.2.0/24")] == {"type": "unicast", "via": "198.18.0.3", "dev": "eth0",
                                                    "proto": "244"}
    del ip.routes[("main", "10.244.3.0/24")]  # somebody ran `ip route del`
    del ip.routes[("local", "10.244.1.0/24")]
    routes.sync()
    assert ip.ours() == {"10.244.1.0/24": "local", "10.244.2.0/24": "198.18.0.3", "10.244.3.0/24": "198.18.0.4"}


def test_stale_routes_of_an_earlier_run_are_removed_once_the_nodes_are_known():
    ip = FakeIP()
    ip.routes[("main", "10.244.7.0/24")] = {"type": "unicast", "via": "198.18.0.8", "dev": "eth0", "proto": "244"}
    ip.routes[("local", "10.244.9.0/24")] = {"type": "local", "via": None, "dev": "lo", "proto": "244"}
    routes, ip, _ = agent(ip=ip)
    routes.sync()
    assert set(ip.ours()) == {"10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"}


def test_without_its_own_node_the_local_routes_stay():
    """A deleted Node (the kubelet registers it again) must not cut its running pods off."""
    routes, ip, informer = agent()
    routes.sync()
    informer.remove("node-1")
    routes.sync()
    assert ip.ours()["10.244.1.0/24"] == "local"


def test_ensure_local_adds_anyip_once_and_sync_keeps_it_while_the_ipam_uses_it():
    routes, ip, informer = agent(nodes=[node("node-1", "10.244.1.0/24", "198.18.0.2")])
    assert routes.ensure_local("10.244.1.5/24")  # normalised to the network
    assert routes.ensure_local("10.244.1.0/24")
    assert ip.writes() == ["route replace local 10.244.1.0/24 dev lo proto 244"]
    informer.put(node("node-1", "10.244.50.0/24", "198.18.0.2"))  # the Node now names another range
    routes.sync()
    assert ip.ours() == {"10.244.1.0/24": "local", "10.244.50.0/24": "local"}
    assert routes.ensure_local("127.244.1.0/24") and "127.244.1.0/24" not in ip.ours()  # local already
    assert not routes.ensure_local("nonsense")


def test_ensure_local_failure_is_reported_and_retried():
    ip = FakeIP()
    ip.fail["10.244.1.0/24"] = "RTNETLINK answers: Operation not permitted"
    routes, ip, _ = agent(ip=ip)
    assert not routes.ensure_local("10.244.1.0/24")
    assert "Operation not permitted" in routes.details()["lastError"]
    del ip.fail["10.244.1.0/24"]
    assert routes.ensure_local("10.244.1.0/24")


def test_a_failing_route_does_not_stop_the_others_and_is_logged_once(caplog):
    nodes = [*THREE, node("node-4", "10.244.4.0/24", "192.0.2.50")]  # not on this node's link
    routes, ip, _ = agent(nodes=nodes)
    with caplog.at_level(logging.WARNING, logger="kubelet.pod_routes"):
        assert not routes.sync()
        assert not routes.sync()
    assert set(ip.ours()) == {"10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"}
    failures = [r.getMessage() for r in caplog.records if "invalid gateway" in r.getMessage()]
    assert failures == ["pod routes: ip route replace 10.244.4.0/24 via 192.0.2.50 proto 244: "
                        "Error: Nexthop has invalid gateway."]
    assert routes.details()["failing"] == ["10.244.4.0/24"]


def test_an_unreadable_table_changes_nothing():
    def broken(args):
        return subprocess.CompletedProcess(args, 1, "", "Cannot open netlink socket: Permission denied")

    routes = PodRoutes(None, "node-1", table=RouteTable(broken), informer=FakeInformer(THREE))
    assert not routes.sync()
    assert "Permission denied" in routes.details()["lastError"]


def test_the_worker_waits_for_the_first_list_then_follows_changes_but_not_heartbeats():
    routes, ip, informer = agent(synced=False)
    routes.start()
    try:
        informer.synced.wait(0.3)
        assert routes.syncs == 0 and ip.ours() == {}  # nothing known yet: nothing written, nothing deleted
        informer.synced.set()
        wait_for(lambda: len(ip.ours()) == 3, timeout_s=5, message="the first sync")
        informer.put(node("node-5", "10.244.5.0/24", "198.18.0.6"))
        wait_for(lambda: "10.244.5.0/24" in ip.ours(), timeout_s=5, message="the route to a new node")
        informer.remove("node-5")
        wait_for(lambda: "10.244.5.0/24" not in ip.ours(), timeout_s=5, message="the route to a deleted node gone")
    finally:
        routes.stop()
    assert ip.ours()  # stopping keeps the routes: the node's pods keep running
    kicked = []
    routes.kick = lambda: kicked.append(1)
    heartbeat = node("node-2", "10.244.2.0/24", "198.18.0.3", conditions=[{"type": "Ready", "status": "True"}])
    routes._updated(THREE[1], heartbeat)
    assert kicked == []
    routes._updated(heartbeat, node("node-2", "10.244.2.0/24", "198.18.0.33"))
    assert kicked == [1]


def test_problem_names_what_is_missing(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert "`ip` command" in pod_routes.problem()
    monkeypatch.setattr(shutil, "which", lambda _name: "/usr/sbin/ip")
    monkeypatch.setattr(pod_routes, "has_net_admin", lambda: False)
    assert "CAP_NET_ADMIN" in pod_routes.problem()
    monkeypatch.setattr(pod_routes, "has_net_admin", lambda: True)
    assert pod_routes.problem() is None


def test_the_kubelet_refuses_routed_without_the_capability(monkeypatch):
    from kubelet import __main__ as kubelet_main

    monkeypatch.setattr(pod_routes, "problem", lambda: "--pod-network routed needs CAP_NET_ADMIN ...")
    args = kubelet_main.build_parser().parse_args(["--pod-network", "routed", "--node-name", "n"])
    with pytest.raises(SystemExit, match="CAP_NET_ADMIN"):
        kubelet_main.build_pod_routes(args, None)
    assert kubelet_main.build_pod_routes(kubelet_main.build_parser().parse_args([]), None) is None
    args = kubelet_main.build_parser().parse_args(["--pod-network", "routed", "--pod-network-resync-period", "0"])
    with pytest.raises(SystemExit, match="--pod-network-resync-period must be greater than 0"):
        kubelet_main.build_pod_routes(args, None)


# --------------------------------------------------------------------------- the real kernel


@pytest.fixture
def netns():
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 (a throwaway network namespace)")
    name = f"kmuroutes{uuid.uuid4().hex[:6]}"
    if subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode != 0:
        pytest.skip("`ip netns add` does not work here")
    try:
        for cmd in (["link", "set", "lo", "up"], ["link", "add", "eth0", "type", "veth", "peer", "name", "eth1"],
                    ["addr", "add", "198.18.0.2/24", "dev", "eth0"], ["link", "set", "eth0", "up"],
                    ["link", "set", "eth1", "up"], ["route", "add", "10.9.0.0/16", "via", "198.18.0.1"]):
            subprocess.run(["ip", "-n", name, *cmd], check=True, capture_output=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_the_ip_commands_against_a_real_kernel(netns):
    def run(args):
        return subprocess.run(["ip", "-n", netns, *args], capture_output=True, text=True, timeout=10)

    routes = PodRoutes(None, "node-1", table=RouteTable(run), informer=FakeInformer(THREE))
    assert routes.sync()
    assert RouteTable(run).read() == ({"10.244.2.0/24": "198.18.0.3", "10.244.3.0/24": "198.18.0.4"},
                                      {"10.244.1.0/24"})
    shown = run(["route", "get", "10.244.1.77"]).stdout
    assert shown.startswith("local 10.244.1.77 dev lo"), shown  # AnyIP: any address of the range is ours
    assert "via 198.18.0.3" in run(["route", "get", "10.244.2.9"]).stdout
    done = subprocess.run(["ip", "netns", "exec", netns, "python3", "-c",
                           "import socket; s = socket.socket(); s.bind(('10.244.1.77', 80)); print('bound')"],
                          capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "bound", done.stderr
    routes.informer.remove("node-3")
    assert routes.sync()
    assert RouteTable(run).read()[0] == {"10.244.2.0/24": "198.18.0.3"}
    assert "10.9.0.0/16 via 198.18.0.1" in run(["route", "show"]).stdout  # not ours: untouched
