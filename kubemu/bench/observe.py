"""What the benchmarks observe from the outside: pods through an API watch, writes through etcd.

:class:`PodTracker` watches the pods of a namespace through the apiserver, as every client of the
cluster sees them, and keeps per pod the moment (this process' clock) it was first seen bound
and first seen with every container running: the "observed through a watch" of the Kubernetes
pod-startup SLI.

:class:`EtcdWriteCounter` watches every key in etcd directly (a second etcd watcher, next to the
apiserver's) and counts each write by resource (``/registry/<resource>/…``) with its time, so a
scenario can say how many etcd writes one pod costs and which objects they go to.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from machinery import errors


def all_containers_running(pod: dict) -> bool:
    spec_names = {c.get("name") for c in (pod.get("spec") or {}).get("containers") or []}
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    running = {s.get("name") for s in statuses if "running" in (s.get("state") or {})}
    return bool(spec_names) and spec_names <= running


class PodTracker:
    """Watch the pods of ``namespace`` from ``resource_version``; record when each was bound and running."""

    def __init__(self, client, namespace: str, resource_version: str = "", *, label_selector: str = ""):
        self.client = client
        self.namespace = namespace
        self.label_selector = label_selector
        self.resource_version = resource_version
        self.bound: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self.deleted: dict[str, float] = {}
        self.objects: dict[str, dict] = {}
        self.created: dict[str, str] = {}  # creationTimestamp as first seen
        self.events: Counter = Counter()  # per pod: watch events seen
        self.restarts = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._watch = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="bench-pod-tracker")

    def start(self) -> PodTracker:
        if not self.resource_version:
            self.resource_version = self.client.list(
                "pods", self.namespace, limit=1, label_selector=self.label_selector).resource_version
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.cancel()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._watch = self.client.watch("pods", self.namespace, resource_version=self.resource_version,
                                                label_selector=self.label_selector)
                for event in self._watch:
                    now = time.time()
                    rv = (event.object.get("metadata") or {}).get("resourceVersion")
                    if rv:
                        self.resource_version = rv
                    if event.type != "BOOKMARK":
                        self._record(event.type, event.object, now)
            except errors.APIError:
                if self._stop.is_set():
                    return
                self.restarts += 1
                time.sleep(0.2)
            if self._stop.is_set():
                return

    def _record(self, kind: str, pod: dict, now: float) -> None:
        name = pod["metadata"]["name"]
        with self._lock:
            self.events[name] += 1
            self.created.setdefault(name, (pod.get("metadata") or {}).get("creationTimestamp") or "")
            if kind == "DELETED":
                self.deleted.setdefault(name, now)
                self.objects.pop(name, None)
            else:
                self.objects[name] = pod
                if (pod.get("spec") or {}).get("nodeName"):
                    self.bound.setdefault(name, now)
                if all_containers_running(pod):
                    self.running.setdefault(name, now)
            self._changed.notify_all()

    def wait(self, predicate, timeout_s: float) -> bool:
        """Wait until ``predicate(self)`` holds (checked on every event), at most ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.5))
            return True


class EtcdWriteCounter:
    """Count every etcd write (one watch on all keys) by resource, with the time it was seen."""

    def __init__(self, endpoint: str):
        from apiserver.etcd import EtcdClient

        self._client = EtcdClient([endpoint], request_timeout_s=10.0)
        self.start_revision = 0
        self.last_revision = 0
        self.by_resource: Counter = Counter()
        self.by_namespace: Counter = Counter()  # (resource, namespace) for namespaced keys
        self.times: list[float] = []
        self._watch = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="bench-etcd-writes")

    def start(self) -> EtcdWriteCounter:
        from kubemu.bench.etcd_baseline import current_revision

        self.start_revision = self.last_revision = current_revision(self._client)
        self._watch = self._client.watch(b"\0", b"\0", start_revision=self.start_revision + 1)
        self._thread.start()
        return self

    def _loop(self) -> None:
        from apiserver.etcd import EtcdError

        try:
            for response in self._watch:
                now = time.time()
                with self._lock:
                    for ev in response.events:
                        parts = ev.kv.key.decode(errors="replace").split("/")
                        resource = parts[2] if len(parts) > 2 and parts[1] == "registry" else "(other)"
                        self.by_resource[resource] += 1
                        if len(parts) > 4:
                            self.by_namespace[(resource, parts[3])] += 1
                        self.times.append(now)
                        self.last_revision = max(self.last_revision, ev.kv.mod_revision)
        except EtcdError:
            pass

    def snapshot(self) -> dict:
        with self._lock:
            return {"total": sum(self.by_resource.values()), "byResource": dict(self.by_resource),
                    "revisions": self.last_revision - self.start_revision}

    def count(self, resource: str, namespace: str | None = None) -> int:
        with self._lock:
            if namespace is None:
                return self.by_resource.get(resource, 0)
            return self.by_namespace.get((resource, namespace), 0)

    def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        self._thread.join(timeout=5)
        self._client.close()
