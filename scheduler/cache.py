"""The scheduler's cache: nodes and the pods on them, including pods it *assumed*.

After choosing a node the scheduler assumes the pod is there at once, before the bind is
confirmed, so the next pod's cycle already sees the resources taken (kube-scheduler's
assume-then-bind). When the informer later reports the pod bound, the assumption becomes a
fact; if the bind fails the assumption is forgotten; an assumption whose bind succeeded but
which the informer never confirms expires ``assume_ttl_s`` after the bind returned (as in
kube-scheduler, the clock starts at ``finish_binding``: a bind still in flight never expires, so
a slow apiserver cannot make the scheduler hand the same room out twice). Thread-safe: informer
threads write, the scheduling loop reads.

The scheduling loop reads through a :class:`~scheduler.snapshot.Snapshot` that
:meth:`SchedulerCache.update_snapshot` brings up to date before each cycle, copying only the
nodes changed since (kube-scheduler's ``UpdateSnapshot``): every change to a node — a pod placed,
removed or replaced, a new Node object, deletion — moves the node's name to the end of
``_changes`` with its new generation, so the update walks ``_changes`` from the newest entry back
to the snapshot's generation and stops. A deleted node stays there as a tombstone (its name,
no NodeInfo) until there are many; a snapshot older than the tombstones dropped is rebuilt whole.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from scheduler.nodeinfo import NodeInfo, PodInfo, next_generation
from scheduler.snapshot import Snapshot

TERMINAL_PHASES = ("Succeeded", "Failed")
# Tombstones of deleted nodes kept for incremental snapshot updates beyond the live nodes.
MAX_TOMBSTONES = 1000


class SchedulerCache:
    def __init__(self, *, assume_ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        self._nodes: dict[str, NodeInfo] = {}
        self._pod_node: dict[str, str] = {}  # pod key -> node name
        self._assumed: set[str] = set()  # pod keys placed by the scheduler, not yet confirmed
        self._expiring: OrderedDict[str, float] = OrderedDict()  # assumed and bound: key -> expires at, in order
        self._assume_ttl_s = assume_ttl_s
        self._clock = clock
        self._changes: OrderedDict[str, int] = OrderedDict()  # node name -> generation of its last change
        self._full_update_below = 0  # snapshots older than this must be rebuilt (tombstones were dropped)

    def _changed(self, name: str) -> None:
        """Record that node ``name`` changed (or went away) just now."""
        generation = next_generation()  # always fresh, so _changes stays ordered by generation
        info = self._nodes.get(name)
        if info is not None:
            info.generation = generation
        self._changes[name] = generation
        self._changes.move_to_end(name)
        if len(self._changes) - len(self._nodes) > MAX_TOMBSTONES:  # every live node is in _changes
            dropped = [name for name in self._changes if name not in self._nodes]
            self._full_update_below = max(self._changes[name] for name in dropped)
            for name in dropped:
                del self._changes[name]

    def set_node(self, node: dict) -> None:
        name = node["metadata"]["name"]
        with self._lock:
            info = self._nodes.get(name)
            if info is None:
                self._nodes[name] = NodeInfo(node)
            else:  # also a placeholder for pods seen before their node arrived, or after it was deleted
                info.node = node
                info.placeholder = False
            self._changed(name)

    def remove_node(self, name: str) -> None:
        """The Node object is gone, but pods still bound to it keep counting: a node deleted and
        re-registered by its kubelet must not look empty (kube-scheduler keeps it as a ghost)."""
        with self._lock:
            info = self._nodes.get(name)
            if info is None:
                return
            if info.pods:
                info.node = {"metadata": {"name": name}, "status": {}}
                info.placeholder = True
            else:
                del self._nodes[name]
            self._changed(name)

    def _place(self, key: str, pod: dict, node_name: str) -> None:
        current = self._pod_node.get(key)
        if current and current != node_name and current in self._nodes:
            self._remove_from(current, key)
        self._pod_node[key] = node_name
        info = self._nodes.get(node_name)
        if info is None:
            info = self._nodes[node_name] = NodeInfo({"metadata": {"name": node_name}, "status": {}},
                                                     placeholder=True)
        info.add_pod(key, pod, PodInfo(pod))
        self._changed(node_name)

    def _remove_from(self, node_name: str, key: str) -> None:
        info = self._nodes[node_name]
        info.remove_pod(key)
        if info.placeholder and not info.pods:
            del self._nodes[node_name]
        self._changed(node_name)

    def update_pod(self, key: str, pod: dict) -> None:
        """A pod from the informer: bound and running pods count against their node."""
        node_name = (pod.get("spec") or {}).get("nodeName")
        phase = (pod.get("status") or {}).get("phase")
        with self._lock:
            if not node_name or phase in TERMINAL_PHASES:
                if key not in self._assumed:
                    self._forget_locked(key)
                return
            self._unassume(key)
            self._place(key, pod, node_name)

    def remove_pod(self, key: str) -> None:
        with self._lock:
            self._unassume(key)
            self._forget_locked(key)

    def assume(self, key: str, pod: dict, node_name: str) -> None:
        with self._lock:
            self._unassume(key)
            self._assumed.add(key)
            self._place(key, pod, node_name)

    def finish_binding(self, key: str) -> None:
        """The bind of an assumed pod returned: from now on the assumption expires after the TTL
        unless the informer confirms it."""
        with self._lock:
            if key in self._assumed:
                self._expiring[key] = self._clock() + self._assume_ttl_s
                self._expiring.move_to_end(key)

    def forget(self, key: str) -> None:
        with self._lock:
            if key in self._assumed:
                self._unassume(key)
                self._forget_locked(key)

    def _unassume(self, key: str) -> None:
        self._assumed.discard(key)
        self._expiring.pop(key, None)

    def _forget_locked(self, key: str) -> None:
        node_name = self._pod_node.pop(key, None)
        if node_name and node_name in self._nodes:
            self._remove_from(node_name, key)

    def is_assumed(self, key: str) -> bool:
        with self._lock:
            return key in self._assumed

    def _expire_assumed(self) -> None:
        """Forget the bound assumptions past their TTL (the oldest first; the TTL is the same for all)."""
        now = self._clock()
        while self._expiring:
            key, expires = next(iter(self._expiring.items()))
            if expires > now:
                break
            self._unassume(key)
            self._forget_locked(key)

    def update_snapshot(self, snapshot: Snapshot) -> int:
        """Bring ``snapshot`` up to date, copying only the nodes changed since its last update.
        Returns how many nodes were copied or dropped."""
        with self._lock:
            self._expire_assumed()
            if not self._changes or snapshot.generation < self._full_update_below:
                return self._rebuild(snapshot)
            touched, membership = 0, False
            mapping = snapshot.node_info_map
            for name in reversed(self._changes):
                generation = self._changes[name]
                if generation <= snapshot.generation:
                    break
                touched += 1
                info = self._nodes.get(name)
                existing = mapping.get(name)
                if info is None or info.placeholder:
                    if existing is not None:
                        del mapping[name]
                        membership = True
                elif existing is None:
                    mapping[name] = info.clone()
                    membership = True
                else:
                    existing.copy_from(info)
            snapshot.generation = self._changes[next(reversed(self._changes))]
            if membership:
                snapshot.rebuild_list()
            return touched

    def _rebuild(self, snapshot: Snapshot) -> int:
        snapshot.node_info_map = {name: info.clone() for name, info in self._nodes.items() if not info.placeholder}
        snapshot.rebuild_list()
        snapshot.generation = self._changes[next(reversed(self._changes))] if self._changes else 0
        return len(snapshot.node_info_map)

    def snapshot(self) -> list[NodeInfo]:
        """Real nodes (not placeholders) as fresh copies, sorted by name: a whole snapshot for a
        one-off reader (a dry run for ``explain``); the scheduling loop uses :meth:`update_snapshot`."""
        fresh = Snapshot()
        with self._lock:
            self._expire_assumed()
            self._rebuild(fresh)
        return fresh.node_list

    def stats(self) -> dict:
        with self._lock:
            return {"nodes": sum(1 for n in self._nodes.values() if not n.placeholder),
                    "pods": len(self._pod_node), "assumed": len(self._assumed)}
