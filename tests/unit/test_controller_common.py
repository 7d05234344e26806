"""Fakes for the controller unit tests (an in-memory API and informers the controllers cannot
tell from real ones), and tests of the helpers every controller shares."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import threading
import uuid

import pytest

from controller_manager import common
from controller_manager.common import (
    Expectations,
    Lister,
    claim,
    deletion_order,
    int_or_percent,
    object_hash,
    slow_start_batch,
)
from machinery import errors, meta
from machinery.client import ListResult
from machinery.informer import Handlers
from machinery.labels import parse_selector, selector_from_label_selector
from machinery.resources import RESOURCES

BASE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


# --------------------------------------------------------------------------- fakes


class FakeInformer:
    """The informer surface controllers use: handlers, get, list; fed by FakeAPI."""

    def __init__(self, resource: str):
        self.resource = resource
        self.store: dict[str, dict] = {}
        self.handlers: list[Handlers] = []

    def add_handlers(self, handlers: Handlers) -> None:
        self.handlers.append(handlers)

    def wait_synced(self, timeout_s=None) -> bool:
        return True

    def get(self, key: str) -> dict | None:
        return self.store.get(key)

    def list(self) -> list[dict]:
        return list(self.store.values())

    def keys(self) -> list[str]:
        return list(self.store)

    def apply(self, event: str, obj: dict) -> None:
        key = meta.key_of(obj)
        old = self.store.get(key)
        if event == "DELETED":
            self.store.pop(key, None)
        else:
            self.store[key] = obj
        for h in self.handlers:
            if event == "DELETED" and h.on_delete:
                h.on_delete(obj)
            elif event != "DELETED" and old is None and h.on_add:
                h.on_add(obj)
            elif event != "DELETED" and old is not None and h.on_update:
                h.on_update(old, obj)


class FakeAPI:
    """An in-memory apiserver with the APIClient verbs: resourceVersions and Conflicts, uids,
    generateName, generation, status kept on update, graceful pod deletion (pods on a node),
    propagation finalizers, removal once the last finalizer goes. Changes reach the informers
    at once, or when ``flush()`` is called if ``lag`` is set."""

    def __init__(self, *, lag: bool = False):
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.informers: dict[str, FakeInformer] = {}
        self.listers: dict[str, Lister] = {}
        self.rv = itertools.count(1)
        self.clock = itertools.count(1)
        self.lag = lag
        self.pending: list[tuple[str, str, dict]] = []
        self.actions: list[tuple[str, str, str]] = []
        self.fail: dict[str, errors.APIError] = {}
        self.lock = threading.RLock()

    # --- plumbing ---------------------------------------------------------------------------

    def informer(self, resource: str) -> FakeInformer:
        if resource not in self.informers:
            inf = self.informers[resource] = FakeInformer(resource)
            for (res, _, _), obj in self.objects.items():
                if res == resource:
                    inf.store[meta.key_of(obj)] = copy.deepcopy(obj)
        return self.informers[resource]

    def lister(self, resource: str) -> Lister:
        if resource not in self.listers:
            self.listers[resource] = Lister(self.informer(resource))
        return self.listers[resource]

    def _key(self, resource: str, namespace: str, name: str) -> tuple[str, str, str]:
        return resource, namespace if RESOURCES[resource].namespaced else "", name

    def _emit(self, resource: str, event: str, obj: dict) -> None:
        self.pending.append((resource, event, copy.deepcopy(obj)))
        if not self.lag:
            self.flush()

    def flush(self) -> None:
        while self.pending:
            resource, event, obj = self.pending.pop(0)
            if resource in self.informers:
                self.informers[resource].apply(event, obj)

    def _bump(self, obj: dict) -> dict:
        obj["metadata"]["resourceVersion"] = str(next(self.rv))
        return obj

    def now(self) -> str:
        return meta.format_time(BASE_TIME + dt.timedelta(seconds=next(self.clock)))

    # --- verbs ------------------------------------------------------------------------------

    def create(self, resource: str, obj: dict, namespace: str = "", *, dry_run: bool = False) -> dict:
        with self.lock:
            if "create" in self.fail:
                raise self.fail["create"]
            obj = copy.deepcopy(obj)
            m = obj.setdefault("metadata", {})
            namespace = namespace or m.get("namespace", "")
            if not m.get("name") and m.get("generateName"):
                m["name"] = m["generateName"] + uuid.uuid4().hex[:5]
            key = self._key(resource, namespace, m["name"])
            if key in self.objects:
                raise errors.AlreadyExists(f'{resource} "{m["name"]}" already exists')
            if key[1]:
                m["namespace"] = key[1]
            info = RESOURCES[resource]
            obj.setdefault("apiVersion", info.api_version)
            obj.setdefault("kind", info.kind)
            m.update(uid=str(uuid.uuid4()), creationTimestamp=self.now(), generation=1)
            if resource == "pods":
                obj.setdefault("status", {}).setdefault("phase", "Pending")
            elif info.has_status and resource != "nodes":
                obj["status"] = {}
            self._bump(obj)
            self.objects[key] = obj
            self.actions.append(("create", resource, meta.key_of(obj)))
            self._emit(resource, "ADDED", obj)
            return copy.deepcopy(obj)

    def get(self, resource: str, name: str, namespace: str = "") -> dict:
        with self.lock:
            obj = self.objects.get(self._key(resource, namespace, name))
            if obj is None:
                raise errors.NotFound(f'{resource} "{name}" not found')
            return copy.deepcopy(obj)

    def list_all(self, resource: str, namespace: str = "", **selectors) -> ListResult:
        with self.lock:
            sel = parse_selector(selectors.get("label_selector", ""))
            items = [copy.deepcopy(o) for (r, ns, _), o in self.objects.items()
                     if r == resource and (not namespace or ns == namespace)
                     and sel.matches(o["metadata"].get("labels") or {})]
            return ListResult(items, str(next(self.rv)))

    list = list_all

    def _store(self, resource: str, key: tuple, new: dict) -> dict:
        m = new["metadata"]
        if m.get("deletionTimestamp") and not m.get("finalizers") and not m.get("deletionGracePeriodSeconds"):
            del self.objects[key]
            self.actions.append(("remove", resource, meta.key_of(new)))
            self._emit(resource, "DELETED", new)
            return copy.deepcopy(new)
        self._bump(new)
        self.objects[key] = new
        self._emit(resource, "MODIFIED", new)
        return copy.deepcopy(new)

    def update(self, resource: str, obj: dict, *, dry_run: bool = False, status: bool = False) -> dict:
        with self.lock:
            m = obj["metadata"]
            key = self._key(resource, m.get("namespace", ""), m["name"])
            old = self.objects.get(key)
            if old is None:
                raise errors.NotFound(f'{resource} "{m["name"]}" not found')
            if m.get("resourceVersion") and m["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise errors.Conflict(f'Operation cannot be fulfilled on {resource} "{m["name"]}"')
            new = copy.deepcopy(obj)
            if status:
                kept = copy.deepcopy(old)
                kept["status"] = new.get("status", {})
                if resource in ("deployments", "replicasets", "statefulsets", "daemonsets", "jobs"):
                    kept["metadata"]["annotations"] = new["metadata"].get("annotations") or {}
                new = kept
            else:
                if RESOURCES[resource].has_status and "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
                    if f in old["metadata"]:
                        new["metadata"][f] = old["metadata"][f]
                strip = {"metadata", "status"}
                if {k: v for k, v in new.items() if k not in strip} != {k: v for k, v in old.items() if k not in strip}:
                    new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
            self.actions.append(("update_status" if status else "update", resource, meta.key_of(new)))
            return self._store(resource, key, new)

    def update_status(self, resource: str, obj: dict) -> dict:
        return self.update(resource, obj, status=True)

    def delete(self, resource: str, name: str, namespace: str = "", *, grace_period_s: int | None = None,
               precondition_uid: str = "", precondition_resource_version: str = "",
               propagation_policy: str = "") -> dict:
        with self.lock:
            if "delete" in self.fail:
                raise self.fail["delete"]
            key = self._key(resource, namespace, name)
            obj = self.objects.get(key)
            if obj is None:
                raise errors.NotFound(f'{resource} "{name}" not found')
            if precondition_uid and obj["metadata"]["uid"] != precondition_uid:
                raise errors.Conflict("Precondition failed: UID")
            self.actions.append(("delete", resource, meta.key_of(obj)))
            new = copy.deepcopy(obj)
            m = new["metadata"]
            extra = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}.get(propagation_policy)
            graceful = resource == "pods" and (new.get("spec") or {}).get("nodeName") and \
                (new.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            grace = (30 if grace_period_s is None else grace_period_s) if graceful else 0
            if m.get("deletionTimestamp"):
                if grace == 0 and not m.get("finalizers"):
                    m["deletionGracePeriodSeconds"] = 0
                    return self._store(resource, key, new)
                return copy.deepcopy(obj)
            if extra:
                m["finalizers"] = list(m.get("finalizers") or []) + [extra]
            if grace == 0 and not m.get("finalizers"):
                del self.objects[key]
                self.actions.append(("remove", resource, meta.key_of(obj)))
                self._emit(resource, "DELETED", obj)
                return copy.deepcopy(obj)
            m["deletionTimestamp"] = self.now()
            m["deletionGracePeriodSeconds"] = grace
            self._bump(new)
            self.objects[key] = new
            self._emit(resource, "MODIFIED", new)
            return copy.deepcopy(new)

    def mutate(self, resource: str, name: str, namespace: str, change, *, status: bool = False,
               attempts: int = 10) -> dict | None:
        for _ in range(attempts):
            try:
                obj = self.get(resource, name, namespace)
            except errors.NotFound:
                return None
            if change(obj) is False:
                return None
            try:
                return self.update(resource, obj, status=status)
            except errors.Conflict:
                continue
            except errors.NotFound:
                return None
        raise errors.Conflict("too many conflicts")

    # --- test helpers -----------------------------------------------------------------------

    def of(self, resource: str, namespace: str = "") -> list[dict]:
        return [copy.deepcopy(o) for (r, ns, _), o in sorted(self.objects.items())
                if r == resource and (not namespace or ns == namespace)]

    def set_pod(self, pod: dict | str, namespace: str = "default", *, phase: str | None = None,
                ready: bool | None = None, node: str | None = None, ready_since: str | None = None,
                restarts: int | None = None, finished_at: str | None = None) -> dict:
        """What a scheduler and kubelet would do to a pod."""
        name = pod if isinstance(pod, str) else pod["metadata"]["name"]

        def change(p: dict) -> None:
            if node is not None:
                p["spec"]["nodeName"] = node
            st = p.setdefault("status", {})
            if phase is not None:
                st["phase"] = phase
            if ready is not None:
                meta.set_condition(st, "Ready", "True" if ready else "False", now=ready_since or self.now())
            if restarts is not None or finished_at is not None:
                cs = {"name": "c", "restartCount": restarts or 0}
                if finished_at:
                    cs["state"] = {"terminated": {"finishedAt": finished_at, "exitCode": 1}}
                st["containerStatuses"] = [cs]

        with self.lock:
            key = self._key("pods", namespace, name)
            obj = copy.deepcopy(self.objects[key])
            change(obj)
            return self._store("pods", key, obj)

    def remove(self, resource: str, name: str, namespace: str = "") -> None:
        """A kubelet confirming a deletion (or a force delete)."""
        with self.lock:
            key = self._key(resource, namespace, name)
            obj = self.objects.pop(key)
            self._emit(resource, "DELETED", obj)


def drain(controller, *, rounds: int = 50) -> list[str]:
    """Reconcile every queued key until the queue is empty (delayed keys are not waited for)."""
    done = []
    for _ in range(rounds):
        try:
            key = controller.queue.get(timeout_s=0)
        except TimeoutError:
            return done
        try:
            controller.reconcile(key)
            done.append(key)
        finally:
            controller.queue.done(key)
    return done


def workload_pod_template(labels: dict, image: str = "nginx") -> dict:
    return {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{"name": "c", "image": image}]}}


def fixed_now(seconds: float = 0):
    box = {"now": BASE_TIME + dt.timedelta(seconds=seconds)}

    def now() -> dt.datetime:
        return box["now"]

    now.box = box
    return now


# --------------------------------------------------------------------------- helper tests


@pytest.mark.parametrize(("value", "total", "up", "want"), [
    (2, 10, True, 2), ("25%", 10, True, 3), ("25%", 10, False, 2), ("25%", 4, False, 1), ("25%", 1, True, 1),
    ("25%", 1, False, 0), ("0%", 5, True, 0), ("100%", 3, False, 3), (None, 4, True, 0)])
def test_int_or_percent_rounds_like_kubernetes(value, total, up, want):
    assert int_or_percent(value, total, round_up=up) == want


def test_int_or_percent_rejects_garbage():
    with pytest.raises(ValueError):
        int_or_percent("abc%", 10, round_up=True)


def test_object_hash_is_stable_short_and_safe():
    template = workload_pod_template({"app": "web"})
    h = object_hash(template)
    assert h == object_hash(copy.deepcopy(template))
    assert 1 <= len(h) <= 10 and set(h) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert object_hash(template, 1) != h
    assert object_hash(workload_pod_template({"app": "web"}, "nginx:2")) != h


def test_fnv32a_matches_reference_values():
    assert common.fnv32a(b"") == 0x811C9DC5
    assert common.fnv32a(b"a") == 0xE40C292C


def _pod(name, *, node="", phase="Running", ready=True, created="2026-01-01T00:00:00Z", restarts=0, cost=None):
    pod = {"metadata": {"name": name, "creationTimestamp": created, "annotations": {}},
           "spec": {"nodeName": node} if node else {}, "status": {"phase": phase, "conditions": [
               {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": created}],
               "containerStatuses": [{"restartCount": restarts}]}}
    if cost is not None:
        pod["metadata"]["annotations"][common.DELETION_COST] = str(cost)
    return pod


def test_deletion_order_prefers_unscheduled_pending_unready_colocated_newest():
    pods = [
        _pod("old-ready", node="n1", created="2026-01-01T00:00:00Z"),
        _pod("new-ready", node="n2", created="2026-01-01T00:05:00Z"),
        _pod("unready", node="n3", ready=False),
        _pod("pending", node="n3", phase="Pending", ready=False),
        _pod("unscheduled", phase="Pending", ready=False),
        _pod("costly", node="n4", cost=100),
    ]
    order = [p["metadata"]["name"] for p in deletion_order(pods)]
    assert order[:3] == ["unscheduled", "pending", "unready"]
    assert order[-1] == "costly"
    assert order.index("new-ready") < order.index("old-ready")


def test_deletion_order_prefers_doubled_up_nodes():
    pods = [_pod("alone", node="n1"), _pod("pair-a", node="n2"), _pod("pair-b", node="n2")]
    assert [p["metadata"]["name"] for p in deletion_order(pods)][0].startswith("pair")


def test_expectations_wait_for_observations_and_expire():
    t = {"now": 0.0}
    exp = Expectations(timeout_s=10, clock=lambda: t["now"])
    assert exp.satisfied("ns/rs")
    exp.expect_creations("ns/rs", 2)
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    exp.creation_observed("ns/rs")
    assert exp.satisfied("ns/rs")
    exp.expect_deletions("ns/rs", ["ns/a", "ns/b"])
    exp.deletion_observed("ns/rs", "ns/a")
    exp.deletion_observed("ns/rs", "ns/a")  # seen twice (deletionTimestamp, then gone): counted once
    assert not exp.satisfied("ns/rs")
    t["now"] = 11.0
    assert exp.satisfied("ns/rs"), "expired expectations never wedge a controller"


def test_slow_start_batches_double_and_stop_at_the_first_failing_batch():
    calls = []
    lock = threading.Lock()

    def ok():
        with lock:
            calls.append(1)

    assert slow_start_batch(10, ok) == (10, None)
    assert len(calls) == 10
    count = {"n": 0}

    def fails_after_three():
        with lock:
            count["n"] += 1
            n = count["n"]
        if n > 3:
            raise errors.Forbidden("quota")

    successes, error = slow_start_batch(100, fails_after_three)
    assert isinstance(error, errors.Forbidden)
    assert successes == 3 and count["n"] == 7, "batches 1, 2, then 4 of which one failed; nothing after"


def test_claim_adopts_matching_orphans_and_releases_non_matching_children():
    api = FakeAPI()
    owner = api.create("replicasets", {"metadata": {"name": "rs", "namespace": "ns"},
                                       "spec": {"selector": {"matchLabels": {"app": "a"}}}})
    orphan = api.create("pods", {"metadata": {"name": "orphan", "namespace": "ns", "labels": {"app": "a"}},
                                 "spec": {}})
    stray = api.create("pods", {"metadata": {"name": "stray", "namespace": "ns", "labels": {"app": "b"},
                                             "ownerReferences": [common.owner_ref(owner)]}, "spec": {}})
    other = api.create("pods", {"metadata": {"name": "other", "namespace": "ns", "labels": {"app": "a"},
                                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                                  "name": "x", "uid": "u", "controller": True}]},
                                "spec": {}})
    claimed = claim(api, "pods", owner, [orphan, stray, other],
                    selector_from_label_selector(owner["spec"]["selector"]), owner_resource="replicasets")
    assert [p["metadata"]["name"] for p in claimed] == ["orphan"]
    assert api.get("pods", "orphan", "ns")["metadata"]["ownerReferences"][0]["uid"] == owner["metadata"]["uid"]
    assert not api.get("pods", "stray", "ns")["metadata"].get("ownerReferences")
    assert api.get("pods", "other", "ns")["metadata"]["ownerReferences"][0]["uid"] == "u"


def test_claim_does_not_adopt_for_an_owner_being_deleted():
    api = FakeAPI()
    owner = api.create("replicasets", {"metadata": {"name": "rs", "namespace": "ns", "finalizers": ["x"]},
                                       "spec": {"selector": {"matchLabels": {"app": "a"}}}})
    api.delete("replicasets", "rs", "ns")
    orphan = api.create("pods", {"metadata": {"name": "orphan", "namespace": "ns", "labels": {"app": "a"}},
                                 "spec": {}})
    assert claim(api, "pods", owner, [orphan], selector_from_label_selector(owner["spec"]["selector"]),
                 owner_resource="replicasets") == []
    assert not api.get("pods", "orphan", "ns")["metadata"].get("ownerReferences")


def test_lister_indexes_by_namespace():
    api = FakeAPI()
    lister = api.lister("configmaps")
    for ns in ("a", "a", "b"):
        api.create("configmaps", {"metadata": {"generateName": "cm-", "namespace": ns}})
    assert len(lister.list("a")) == 2 and len(lister.list("b")) == 1 and len(lister.list()) == 3
    api.delete("configmaps", lister.list("b")[0]["metadata"]["name"], "b")
    assert lister.list("b") == []
