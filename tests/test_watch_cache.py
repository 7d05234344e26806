"""apiserver.watch_cache against a real etcd: one etcd watch per resource, fanned out in memory.

What a watcher must not be able to tell apart from a watch of its own on etcd: every change after
its resourceVersion, once, in order, only under its key prefix; a resourceVersion older than the
cache's window still served (by etcd); a compacted one Expired; bookmarks that move forward. And
what the cache adds: a slow watcher is ended (so it resumes) instead of holding memory, an etcd
failure ends every watcher with UNAVAILABLE, and one JSON encoding per change for all watchers.
"""

from __future__ import annotations

import threading
import uuid

import pytest

from apiserver.etcd import EtcdClient
from apiserver.storage import KeyNotFound, Storage, collection_prefix, object_key
from apiserver.watch_cache import SharedObject, WatchCache, encode
from machinery import errors
from tests.helpers import wait_for


@pytest.fixture
def storage(etcd):
    client = EtcdClient([etcd.client_url])
    yield Storage(client)
    client.close()


@pytest.fixture
def resource():
    return f"wc{uuid.uuid4().hex[:8]}"  # a collection of this test's own


def put(storage: Storage, resource: str, ns: str, name: str, value: int = 0) -> int:
    key = object_key(resource, ns, name)
    obj = {"metadata": {"name": name, "namespace": ns}, "value": value}
    try:
        current = storage.get(key)
        return int(storage.update(key, obj, int(current["metadata"]["resourceVersion"]))["metadata"]["resourceVersion"])
    except KeyNotFound:
        return int(storage.create(key, obj)["metadata"]["resourceVersion"])


def collect(watch, out: list, stop_after: int | None = None) -> threading.Thread:
    def run():
        try:
            for event in watch:
                out.append(event)
                if stop_after is not None and len(out) >= stop_after:
                    return
        except errors.APIError as e:
            out.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def names(events) -> list[tuple[str, str]]:
    return [(e.type, e.object["metadata"]["name"]) for e in events if not isinstance(e, Exception)]


def test_replays_from_a_resource_version_then_follows_live_changes_in_order(storage, resource):
    cache = WatchCache(storage, capacity=100)
    coll = collection_prefix(resource)
    first = cache.watch(coll, coll, 0)  # makes the cache: everything from now on is in it
    start = put(storage, resource, "a", "one")
    put(storage, resource, "b", "two")
    put(storage, resource, "a", "one", 1)
    resumed = cache.watch(coll, collection_prefix(resource, "a"), start - 1)
    assert type(resumed).__name__ == "CachedWatch"  # served from the buffer, not by a new etcd watch
    seen: list = []
    t = collect(resumed, seen, stop_after=3)
    put(storage, resource, "a", "three")
    t.join(10)
    assert names(seen) == [("ADDED", "one"), ("MODIFIED", "one"), ("ADDED", "three")]  # only namespace a
    revisions = [e.revision for e in seen]
    assert revisions == sorted(revisions) and len(set(revisions)) == 3
    first.cancel()
    resumed.cancel()
    cache.stop()


def test_a_revision_older_than_the_cache_is_served_by_etcd_and_a_compacted_one_is_expired(storage, resource, etcd):
    before = put(storage, resource, "a", "early")
    cache = WatchCache(storage, capacity=100)
    coll = collection_prefix(resource)
    live = cache.watch(coll, coll, 0)
    put(storage, resource, "a", "late")
    old = cache.watch(coll, coll, before - 1)
    assert type(old).__name__ == "StorageWatch"  # the cache began after it: etcd serves it
    seen: list = []
    collect(old, seen, stop_after=2).join(10)
    assert names(seen) == [("ADDED", "early"), ("ADDED", "late")]
    head = put(storage, resource, "a", "head")
    client = EtcdClient([etcd.client_url])
    client.compact(head)
    client.close()
    with pytest.raises(errors.Expired):
        cache.watch(coll, coll, before)  # inside the cache's window, but etcd no longer has it
    live.cancel()
    cache.stop()


def test_bookmarks_come_from_etcd_progress_and_only_move_forward(storage, resource):
    cache = WatchCache(storage, capacity=10)
    coll = collection_prefix(resource)
    rv = put(storage, resource, "a", "x")
    sub = cache.watch(coll, coll, rv)
    put(storage, "otherkind" + resource, "a", "elsewhere")  # moves etcd's revision, not this collection
    seen: list = []
    t = collect(sub, seen, stop_after=1)

    def bookmark_arrived():
        sub.request_progress()
        return bool(seen)

    wait_for(bookmark_arrived, timeout_s=10, interval_s=1.1, message="a bookmark")
    t.join(5)
    assert seen[0].type == "BOOKMARK" and seen[0].revision > rv
    sub.cancel()
    cache.stop()


def test_a_watcher_that_does_not_read_is_ended_so_it_resumes(storage, resource):
    cache = WatchCache(storage, capacity=10, max_pending=3)
    coll = collection_prefix(resource)
    slow = cache.watch(coll, coll, 0)
    for i in range(6):
        put(storage, resource, "a", f"p{i}")
    wait_for(lambda: cache.stats()[coll]["subscribers"] == 0, timeout_s=10, message="the slow watcher dropped")
    assert list(slow) == []  # its stream ends normally; the client watches again from its resourceVersion
    cache.stop()


def test_an_etcd_failure_ends_every_watcher_with_unavailable_and_drops_the_cache(storage, resource):
    cache = WatchCache(storage, capacity=10)
    coll = collection_prefix(resource)
    subs = [cache.watch(coll, coll, 0) for _ in range(3)]
    results = [[] for _ in subs]
    threads = [collect(s, r) for s, r in zip(subs, results, strict=True)]
    (resource_cache,) = [c for p, c in cache._caches.items() if p == coll]
    resource_cache._watch._watch._call.cancel()  # the etcd stream breaks under the cache
    for t in threads:
        t.join(10)
    assert all(len(r) == 1 and isinstance(r[0], errors.Unavailable) for r in results), results
    wait_for(lambda: coll not in cache.stats(), timeout_s=5, message="the broken cache dropped")
    cache.stop()


def test_every_watcher_shares_one_object_and_one_encoding(storage, resource):
    cache = WatchCache(storage, capacity=10)
    coll = collection_prefix(resource)
    subs = [cache.watch(coll, coll, 0) for _ in range(2)]
    outs: list[list] = [[], []]
    threads = [collect(s, o, stop_after=1) for s, o in zip(subs, outs, strict=True)]
    put(storage, resource, "a", "shared")
    for t in threads:
        t.join(10)
    a, b = outs[0][0].object, outs[1][0].object
    assert a is b and isinstance(a, SharedObject)
    assert encode(a) is encode(b) and b'"name":"shared"' in encode(a)
    for s in subs:
        s.cancel()
    cache.stop()


class ScriptedWatch:
    """A storage watch whose events the test hands over one by one."""

    def __init__(self):
        import queue

        self.events: queue.Queue = queue.Queue()

    def __iter__(self):
        while (event := self.events.get()) is not None:
            yield event

    def cancel(self) -> None:
        self.events.put(None)

    def request_progress(self) -> None:
        pass


class ScriptedStorage:
    def __init__(self, revision: int):
        self.revision, self.watches = revision, []

    def current_revision(self) -> int:
        return self.revision

    def watch(self, prefix: str, start_revision: int) -> ScriptedWatch:
        self.watches.append(ScriptedWatch())
        return self.watches[-1]


def test_a_change_etcd_delivers_after_a_progress_notification_beyond_it_still_reaches_the_watcher():
    """etcd before 3.4.26 / 3.5.8 may answer a progress request of a lagging watch with a revision
    ahead of changes it has not sent yet; those changes must not be dropped as already sent (that
    lost every change of a burst for every kubelet watching through the cache)."""
    from apiserver.storage import StorageEvent
    from apiserver.watch_cache import ResourceCache

    storage = ScriptedStorage(revision=10)
    cache = ResourceCache(storage, "/registry/pods/")
    sub = cache.subscribe("/registry/pods/", 10)
    seen: list = []
    t = collect(sub, seen, stop_after=4)
    feed = storage.watches[0].events
    pod = {"metadata": {"name": "p", "namespace": "a"}}
    feed.put(StorageEvent("ADDED", 11, pod, None, "/registry/pods/a/p"))
    feed.put(StorageEvent("BOOKMARK", 14))  # etcd says "nothing up to 14" but 12 and 13 are still coming
    feed.put(StorageEvent("MODIFIED", 12, pod, pod, "/registry/pods/a/p"))
    feed.put(StorageEvent("MODIFIED", 13, pod, pod, "/registry/pods/a/p"))
    t.join(5)
    assert [(e.type, e.revision) for e in seen] == [("ADDED", 11), ("BOOKMARK", 14), ("MODIFIED", 12),
                                                    ("MODIFIED", 13)]
    sub.cancel()
    cache.stop()
