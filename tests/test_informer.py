"""machinery.informer against a real apiserver: the local cache every controller works from.

What a controller relies on: after the initial list its handlers hear of every add, update and
delete, in order, exactly once; its store equals what the API says; when the apiserver goes
away and comes back it picks up where it left off without replaying what it already had; and
when it was away so long that etcd compacted its resourceVersion, it relists and still hears
of objects deleted meanwhile.

Tests that kill an apiserver use their own etcd and apiserver processes (this module's), and
restart the killed apiserver on the same port, as a supervisor would.
"""

from __future__ import annotations

import sys
import threading
import uuid

import pytest

from apiserver.etcd import EtcdClient
from kubemu.etcd_server import EtcdMember, find_etcd_binary, free_port, wait_ready
from machinery.client import APIClient
from machinery.informer import Handlers, Informer
from tests.conftest import Proc, start_apiserver
from tests.helpers import wait_for

# --- helpers -------------------------------------------------------------------------------------


def pod(name: str, namespace: str, labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": "nginx"}]}}


def new_namespace(client: APIClient) -> str:
    name = f"inf-{uuid.uuid4().hex[:8]}"
    client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def relabel(client: APIClient, namespace: str, name: str, **labels: str) -> dict:
    def change(obj: dict) -> None:
        obj["metadata"].setdefault("labels", {}).update(labels)

    return client.mutate("pods", name, namespace, change)


class Recorder:
    """Handlers that log every call in order, as (event, name, resourceVersion…)."""

    def __init__(self):
        self.calls: list[tuple] = []
        self._lock = threading.Lock()

    def handlers(self) -> Handlers:
        return Handlers(on_add=self._add, on_update=self._update, on_delete=self._delete)

    def _log(self, entry: tuple) -> None:
        with self._lock:
            self.calls.append(entry)

    def _add(self, obj: dict) -> None:
        self._log(("ADDED", obj["metadata"]["name"]))

    def _update(self, old: dict, new: dict) -> None:
        self._log(("MODIFIED", new["metadata"]["name"], old["metadata"]["labels"], new["metadata"]["labels"]))

    def _delete(self, obj: dict) -> None:
        self._log(("DELETED", obj["metadata"]["name"]))

    def since(self, mark: int) -> list[tuple]:
        with self._lock:
            return list(self.calls[mark:])

    def __len__(self) -> int:
        with self._lock:
            return len(self.calls)


def store_matches_api(informer: Informer, client: APIClient, namespace: str) -> bool:
    api = {f"{namespace}/{p['metadata']['name']}": p["metadata"]["resourceVersion"]
           for p in client.list("pods", namespace).items}
    local = {k: informer.get(k)["metadata"]["resourceVersion"] for k in informer.keys()}
    return api == local


@pytest.fixture
def informers():
    made: list[Informer] = []
    yield made
    for inf in made:
        inf.stop()


def start_informer(informers: list, client: APIClient, namespace: str, recorder: Recorder, **kwargs) -> Informer:
    inf = Informer(client, "pods", namespace=namespace, max_backoff_s=0.5, name=f"test-{namespace}", **kwargs)
    inf.add_handlers(recorder.handlers())
    informers.append(inf)
    inf.start()
    assert inf.wait_synced(10), "informer never synced"
    return inf


# --- against the shared apiserver ----------------------------------------------------------------


def test_initial_list_then_adds_updates_and_deletes_in_order(client, namespace, informers):
    client.create("pods", pod("a", namespace))
    client.create("pods", pod("b", namespace))
    rec = Recorder()
    inf = start_informer(informers, client, namespace, rec)
    assert rec.since(0) == [("ADDED", "a"), ("ADDED", "b")]
    assert inf.has_synced and store_matches_api(inf, client, namespace)

    client.create("pods", pod("c", namespace))
    relabel(client, namespace, "a", tier="web")
    client.delete("pods", "b", namespace)
    relabel(client, namespace, "a", tier="db")
    wait_for(lambda: len(rec) >= 6, timeout_s=10, message="four more handler calls")
    assert rec.since(2) == [("ADDED", "c"), ("MODIFIED", "a", {}, {"tier": "web"}), ("DELETED", "b"),
                            ("MODIFIED", "a", {"tier": "web"}, {"tier": "db"})]
    assert sorted(inf.keys()) == [f"{namespace}/a", f"{namespace}/c"]
    assert store_matches_api(inf, client, namespace)
    assert inf.get(f"{namespace}/a")["metadata"]["labels"] == {"tier": "db"}


def test_objects_entering_and_leaving_a_label_selection_are_added_and_deleted(client, namespace, informers):
    client.create("pods", pod("web-1", namespace, {"app": "web"}))
    client.create("pods", pod("db-1", namespace, {"app": "db"}))
    rec = Recorder()
    inf = start_informer(informers, client, namespace, rec, label_selector="app=web")
    assert rec.since(0) == [("ADDED", "web-1")]
    relabel(client, namespace, "db-1", app="web")
    relabel(client, namespace, "web-1", app="cache")
    wait_for(lambda: len(rec) >= 3, timeout_s=10, message="the selection changing")
    assert rec.since(1) == [("ADDED", "db-1"), ("DELETED", "web-1")]
    assert inf.keys() == [f"{namespace}/db-1"]


def test_a_failing_handler_does_not_stop_the_others_or_the_informer(client, namespace, informers):
    def broken(obj: dict) -> None:
        raise RuntimeError("handler bug")

    rec = Recorder()
    inf = Informer(client, "pods", namespace=namespace, max_backoff_s=0.5)
    inf.add_handlers(Handlers(on_add=broken))
    inf.add_handlers(rec.handlers())
    informers.append(inf)
    inf.start()
    assert inf.wait_synced(10)
    client.create("pods", pod("a", namespace))
    client.create("pods", pod("b", namespace))
    wait_for(lambda: len(rec) >= 2, timeout_s=10, message="both adds despite the broken handler")
    assert rec.since(0) == [("ADDED", "a"), ("ADDED", "b")]


def test_watches_that_time_out_are_resumed_without_relisting_or_replaying(client, namespace, informers):
    client.create("pods", pod("a", namespace))
    rec = Recorder()
    inf = start_informer(informers, client, namespace, rec, watch_timeout_s=1)
    wait_for(lambda: inf.stats.watches >= 3, timeout_s=15, message="several watch timeouts")
    client.create("pods", pod("b", namespace))
    wait_for(lambda: len(rec) >= 2, timeout_s=10, message="the add after the timeouts")
    assert rec.since(0) == [("ADDED", "a"), ("ADDED", "b")]
    assert inf.stats.lists == 1


# --- killing and restarting the apiserver ---------------------------------------------------------


@pytest.fixture(scope="module")
def own_etcd(tmp_path_factory):
    """An etcd of this module's own: compacting it disturbs no other test."""
    data = tmp_path_factory.mktemp("informer-etcd")
    member = EtcdMember("informer", str(data / "data"), free_port(), free_port())
    proc = Proc(member.command(find_etcd_binary()), str(data / "etcd.log"))
    try:
        wait_ready(member.client_url)
    except TimeoutError:
        proc.stop()
        raise AssertionError(f"etcd did not start:\n{proc.output()[-3000:]}") from None
    yield member
    proc.stop()


@pytest.fixture(scope="module")
def writer(own_etcd, tmp_path_factory):
    """A second apiserver on the same etcd, to change things while the informer's one is down."""
    proc, address = start_apiserver(own_etcd.client_url, tmp_path_factory.mktemp("writer"))
    c = APIClient(address, retry_timeout_s=5)
    yield c
    c.close()
    proc.stop()


class RestartableAPIServer:
    """An apiserver process on a fixed port that the test kills and starts again."""

    def __init__(self, etcd_url: str, log_dir):
        self.etcd_url = etcd_url
        self.log_dir = log_dir
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.proc: Proc | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.proc = Proc([sys.executable, "-m", "apiserver", "--etcd-servers", self.etcd_url, "--bind-address",
                          "127.0.0.1", "--secure-port", str(self.port), "--rest-port", "0"],
                         str(self.log_dir / f"apiserver-{self.port}-{self.starts}.log"))
        probe = APIClient(self.address, retry_timeout_s=1)
        try:
            wait_for(lambda: probe.get("namespaces", "kube-node-lease"), timeout_s=30, message="apiserver ready")
        except AssertionError:
            self.proc.stop()
            raise AssertionError(f"apiserver did not start:\n{self.proc.output()[-3000:]}") from None
        finally:
            probe.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.stop()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


@pytest.fixture
def restartable(own_etcd, tmp_path):
    server = RestartableAPIServer(own_etcd.client_url, tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def informer_client(restartable):
    c = APIClient(restartable.address, retry_timeout_s=1, request_timeout_s=5)
    yield c
    c.close()


def outage(writer: APIClient, restartable: RestartableAPIServer, informer_client: APIClient, informers: list):
    """An informer over pods a, b, c that has watched d being added and c deleted; then its apiserver
    dies, e is added, a relabelled and b deleted meanwhile, and the apiserver comes back on the same port."""
    ns = new_namespace(writer)
    for name in ("a", "b", "c"):
        writer.create("pods", pod(name, ns))
    rec = Recorder()
    inf = start_informer(informers, informer_client, ns, rec)
    writer.create("pods", pod("d", ns))  # seen through the watch before the outage
    writer.delete("pods", "c", ns)
    wait_for(lambda: len(rec) >= 5, timeout_s=10, message="the watch delivering d and c")
    assert rec.since(0) == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c"), ("ADDED", "d"), ("DELETED", "c")]

    restartable.kill()
    writer.create("pods", pod("e", ns))
    relabel(writer, ns, "a", version="2")
    writer.delete("pods", "b", ns)
    restartable.start()  # same port: the informer's client reconnects to it
    wait_for(lambda: store_matches_api(inf, writer, ns), timeout_s=20, message="the store catching up")
    wait_for(lambda: ("DELETED", "b") in rec.since(5), timeout_s=5, message="the last change delivered")
    return ns, inf, rec


def test_after_an_apiserver_restart_the_informer_resumes_without_relisting_and_converges(
        writer, restartable, informer_client, informers):
    ns, inf, rec = outage(writer, restartable, informer_client, informers)
    after = rec.since(5)
    expected = [("ADDED", "e"), ("MODIFIED", "a", {}, {"version": "2"}), ("DELETED", "b")]
    assert [c for c in after if c in expected] == expected
    assert not [c for c in after if c[0] == "ADDED" and c[1] != "e"], "ADDED again for an object it already had"
    assert inf.stats.lists == 1, "resumed from its resourceVersion, no relist needed"
    assert sorted(inf.keys()) == [f"{ns}/a", f"{ns}/d", f"{ns}/e"]

    mark = len(rec)
    writer.create("pods", pod("f", ns))  # and it keeps watching
    wait_for(lambda: len(rec) > mark, timeout_s=10, message="the add after the restart")
    assert rec.since(mark) == [("ADDED", "f")]


def test_after_an_apiserver_restart_each_change_is_delivered_exactly_once(
        writer, restartable, informer_client, informers):
    _, _, rec = outage(writer, restartable, informer_client, informers)
    # Not again ('MODIFIED', 'd', …) nor a second ('DELETED', 'c'): those were handled before the outage.
    assert rec.since(5) == [("ADDED", "e"), ("MODIFIED", "a", {}, {"version": "2"}), ("DELETED", "b")]


def test_after_etcd_compacted_its_resource_version_the_informer_relists_and_converges(
        own_etcd, writer, restartable, informer_client, informers):
    ns = new_namespace(writer)
    for name in ("a", "b", "c"):
        writer.create("pods", pod(name, ns))
    rec = Recorder()
    inf = start_informer(informers, informer_client, ns, rec)
    assert rec.since(0) == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]

    restartable.kill()
    writer.delete("pods", "b", ns)
    relabel(writer, ns, "a", version="2")
    writer.create("pods", pod("d", ns))
    etcd = EtcdClient([own_etcd.client_url])
    try:
        revision = etcd.range(b"/registry", count_only=True).header.revision
        etcd.compact(revision, physical=True)  # the informer's resourceVersion is gone
    finally:
        etcd.close()
    restartable.start()

    wait_for(lambda: store_matches_api(inf, writer, ns), timeout_s=20, message="the store converging")
    wait_for(lambda: len(rec) >= 6, timeout_s=5, message="three handler calls")
    after = rec.since(3)
    assert sorted(after) == sorted([("DELETED", "b"), ("MODIFIED", "a", {}, {"version": "2"}), ("ADDED", "d")])
    assert inf.stats.lists == 2, "a compacted resourceVersion needs a relist"
    assert inf.get(f"{ns}/a")["metadata"]["labels"] == {"version": "2"}

    writer.delete("pods", "c", ns)  # and it keeps watching from the new list
    wait_for(lambda: len(rec) >= 7, timeout_s=10, message="the delete after the relist")
    assert rec.since(6) == [("DELETED", "c")]
