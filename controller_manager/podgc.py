"""The pod garbage collector: removes pods nobody will ever finish.

Every ``period_s`` (20 s, as kube-controller-manager's gcCheckPeriod) and soon after a node
is deleted, it force-deletes (grace 0):

- terminated pods (Succeeded or Failed) beyond ``terminated_pod_threshold`` (12500), oldest
  first (``--terminated-pod-gc-threshold``; 0 disables this part);
- pods bound to a node that does not exist — checked against the API as well as the cache, so
  a node registering right now is not mistaken for a missing one;
- pods being deleted that were never scheduled (no kubelet will confirm them).
"""

from __future__ import annotations

import logging

from controller_manager.common import Lister, being_deleted, pod_phase
from machinery import errors, meta
from machinery.client import APIClient
from machinery.controller import Controller
from machinery.informer import Handlers

log = logging.getLogger(__name__)

KEY = "podgc"


class PodGCController(Controller):
    name = "podgc"

    def __init__(self, client: APIClient, pods: Lister, nodes: Lister, *, terminated_pod_threshold: int = 12500,
                 period_s: float = 20.0):
        super().__init__(client, workers=1)
        self.pods = pods
        self.nodes = nodes
        self.informers = [pods.informer, nodes.informer]
        self.threshold = terminated_pod_threshold
        self.period_s = period_s
        self.deleted = 0
        nodes.add_handlers(Handlers(on_delete=lambda node: self.queue.add_after(KEY, 1.0)))

    def start(self) -> None:
        super().start()
        self.enqueue(KEY)

    def reconcile(self, key: str) -> float | None:
        pods = self.pods.list()
        self._gc_terminated(pods)
        self._gc_orphaned(pods)
        self._gc_unscheduled_terminating(pods)
        return self.period_s

    def _force_delete(self, pod: dict, why: str) -> None:
        try:
            self.client.delete("pods", meta.name_of(pod), meta.namespace_of(pod), grace_period_s=0,
                               precondition_uid=pod["metadata"].get("uid", ""))
        except (errors.NotFound, errors.Conflict):
            return
        self.deleted += 1
        log.info("podgc: force-deleted pod %s (%s)", meta.key_of(pod), why)

    def _gc_terminated(self, pods: list[dict]) -> None:
        if self.threshold <= 0:
            return
        terminated = [p for p in pods if pod_phase(p) in ("Succeeded", "Failed") and not being_deleted(p)]
        excess = len(terminated) - self.threshold
        if excess <= 0:
            return
        terminated.sort(key=lambda p: (p["metadata"].get("creationTimestamp") or "", meta.key_of(p)))
        for pod in terminated[:excess]:
            self._force_delete(pod, f"more than {self.threshold} terminated pods")

    def _gc_orphaned(self, pods: list[dict]) -> None:
        missing: dict[str, bool] = {}
        for pod in pods:
            node = (pod.get("spec") or {}).get("nodeName")
            if not node or self.nodes.get(node) is not None:
                continue
            if node not in missing:
                try:
                    self.client.get("nodes", node)
                    missing[node] = False
                except errors.NotFound:
                    missing[node] = True
            if missing[node]:
                self._force_delete(pod, f"node {node} does not exist")

    def _gc_unscheduled_terminating(self, pods: list[dict]) -> None:
        for pod in pods:
            if being_deleted(pod) and not (pod.get("spec") or {}).get("nodeName"):
                self._force_delete(pod, "being deleted and never scheduled")

    def stats(self) -> dict:
        return {**super().stats(), "deleted": self.deleted}
