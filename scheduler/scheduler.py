"""The scheduler: watches for pods without a node, picks the best node, and binds them.

Informer handlers only feed the cache and the queue (and turn what they see into cluster
events that retry unschedulable pods). One scheduling loop pops a pod key, re-reads the pod
from the informer store, runs its profile's framework (by ``spec.schedulerName``) over a cache
snapshot, assumes the pod on the chosen node, runs the Reserve plugins and hands PreBind / Bind
/ PostBind to a small thread pool so the next pod's cycle can start at once (kube-scheduler's
schedule_one.go). A failed bind unreserves, forgets the assumption and backs off.

When no node fits, the PostFilter plugins run (DefaultPreemption may evict lower-priority pods
and nominate a node; pods nominated to a node count there for pods of lower or equal priority
until they are bound). Outcomes are visible to users: a ``Scheduled`` event on success; on
failure a ``FailedScheduling`` event and the pod's ``PodScheduled=False`` condition with reason
Unschedulable and kube-scheduler's message (``0/3 nodes are available: 3 Insufficient cpu.``).
The last decision per pod is kept so :meth:`Scheduler.explain` can show every node's filter
verdict and scores, or dry-run a cycle for a pending pod. Every attempt's outcome and duration
go to ``scheduler_schedule_attempts_total`` / ``scheduler_scheduling_attempt_duration_seconds``
(:mod:`scheduler.metrics`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from machinery import errors, meta
from machinery.client import APIClient
from machinery.events import EventRecorder
from machinery.informer import Handlers, Informer
from scheduler import metrics
from scheduler.cache import TERMINAL_PHASES, SchedulerCache
from scheduler.framework import (
    ASSIGNED_POD_ADD,
    ASSIGNED_POD_DELETE,
    ASSIGNED_POD_UPDATE,
    NODE_ADD,
    NODE_DELETE,
    NODE_UPDATE,
    CycleResult,
    Framework,
    Handle,
    NodeInfo,
    Status,
)
from scheduler.profile import DEFAULT_SCHEDULER_NAME, build_frameworks
from scheduler.queue import SchedulingQueue
from scheduler.snapshot import Snapshot
from scheduler.trace_recorder import SchedulingTracer

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_SCHEDULER_NAME", "MAX_REMEMBERED_DECISIONS", "Scheduler"]

# Threads sending a profile's events: a Scheduled event per pod bound is one API call each.
EVENT_WORKERS = 4
# Decisions remembered for `explain` (bounded, oldest dropped first).
MAX_REMEMBERED_DECISIONS = 1000


class Scheduler:
    """Schedules the pods of one or more profiles (``profiles``: KubeSchedulerConfiguration
    ``profiles[]`` items; or ready ``frameworks`` by schedulerName, for tests)."""

    def __init__(self, client: APIClient, profiles: list[dict] | None = None, *,
                 frameworks: dict[str, Framework] | None = None, queue: SchedulingQueue | None = None,
                 bind_workers: int = 16, identity: str = ""):
        self.client = client
        self.identity = identity
        self.pods = Informer(client, "pods", field_selector="status.phase!=Succeeded,status.phase!=Failed",
                             name="scheduler-pods")
        self.nodes = Informer(client, "nodes", name="scheduler-nodes")
        self.namespaces = Informer(client, "namespaces", name="scheduler-namespaces")
        self.cache = SchedulerCache()
        self.snapshot = Snapshot()  # the scheduling loop's own, updated from the cache before each cycle
        self.recorders: dict[str, EventRecorder] = {}
        self._recorders_lock = threading.Lock()
        self.frameworks = frameworks if frameworks is not None else build_frameworks(profiles or [{}],
                                                                                      self.handle_for)
        if not self.frameworks:
            raise ValueError("a scheduler needs at least one profile")
        self.queue = queue or SchedulingQueue()
        sort = next(iter(self.frameworks.values())).queue_sort
        if sort is not None:
            self.queue.set_less(sort.less)
        self.pods.add_handlers(Handlers(self._pod_added, self._pod_updated, self._pod_deleted))
        self.nodes.add_handlers(Handlers(self._node_added, self._node_updated, self._node_deleted))
        self._binder = ThreadPoolExecutor(max_workers=bind_workers, thread_name_prefix="bind")
        self._stop = threading.Event()
        self._running = threading.Event()
        # pod key -> (time and attempts, the CycleResult without its state, error message)
        self._decisions: OrderedDict[str, tuple[dict, CycleResult, str]] = OrderedDict()
        self._decisions_lock = threading.Lock()
        self._nominated: dict[str, tuple[str, dict]] = {}  # pod key -> (node, pod) awaiting room there
        self._nominated_lock = threading.Lock()
        self.scheduled = 0
        self.failed_attempts = 0
        self.cycles = 0
        self.cycle_seconds = 0.0
        self.tracing = SchedulingTracer()

    @property
    def scheduler_names(self) -> list[str]:
        return list(self.frameworks)

    def handle_for(self, profile: str) -> Handle:
        """The Handle a profile's plugins get: this scheduler's client, recorder and caches."""
        return Handle(client=self.client, recorder=self._recorder(profile), namespace_labels=self._namespace_labels,
                      get_pod=self.pods.get, scheduler_name=profile)

    def _recorder(self, profile: str) -> EventRecorder:
        """The profile's event recorder, made once (its sender threads live as long as the scheduler)."""
        recorder = self.recorders.get(profile)
        if recorder is None:
            with self._recorders_lock:
                recorder = self.recorders.get(profile)
                if recorder is None:
                    recorder = self.recorders[profile] = EventRecorder(self.client, profile, background=True,
                                                                       workers=EVENT_WORKERS)
        return recorder

    def _namespace_labels(self, namespace: str) -> dict | None:
        ns = self.namespaces.get(namespace)
        return ((ns or {}).get("metadata") or {}).get("labels") or {} if ns is not None else None

    def _plugins_for(self, event: str) -> set[str]:
        out: set[str] = set()
        for fw in self.frameworks.values():
            out |= fw.plugins_for_event(event)
        return out

    def _event(self, event: str) -> None:
        """A cluster event: retry the unschedulable pods a plugin interested in it rejected."""
        moved = self.queue.move_all_to_active(event, self._plugins_for(event))
        if moved:
            log.debug("%s: %d unschedulable pod(s) to retry", event, moved)

    # --- informer handlers: only cache and queue updates ------------------------------------

    def _responsible_for(self, pod: dict) -> bool:
        spec = pod.get("spec") or {}
        return (not spec.get("nodeName") and spec.get("schedulerName", DEFAULT_SCHEDULER_NAME) in self.frameworks
                and not pod["metadata"].get("deletionTimestamp")
                and (pod.get("status") or {}).get("phase") not in TERMINAL_PHASES)

    def _track_nomination(self, key: str, pod: dict | None) -> None:
        with self._nominated_lock:
            node = ((pod or {}).get("status") or {}).get("nominatedNodeName")
            if pod is not None and node and not (pod.get("spec") or {}).get("nodeName") and self._responsible_for(pod):
                self._nominated[key] = (node, pod)
            else:
                self._nominated.pop(key, None)

    def _pod_added(self, pod: dict) -> None:
        key = meta.key_of(pod)
        self._track_nomination(key, pod)
        if self._responsible_for(pod):
            if _gated(pod):
                self.queue.remove(key)
            else:
                self.queue.add(key, _priority(pod), pod)
                self.tracing.enqueued(key)
            return
        self.queue.remove(key)
        self.cache.update_pod(key, pod)
        if (pod.get("spec") or {}).get("nodeName"):
            self._event(ASSIGNED_POD_ADD)

    def _pod_updated(self, old: dict, pod: dict) -> None:
        key = meta.key_of(pod)
        self._track_nomination(key, pod)
        if self._responsible_for(pod):
            if _gated(pod):
                self.queue.remove(key)
            elif (old.get("spec"), old["metadata"].get("labels")) != (pod.get("spec"), pod["metadata"].get("labels")):
                self.queue.add(key, _priority(pod), pod)
                self.tracing.enqueued(key)
            return
        self.queue.remove(key)
        self.cache.update_pod(key, pod)
        if not (pod.get("spec") or {}).get("nodeName"):
            return
        if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
            self._event(ASSIGNED_POD_DELETE)  # a finished pod frees its room
        elif not (old.get("spec") or {}).get("nodeName"):
            self._event(ASSIGNED_POD_ADD)
        elif old["metadata"].get("labels") != pod["metadata"].get("labels"):
            self._event(ASSIGNED_POD_UPDATE)

    def _pod_deleted(self, pod: dict) -> None:
        key = meta.key_of(pod)
        self._track_nomination(key, None)
        self.queue.remove(key)
        if (pod.get("spec") or {}).get("nodeName"):
            self.cache.remove_pod(key)
            self._event(ASSIGNED_POD_DELETE)

    def _node_added(self, node: dict) -> None:
        self.cache.set_node(node)
        self._event(NODE_ADD)

    def _node_updated(self, old: dict, node: dict) -> None:
        self.cache.set_node(node)
        if _schedulable_view(old) != _schedulable_view(node):
            self._event(NODE_UPDATE)

    def _node_deleted(self, node: dict) -> None:
        self.cache.remove_node(node["metadata"]["name"])
        self._event(NODE_DELETE)

    # --- lifecycle ------------------------------------------------------------------------

    def start_informers(self) -> None:
        self.namespaces.start()
        self.nodes.start()
        self.pods.start()

    def wait_synced(self, timeout_s: float | None = None) -> bool:
        return all(i.wait_synced(timeout_s) for i in (self.namespaces, self.nodes, self.pods))

    @property
    def running(self) -> bool:
        return self._running.is_set()

    def run(self) -> None:
        """Block: schedule pods until stop(). Call after this replica became leader."""
        self.wait_synced()
        for pod in self.pods.list():
            self._pod_added(pod)
        self._running.set()
        log.info("scheduler started (profiles %s): %s", ", ".join(self.frameworks), self.cache.stats())
        while not self._stop.is_set():
            key = self.queue.pop(timeout_s=1.0)
            if key is not None:
                self.run_cycle(key)

    def run_cycle(self, key: str) -> None:
        """One popped pod: its scheduling cycle, traced; an unexpected failure backs it off."""
        started = time.monotonic()
        try:
            with self.tracing.cycle(key, self.pods.get(key)) as cycle:
                result = self.schedule_one(key)
                cycle.done(result, self._attempts(key) if result is not None else None)
        except Exception:
            log.exception("scheduling %s failed unexpectedly", key)
            self.queue.backoff(key)
            pod = self.pods.get(key) or {}
            metrics.attempt((pod.get("spec") or {}).get("schedulerName", DEFAULT_SCHEDULER_NAME), metrics.ERROR,
                            started)

    def stop(self) -> None:
        self._stop.set()
        self._running.clear()
        self.queue.close()
        for informer in (self.pods, self.nodes, self.namespaces):
            informer.stop()
        self._binder.shutdown(wait=False, cancel_futures=True)

    # --- one cycle ------------------------------------------------------------------------

    def framework_for(self, pod: dict) -> Framework | None:
        return self.frameworks.get((pod.get("spec") or {}).get("schedulerName", DEFAULT_SCHEDULER_NAME))

    def snapshot_for(self, key: str, pod: dict, nodes: list[NodeInfo] | None = None) -> list[NodeInfo]:
        """The nodes for ``pod``'s cycle: ``nodes`` (else the scheduling loop's snapshot, brought
        up to date), with pods nominated elsewhere (of at least this pod's priority) counted on
        their nominated nodes, so preempted room is kept for the preemptor. Those nodes are
        copies: the snapshot itself stays as the cache made it."""
        if nodes is None:
            self.cache.update_snapshot(self.snapshot)
            nodes = self.snapshot.node_list
        with self._nominated_lock:
            if not self._nominated or (len(self._nominated) == 1 and key in self._nominated):
                return nodes
            nominated = [(k, n, p) for k, (n, p) in self._nominated.items() if k != key]
        changed: dict[str, NodeInfo] = {}
        by_name = {n.name: n for n in nodes}
        for other_key, node, other in nominated:
            if node in by_name and _priority(other) >= _priority(pod) and not self.cache.is_assumed(other_key):
                info = changed.get(node)
                if info is None:
                    info = changed[node] = by_name[node].clone()
                info.add_pod(other_key, other)
        return [changed.get(n.name, n) for n in nodes] if changed else nodes

    def schedule_one(self, key: str) -> CycleResult | None:
        pod = self.pods.get(key)
        if pod is None or not self._responsible_for(pod) or _gated(pod):
            self.queue.remove(key)
            return None
        if self.cache.is_assumed(key):
            self.queue.done(key)
            return None
        fw = self.framework_for(pod)
        started = time.monotonic()
        nodes = self.snapshot_for(key, pod)
        result = fw.run(key, pod, nodes)
        self.cycles += 1
        if not result.selected:
            self._post_filter(fw, pod, result, nodes)
            self.cycle_seconds += time.monotonic() - started
            self._failed(fw, key, pod, result)
            metrics.attempt(fw.name, metrics.UNSCHEDULABLE, started)
            return result
        self.cache.assume(key, pod, result.selected)
        status = fw.run_reserve(pod, result.selected, result.state)
        self.cycle_seconds += time.monotonic() - started
        if not status.ok:
            self.cache.forget(key)
            self._remember(key, result, error=f"running Reserve plugin {status.plugin}: {status.message}")
            self.failed_attempts += 1
            self._recorder(fw.name).event(pod, "Warning", "FailedScheduling",
                                          f"running Reserve plugin {status.plugin}: {status.message}")
            self.queue.backoff(key)
            metrics.attempt(fw.name, metrics.ERROR, started)
            return result
        self.queue.done(key)
        self._remember(key, result)
        self._binder.submit(self.tracing.binding(self._bind, pod, result.selected), fw, key, pod, result, started)
        return result

    def _post_filter(self, fw: Framework, pod: dict, result: CycleResult, nodes: list[NodeInfo]) -> None:
        if not fw.post_filters or not nodes:
            return
        nominated, status = fw.run_post_filters(pod, result, nodes)
        if status.ok and nominated:
            result.nominated_node = nominated
            key = meta.key_of(pod)
            with self._nominated_lock:
                self._nominated[key] = (nominated, pod)
        elif status.reasons:
            result.post_filter_message = status.message

    def _failed(self, fw: Framework, key: str, pod: dict, result: CycleResult) -> None:
        self.failed_attempts += 1
        self._remember(key, result)
        message = result.failure_message()
        log.info("unable to schedule %s: %s", key, message)
        self._recorder(fw.name).event(pod, "Warning", "FailedScheduling", message)
        self._set_unschedulable(pod, message, result.nominated_node)
        self.queue.unschedulable(key, result.unschedulable_plugins)

    def _bind(self, fw: Framework, key: str, pod: dict, result: CycleResult, started: float | None = None) -> Status:
        node_name, state = result.selected, result.state
        status = fw.run_pre_bind(pod, node_name, state)
        if status.ok:
            status = fw.run_bind(pod, node_name, state)
        metrics.attempt(fw.name, metrics.SCHEDULED if status.ok else metrics.ERROR,
                        time.monotonic() if started is None else started)
        if not status.ok:
            fw.run_unreserve(pod, node_name, state)
            self.cache.forget(key)
            cause = status.cause
            if isinstance(cause, errors.NotFound):
                self.queue.remove(key)
                return status
            log.warning("binding %s to %s failed: %s", key, node_name, status.message)
            if not isinstance(cause, errors.Conflict):  # Conflict: bound already; the informer will show it
                self._recorder(fw.name).event(pod, "Warning", "FailedScheduling",
                                              f"Binding rejected: {cause or status.message}")
                self.queue.backoff(key)
            return status
        self.cache.finish_binding(key)
        self.scheduled += 1
        self.queue.forget(key)
        fw.run_post_bind(pod, node_name, state)
        log.info("successfully bound %s to %s", key, node_name)
        self._recorder(fw.name).event(pod, "Normal", "Scheduled", f"Successfully assigned {key} to {node_name}")
        return status

    def _set_unschedulable(self, pod: dict, message: str, nominated: str) -> None:
        def change(obj: dict) -> bool:
            if (obj.get("spec") or {}).get("nodeName"):
                return False
            status = obj.setdefault("status", {})
            changed = meta.set_condition(status, "PodScheduled", "False", "Unschedulable", message)
            if nominated and status.get("nominatedNodeName") != nominated:
                status["nominatedNodeName"] = nominated
                changed = True
            return changed

        try:
            self.client.mutate("pods", pod["metadata"]["name"], pod["metadata"]["namespace"], change, status=True)
        except errors.APIError as e:
            log.warning("could not record PodScheduled=False on %s: %s", meta.key_of(pod), e)

    # --- explanation ----------------------------------------------------------------------

    def _remember(self, key: str, result: CycleResult, *, error: str = "") -> None:
        """Keep the decision; it is turned into its dict only when someone asks (explain, a trace)."""
        info = self.queue.info(key)
        extra: dict = {"time": meta.format_time(), "dryRun": False}
        if info is not None:
            extra["attempts"] = info.attempts + (0 if result.selected else 1)
        decision = (extra, replace(result, state=None), error)
        with self._decisions_lock:
            self._decisions[key] = decision
            self._decisions.move_to_end(key)
            while len(self._decisions) > MAX_REMEMBERED_DECISIONS:
                self._decisions.popitem(last=False)

    def _attempts(self, key: str) -> int | None:
        with self._decisions_lock:
            decision = self._decisions.get(key)
        return decision[0].get("attempts") if decision is not None else None

    def last_decision(self, key: str) -> dict | None:
        """The last decision recorded for ``key``, as explain-schedule shows it."""
        with self._decisions_lock:
            decision = self._decisions.get(key)
        if decision is None:
            return None
        extra, result, error = decision
        record = {**extra, **result.to_dict()}
        if error:
            record["message"] = error
        return record

    def explain(self, key: str, *, last_only: bool = False) -> dict | None:
        """A fresh dry-run cycle for a pending pod of ours (with the last real decision attached),
        else the last decision recorded for it; None when neither exists."""
        pod = self.pods.get(key)
        last = self.last_decision(key)
        # An assumed pod is placed already (its bind is in flight): its decision is the answer.
        if pod is None or last_only or not self._responsible_for(pod) or self.cache.is_assumed(key):
            if last is None and pod is not None and (pod.get("spec") or {}).get("nodeName"):
                return {"pod": key, "selected": pod["spec"]["nodeName"], "nodes": [], "weights": {},
                        "message": "bound before this scheduler replica started: no decision recorded"}
            return last
        if _gated(pod):
            gates = [g.get("name") for g in pod["spec"]["schedulingGates"] if isinstance(g, dict)]
            return {"pod": key, "nodes": [], "weights": {}, "selected": "",
                    "message": f"waiting for scheduling gates: {', '.join(map(str, gates))}"}
        fw = self.framework_for(pod)
        result = fw.run(key, pod, self.snapshot_for(key, pod, self.cache.snapshot()), all_nodes=True)
        out = {"time": meta.format_time(), "dryRun": True, **result.to_dict()}
        if last is not None:
            out["lastDecision"] = {k: last[k] for k in ("time", "selected", "message", "attempts", "nominatedNode")
                                   if k in last}
        return out

    def pending_counts(self) -> dict:
        """Pending pods per queue, with the gated ones (``spec.schedulingGates``) the queue never holds."""
        gated = sum(1 for pod in self.pods.list() if _gated(pod) and self._responsible_for(pod))
        return {**self.queue.stats(), "gated": gated}

    def stats(self) -> dict:
        return {"profiles": {name: fw.describe() for name, fw in self.frameworks.items()},
                "queue": self.queue.stats(), "cache": self.cache.stats(), "scheduled": self.scheduled,
                "failedAttempts": self.failed_attempts, "cycles": self.cycles,
                "meanCycleMs": round(1000 * self.cycle_seconds / self.cycles, 3) if self.cycles else 0.0,
                "nominated": len(self._nominated)}


def _priority(pod: dict) -> int:
    value = (pod.get("spec") or {}).get("priority", 0)
    return value if isinstance(value, int) else 0


def _gated(pod: dict) -> bool:
    """``spec.schedulingGates``: the pod is not ready to be scheduled until they are all removed."""
    return bool((pod.get("spec") or {}).get("schedulingGates"))


def _schedulable_view(node: dict) -> tuple:
    """The parts of a node whose change may let a waiting pod fit."""
    status = node.get("status") or {}
    ready = meta.condition(node, "Ready") or {}
    return (status.get("allocatable"), (node.get("spec") or {}).get("taints"),
            (node.get("spec") or {}).get("unschedulable"), node["metadata"].get("labels"), ready.get("status"),
            status.get("images"))
