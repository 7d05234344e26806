"""Consistent reads for admission plugins that must consult other objects (quotas, limit
ranges, priority classes, service accounts). Reads go to storage, not to a cache, so a
plugin never decides on stale data."""

from __future__ import annotations

from apiserver.storage import KeyNotFound, Storage, collection_prefix, object_key


class Lookup:
    def __init__(self, storage: Storage):
        self.storage = storage

    def get(self, resource: str, namespace: str, name: str) -> dict | None:
        try:
            return self.storage.get(object_key(resource, namespace, name))
        except KeyNotFound:
            return None

    def list(self, resource: str, namespace: str = "") -> list[dict]:
        return self.storage.list(collection_prefix(resource, namespace)).items
