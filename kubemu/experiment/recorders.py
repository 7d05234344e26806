"""Recorders: what an experiment watches while it runs, each on its own thread.

- :class:`WriteProber` writes a ConfigMap every ``interval_s`` and records which writes the API
  acknowledged and when it refused or could not answer: the API's availability over time, and
  a ledger of acknowledged writes to look for afterwards.
- :class:`WatchRecorder` keeps an informer on pods and configmaps of the experiment namespace
  and logs every event it delivers, so the end of the run can compare the watcher's view with
  the final state (a missed event shows as a difference).
- :class:`ClusterSampler` polls nodes, leader leases and pods (Ready transitions, lease holder
  changes, where each pod runs) and, on a local cluster, the kubelets' runtime state on disk
  to catch one pod running on two nodes or two copies of one identity at once.

All of them tolerate the API being away (that is the point): a failed poll is recorded as
"unknown" and retried. Times are seconds since the experiment started.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import threading
import time
from dataclasses import dataclass, field

import psutil

from machinery import errors, meta
from machinery.client import APIClient
from machinery.informer import Handlers, Informer


class Clock:
    def __init__(self):
        self.start_mono = time.monotonic()
        self.start_wall = meta.format_micro_time()

    def now(self) -> float:
        return round(time.monotonic() - self.start_mono, 3)


@dataclass
class Timeline:
    """Everything that happened, in order: (t, category, text, data)."""

    clock: Clock
    entries: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, category: str, text: str, **data) -> float:
        t = self.clock.now()
        with self.lock:
            self.entries.append({"t": t, "category": category, "text": text, **data})
        return t

    def of(self, category: str) -> list[dict]:
        with self.lock:
            return [e for e in self.entries if e["category"] == category]


@dataclass
class Ledger:
    """Writes the API acknowledged: (resource, namespace, name) -> uid."""

    writes: dict[tuple[str, str, str], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, resource: str, obj: dict) -> None:
        m = obj.get("metadata") or {}
        with self.lock:
            self.writes[(resource, m.get("namespace", ""), m.get("name", ""))] = m.get("uid", "")

    def items(self) -> list[tuple[tuple[str, str, str], str]]:
        with self.lock:
            return list(self.writes.items())


class _Loop:
    def __init__(self, name: str):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        raise NotImplementedError


class WriteProber(_Loop):
    """Creates ConfigMap ``probe-N`` every interval; records availability and the ledger."""

    def __init__(self, client: APIClient, namespace: str, timeline: Timeline, ledger: Ledger, *,
                 interval_s: float = 0.2):
        super().__init__("write-prober")
        self.client, self.namespace, self.timeline, self.ledger = client, namespace, timeline, ledger
        self.interval_s = interval_s
        self.samples: list[tuple[float, bool]] = []
        self._n = 0
        self._busy = threading.Lock()

    @contextlib.contextmanager
    def paused(self):
        """No probe writes inside the block (invariants compare against a quiet state)."""
        with self._busy:
            yield

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._busy:
                self._probe()

    def _probe(self) -> None:
        self._n += 1
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": f"probe-{self._n}", "namespace": self.namespace}, "data": {"n": str(self._n)}}
        t0 = self.timeline.clock.now()
        try:
            created = self.client.create("configmaps", body, self.namespace)
            self.ledger.record("configmaps", created)
            ok = True
        except errors.AlreadyExists:
            ok = True  # an earlier, unanswered attempt was applied after all
        except errors.APIError:
            ok = False
        self.samples.append((t0, ok))

    def windows(self) -> list[tuple[float, float]]:
        """Spans during which every write failed: (from first failure, to next success)."""
        out, start = [], None
        for t, ok in self.samples:
            if not ok and start is None:
                start = t
            elif ok and start is not None:
                out.append((start, t))
                start = None
        if start is not None and self.samples:
            out.append((start, self.samples[-1][0]))
        return out


class WatchRecorder:
    """An informer per resource in the experiment namespace, logging each delivered event."""

    def __init__(self, client: APIClient, namespace: str, timeline: Timeline, resources=("pods", "configmaps")):
        self.timeline = timeline
        self.events: list[dict] = []
        self.informers = {}
        for resource in resources:
            informer = Informer(client, resource, namespace=namespace, name=f"experiment-{resource}",
                                max_backoff_s=1.0)
            informer.add_handlers(Handlers(
                lambda obj, r=resource: self._log(r, "ADDED", obj),
                lambda old, obj, r=resource: self._log(r, "MODIFIED", obj),
                lambda obj, r=resource: self._log(r, "DELETED", obj)))
            self.informers[resource] = informer

    def _log(self, resource: str, kind: str, obj: dict) -> None:
        m = obj.get("metadata") or {}
        self.events.append({"t": self.timeline.clock.now(), "resource": resource, "type": kind,
                            "name": m.get("name"), "rv": m.get("resourceVersion")})

    def start(self) -> None:
        for informer in self.informers.values():
            informer.start()
        for informer in self.informers.values():
            informer.wait_synced(30)

    def stop(self) -> None:
        for informer in self.informers.values():
            informer.stop()

    def view(self, resource: str) -> dict[str, str]:
        """name -> resourceVersion as the watcher sees it now."""
        return {o["metadata"]["name"]: o["metadata"].get("resourceVersion", "")
                for o in self.informers[resource].list()}

    def relists(self) -> int:
        return sum(max(0, i.stats.lists - 1) for i in self.informers.values())


class ClusterSampler(_Loop):
    """Polls nodes, leader leases and pods; on a local cluster also the kubelets' runtime state."""

    LEASES = {"scheduler": "kube-scheduler", "controller-manager": "kube-controller-manager"}

    def __init__(self, client: APIClient, namespace: str, timeline: Timeline, *, nodes_dir: str = "",
                 interval_s: float = 0.25):
        super().__init__("cluster-sampler")
        self.client, self.namespace, self.timeline = client, namespace, timeline
        self.nodes_dir = nodes_dir
        self.interval_s = interval_s
        self.node_ready: dict[str, str] = {}
        self.leaders: dict[str, str] = {}
        self.pod_nodes: dict[str, str] = {}
        self.pod_deleting: set[str] = set()
        self.violations: list[dict] = []

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            for sample in (self._nodes, self._leases, self._pods, self._runtime):
                try:
                    sample()
                except errors.APIError:
                    pass
                except Exception as e:  # noqa: BLE001 - a sampler must never end the experiment
                    self.timeline.add("sampler-error", f"{sample.__name__}: {e}")

    def _nodes(self) -> None:
        for node in self.client.list("nodes").items:
            name = node["metadata"]["name"]
            cond = meta.condition(node, "Ready") or {}
            value = cond.get("status", "Unknown")
            if self.node_ready.get(name) != value:
                if name in self.node_ready:
                    self.timeline.add("node", f"{name} Ready={value}", node=name, ready=value,
                                      reason=cond.get("reason", ""))
                self.node_ready[name] = value

    def _leases(self) -> None:
        for kind, lease_name in self.LEASES.items():
            try:
                lease = self.client.get("leases", lease_name, "kube-system")
            except errors.NotFound:
                continue
            holder = (lease.get("spec") or {}).get("holderIdentity") or ""
            if self.leaders.get(kind) != holder:
                if kind in self.leaders:
                    self.timeline.add("leader", f"{kind} leader: {holder or '(none)'}", component=kind, holder=holder)
                self.leaders[kind] = holder

    def _pods(self) -> None:
        seen = set()
        for pod in self.client.list("pods", self.namespace).items:
            name = pod["metadata"]["name"]
            seen.add(name)
            node = (pod.get("spec") or {}).get("nodeName") or ""
            if node and self.pod_nodes.get(name) not in (None, node):
                self.violations.append({"t": self.timeline.clock.now(), "invariant": "noPodOnTwoNodes",
                                        "text": f"pod {name} moved from {self.pod_nodes[name]} to {node}"})
            if node:
                self.pod_nodes[name] = node
            if pod["metadata"].get("deletionTimestamp") and name not in self.pod_deleting:
                self.pod_deleting.add(name)
                self.timeline.add("pod", f"{name} terminating (on {node or 'no node'})", pod=name, node=node,
                                  event="terminating")
        for name in list(self.pod_nodes):
            if name not in seen:
                self.timeline.add("pod", f"{name} gone (was on {self.pod_nodes[name]})", pod=name,
                                  node=self.pod_nodes[name], event="deleted")
                del self.pod_nodes[name]
                self.pod_deleting.discard(name)

    def _runtime(self) -> None:
        """Live sandboxes on disk: one pod uid on two nodes, or one pod name twice, is a violation."""
        if not self.nodes_dir:
            return
        by_uid: dict[str, set[str]] = {}
        by_name: dict[str, set[str]] = {}
        for path in glob.glob(os.path.join(self.nodes_dir, "*", "runtime", "pods", "*", "sandbox.json")):
            node = path.split(os.sep)[-5]
            try:
                with open(path) as f:
                    sandbox = json.load(f)
            except (OSError, ValueError):
                continue
            if sandbox.get("namespace") != self.namespace or not _has_live_container(os.path.dirname(path)):
                continue
            by_uid.setdefault(sandbox.get("uid", ""), set()).add(node)
            by_name.setdefault(sandbox.get("name", ""), set()).add(f"{node}/{sandbox.get('uid', '')[:8]}")
        for uid, nodes in by_uid.items():
            if len(nodes) > 1:
                self.violations.append({"t": self.timeline.clock.now(), "invariant": "noPodOnTwoNodes",
                                        "text": f"pod uid {uid} runs on {sorted(nodes)}"})
        for name, places in by_name.items():
            if len(places) > 1:
                self.violations.append({"t": self.timeline.clock.now(), "invariant": "noDuplicateIdentity",
                                        "text": f"pod {name} runs {len(places)} times: {sorted(places)}"})


def _has_live_container(sandbox_dir: str) -> bool:
    for path in glob.glob(os.path.join(sandbox_dir, "containers", "*", "container.json")):
        try:
            with open(path) as f:
                rec = json.load(f)
            pid, created = rec.get("pid"), rec.get("createTime") or rec.get("create_time")
            if pid and psutil.pid_exists(pid):
                proc = psutil.Process(pid)
                if created is None or abs(proc.create_time() - float(created)) < 1.0:
                    if proc.status() != psutil.STATUS_ZOMBIE:
                        return True
        except (OSError, ValueError, psutil.Error):
            continue
    return False
