"""Pod IP allocation in the style of the CNI ``host-local`` IPAM plugin.

Each node owns a pod CIDR (kubemu uses loopback ranges such as ``127.0.1.0/24``: every 127.x address
is bindable on Linux with no setup, so each pod gets its own IP without root or network namespaces;
with ``--pod-network routed`` a routable range such as ``10.244.1.0/24``, made local by one AnyIP
route before the first address is handed out, see kubelet/pod_routes.py).
As in host-local, the state is one file per allocated IP in ``state_dir`` (``/var/lib/cni/networks/
<net>/<ip>`` there) holding the owner (the pod sandbox id), plus ``last_reserved_ip`` from which the
next search starts, round-robin, so a just-released IP is not handed out again at once (stale
connections to a dead pod must not reach its successor).

The range skips the network address, the first usable address (host-local's default gateway) and the
broadcast address. An IP file is created with ``O_CREAT|O_EXCL``, so even two processes that share a
state dir by mistake can never both get one IP; allocation additionally runs under an ``flock`` on
``state_dir/lock`` (threads and processes alike) so the owner check and reservation are one step.
Allocation is idempotent per owner: asking again returns the IP the owner already holds.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import threading
from collections.abc import Iterator

LAST_RESERVED_FILE = "last_reserved_ip"
LOCK_FILE = "lock"
MIN_PREFIX_LEN = 8  # at most 2**24 addresses: bounds the round-robin search
MAX_OWNER_LEN = 253


class IPAMError(Exception):
    """An IPAM request could not be served."""


class IPAMExhausted(IPAMError):
    """Every address of the range is allocated."""


class HostLocalIPAM:
    """Allocates IPv4 addresses from ``cidr``, persisting one file per IP under ``state_dir``."""

    def __init__(self, state_dir: str, cidr: str):
        net = ipaddress.ip_network(cidr, strict=False)
        if not isinstance(net, ipaddress.IPv4Network):
            raise ValueError(f"pod CIDR {cidr}: only IPv4 is supported")
        if not MIN_PREFIX_LEN <= net.prefixlen <= 30:
            raise ValueError(f"pod CIDR {cidr}: prefix length must be between /{MIN_PREFIX_LEN} and /30")
        self.network = net
        self.state_dir = state_dir
        self._first = int(net.network_address) + 2  # network address, then the gateway
        self._last = int(net.broadcast_address) - 1
        self._thread_lock = threading.Lock()
        os.makedirs(state_dir, exist_ok=True)

    @property
    def gateway(self) -> str:
        return str(self.network.network_address + 1)

    @property
    def size(self) -> int:
        """How many addresses can be handed out."""
        return self._last - self._first + 1

    def allocate(self, owner_id: str) -> str:
        """An IP for ``owner_id``: the one it holds, else the next free one after the last reserved."""
        _check_owner(owner_id)
        with self._locked():
            held = self._find(owner_id)
            if held is not None:
                return held
            start = self._next_after(self._read_last_reserved())
            for candidate in self._ring(start):
                if self._reserve(candidate, owner_id):
                    self._write_last_reserved(candidate)
                    return str(ipaddress.IPv4Address(candidate))
        first, last = ipaddress.IPv4Address(self._first), ipaddress.IPv4Address(self._last)
        raise IPAMExhausted(f"no free IP address in {self.network} for {owner_id}: all {self.size} addresses "
                            f"from {first} to {last} are allocated (state in {self.state_dir})")

    def release(self, owner_id: str) -> str | None:
        """Free the IP held by ``owner_id``; returns it, or None if the owner held none (idempotent)."""
        with self._locked():
            held = self._find(owner_id)
            if held is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self.state_dir, held))
            return held

    def get(self, owner_id: str) -> str | None:
        """The IP held by ``owner_id``, if any."""
        with self._locked():
            return self._find(owner_id)

    def allocated(self) -> dict[str, str]:
        """Every allocation as ``{owner: ip}``."""
        with self._locked():
            return {owner: ip for ip, owner in self._entries() if owner}

    # -- internals ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            fd = os.open(os.path.join(self.state_dir, LOCK_FILE), os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock

    def _entries(self) -> Iterator[tuple[str, str]]:
        """``(ip, owner)`` for every IP file in the state dir that belongs to this range."""
        for name in os.listdir(self.state_dir):
            if not self._in_range(name):
                continue
            try:
                with open(os.path.join(self.state_dir, name), encoding="utf-8") as f:
                    owner = f.read(MAX_OWNER_LEN + 2).strip()
            except FileNotFoundError:
                continue
            yield name, owner

    def _find(self, owner_id: str) -> str | None:
        return next((ip for ip, owner in self._entries() if owner == owner_id), None)

    def _in_range(self, name: str) -> bool:
        try:
            value = int(ipaddress.IPv4Address(name))
        except ValueError:
            return False
        return self._first <= value <= self._last

    def _ring(self, start: int) -> Iterator[int]:
        """Every address of the range once, starting at ``start`` and wrapping around."""
        for offset in range(self.size):
            yield self._first + (start - self._first + offset) % self.size

    def _next_after(self, last: int | None) -> int:
        if last is None or not self._first <= last <= self._last:
            return self._first
        return last + 1 if last < self._last else self._first

    def _reserve(self, value: int, owner_id: str) -> bool:
        path = os.path.join(self.state_dir, str(ipaddress.IPv4Address(value)))
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, owner_id.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return True

    def _read_last_reserved(self) -> int | None:
        try:
            with open(os.path.join(self.state_dir, LAST_RESERVED_FILE), encoding="utf-8") as f:
                return int(ipaddress.IPv4Address(f.read(64).strip()))
        except (FileNotFoundError, ValueError):
            return None

    def _write_last_reserved(self, value: int) -> None:
        path = os.path.join(self.state_dir, LAST_RESERVED_FILE)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(str(ipaddress.IPv4Address(value)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def _check_owner(owner_id: str) -> None:
    if not owner_id or len(owner_id) > MAX_OWNER_LEN or any(c in owner_id for c in "\n\r\0"):
        raise ValueError(f"invalid IPAM owner id {owner_id!r}: 1-{MAX_OWNER_LEN} characters, no newlines")
