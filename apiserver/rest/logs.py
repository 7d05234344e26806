"""``GET …/pods/NAME/log``: the container's log as ``text/plain``, through the kubelet proxy.

Query parameters are kubectl's: ``container``, ``follow``, ``previous``, ``tailLines``,
``sinceSeconds``, ``sinceTime``, ``timestamps``, ``limitBytes``. The request is authorized as
``get pods/log`` and relayed to the pod's kubelet by :class:`apiserver.proxy.KubeletProxy`, the
same relay the gRPC ``PodLogs`` uses; with ``follow`` the response stays open until the
container's run ends or the client goes away.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from apiserver.proxy import KubeletProxy
from machinery import errors
from machinery.pb import api_pb2


class StreamContext:
    """What the proxy needs of a gRPC servicer context: cancellation callbacks and liveness."""

    def __init__(self):
        self._callbacks: list[Callable[[], None]] = []
        self._cancelled = threading.Event()
        self._lock = threading.Lock()

    def add_callback(self, callback: Callable[[], None]) -> bool:
        with self._lock:
            if self._cancelled.is_set():
                callback()
            else:
                self._callbacks.append(callback)
        return True

    def is_active(self) -> bool:
        return not self._cancelled.is_set()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


def _flag(query: dict, name: str) -> bool:
    return query.get(name, "").lower() in ("true", "1")


def _int(query: dict, name: str) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise errors.BadRequest(f'{name}: invalid value "{raw}": must be an integer') from None


def log_request(namespace: str, name: str, query: dict) -> api_pb2.PodLogsRequest:
    request = api_pb2.PodLogsRequest(namespace=namespace, name=name, container=query.get("container", ""),
                                     follow=_flag(query, "follow"), previous=_flag(query, "previous"),
                                     since_seconds=_int(query, "sinceSeconds") or 0,
                                     since_time=query.get("sinceTime", ""), timestamps=_flag(query, "timestamps"),
                                     limit_bytes=_int(query, "limitBytes") or 0)
    tail = _int(query, "tailLines")
    if tail is not None:
        if tail < 0:
            raise errors.BadRequest("tailLines: must be greater than or equal to 0")
        request.tail_lines = tail
    return request


def open_logs(proxy: KubeletProxy, user, namespace: str, name: str, query: dict) \
        -> tuple[Iterator[bytes], Callable[[], None]]:
    context = StreamContext()
    return proxy.logs(user, log_request(namespace, name, query), context), context.cancel
