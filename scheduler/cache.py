"""The scheduler's cache: nodes and the pods on them, including pods it *assumed*.

After choosing a node the scheduler assumes the pod is there at once, before the bind is
confirmed, so the next pod's cycle already sees the resources taken (kube-scheduler's
assume-then-bind). When the informer later reports the pod bound, the assumption becomes a
fact; if the bind fails the assumption is forgotten; an assumption never confirmed expires
after ``assume_ttl_s``. Thread-safe: informer threads write, the scheduling loop reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from scheduler.framework import NodeInfo

TERMINAL_PHASES = ("Succeeded", "Failed")


class SchedulerCache:
    def __init__(self, *, assume_ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        self._nodes: dict[str, NodeInfo] = {}
        self._pod_node: dict[str, str] = {}  # pod key -> node name
        self._assumed: dict[str, float] = {}  # pod key -> expires at
        self._assume_ttl_s = assume_ttl_s
        self._clock = clock

    def set_node(self, node: dict) -> None:
        name = node["metadata"]["name"]
        with self._lock:
            info = self._nodes.get(name)
            if info is None:
                self._nodes[name] = NodeInfo(node)
            else:  # also a placeholder for pods seen before their node arrived, or after it was deleted
                info.node = node
                info.placeholder = False

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

    def _place(self, key: str, pod: dict, node_name: str) -> None:
        current = self._pod_node.get(key)
        if current and current != node_name and current in self._nodes:
            self._remove_from(current, key)
        self._pod_node[key] = node_name
        info = self._nodes.get(node_name)
        if info is None:
            info = self._nodes[node_name] = NodeInfo({"metadata": {"name": node_name}, "status": {}},
                                                     placeholder=True)
        info.add_pod(key, pod)

    def _remove_from(self, node_name: str, key: str) -> None:
        info = self._nodes[node_name]
        info.remove_pod(key)
        if info.placeholder and not info.pods:
            del self._nodes[node_name]

    def update_pod(self, key: str, pod: dict) -> None:
        """A pod from the informer: bound and running pods count against their node."""
        node_name = (pod.get("spec") or {}).get("nodeName")
        phase = (pod.get("status") or {}).get("phase")
        with self._lock:
            if not node_name or phase in TERMINAL_PHASES:
                if key not in self._assumed:
                    self._forget_locked(key)
                return
            self._assumed.pop(key, None)
            self._place(key, pod, node_name)

    def remove_pod(self, key: str) -> None:
        with self._lock:
            self._assumed.pop(key, None)
            self._forget_locked(key)

    def assume(self, key: str, pod: dict, node_name: str) -> None:
        with self._lock:
            self._assumed[key] = self._clock() + self._assume_ttl_s
            self._place(key, pod, node_name)

    def forget(self, key: str) -> None:
        with self._lock:
            if key in self._assumed:
                del self._assumed[key]
                self._forget_locked(key)

    def _forget_locked(self, key: str) -> None:
        node_name = self._pod_node.pop(key, None)
        if node_name and node_name in self._nodes:
            self._remove_from(node_name, key)

    def is_assumed(self, key: str) -> bool:
        with self._lock:
            return key in self._assumed

    def snapshot(self) -> list[NodeInfo]:
        """Real nodes (not placeholders) as copies the scheduling cycle may read freely."""
        with self._lock:
            now = self._clock()
            for key, expires in list(self._assumed.items()):
                if expires <= now:
                    del self._assumed[key]
                    self._forget_locked(key)
            out = [info.clone() for info in self._nodes.values() if not info.placeholder]
            return sorted(out, key=lambda n: n.name)

    def stats(self) -> dict:
        with self._lock:
            return {"nodes": sum(1 for n in self._nodes.values() if not n.placeholder),
                    "pods": len(self._pod_node), "assumed": len(self._assumed)}
