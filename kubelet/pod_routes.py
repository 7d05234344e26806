"""The routed pod network (``kubemu-kubelet --pod-network routed``): flannel's host-gw backend, in the kubelet.

Every node owns a pod CIDR (its Node's ``spec.podCIDR``, e.g. ``10.244.2.0/24``) and every node's
InternalIP is reachable from every other node on one link (a bridge, a docker network, a LAN). Then
two kinds of route, in the network namespace the kubelet runs in, make pods reach each other by IP:

* **AnyIP** — ``ip route replace local <own pod CIDR> dev lo``: every address of the node's own
  pod CIDR is local, so a pod binds its IP (``10.244.2.7:80``) without an address being configured
  for it; the built-in host-local IPAM (or a CNI plugin) hands out addresses as before. Packets for
  any of them, from this node or from outside, are delivered to the socket bound there.
* **host-gw** — ``ip route replace <other node's pod CIDR> via <its InternalIP>`` for every other
  Node: a packet for a pod elsewhere goes straight to the node that owns it, which delivers it by
  its own AnyIP route. The source address is the sending node's, so the reply is plainly routed
  back; no encapsulation, no NAT.

Both are tagged with routing protocol :data:`RT_PROTO` (244, ``proto 244`` in ``ip route``) so the
agent knows its own routes from everyone else's: :class:`RouteTable` reads them with ``ip -j route
show table all proto 244`` and touches nothing else.

:class:`PodRoutes` keeps them current the level-triggered way: an informer watches Nodes; a
change to any node's pod CIDRs or addresses (not its heartbeats) wakes one worker that computes the
whole wanted table from the cache (:func:`plan_routes`), reads the actual one, and adds, replaces
and deletes the difference; it also runs every ``resync_s`` (10 s, as flannel checks its routes)
to put back what someone removed. Only one sync runs at a time and a wake-up while one runs is
one more sync, so work stays bounded however many Nodes change. A failed ``ip`` command is
logged once per route and retried with the next sync (sooner, with backoff up to the resync
period).

Outages: while the apiserver is away the informer keeps its cache, so routes stay as they were;
when it answers again the informer lists or resumes and the next sync applies what changed. Before
the first list completes nothing is synced, so a restarted kubelet never deletes routes it merely
has not heard about yet. On shutdown the routes stay: the node's containers keep running after the
kubelet stops (``kubemu down`` or the next kubelet start deals with them) and must stay reachable;
they vanish with the network namespace or container, and on a machine of its own
``ip route flush table all proto 244`` removes them. An AnyIP route of the node's own is removed
only when its Node is known and names another range that the IPAM does not hand out from (a
leftover of an earlier run); while the Node is missing (deleted, registering again) all stay.

Needs CAP_NET_ADMIN for the ``ip`` commands (:func:`problem` says what is missing) and iproute2.
"""

from __future__ import annotations

import bisect
import ipaddress
import json
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from machinery import meta
from machinery.client import APIClient
from machinery.informer import Handlers, Informer

log = logging.getLogger(__name__)

RT_PROTO = "244"  # the routing protocol number that marks kubemu's routes
IP_TIMEOUT_S = 10.0
DEFAULT_RESYNC_S = 10.0
RETRY_INITIAL_S = 0.5
CAP_NET_ADMIN = 12
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")

IPRunner = Callable[[list[str]], subprocess.CompletedProcess]


class RouteError(Exception):
    """An ``ip`` command failed; the message has the command and what it said."""


def run_ip(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT_S, check=False)


def _capabilities(field_name: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def has_net_admin() -> bool:
    """Whether an ``ip`` command this process runs may change routes: root with CAP_NET_ADMIN effective,
    or the capability in the ambient set (inherited by the programs a non-root process runs)."""
    bit = 1 << CAP_NET_ADMIN
    return (os.geteuid() == 0 and bool(_capabilities("CapEff") & bit)) or bool(_capabilities("CapAmb") & bit)


def problem() -> str | None:
    """Why ``--pod-network routed`` cannot work in this process, or None."""
    if not shutil.which("ip"):
        return "--pod-network routed needs the `ip` command (Debian/Ubuntu: apt-get install iproute2)"
    if not has_net_admin():
        return ("--pod-network routed needs CAP_NET_ADMIN to change routes: run the kubelet as root (in a container "
                "with cap_add: [NET_ADMIN]), or give it the capability as an ambient one (systemd: "
                "AmbientCapabilities=CAP_NET_ADMIN)")
    return None


def _network(text) -> ipaddress.IPv4Network | None:
    try:
        net = ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return None
    return net if isinstance(net, ipaddress.IPv4Network) else None


# --------------------------------------------------------------------------- the kernel's side


class RouteTable:
    """The routes of this network namespace tagged with :data:`RT_PROTO`, through the ``ip`` command."""

    def __init__(self, run: IPRunner = run_ip):
        self._run = run

    def _ip(self, *args: str) -> str:
        try:
            done = self._run(list(args))
        except (OSError, subprocess.TimeoutExpired) as e:
            raise RouteError(f"ip {' '.join(args)}: {e}") from None
        if done.returncode != 0:
            detail = (done.stderr or done.stdout or "").strip() or f"exit code {done.returncode}"
            raise RouteError(f"ip {' '.join(args)}: {detail}")
        return done.stdout or ""

    def read(self) -> tuple[dict[str, str], set[str]]:
        """``({pod CIDR: gateway}, {local pod CIDRs})``: the routes kubemu made here."""
        text = self._ip("-j", "-4", "route", "show", "table", "all", "proto", RT_PROTO).strip()
        try:
            entries = json.loads(text) if text else []
        except ValueError:
            raise RouteError(f"ip -j route printed no JSON: {text[:200]!r}") from None
        remote: dict[str, str] = {}
        local: set[str] = set()
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            net = _network(entry.get("dst", ""))
            if net is None:
                continue
            if entry.get("type") == "local":
                local.add(str(net))
            elif entry.get("gateway"):
                remote[str(net)] = str(entry["gateway"])
        return remote, local

    def replace(self, cidr: str, via: str) -> None:
        self._ip("route", "replace", cidr, "via", via, "proto", RT_PROTO)

    def delete(self, cidr: str) -> None:
        self._ip("route", "del", cidr, "proto", RT_PROTO)

    def replace_local(self, cidr: str) -> None:
        self._ip("route", "replace", "local", cidr, "dev", "lo", "proto", RT_PROTO)

    def delete_local(self, cidr: str) -> None:
        self._ip("route", "del", "local", cidr, "dev", "lo", "proto", RT_PROTO)


# --------------------------------------------------------------------------- what the routes should be


@dataclass
class RoutePlan:
    local: set[str] = field(default_factory=set)  # this node's own pod CIDRs (AnyIP)
    routes: dict[str, str] = field(default_factory=dict)  # another node's pod CIDR -> its InternalIP
    skipped: dict[str, str] = field(default_factory=dict)  # node -> why it gets no route
    own_known: bool = False  # this node's Node is in the cache


def pod_cidrs(node: dict) -> tuple[list[ipaddress.IPv4Network], list[str]]:
    """A Node's IPv4 pod CIDRs (``spec.podCIDRs``, else ``spec.podCIDR``) and the values that are not."""
    spec = node.get("spec") or {}
    values = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    good, bad = [], []
    for value in values if isinstance(values, list) else [values]:
        net = _network(value)
        if net is None:
            bad.append(str(value))
        elif net not in good:
            good.append(net)
    return good, bad


def internal_ip(node: dict) -> str:
    """The Node's first IPv4 InternalIP, or ''."""
    for address in (node.get("status") or {}).get("addresses") or []:
        if isinstance(address, dict) and address.get("type") == "InternalIP":
            try:
                ip = ipaddress.ip_address(str(address.get("address", "")))
            except ValueError:
                continue
            if isinstance(ip, ipaddress.IPv4Address):
                return str(ip)
    return ""


def route_key(node: dict) -> tuple:
    """What of a Node the routes depend on: a change to anything else needs no sync."""
    spec = node.get("spec") or {}
    return (spec.get("podCIDR"), tuple(spec.get("podCIDRs") or ()),
            tuple((a.get("type"), a.get("address")) for a in (node.get("status") or {}).get("addresses") or []
                  if isinstance(a, dict)))


def plan_routes(nodes: list[dict], own: str) -> RoutePlan:
    """The routes this node wants: AnyIP for its own pod CIDRs, one route per other node's pod CIDR.

    A node gets no route (with the reason in ``skipped``) without a pod CIDR or InternalIP, when its
    InternalIP is a loopback address or this node's own, when a pod CIDR is a loopback range (not
    routable: pods on loopback are reachable on their own machine only), overlaps this node's, or
    was already routed to a node that comes earlier by name.
    """
    plan = RoutePlan()
    own_ip = ""
    own_nets: list[ipaddress.IPv4Network] = []
    for node in nodes:
        if meta.name_of(node) == own:
            plan.own_known = True
            own_ip = internal_ip(node)
            own_nets = [n for n in pod_cidrs(node)[0] if not n.subnet_of(LOOPBACK)]
            plan.local = {str(n) for n in own_nets}
    claimed = _Ranges()
    for node in sorted(nodes, key=meta.name_of):
        name = meta.name_of(node)
        if name == own:
            continue
        nets, bad = pod_cidrs(node)
        ip = internal_ip(node)
        reasons = [f"invalid pod CIDR {value!r}" for value in bad]
        if not nets and not bad:
            reasons.append("no pod CIDR")
        if not ip:
            plan.skipped[name] = "; ".join(reasons + ["no IPv4 InternalIP"])
            continue
        if ipaddress.IPv4Address(ip) in LOOPBACK:
            plan.skipped[name] = "; ".join(reasons + [f"InternalIP {ip} is a loopback address"])
            continue
        if ip == own_ip:
            plan.skipped[name] = "; ".join(reasons + [f"InternalIP {ip} is this node's own"])
            continue
        for net in nets:
            if net.subnet_of(LOOPBACK):
                reasons.append(f"pod CIDR {net} is a loopback range (not routable)")
            elif any(net.overlaps(o) for o in own_nets):
                reasons.append(f"pod CIDR {net} overlaps this node's")
            elif (clash := claimed.overlapping(net)) is not None:
                reasons.append(f"pod CIDR {net} overlaps node {clash}'s")
            else:
                claimed.add(net, name)
                plan.routes[str(net)] = ip
        if reasons:
            plan.skipped[name] = "; ".join(reasons)
    return plan


class _Ranges:
    """Disjoint address ranges with an owner each, sorted: an overlap check is a binary search, so a plan
    of N nodes costs N log N, not N²."""

    def __init__(self):
        self._starts: list[int] = []
        self._entries: list[tuple[int, int, str]] = []  # (first, last, owner), sorted by first

    def overlapping(self, net: ipaddress.IPv4Network) -> str | None:
        first, last = int(net.network_address), int(net.broadcast_address)
        i = bisect.bisect_right(self._starts, last)  # entries [0, i) start at or before ``last``
        if i and self._entries[i - 1][1] >= first:
            return self._entries[i - 1][2]
        return None

    def add(self, net: ipaddress.IPv4Network, owner: str) -> None:
        first = int(net.network_address)
        i = bisect.bisect_left(self._starts, first)
        self._starts.insert(i, first)
        self._entries.insert(i, (first, int(net.broadcast_address), owner))


# --------------------------------------------------------------------------- the agent


class PodRoutes:
    """Keeps this node's AnyIP and host-gw routes equal to what the Nodes say (see the module docstring)."""

    def __init__(self, client: APIClient | None, node_name: str, *, table: RouteTable | None = None,
                 resync_s: float = DEFAULT_RESYNC_S, informer: Informer | None = None):
        self.node_name = node_name
        self.table = table or RouteTable()
        self.resync_s = resync_s
        self.informer = informer or Informer(client, "nodes", name="pod-routes")
        self.informer.add_handlers(Handlers(on_add=lambda _n: self.kick(), on_update=self._updated,
                                            on_delete=lambda _n: self.kick()))
        self._lock = threading.Lock()  # one writer of the table at a time (the worker, pod workers' ensure_local)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ensured: set[str] = set()  # pod CIDRs the IPAM hands out from: their AnyIP route is in place
        self._failing: dict[str, str] = {}  # route -> the error last logged for it
        self.syncs = 0
        self.last_sync = ""
        self.last_error = ""
        self.plan = RoutePlan()

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.informer.start()
        self._thread = threading.Thread(target=self._run, daemon=True, name="pod-routes")
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; the routes stay (see the module docstring)."""
        self._stop.set()
        self._wake.set()
        self.informer.stop()
        if self._thread is not None:
            self._thread.join(timeout=IP_TIMEOUT_S + 1)

    def kick(self) -> None:
        self._wake.set()

    def _updated(self, old: dict, new: dict) -> None:
        if route_key(old) != route_key(new):
            self.kick()

    def _run(self) -> None:
        wait = self.resync_s
        retry = RETRY_INITIAL_S
        while not self._stop.is_set():
            if not self.informer.has_synced:
                self.informer.wait_synced(0.5)
                continue
            try:
                ok = self.sync()
            except Exception:  # noqa: BLE001 - the agent outlives any surprise; the next sync tries again
                log.exception("pod routes: sync failed unexpectedly")
                ok = False
            if ok:
                wait, retry = self.resync_s, RETRY_INITIAL_S
            else:
                wait, retry = min(retry, self.resync_s), min(retry * 2, self.resync_s)
            self._wake.wait(wait)
            self._wake.clear()

    # --- the work -------------------------------------------------------------------------

    def ensure_local(self, cidr: str) -> bool:
        """Make every address of ``cidr`` local (AnyIP) before the IPAM hands one out; False when it failed."""
        net = _network(cidr)
        if net is None:
            return False
        if str(net) in self._ensured:
            return True
        if not net.subnet_of(LOOPBACK):  # loopback ranges are local already
            with self._lock:
                try:
                    self.table.replace_local(str(net))
                except RouteError as e:
                    self._note_failure(f"local {net}", str(e))
                    return False
            log.info("pod routes: the addresses of %s are local (ip route replace local %s dev lo)", net, net)
        self._ensured.add(str(net))
        return True

    def sync(self) -> bool:
        """Make the table match the Nodes in the cache; True when every route is as wanted."""
        plan = plan_routes(self.informer.list(), self.node_name)
        for name, reason in plan.skipped.items():
            if self.plan.skipped.get(name) != reason:
                log.info("pod routes: no route to node %s: %s", name, reason)
        self.plan = plan
        ok = True
        with self._lock:
            try:
                remote, local = self.table.read()
            except RouteError as e:
                self._note_failure("read", str(e))
                return False
            self._failing.pop("read", None)
            want_local = plan.local | {c for c in self._ensured if not _is_loopback(c)}
            steps: list[tuple[str, Callable[[], None], str]] = []
            for cidr in sorted(want_local - local):
                steps.append((f"local {cidr}", lambda c=cidr: self.table.replace_local(c), f"add local {cidr}"))
            for cidr, via in sorted(plan.routes.items()):
                if remote.get(cidr) != via:
                    steps.append((cidr, lambda c=cidr, v=via: self.table.replace(c, v), f"route {cidr} via {via}"))
            for cidr in sorted(set(remote) - set(plan.routes)):
                steps.append((cidr, lambda c=cidr: self.table.delete(c), f"delete route {cidr} via {remote[cidr]}"))
            if plan.own_known:  # without our own Node (deleted, re-registering) keep every local route
                for cidr in sorted(local - want_local):
                    steps.append((f"local {cidr}", lambda c=cidr: self.table.delete_local(c), f"delete local {cidr}"))
            for key, apply, what in steps:
                try:
                    apply()
                except RouteError as e:
                    self._note_failure(key, str(e))
                    ok = False
                    continue
                self._failing.pop(key, None)
                log.info("pod routes: %s", what)
            attempted = {key for key, _, _ in steps}
            for key in [k for k in self._failing if k != "read" and k not in attempted]:
                self._failing.pop(key, None)  # no longer needs doing: not failing any more
        self.syncs += 1
        self.last_sync = meta.format_time()
        if ok:
            self.last_error = ""
        return ok

    def _note_failure(self, key: str, message: str) -> None:
        self.last_error = message
        if self._failing.get(key) != message:
            log.warning("pod routes: %s", message)
        self._failing[key] = message

    def details(self) -> dict:
        """For the kubelet's Describe: what is routed where, and what could not be."""
        return {"mode": "routed", "local": sorted(self.plan.local | self._ensured),
                "routes": dict(sorted(self.plan.routes.items())), "skipped": dict(sorted(self.plan.skipped.items())),
                "syncs": self.syncs, "lastSync": self.last_sync, "lastError": self.last_error,
                "failing": sorted(self._failing)}


def _is_loopback(cidr: str) -> bool:
    net = _network(cidr)
    return net is None or net.subnet_of(LOOPBACK)
