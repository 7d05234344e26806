"""The ReplicaSet controller: keeps ``spec.replicas`` pods matching the selector running.

``reconcile(namespace/name)`` follows kube-controller-manager's syncReplicaSet:

1. read the ReplicaSet from the cache (gone: forget its expectations);
2. claim pods: the active pods of its namespace that it controls, plus matching orphans it
   adopts; pods it controls whose labels stopped matching are released;
3. unless earlier creations/deletions are still unobserved (:class:`Expectations`), create
   the missing pods (``<rs>-<5 random chars>``, slow-start batches 1, 2, 4, …) or delete the
   surplus (unscheduled, pending, not-ready, colocated and newest pods first);
4. write status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas (ready for
   ``minReadySeconds``), observedGeneration, and a ReplicaFailure condition when creating or
   deleting failed.

Event handlers only enqueue: a pod's controller ReplicaSet on any change (and its creation or
deletion lowers that ReplicaSet's expectations), every ReplicaSet selecting an orphan.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from controller_manager.common import (
    BURST_REPLICAS,
    Expectations,
    Lister,
    being_deleted,
    claim,
    deletion_order,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    labels_of,
    namespace_terminating,
    pod_from_template,
    replicas_of,
    seconds_until_available,
    selector_of,
    slow_start_batch,
    write_status,
)
from controller_manager.owned_pods import OwnedPodHandlers
from controller_manager.trace_recorder import creating_pods
from machinery import errors, meta
from machinery.client import APIClient
from machinery.controller import Controller
from machinery.events import EventRecorder
from machinery.informer import Handlers

log = logging.getLogger(__name__)

KIND = "ReplicaSet"


class ReplicaSetController(OwnedPodHandlers, Controller):
    name = "replicaset"
    owner_kind = KIND

    def __init__(self, client: APIClient, replicasets: Lister, pods: Lister, *, workers: int = 5,
                 burst_replicas: int = BURST_REPLICAS, now: Callable[[], dt.datetime] = meta.utcnow):
        super().__init__(client, workers=workers)
        self.replicasets = self.owners = replicasets
        self.pods = pods
        self.informers = [replicasets.informer, pods.informer]
        self.expectations = Expectations()
        self.burst_replicas = burst_replicas
        self.now = now
        self.recorder = EventRecorder(client, "replicaset-controller")
        replicasets.add_handlers(Handlers(self._rs_changed, lambda old, new: self._rs_changed(new),
                                          self._rs_deleted))
        pods.add_handlers(Handlers(self._pod_added, self._pod_updated, self._pod_deleted))

    # --- handlers ---------------------------------------------------------------------------

    def _rs_changed(self, rs: dict) -> None:
        self.enqueue(meta.key_of(rs))

    def _rs_deleted(self, rs: dict) -> None:
        self.expectations.forget(meta.key_of(rs))
        self.enqueue(meta.key_of(rs))

    def _owned_pod_updated(self, key: str, old: dict, new: dict) -> None:
        # A pod turning ready becomes available minReadySeconds later.
        rs = self.replicasets.get(key) or {}
        min_ready = (rs.get("spec") or {}).get("minReadySeconds") or 0
        if min_ready and is_pod_ready(new) and not is_pod_ready(old):
            self.queue.add_after(key, min_ready + 1)

    # --- reconcile --------------------------------------------------------------------------

    def reconcile(self, key: str) -> float | None:
        rs = self.replicasets.get(key)
        if rs is None:
            self.expectations.forget(key)
            return None
        selector = selector_of(rs)
        candidates = [p for p in self.pods.list(meta.namespace_of(rs)) if is_pod_active(p)]
        pods = claim(self.client, "pods", rs, candidates, selector, owner_resource="replicasets")
        manage_error: Exception | None = None
        if self.expectations.satisfied(key) and not being_deleted(rs):
            try:
                pods = self._manage(key, rs, pods)
            except errors.APIError as e:
                manage_error = e
        retry = self._update_status(rs, pods, manage_error)
        if manage_error is not None:
            raise manage_error
        return retry

    def _manage(self, key: str, rs: dict, pods: list[dict]) -> list[dict]:
        """Create or delete pods; returns the pods that remain (those just deleted left out)."""
        diff = len(pods) - replicas_of(rs)
        if diff < 0:
            need = min(-diff, self.burst_replicas)
            self.expectations.expect_creations(key, need)
            log.info("replicaset %s: creating %d pods (have %d, want %d)", key, need, len(pods), replicas_of(rs))
            template = (rs.get("spec") or {}).get("template") or {}

            def create_one() -> dict:
                pod = pod_from_template(template, rs)
                try:
                    created = self.client.create("pods", pod, meta.namespace_of(rs))
                except errors.APIError as e:
                    if not namespace_terminating(e):
                        self.recorder.event(rs, "Warning", "FailedCreate", f"Error creating: {e}")
                    raise
                self.recorder.event(rs, "Normal", "SuccessfulCreate", f"Created pod: {meta.name_of(created)}")
                return created

            reason = f"have {len(pods)} pods, want {replicas_of(rs)}: creating {need}"
            successes, error = slow_start_batch(need, creating_pods(create_one, self.name, rs, reason))
            if need - successes > 0:
                self.expectations.creation_observed(key, need - successes)
            if error is not None and not namespace_terminating(error):
                raise error
            return pods
        if diff > 0:
            victims = deletion_order(pods)[:min(diff, self.burst_replicas)]
            self.expectations.expect_deletions(key, [meta.key_of(p) for p in victims])
            log.info("replicaset %s: deleting %d pods (have %d, want %d)", key, len(victims), len(pods),
                     replicas_of(rs))
            first_error: Exception | None = None
            for pod in victims:
                try:
                    self.client.delete("pods", meta.name_of(pod), meta.namespace_of(pod),
                                       precondition_uid=pod["metadata"].get("uid", ""))
                    self.recorder.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {meta.name_of(pod)}")
                except (errors.NotFound, errors.Conflict):
                    self.expectations.deletion_observed(key, meta.key_of(pod))
                except errors.APIError as e:
                    self.expectations.deletion_observed(key, meta.key_of(pod))
                    self.recorder.event(rs, "Warning", "FailedDelete", f"Error deleting: {e}")
                    first_error = first_error or e
            if first_error is not None:
                raise first_error
            gone = {p["metadata"].get("uid") for p in victims}
            return [p for p in pods if p["metadata"].get("uid") not in gone]
        return pods

    def _update_status(self, rs: dict, pods: list[dict], manage_error: Exception | None) -> float | None:
        now = self.now()
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        template_labels = ((rs.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
        ready = [p for p in pods if is_pod_ready(p)]
        available = [p for p in ready if is_pod_available(p, min_ready, now)]
        fully_labeled = [p for p in pods if all(labels_of(p).get(k) == v for k, v in template_labels.items())]
        old = rs.get("status") or {}
        status = {"replicas": len(pods), "fullyLabeledReplicas": len(fully_labeled), "readyReplicas": len(ready),
                  "availableReplicas": len(available),
                  "observedGeneration": rs["metadata"].get("generation", 1)}
        conditions = [dict(c) for c in old.get("conditions") or [] if c.get("type") != "ReplicaFailure"]
        failure = next((c for c in old.get("conditions") or [] if c.get("type") == "ReplicaFailure"), None)
        if manage_error is not None:
            reason = "FailedCreate" if len(pods) < replicas_of(rs) else "FailedDelete"
            cond = {"type": "ReplicaFailure", "status": "True", "reason": reason, "message": str(manage_error)}
            cond["lastTransitionTime"] = failure.get("lastTransitionTime") if failure and failure.get(
                "status") == "True" else meta.format_time(now)
            conditions.append(cond)
        if conditions:
            status["conditions"] = conditions
        # Drop the zero counts Kubernetes omits, so status looks like its.
        for field in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
            if not status[field]:
                status.pop(field)
        write_status(self.client, "replicasets", rs, status)
        waits = [w for w in (seconds_until_available(p, min_ready, now) for p in ready) if w]
        return min(waits) + 0.5 if waits else None
