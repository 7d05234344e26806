"""The DaemonSet controller: one pod on every eligible node.

A node is eligible when the template's ``nodeSelector`` and required node affinity match it
and the pod tolerates its NoSchedule/NoExecute taints; daemon pods always get Kubernetes'
extra tolerations (not-ready and unreachable NoExecute without a time limit; disk, memory and
PID pressure and unschedulable NoSchedule), so they stay through node trouble. A node that
stops being eligible keeps its pod only while the pod tolerates the node's NoExecute taints.

The controller does not bind pods itself: like Kubernetes since 1.12 it creates each pod with
a required node affinity ``matchFields metadata.name In [<node>]``, and the default scheduler
places it there. Per node: no pod → create one; more than one → keep the oldest; a Failed pod
→ delete it (a new one follows). Rolling updates replace pods whose ``controller-revision-hash``
differs from the template's, at most ``maxUnavailable`` (default 1, percentages round up)
unavailable at a time; pods already unavailable go first. Creation and deletion go through
expectations, like the ReplicaSet controller, so informer lag never doubles a pod.

Not done: ``maxSurge`` (treated as 0), ControllerRevisions for DaemonSets (so no ``rollout
history``), the per-node backoff for recreating failed pods.
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
    int_or_percent,
    is_pod_available,
    is_pod_ready,
    labels_of,
    namespace_terminating,
    object_hash,
    pod_from_template,
    pod_phase,
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
from machinery.nodeaffinity import term_matches
from machinery.taints import untolerated

log = logging.getLogger(__name__)

KIND = "DaemonSet"
HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
DAEMON_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)


def with_daemon_tolerations(tolerations: list[dict]) -> list[dict]:
    out = [dict(t) for t in tolerations or [] if isinstance(t, dict)]
    for extra in DAEMON_TOLERATIONS:
        if not any(t.get("key") == extra["key"] and t.get("effect") == extra["effect"] for t in out):
            out.append(dict(extra))
    return out


def node_should_run(ds: dict, node: dict) -> tuple[bool, bool]:
    """(should run a daemon pod there, may keep an existing one) — Kubernetes' NodeShouldRunDaemonPod."""
    spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    selector = spec.get("nodeSelector") or {}
    if any(labels_of(node).get(k) != v for k, v in selector.items()):
        return False, False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")
    if required is not None and not any(term_matches(t, node) for t in required):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = with_daemon_tolerations(spec.get("tolerations") or [])
    if untolerated(taints, tolerations, ("NoSchedule", "NoExecute")):
        return False, not untolerated(taints, tolerations, ("NoExecute",))
    return True, True


def target_node(pod: dict) -> str:
    """The node a daemon pod is for: its nodeName, or its matchFields metadata.name affinity."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    terms = (((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("operator") == "In" and \
                    len(field.get("values") or []) == 1:
                return field["values"][0]
    return ""


def template_hash(ds: dict) -> str:
    return object_hash((ds.get("spec") or {}).get("template") or {},
                       (ds.get("status") or {}).get("collisionCount"))


class DaemonSetController(OwnedPodHandlers, Controller):
    name = "daemonset"
    owner_kind = KIND

    def __init__(self, client: APIClient, daemonsets: Lister, pods: Lister, nodes: Lister, *, workers: int = 2,
                 now: Callable[[], dt.datetime] = meta.utcnow):
        super().__init__(client, workers=workers)
        self.daemonsets = self.owners = daemonsets
        self.pods = pods
        self.nodes = nodes
        self.informers = [daemonsets.informer, pods.informer, nodes.informer]
        self.expectations = Expectations()
        self.now = now
        self.recorder = EventRecorder(client, "daemonset-controller")
        daemonsets.add_handlers(Handlers(self._ds_changed, lambda old, new: self._ds_changed(new),
                                         self._ds_deleted))
        pods.add_handlers(Handlers(self._pod_added, self._pod_updated, self._pod_deleted))
        nodes.add_handlers(Handlers(self._all, self._node_updated, self._all))

    # --- handlers ---------------------------------------------------------------------------

    def _ds_changed(self, ds: dict) -> None:
        self.enqueue(meta.key_of(ds))

    def _ds_deleted(self, ds: dict) -> None:
        self.expectations.forget(meta.key_of(ds))

    def _all(self, _node: dict) -> None:
        for ds in self.daemonsets.list():
            self.enqueue(meta.key_of(ds))

    def _node_updated(self, old: dict, new: dict) -> None:
        if labels_of(old) != labels_of(new) or (old.get("spec") or {}) != (new.get("spec") or {}):
            self._all(new)

    # --- reconcile --------------------------------------------------------------------------

    def reconcile(self, key: str) -> float | None:
        ds = self.daemonsets.get(key)
        if ds is None:
            self.expectations.forget(key)
            return None
        pods = claim(self.client, "pods", ds, self.pods.list(meta.namespace_of(ds)), selector_of(ds),
                     owner_resource="daemonsets")
        by_node: dict[str, list[dict]] = {}
        for pod in pods:
            by_node.setdefault(target_node(pod), []).append(pod)
        nodes = self.nodes.list()
        current_hash = template_hash(ds)
        error: Exception | None = None
        if self.expectations.satisfied(key) and not being_deleted(ds):
            try:
                self._manage(key, ds, nodes, by_node, current_hash)
            except errors.APIError as e:
                error = e
        retry = self._update_status(ds, nodes, by_node, current_hash)
        if error is not None:
            raise error
        return retry

    def _manage(self, key: str, ds: dict, nodes: list[dict], by_node: dict[str, list[dict]],
                current_hash: str) -> None:
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        now = self.now()
        create_on: list[str] = []
        delete: list[dict] = []
        eligible = 0
        unavailable = 0
        old_pods: list[dict] = []
        for node in nodes:
            name = meta.name_of(node)
            should_run, may_stay = node_should_run(ds, node)
            pods = by_node.get(name, [])
            if should_run:
                eligible += 1
                failed = [p for p in pods if pod_phase(p) == "Failed" and not being_deleted(p)]
                delete += failed
                live = sorted((p for p in pods if p not in failed), key=lambda p: (
                    p["metadata"].get("creationTimestamp") or "", meta.name_of(p)))
                if not live:
                    if not failed:
                        create_on.append(name)
                    unavailable += 1
                    continue
                delete += [p for p in live[1:] if not being_deleted(p)]
                keep = live[0]
                if being_deleted(keep) or not is_pod_available(keep, min_ready, now):
                    unavailable += 1
                if labels_of(keep).get(HASH_LABEL) != current_hash and not being_deleted(keep):
                    old_pods.append(keep)
            elif not may_stay:
                delete += [p for p in pods if not being_deleted(p)]
        strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
        if (strategy.get("type") or "RollingUpdate") == "RollingUpdate":
            max_unavailable = int_or_percent((strategy.get("rollingUpdate") or {}).get("maxUnavailable"), eligible,
                                             round_up=True, default=1)
            max_unavailable = max(max_unavailable, 1) if eligible else 0
            for pod in old_pods:
                if not is_pod_available(pod, min_ready, now):
                    delete.append(pod)  # already unavailable: replacing it costs nothing
                elif unavailable < max_unavailable:
                    delete.append(pod)
                    unavailable += 1
        self._sync_nodes(key, ds, create_on[:BURST_REPLICAS], delete[:BURST_REPLICAS], current_hash)

    def _sync_nodes(self, key: str, ds: dict, create_on: list[str], delete: list[dict], current_hash: str) -> None:
        if not create_on and not delete:
            return
        self.expectations.expect(key, len(create_on), [meta.key_of(p) for p in delete])
        first_error: Exception | None = None
        for pod in delete:
            try:
                self.client.delete("pods", meta.name_of(pod), meta.namespace_of(pod),
                                   precondition_uid=pod["metadata"].get("uid", ""))
                self.recorder.event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {meta.name_of(pod)}")
            except (errors.NotFound, errors.Conflict):
                self.expectations.deletion_observed(key, meta.key_of(pod))
            except errors.APIError as e:
                self.expectations.deletion_observed(key, meta.key_of(pod))
                first_error = first_error or e
        queue = list(create_on)
        template = (ds.get("spec") or {}).get("template") or {}
        generation = str(ds["metadata"].get("generation", 1))

        def create_one() -> dict:
            node = queue.pop()
            pod = pod_from_template(template, ds, extra_labels={HASH_LABEL: current_hash,
                                                                GENERATION_LABEL: generation})
            spec = pod["spec"]
            affinity = spec.setdefault("affinity", {})
            node_affinity = affinity.setdefault("nodeAffinity", {})
            node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
            spec["tolerations"] = with_daemon_tolerations(spec.get("tolerations") or [])
            try:
                created = self.client.create("pods", pod, meta.namespace_of(ds))
            except errors.APIError as e:
                self.recorder.event(ds, "Warning", "FailedCreate", f"Error creating: {e}")
                raise
            self.recorder.event(ds, "Normal", "SuccessfulCreate", f"Created pod: {meta.name_of(created)}")
            return created

        if create_on:
            log.info("daemonset %s: creating pods for nodes %s", meta.key_of(ds), ", ".join(create_on))
            reason = f"no daemon pod on node(s) {', '.join(create_on)}"
            successes, error = slow_start_batch(len(create_on), creating_pods(create_one, self.name, ds, reason))
            if len(create_on) - successes:
                self.expectations.creation_observed(key, len(create_on) - successes)
            first_error = first_error or (None if namespace_terminating(error) else error)
        if first_error is not None:
            raise first_error

    def _update_status(self, ds: dict, nodes: list[dict], by_node: dict[str, list[dict]],
                       current_hash: str) -> float | None:
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        now = self.now()
        desired = current = misscheduled = ready = available = updated = 0
        waits: list[float] = []
        for node in nodes:
            should_run, _ = node_should_run(ds, node)
            pods = [p for p in by_node.get(meta.name_of(node), []) if not being_deleted(p)]
            if should_run:
                desired += 1
                if pods:
                    current += 1
                    pod = pods[0]
                    if is_pod_ready(pod):
                        ready += 1
                        if is_pod_available(pod, min_ready, now):
                            available += 1
                        else:
                            waits.append(seconds_until_available(pod, min_ready, now) or 1.0)
                    if labels_of(pod).get(HASH_LABEL) == current_hash:
                        updated += 1
            elif pods:
                misscheduled += 1
        status = {"currentNumberScheduled": current, "numberMisscheduled": misscheduled,
                  "desiredNumberScheduled": desired, "numberReady": ready,
                  "observedGeneration": ds["metadata"].get("generation", 1)}
        for field, value in (("updatedNumberScheduled", updated), ("numberAvailable", available),
                             ("numberUnavailable", desired - available)):
            if value:
                status[field] = value
        if (ds.get("status") or {}).get("collisionCount") is not None:
            status["collisionCount"] = ds["status"]["collisionCount"]
        write_status(self.client, "daemonsets", ds, status)
        return min(waits) + 0.5 if waits else None
