"""The garbage collector: deletes what lost its owners, in the order deletions ask for.

It watches every stored resource (events aside) and keeps a dependency graph from
``metadata.ownerReferences``: object uid → where it is, owner uid → its dependents. Work
items are ``<resource>|<namespace/name>``; ``reconcile`` does what kube-controller-manager's
attemptToDeleteItem / processDeletingDependentsItem / orphanDependents do:

- **an object with owners**: each owner is *solid* (exists), *waiting* (being deleted in the
  foreground) or *absent* (checked against the API when the cache does not know it, so an
  informer that lags never causes a deletion). With a solid owner, references to absent and
  waiting owners are removed. Without one: if a waiting owner exists and the object has
  dependents of its own, it is deleted in the foreground; otherwise it is deleted (background);
- **background propagation** is therefore just deleting the owner: its dependents' owners turn
  absent and they go, and so on down;
- **foreground** (the owner has ``deletionTimestamp`` and the ``foregroundDeletion``
  finalizer, set by the apiserver for ``propagationPolicy: Foreground``): dependents whose
  reference has ``blockOwnerDeletion: true`` are deleted (foreground again if they have
  dependents); once none is left the finalizer is removed and the apiserver removes the owner;
- **orphan** (finalizer ``orphan``): the owner's references are removed from its dependents,
  then the finalizer, and the owner goes while the dependents stay.

Owner references to kinds the API does not serve count as solid (never a reason to delete).
"""

from __future__ import annotations

import logging
import threading

from controller_manager.common import Lister, being_deleted
from machinery import errors, meta
from machinery.client import APIClient
from machinery.controller import Controller
from machinery.informer import Handlers
from machinery.resources import RESOURCES, ResourceInfo

log = logging.getLogger(__name__)

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
SOLID, WAITING, ABSENT = "solid", "waiting", "absent"
# Resources the collector does not watch: events never own anything and are the busiest.
UNWATCHED = frozenset({"events"})
FOREGROUND_RECHECK_S = 5.0


def collectable_resources() -> list[str]:
    return [r.name for r in RESOURCES.values() if not r.virtual and r.name not in UNWATCHED]


def resource_for(api_version: str, kind: str) -> ResourceInfo | None:
    """The resource serving ``kind`` in ``api_version``'s group (the version may differ)."""
    group = api_version.split("/")[0] if "/" in (api_version or "") else ""
    for info in RESOURCES.values():
        if info.kind == kind and info.group == group and not info.virtual:
            return info
    return None


def _refs(obj: dict) -> list[dict]:
    return [r for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if isinstance(r, dict)]


def _finalizers(obj: dict) -> list[str]:
    return list((obj.get("metadata") or {}).get("finalizers") or [])


class GarbageCollector(Controller):
    name = "garbagecollector"

    def __init__(self, client: APIClient, listers: dict[str, Lister], *, workers: int = 5):
        super().__init__(client, workers=workers)
        self.listers = listers
        self.informers = [lister.informer for lister in listers.values()]
        self._lock = threading.Lock()
        self._where: dict[str, tuple[str, str]] = {}  # uid -> (resource, key)
        self._dependents: dict[str, set[tuple[str, str]]] = {}  # owner uid -> {(resource, key)}
        self._owners: dict[tuple[str, str], set[str]] = {}  # (resource, key) -> owner uids
        self.deleted = 0
        for resource, lister in listers.items():
            lister.add_handlers(Handlers(lambda obj, r=resource: self._added(r, obj),
                                         lambda old, new, r=resource: self._updated(r, old, new),
                                         lambda obj, r=resource: self._deleted(r, obj)))

    # --- the graph --------------------------------------------------------------------------

    def _index(self, resource: str, obj: dict) -> None:
        node = (resource, meta.key_of(obj))
        owners = {r.get("uid") for r in _refs(obj) if r.get("uid")}
        with self._lock:
            uid = obj["metadata"].get("uid")
            if uid:
                self._where[uid] = node
            for gone in self._owners.get(node, set()) - owners:
                deps = self._dependents.get(gone)
                if deps is not None:
                    deps.discard(node)
                    if not deps:
                        del self._dependents[gone]
            for owner in owners:
                self._dependents.setdefault(owner, set()).add(node)
            if owners:
                self._owners[node] = owners
            else:
                self._owners.pop(node, None)

    def _unindex(self, resource: str, obj: dict) -> None:
        node = (resource, meta.key_of(obj))
        with self._lock:
            uid = obj["metadata"].get("uid")
            if uid and self._where.get(uid) == node:
                del self._where[uid]
            for owner in self._owners.pop(node, set()):
                deps = self._dependents.get(owner)
                if deps is not None:
                    deps.discard(node)
                    if not deps:
                        del self._dependents[owner]

    def dependents_of(self, uid: str) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._dependents.get(uid, ()))

    def _item(self, resource: str, obj: dict) -> str:
        return f"{resource}|{meta.key_of(obj)}"

    # --- handlers ---------------------------------------------------------------------------

    def _added(self, resource: str, obj: dict) -> None:
        self._index(resource, obj)
        if _refs(obj) or (being_deleted(obj) and {ORPHAN, FOREGROUND} & set(_finalizers(obj))):
            self.enqueue(self._item(resource, obj))

    def _updated(self, resource: str, old: dict, new: dict) -> None:
        self._index(resource, new)
        if _refs(old) != _refs(new) or (being_deleted(new) and {ORPHAN, FOREGROUND} & set(_finalizers(new))):
            self.enqueue(self._item(resource, new))

    def _deleted(self, resource: str, obj: dict) -> None:
        self._unindex(resource, obj)
        uid = obj["metadata"].get("uid", "")
        for dep_resource, dep_key in self.dependents_of(uid):
            self.enqueue(f"{dep_resource}|{dep_key}")
        for ref in _refs(obj):
            with self._lock:
                where = self._where.get(ref.get("uid", ""))
            if where is not None:
                self.enqueue(f"{where[0]}|{where[1]}")

    # --- reconcile --------------------------------------------------------------------------

    def reconcile(self, key: str) -> float | None:
        resource, _, obj_key = key.partition("|")
        lister = self.listers.get(resource)
        obj = lister.get(obj_key) if lister else None
        if obj is None:
            return None
        if being_deleted(obj):
            finalizers = _finalizers(obj)
            if ORPHAN in finalizers:
                self._orphan_dependents(obj)
                self._remove_finalizer(resource, obj, ORPHAN)
                return None
            if FOREGROUND in finalizers:
                return self._process_foreground(resource, obj)
            return None
        if _refs(obj):
            self._attempt_to_delete(resource, obj)
        return None

    def _owner_state(self, obj: dict, ref: dict) -> str:
        uid = ref.get("uid", "")
        with self._lock:
            where = self._where.get(uid)
        owner = self.listers[where[0]].get(where[1]) if where else None
        if owner is None or owner["metadata"].get("uid") != uid:
            info = resource_for(ref.get("apiVersion", ""), ref.get("kind", ""))
            if info is None:
                return SOLID
            namespace = meta.namespace_of(obj) if info.namespaced else ""
            if info.namespaced and not namespace:
                return ABSENT  # a cluster-scoped object cannot be owned by a namespaced one
            try:
                owner = self.client.get(info.name, ref.get("name", ""), namespace)
            except errors.NotFound:
                return ABSENT
            if owner["metadata"].get("uid") != uid:
                return ABSENT
        if being_deleted(owner) and FOREGROUND in _finalizers(owner):
            return WAITING
        return SOLID

    def _attempt_to_delete(self, resource: str, obj: dict) -> None:
        states: dict[str, list[dict]] = {SOLID: [], WAITING: [], ABSENT: []}
        for ref in _refs(obj):
            states[self._owner_state(obj, ref)].append(ref)
        if states[SOLID]:
            drop = {r.get("uid") for r in states[ABSENT] + states[WAITING]}
            if drop:
                self._remove_refs(resource, obj, drop)
            return
        uid = obj["metadata"].get("uid", "")
        if states[WAITING] and self.dependents_of(uid):
            policy = "Foreground"
        elif ORPHAN in _finalizers(obj):
            policy = "Orphan"
        elif FOREGROUND in _finalizers(obj):
            policy = "Foreground"
        else:
            policy = "Background"
        try:
            self.client.delete(resource, meta.name_of(obj), meta.namespace_of(obj), precondition_uid=uid,
                               propagation_policy=policy)
        except (errors.NotFound, errors.Conflict):
            return
        self.deleted += 1
        log.info("garbage collector: deleted %s %s (owners gone or deleting, propagation %s)", resource,
                 meta.key_of(obj), policy)

    def _process_foreground(self, resource: str, obj: dict) -> float | None:
        uid = obj["metadata"].get("uid", "")
        blocking = []
        for dep_resource, dep_key in self.dependents_of(uid):
            dep = self.listers[dep_resource].get(dep_key)
            if dep is None:
                continue
            if any(r.get("uid") == uid and r.get("blockOwnerDeletion") for r in _refs(dep)):
                blocking.append((dep_resource, dep_key, dep))
        if not blocking:
            self._remove_finalizer(resource, obj, FOREGROUND)
            return None
        for dep_resource, dep_key, dep in blocking:
            if not being_deleted(dep):
                self.enqueue(f"{dep_resource}|{dep_key}")
        return FOREGROUND_RECHECK_S

    def _orphan_dependents(self, owner: dict) -> None:
        uid = owner["metadata"].get("uid", "")
        for dep_resource, dep_key in self.dependents_of(uid):
            dep = self.listers[dep_resource].get(dep_key)
            if dep is not None:
                self._remove_refs(dep_resource, dep, {uid})

    def _remove_refs(self, resource: str, obj: dict, uids: set) -> None:
        obj_uid = obj["metadata"].get("uid")

        def change(fresh: dict) -> bool:
            refs = _refs(fresh)
            kept = [r for r in refs if r.get("uid") not in uids]
            if fresh["metadata"].get("uid") != obj_uid or len(kept) == len(refs):
                return False
            if kept:
                fresh["metadata"]["ownerReferences"] = kept
            else:
                fresh["metadata"].pop("ownerReferences", None)
            return True

        if self.client.mutate(resource, meta.name_of(obj), meta.namespace_of(obj), change) is not None:
            log.info("garbage collector: removed owner references %s from %s %s", sorted(uids), resource,
                     meta.key_of(obj))

    def _remove_finalizer(self, resource: str, obj: dict, finalizer: str) -> None:
        uid = obj["metadata"].get("uid")

        def change(fresh: dict) -> bool:
            finalizers = _finalizers(fresh)
            if fresh["metadata"].get("uid") != uid or finalizer not in finalizers:
                return False
            fresh["metadata"]["finalizers"] = [f for f in finalizers if f != finalizer]
            return True

        self.client.mutate(resource, meta.name_of(obj), meta.namespace_of(obj), change)
        log.info("garbage collector: %s %s released (%s done)", resource, meta.key_of(obj), finalizer)

    def stats(self) -> dict:
        with self._lock:
            size = len(self._where)
        return {**super().stats(), "deleted": self.deleted, "graph": size}
