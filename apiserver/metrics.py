"""The apiserver's Prometheus metrics, named and labelled as kube-apiserver's.

- ``apiserver_request_total{verb, dry_run, group, version, resource, subresource, scope,
  component, code}`` and ``apiserver_request_duration_seconds{…without code}``: every request,
  gRPC and REST alike. The verb is Kubernetes' reported verb: the HTTP method in upper case,
  with GET on a collection as LIST, a watch as WATCH, a server-side apply PATCH as APPLY and
  exec as CONNECT; gRPC methods map onto the same (Create→POST, Get→GET, List→LIST,
  Watch→WATCH, Update→PUT, UpdateStatus→PUT on ``status``, Delete→DELETE, Bind→POST on
  ``binding``, PodLogs→GET on ``log``, PodExec→CONNECT on ``exec``). ``code`` is the HTTP
  status (a gRPC error's Kubernetes status code). Scope is ``resource`` (one object),
  ``namespace`` or ``cluster``. A watch or stream is recorded when it ends, its duration being
  the stream's lifetime, as kube-apiserver does; a REST stream the client closed counts as 200,
  another request the client gave up on as 499.
- ``apiserver_watch_events_total{group, version, kind}``: events sent to watchers.
- ``etcd_request_duration_seconds{operation, type}``: storage calls (get, create, update,
  delete, list), ``type`` being the group-resource (``pods``, ``deployments.apps``).

Label values come only from fixed sets (the resource catalogue, a few non-resource paths), so
a client asking for made-up paths cannot grow the number of series.

``/metrics`` itself is served on the REST port (:func:`render`), authorized like Kubernetes'
non-resource URL: ``system:masters``, and the ``system:monitoring`` group through the bootstrap
ClusterRole of that name.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.exposition import choose_encoder

from apiserver.rest import routing
from apiserver.storage import REGISTRY_PREFIX, ListPage, Storage
from machinery.resources import RESOURCES, ResourceInfo

COMPONENT = "apiserver"
# Kubernetes' buckets for request and etcd latencies.
LATENCY_BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30,
                   45, 60)
_LABELS = ["verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component"]

REQUESTS = Counter("apiserver_request_total", "Counter of apiserver requests broken out for each verb, dry run "
                   "value, group, version, resource, scope, component, and HTTP response code.", _LABELS + ["code"])
REQUEST_DURATION = Histogram("apiserver_request_duration_seconds", "Response latency distribution in seconds for "
                             "each verb, dry run value, group, version, resource, subresource, scope and component.",
                             _LABELS, buckets=LATENCY_BUCKETS)
WATCH_EVENTS = Counter("apiserver_watch_events_total", "Number of events sent in watch clients",
                       ["group", "version", "kind"])
ETCD_DURATION = Histogram("etcd_request_duration_seconds", "Etcd request latency in seconds for each operation "
                          "and object type.", ["operation", "type"], buckets=LATENCY_BUCKETS)

# Non-resource paths reported by name (as subresource, like kube-apiserver's health checks);
# any other non-resource path is reported with empty labels.
NON_RESOURCE_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version", "/metrics"})
# What a client closing the connection before the answer is reported as (nginx's code).
CLIENT_CLOSED = 499

# gRPC method → (verb, subresource).
_GRPC_VERBS = {"Create": ("POST", ""), "Get": ("GET", ""), "List": ("LIST", ""), "Watch": ("WATCH", ""),
               "Update": ("PUT", ""), "UpdateStatus": ("PUT", "status"), "Delete": ("DELETE", ""),
               "Bind": ("POST", "binding"), "Evict": ("POST", "eviction"), "PodLogs": ("GET", "log"),
               "PodExec": ("CONNECT", "exec")}
_POD_METHODS = ("Bind", "Evict", "PodLogs", "PodExec")  # their requests name no resource: it is pods


def _group_version(info: ResourceInfo | None) -> tuple[str, str]:
    if info is None:
        return "", ""
    return routing.group_version_of(info)


def _scope(info: ResourceInfo | None, namespace: str, name: str) -> str:
    if info is None:
        return ""
    if name:
        return "resource"
    return "namespace" if namespace and info.namespaced else "cluster"


def grpc_labels(method: str, request) -> tuple[str, ...]:
    """The request labels (without code) of one gRPC API call."""
    verb, subresource = _GRPC_VERBS.get(method, (method.upper(), ""))
    resource = "pods" if method in _POD_METHODS else getattr(request, "resource", "")
    info = RESOURCES.get(resource)
    name = "" if method in ("Create", "List", "Watch") else getattr(request, "name", "")
    group, version = _group_version(info)
    dry_run = "All" if getattr(request, "dry_run", False) else ""
    return (verb, dry_run, group, version, info.name if info else "", subresource,
            _scope(info, getattr(request, "namespace", ""), name), COMPONENT)


def rest_labels(method: str, path: str, query: Mapping[str, str], content_type: str = "") -> tuple[str, ...]:
    """The request labels (without code) of one REST call, as kube-apiserver reports it."""
    verb = method.upper()
    target = routing.parse(path)
    if target is None:
        clean = "/" + path.strip("/")
        return verb, "", "", "", "", clean if clean in NON_RESOURCE_PATHS else "", "", COMPONENT
    if verb == "GET":
        if target.watch_path or str(query.get("watch", "")).lower() in ("true", "1"):
            verb = "WATCH"
        elif target.is_collection:
            verb = "LIST"
    elif verb == "PATCH" and content_type.startswith("application/apply-patch"):
        verb = "APPLY"
    if target.subresource == "exec":
        verb = "CONNECT"
    group, version = _group_version(target.info)
    dry_run = "All" if query.get("dryRun") == "All" else ""
    return (verb, dry_run, group, version, target.info.name, target.subresource,
            _scope(target.info, target.namespace, target.name), COMPONENT)


def long_running(labels: tuple[str, ...]) -> bool:
    """Watches, log streams and exec: requests that last as long as the client wants."""
    return labels[0] in ("WATCH", "CONNECT") or labels[5] == "log"


# (labels, code) → the two series children: resolving a child by its nine label values costs more
# than counting, so each combination is resolved once. Bounded: every label comes from a fixed set.
_children: dict[tuple, tuple] = {}


def record(labels: tuple[str, ...], code: int, started: float) -> None:
    """Count one finished request and observe its duration (``started``: time.monotonic())."""
    key = (labels, code)
    children = _children.get(key)
    if children is None:
        children = _children[key] = (REQUESTS.labels(*labels, str(code)), REQUEST_DURATION.labels(*labels))
    children[0].inc()
    children[1].observe(time.monotonic() - started)


def watch_events(resource: str):
    """The ``apiserver_watch_events_total`` child for watchers of ``resource`` (its .inc() per event)."""
    info = RESOURCES.get(resource)
    group, version = _group_version(info)
    return WATCH_EVENTS.labels(group, version, info.kind if info else "")


def render(accept: str) -> tuple[bytes, str]:
    """The exposition of every series of this process, in the format ``accept`` asks for."""
    encoder, content_type = choose_encoder(accept)
    return encoder(REGISTRY), content_type


# --------------------------------------------------------------------------- etcd


def storage_type(key: str) -> str:
    """``/registry/deployments/ns/x`` → ``deployments.apps`` (Kubernetes' group-resource string)."""
    rest = key[len(REGISTRY_PREFIX) + 1:] if key.startswith(REGISTRY_PREFIX + "/") else ""
    info = RESOURCES.get(rest.split("/", 1)[0])
    if info is None:
        return ""
    return f"{info.name}.{info.group}" if info.group else info.name


class InstrumentedStorage(Storage):
    """:class:`~apiserver.storage.Storage` observing ``etcd_request_duration_seconds`` per call.

    A list is one operation however many etcd ranges fill its page, as in Kubernetes; watches
    are streams, not requests, and are not timed.
    """

    def _timed(self, operation: str, key: str, call, *args, **kwargs):
        started = time.monotonic()
        try:
            return call(*args, **kwargs)
        finally:
            ETCD_DURATION.labels(operation, storage_type(key)).observe(time.monotonic() - started)

    def get(self, key: str) -> dict:
        return self._timed("get", key, super().get, key)

    def create(self, key: str, obj: dict) -> dict:
        return self._timed("create", key, super().create, key, obj)

    def update(self, key: str, obj: dict, expected_revision: int) -> dict:
        return self._timed("update", key, super().update, key, obj, expected_revision)

    def delete(self, key: str, expected_revision: int) -> dict:
        return self._timed("delete", key, super().delete, key, expected_revision)

    def list(self, prefix: str, **kwargs) -> ListPage:
        return self._timed("list", prefix, super().list, prefix, **kwargs)
