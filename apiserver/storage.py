"""Object storage on etcd: JSON values, revisions as resourceVersions, compare-and-swap writes.

The only layer that knows objects live in etcd. Every object is stored as readable JSON at
``/registry/<resource>/<namespace>/<name>`` (``/registry/<resource>/<name>`` when
cluster-scoped) *without* ``metadata.resourceVersion``: like Kubernetes, the version is the
key's etcd ``mod_revision`` and is filled in on every read, so it can never disagree with
the store.

Contract (mirrors k8s.io/apiserver/pkg/storage.Interface):

- ``create`` succeeds only if the key is absent (txn compare create_revision == 0).
- ``update`` with an ``expected_revision`` succeeds only if the key's mod_revision still
  equals it (txn compare), otherwise :class:`RevisionMismatch` carries the current object.
- ``delete`` likewise, and returns the last state with the deletion's revision.
- ``list`` reads at one revision; pages continue at the same revision; a compacted revision
  raises :class:`errors.Expired`.
- ``watch`` yields every change after ``start_revision`` in order, with the previous value,
  and raises :class:`errors.Expired` when that revision was compacted.

etcd being unreachable surfaces as :class:`errors.Unavailable` with a message saying so.
A value that is not valid JSON (someone wrote garbage with etcdctl) is logged and skipped by
list and watch, and reported as an InternalError by get: it never takes a component down.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from apiserver.etcd import EtcdClient, EtcdCompacted, EtcdError, EtcdUnavailable, prefix_range_end
from machinery import errors

log = logging.getLogger(__name__)

REGISTRY_PREFIX = "/registry"
# How many keys one etcd range read fetches while filling a page with selector matches.
LIST_CHUNK = 500


class KeyExists(Exception):
    """create found the key already present."""


class KeyNotFound(Exception):
    """The key is absent."""


class RevisionMismatch(Exception):
    """A compare-and-swap found another revision; ``current`` is the stored object."""

    def __init__(self, current: dict):
        super().__init__("revision mismatch")
        self.current = current


@dataclass
class ListPage:
    items: list[dict]
    revision: int
    continue_token: str = ""
    remaining: int | None = None


@dataclass(frozen=True)
class StorageEvent:
    """One change: type ADDED/MODIFIED/DELETED, the object after (for DELETED: the last state
    with the deletion revision) and before (None for ADDED), or a BOOKMARK at ``revision``."""

    type: str
    revision: int
    object: dict | None = None
    previous: dict | None = None
    key: str = ""  # the etcd key changed ("" for a BOOKMARK)


def object_key(resource: str, namespace: str, name: str) -> str:
    return f"{REGISTRY_PREFIX}/{resource}/{namespace}/{name}" if namespace else f"{REGISTRY_PREFIX}/{resource}/{name}"


def collection_prefix(resource: str, namespace: str = "") -> str:
    return f"{REGISTRY_PREFIX}/{resource}/{namespace}/" if namespace else f"{REGISTRY_PREFIX}/{resource}/"


def _decode(value: bytes, revision: int, key: bytes) -> dict | None:
    try:
        obj = json.loads(value)
        if not isinstance(obj, dict):
            raise ValueError("not a JSON object")
    except ValueError as e:
        log.error("skipping undecodable value at %s: %s", key.decode(errors="replace"), e)
        return None
    obj.setdefault("metadata", {})
    if isinstance(obj["metadata"], dict):
        obj["metadata"]["resourceVersion"] = str(revision)
    return obj


def _encode(obj: dict) -> bytes:
    body = dict(obj)
    meta = dict(body.get("metadata") or {})
    meta.pop("resourceVersion", None)
    body["metadata"] = meta
    return json.dumps(body, separators=(",", ":")).encode()


def encode_continue(revision: int, next_key: str) -> str:
    raw = json.dumps({"rv": revision, "start": next_key}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError) as e:
        raise errors.BadRequest(f"invalid continue token: {e}") from None


class Storage:
    """Objects in etcd, keyed by strings, with revisions as versions."""

    def __init__(self, etcd: EtcdClient):
        self.etcd = etcd

    def _call(self, fn: Callable, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EtcdCompacted as e:
            raise errors.Expired(f"too old resource version: {e}") from None
        except EtcdUnavailable as e:
            raise errors.Unavailable(f"storage is unavailable: {e}") from None
        except EtcdError as e:
            raise errors.InternalError(f"storage error: {e}") from None

    def current_revision(self) -> int:
        resp = self._call(self.etcd.range, REGISTRY_PREFIX.encode(), count_only=True)
        return resp.header.revision

    def check_not_compacted(self, revision: int) -> None:
        """Raise :class:`errors.Expired` when etcd no longer has ``revision`` (it was compacted)."""
        try:
            self.etcd.range(REGISTRY_PREFIX.encode(), count_only=True, revision=revision)
        except EtcdCompacted as e:
            raise errors.Expired(f"too old resource version: {e}") from None
        except EtcdUnavailable as e:
            raise errors.Unavailable(f"storage is unavailable: {e}") from None
        except EtcdError:
            pass  # a revision in the future: nothing was compacted

    def get(self, key: str) -> dict:
        resp = self._call(self.etcd.range, key.encode())
        if not resp.kvs:
            raise KeyNotFound(key)
        kv = resp.kvs[0]
        obj = _decode(kv.value, kv.mod_revision, kv.key)
        if obj is None:
            raise errors.InternalError(f"the object stored at {key} cannot be decoded")
        return obj

    def create(self, key: str, obj: dict) -> dict:
        k = key.encode()
        resp = self._call(self.etcd.txn, [EtcdClient.compare_absent(k)], [EtcdClient.op_put(k, _encode(obj))])
        if not resp.succeeded:
            raise KeyExists(key)
        return _with_revision(obj, resp.header.revision)

    def put_with_ttl(self, key: str, obj: dict, ttl_s: int) -> None:
        """Write ``obj`` unconditionally, to vanish ``ttl_s`` seconds later unless written again
        (an etcd lease: kube-apiserver's master leases, which say which apiservers are alive)."""
        lease = self._call(self.etcd.lease_grant, ttl_s)
        self._call(self.etcd.txn, [], [EtcdClient.op_put(key.encode(), _encode(obj), lease)])

    def update(self, key: str, obj: dict, expected_revision: int) -> dict:
        """Replace the object if its revision is still ``expected_revision``."""
        k = key.encode()
        resp = self._call(self.etcd.txn, [EtcdClient.compare_mod_revision(k, expected_revision)],
                          [EtcdClient.op_put(k, _encode(obj))], [EtcdClient.op_get(k)])
        if resp.succeeded:
            return _with_revision(obj, resp.header.revision)
        raise self._mismatch(key, resp)

    def delete(self, key: str, expected_revision: int) -> dict:
        """Delete the object if its revision is still ``expected_revision``; return its last state."""
        k = key.encode()
        resp = self._call(self.etcd.txn, [EtcdClient.compare_mod_revision(k, expected_revision)],
                          [EtcdClient.op_delete(k)], [EtcdClient.op_get(k)])
        if not resp.succeeded:
            raise self._mismatch(key, resp)
        prev = resp.responses[0].response_delete_range.prev_kvs
        obj = _decode(prev[0].value, resp.header.revision, prev[0].key) if prev else None
        return obj or {"metadata": {"resourceVersion": str(resp.header.revision)}}

    def _mismatch(self, key: str, resp) -> Exception:
        kvs = resp.responses[0].response_range.kvs
        if not kvs:
            return KeyNotFound(key)
        current = _decode(kvs[0].value, kvs[0].mod_revision, kvs[0].key)
        return RevisionMismatch(current or {})

    def list(self, prefix: str, *, limit: int = 0, continue_token: str = "", revision: int = 0,
             predicate: Callable[[dict], bool] | None = None) -> ListPage:
        """Objects under ``prefix`` at one revision, optionally one page of ``limit`` matches."""
        start = prefix
        if continue_token:
            revision, start = decode_continue(continue_token)
            if not start.startswith(prefix):
                raise errors.BadRequest("continue token does not belong to this list")
        end = prefix_range_end(prefix.encode())
        items: list[dict] = []
        key = start.encode()
        while True:
            chunk = LIST_CHUNK if (limit or predicate) else 0
            resp = self._call(self.etcd.range, key, end, revision=revision, limit=chunk)
            revision = revision or resp.header.revision
            for i, kv in enumerate(resp.kvs):
                obj = _decode(kv.value, kv.mod_revision, kv.key)
                if obj is None or (predicate and not predicate(obj)):
                    continue
                items.append(obj)
                if limit and len(items) == limit:
                    more = resp.more or i + 1 < len(resp.kvs)
                    if not more:
                        return ListPage(items, revision)
                    remaining = None if predicate else resp.count - (i + 1)
                    token = encode_continue(revision, kv.key.decode() + "\0")
                    return ListPage(items, revision, token, remaining)
            if not resp.more or not resp.kvs:
                return ListPage(items, revision)
            key = resp.kvs[-1].key + b"\0"

    def watch(self, prefix: str, start_revision: int) -> StorageWatch:
        """Watch every key under ``prefix`` for changes after ``start_revision`` (0: from now)."""
        watch = self._call(self.etcd.watch, prefix.encode(), prefix_range_end(prefix.encode()),
                           start_revision=start_revision + 1 if start_revision else 0)
        return StorageWatch(watch, self)


class StorageWatch:
    """Iterate for :class:`StorageEvent`; ``cancel()`` from another thread ends it."""

    def __init__(self, watch, storage: Storage):
        self._watch = watch
        self._storage = storage

    def cancel(self) -> None:
        self._watch.cancel()

    def request_progress(self) -> None:
        self._watch.request_progress()

    def __iter__(self) -> Iterator[StorageEvent]:
        try:
            for response in self._watch:
                if not response.events:
                    yield StorageEvent("BOOKMARK", response.header.revision)
                    continue
                yield from self._events(response)
        except EtcdCompacted as e:
            raise errors.Expired(f"too old resource version: {e}") from None
        except EtcdUnavailable as e:
            raise errors.Unavailable(f"storage watch ended: {e}") from None

    @staticmethod
    def _events(response) -> Iterator[StorageEvent]:
        for ev in response.events:
            key = ev.kv.key.decode(errors="replace")
            prev = _decode(ev.prev_kv.value, ev.prev_kv.mod_revision, ev.prev_kv.key) if ev.prev_kv.key else None
            if ev.type == ev.DELETE:
                revision = ev.kv.mod_revision
                if prev is not None:
                    last = dict(prev)
                    last["metadata"] = dict(prev.get("metadata") or {}, resourceVersion=str(revision))
                    yield StorageEvent("DELETED", revision, last, prev, key)
                continue
            obj = _decode(ev.kv.value, ev.kv.mod_revision, ev.kv.key)
            if obj is None:
                continue
            kind = "ADDED" if ev.kv.create_revision == ev.kv.mod_revision else "MODIFIED"
            yield StorageEvent(kind, ev.kv.mod_revision, obj, prev, key)


def _with_revision(obj: dict, revision: int) -> dict:
    out = dict(obj)
    out["metadata"] = dict(obj.get("metadata") or {}, resourceVersion=str(revision))
    return out
