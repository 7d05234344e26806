"""A small etcd v3 client: Range, Txn, Watch and Compact over etcd's own gRPC API.

Why not the high-level ``etcd3.Etcd3Client`` methods: the apiserver needs the store revision
of every read and write (it *is* the resourceVersion), paged reads at a fixed revision, and
full control of watch streams (compaction, cancellation, progress requests). The high-level
client hides transaction headers and its watcher swallows stream errors, so we use the
message and stub classes that ``etcd3`` generates (``etcd3.etcdrpc``) directly.

Failover: several endpoints may be given (one per member). Calls go to the current one;
when it is unreachable the client moves to the next and the caller sees
:class:`EtcdUnavailable`, which the apiserver reports as UNAVAILABLE. Nothing is retried here:
a write that timed out may or may not have been applied, and only the caller knows whether
repeating it is safe.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
from etcd3 import etcdrpc

log = logging.getLogger(__name__)

# Kubernetes refuses objects over 1.5 MiB because etcd's default request limit is 1.5 MiB.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024


class EtcdError(Exception):
    """etcd answered, but not with success."""


class EtcdUnavailable(EtcdError):
    """No etcd member could be reached in time."""


class EtcdCompacted(EtcdError):
    """The requested revision is older than etcd's compacted revision."""

    def __init__(self, compact_revision: int):
        super().__init__(f"required revision has been compacted (compacted revision {compact_revision})")
        self.compact_revision = compact_revision


def prefix_range_end(prefix: bytes) -> bytes:
    """The exclusive end of the key range holding every key that starts with ``prefix``."""
    end = bytearray(prefix)
    for i in reversed(range(len(end))):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\0"


@dataclass(frozen=True)
class TLSConfig:
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""


_UNAVAILABLE_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                      grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN}


class EtcdClient:
    """Thread-safe access to an etcd cluster, one gRPC channel per member."""

    def __init__(self, endpoints: list[str], *, request_timeout_s: float = 5.0, tls: TLSConfig | None = None):
        if not endpoints:
            raise ValueError("at least one etcd endpoint is required")
        self.endpoints = [e.split("://", 1)[-1].rstrip("/") for e in endpoints]
        self.request_timeout_s = request_timeout_s
        self._tls = tls or TLSConfig()
        self._secure = any(e.startswith("https://") for e in endpoints) or bool(self._tls.ca_file)
        self._lock = threading.Lock()
        self._current = 0
        self._channels: dict[str, grpc.Channel] = {}
        # Stubs per (endpoint, stub class): making one builds a callable per RPC of the service,
        # which cost ~4 % of the apiserver's CPU when done per request.
        self._stubs: dict[tuple[str, type], object] = {}

    def _channel(self) -> tuple[str, grpc.Channel]:
        with self._lock:
            endpoint = self.endpoints[self._current]
            channel = self._channels.get(endpoint)
            if channel is None:
                options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                           ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                           ("grpc.initial_reconnect_backoff_ms", 100),
                           ("grpc.max_reconnect_backoff_ms", 1000)]
                if self._secure:
                    creds = grpc.ssl_channel_credentials(*_read_tls(self._tls))
                    channel = grpc.secure_channel(endpoint, creds, options=options)
                else:
                    channel = grpc.insecure_channel(endpoint, options=options)
                self._channels[endpoint] = channel
            return endpoint, channel

    def _failed(self, endpoint: str) -> None:
        with self._lock:
            if self.endpoints[self._current] == endpoint and len(self.endpoints) > 1:
                self._current = (self._current + 1) % len(self.endpoints)
                log.warning("etcd member %s unreachable; switching to %s", endpoint, self.endpoints[self._current])

    def _stub(self, stub_cls) -> tuple[str, object]:
        endpoint, channel = self._channel()
        with self._lock:
            stub = self._stubs.get((endpoint, stub_cls))
            if stub is None or self._channels.get(endpoint) is not channel:
                stub = self._stubs[(endpoint, stub_cls)] = stub_cls(channel)
            return endpoint, stub

    def _unary(self, stub_cls, method: str, request):
        endpoint, stub = self._stub(stub_cls)
        try:
            return getattr(stub, method)(request, timeout=self.request_timeout_s)
        except grpc.RpcError as e:
            raise self._translate(e, endpoint) from None

    def _translate(self, e: grpc.RpcError, endpoint: str) -> EtcdError:
        code, details = e.code(), e.details() or ""
        if "compacted" in details:
            return EtcdCompacted(0)
        if code in _UNAVAILABLE_CODES:
            self._failed(endpoint)
            return EtcdUnavailable(f"etcd at {endpoint} is unavailable: {details or code.name}")
        return EtcdError(f"etcd error {code.name}: {details}")

    # --- KV -------------------------------------------------------------------------------

    def range(self, key: bytes, range_end: bytes | None = None, *, revision: int = 0, limit: int = 0,
              count_only: bool = False, serializable: bool = False) -> etcdrpc.RangeResponse:
        request = etcdrpc.RangeRequest(key=key, range_end=range_end or b"", revision=revision, limit=limit,
                                       count_only=count_only, serializable=serializable)
        return self._unary(etcdrpc.KVStub, "Range", request)

    def txn(self, compare: list, success: list, failure: list | None = None) -> etcdrpc.TxnResponse:
        request = etcdrpc.TxnRequest(compare=compare, success=success, failure=failure or [])
        return self._unary(etcdrpc.KVStub, "Txn", request)

    def lease_grant(self, ttl_s: int) -> int:
        """A new etcd lease of ``ttl_s`` seconds; keys put with it vanish when it expires."""
        return self._unary(etcdrpc.LeaseStub, "LeaseGrant", etcdrpc.LeaseGrantRequest(TTL=ttl_s)).ID

    def compact(self, revision: int, physical: bool = False) -> None:
        self._unary(etcdrpc.KVStub, "Compact", etcdrpc.CompactionRequest(revision=revision, physical=physical))

    def status(self) -> etcdrpc.StatusResponse:
        return self._unary(etcdrpc.MaintenanceStub, "Status", etcdrpc.StatusRequest())

    # --- transaction building blocks ------------------------------------------------------

    @staticmethod
    def compare_mod_revision(key: bytes, revision: int) -> etcdrpc.Compare:
        return etcdrpc.Compare(key=key, target=etcdrpc.Compare.MOD, result=etcdrpc.Compare.EQUAL,
                               mod_revision=revision)

    @staticmethod
    def compare_absent(key: bytes) -> etcdrpc.Compare:
        return etcdrpc.Compare(key=key, target=etcdrpc.Compare.CREATE, result=etcdrpc.Compare.EQUAL,
                               create_revision=0)

    @staticmethod
    def op_put(key: bytes, value: bytes, lease: int = 0) -> etcdrpc.RequestOp:
        return etcdrpc.RequestOp(request_put=etcdrpc.PutRequest(key=key, value=value, lease=lease))

    @staticmethod
    def op_get(key: bytes) -> etcdrpc.RequestOp:
        return etcdrpc.RequestOp(request_range=etcdrpc.RangeRequest(key=key))

    @staticmethod
    def op_delete(key: bytes) -> etcdrpc.RequestOp:
        return etcdrpc.RequestOp(request_delete_range=etcdrpc.DeleteRangeRequest(key=key, prev_kv=True))

    # --- watch ----------------------------------------------------------------------------

    def watch(self, key: bytes, range_end: bytes | None, *, start_revision: int = 0) -> EtcdWatch:
        """Open a watch on ``[key, range_end)`` from ``start_revision`` (0: from now)."""
        return EtcdWatch(self, key, range_end, start_revision)

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
            self._stubs.clear()


class EtcdWatch:
    """One etcd watch stream with prev_kv, iterated as etcd WatchResponses carrying events.

    Iterating raises :class:`EtcdCompacted` when the start revision is gone and
    :class:`EtcdUnavailable` when the stream breaks; ``cancel()`` (from any thread) ends the
    iteration quietly. ``request_progress()`` asks etcd for a progress notification: an
    empty response whose header revision says "nothing you watch changed up to here".
    """

    def __init__(self, client: EtcdClient, key: bytes, range_end: bytes | None, start_revision: int):
        self._client = client
        self._requests: queue.Queue = queue.Queue(maxsize=16)
        create = etcdrpc.WatchCreateRequest(key=key, range_end=range_end or b"", start_revision=start_revision,
                                            prev_kv=True)
        self._requests.put(etcdrpc.WatchRequest(create_request=create))
        self._endpoint, channel = client._channel()
        self._call = etcdrpc.WatchStub(channel).Watch(self._request_iter())
        self._cancelled = False

    def _request_iter(self):
        while True:
            item = self._requests.get()
            if item is None:
                return
            yield item

    def request_progress(self) -> None:
        try:
            self._requests.put_nowait(etcdrpc.WatchRequest(progress_request=etcdrpc.WatchProgressRequest()))
        except queue.Full:
            pass

    def cancel(self) -> None:
        self._cancelled = True
        self._call.cancel()
        try:
            self._requests.put_nowait(None)
        except queue.Full:
            pass

    def __iter__(self) -> Iterator[etcdrpc.WatchResponse]:
        try:
            for response in self._call:
                if response.compact_revision:
                    raise EtcdCompacted(response.compact_revision)
                if response.canceled:
                    if self._cancelled:
                        return
                    raise EtcdUnavailable(f"etcd cancelled the watch: {response.cancel_reason or 'no reason'}")
                if response.created and not response.events:
                    continue
                yield response
        except grpc.RpcError as e:
            if self._cancelled:
                return
            raise self._client._translate(e, self._endpoint) from None
        if not self._cancelled:
            raise EtcdUnavailable("etcd closed the watch stream")


def _read_tls(tls: TLSConfig) -> tuple[bytes | None, bytes | None, bytes | None]:
    def read(path: str) -> bytes | None:
        if not path:
            return None
        with open(path, "rb") as f:
            return f.read()

    return read(tls.ca_file), read(tls.key_file), read(tls.cert_file)
