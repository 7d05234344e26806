"""NamespaceLifecycle with a cache of namespaces: the cache answers only "exists and Active";
absent, terminating and just-deleted namespaces are read live, so a create right after its
namespace's delete returned is refused however late the cache is."""

from __future__ import annotations

import pytest

from apiserver.admission.chain import Attributes
from apiserver.admission.namespace_lifecycle import FORCE_LIVE_LOOKUP_S, NamespaceLifecycle
from machinery import errors


def namespace(name: str, terminating: bool = False) -> dict:
    ns = {"metadata": {"name": name}, "status": {"phase": "Active"}}
    if terminating:
        ns["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        ns["status"]["phase"] = "Terminating"
    return ns


class World:
    """etcd (``stored``) and the apiserver's cache of it (``cached``), a clock, and the plugin."""

    def __init__(self):
        self.stored: dict[str, dict] = {}
        self.cached: dict[str, dict] = {}
        self.live_reads = 0
        self.now = 100.0
        self.plugin = NamespaceLifecycle(self._live, self.cached.get, clock=lambda: self.now)

    def _live(self, name: str) -> dict | None:
        self.live_reads += 1
        return self.stored.get(name)

    def create_pod(self, ns: str, resource: str = "pods") -> None:
        self.plugin.validate(Attributes("CREATE", resource, ns, "p", {}))

    def delete_namespace(self, name: str, dry_run: bool = False) -> None:
        """A delete admitted then written to etcd; the cache does not see it yet."""
        self.plugin.validate(Attributes("DELETE", "namespaces", "", name, None, dry_run=dry_run))
        if not dry_run:
            self.stored[name] = namespace(name, terminating=True)


@pytest.fixture
def world() -> World:
    w = World()
    w.stored["team"] = w.cached["team"] = namespace("team")
    return w


def test_an_active_namespace_in_the_cache_is_not_read_from_etcd(world):
    for _ in range(3):
        world.create_pod("team")
    world.plugin.validate(Attributes("CREATE", "pods", "team", "p", {}, subresource="binding"))
    assert world.live_reads == 0


def test_a_namespace_the_cache_has_not_seen_yet_is_read_live(world):
    world.stored["new"] = namespace("new")  # created moments ago
    world.create_pod("new")
    assert world.live_reads == 1
    with pytest.raises(errors.NotFound, match='namespaces "missing" not found'):
        world.create_pod("missing")


def test_a_create_right_after_the_delete_returned_is_refused_while_the_cache_still_says_active(world):
    world.delete_namespace("team")
    assert world.cached["team"]["status"]["phase"] == "Active"  # the cache is behind
    with pytest.raises(errors.Forbidden, match="unable to create new content in namespace team because it is "
                                               "being terminated"):
        world.create_pod("team")
    world.create_pod("team", "events")  # events may still be recorded there
    world.now += 10 * FORCE_LIVE_LOOKUP_S  # however late the cache is, etcd decides while it lags
    with pytest.raises(errors.Forbidden):
        world.create_pod("team")
    world.stored.pop("team")  # the namespace controller finished: gone from etcd, the cache still behind
    with pytest.raises(errors.NotFound):
        world.create_pod("team")


def test_once_the_cache_shows_the_deletion_it_is_confirmed_live_so_a_recreated_namespace_works(world):
    world.delete_namespace("team")
    world.cached["team"] = world.stored["team"]  # the cache caught up
    with pytest.raises(errors.Forbidden):
        world.create_pod("team")
    assert world.plugin._read_live_until == {}  # no longer needed
    world.stored["team"] = namespace("team")  # gone and created again; the cache has not seen it
    world.create_pod("team")


def test_a_delete_that_did_not_happen_stops_the_live_reads_after_the_ttl(world):
    world.plugin.validate(Attributes("DELETE", "namespaces", "", "team", None))  # admitted, then the write failed
    world.create_pod("team")
    reads = world.live_reads
    assert reads == 1
    world.now += FORCE_LIVE_LOOKUP_S
    world.create_pod("team")  # etcd says Active: the cache is right again
    world.create_pod("team")
    assert world.live_reads == reads + 1


def test_a_dry_run_delete_changes_nothing(world):
    world.delete_namespace("team", dry_run=True)
    world.create_pod("team")
    assert world.live_reads == 0


def test_without_a_cache_every_create_reads_etcd():
    stored = {"team": namespace("team")}
    reads: list[str] = []
    plugin = NamespaceLifecycle(lambda name: reads.append(name) or stored.get(name))
    plugin.validate(Attributes("CREATE", "pods", "team", "p", {}))
    stored["team"] = namespace("team", terminating=True)
    with pytest.raises(errors.Forbidden):
        plugin.validate(Attributes("CREATE", "pods", "team", "p", {}))
    assert reads == ["team", "team"]


def test_default_namespaces_cannot_be_deleted(world):
    with pytest.raises(errors.Forbidden, match='namespaces "kube-system" is forbidden'):
        world.plugin.validate(Attributes("DELETE", "namespaces", "", "kube-system", None))
