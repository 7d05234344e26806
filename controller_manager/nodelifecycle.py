"""The node lifecycle controller: notices dead nodes, taints them, and evicts their pods.

Node health (kube-controller-manager's monitorNodeHealth): every node is looked at every
``monitor_period_s`` (5 s) and whenever its Node or its Lease in ``kube-node-lease``
changes. The controller remembers, by its own clock, when it last saw the lease's
``renewTime`` or the Ready condition's ``lastHeartbeatTime`` move (the *probe time*; a node
first seen gets a fresh grace period). When that is more than ``grace_period_s`` (50 s) ago —
``startup_grace_period_s`` (60 s) for a node that never posted a Ready condition — it
sets Ready, MemoryPressure, DiskPressure and PIDPressure to ``Unknown`` (reason
NodeStatusUnknown, "Kubelet stopped posting node status.") and marks the node's pods
Ready=False.

Taints follow the Ready condition: False → ``node.kubernetes.io/not-ready``, Unknown →
``node.kubernetes.io/unreachable``, each as NoSchedule and NoExecute (with ``timeAdded``);
True removes them. Pressure conditions and ``spec.unschedulable`` get their NoSchedule taints
too, like TaintNodesByCondition. Adding a NoExecute taint is rate limited per zone
(``topology.kubernetes.io/region``/``zone`` labels) by a token bucket of ``eviction_rate``
nodes per second (0.1: one node every 10 s); in a zone with more than 2 and at least
``unhealthy_zone_threshold`` (55 %) of its nodes not ready the rate drops to
``secondary_eviction_rate`` — or to 0 in clusters of at most ``large_cluster_size_threshold``
nodes; when every node of every zone is not ready the controller assumes the problem is its
own connectivity and removes NoExecute taints instead ("master disruption mode").

Taint-based eviction (the NoExecute taint manager): a pod on a node with NoExecute taints is
deleted at once when it does not tolerate one of them, else once the smallest
``tolerationSeconds`` among the tolerations used has passed since the taint's ``timeAdded``
(the apiserver's DefaultTolerationSeconds gives every pod 300 s). Before deleting it the pod
gets the DisruptionTarget condition and an event TaintManagerEviction.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from controller_manager.common import Lister, being_deleted, is_pod_ready
from machinery import errors, meta
from machinery.client import APIClient
from machinery.controller import Controller
from machinery.events import EventRecorder
from machinery.informer import Handlers
from machinery.taints import tolerates, untolerated

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
CONDITION_TAINTS = {"MemoryPressure": "node.kubernetes.io/memory-pressure",
                    "DiskPressure": "node.kubernetes.io/disk-pressure",
                    "PIDPressure": "node.kubernetes.io/pid-pressure"}
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
MANAGED_TAINTS = frozenset({NOT_READY, UNREACHABLE, UNSCHEDULABLE, *CONDITION_TAINTS.values()})
UNKNOWN_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
ZONE_LABELS = ("topology.kubernetes.io/region", "topology.kubernetes.io/zone")


@dataclass
class NodeLifecycleConfig:
    """Timings and rates; the defaults are kube-controller-manager's."""

    # monitor_period_s: how often every node's health is checked (--node-monitor-period).
    monitor_period_s: float = 5.0
    # grace_period_s: how long a silent node is still trusted (--node-monitor-grace-period, 50 s since 1.32).
    grace_period_s: float = 50.0
    # startup_grace_period_s: the same for a node that never posted a Ready condition (--node-startup-grace-period).
    startup_grace_period_s: float = 60.0
    # eviction_rate: nodes per second that may get a NoExecute taint (--node-eviction-rate).
    eviction_rate: float = 0.1
    # secondary_eviction_rate: the same in a partially disrupted zone (--secondary-node-eviction-rate).
    secondary_eviction_rate: float = 0.01
    # unhealthy_zone_threshold: the not-ready fraction that makes a zone partially disrupted.
    unhealthy_zone_threshold: float = 0.55
    # large_cluster_size_threshold: at or below this many nodes, partial disruption stops tainting.
    large_cluster_size_threshold: int = 50


@dataclass
class _Health:
    probe_at: float
    renew_time: str
    heartbeat: str


class TokenBucket:
    """``rate`` tokens per second, at most one banked (client-go's flowcontrol with burst 1)."""

    def __init__(self, rate: float, clock: Callable[[], float]):
        self.rate = rate
        self._clock = clock
        self._tokens = 1.0
        self._last = clock()
        self._lock = threading.Lock()

    def set_rate(self, rate: float) -> None:
        """A new rate is a new bucket (Kubernetes swaps the limiter when a zone changes state)."""
        with self._lock:
            if rate != self.rate:
                self.rate, self._tokens, self._last = rate, 1.0, self._clock()

    def _refill(self) -> None:
        now = self._clock()
        if self.rate > 0:
            self._tokens = min(1.0, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def take(self) -> float:
        """0 when a token was taken, else seconds until one may be (inf when the rate is 0)."""
        with self._lock:
            if self.rate <= 0:
                return float("inf")
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate


def ready_status(node: dict) -> str:
    cond = meta.condition(node, "Ready")
    return cond.get("status", "Unknown") if cond else "Unknown"


def zone_of(node: dict) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return ":\x00:".join(labels.get(k, "") for k in ZONE_LABELS)


def min_toleration_s(taints: list[dict], tolerations: list[dict]) -> float | None:
    """Kubernetes' getMinTolerationTime over the tolerations used: None means forever."""
    used = [t for t in tolerations or [] if any(tolerates(t, taint) for taint in taints)]
    seconds = [t["tolerationSeconds"] for t in used if isinstance(t.get("tolerationSeconds"), int)]
    if not seconds:
        return None
    return float(max(0, min(seconds)))


class NodeLifecycleController(Controller):
    name = "nodelifecycle"

    def __init__(self, client: APIClient, nodes: Lister, leases: Lister, pods: Lister, *,
                 config: NodeLifecycleConfig | None = None, workers: int = 2,
                 clock: Callable[[], float] = time.monotonic, now: Callable[[], dt.datetime] = meta.utcnow):
        super().__init__(client, workers=workers)
        self.config = config or NodeLifecycleConfig()
        self.nodes = nodes
        self.leases = leases
        self.pods = pods
        self.informers = [nodes.informer, leases.informer, pods.informer]
        self.clock = clock
        self.now = now
        self.recorder = EventRecorder(client, "node-controller")
        self.eviction_recorder = EventRecorder(client, "taint-eviction-controller")
        self._lock = threading.Lock()
        self._health: dict[str, _Health] = {}
        self._pods_by_node: dict[str, set[str]] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self.evictions = 0
        nodes.add_handlers(Handlers(self._node_changed, lambda old, new: self._node_changed(new),
                                    self._node_deleted))
        leases.add_handlers(Handlers(self._lease_changed, lambda old, new: self._lease_changed(new)))
        pods.add_handlers(Handlers(self._pod_added, self._pod_updated, self._pod_deleted))

    # --- handlers ---------------------------------------------------------------------------

    def _node_changed(self, node: dict) -> None:
        self.enqueue(meta.name_of(node))

    def _node_deleted(self, node: dict) -> None:
        with self._lock:
            self._health.pop(meta.name_of(node), None)

    def _lease_changed(self, lease: dict) -> None:
        if meta.namespace_of(lease) == LEASE_NAMESPACE:
            self.enqueue(meta.name_of(lease))

    def _pod_added(self, pod: dict) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            return
        with self._lock:
            self._pods_by_node.setdefault(node, set()).add(meta.key_of(pod))
        taints = ((self.nodes.get(node) or {}).get("spec") or {}).get("taints") or []
        if any(t.get("effect") == "NoExecute" for t in taints):
            self.enqueue(node)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if (old.get("spec") or {}).get("nodeName") != (new.get("spec") or {}).get("nodeName"):
            self._pod_deleted(old)
            self._pod_added(new)

    def _pod_deleted(self, pod: dict) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            return
        with self._lock:
            keys = self._pods_by_node.get(node)
            if keys is not None:
                keys.discard(meta.key_of(pod))
                if not keys:
                    del self._pods_by_node[node]

    def pods_on(self, node_name: str) -> list[dict]:
        with self._lock:
            keys = list(self._pods_by_node.get(node_name, ()))
        return [p for p in (self.pods.get(k) for k in keys) if p is not None]

    # --- reconcile --------------------------------------------------------------------------

    def reconcile(self, key: str) -> float | None:
        node = self.nodes.get(key)
        if node is None:
            with self._lock:
                self._health.pop(key, None)
            return None
        waits = [self.config.monitor_period_s]
        silent_for = self._observe(node)
        grace = self._grace(node)
        if silent_for > grace:
            node = self._mark_unknown(node) or node
        else:
            waits.append(grace - silent_for + 0.1)
        if ready_status(node) == "Unknown":
            self._mark_pods_not_ready(node)
        node, taint_wait = self._sync_taints(node)
        if taint_wait is not None:
            waits.append(taint_wait)
        eviction_wait = self._evict(node)
        if eviction_wait is not None:
            waits.append(eviction_wait)
        return max(0.05, min(waits))

    def _grace(self, node: dict) -> float:
        """A node whose kubelet never posted Ready gets the (longer) startup grace period."""
        if meta.condition(node, "Ready") is None:
            return self.config.startup_grace_period_s
        return self.config.grace_period_s

    def _observe(self, node: dict) -> float:
        """Seconds since this controller last saw the node's lease or status heartbeat move."""
        name = meta.name_of(node)
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{name}")
        renew = str(((lease or {}).get("spec") or {}).get("renewTime") or "")
        cond = meta.condition(node, "Ready") or {}
        heartbeat = str(cond.get("lastHeartbeatTime") or "")
        now = self.clock()
        with self._lock:
            health = self._health.get(name)
            if health is None:
                health = self._health[name] = _Health(now, renew, heartbeat)
            elif renew != health.renew_time or heartbeat != health.heartbeat:
                health.probe_at, health.renew_time, health.heartbeat = now, renew, heartbeat
            return now - health.probe_at

    def _mark_unknown(self, node: dict) -> dict | None:
        conditions = {c.get("type"): c for c in (node.get("status") or {}).get("conditions") or []}
        if all((conditions.get(t) or {}).get("status") == "Unknown" for t in UNKNOWN_CONDITIONS):
            return None
        now = meta.format_time(self.now())

        def change(fresh: dict) -> bool:
            status = fresh.setdefault("status", {})
            changed = False
            for ctype in UNKNOWN_CONDITIONS:
                current = meta.condition(fresh, ctype)
                if current is None:
                    status.setdefault("conditions", []).append({
                        "type": ctype, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                        "message": "Kubelet never posted node status.", "lastHeartbeatTime": now,
                        "lastTransitionTime": now})
                    changed = True
                elif current.get("status") != "Unknown":
                    current.update(status="Unknown", reason="NodeStatusUnknown",
                                   message="Kubelet stopped posting node status.", lastTransitionTime=now)
                    changed = True
            return changed

        updated = self.client.mutate("nodes", meta.name_of(node), "", change, status=True)
        if updated is not None:
            log.warning("node %s: no heartbeat for more than %.0fs; Ready is now Unknown", meta.name_of(node),
                        self.config.grace_period_s)
            self.recorder.event(updated, "Normal", "NodeNotReady", f"Node {meta.name_of(node)} status is now: "
                                                                   "NodeNotReady")
        return updated

    def _mark_pods_not_ready(self, node: dict) -> None:
        now = meta.format_time(self.now())
        for pod in self.pods_on(meta.name_of(node)):
            if not is_pod_ready(pod) or being_deleted(pod):
                continue
            uid = pod["metadata"].get("uid")

            def change(fresh: dict, uid=uid) -> bool:
                cond = meta.condition(fresh, "Ready")
                if fresh["metadata"].get("uid") != uid or cond is None or cond.get("status") == "False":
                    return False
                cond.update(status="False", lastTransitionTime=now)
                return True

            try:
                self.client.mutate("pods", meta.name_of(pod), meta.namespace_of(pod), change, status=True)
            except errors.APIError as e:
                log.warning("could not mark pod %s not ready: %s", meta.key_of(pod), e)

    # --- taints -----------------------------------------------------------------------------

    def _effectively_ready(self, node: dict) -> bool:
        """Ready=True and not silent past the grace period (its condition may not say so yet)."""
        return ready_status(node) == "True" and self._observe(node) <= self._grace(node)

    def _zone_rate(self, zone: str) -> tuple[float, bool]:
        """(tainting rate for ``zone``, whether every zone is fully disrupted)."""
        counts: dict[str, list[int]] = {}
        for n in self.nodes.list():
            c = counts.setdefault(zone_of(n), [0, 0])
            c[0 if self._effectively_ready(n) else 1] += 1
        states = {}
        for z, (ready, not_ready) in counts.items():
            if ready == 0 and not_ready > 0:
                states[z] = "FullDisruption"
            elif not_ready > 2 and not_ready / (ready + not_ready) >= self.config.unhealthy_zone_threshold:
                states[z] = "PartialDisruption"
            else:
                states[z] = "Normal"
        all_down = bool(states) and all(s == "FullDisruption" for s in states.values())
        state = states.get(zone, "Normal")
        if state == "PartialDisruption":
            size = sum(counts[zone])
            rate = self.config.secondary_eviction_rate if size > self.config.large_cluster_size_threshold else 0.0
        else:
            rate = self.config.eviction_rate
        return rate, all_down

    def _bucket(self, zone: str, rate: float) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(zone)
            if bucket is None:
                bucket = self._buckets[zone] = TokenBucket(rate, self.clock)
        if bucket.rate != rate:
            bucket.set_rate(rate)
        return bucket

    def _sync_taints(self, node: dict) -> tuple[dict, float | None]:
        spec = node.get("spec") or {}
        ready = ready_status(node)
        no_schedule = set()
        no_execute = set()
        if ready == "False":
            no_schedule.add(NOT_READY)
            no_execute.add(NOT_READY)
        elif ready == "Unknown":
            no_schedule.add(UNREACHABLE)
            no_execute.add(UNREACHABLE)
        for ctype, key in CONDITION_TAINTS.items():
            if (meta.condition(node, ctype) or {}).get("status") == "True":
                no_schedule.add(key)
        if spec.get("unschedulable"):
            no_schedule.add(UNSCHEDULABLE)
        current = [t for t in spec.get("taints") or [] if isinstance(t, dict)]
        have_execute = {t.get("key") for t in current if t.get("effect") == "NoExecute" and
                        t.get("key") in MANAGED_TAINTS}
        wait = None
        desired_execute = set(no_execute)  # before rate limiting
        adding = no_execute - have_execute
        if no_execute:
            rate, all_down = self._zone_rate(zone_of(node))
            if all_down:
                log.info("every node is not ready: assuming a control-plane connectivity problem; no evictions")
                no_execute = set()
            elif adding and not have_execute & {NOT_READY, UNREACHABLE}:
                # A node newly tainted NoExecute needs a token; swapping not-ready for
                # unreachable (or back) on an already tainted node does not, as in Kubernetes.
                wait = self._bucket(zone_of(node), rate).take()
                if wait > 0:
                    no_execute -= adding
                    wait = min(wait, 3600.0)
                else:
                    wait = None
        now = meta.format_time(self.now())
        wanted = [t for t in current if t.get("key") not in MANAGED_TAINTS]
        for key in sorted(no_schedule):
            wanted.append({"key": key, "effect": "NoSchedule"})
        for key in sorted(no_execute):
            old = next((t for t in current if t.get("key") == key and t.get("effect") == "NoExecute"), None)
            wanted.append(old if old else {"key": key, "effect": "NoExecute", "timeAdded": now})
        if _taint_set(wanted) == _taint_set(current):
            return node, wait

        def change(fresh: dict) -> bool:
            fresh_spec = fresh.setdefault("spec", {})
            others = [t for t in fresh_spec.get("taints") or [] if t.get("key") not in MANAGED_TAINTS]
            managed = [t for t in wanted if t.get("key") in MANAGED_TAINTS]
            # The cache may not show a NoExecute taint this controller just added; the rate
            # limiter then refuses to add it "again". A taint still wanted is never removed.
            kept = {(t.get("key"), t.get("effect")) for t in managed}
            managed += [t for t in fresh_spec.get("taints") or [] if t.get("effect") == "NoExecute"
                        and t.get("key") in desired_execute and (t.get("key"), "NoExecute") not in kept]
            new = others + managed
            if _taint_set(new) == _taint_set(fresh_spec.get("taints") or []):
                return False
            if new:
                fresh_spec["taints"] = new
            else:
                fresh_spec.pop("taints", None)
            return True

        updated = self.client.mutate("nodes", meta.name_of(node), "", change)
        if updated is not None:
            log.info("node %s (Ready=%s): taints now %s", meta.name_of(node), ready,
                     ", ".join(f"{t['key']}:{t['effect']}" for t in updated["spec"].get("taints") or []) or "none")
            return updated, wait
        return node, wait

    # --- eviction ---------------------------------------------------------------------------

    def _evict(self, node: dict) -> float | None:
        taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]
        if not taints:
            return None
        now = self.now()
        next_wait: float | None = None
        for pod in self.pods_on(meta.name_of(node)):
            if being_deleted(pod) or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            tolerations = (pod.get("spec") or {}).get("tolerations") or []
            if not untolerated(taints, tolerations, ("NoExecute",)):
                seconds = min_toleration_s(taints, tolerations)
                if seconds is None:
                    continue
                added = [meta.parse_time(t.get("timeAdded")) for t in taints]
                start = max([a for a in added if a] or [now])
                left = (start + dt.timedelta(seconds=seconds) - now).total_seconds()
                if left > 0:
                    next_wait = left if next_wait is None else min(next_wait, left)
                    continue
            self._evict_pod(pod)
        return next_wait

    def _evict_pod(self, pod: dict) -> None:
        key = meta.key_of(pod)
        uid = pod["metadata"].get("uid", "")
        now = meta.format_time(self.now())

        def disruption(fresh: dict) -> bool:
            if fresh["metadata"].get("uid") != uid:
                return False
            return meta.set_condition(fresh.setdefault("status", {}), "DisruptionTarget", "True",
                                      "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint",
                                      now=now)

        try:
            self.client.mutate("pods", meta.name_of(pod), meta.namespace_of(pod), disruption, status=True)
            self.client.delete("pods", meta.name_of(pod), meta.namespace_of(pod), precondition_uid=uid)
        except (errors.NotFound, errors.Conflict):
            return
        self.evictions += 1
        log.info("evicting pod %s from node %s (NoExecute taint)", key, (pod.get("spec") or {}).get("nodeName"))
        self.eviction_recorder.event(pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {key}")

    def stats(self) -> dict:
        return {**super().stats(), "evictions": self.evictions}


def _taint_set(taints: list[dict]) -> set[tuple]:
    return {(t.get("key"), t.get("value") or "", t.get("effect")) for t in taints}
