"""The Deployment controller: rolls a pod template out through ReplicaSets.

A Deployment owns one ReplicaSet per pod template it has had, named
``<deployment>-<pod-template-hash>``; the hash is also a label on the ReplicaSet, in its
selector and on its pods, so ReplicaSets of one Deployment never fight over pods. The
ReplicaSet whose template equals the Deployment's (ignoring that label) is the *new* one; all
others are *old*. ``reconcile`` follows kube-controller-manager's syncDeployment:

- claim ReplicaSets (adopt matching orphans, release those that stopped matching);
- paused, or only ``replicas`` changed: scale the ReplicaSets proportionally (``sync``);
- ``Recreate``: scale every old ReplicaSet to 0, wait until their pods are gone, then create
  and scale up the new one;
- ``RollingUpdate``: scale the new ReplicaSet up while the total stays within
  ``replicas + maxSurge``; scale old ones down while at least ``replicas - maxUnavailable``
  pods stay available (ints or percentages; surge rounds up, unavailable rounds down; both 0
  means unavailable 1, as in Kubernetes);
- revisions: the new ReplicaSet's ``deployment.kubernetes.io/revision`` is one more than the
  highest old one, so rolling back (``kubectl rollout undo`` copies an old template back)
  re-uses that ReplicaSet and gives it the next revision; beyond ``revisionHistoryLimit``
  old, empty ReplicaSets are deleted;
- status like Kubernetes: replicas, updatedReplicas, readyReplicas, availableReplicas,
  unavailableReplicas, observedGeneration, collisionCount, and the conditions Available
  (MinimumReplicasAvailable / MinimumReplicasUnavailable) and Progressing (NewReplicaSetCreated,
  FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded,
  DeploymentPaused, DeploymentResumed). A rollout not done is looked at again when its
  ``progressDeadlineSeconds`` would run out.

Decisions use a ReplicaSet's available count capped by its ``spec.replicas``: between an old
ReplicaSet being scaled down and its status catching up, its stale count could otherwise allow
scaling down twice and break the ``maxUnavailable`` promise.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from controller_manager.common import (
    Lister,
    being_deleted,
    claim,
    controlled_by,
    controller_ref,
    int_or_percent,
    labels_of,
    namespace_terminating,
    object_hash,
    owner_ref,
    replicas_of,
    resolve_owner,
    selector_of,
    write_status,
)
from machinery import errors, meta
from machinery.client import APIClient
from machinery.controller import Controller
from machinery.events import EventRecorder
from machinery.informer import Handlers

log = logging.getLogger(__name__)

KIND = "Deployment"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
# Annotations a Deployment does not copy onto its ReplicaSets.
SKIP_ANNOTATIONS = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
                              "deprecated.deployment.rollback.to"})
MAX_INT32 = 2**31 - 1
CONFLICT_RETRY_S = 0.05
# The revision-history annotation is capped like --revision-history-max-length-in-chars … a sane bound.
MAX_HISTORY_CHARS = 2000

# Progressing condition reasons (k8s.io/kubernetes/pkg/controller/deployment/util).
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"


# --- template helpers (also used by kubectl rollout) ------------------------------------------


def without_hash(template: dict) -> dict:
    """A copy of a pod template without the ``pod-template-hash`` label (and no empty labels)."""
    t = meta.deep_copy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
        if not labels:
            t["metadata"].pop("labels")
    if "metadata" in t and not t["metadata"]:
        t.pop("metadata")
    return t


def equal_ignore_hash(a: dict, b: dict) -> bool:
    return without_hash(a) == without_hash(b)


def revision_of(obj: dict) -> int:
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0") or 0)
    except ValueError:
        return 0


def _creation_key(obj: dict) -> tuple:
    return (obj["metadata"].get("creationTimestamp") or "", obj["metadata"].get("name", ""))


def find_new_replicaset(d: dict, rss: list[dict]) -> dict | None:
    """The oldest ReplicaSet whose template equals the Deployment's."""
    template = (d.get("spec") or {}).get("template") or {}
    for rs in sorted(rss, key=_creation_key):
        if equal_ignore_hash((rs.get("spec") or {}).get("template") or {}, template):
            return rs
    return None


def _annotations(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("annotations") or {}


def _int_annotation(obj: dict, name: str) -> int | None:
    try:
        return int(_annotations(obj)[name])
    except (KeyError, ValueError, TypeError):
        return None


def _strategy(d: dict) -> dict:
    return (d.get("spec") or {}).get("strategy") or {}


def is_rolling(d: dict) -> bool:
    return (_strategy(d).get("type") or "RollingUpdate") == "RollingUpdate"


def fenceposts(d: dict) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) resolved against spec.replicas (Kubernetes' ResolveFenceposts)."""
    rolling = _strategy(d).get("rollingUpdate") or {}
    desired = replicas_of(d)
    surge = int_or_percent(rolling.get("maxSurge"), desired, round_up=True, default="25%")
    unavailable = int_or_percent(rolling.get("maxUnavailable"), desired, round_up=False, default="25%")
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(d: dict) -> int:
    return fenceposts(d)[0] if is_rolling(d) else 0


def max_unavailable(d: dict) -> int:
    if not is_rolling(d) or replicas_of(d) == 0:
        return 0
    return min(fenceposts(d)[1], replicas_of(d))


def _status(obj: dict) -> dict:
    return obj.get("status") or {}


def available(rs: dict) -> int:
    """Available pods of a ReplicaSet for decisions: never more than it is told to keep."""
    return min(int(_status(rs).get("availableReplicas") or 0), replicas_of(rs))


def has_progress_deadline(d: dict) -> bool:
    value = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return isinstance(value, int) and value != MAX_INT32


def deployment_complete(d: dict, status: dict) -> bool:
    want = replicas_of(d)
    return (int(status.get("updatedReplicas") or 0) == want and int(status.get("replicas") or 0) == want
            and int(status.get("availableReplicas") or 0) == want
            and int(status.get("observedGeneration") or 0) >= d["metadata"].get("generation", 1))


def get_condition(status: dict, ctype: str) -> dict | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == ctype), None)


def set_condition(status: dict, ctype: str, value: str, reason: str, message: str, now: str, *,
                  force: bool = False) -> bool:
    """Kubernetes' SetDeploymentCondition: same status and reason is no change (unless
    ``force``, for Progressing's lastUpdateTime); the transition time survives a same-status
    change; the condition moves to the end."""
    current = get_condition(status, ctype)
    if current and current.get("status") == value and current.get("reason") == reason and not force:
        return False
    cond = {"type": ctype, "status": value, "lastUpdateTime": now, "lastTransitionTime": now, "reason": reason,
            "message": message}
    if current and current.get("status") == value:
        cond["lastTransitionTime"] = current.get("lastTransitionTime", now)
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != ctype] + [cond]
    return True


class DeploymentController(Controller):
    name = "deployment"

    def __init__(self, client: APIClient, deployments: Lister, replicasets: Lister, pods: Lister, *,
                 workers: int = 5, now: Callable[[], dt.datetime] = meta.utcnow):
        super().__init__(client, workers=workers)
        self.deployments = deployments
        self.replicasets = replicasets
        self.pods = pods
        self.informers = [deployments.informer, replicasets.informer, pods.informer]
        self.now = now
        self.recorder = EventRecorder(client, "deployment-controller")
        deployments.add_handlers(Handlers(self._d_changed, lambda old, new: self._d_changed(new), self._d_changed))
        replicasets.add_handlers(Handlers(self._rs_added, self._rs_updated, self._rs_deleted))
        pods.add_handlers(Handlers(on_delete=self._pod_deleted))

    # --- handlers ---------------------------------------------------------------------------

    def _d_changed(self, d: dict) -> None:
        self.enqueue(meta.key_of(d))

    def _owner(self, rs: dict) -> dict | None:
        return resolve_owner(controller_ref(rs), KIND, self.deployments, meta.namespace_of(rs))

    def _enqueue_selecting(self, rs: dict) -> None:
        for d in self.deployments.list(meta.namespace_of(rs)):
            if selector_of(d).matches(labels_of(rs)):
                self.enqueue(meta.key_of(d))

    def _rs_added(self, rs: dict) -> None:
        owner = self._owner(rs)
        if owner is not None:
            self.enqueue(meta.key_of(owner))
        elif controller_ref(rs) is None:
            self._enqueue_selecting(rs)

    def _rs_updated(self, old: dict, new: dict) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref and (not new_ref or old_ref.get("uid") != new_ref.get("uid")):
            owner = self._owner(old)
            if owner is not None:
                self.enqueue(meta.key_of(owner))
        if new_ref is not None:
            owner = self._owner(new)
            if owner is not None:
                self.enqueue(meta.key_of(owner))
        elif labels_of(old) != labels_of(new) or old_ref:
            self._enqueue_selecting(new)

    def _rs_deleted(self, rs: dict) -> None:
        owner = self._owner(rs)
        if owner is not None:
            self.enqueue(meta.key_of(owner))

    def _pod_deleted(self, pod: dict) -> None:
        """Recreate waits for old pods to be gone: their deletion is worth a look."""
        rs = resolve_owner(controller_ref(pod), "ReplicaSet", self.replicasets, meta.namespace_of(pod))
        owner = self._owner(rs) if rs else None
        if owner is not None and not is_rolling(owner):
            self.enqueue(meta.key_of(owner))

    # --- reconcile --------------------------------------------------------------------------

    def reconcile(self, key: str) -> float | None:
        cached = self.deployments.get(key)
        if cached is None:
            return None
        d = meta.deep_copy(cached)
        d.setdefault("status", {})
        d["metadata"].setdefault("annotations", {})
        selector = selector_of(d)
        if selector.selects_nothing:
            self.recorder.event(d, "Warning", "SelectingNothing", "This deployment has an empty or invalid selector")
            return None
        namespace = meta.namespace_of(d)
        rss = claim(self.client, "replicasets", d, self.replicasets.list(namespace), selector,
                    owner_resource="deployments")
        if being_deleted(d):
            return self._sync_status(cached, d, *self._all_replicasets(d, rss, create=False))
        self._check_paused_conditions(d)
        if (d.get("spec") or {}).get("paused"):
            return self._sync(cached, d, rss)
        if self._is_scaling_event(d, rss):
            return self._sync(cached, d, rss)
        try:
            if not is_rolling(d):
                return self._rollout_recreate(cached, d, rss)
            return self._rollout_rolling(cached, d, rss)
        except errors.Conflict as e:
            # A ReplicaSet changed under us (its status, usually): decide again on fresh state.
            log.debug("deployment %s: %s; syncing again", key, e)
            return CONFLICT_RETRY_S
        except errors.Forbidden as e:
            if namespace_terminating(e):
                return None
            raise

    # --- replica sets -----------------------------------------------------------------------

    def _all_replicasets(self, d: dict, rss: list[dict], *, create: bool) -> tuple[dict | None, list[dict]]:
        """(the new ReplicaSet or None, the old ones), syncing revision annotations."""
        existing = find_new_replicaset(d, rss)
        old = [rs for rs in rss if existing is None or rs["metadata"]["uid"] != existing["metadata"]["uid"]]
        return self._new_replicaset(d, existing, old, create=create), old

    def _new_replicaset(self, d: dict, existing: dict | None, old: list[dict], *, create: bool) -> dict | None:
        now = meta.format_time(self.now())
        new_revision = str(max([revision_of(rs) for rs in old] or [0]) + 1)
        if existing is not None:
            rs = meta.deep_copy(existing)
            changed = self._set_new_rs_annotations(d, rs, new_revision, exists=True)
            min_ready = (d.get("spec") or {}).get("minReadySeconds") or 0
            if ((rs.get("spec") or {}).get("minReadySeconds") or 0) != min_ready:
                rs["spec"]["minReadySeconds"] = min_ready
                changed = True
            if changed:
                existing = self.client.update("replicasets", rs)
            d["metadata"]["annotations"][REVISION] = _annotations(existing).get(REVISION, new_revision)
            if has_progress_deadline(d) and get_condition(d["status"], "Progressing") is None:
                set_condition(d["status"], "Progressing", "True", FOUND_NEW_RS,
                              f'Found new replica set "{meta.name_of(existing)}"', now)
            return existing
        if not create:
            return None
        spec = d.get("spec") or {}
        collisions = d["status"].get("collisionCount")
        pod_hash = object_hash(spec.get("template") or {}, collisions)
        template = meta.deep_copy(spec.get("template") or {})
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
        selector = meta.deep_copy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{meta.name_of(d)}-{pod_hash}", "namespace": meta.namespace_of(d),
                           "labels": dict(template["metadata"]["labels"]), "annotations": {},
                           "ownerReferences": [owner_ref(d)]},
              "spec": {"replicas": 0, "minReadySeconds": spec.get("minReadySeconds") or 0, "selector": selector,
                       "template": template}}
        rs["spec"]["replicas"] = self._new_rs_replicas(d, old + [rs], rs)
        self._set_new_rs_annotations(d, rs, new_revision, exists=False)
        try:
            created = self.client.create("replicasets", rs, meta.namespace_of(d))
        except errors.AlreadyExists:
            try:
                found = self.client.get("replicasets", rs["metadata"]["name"], meta.namespace_of(d))
            except errors.NotFound:
                raise errors.Conflict(f"replica set {rs['metadata']['name']} vanished; retrying") from None
            if controlled_by(found, d) and equal_ignore_hash(found["spec"].get("template") or {},
                                                              spec.get("template") or {}):
                return found  # our own, not yet in the cache
            d["status"]["collisionCount"] = int(collisions or 0) + 1
            write_status(self.client, "deployments", self.deployments.get(meta.key_of(d)) or d, d["status"])
            raise errors.Conflict(f"hash collision for replica set {rs['metadata']['name']}; "
                                  f"collisionCount is now {d['status']['collisionCount']}") from None
        wanted = replicas_of(created)
        if wanted > 0:
            self.recorder.event(d, "Normal", "ScalingReplicaSet",
                                f"Scaled up replica set {meta.name_of(created)} from 0 to {wanted}")
        if has_progress_deadline(d):
            set_condition(d["status"], "Progressing", "True", NEW_RS_CREATED,
                          f'Created new replica set "{meta.name_of(created)}"', now)
        d["metadata"]["annotations"][REVISION] = new_revision
        log.info("deployment %s: created replica set %s (revision %s)", meta.key_of(d), meta.name_of(created),
                 new_revision)
        return created

    def _set_new_rs_annotations(self, d: dict, rs: dict, new_revision: str, *, exists: bool) -> bool:
        annotations = rs["metadata"].setdefault("annotations", {})
        changed = False
        for k, v in _annotations(d).items():
            if k in SKIP_ANNOTATIONS or annotations.get(k) == v:
                continue
            annotations[k] = v
            changed = True
        old_revision = annotations.get(REVISION, "")
        try:
            old_number = int(old_revision) if old_revision else 0
        except ValueError:
            old_number = 0
        if old_number < int(new_revision):
            annotations[REVISION] = new_revision
            changed = True
            if old_revision:
                history = [h for h in annotations.get(REVISION_HISTORY, "").split(",") if h] + [old_revision]
                text = ",".join(history)
                while len(text) > MAX_HISTORY_CHARS and len(history) > 1:
                    history = history[1:]
                    text = ",".join(history)
                annotations[REVISION_HISTORY] = text
        if not exists:
            self._set_replicas_annotations(d, rs)
            changed = True
        return changed

    @staticmethod
    def _set_replicas_annotations(d: dict, rs: dict) -> bool:
        annotations = rs["metadata"].setdefault("annotations", {})
        wanted = {DESIRED_REPLICAS: str(replicas_of(d)), MAX_REPLICAS: str(replicas_of(d) + max_surge(d))}
        if all(annotations.get(k) == v for k, v in wanted.items()):
            return False
        annotations.update(wanted)
        return True

    @staticmethod
    def _new_rs_replicas(d: dict, all_rss: list[dict], new_rs: dict) -> int:
        """How big the new ReplicaSet may be now (Kubernetes' NewRSNewReplicas)."""
        if not is_rolling(d):
            return replicas_of(d)
        current = sum(replicas_of(rs) for rs in all_rss)
        max_total = replicas_of(d) + max_surge(d)
        if current >= max_total:
            return replicas_of(new_rs)
        return replicas_of(new_rs) + min(max_total - current, replicas_of(d) - replicas_of(new_rs))

    def _scale(self, d: dict, rs: dict, size: int) -> tuple[bool, dict]:
        """Set a ReplicaSet's replicas (and the desired/max annotations); (changed size, the RS)."""
        copy = meta.deep_copy(rs)
        resize = replicas_of(rs) != size
        annotated = self._set_replicas_annotations(d, copy)
        if not resize and not annotated:
            return False, rs
        before = replicas_of(rs)
        copy["spec"]["replicas"] = size
        updated = self.client.update("replicasets", copy)
        if resize:
            direction = "up" if size > before else "down"
            self.recorder.event(d, "Normal", "ScalingReplicaSet",
                                f"Scaled {direction} replica set {meta.name_of(rs)} from {before} to {size}")
            log.info("deployment %s: scaled %s replica set %s from %d to %d", meta.key_of(d), direction,
                     meta.name_of(rs), before, size)
        return resize, updated

    # --- scaling (paused, or only replicas changed) -----------------------------------------

    def _is_scaling_event(self, d: dict, rss: list[dict]) -> bool:
        """Whether an active ReplicaSet was sized for another spec.replicas (read-only, unlike Kubernetes,
        which syncs revisions here too and so writes the same ReplicaSet twice in one sync)."""
        for rs in rss:
            if replicas_of(rs) <= 0:
                continue
            desired = _int_annotation(rs, DESIRED_REPLICAS)
            if desired is not None and desired != replicas_of(d):
                return True
        return False

    def _sync(self, cached: dict, d: dict, rss: list[dict]) -> float | None:
        new_rs, old = self._all_replicasets(d, rss, create=False)
        new_rs, old = self._scale_proportionally(d, new_rs, old)
        if (d.get("spec") or {}).get("paused"):
            self._cleanup(d, old)
        return self._sync_status(cached, d, new_rs, old)

    def _scale_proportionally(self, d: dict, new_rs: dict | None, old: list[dict]) -> tuple[dict | None, list]:
        """Kubernetes' scale(): spread a change of replicas over the active ReplicaSets."""
        all_rss = ([new_rs] if new_rs else []) + old
        active = [rs for rs in all_rss if replicas_of(rs) > 0]
        by_uid = {rs["metadata"]["uid"]: rs for rs in all_rss}

        def result() -> tuple[dict | None, list]:
            fresh_new = by_uid[new_rs["metadata"]["uid"]] if new_rs else None
            return fresh_new, [by_uid[rs["metadata"]["uid"]] for rs in old]

        target = active[0] if len(active) == 1 else (None if active else (new_rs or (
            max(old, key=_creation_key) if old else None)))
        if target is not None or not active:
            if target is not None and replicas_of(target) != replicas_of(d):
                _, by_uid[target["metadata"]["uid"]] = self._scale(d, target, replicas_of(d))
            return result()
        if new_rs is not None and replicas_of(new_rs) == replicas_of(d) and \
                _int_annotation(new_rs, DESIRED_REPLICAS) == replicas_of(d) and \
                int(_status(new_rs).get("availableReplicas") or 0) == replicas_of(d):
            for rs in old:
                if replicas_of(rs) > 0:
                    _, by_uid[rs["metadata"]["uid"]] = self._scale(d, rs, 0)
            return result()
        if not is_rolling(d):
            return result()
        total = sum(replicas_of(rs) for rs in active)
        allowed = replicas_of(d) + max_surge(d) if replicas_of(d) > 0 else 0
        to_add = allowed - total
        # Largest first; among equals the newest first when adding, the oldest when removing.
        active.sort(key=_creation_key, reverse=to_add > 0)
        active.sort(key=lambda rs: -replicas_of(rs))
        sizes, added = {}, 0
        for rs in active:
            uid = rs["metadata"]["uid"]
            proportion = self._proportion(d, rs, to_add, added)
            sizes[uid] = replicas_of(rs) + proportion
            added += proportion
        if to_add and added != to_add and active:
            first = active[0]["metadata"]["uid"]
            sizes[first] = max(0, sizes[first] + to_add - added)
        for rs in active:
            _, by_uid[rs["metadata"]["uid"]] = self._scale(d, rs, sizes[rs["metadata"]["uid"]])
        return result()

    @staticmethod
    def _proportion(d: dict, rs: dict, to_add: int, added: int) -> int:
        if replicas_of(rs) == 0 or to_add == 0 or to_add == added:
            return 0
        if replicas_of(d) == 0:
            fraction = -replicas_of(rs)
        else:
            annotated = _int_annotation(rs, MAX_REPLICAS)
            if annotated is None:
                annotated = int(_status(d).get("replicas") or 0)
            if annotated <= 0:
                return 0
            size = replicas_of(rs) * (replicas_of(d) + max_surge(d)) / annotated
            fraction = int(size + 0.5) if size >= 0 else -int(-size + 0.5)
            fraction -= replicas_of(rs)
        allowed = to_add - added
        return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)

    # --- rollouts ---------------------------------------------------------------------------

    def _rollout_rolling(self, cached: dict, d: dict, rss: list[dict]) -> float | None:
        new_rs, old = self._all_replicasets(d, rss, create=True)
        # Scale the new ReplicaSet up (or down to spec.replicas).
        target = replicas_of(d) if replicas_of(new_rs) > replicas_of(d) else \
            self._new_rs_replicas(d, old + [new_rs], new_rs)
        if target != replicas_of(new_rs):
            _, new_rs = self._scale(d, new_rs, target)
            return self._sync_rollout_status(cached, d, new_rs, old)
        scaled, old = self._reconcile_old(d, new_rs, old)
        if scaled:
            return self._sync_rollout_status(cached, d, new_rs, old)
        if deployment_complete(d, d["status"]):
            self._cleanup(d, old)
        return self._sync_rollout_status(cached, d, new_rs, old)

    def _reconcile_old(self, d: dict, new_rs: dict, old: list[dict]) -> tuple[bool, list[dict]]:
        """Scale old ReplicaSets down as far as maxUnavailable allows (unhealthy pods first)."""
        old = sorted(old, key=_creation_key)
        if sum(replicas_of(rs) for rs in old) == 0:
            return False, old
        all_pods = sum(replicas_of(rs) for rs in old) + replicas_of(new_rs)
        min_available = replicas_of(d) - max_unavailable(d)
        new_unavailable = replicas_of(new_rs) - available(new_rs)
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False, old
        cleaned = 0
        for i, rs in enumerate(old):
            if cleaned >= max_scaled_down:
                break
            unhealthy = replicas_of(rs) - available(rs)
            if replicas_of(rs) == 0 or unhealthy <= 0:
                continue
            step = min(max_scaled_down - cleaned, unhealthy)
            _, old[i] = self._scale(d, rs, replicas_of(rs) - step)
            cleaned += step
        available_now = sum(available(rs) for rs in old) + available(new_rs)
        to_scale_down = available_now - min_available
        scaled = 0
        for i, rs in enumerate(old):
            if scaled >= to_scale_down:
                break
            if replicas_of(rs) == 0:
                continue
            step = min(replicas_of(rs), to_scale_down - scaled)
            _, old[i] = self._scale(d, rs, replicas_of(rs) - step)
            scaled += step
        return cleaned + max(scaled, 0) > 0, old

    def _rollout_recreate(self, cached: dict, d: dict, rss: list[dict]) -> float | None:
        new_rs, old = self._all_replicasets(d, rss, create=False)
        scaled_down = False
        for i, rs in enumerate(old):
            if replicas_of(rs) > 0:
                changed, old[i] = self._scale(d, rs, 0)
                scaled_down = scaled_down or changed
        if scaled_down or self._old_pods_running(d, new_rs, old):
            return self._sync_rollout_status(cached, d, new_rs, old)
        if new_rs is None:
            new_rs, old = self._all_replicasets(d, rss, create=True)
        if replicas_of(new_rs) != replicas_of(d):
            _, new_rs = self._scale(d, new_rs, replicas_of(d))
        if deployment_complete(d, d["status"]):
            self._cleanup(d, old)
        return self._sync_rollout_status(cached, d, new_rs, old)

    def _old_pods_running(self, d: dict, new_rs: dict | None, old: list[dict]) -> bool:
        if sum(int(_status(rs).get("replicas") or 0) for rs in old) > 0:
            return True
        old_uids = {rs["metadata"]["uid"] for rs in old}
        for pod in self.pods.list(meta.namespace_of(d)):
            ref = controller_ref(pod)
            if ref and ref.get("uid") in old_uids and (pod.get("status") or {}).get("phase") not in (
                    "Succeeded", "Failed"):
                return True
        return False

    def _cleanup(self, d: dict, old: list[dict]) -> None:
        """Delete old, empty ReplicaSets beyond revisionHistoryLimit, lowest revisions first."""
        limit = (d.get("spec") or {}).get("revisionHistoryLimit")
        if not isinstance(limit, int):
            return
        alive = sorted((rs for rs in old if not being_deleted(rs)), key=lambda rs: (revision_of(rs),
                                                                                     _creation_key(rs)))
        for rs in alive[:max(0, len(alive) - limit)]:
            status = _status(rs)
            if int(status.get("replicas") or 0) or replicas_of(rs) or \
                    rs["metadata"].get("generation", 1) > int(status.get("observedGeneration") or 0):
                continue
            try:
                self.client.delete("replicasets", meta.name_of(rs), meta.namespace_of(rs),
                                   precondition_uid=rs["metadata"]["uid"])
                log.info("deployment %s: deleted old replica set %s (revision history limit %d)", meta.key_of(d),
                         meta.name_of(rs), limit)
            except (errors.NotFound, errors.Conflict):
                pass

    # --- status -----------------------------------------------------------------------------

    def _check_paused_conditions(self, d: dict) -> None:
        if not has_progress_deadline(d):
            return
        cond = get_condition(d["status"], "Progressing")
        if cond is not None and cond.get("reason") == TIMED_OUT:
            return
        paused_cond = cond is not None and cond.get("reason") == PAUSED
        now = meta.format_time(self.now())
        if (d.get("spec") or {}).get("paused") and not paused_cond:
            set_condition(d["status"], "Progressing", "Unknown", PAUSED, "Deployment is paused", now)
        elif not (d.get("spec") or {}).get("paused") and paused_cond:
            set_condition(d["status"], "Progressing", "Unknown", RESUMED, "Deployment is resumed", now)

    def _calculate_status(self, d: dict, new_rs: dict | None, old: list[dict]) -> dict:
        all_rss = ([new_rs] if new_rs else []) + old
        avail = sum(int(_status(rs).get("availableReplicas") or 0) for rs in all_rss)
        total = sum(replicas_of(rs) for rs in all_rss)
        status = {"observedGeneration": d["metadata"].get("generation", 1),
                  "replicas": sum(int(_status(rs).get("replicas") or 0) for rs in all_rss),
                  "updatedReplicas": int(_status(new_rs).get("replicas") or 0) if new_rs else 0,
                  "readyReplicas": sum(int(_status(rs).get("readyReplicas") or 0) for rs in all_rss),
                  "availableReplicas": avail, "unavailableReplicas": max(0, total - avail)}
        if d["status"].get("collisionCount") is not None:
            status["collisionCount"] = d["status"]["collisionCount"]
        status["conditions"] = [dict(c) for c in d["status"].get("conditions") or []]
        now = meta.format_time(self.now())
        if avail >= replicas_of(d) - max_unavailable(d):
            set_condition(status, "Available", "True", "MinimumReplicasAvailable",
                          "Deployment has minimum availability.", now)
        else:
            set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability.", now)
        return status

    def _sync_status(self, cached: dict, d: dict, new_rs: dict | None, old: list[dict]) -> float | None:
        status = self._calculate_status(d, new_rs, old)
        self._write(cached, d, status)
        return None

    def _sync_rollout_status(self, cached: dict, d: dict, new_rs: dict | None, old: list[dict]) -> float | None:
        status = self._calculate_status(d, new_rs, old)
        now_dt = self.now()
        now = meta.format_time(now_dt)
        current = get_condition(status, "Progressing")
        complete = status.get("replicas") == status.get("updatedReplicas") and current is not None and \
            current.get("reason") == NEW_RS_AVAILABLE
        name = meta.name_of(new_rs) if new_rs else ""
        if has_progress_deadline(d) and not complete:
            if deployment_complete(d, status):
                msg = f'ReplicaSet "{name}" has successfully progressed.' if new_rs else \
                    f'Deployment "{meta.name_of(d)}" has successfully progressed.'
                set_condition(status, "Progressing", "True", NEW_RS_AVAILABLE, msg, now)
            elif self._progressing(d, status):
                msg = f'ReplicaSet "{name}" is progressing.' if new_rs else \
                    f'Deployment "{meta.name_of(d)}" is progressing.'
                set_condition(status, "Progressing", "True", RS_UPDATED, msg, now, force=True)
            elif self._timed_out(d, status, now_dt):
                msg = f'ReplicaSet "{name}" has timed out progressing.' if new_rs else \
                    f'Deployment "{meta.name_of(d)}" has timed out progressing.'
                if set_condition(status, "Progressing", "False", TIMED_OUT, msg, now):
                    self.recorder.event(d, "Warning", TIMED_OUT, f"Deployment {meta.name_of(d)} has timed out "
                                                                  "progressing.")
        failure = next((c for rs in ([new_rs] if new_rs else []) + old
                        for c in _status(rs).get("conditions") or [] if c.get("type") == "ReplicaFailure"
                        and c.get("status") == "True"), None)
        if failure:
            set_condition(status, "ReplicaFailure", "True", failure.get("reason", ""), failure.get("message", ""),
                          now)
        else:
            status["conditions"] = [c for c in status["conditions"] if c.get("type") != "ReplicaFailure"]
        self._write(cached, d, status)
        return self._requeue_stuck(d, status, now_dt)

    @staticmethod
    def _progressing(d: dict, new: dict) -> bool:
        old = d["status"]

        def n(s: dict, f: str) -> int:
            return int(s.get(f) or 0)

        return (n(new, "updatedReplicas") > n(old, "updatedReplicas")
                or n(new, "replicas") - n(new, "updatedReplicas") < n(old, "replicas") - n(old, "updatedReplicas")
                or n(new, "readyReplicas") > n(old, "readyReplicas")
                or n(new, "availableReplicas") > n(old, "availableReplicas"))

    @staticmethod
    def _timed_out(d: dict, status: dict, now: dt.datetime) -> bool:
        if not has_progress_deadline(d):
            return False
        cond = get_condition(status, "Progressing")
        if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
            return False
        if cond.get("reason") == TIMED_OUT:
            return True
        since = meta.parse_time(cond.get("lastUpdateTime"))
        return since is not None and since + dt.timedelta(seconds=d["spec"]["progressDeadlineSeconds"]) < now

    @staticmethod
    def _requeue_stuck(d: dict, status: dict, now: dt.datetime) -> float | None:
        cond = get_condition(status, "Progressing")
        if not has_progress_deadline(d) or cond is None or deployment_complete(d, status) or \
                cond.get("reason") in (TIMED_OUT, PAUSED):
            return None
        since = meta.parse_time(cond.get("lastUpdateTime"))
        if since is None:
            return None
        after = (since + dt.timedelta(seconds=d["spec"]["progressDeadlineSeconds"]) - now).total_seconds()
        return max(after, 0.0) + 1.0

    def _write(self, cached: dict, d: dict, status: dict) -> None:
        for field in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"):
            if not status.get(field):
                status.pop(field, None)
        annotations = d["metadata"].get("annotations") or {}
        write_status(self.client, "deployments", cached, status, annotations)
