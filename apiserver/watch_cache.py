"""The watch cache: one etcd watch per resource, fanned out in memory to every client watch.

Without it every client watch is its own etcd watch, and every change is decoded from JSON once
per watcher (a pod change, by every kubelet's, the scheduler's and the controllers' watches).
kube-apiserver's cacher does the same as this module, in short:

- A :class:`ResourceCache` per resource (``/registry/pods/``), made on the first watch of that
  resource, watches the whole collection from the revision it was made at, decodes each change
  once, keeps the last ``capacity`` changes in a ring buffer, and hands each change to every
  subscriber whose key prefix it falls under (a namespace narrows the prefix).
- A watch from resourceVersion R is served from the cache when the buffer holds every change after
  R (R ≥ the revision the buffer is complete from): the buffered changes after R are replayed, then
  live ones follow, in revision order. R = 0 (or empty) means "from now". A watch from an older R
  goes to etcd directly, exactly as without the cache, so resuming from an old revision still works
  while etcd has it. Either way a watch from an R that etcd has compacted ends with Expired (one
  count-only read at R checks it), as without the cache: unlike kube-apiserver's cacher, which
  answers from its window whatever etcd kept, so clients here relist at the same moments as before.
- The caches of the resources every cluster watches (pods, nodes, leases, …) are made when the
  apiserver starts (:meth:`WatchCache.prime`), so an informer that lists after that and then
  watches finds its revision in the cache; a cache made later (the first watch of a resource)
  starts at that moment.
- Objects are shared by all subscribers and never changed after decoding; each also keeps its own
  JSON encoding once made (:class:`SharedObject`), so 100 watchers cost one ``json.dumps``.
- Bookmarks: a subscriber asking for one makes the cache request an etcd progress notification;
  the notification's revision then goes to every subscriber as a BOOKMARK (each only once it is
  beyond what that subscriber has been sent). etcd before 3.4.26 / 3.5.8 (Debian's is 3.4.23)
  may send that notification to a lagging watch before changes below its revision: a change is
  therefore dropped as a duplicate only when it is not newer than the last *change* sent, never
  because a bookmark went further (that lost a whole burst of pod changes for every watcher).
- Pod watchers are indexed by ``spec.nodeName``, as the cacher's "indexed triggers" do: a watch
  whose field selector pins ``spec.nodeName=X`` (each kubelet's) is registered under X, and a pod
  change is handed only to the watchers registered under the node name of the object before or
  after the change, plus every watcher not indexed. Without it each change woke the apiserver
  thread of every kubelet's watch, which all filtered it by node name under the GIL (100 kubelets:
  100 wake-ups per change, one of which wanted it). The selector still decides in
  :class:`apiserver.api.ResourceWatch`; the index only leaves out watchers it could not match, so
  a pod entering or leaving a node's selection still reaches that node's watcher (ADDED/DELETED).
  Bookmarks still go to every watcher. ``INDEXED_FIELDS`` says which field each collection is
  indexed by.
- A subscriber more than ``max_pending`` changes behind (a client not reading) is ended, as the
  cacher ends a slow watcher: its stream ends normally and the client watches again from its last
  resourceVersion.
- When the cache's etcd watch fails (etcd unreachable), every subscriber ends with the same error
  (UNAVAILABLE: clients resume from their last resourceVersion) and the cache is dropped; the next
  watch makes a new one.

Selectors and the ADDED/DELETED translation of objects entering or leaving a selection stay in
:class:`apiserver.api.ResourceWatch`, which reads a cached watch like an etcd one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator

from apiserver.storage import Storage, StorageEvent, collection_prefix
from machinery import errors
from machinery.fields import FieldSelector, field_value

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 1000
DEFAULT_MAX_PENDING = 10000
# How often at most the cache asks etcd for a progress notification (bookmarks).
PROGRESS_MIN_INTERVAL_S = 1.0
# The field each collection's watchers are indexed by (kube-apiserver's pod trigger: spec.nodeName).
INDEXED_FIELDS = {collection_prefix("pods"): "spec.nodeName"}


class SharedObject(dict):
    """An object decoded once and shared by every watcher; ``json_bytes()`` encodes it once."""

    __slots__ = ("_json",)

    def json_bytes(self) -> bytes:
        data = getattr(self, "_json", None)
        if data is None:
            data = self._json = json.dumps(self, separators=(",", ":")).encode()
        return data


def encode(obj: dict) -> bytes:
    """The compact JSON of ``obj``, made once per shared object."""
    if isinstance(obj, SharedObject):
        return obj.json_bytes()
    return json.dumps(obj, separators=(",", ":")).encode()


def _shared(event: StorageEvent) -> StorageEvent:
    return StorageEvent(event.type, event.revision, SharedObject(event.object) if event.object is not None else None,
                        event.previous, event.key)


class CachedWatch:
    """One subscriber: iterate for StorageEvents (like :class:`apiserver.storage.StorageWatch`)."""

    def __init__(self, cache: ResourceCache, prefix: str, start_revision: int, max_pending: int,
                 index_value: str | None = None):
        self._cache = cache
        self.prefix = prefix
        # The value of the cache's indexed field this watcher's selector pins (None: not indexed):
        # it is offered only the changes of objects with that value before or after.
        self.index_value = index_value
        self.sent_revision = start_revision  # the newest revision sent (change or bookmark)
        # The newest change sent: a change at or below it is one the client has. Kept apart from
        # bookmarks because etcd before 3.4.26 / 3.5.8 may send a progress notification ahead of
        # changes it has not delivered yet to a lagging watch; those changes must still go out.
        self.event_revision = start_revision
        self._warned = False
        self._max_pending = max_pending
        self._pending: deque[StorageEvent] = deque()
        self._cond = threading.Condition()
        self._done = False
        self._error: errors.APIError | None = None

    # called by the cache, under the cache's lock
    def offer(self, event: StorageEvent) -> bool:
        """Queue ``event`` if it is for this subscriber; False when the subscriber fell too far behind."""
        if event.type != "BOOKMARK" and not event.key.startswith(self.prefix):
            return True
        with self._cond:
            if self._done:
                return True
            if len(self._pending) >= self._max_pending:
                self._done = True
                self._pending.clear()
                self._cond.notify_all()
                return False
            self._pending.append(event)
            self._cond.notify_all()
        return True

    def fail(self, error: errors.APIError) -> None:
        with self._cond:
            self._error = error
            self._done = True
            self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._done = True
            self._cond.notify_all()
        self._cache.unsubscribe(self)

    def request_progress(self) -> None:
        self._cache.request_progress()

    def __iter__(self) -> Iterator[StorageEvent]:
        while True:
            with self._cond:
                while not self._pending and not self._done:
                    self._cond.wait()
                if not self._pending:
                    if self._error is not None:
                        raise self._error
                    return
                event = self._pending.popleft()
            if event.type == "BOOKMARK":
                if event.revision <= self.sent_revision:
                    continue  # a bookmark not beyond what was sent
            elif event.revision <= self.event_revision:
                continue  # a change the client already has
            elif event.revision <= self.sent_revision and not self._warned:
                self._warned = True
                log.warning("watch of %s: change at revision %d arrived after a bookmark at %d (an etcd progress "
                            "notification ahead of its changes); sent anyway", self.prefix, event.revision,
                            self.sent_revision)
            if event.type != "BOOKMARK":
                self.event_revision = event.revision
            self.sent_revision = max(self.sent_revision, event.revision)
            yield event


class ResourceCache:
    """The last ``capacity`` changes of one collection, from one etcd watch; see the module docstring."""

    def __init__(self, storage: Storage, prefix: str, *, capacity: int = DEFAULT_CAPACITY,
                 max_pending: int = DEFAULT_MAX_PENDING, on_end=None, index_field: str | None = None):
        self.storage = storage
        self.prefix = prefix
        self.capacity = capacity
        self.max_pending = max_pending
        self.index_field = index_field
        self._on_end = on_end
        self._lock = threading.Lock()
        self._buffer: deque[StorageEvent] = deque()
        self._subscribers: set[CachedWatch] = set()  # all of them
        self._unindexed: set[CachedWatch] = set()
        self._indexed: dict[str, set[CachedWatch]] = {}  # index value -> its watchers
        self._last_progress_request = 0.0
        self.closed = False
        # Every change after `complete_from` is in the buffer (or was evicted, which moves it up).
        self.complete_from = storage.current_revision()
        self.revision = self.complete_from  # the newest revision the cache has seen (events or progress)
        self._watch = storage.watch(prefix, self.complete_from)
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"watch-cache {prefix}")
        self._thread.start()

    def subscribe(self, prefix: str, start_revision: int, fields: FieldSelector | None = None) -> CachedWatch | None:
        """A subscriber from ``start_revision`` (0: now), or None when the buffer cannot serve it.
        ``fields`` (the watch's field selector) places it in the index when it pins the indexed field."""
        index_value = fields.exact_value(self.index_field) if fields is not None and self.index_field else None
        with self._lock:
            if self.closed:
                return None
            if start_revision and start_revision < self.complete_from:
                return None
            sub = CachedWatch(self, prefix, start_revision or self.revision, self.max_pending, index_value)
            for event in self._buffer:
                if event.revision > sub.sent_revision and (index_value is None or index_value in self._values(event)):
                    sub.offer(event)
            self._subscribers.add(sub)
            if index_value is None:
                self._unindexed.add(sub)
            else:
                self._indexed.setdefault(index_value, set()).add(sub)
            return sub

    def unsubscribe(self, sub: CachedWatch) -> None:
        with self._lock:
            self._remove(sub)

    def _remove(self, sub: CachedWatch) -> None:
        """Forget ``sub`` (under the lock)."""
        self._subscribers.discard(sub)
        if sub.index_value is None:
            self._unindexed.discard(sub)
            return
        bucket = self._indexed.get(sub.index_value)
        if bucket is not None:
            bucket.discard(sub)
            if not bucket:
                del self._indexed[sub.index_value]

    def _values(self, event: StorageEvent) -> tuple[str, ...]:
        """The indexed field's values in the object after and before ``event`` (one or two)."""
        after = field_value(event.object, self.index_field) if event.object is not None else None
        before = field_value(event.previous, self.index_field) if event.previous is not None else None
        if after is None or before is None or after == before:
            return (after if after is not None else before,)
        return after, before

    def _targets(self, event: StorageEvent) -> list[CachedWatch]:
        """The subscribers ``event`` may concern (under the lock): every one for a bookmark or an
        unindexed cache, else the unindexed ones and those indexed under the object's values."""
        if event.type == "BOOKMARK" or self.index_field is None or not self._indexed:
            return list(self._subscribers)
        targets = list(self._unindexed)
        for value in self._values(event):
            targets.extend(self._indexed.get(value, ()))
        return targets

    def request_progress(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last_progress_request < PROGRESS_MIN_INTERVAL_S:
                return
            self._last_progress_request = now
        self._watch.request_progress()

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    @property
    def indexed_subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers) - len(self._unindexed)

    def stop(self) -> None:
        self._watch.cancel()

    def _run(self) -> None:
        error: errors.APIError = errors.Unavailable("the watch cache stopped")
        try:
            for event in self._watch:
                self._deliver(_shared(event) if event.type != "BOOKMARK" else event)
        except errors.APIError as e:
            error = e
            log.warning("watch cache of %s ended: %s; its watchers resume elsewhere", self.prefix, e)
        except Exception:  # noqa: BLE001 - a cache bug must end the watches, not leave them hanging
            log.exception("watch cache of %s failed", self.prefix)
            error = errors.InternalError("the watch cache failed")
        with self._lock:
            self.closed = True
            subscribers, self._subscribers = list(self._subscribers), set()
            self._unindexed, self._indexed = set(), {}
        for sub in subscribers:
            sub.fail(error)
        if self._on_end is not None:
            self._on_end(self)

    def _deliver(self, event: StorageEvent) -> None:
        with self._lock:
            self.revision = max(self.revision, event.revision)
            if event.type != "BOOKMARK":
                self._buffer.append(event)
                while len(self._buffer) > self.capacity:
                    self.complete_from = self._buffer.popleft().revision
            slow = [sub for sub in self._targets(event) if not sub.offer(event)]
            for sub in slow:
                self._remove(sub)
                log.info("watch of %s fell %d changes behind; ended so it resumes", sub.prefix, self.max_pending)


class WatchCache:
    """The caches of every watched resource; :meth:`watch` is a drop-in for ``Storage.watch``."""

    def __init__(self, storage: Storage, *, capacity: int = DEFAULT_CAPACITY, max_pending: int = DEFAULT_MAX_PENDING):
        self.storage = storage
        self.capacity = capacity
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._caches: dict[str, ResourceCache] = {}

    def watch(self, collection: str, prefix: str, start_revision: int, fields: FieldSelector | None = None):
        """A watch of keys under ``prefix`` (inside ``collection``) after ``start_revision``: from the
        cache of ``collection`` when it can serve it, else straight from storage. ``fields``, the
        watch's field selector, only indexes the watcher (see ``INDEXED_FIELDS``): the caller still
        filters by it."""
        if start_revision:
            self.storage.check_not_compacted(start_revision)
        cache = self._cache_for(collection)
        sub = cache.subscribe(prefix, start_revision, fields) if cache is not None else None
        if sub is not None:
            return sub
        return self.storage.watch(prefix, start_revision)

    def _cache_for(self, collection: str) -> ResourceCache | None:
        with self._lock:
            cache = self._caches.get(collection)
            if cache is not None and not cache.closed:
                return cache
            cache = ResourceCache(self.storage, collection, capacity=self.capacity, max_pending=self.max_pending,
                                  on_end=self._ended, index_field=INDEXED_FIELDS.get(collection))
            self._caches[collection] = cache
            return cache

    def prime(self, collections: list[str]) -> None:
        """Make the caches of ``collections`` now (best effort: one that fails is made on its first watch)."""
        for collection in collections:
            try:
                self._cache_for(collection)
            except errors.APIError as e:
                log.info("watch cache of %s not started yet: %s", collection, e)
                return

    def _ended(self, cache: ResourceCache) -> None:
        with self._lock:
            if self._caches.get(cache.prefix) is cache:
                del self._caches[cache.prefix]

    def stats(self) -> dict:
        with self._lock:
            return {c.prefix: {"subscribers": c.subscribers, "indexed": c.indexed_subscribers, "revision": c.revision,
                               "completeFrom": c.complete_from}
                    for c in self._caches.values()}

    def stop(self) -> None:
        with self._lock:
            caches = list(self._caches.values())
        for cache in caches:
            cache.stop()
