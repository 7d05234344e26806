"""The gRPC face of the API: thin handlers that authenticate, call :mod:`apiserver.api`, and
translate errors through :func:`machinery.errors.abort`.

Handlers hold no logic of their own (etcd's v3rpc layer is the model). Anything unexpected
is logged with its stack and returned as InternalError: a bad request never takes the
apiserver down. Every call is counted and timed in ``apiserver_request_total`` /
``apiserver_request_duration_seconds`` (:mod:`apiserver.metrics`) with its Kubernetes verb.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time

import grpc

from apiserver import metrics, trace_recorder
from apiserver.api import API, WatchOptions
from apiserver.authn import Authenticator
from apiserver.watch_cache import encode
from machinery import errors
from machinery.pb import api_pb2, api_pb2_grpc

log = logging.getLogger(__name__)


def _decode_body(raw: bytes) -> dict:
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise errors.BadRequest(f"the request body is not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise errors.BadRequest("the request body must be a JSON object")
    return obj


def _encode(obj: dict) -> bytes:
    return encode(obj)


def _unary(handler):
    """Authenticate, run, and map every failure onto a gRPC status."""

    success = 201 if handler.__name__ in ("Create", "Bind", "Evict") else 200  # POSTs answer 201 Created

    @functools.wraps(handler)
    def wrapper(self, request, context):
        started, code = time.monotonic(), success
        try:
            with trace_recorder.grpc_request(context, self.authenticator):
                user = self.authenticator.authenticate(context)
                return handler(self, request, context, user)
        except errors.APIError as e:
            code = e.http_code
            errors.abort(context, e)
        except Exception:
            code = 500
            log.exception("%s failed unexpectedly", handler.__name__)
            errors.abort(context, errors.InternalError(f"internal error while serving {handler.__name__}"))
        finally:
            metrics.record(metrics.grpc_labels(handler.__name__, request), code, started)

    return wrapper


class APIServicer(api_pb2_grpc.APIServicer):
    def __init__(self, api: API, authenticator: Authenticator, *, bookmark_interval_s: float = 60.0,
                 proxy=None):
        self.api = api
        self.authenticator = authenticator
        self._proxy = proxy  # the KubeletProxy for pods/log and pods/exec (made on first use when None)
        self._watches: set = set()
        self._watches_lock = threading.Lock()
        self._stop = threading.Event()
        self._bookmarks = threading.Thread(target=self._bookmark_loop, args=(bookmark_interval_s,), daemon=True,
                                           name="watch-bookmarks")
        self._bookmarks.start()

    @property
    def open_watches(self) -> int:
        return len(self._watches)

    def stop(self) -> None:
        self._stop.set()
        with self._watches_lock:
            for watch in list(self._watches):
                watch.cancel()

    def _bookmark_loop(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            with self._watches_lock:
                watches = list(self._watches)
            for watch in watches:
                watch.request_bookmark()

    @_unary
    def Create(self, request, context, user):
        obj = self.api.create(user, request.resource, request.namespace, _decode_body(request.object),
                              dry_run=request.dry_run)
        return api_pb2.ObjectResponse(object=_encode(obj))

    @_unary
    def Get(self, request, context, user):
        return api_pb2.ObjectResponse(object=_encode(self.api.get(user, request.resource, request.namespace,
                                                                  request.name)))

    @_unary
    def List(self, request, context, user):
        o = request.options
        page = self.api.list(user, request.resource, request.namespace, label_selector=o.label_selector,
                             field_selector=o.field_selector, limit=o.limit, continue_token=o.continue_token,
                             resource_version=o.resource_version)
        return api_pb2.ListResponse(items=[_encode(i) for i in page.items], resource_version=str(page.revision),
                                    continue_token=page.continue_token, remaining_item_count=page.remaining or 0)

    @_unary
    def Update(self, request, context, user):
        obj = self.api.update(user, request.resource, request.namespace, request.name, _decode_body(request.object),
                              dry_run=request.dry_run)
        return api_pb2.ObjectResponse(object=_encode(obj))

    @_unary
    def UpdateStatus(self, request, context, user):
        obj = self.api.update(user, request.resource, request.namespace, request.name, _decode_body(request.object),
                              status=True)
        return api_pb2.ObjectResponse(object=_encode(obj))

    @_unary
    def Delete(self, request, context, user):
        grace = request.grace_period_seconds if request.HasField("grace_period_seconds") else None
        obj = self.api.delete(user, request.resource, request.namespace, request.name, grace_period_s=grace,
                              precondition_uid=request.precondition_uid,
                              precondition_rv=request.precondition_resource_version,
                              propagation_policy=request.propagation_policy)
        return api_pb2.ObjectResponse(object=_encode(obj))

    @_unary
    def Bind(self, request, context, user):
        obj = self.api.bind(user, request.namespace, request.name, request.node_name, request.uid)
        return api_pb2.ObjectResponse(object=_encode(obj))

    @_unary
    def Evict(self, request, context, user):
        grace = request.grace_period_seconds if request.HasField("grace_period_seconds") else None
        obj = self.api.evict(user, request.namespace, request.name, grace_period_s=grace, dry_run=request.dry_run)
        return api_pb2.ObjectResponse(object=_encode(obj))

    def Watch(self, request, context):
        started, code = time.monotonic(), 200
        try:
            user = self.authenticator.authenticate(context)
            o = request.options
            watch = self.api.watch(user, request.resource, request.namespace,
                                   WatchOptions(o.resource_version, o.label_selector, o.field_selector,
                                                o.allow_watch_bookmarks, o.timeout_seconds))
        except errors.APIError as e:
            metrics.record(metrics.grpc_labels("Watch", request), e.http_code, started)
            errors.abort(context, e)
            return
        context.add_callback(watch.cancel)
        with self._watches_lock:
            self._watches.add(watch)
        events = metrics.watch_events(request.resource)
        try:
            for event_type, obj in watch:
                events.inc()
                yield api_pb2.WatchEvent(type=event_type, object=_encode(obj))
        except errors.APIError as e:
            code = e.http_code
            errors.abort(context, e)
        except Exception:
            code = 500
            log.exception("watch of %s failed unexpectedly", request.resource)
            errors.abort(context, errors.InternalError("internal error while watching"))
        finally:
            with self._watches_lock:
                self._watches.discard(watch)
            watch.cancel()
            metrics.record(metrics.grpc_labels("Watch", request), code, started)

    # --- pods/log and pods/exec: relayed to the pod's kubelet (apiserver/proxy.py) ----------

    def _kubelet_proxy(self):
        proxy = self._proxy
        if proxy is None:
            from apiserver.proxy import KubeletProxy

            proxy = self._proxy = KubeletProxy(self.api)
        return proxy

    def PodLogs(self, request, context):
        started, code = time.monotonic(), 200
        try:
            user = self.authenticator.authenticate(context)
            for data in self._kubelet_proxy().logs(user, request, context):
                yield api_pb2.PodLogChunk(data=data)
        except errors.APIError as e:
            code = e.http_code
            errors.abort(context, e)
        except Exception:
            code = 500
            log.exception("PodLogs of %s/%s failed unexpectedly", request.namespace, request.name)
            errors.abort(context, errors.InternalError("internal error while reading logs"))
        finally:
            metrics.record(metrics.grpc_labels("PodLogs", request), code, started)

    @_unary
    def PodExec(self, request, context, user):
        return self._kubelet_proxy().exec(user, request)


def register(servicer: APIServicer):
    def add(server: grpc.Server) -> None:
        api_pb2_grpc.add_APIServicer_to_server(servicer, server)

    return add
