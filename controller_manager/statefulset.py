"""The StatefulSet controller: pods with stable identities ``<set>-0 … <set>-(N-1)``.

Each pod is named by its ordinal, gets ``spec.hostname`` = its name and ``spec.subdomain`` =
``serviceName``, and the labels ``statefulset.kubernetes.io/pod-name``,
``apps.kubernetes.io/pod-index`` and ``controller-revision-hash``. ``reconcile`` follows
kube-controller-manager's StatefulSet control loop:

- revisions: every template the set has had is a ControllerRevision ``<set>-<hash>`` holding
  the template and a revision number. The *update* revision is the current template (an older
  revision with an equal template is re-used and renumbered: a rollback); the *current*
  revision is ``status.currentRevision``, the one the set is rolling away from;
- ``OrderedReady`` (the default): ordinals are created lowest first, each only once every lower
  one is Running and Ready; surplus ordinals are deleted highest first, one at a time, each
  only when the others are healthy. ``Parallel`` creates and deletes without waiting;
- pods that Failed or Succeeded are deleted and recreated;
- ``RollingUpdate``: from the highest ordinal down to ``partition``, a pod of another revision
  is deleted (then recreated with the update revision by the loop above), one at a time,
  waiting until the replaced pod is healthy; ``OnDelete`` leaves that to the user;
- identity is never doubled: a pod is created under its name only once the previous one is
  gone from the API (the apiserver refuses the name while a terminating pod holds it);
- status: replicas, readyReplicas, availableReplicas, currentReplicas, updatedReplicas,
  currentRevision, updateRevision, observedGeneration, collisionCount. When every pod is updated
  and ready, the update revision becomes the current one.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable

from controller_manager.common import (
    Lister,
    being_deleted,
    claim,
    controller_ref,
    is_pod_available,
    is_pod_ready,
    labels_of,
    object_hash,
    owner_ref,
    pod_from_template,
    pod_phase,
    replicas_of,
    resolve_owner,
    seconds_until_available,
    selector_of,
    write_status,
)
from machinery import errors, meta
from machinery.client import APIClient
from machinery.controller import Controller
from machinery.events import EventRecorder
from machinery.informer import Handlers

log = logging.getLogger(__name__)

KIND = "StatefulSet"
REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


def ordinal_of(sts_name: str, pod: dict) -> int:
    """The pod's ordinal when its name is ``<sts_name>-<n>``, else -1."""
    match = _ORDINAL.match(meta.name_of(pod))
    if not match or match.group(1) != sts_name:
        return -1
    return int(match.group(2))


def revision_data(sts: dict) -> dict:
    """What a ControllerRevision records: the template as a replace patch, like Kubernetes."""
    template = meta.deep_copy((sts.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of_revision(revision: dict) -> dict:
    template = meta.deep_copy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def _revision_number(revision: dict) -> int:
    value = revision.get("revision")
    return value if isinstance(value, int) else 0


def running_and_ready(pod: dict) -> bool:
    return pod_phase(pod) == "Running" and is_pod_ready(pod)


class StatefulSetController(Controller):
    name = "statefulset"

    def __init__(self, client: APIClient, statefulsets: Lister, pods: Lister, revisions: Lister, *,
                 workers: int = 5, now: Callable[[], dt.datetime] = meta.utcnow):
        super().__init__(client, workers=workers)
        self.statefulsets = statefulsets
        self.pods = pods
        self.revisions = revisions
        self.informers = [statefulsets.informer, pods.informer, revisions.informer]
        self.now = now
        self.recorder = EventRecorder(client, "statefulset-controller")
        statefulsets.add_handlers(Handlers(self._set_changed, lambda old, new: self._set_changed(new),
                                           self._set_changed))
        pods.add_handlers(Handlers(self._pod_changed, lambda old, new: self._pod_updated(old, new),
                                   self._pod_changed))

    # --- handlers ---------------------------------------------------------------------------

    def _set_changed(self, sts: dict) -> None:
        self.enqueue(meta.key_of(sts))

    def _pod_changed(self, pod: dict) -> None:
        owner = resolve_owner(controller_ref(pod), KIND, self.statefulsets, meta.namespace_of(pod))
        if owner is not None:
            self.enqueue(meta.key_of(owner))
        elif controller_ref(pod) is None:
            for sts in self.statefulsets.list(meta.namespace_of(pod)):
                if selector_of(sts).matches(labels_of(pod)):
                    self.enqueue(meta.key_of(sts))

    def _pod_updated(self, old: dict, new: dict) -> None:
        if controller_ref(old) and controller_ref(old) != controller_ref(new):
            self._pod_changed(old)
        self._pod_changed(new)

    # --- revisions --------------------------------------------------------------------------

    def _revisions(self, sts: dict) -> tuple[dict, dict, int]:
        """(current revision, update revision, collision count), creating the update revision."""
        owned = claim(self.client, "controllerrevisions", sts, self.revisions.list(meta.namespace_of(sts)),
                      selector_of(sts), owner_resource="statefulsets")
        owned.sort(key=_revision_number)
        collisions = int((sts.get("status") or {}).get("collisionCount") or 0)
        data = revision_data(sts)
        equal = [r for r in owned if r.get("data") == data]
        next_number = (_revision_number(owned[-1]) if owned else 0) + 1
        if equal and owned and equal[-1] is owned[-1]:
            update = equal[-1]
        elif equal:
            fresh = meta.deep_copy(equal[-1])
            fresh["revision"] = next_number
            update = self.client.update("controllerrevisions", fresh)
            log.info("statefulset %s: revision %s is current again (now number %d)", meta.key_of(sts),
                     meta.name_of(update), next_number)
        else:
            update, collisions = self._create_revision(sts, data, next_number, collisions)
        status = sts.get("status") or {}
        current = next((r for r in owned if meta.name_of(r) == status.get("currentRevision")), None) or update
        return current, update, collisions

    def _create_revision(self, sts: dict, data: dict, number: int, collisions: int) -> tuple[dict, int]:
        labels = dict((((sts.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {})
        for _ in range(10):
            name = f"{meta.name_of(sts)[:223]}-{object_hash(data, collisions)}"
            body = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
                    "metadata": {"name": name, "namespace": meta.namespace_of(sts), "labels": labels,
                                 "ownerReferences": [owner_ref(sts)]},
                    "data": data, "revision": number}
            try:
                return self.client.create("controllerrevisions", body, meta.namespace_of(sts)), collisions
            except errors.AlreadyExists:
                existing = self.client.get("controllerrevisions", name, meta.namespace_of(sts))
                if existing.get("data") == data:
                    return existing, collisions
                collisions += 1
        raise errors.Conflict(f"statefulset {meta.key_of(sts)}: too many revision hash collisions")

    def _truncate_history(self, sts: dict, pods: list[dict], current: dict, update: dict) -> None:
        limit = (sts.get("spec") or {}).get("revisionHistoryLimit")
        limit = limit if isinstance(limit, int) else 10
        live = {meta.name_of(current), meta.name_of(update)} | {labels_of(p).get(REVISION_LABEL) for p in pods}
        owned = sorted((r for r in self.revisions.list(meta.namespace_of(sts))
                        if controller_ref(r) and controller_ref(r).get("uid") == sts["metadata"]["uid"]),
                       key=_revision_number)
        history = [r for r in owned if meta.name_of(r) not in live]
        for revision in history[:max(0, len(history) - limit)]:
            try:
                self.client.delete("controllerrevisions", meta.name_of(revision), meta.namespace_of(revision))
            except errors.NotFound:
                pass

    # --- reconcile --------------------------------------------------------------------------

    def reconcile(self, key: str) -> float | None:
        sts = self.statefulsets.get(key)
        if sts is None:
            return None
        set_name = meta.name_of(sts)
        pods = claim(self.client, "pods", sts, self.pods.list(meta.namespace_of(sts)), selector_of(sts),
                     owner_resource="statefulsets", kind_check=lambda p: ordinal_of(set_name, p) >= 0)
        current, update, collisions = self._revisions(sts)
        status, error = self._update(sts, pods, current, update, collisions)
        spec = sts.get("spec") or {}
        strategy = (spec.get("updateStrategy") or {}).get("type") or "RollingUpdate"
        if strategy == "RollingUpdate" and status.get("updatedReplicas", 0) == replicas_of(sts) and \
                status.get("readyReplicas", 0) == replicas_of(sts):
            status["currentRevision"] = status["updateRevision"]
            status["currentReplicas"] = status.get("updatedReplicas", 0)
        write_status(self.client, "statefulsets", sts, {k: v for k, v in status.items() if v != 0 or k in (
            "replicas", "availableReplicas")})
        self._truncate_history(sts, pods, current, update)
        if error is not None:
            raise error
        min_ready = int(spec.get("minReadySeconds") or 0)
        now = self.now()
        waits = [w for w in (seconds_until_available(p, min_ready, now) for p in pods) if w]
        return min(waits) + 0.5 if waits else None

    def _new_pod(self, sts: dict, ordinal: int, current: dict, update: dict) -> dict:
        spec = sts.get("spec") or {}
        rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate") or {}
        strategy = (spec.get("updateStrategy") or {}).get("type") or "RollingUpdate"
        partition = rolling.get("partition") if isinstance(rolling.get("partition"), int) else 0
        use_current = strategy == "RollingUpdate" and ordinal < partition and \
            meta.name_of(current) != meta.name_of(update)
        revision = current if use_current else update
        name = f"{meta.name_of(sts)}-{ordinal}"
        pod = pod_from_template(template_of_revision(revision), sts, name=name,
                                extra_labels={POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal),
                                              REVISION_LABEL: meta.name_of(revision)})
        pod["spec"]["hostname"] = name
        if spec.get("serviceName"):
            pod["spec"]["subdomain"] = spec["serviceName"]
        return pod

    def _update(self, sts: dict, pods: list[dict], current: dict, update: dict, collisions: int
                ) -> tuple[dict, Exception | None]:
        """Create, delete and replace pods one step; returns (status, an error to retry on)."""
        spec = sts.get("spec") or {}
        set_name = meta.name_of(sts)
        start = int(((spec.get("ordinals") or {}).get("start")) or 0)
        count = replicas_of(sts)
        min_ready = int(spec.get("minReadySeconds") or 0)
        now = self.now()
        status: dict = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": 0,
                        "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 0, "updatedReplicas": 0,
                        "currentRevision": meta.name_of(current), "updateRevision": meta.name_of(update)}
        if collisions:
            status["collisionCount"] = collisions
        replicas: list[dict | None] = [None] * count
        condemned: list[dict] = []
        for pod in pods:
            if not being_deleted(pod):
                status["replicas"] += 1
                if running_and_ready(pod):
                    status["readyReplicas"] += 1
                    if is_pod_available(pod, min_ready, now):
                        status["availableReplicas"] += 1
                revision = labels_of(pod).get(REVISION_LABEL)
                if revision == meta.name_of(current):
                    status["currentReplicas"] += 1
                if revision == meta.name_of(update):
                    status["updatedReplicas"] += 1
            ordinal = ordinal_of(set_name, pod)
            if start <= ordinal < start + count:
                replicas[ordinal - start] = pod
            elif ordinal >= 0:
                condemned.append(pod)
        condemned.sort(key=lambda p: -ordinal_of(set_name, p))
        if being_deleted(sts):
            return status, None
        monotonic = (spec.get("podManagementPolicy") or "OrderedReady") != "Parallel"

        def healthy(pod: dict) -> bool:
            return running_and_ready(pod) and not being_deleted(pod) and is_pod_available(pod, min_ready, now)

        try:
            for i in range(count):
                pod = replicas[i]
                if pod is not None and pod_phase(pod) in ("Failed", "Succeeded") and not being_deleted(pod):
                    self._delete(sts, pod, "recreating finished pod")
                    status["replicas"] -= 1
                    pod = None  # a finished pod goes at once (no grace): recreate it now
                if pod is None:
                    if not self._create(sts, self._new_pod(sts, start + i, current, update)):
                        return status, None
                    status["replicas"] += 1
                    if monotonic:
                        return status, None
                    continue
                if being_deleted(pod) and monotonic:
                    return status, None
                if not healthy(pod) and monotonic:
                    return status, None
            first_unhealthy = next((p for p in [*replicas, *condemned] if p is not None and not healthy(p)), None)
            for pod in condemned:
                if being_deleted(pod):
                    if monotonic:
                        return status, None
                    continue
                if monotonic and not running_and_ready(pod) and pod is not first_unhealthy:
                    return status, None
                self._delete(sts, pod, "scale down")
                if monotonic:
                    return status, None
            strategy = spec.get("updateStrategy") or {}
            if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
                return status, None
            partition = (strategy.get("rollingUpdate") or {}).get("partition")
            partition = partition if isinstance(partition, int) else 0
            for target in range(count - 1, partition - 1, -1):
                pod = replicas[target]
                if pod is None:
                    return status, None
                if labels_of(pod).get(REVISION_LABEL) != meta.name_of(update) and not being_deleted(pod):
                    log.info("statefulset %s: pod %s is terminating for update", meta.key_of(sts),
                             meta.name_of(pod))
                    self._delete(sts, pod, "update")
                    status["currentReplicas"] -= 1
                    return status, None
                if not healthy(pod):
                    return status, None
        except errors.APIError as e:
            return status, e
        return status, None

    def _create(self, sts: dict, pod: dict) -> bool:
        """Create one pod; False when its name is still taken (the old pod has not gone yet)."""
        name = pod["metadata"]["name"]
        try:
            self.client.create("pods", pod, meta.namespace_of(sts))
        except errors.AlreadyExists:
            return False
        except errors.APIError as e:
            self.recorder.event(sts, "Warning", "FailedCreate",
                                f"create Pod {name} in StatefulSet {meta.name_of(sts)} failed error: {e}")
            raise
        self.recorder.event(sts, "Normal", "SuccessfulCreate",
                            f"create Pod {name} in StatefulSet {meta.name_of(sts)} successful")
        log.info("statefulset %s: created pod %s", meta.key_of(sts), name)
        return True

    def _delete(self, sts: dict, pod: dict, why: str) -> None:
        try:
            self.client.delete("pods", meta.name_of(pod), meta.namespace_of(pod),
                               precondition_uid=pod["metadata"].get("uid", ""))
        except (errors.NotFound, errors.Conflict):
            return
        self.recorder.event(sts, "Normal", "SuccessfulDelete",
                            f"delete Pod {meta.name_of(pod)} in StatefulSet {meta.name_of(sts)} successful")
        log.info("statefulset %s: deleted pod %s (%s)", meta.key_of(sts), meta.name_of(pod), why)
