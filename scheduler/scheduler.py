"""The scheduler: watches for pods without a node, picks the best node, and binds them.

Informer handlers only feed the cache and the queue. One scheduling loop pops a pod key,
re-reads the pod from the informer store, runs the framework over a cache snapshot, assumes
the pod on the chosen node, and hands the bind to a small thread pool so the next pod's
cycle can start at once (kube-scheduler's schedule_one.go). Outcomes are visible to users:
a ``Scheduled`` event on success; on failure a ``FailedScheduling`` event and the pod's
``PodScheduled=False`` condition with reason Unschedulable and kube-scheduler's message
(``0/3 nodes are available: 3 Insufficient cpu.``). The last decision per pod is kept so
``explain`` can show every node's filter verdict and scores.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from machinery import errors, meta
from machinery.client import APIClient
from machinery.events import EventRecorder
from machinery.informer import Handlers, Informer
from scheduler.cache import TERMINAL_PHASES, SchedulerCache
from scheduler.framework import CycleResult, Framework
from scheduler.queue import SchedulingQueue

log = logging.getLogger(__name__)

DEFAULT_SCHEDULER_NAME = "default-scheduler"
# Decisions remembered for `explain` (bounded, oldest dropped first).
MAX_REMEMBERED_DECISIONS = 1000


class Scheduler:
    def __init__(self, client: APIClient, framework: Framework, *, scheduler_name: str = DEFAULT_SCHEDULER_NAME,
                 queue: SchedulingQueue | None = None, bind_workers: int = 16):
        self.client = client
        self.framework = framework
        self.scheduler_name = scheduler_name
        self.queue = queue or SchedulingQueue()
        self.cache = SchedulerCache()
        self.recorder = EventRecorder(client, scheduler_name)
        self.pods = Informer(client, "pods", field_selector="status.phase!=Succeeded,status.phase!=Failed",
                             name="scheduler-pods")
        self.nodes = Informer(client, "nodes", name="scheduler-nodes")
        self.pods.add_handlers(Handlers(self._pod_added, self._pod_updated, self._pod_deleted))
        self.nodes.add_handlers(Handlers(self._node_added, self._node_updated, self._node_deleted))
        self._binder = ThreadPoolExecutor(max_workers=bind_workers, thread_name_prefix="bind")
        self._stop = threading.Event()
        self._decisions: OrderedDict[str, dict] = OrderedDict()
        self._decisions_lock = threading.Lock()
        self.scheduled = 0
        self.failed_attempts = 0

    # --- informer handlers: only cache and queue updates ------------------------------------

    def _responsible_for(self, pod: dict) -> bool:
        spec = pod.get("spec") or {}
        return (not spec.get("nodeName") and spec.get("schedulerName", DEFAULT_SCHEDULER_NAME) == self.scheduler_name
                and not pod["metadata"].get("deletionTimestamp")
                and (pod.get("status") or {}).get("phase") not in TERMINAL_PHASES)

    def _pod_added(self, pod: dict) -> None:
        key = meta.key_of(pod)
        if self._responsible_for(pod):
            self.queue.add(key, _priority(pod))
        else:
            self.queue.remove(key)
            self.cache.update_pod(key, pod)

    def _pod_updated(self, old: dict, pod: dict) -> None:
        key = meta.key_of(pod)
        if self._responsible_for(pod):
            if (old.get("spec"), old["metadata"].get("labels")) != (pod.get("spec"), pod["metadata"].get("labels")):
                self.queue.add(key, _priority(pod))
            return
        self.queue.remove(key)
        self.cache.update_pod(key, pod)
        if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
            self.queue.move_all_to_active()

    def _pod_deleted(self, pod: dict) -> None:
        key = meta.key_of(pod)
        self.queue.remove(key)
        if (pod.get("spec") or {}).get("nodeName"):
            self.cache.remove_pod(key)
            self.queue.move_all_to_active()

    def _node_added(self, node: dict) -> None:
        self.cache.set_node(node)
        self.queue.move_all_to_active()

    def _node_updated(self, old: dict, node: dict) -> None:
        self.cache.set_node(node)
        if _schedulable_view(old) != _schedulable_view(node):
            self.queue.move_all_to_active()

    def _node_deleted(self, node: dict) -> None:
        self.cache.remove_node(node["metadata"]["name"])

    # --- lifecycle ------------------------------------------------------------------------

    def start_informers(self) -> None:
        self.nodes.start()
        self.pods.start()

    def run(self) -> None:
        """Block: schedule pods until stop(). Call after this replica became leader."""
        self.nodes.wait_synced()
        self.pods.wait_synced()
        for pod in self.pods.list():
            self._pod_added(pod)
        log.info("scheduler %s started: %s", self.scheduler_name, self.cache.stats())
        while not self._stop.is_set():
            key = self.queue.pop(timeout_s=1.0)
            if key is None:
                continue
            try:
                self.schedule_one(key)
            except Exception:
                log.exception("scheduling %s failed unexpectedly", key)
                self.queue.backoff(key)

    def stop(self) -> None:
        self._stop.set()
        self.queue.close()
        self.pods.stop()
        self.nodes.stop()
        self._binder.shutdown(wait=False, cancel_futures=True)

    # --- one cycle ------------------------------------------------------------------------

    def schedule_one(self, key: str) -> CycleResult | None:
        pod = self.pods.get(key)
        if pod is None or not self._responsible_for(pod) or self.cache.is_assumed(key):
            return None
        result = self.framework.run(key, pod, self.cache.snapshot())
        self._remember(key, result)
        if not result.selected:
            self.failed_attempts += 1
            self.queue.unschedulable(key)
            message = result.failure_message()
            log.info("unable to schedule %s: %s", key, message)
            self.recorder.event(pod, "Warning", "FailedScheduling", message)
            self._set_unschedulable_condition(pod, message)
            return result
        self.cache.assume(key, pod, result.selected)
        self._binder.submit(self._bind, key, pod, result.selected)
        return result

    def _bind(self, key: str, pod: dict, node_name: str) -> None:
        m = pod["metadata"]
        try:
            self.client.bind(m["namespace"], m["name"], node_name, uid=m.get("uid", ""))
        except errors.NotFound:
            self.cache.forget(key)
            self.queue.remove(key)
            return
        except errors.APIError as e:
            self.cache.forget(key)
            log.warning("binding %s to %s failed: %s", key, node_name, e)
            if not isinstance(e, errors.Conflict):
                self.queue.backoff(key)
            return
        self.scheduled += 1
        self.queue.forget(key)
        log.info("successfully bound %s to %s", key, node_name)
        self.recorder.event(pod, "Normal", "Scheduled", f"Successfully assigned {key} to {node_name}")

    def _set_unschedulable_condition(self, pod: dict, message: str) -> None:
        def change(obj: dict) -> bool:
            if (obj.get("spec") or {}).get("nodeName"):
                return False
            return meta.set_condition(obj.setdefault("status", {}), "PodScheduled", "False", "Unschedulable",
                                      message)

        try:
            self.client.mutate("pods", pod["metadata"]["name"], pod["metadata"]["namespace"], change, status=True)
        except errors.APIError as e:
            log.warning("could not record PodScheduled=False on %s: %s", meta.key_of(pod), e)

    # --- explanation ----------------------------------------------------------------------

    def _remember(self, key: str, result: CycleResult) -> None:
        with self._decisions_lock:
            self._decisions[key] = {"time": meta.format_time(), **result.to_dict()}
            self._decisions.move_to_end(key)
            while len(self._decisions) > MAX_REMEMBERED_DECISIONS:
                self._decisions.popitem(last=False)

    def explain(self, key: str) -> dict | None:
        """The last decision about a pod, or a fresh dry-run cycle if it is still pending."""
        pod = self.pods.get(key)
        if pod is not None and self._responsible_for(pod):
            result = self.framework.run(key, pod, self.cache.snapshot())
            return {"time": meta.format_time(), "dryRun": True, "message": result.failure_message()
                    if not result.selected else "", **result.to_dict()}
        with self._decisions_lock:
            return self._decisions.get(key)

    def stats(self) -> dict:
        return {"queue": self.queue.stats(), "cache": self.cache.stats(), "scheduled": self.scheduled,
                "failedAttempts": self.failed_attempts}


def _priority(pod: dict) -> int:
    value = (pod.get("spec") or {}).get("priority", 0)
    return value if isinstance(value, int) else 0


def _schedulable_view(node: dict) -> tuple:
    """The parts of a node whose change may let a waiting pod fit."""
    status = node.get("status") or {}
    ready = meta.condition(node, "Ready") or {}
    return (status.get("allocatable"), (node.get("spec") or {}).get("taints"),
            (node.get("spec") or {}).get("unschedulable"), node["metadata"].get("labels"), ready.get("status"))
