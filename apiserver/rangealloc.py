"""Allocations from a range kept in etcd: kube-apiserver's RangeAllocation.

A range of ``size`` items (the addresses of the service IP range, the ports of the node port
range) is a bitmap: item ``i`` is taken when bit ``i`` is set. The bitmap lives in one etcd key as
a ``RangeAllocation`` object, the way kube-apiserver stores ``/registry/ranges/serviceips`` and
``/registry/ranges/servicenodeports``::

    {"apiVersion": "v1", "kind": "RangeAllocation", "metadata": {"name": "serviceips", ...},
     "range": "10.96.0.0/12", "data": "<base64 of the bitmap as a big-endian number>"}

Every change is a compare-and-swap on that key's revision (read, change, write if nobody wrote
meanwhile, else read again), so concurrent creates in one apiserver and across apiserver
replicas never hand out the same item twice: the etcd transaction decides. Within one process a
lock keeps the requests from racing each other for the key, so only other apiservers cost retries. Several items (the
node ports of one service) are taken in one write, all or nothing.

Items asked for by number can be anywhere in the range; items chosen by the allocator are
picked at random, first above a low "static band" kept for the former, as Kubernetes does
(``min(max(16, size/16), 256)`` addresses, ``min(max(16, size/32), 128)`` ports), then in it.

Nothing here knows about Services: :mod:`apiserver.service_allocation` maps IPs and ports to
offsets and decides what a create, update or delete takes and gives back; its repair loop
rebuilds the bitmap from the stored Services with :meth:`RangeAllocator.rebuild`.
"""

from __future__ import annotations

import base64
import logging
import random
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from apiserver.storage import KeyExists, KeyNotFound, RevisionMismatch, Storage
from machinery import errors

log = logging.getLogger(__name__)

# Compare-and-swap attempts before giving up on a contended key.
CAS_ATTEMPTS = 64
_NOT_FULL = re.compile(rb"[^\xff]")
_NOT_EMPTY = re.compile(rb"[^\x00]")


class RangeFull(Exception):
    """No free item is left."""


class AlreadyAllocated(Exception):
    """An item asked for by number is taken; ``offset`` names it."""

    def __init__(self, offset: int):
        super().__init__(f"item {offset} is already allocated")
        self.offset = offset


@dataclass
class Snapshot:
    """The bitmap as stored at ``revision`` (0: not stored yet); ``range`` is the range it was
    written for (another range's bitmap means nothing for this one)."""

    bitmap: bytearray
    revision: int
    range: str


def static_band(size: int, *, ports: bool = False) -> int:
    """How many low items Kubernetes keeps for allocation by number."""
    if ports:
        return min(max(16, size // 32), 128, size)
    return min(max(16, size // 16), 256, size)


def _is_set(bitmap: bytearray, i: int) -> bool:
    return bool(bitmap[i >> 3] >> (i & 7) & 1)


def _set(bitmap: bytearray, i: int) -> None:
    bitmap[i >> 3] |= 1 << (i & 7)


def _clear(bitmap: bytearray, i: int) -> None:
    bitmap[i >> 3] &= ~(1 << (i & 7)) & 0xFF


def _first_free(bitmap: bytearray, lo: int, hi: int) -> int | None:
    """The first clear bit in ``[lo, hi)``, skipping full bytes at C speed."""
    i = lo
    while i < hi:
        if i & 7 == 0:
            found = _NOT_FULL.search(bitmap, i >> 3, (hi + 7) >> 3)
            if found is None:
                return None
            i = max(i, found.start() << 3)
            if i >= hi:
                return None
        if not _is_set(bitmap, i):
            return i
        i += 1
    return None


def set_bits(bitmap: bytearray) -> Iterable[int]:
    """Every set bit, in order."""
    for found in _NOT_EMPTY.finditer(bitmap):
        byte = found.start()
        value = bitmap[byte]
        for bit in range(8):
            if value >> bit & 1:
                yield (byte << 3) + bit


def encode(bitmap: bytearray) -> str:
    number = int.from_bytes(bitmap, "little")
    return base64.b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).decode()


def decode(data: str, size: int) -> bytearray | None:
    """The bitmap of ``data``; None when it is not one for ``size`` items."""
    try:
        number = int.from_bytes(base64.b64decode(data or "", validate=True), "big")
    except (ValueError, TypeError):
        return None
    if number.bit_length() > size:
        return None
    return bytearray(number.to_bytes((size + 7) // 8, "little"))


class RangeAllocator:
    """Items ``0 … size-1`` of one range, allocated through compare-and-swap on ``key``."""

    def __init__(self, storage: Storage, key: str, name: str, range_text: str, size: int, *, band: int = 0,
                 rng: random.Random | None = None):
        if size <= 0:
            raise ValueError(f"the range {range_text} holds no items")
        self.storage = storage
        self.key = key
        self.name = name
        self.range = range_text
        self.size = size
        self.band = min(band, size)
        self._rng = rng or random.Random()
        # One change at a time from this process (kube-apiserver's etcd allocator holds a mutex too):
        # requests of one apiserver then queue here instead of losing compare-and-swaps to each
        # other; only other apiservers' writes cost a retry.
        self._lock = threading.Lock()

    # --- reading --------------------------------------------------------------------------

    def read(self) -> Snapshot:
        """The current bitmap; an absent key is an empty range at revision 0."""
        try:
            obj = self.storage.get(self.key)
        except KeyNotFound:
            return Snapshot(bytearray((self.size + 7) // 8), 0, self.range)
        revision = int(obj["metadata"]["resourceVersion"])
        bitmap = decode(str(obj.get("data") or ""), self.size) if obj.get("range") == self.range else None
        if bitmap is None:
            return Snapshot(bytearray((self.size + 7) // 8), revision, str(obj.get("range") or ""))
        return Snapshot(bitmap, revision, self.range)

    def used(self) -> int:
        snapshot = self.read()
        return sum(bin(b).count("1") for b in snapshot.bitmap) if snapshot.range == self.range else 0

    # --- changing -------------------------------------------------------------------------

    def _pick(self, bitmap: bytearray) -> int:
        """A free item at random: above the static band first, then in it."""
        for lo, hi in ((self.band, self.size), (0, self.band)):
            if lo >= hi:
                continue
            start = self._rng.randrange(lo, hi)
            found = _first_free(bitmap, start, hi)
            if found is None:
                found = _first_free(bitmap, lo, start)
            if found is not None:
                return found
        raise RangeFull(f"range {self.range} is full")

    def _take(self, bitmap: bytearray, wanted: list[int | None]) -> list[int]:
        """Mark ``wanted`` (numbers, or None for any free item) in ``bitmap``; the items taken."""
        taken: list[int] = []
        for offset in wanted:
            if offset is not None:
                if _is_set(bitmap, offset):
                    raise AlreadyAllocated(offset)
                _set(bitmap, offset)
                taken.append(offset)
        for offset in wanted:
            if offset is None:
                chosen = self._pick(bitmap)
                _set(bitmap, chosen)
                taken.append(chosen)
        return taken

    def allocate(self, wanted: list[int | None], *, dry_run: bool = False) -> list[int]:
        """Take every item of ``wanted`` (an offset, or None for "any") in one write; the offsets
        taken, in the order of ``wanted``'s numbers then its Nones. Raises AlreadyAllocated or
        RangeFull and then takes nothing. ``dry_run`` checks and answers without writing."""
        with self._lock:
            for _ in range(CAS_ATTEMPTS):
                snapshot = self.read()
                if snapshot.range != self.range:
                    raise RangeMismatch(snapshot.range)
                taken = self._take(snapshot.bitmap, wanted)
                if dry_run or not taken:
                    return taken
                if self._write(snapshot, snapshot.bitmap):
                    return taken
        raise errors.InternalError(f"cannot allocate from {self.name}: too many concurrent changes, try again")

    def release(self, offsets: Iterable[int]) -> None:
        """Give back ``offsets`` (items not taken are ignored)."""
        offsets = [o for o in offsets if 0 <= o < self.size]
        if not offsets:
            return
        with self._lock:
            for _ in range(CAS_ATTEMPTS):
                snapshot = self.read()
                if snapshot.range != self.range:
                    return  # the repair loop rebuilds a bitmap of another range from the services
                if not any(_is_set(snapshot.bitmap, o) for o in offsets):
                    return
                for offset in offsets:
                    _clear(snapshot.bitmap, offset)
                if self._write(snapshot, snapshot.bitmap):
                    return
        raise errors.InternalError(f"cannot release items of {self.name}: too many concurrent changes")

    def rebuild(self, snapshot: Snapshot, in_use: set[int], leaks: dict[int, int], *, leak_runs: int) -> bool:
        """Write the bitmap of exactly the items ``in_use``, over ``snapshot`` (compare-and-swap on its
        revision: an allocation since then makes this a no-op, returning False). An item set in
        the snapshot but in no object is a leak (a create that died between allocation and
        storage, a release that never happened); it is kept until it has been seen leaking on
        ``leak_runs`` rebuilds, since it may belong to a create still under way. ``leaks``
        counts them across calls."""
        fresh = bytearray((self.size + 7) // 8)
        for offset in in_use:
            if 0 <= offset < self.size:
                _set(fresh, offset)
        if snapshot.range == self.range:
            for offset in set_bits(snapshot.bitmap):
                if offset in in_use or offset >= self.size:
                    continue
                leaks[offset] = leaks.get(offset, 0) + 1
                if leaks[offset] < leak_runs:
                    _set(fresh, offset)
                else:
                    log.warning("%s: releasing leaked item %d (allocated to no object)", self.name, offset)
        for offset in list(leaks):
            if offset in in_use or not _is_set(fresh, offset):
                del leaks[offset]  # in use after all, or released now
        if snapshot.range == self.range and fresh == snapshot.bitmap:
            return True
        return self._write(snapshot, fresh)

    def _write(self, snapshot: Snapshot, bitmap: bytearray) -> bool:
        """Store ``bitmap`` if the key is still at ``snapshot.revision``; False when it is not."""
        obj = {"apiVersion": "v1", "kind": "RangeAllocation",
               "metadata": {"name": self.name},
               "range": self.range, "data": encode(bitmap)}
        try:
            if snapshot.revision == 0:
                self.storage.create(self.key, obj)
            else:
                self.storage.update(self.key, obj, snapshot.revision)
            return True
        except (KeyExists, RevisionMismatch, KeyNotFound):
            return False


class RangeMismatch(Exception):
    """The stored bitmap was written for another range (the flag changed): rebuild it first."""

    def __init__(self, stored: str):
        super().__init__(f"the stored allocation is for range {stored!r}")
        self.stored = stored
