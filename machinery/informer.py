"""Informers: a local, always-current cache of one resource, kept by list-then-watch.

The client-go pattern every component uses instead of polling: list the resource, remember
the list's resourceVersion, watch from it, and apply each event to a local store while
telling handlers (which only enqueue keys). On any break the informer resumes the watch from
the last resourceVersion it saw, so no event is missed or repeated; when that version is too
old (Expired, etcd compacted it) it lists again and reconciles the store with the new list,
synthesising the adds, updates and deletes it missed. Unavailability is retried with capped
exponential backoff; the informer never gives up and never crashes on a malformed object.

Handlers run on the informer's thread, in event order; they must be quick (enqueue a key).
Objects in the store are shared: copy before changing (:func:`machinery.meta.deep_copy`).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from machinery import errors, meta
from machinery.client import APIClient

log = logging.getLogger(__name__)


@dataclass
class Handlers:
    on_add: Callable[[dict], None] | None = None
    on_update: Callable[[dict, dict], None] | None = None
    on_delete: Callable[[dict], None] | None = None


@dataclass
class InformerStats:
    lists: int = 0
    watches: int = 0
    events: int = 0
    last_sync: str = ""
    last_error: str = ""
    resource_version: str = ""
    extra: dict = field(default_factory=dict)


class Informer:
    """Keeps ``store`` (key → object) equal to the API's view of one resource."""

    def __init__(self, client: APIClient, resource: str, *, namespace: str = "", label_selector: str = "",
                 field_selector: str = "", watch_timeout_s: int = 300, max_backoff_s: float = 5.0,
                 name: str = ""):
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.watch_timeout_s = watch_timeout_s
        self.max_backoff_s = max_backoff_s
        self.name = name or resource
        self._handlers: list[Handlers] = []
        self._store: dict[str, dict] = {}
        self._lock = threading.RLock()
        self._synced = threading.Event()
        self._stop = threading.Event()
        self._watch = None
        self._thread: threading.Thread | None = None
        self._rv = ""  # the newest resourceVersion applied to the store
        self.stats = InformerStats()

    # --- public ---------------------------------------------------------------------------

    def add_handlers(self, handlers: Handlers) -> None:
        self._handlers.append(handlers)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"informer-{self.name}")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        watch = self._watch
        if watch is not None:
            watch.cancel()

    def wait_synced(self, timeout_s: float | None = None) -> bool:
        return self._synced.wait(timeout_s)

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    def get(self, key: str) -> dict | None:
        with self._lock:
            return self._store.get(key)

    def list(self) -> list[dict]:
        with self._lock:
            return list(self._store.values())

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._store)

    # --- loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.2
        self._rv = ""
        while not self._stop.is_set():
            try:
                if not self._rv:
                    self._rv = self._relist()
                self._watch_from()
                backoff = 0.2
            except errors.Expired as e:
                log.info("%s: watch from resourceVersion %s expired (%s); relisting", self.name, self._rv, e)
                self._rv = ""
            except errors.APIError as e:
                self.stats.last_error = str(e)
                if self._stop.is_set():
                    break
                delay = min(backoff, self.max_backoff_s) * (0.8 + 0.4 * random.random())
                log.warning("%s: %s; retrying in %.1fs from resourceVersion %s", self.name, e, delay,
                            self._rv or "(list)")
                self._stop.wait(delay)
                backoff *= 2
            except Exception:
                log.exception("%s: unexpected informer failure; relisting", self.name)
                self._rv = ""
                self._stop.wait(self.max_backoff_s)

    def _relist(self) -> str:
        result = self.client.list_all(self.resource, self.namespace, label_selector=self.label_selector,
                                      field_selector=self.field_selector)
        fresh = {}
        for obj in result.items:
            if _well_formed(obj):
                fresh[meta.key_of(obj)] = obj
        with self._lock:
            old = self._store
            self._store = fresh
        for key, obj in old.items():
            if key not in fresh:
                self._dispatch("DELETED", obj, None)
        for key, obj in fresh.items():
            if key not in old:
                self._dispatch("ADDED", obj, None)
            elif meta.resource_version(old[key]) != meta.resource_version(obj):
                self._dispatch("MODIFIED", obj, old[key])
        self.stats.lists += 1
        self.stats.resource_version = result.resource_version
        self.stats.last_sync = meta.format_time()
        self._synced.set()
        log.debug("%s: listed %d objects at resourceVersion %s", self.name, len(fresh), result.resource_version)
        return result.resource_version

    def _watch_from(self) -> None:
        """Watch from self._rv, advancing it with every event so a break resumes exactly there."""
        timeout = int(self.watch_timeout_s * (1 + random.random())) if self.watch_timeout_s else 0
        watch = self.client.watch(self.resource, self.namespace, resource_version=self._rv,
                                  label_selector=self.label_selector, field_selector=self.field_selector,
                                  timeout_s=timeout)
        self._watch = watch
        self.stats.watches += 1
        try:
            for event in watch:
                if self._stop.is_set():
                    break
                if event.type != "BOOKMARK":
                    self._apply(event.type, event.object)
                self._rv = (event.object.get("metadata") or {}).get("resourceVersion") or self._rv
                self.stats.resource_version = self._rv
        finally:
            watch.cancel()
            self._watch = None

    def _apply(self, event_type: str, obj: dict) -> None:
        if not _well_formed(obj):
            log.warning("%s: ignoring malformed object in %s event", self.name, event_type)
            return
        key = meta.key_of(obj)
        self.stats.events += 1
        with self._lock:
            old = self._store.get(key)
            if event_type == "DELETED":
                self._store.pop(key, None)
            else:
                self._store[key] = obj
        if event_type == "DELETED":
            self._dispatch("DELETED", obj, None)
        elif old is None:
            self._dispatch("ADDED", obj, None)
        else:
            self._dispatch("MODIFIED", obj, old)

    def _dispatch(self, event_type: str, obj: dict, old: dict | None) -> None:
        for h in self._handlers:
            try:
                if event_type == "ADDED" and h.on_add:
                    h.on_add(obj)
                elif event_type == "MODIFIED" and h.on_update:
                    h.on_update(old, obj)
                elif event_type == "DELETED" and h.on_delete:
                    h.on_delete(obj)
            except Exception:
                log.exception("%s: %s handler failed for %s", self.name, event_type, meta.key_of(obj))


def _well_formed(obj) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("metadata"), dict) and bool(obj["metadata"].get("name"))
