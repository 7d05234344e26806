"""Cluster IPs and node ports of Services: taken before a Service is stored, given back after.

kube-apiserver allocates in the Service's REST storage, around the write to etcd
(pkg/registry/core/service/storage/alloc.go); kubemu's API calls these hooks at the same point:
after validation and admission, just before storage (:meth:`apiserver.api.API.create` and the
update and delete paths).

* **create**: ``spec.clusterIP`` asked for → that address, if it is in ``--service-cluster-ip-range``
  and free (else Invalid, in kube-apiserver's words: ``failed to allocated ip:10.96.0.10 with
  error:provided IP is already allocated``); empty → a random free one; ``None`` (headless) or
  ExternalName → none. NodePort and LoadBalancer services get a node port per port number from
  ``--service-node-port-range`` (asked-for ones checked the same way). If the write then fails,
  everything taken is given back.
* **update**: a service turned into or out of ExternalName takes or gives back its cluster IP;
  node ports added are taken, removed ones given back once the update is stored.
* **delete**: once the object is gone from etcd, its cluster IP and node ports are given back.
* **dry run**: checks and fills the fields without taking anything.

Each allocation is one compare-and-swap on the range's bitmap in etcd
(:mod:`apiserver.rangealloc`), so concurrent creates and several apiservers agree. A process can
still die between taking and storing, or between deleting and giving back: the **repair loop**
(:meth:`ServiceAllocations.repair`, kube-apiserver's ipallocator and portallocator repair
controllers) rebuilds both bitmaps from the stored Services at start-up and every
``--service-allocation-repair-interval`` (3 minutes, as Kubernetes); an item taken by no Service is
given back after it was seen leaking on three runs, so a create under way is never robbed.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable

from apiserver.rangealloc import AlreadyAllocated, RangeAllocator, RangeFull, RangeMismatch, static_band
from apiserver.registry.services import CLUSTER_IP_NONE, needs_node_ports, service_type
from apiserver.storage import Storage, collection_prefix
from machinery import errors, validation

log = logging.getLogger(__name__)

DEFAULT_SERVICE_CIDR = "10.96.0.0/12"  # kubeadm's default
DEFAULT_NODE_PORT_RANGE = "30000-32767"
IPS_KEY = "/registry/ranges/serviceips"
PORTS_KEY = "/registry/ranges/servicenodeports"
# Repairs on which an item must be seen allocated to no Service before it is given back.
LEAK_RUNS = 3
REPAIR_INTERVAL_S = 180.0

Finish = Callable[[bool], None]


def _nothing(ok: bool) -> None:
    return None


def parse_port_range(text: str) -> tuple[int, int]:
    """``30000-32767`` (or ``30000+2767``) → (30000, 32767)."""
    try:
        if "+" in text:
            base, extra = text.split("+", 1)
            lo, hi = int(base), int(base) + int(extra)
        else:
            lo_text, hi_text = text.split("-", 1)
            lo, hi = int(lo_text), int(hi_text)
    except ValueError:
        raise ValueError(f"invalid port range {text!r}: expected FIRST-LAST, such as 30000-32767") from None
    if not 1 <= lo <= hi <= 65535:
        raise ValueError(f"invalid port range {text!r}: ports must be 1-65535, the first not above the last")
    return lo, hi


class ServiceAllocations:
    """The cluster IP range and the node port range of one cluster, with the API's hooks."""

    def __init__(self, storage: Storage, cluster_ip_range: str = DEFAULT_SERVICE_CIDR,
                 node_port_range: str = DEFAULT_NODE_PORT_RANGE):
        self.storage = storage
        self.network = ipaddress.IPv4Network(cluster_ip_range, strict=True)
        if self.network.prefixlen > 30:
            raise ValueError(f"--service-cluster-ip-range {cluster_ip_range} is too small: at least a /30")
        if self.network.prefixlen < 12:
            raise ValueError(f"--service-cluster-ip-range {cluster_ip_range} is too large: at most a /12 "
                             "(as kube-apiserver)")
        # The network and broadcast addresses are never handed out.
        ip_count = self.network.num_addresses - 2
        self.port_lo, self.port_hi = parse_port_range(node_port_range)
        port_count = self.port_hi - self.port_lo + 1
        self.ips = RangeAllocator(storage, IPS_KEY, "serviceips", str(self.network), ip_count,
                                  band=static_band(ip_count))
        self.ports = RangeAllocator(storage, PORTS_KEY, "servicenodeports", f"{self.port_lo}-{self.port_hi}",
                                    port_count, band=static_band(port_count, ports=True))
        self._leaks: dict[str, dict[int, int]] = {"ips": {}, "ports": {}}
        self._repair_lock = threading.Lock()
        self.repairs = 0
        self.repaired = threading.Event()  # set after the first successful repair

    # --- addresses and offsets ------------------------------------------------------------

    def first_ip(self) -> str:
        """The first address of the range: the ``kubernetes`` Service's."""
        return str(self.network.network_address + 1)

    def ip_offset(self, ip: str) -> int | None:
        try:
            address = ipaddress.IPv4Address(ip)
        except (ipaddress.AddressValueError, ValueError):
            return None
        offset = int(address) - int(self.network.network_address) - 1
        return offset if 0 <= offset < self.ips.size else None

    def ip_at(self, offset: int) -> str:
        return str(self.network.network_address + 1 + offset)

    def port_offset(self, port) -> int | None:
        if isinstance(port, int) and not isinstance(port, bool) and self.port_lo <= port <= self.port_hi:
            return port - self.port_lo
        return None

    @property
    def port_range(self) -> str:
        return f"{self.port_lo}-{self.port_hi}"

    # --- the hooks ------------------------------------------------------------------------

    def begin_create(self, svc: dict, *, dry_run: bool = False) -> Finish:
        """Take what a new Service needs and fill it in; the returned function, called with the
        write's outcome, gives everything back if it failed."""
        taken_ip = self._take_cluster_ip(svc, dry_run) if service_type(svc) != "ExternalName" else None
        try:
            taken_ports = self._take_node_ports(svc, set(), dry_run) if needs_node_ports(svc) else []
        except BaseException:
            if taken_ip is not None and not dry_run:
                self.ips.release([taken_ip])
            raise
        return self._finisher(([taken_ip] if taken_ip is not None else []), taken_ports, dry_run)

    def begin_update(self, new: dict, old: dict, *, dry_run: bool = False) -> Finish:
        """Take what an updated Service newly needs; once the update is stored, give back what it
        no longer uses (or, if it failed, what was just taken)."""
        taken_ip = None
        released_ips: list[int] = []
        if service_type(old) == "ExternalName" and service_type(new) != "ExternalName":
            taken_ip = self._take_cluster_ip(new, dry_run)
        elif service_type(old) != "ExternalName" and service_type(new) == "ExternalName":
            released_ips = [o for o in [self.ip_offset(_spec(old).get("clusterIP") or "")] if o is not None]
        old_ports = set(self._node_port_offsets(old)) if needs_node_ports(old) else set()
        try:
            taken_ports = self._take_node_ports(new, old_ports, dry_run) if needs_node_ports(new) else []
        except BaseException:
            if taken_ip is not None and not dry_run:
                self.ips.release([taken_ip])
            raise
        new_ports = set(self._node_port_offsets(new)) if needs_node_ports(new) else set()
        released_ports = sorted(old_ports - new_ports)
        taken_ips = [taken_ip] if taken_ip is not None else []

        def finish(ok: bool) -> None:
            if dry_run:
                return
            if ok:
                self._release(released_ips, released_ports)
            else:
                self._release(taken_ips, taken_ports)

        return finish

    def after_delete(self, svc: dict) -> None:
        """Give back what a deleted Service held (best effort: the repair loop catches a failure)."""
        if not isinstance(svc, dict) or svc.get("kind") not in (None, "Service"):
            return
        ips = [] if service_type(svc) == "ExternalName" else \
            [o for o in [self.ip_offset(_spec(svc).get("clusterIP") or "")] if o is not None]
        ports = self._node_port_offsets(svc) if needs_node_ports(svc) else []
        try:
            self._release(ips, ports)
        except errors.APIError as e:
            log.warning("giving back the cluster IP and node ports of deleted service %s failed (the repair "
                        "loop will): %s", (svc.get("metadata") or {}).get("name"), e)

    def _finisher(self, ips: list[int], ports: list[int], dry_run: bool) -> Finish:
        if dry_run or not (ips or ports):
            return _nothing

        def finish(ok: bool) -> None:
            if not ok:
                self._release(ips, ports)

        return finish

    def _release(self, ips: list[int], ports: list[int]) -> None:
        if ips:
            self.ips.release(ips)
        if ports:
            self.ports.release(ports)

    # --- cluster IPs ----------------------------------------------------------------------

    def _take_cluster_ip(self, svc: dict, dry_run: bool) -> int | None:
        spec = svc.setdefault("spec", {})
        wanted = spec.get("clusterIP") or ""
        if wanted == CLUSTER_IP_NONE:
            return None
        name = (svc.get("metadata") or {}).get("name", "")
        if wanted:
            offset = self.ip_offset(wanted)
            if offset is None:
                raise self._ip_invalid(name, spec, wanted, f"provided IP is not in the valid range. The range of "
                                                           f"valid IPs is {self.network}")
            try:
                self._allocate(self.ips, [offset], dry_run)
            except AlreadyAllocated:
                raise self._ip_invalid(name, spec, wanted, "provided IP is already allocated") from None
        else:
            try:
                offset = self._allocate(self.ips, [None], dry_run)[0]
            except RangeFull:
                raise errors.InternalError("failed to allocate a serviceIP: range is full") from None
        spec["clusterIP"] = self.ip_at(offset)
        spec["clusterIPs"] = [spec["clusterIP"]]
        return offset

    @staticmethod
    def _ip_invalid(name: str, spec: dict, ip: str, why: str) -> errors.Invalid:
        # kube-apiserver prints the []string value in Go syntax: []string{"10.96.0.10"}.
        ips = ", ".join(f'"{v}"' for v in (spec.get("clusterIPs") or [ip]))
        cause = errors.Cause("spec.clusterIPs", f"Invalid value: []string{{{ips}}}: failed to allocated ip:{ip} "
                                                f"with error:{why}", validation.INVALID)
        return errors.Invalid(f'Service "{name}" is invalid: {cause}', causes=[cause], kind="Service", name=name)

    # --- node ports -----------------------------------------------------------------------

    def _node_port_offsets(self, svc: dict) -> list[int]:
        offsets = {self.port_offset(p.get("nodePort")) for p in _ports(svc)}
        return sorted(o for o in offsets if o is not None)

    def _take_node_ports(self, svc: dict, held: set[int], dry_run: bool) -> list[int]:
        """Fill every port's nodePort: asked-for ones not already ``held`` are taken, missing ones
        chosen (ports with the same number share one node port); returns the offsets taken."""
        name = (svc.get("metadata") or {}).get("name", "")
        ports = _ports(svc)
        by_number: dict[int, int] = {p["port"]: p["nodePort"] for p in ports if p.get("nodePort")}
        wanted: list[int | None] = []
        fields: dict[int, tuple[int, int]] = {}  # offset -> (index of the port asking for it, its node port)
        for i, port in enumerate(ports):
            node_port = port.get("nodePort") or by_number.get(port.get("port"))
            if node_port:
                offset = self.port_offset(node_port)
                if offset is None:
                    raise self._port_invalid(name, i, node_port, f"provided port is not in the valid range. The "
                                                                 f"range of valid ports is {self.port_range}")
                if offset not in held and offset not in wanted:
                    wanted.append(offset)
                    fields[offset] = (i, node_port)
        missing = [p for p in ports if not (p.get("nodePort") or by_number.get(p.get("port")))]
        numbers = list(dict.fromkeys(p.get("port") for p in missing))
        wanted += [None] * len(numbers)
        try:
            taken = self._allocate(self.ports, wanted, dry_run) if wanted else []
        except AlreadyAllocated as e:
            index, value = fields[e.offset]
            raise self._port_invalid(name, index, value, "provided port is already allocated") from None
        except RangeFull:
            raise errors.InternalError("failed to allocate a nodePort: range is full") from None
        chosen = iter(taken[len(wanted) - len(numbers):])
        for number in numbers:
            by_number[number] = self.port_lo + next(chosen)
        for port in ports:
            if not port.get("nodePort"):
                port["nodePort"] = by_number[port.get("port")]
        return taken

    @staticmethod
    def _port_invalid(name: str, index: int, port, why: str) -> errors.Invalid:
        cause = validation.invalid(f"spec.ports[{index}].nodePort", port, why)
        return errors.Invalid(f'Service "{name}" is invalid: {cause}', causes=[cause], kind="Service", name=name)

    def _allocate(self, allocator: RangeAllocator, wanted: list[int | None], dry_run: bool) -> list[int]:
        try:
            return allocator.allocate(wanted, dry_run=dry_run)
        except RangeMismatch as e:
            log.warning("%s: the stored allocation is for %s, not %s: rebuilding it from the services",
                        allocator.name, e.stored or "nothing", allocator.range)
            self.repair()
            return allocator.allocate(wanted, dry_run=dry_run)

    # --- repair ---------------------------------------------------------------------------

    def repair(self) -> bool:
        """Rebuild both bitmaps from the stored Services (see the module docstring); True when both
        were written (or already right), False when an allocation raced and the next run decides."""
        with self._repair_lock:
            ip_snapshot, port_snapshot = self.ips.read(), self.ports.read()
            services = self.storage.list(collection_prefix("services")).items
            ips: set[int] = set()
            ports: set[int] = set()
            for svc in services:
                if service_type(svc) != "ExternalName":
                    offset = self.ip_offset(_spec(svc).get("clusterIP") or "")
                    if offset is not None:
                        ips.add(offset)
                if needs_node_ports(svc):
                    ports.update(self._node_port_offsets(svc))
            done = self.ips.rebuild(ip_snapshot, ips, self._leaks["ips"], leak_runs=LEAK_RUNS)
            done = self.ports.rebuild(port_snapshot, ports, self._leaks["ports"], leak_runs=LEAK_RUNS) and done
            self.repairs += 1
            return done

    def run_repairs(self, stop: threading.Event, interval_s: float = REPAIR_INTERVAL_S) -> None:
        """Repair now (retrying every second until it succeeds, as kube-apiserver does before it
        serves), then every ``interval_s``."""
        while not stop.is_set():
            try:
                if self.repair():
                    self.repaired.set()
                    break
            except errors.APIError as e:
                log.warning("service allocation repair: %s; retrying", e)
            except Exception:  # noqa: BLE001 - a bug must not stop the loop (nor Services with it)
                log.exception("service allocation repair failed; retrying")
            stop.wait(1.0)
        while not stop.wait(interval_s):
            try:
                self.repair()
            except errors.APIError as e:
                log.warning("service allocation repair: %s", e)
            except Exception:  # noqa: BLE001
                log.exception("service allocation repair failed")

    def stats(self) -> dict:
        return {"serviceClusterIPRange": str(self.network), "serviceNodePortRange": self.port_range,
                "repairs": self.repairs}


def _spec(svc: dict) -> dict:
    spec = svc.get("spec") if isinstance(svc, dict) else None
    return spec if isinstance(spec, dict) else {}


def _ports(svc: dict) -> list[dict]:
    ports = _spec(svc).get("ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []
