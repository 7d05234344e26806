"""How a workload controller reacts to changes of the pods it may own.

The ReplicaSet, Job and DaemonSet controllers all follow kube-controller-manager's pattern for
pod events (``pkg/controller/replicaset/replica_set.go``'s addPod/updatePod/deletePod):

- a pod with a controller reference wakes its owner (if that owner still exists in the cache)
  and, when it is new, counts as an observed creation for the owner's expectations;
- a pod that starts terminating counts as an observed deletion at once: waiting for the final
  delete event would stall the owner for the whole grace period;
- an orphan (no controller reference) wakes every owner in its namespace whose selector
  matches, so one of them can adopt it; so does a pod whose labels changed or that was
  released by its previous owner;
- a pod whose controller reference moved wakes both the old and the new owner.

:class:`OwnedPodHandlers` holds these once. A controller sets ``owner_kind`` and ``owners``
(the Lister of its owner objects) and registers ``_pod_added``/``_pod_updated``/``_pod_deleted``
as the pod informer's handlers; ``_owned_pod_updated`` is the hook for anything extra (the
ReplicaSet controller requeues after ``minReadySeconds``).
"""

from __future__ import annotations

from controller_manager.common import (
    Expectations,
    Lister,
    being_deleted,
    controller_ref,
    labels_of,
    resolve_owner,
    selector_of,
)
from machinery import meta


class OwnedPodHandlers:
    """Pod informer handlers for a controller that owns pods (mixed into a Controller)."""

    # Set by the controller; ``enqueue`` and ``queue`` come from machinery.controller.Controller,
    # which must follow this class in the bases.
    owner_kind: str
    owners: Lister
    expectations: Expectations

    def _owner_key(self, pod: dict) -> str | None:
        owner = resolve_owner(controller_ref(pod), self.owner_kind, self.owners, meta.namespace_of(pod))
        return meta.key_of(owner) if owner else None

    def _enqueue_selecting(self, pod: dict) -> None:
        """An orphan: every owner of its namespace whose selector matches may adopt it."""
        for owner in self.owners.list(meta.namespace_of(pod)):
            if selector_of(owner).matches(labels_of(pod)):
                self.enqueue(meta.key_of(owner))

    def _pod_added(self, pod: dict) -> None:
        if being_deleted(pod):  # seen for the first time while already terminating (a relist)
            self._pod_deleted(pod)
            return
        if controller_ref(pod) is not None:
            key = self._owner_key(pod)
            if key:
                self.expectations.creation_observed(key)
                self.enqueue(key)
            return
        self._enqueue_selecting(pod)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return  # a resync: nothing changed
        if being_deleted(new) and not being_deleted(old):
            self._pod_deleted(new)
            return
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref and (not new_ref or old_ref.get("uid") != new_ref.get("uid")):
            key = self._owner_key(old)
            if key:
                self.enqueue(key)
        if new_ref is not None:
            key = self._owner_key(new)
            if key:
                self.enqueue(key)
                self._owned_pod_updated(key, old, new)
            return
        if labels_of(old) != labels_of(new) or old_ref:
            self._enqueue_selecting(new)

    def _owned_pod_updated(self, key: str, old: dict, new: dict) -> None:
        """Hook: ``new`` (owned by ``key``) changed; the owner is already enqueued."""

    def _pod_deleted(self, pod: dict) -> None:
        key = self._owner_key(pod)
        if key:
            self.expectations.deletion_observed(key, meta.key_of(pod))
            self.enqueue(key)
