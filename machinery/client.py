"""The API client every component and the CLI use to talk to the apiserver (client-go's role).

One :class:`APIClient` holds a gRPC channel per apiserver endpoint. Requests go to the
current endpoint; when it is unreachable (UNAVAILABLE) the client moves to the next one and
tries again with capped exponential backoff until ``retry_timeout_s`` runs out, so a
component rides out an apiserver restart or the loss of one replica without noticing.
Objects come and go as plain dicts; errors are :mod:`machinery.errors` exceptions.

Credentials: a bearer token (``authorization`` metadata) and, when a CA is given, TLS with
an optional client certificate. Both come from flags or environment through the callers.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc

from machinery import errors, tracing
from machinery.pb import api_pb2, api_pb2_grpc

log = logging.getLogger(__name__)

# Watch streams and big lists can carry large objects; Kubernetes caps a request at 3 MiB and
# an etcd value at 1.5 MiB, so 16 MiB leaves room for a page of them.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Keepalive pings find a connection that a network partition silently broke within ~15 s,
    # instead of leaving calls and watches hanging on it (servers accept pings this often).
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]
# What a server needs so the clients' keepalive pings are welcome (the default policy allows one
# ping per 5 minutes and closes chatty connections).
SERVER_OPTIONS = [o for o in CHANNEL_OPTIONS if not o[0].startswith("grpc.keepalive_time")] + [
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_ping_strikes", 0),
]


@dataclass(frozen=True)
class Credentials:
    """How the client proves who it is, and how it checks the server."""

    token: str = ""
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    # tls_server_name: the name expected in the server certificate when it differs from the
    # address dialled (an IP, a container name).
    tls_server_name: str = ""


@dataclass
class ListResult:
    items: list[dict]
    resource_version: str
    continue_token: str = ""
    remaining_item_count: int = 0


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: dict


def parse_endpoints(value: str | list[str]) -> list[str]:
    """``"a:6443,b:6443"`` or a list → ``["a:6443", "b:6443"]`` (scheme prefixes dropped)."""
    items = value.split(",") if isinstance(value, str) else value
    out = []
    for item in items:
        item = item.strip()
        for prefix in ("grpc://", "https://", "http://"):
            if item.startswith(prefix):
                item = item[len(prefix):]
        if item:
            out.append(item.rstrip("/"))
    return out


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def make_channel(endpoint: str, creds: Credentials) -> grpc.Channel:
    """A channel to one endpoint: TLS when a CA is configured, plain otherwise."""
    options = list(CHANNEL_OPTIONS)
    if not creds.ca_file:
        return grpc.insecure_channel(endpoint, options=options)
    cert = _read(creds.cert_file) if creds.cert_file else None
    key = _read(creds.key_file) if creds.key_file else None
    channel_creds = grpc.ssl_channel_credentials(_read(creds.ca_file), key, cert)
    if creds.tls_server_name:
        options.append(("grpc.ssl_target_name_override", creds.tls_server_name))
    return grpc.secure_channel(endpoint, channel_creds, options=options)


class Watch:
    """An open watch stream: iterate it for events; ``cancel()`` ends it from any thread."""

    def __init__(self, call):
        self._call = call

    def __iter__(self) -> Iterator[WatchEvent]:
        try:
            for event in self._call:
                yield WatchEvent(event.type, json.loads(event.object))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.CANCELLED and self._call.cancelled():
                return
            raise errors.from_rpc_error(e) from None

    def cancel(self) -> None:
        self._call.cancel()


class APIClient:
    """Typed access to the apiserver with endpoint failover and retry of unavailability."""

    def __init__(self, endpoints: str | list[str], credentials: Credentials | None = None, *,
                 request_timeout_s: float = 30.0, retry_timeout_s: float = 30.0, user_agent: str = "kubemu"):
        self.endpoints = parse_endpoints(endpoints)
        if not self.endpoints:
            raise ValueError("at least one apiserver endpoint is required")
        self.credentials = credentials or Credentials()
        self.request_timeout_s = request_timeout_s
        self.retry_timeout_s = retry_timeout_s
        self.user_agent = user_agent
        self._lock = threading.Lock()
        self._current = random.randrange(len(self.endpoints))
        self._channels: dict[str, grpc.Channel] = {}
        self._stubs: dict[str, api_pb2_grpc.APIStub] = {}

    # --- plumbing -------------------------------------------------------------------------

    def _stub(self) -> tuple[str, api_pb2_grpc.APIStub]:
        with self._lock:
            endpoint = self.endpoints[self._current]
            if endpoint not in self._stubs:
                channel = make_channel(endpoint, self.credentials)
                self._channels[endpoint] = channel
                self._stubs[endpoint] = api_pb2_grpc.APIStub(channel)
            return endpoint, self._stubs[endpoint]

    def _fail_over(self, endpoint: str) -> None:
        with self._lock:
            if self.endpoints[self._current] == endpoint and len(self.endpoints) > 1:
                self._current = (self._current + 1) % len(self.endpoints)
                log.info("apiserver %s unreachable, trying %s", endpoint, self.endpoints[self._current])

    def metadata(self) -> list[tuple[str, str]]:
        md = [("user-agent-kubemu", self.user_agent)]
        if self.credentials.token:
            md.append(("authorization", f"Bearer {self.credentials.token}"))
        return md + tracing.outgoing_metadata()  # the current step's traceparent, if any

    def _call(self, method: str, request, *, retry: bool = True):
        deadline = time.monotonic() + (self.retry_timeout_s if retry else 0)
        delay = 0.1
        while True:
            endpoint, stub = self._stub()
            try:
                return getattr(stub, method)(request, timeout=self.request_timeout_s, metadata=self.metadata())
            except grpc.RpcError as e:
                err = errors.from_rpc_error(e)
                if not errors.is_retryable(err):
                    raise err from None
                # Move on even when this call gives up, so the next one (of a client that does not
                # retry, e.g. a prober) tries another apiserver instead of the one that is away.
                self._fail_over(endpoint)
                if time.monotonic() + delay > deadline:
                    raise err from None
                log.debug("%s on %s failed (%s); retrying in %.1fs", method, endpoint, err, delay)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
            self._stubs.clear()

    # --- verbs ----------------------------------------------------------------------------

    def create(self, resource: str, obj: dict, namespace: str = "", *, dry_run: bool = False) -> dict:
        ns = namespace or (obj.get("metadata") or {}).get("namespace", "")
        req = api_pb2.CreateRequest(resource=resource, namespace=ns, object=_dump(obj), dry_run=dry_run)
        return json.loads(self._call("Create", req).object)

    def get(self, resource: str, name: str, namespace: str = "") -> dict:
        req = api_pb2.GetRequest(resource=resource, namespace=namespace, name=name)
        return json.loads(self._call("Get", req).object)

    def list(self, resource: str, namespace: str = "", *, label_selector: str = "", field_selector: str = "",
             limit: int = 0, continue_token: str = "", resource_version: str = "") -> ListResult:
        opts = api_pb2.ListOptions(label_selector=label_selector, field_selector=field_selector, limit=limit,
                                   continue_token=continue_token, resource_version=resource_version)
        resp = self._call("List", api_pb2.ListRequest(resource=resource, namespace=namespace, options=opts))
        return ListResult([json.loads(i) for i in resp.items], resp.resource_version, resp.continue_token,
                          resp.remaining_item_count)

    def list_all(self, resource: str, namespace: str = "", *, page_size: int = 500, **selectors) -> ListResult:
        """Every matching object, read page by page at one revision."""
        first = self.list(resource, namespace, limit=page_size, **selectors)
        items, token = list(first.items), first.continue_token
        while token:
            page = self.list(resource, namespace, limit=page_size, continue_token=token, **selectors)
            items.extend(page.items)
            token = page.continue_token
        return ListResult(items, first.resource_version)

    def watch(self, resource: str, namespace: str = "", *, resource_version: str = "", label_selector: str = "",
              field_selector: str = "", timeout_s: int = 0, bookmarks: bool = True) -> Watch:
        """Open a watch stream. It is lazy: errors surface while iterating."""
        opts = api_pb2.ListOptions(label_selector=label_selector, field_selector=field_selector,
                                   resource_version=resource_version, timeout_seconds=timeout_s,
                                   allow_watch_bookmarks=bookmarks)
        endpoint, stub = self._stub()
        call = stub.Watch(api_pb2.WatchRequest(resource=resource, namespace=namespace, options=opts),
                          metadata=self.metadata())
        return _FailoverWatch(call, lambda: self._fail_over(endpoint))

    def update(self, resource: str, obj: dict, *, dry_run: bool = False) -> dict:
        meta = obj.get("metadata") or {}
        req = api_pb2.UpdateRequest(resource=resource, namespace=meta.get("namespace", ""),
                                    name=meta.get("name", ""), object=_dump(obj), dry_run=dry_run)
        return json.loads(self._call("Update", req).object)

    def update_status(self, resource: str, obj: dict) -> dict:
        meta = obj.get("metadata") or {}
        req = api_pb2.UpdateRequest(resource=resource, namespace=meta.get("namespace", ""),
                                    name=meta.get("name", ""), object=_dump(obj))
        return json.loads(self._call("UpdateStatus", req).object)

    def delete(self, resource: str, name: str, namespace: str = "", *, grace_period_s: int | None = None,
               precondition_uid: str = "", precondition_resource_version: str = "",
               propagation_policy: str = "") -> dict:
        req = api_pb2.DeleteRequest(resource=resource, namespace=namespace, name=name,
                                    precondition_uid=precondition_uid,
                                    precondition_resource_version=precondition_resource_version,
                                    propagation_policy=propagation_policy)
        if grace_period_s is not None:
            req.grace_period_seconds = grace_period_s
        return json.loads(self._call("Delete", req).object)

    def bind(self, namespace: str, name: str, node_name: str, uid: str = "") -> dict:
        req = api_pb2.BindRequest(namespace=namespace, name=name, node_name=node_name, uid=uid)
        return json.loads(self._call("Bind", req).object)

    def evict(self, namespace: str, name: str, *, grace_period_s: int | None = None, dry_run: bool = False) -> dict:
        """The pods/eviction subresource: delete the pod unless a disruption budget forbids it."""
        req = api_pb2.EvictRequest(namespace=namespace, name=name, dry_run=dry_run)
        if grace_period_s is not None:
            req.grace_period_seconds = grace_period_s
        return json.loads(self._call("Evict", req).object)

    def mutate(self, resource: str, name: str, namespace: str, change: Callable[[dict], bool | None], *,
               status: bool = False, attempts: int = 10) -> dict | None:
        """Read-modify-write with retry on Conflict, like client-go's RetryOnConflict.

        ``change`` edits the fresh object in place and returns False to skip the write. Returns
        the stored object, or None when ``change`` declined or the object is gone.
        """
        for attempt in range(attempts):
            try:
                obj = self.get(resource, name, namespace)
            except errors.NotFound:
                return None
            if change(obj) is False:
                return None
            try:
                return self.update_status(resource, obj) if status else self.update(resource, obj)
            except errors.Conflict:
                if attempt == attempts - 1:
                    raise
            except errors.NotFound:
                return None
        return None


class _FailoverWatch(Watch):
    """A Watch that moves the client to the next endpoint when its stream finds none."""

    def __init__(self, call, on_unavailable: Callable[[], None]):
        super().__init__(call)
        self._on_unavailable = on_unavailable

    def __iter__(self) -> Iterator[WatchEvent]:
        try:
            yield from super().__iter__()
        except errors.Unavailable:
            self._on_unavailable()
            raise


def _dump(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()
