"""In-apiserver caches of a few resources, kept by list-then-watch on storage.

Authorization (RBAC objects) and the NamespaceLifecycle admission plugin (Namespaces)
consult these on every request; reading etcd each time would put a range read on the hot
path. Like kube-apiserver's shared informers, a cache lists at one revision, then watches
from it, resumes after a broken watch, relists when the revision was compacted, and backs
off while etcd is away. Reads return shared dicts: callers must not change them.
"""

from __future__ import annotations

import logging
import threading

from apiserver.storage import Storage, collection_prefix
from machinery import errors, meta

log = logging.getLogger(__name__)


class ObjectCache:
    def __init__(self, storage: Storage, resources: list[str]):
        self.storage = storage
        self._objects: dict[str, dict[str, dict]] = {r: {} for r in resources}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._synced = {r: threading.Event() for r in resources}
        self._watches: dict = {}

    def start(self) -> None:
        for resource in self._objects:
            threading.Thread(target=self._run, args=(resource,), daemon=True, name=f"cache-{resource}").start()

    def stop(self) -> None:
        self._stop.set()
        for watch in list(self._watches.values()):
            watch.cancel()

    def wait_synced(self, timeout_s: float | None = None) -> bool:
        return all(e.wait(timeout_s) for e in self._synced.values())

    def objects(self, resource: str) -> list[dict]:
        with self._lock:
            return list(self._objects[resource].values())

    def get(self, resource: str, key: str) -> dict | None:
        """The cached object at ``key`` (``namespace/name``, or ``name`` when cluster-scoped), or None."""
        with self._lock:
            return self._objects[resource].get(key)

    def _run(self, resource: str) -> None:
        prefix = collection_prefix(resource)
        revision = 0
        delay = 0.2
        while not self._stop.is_set():
            try:
                if not revision:
                    page = self.storage.list(prefix)
                    with self._lock:
                        self._objects[resource] = {meta.key_of(o): o for o in page.items}
                    revision = page.revision
                    self._synced[resource].set()
                watch = self.storage.watch(prefix, revision)
                self._watches[resource] = watch
                for event in watch:
                    if self._stop.is_set():
                        return
                    revision = event.revision
                    if event.object is None:
                        continue
                    key = meta.key_of(event.object)
                    with self._lock:
                        if event.type == "DELETED":
                            self._objects[resource].pop(key, None)
                        else:
                            self._objects[resource][key] = event.object
                delay = 0.2
            except errors.Expired:
                revision = 0
            except errors.APIError as e:
                if self._stop.is_set():
                    return
                log.debug("cache of %s: %s; retrying in %.1fs", resource, e, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
