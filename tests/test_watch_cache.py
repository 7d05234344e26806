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
from apiserver.storage import KeyNotFound, Storage, StorageEvent, collection_prefix, object_key
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


def pod_event(kind: str, revision: int, name: str, node: str | None, previous_node: str | None = None,
              ns: str = "a"):
    """A StorageEvent of pod ``ns/name`` on ``node`` (None: unbound), moving from ``previous_node``."""
    def pod(on):
        return {"metadata": {"name": name, "namespace": ns}, "spec": {"nodeName": on} if on else {}}

    previous = pod(previous_node) if kind != "ADDED" else None
    return StorageEvent(kind, revision, pod(node if kind != "DELETED" else previous_node), previous,
                        f"/registry/pods/{ns}/{name}")


def api_events(watch, count: int) -> list:
    """The first ``count`` (type, name) a ResourceWatch yields (a bookmark's name: its resourceVersion)."""
    out: list = []
    collect(watch, out, stop_after=count).join(5)
    return [(kind, obj["metadata"].get("name") or obj["metadata"]["resourceVersion"]) for kind, obj in out]


def test_pod_watchers_are_offered_only_the_changes_of_their_node_and_still_see_pods_enter_and_leave():
    """The spec.nodeName index: a kubelet's watch is handed only the changes of pods on its node
    (before or after the change), an unindexed watch every change, every watch every bookmark; what
    comes out of ResourceWatch is what it was without the index."""
    from apiserver.api import ResourceWatch, WatchOptions
    from apiserver.watch_cache import INDEXED_FIELDS, ResourceCache
    from machinery.fields import parse_field_selector

    coll = collection_prefix("pods")
    storage = ScriptedStorage(revision=10)
    cache = ResourceCache(storage, coll, index_field=INDEXED_FIELDS[coll])

    def watch(selector: str):
        fields = parse_field_selector(selector)
        sub = cache.subscribe(coll, 10, fields)
        predicate = (lambda obj: fields.matches(obj)) if fields.terms else None
        return sub, ResourceWatch(sub, predicate, WatchOptions(field_selector=selector, allow_bookmarks=True))

    on_a, watch_a = watch("spec.nodeName=node-a")
    on_b, watch_b = watch("spec.nodeName=node-b")
    unbound, watch_unbound = watch("spec.nodeName=")
    everything, watch_everything = watch("")
    not_a, watch_not_a = watch("spec.nodeName!=node-a")  # not an exact value: not indexed
    assert (on_a.index_value, unbound.index_value, everything.index_value, not_a.index_value) == \
        ("node-a", "", None, None)
    assert cache.indexed_subscribers == 3 and cache.subscribers == 5
    feed = storage.watches[0].events
    feed.put(pod_event("ADDED", 11, "p1", None))  # created, unbound
    feed.put(pod_event("MODIFIED", 12, "p1", "node-a", None))  # bound to node-a
    feed.put(pod_event("ADDED", 13, "p2", "node-b"))
    feed.put(pod_event("MODIFIED", 14, "p1", "node-a", "node-a"))  # status on node-a
    feed.put(pod_event("MODIFIED", 15, "p1", "node-b", "node-a"))  # moves a → b (not via the API, but storage may)
    feed.put(pod_event("DELETED", 16, "p2", None, "node-b"))
    feed.put(StorageEvent("BOOKMARK", 17))
    wait_for(lambda: cache.revision == 17, timeout_s=5, message="the cache fed")
    assert [e.revision for e in on_a._pending] == [12, 14, 15, 17]
    assert [e.revision for e in on_b._pending] == [13, 15, 16, 17]
    assert [e.revision for e in unbound._pending] == [11, 12, 17]
    assert [e.revision for e in everything._pending] == [11, 12, 13, 14, 15, 16, 17]
    assert [e.revision for e in not_a._pending] == [11, 12, 13, 14, 15, 16, 17]
    assert api_events(watch_a, 4) == [("ADDED", "p1"), ("MODIFIED", "p1"), ("DELETED", "p1"), ("BOOKMARK", "17")]
    assert api_events(watch_b, 4) == [("ADDED", "p2"), ("ADDED", "p1"), ("DELETED", "p2"), ("BOOKMARK", "17")]
    assert api_events(watch_unbound, 3) == [("ADDED", "p1"), ("DELETED", "p1"), ("BOOKMARK", "17")]
    assert api_events(watch_not_a, 6) == [("ADDED", "p1"), ("DELETED", "p1"), ("ADDED", "p2"), ("ADDED", "p1"),
                                          ("DELETED", "p2"), ("BOOKMARK", "17")]
    # A watcher resuming from the buffer is offered only its node's changes too.
    late = cache.subscribe(coll, 11, parse_field_selector("spec.nodeName=node-a"))
    assert [e.revision for e in late._pending] == [12, 14, 15]
    for sub in (on_a, on_b, unbound, everything, not_a, late):
        sub.cancel()
    assert cache.subscribers == 0 and cache.indexed_subscribers == 0 and not cache._indexed
    cache.stop()


def test_a_slow_indexed_watcher_is_ended_and_leaves_the_index():
    from apiserver.watch_cache import ResourceCache
    from machinery.fields import parse_field_selector

    coll = collection_prefix("pods")
    storage = ScriptedStorage(revision=10)
    cache = ResourceCache(storage, coll, index_field="spec.nodeName", max_pending=2)
    slow = cache.subscribe(coll, 0, parse_field_selector("spec.nodeName=node-a"))
    other = cache.subscribe(coll, 0, parse_field_selector("spec.nodeName=node-b"))
    feed = storage.watches[0].events
    for i in range(3):
        feed.put(pod_event("ADDED", 11 + i, f"p{i}", "node-a"))
    wait_for(lambda: cache.subscribers == 1, timeout_s=5, message="the slow watcher dropped")
    assert list(slow) == [] and list(cache._indexed) == ["node-b"]  # node-b's watcher never saw node-a's pods
    assert not other._pending
    other.cancel()
    cache.stop()


def test_a_kubelet_style_watch_through_the_api_is_indexed_and_sees_its_pods(storage):
    """Through API.watch on a real etcd: a watch pinning spec.nodeName is indexed by the cache and
    sees a pod bound to its node arrive as ADDED."""
    from apiserver.admission.chain import AdmissionChain, UserInfo
    from apiserver.api import API, WatchOptions

    ns = f"wc{uuid.uuid4().hex[:8]}"
    cache = WatchCache(storage, capacity=100)
    api = API(storage, AdmissionChain([], []), watch_cache=cache)
    admin = UserInfo("admin", groups=("system:masters",))
    node_watch = api.watch(admin, "pods", "", WatchOptions(field_selector="spec.nodeName=node-x"))
    assert cache.stats()[collection_prefix("pods")]["indexed"] >= 1
    seen: list = []
    t = collect(node_watch, seen, stop_after=1)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    api.create(admin, "pods", ns, pod)
    api.create(admin, "pods", ns, dict(pod, metadata={"name": "elsewhere", "namespace": ns}))
    api.bind(admin, ns, "elsewhere", "node-y")
    api.bind(admin, ns, "p", "node-x")
    t.join(10)
    assert [(kind, obj["metadata"]["name"], obj["spec"]["nodeName"]) for kind, obj in seen] == \
        [("ADDED", "p", "node-x")]
    node_watch.cancel()
    cache.stop()
