"""Watches as long-lived chunked responses: one ``{"type": …, "object": …}`` JSON per line.

As in Kubernetes, a watch without a resourceVersion (or with "0") first sends the current
objects as synthetic ADDED events (listed at one revision), then every change after that
revision; a watch from a resourceVersion sends only the changes after it. Watching one object
(``…/pods/NAME?watch=1``) is a watch with ``fieldSelector=metadata.name=NAME``. Under
``as=Table`` every event's object is a Table of one row (kubectl ``get -w``). A failure while
streaming (the revision was compacted: 410 Expired) ends the stream with an ``ERROR`` event
carrying the Status, which clients answer by listing again.

A watch ends when the client goes away, at ``timeoutSeconds``, or — without one — after a
random 30–60 minutes like kube-apiserver's ``--min-request-timeout``, so no watch is forever.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

from apiserver import metrics
from apiserver.api import API, ResourceWatch, WatchOptions
from apiserver.rest import tables
from apiserver.rest.routing import Target
from apiserver.watch_cache import SharedObject
from machinery import errors

MIN_REQUEST_TIMEOUT_S = 1800


def encode_event(event_type: str, obj: dict) -> bytes:
    if isinstance(obj, SharedObject):  # from the watch cache: its JSON is made once for every watcher
        return b'{"type":' + json.dumps(event_type).encode() + b',"object":' + obj.json_bytes() + b"}\n"
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


def open_watch(api: API, user, target: Target, query: dict, *, as_table: bool = False,
               include_object: str = "Metadata") -> tuple[Iterator[bytes], ResourceWatch]:
    """Start a watch (authorization and selector errors raise here, before anything is sent);
    returns the lines to send and the watch (``cancel()`` ends it, ``request_bookmark()``)."""
    info = target.info
    field_selector = query.get("fieldSelector", "")
    if target.name:
        field_selector = ",".join(s for s in (field_selector, f"metadata.name={target.name}") if s)
    label_selector = query.get("labelSelector", "")
    resource_version = query.get("resourceVersion", "")
    try:
        timeout = int(query.get("timeoutSeconds") or 0)
    except ValueError:
        raise errors.BadRequest(f'timeoutSeconds: invalid value "{query.get("timeoutSeconds")}"') from None
    if timeout <= 0:
        timeout = int(MIN_REQUEST_TIMEOUT_S * (1 + random.random()))
    bookmarks = query.get("allowWatchBookmarks", "").lower() in ("true", "1")
    initial: list[dict] = []
    if resource_version in ("", "0"):
        page = api.list(user, info.name, target.namespace, label_selector=label_selector,
                        field_selector=field_selector)
        initial, resource_version = page.items, str(page.revision)
    watch = api.watch(user, info.name, target.namespace,
                      WatchOptions(resource_version, label_selector, field_selector, bookmarks, timeout))

    def shape(event_type: str, obj: dict) -> dict:
        if not as_table or event_type in ("BOOKMARK", "ERROR"):
            if event_type == "BOOKMARK":
                return {"kind": info.kind, "apiVersion": info.api_version, **obj}
            return obj
        rv = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        return tables.table(info, [obj], resource_version=rv, include_object=include_object)

    def lines() -> Iterator[bytes]:
        events = metrics.watch_events(info.name)
        try:
            for obj in initial:
                events.inc()
                yield encode_event("ADDED", shape("ADDED", obj))
            for event_type, obj in watch:
                events.inc()
                yield encode_event(event_type, shape(event_type, obj))
        except errors.APIError as e:
            yield encode_event("ERROR", e.to_status())
        finally:
            watch.cancel()

    return lines(), watch
