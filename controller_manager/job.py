"""The Job controller: run pods until enough of them succeed.

``reconcile`` follows kube-controller-manager's syncJob for NonIndexed jobs:

- claim the job's pods (the apiserver gives every Job a ``batch.kubernetes.io/job-name``
  selector and template label unless ``manualSelector`` is set);
- succeeded / failed: pods that reached that phase (never fewer than the status already
  says, so deleting a finished pod does not undo progress);
- **Failed** (condition Failed=True) with reason ``BackoffLimitExceeded`` once more pods failed
  than ``backoffLimit`` (default 6) — for ``restartPolicy: OnFailure`` the container restarts
  of running pods count too — or ``DeadlineExceeded`` after ``activeDeadlineSeconds``; the
  active pods are then deleted;
- **Complete** (condition Complete=True, ``completionTime``) once ``completions`` pods
  succeeded; without ``completions`` (a work queue), once one succeeded and none is active;
- otherwise keep ``min(parallelism, completions - succeeded)`` pods active (creation in
  slow-start batches, behind expectations like the ReplicaSet controller), waiting after
  failures with an exponential backoff (``pod_failure_backoff_s`` doubling, capped at 6 min as
  in Kubernetes);
- ``suspend: true`` deletes the active pods and sets Suspended=True.

Not done: Indexed completion mode, pod failure policies, success policies, the
``batch.kubernetes.io/job-tracking`` finalizer (counting is from the pods still present and the
previous status), ``ttlSecondsAfterFinished``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from controller_manager.common import (
    BURST_REPLICAS,
    Expectations,
    Lister,
    claim,
    deletion_order,
    is_pod_active,
    is_pod_ready,
    namespace_terminating,
    pod_from_template,
    pod_phase,
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

KIND = "Job"
DEFAULT_BACKOFF_LIMIT = 6
MAX_POD_BACKOFF_S = 360.0


def finished_condition(job: dict) -> dict | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond
    return None


def _restarts(pod: dict) -> int:
    status = pod.get("status") or {}
    return sum(int(s.get("restartCount") or 0) for s in (status.get("initContainerStatuses") or []) +
               (status.get("containerStatuses") or []) if isinstance(s, dict))


def _finished_at(pod: dict) -> dt.datetime | None:
    times = []
    for s in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = ((s or {}).get("state") or {}).get("terminated") or {}
        parsed = meta.parse_time(terminated.get("finishedAt"))
        if parsed:
            times.append(parsed)
    return max(times) if times else None


def _set_condition(status: dict, ctype: str, value: str, reason: str, message: str, now: str) -> None:
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    old = next((c for c in status.get("conditions") or [] if c.get("type") == ctype), None)
    transition = old.get("lastTransitionTime", now) if old and old.get("status") == value else now
    conditions.append({"type": ctype, "status": value, "lastProbeTime": now, "lastTransitionTime": transition,
                       "reason": reason, "message": message})
    status["conditions"] = conditions


class JobController(OwnedPodHandlers, Controller):
    name = "job"
    owner_kind = KIND

    def __init__(self, client: APIClient, jobs: Lister, pods: Lister, *, workers: int = 5,
                 pod_failure_backoff_s: float = 10.0, now: Callable[[], dt.datetime] = meta.utcnow):
        super().__init__(client, workers=workers)
        self.jobs = self.owners = jobs
        self.pods = pods
        self.informers = [jobs.informer, pods.informer]
        self.expectations = Expectations()
        self.pod_failure_backoff_s = pod_failure_backoff_s
        self.now = now
        self.recorder = EventRecorder(client, "job-controller")
        jobs.add_handlers(Handlers(self._job_changed, lambda old, new: self._job_changed(new), self._job_deleted))
        pods.add_handlers(Handlers(self._pod_added, self._pod_updated, self._pod_deleted))

    # --- handlers ---------------------------------------------------------------------------

    def _job_changed(self, job: dict) -> None:
        self.enqueue(meta.key_of(job))

    def _job_deleted(self, job: dict) -> None:
        self.expectations.forget(meta.key_of(job))

    # --- reconcile --------------------------------------------------------------------------

    def reconcile(self, key: str) -> float | None:
        job = self.jobs.get(key)
        if job is None:
            self.expectations.forget(key)
            return None
        if finished_condition(job) is not None:
            return None
        spec = job.get("spec") or {}
        pods = claim(self.client, "pods", job, self.pods.list(meta.namespace_of(job)), selector_of(job),
                     owner_resource="jobs")
        now_dt = self.now()
        now = meta.format_time(now_dt)
        old = job.get("status") or {}
        status = meta.deep_copy(old)
        active = [p for p in pods if is_pod_active(p)]
        failed_pods = [p for p in pods if pod_phase(p) == "Failed"]
        succeeded = max(int(old.get("succeeded") or 0), sum(1 for p in pods if pod_phase(p) == "Succeeded"))
        failed = max(int(old.get("failed") or 0), len(failed_pods))
        if not spec.get("suspend") and not status.get("startTime"):
            status["startTime"] = now
        completions = spec.get("completions")
        parallelism = spec.get("parallelism") if isinstance(spec.get("parallelism"), int) else 1
        backoff_limit = spec.get("backoffLimit") if isinstance(spec.get("backoffLimit"), int) \
            else DEFAULT_BACKOFF_LIMIT
        retry: float | None = None
        error: Exception | None = None
        failure = self._failure(job, spec, active, failed, backoff_limit, status, now_dt)
        complete = succeeded >= completions if isinstance(completions, int) else (succeeded > 0 and not active)
        if failure is not None:
            reason, message = failure
            error = self._delete_pods(key, job, active)
            active = []
            _set_condition(status, "Failed", "True", reason, message, now)
            self.recorder.event(job, "Warning", reason, message)
            log.info("job %s failed: %s", key, message)
        elif complete:
            error = self._delete_pods(key, job, active)
            active = []
            _set_condition(status, "Complete", "True", "CompletionsReached",
                           "Reached expected number of succeeded pods", now)
            status["completionTime"] = now
            self.recorder.event(job, "Normal", "Completed", "Job completed")
            log.info("job %s completed", key)
        elif spec.get("suspend"):
            error = self._delete_pods(key, job, active)
            active = []
            _set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", now)
        else:
            if any(c.get("type") == "Suspended" and c.get("status") == "True" for c in status.get("conditions") or []):
                _set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", now)
            if self.expectations.satisfied(key):
                if isinstance(completions, int):
                    want = max(0, min(parallelism, completions - succeeded))
                else:
                    want = len(active) if succeeded > 0 else parallelism
                try:
                    active, retry = self._manage(key, job, active, failed_pods, failed, want, now_dt)
                except errors.APIError as e:
                    error = e
            deadline = spec.get("activeDeadlineSeconds")
            start = meta.parse_time(status.get("startTime"))
            if isinstance(deadline, int) and start is not None:
                left = (start + dt.timedelta(seconds=deadline) - now_dt).total_seconds() + 0.5
                retry = left if retry is None else min(retry, left)
        status["active"] = len(active)
        status["ready"] = sum(1 for p in active if is_pod_ready(p))
        status["succeeded"] = succeeded
        status["failed"] = failed
        for field in ("active", "succeeded", "failed"):
            if not status[field]:
                status.pop(field)
        write_status(self.client, "jobs", job, status)
        if error is not None:
            raise error
        return retry

    def _failure(self, job: dict, spec: dict, active: list[dict], failed: int, backoff_limit: int, status: dict,
                 now: dt.datetime) -> tuple[str, str] | None:
        on_failure = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") == "OnFailure"
        restarts = sum(_restarts(p) for p in active if pod_phase(p) in ("Running", "Pending")) if on_failure else 0
        past_on_failure = on_failure and (restarts > 0 if backoff_limit == 0 else restarts >= backoff_limit)
        if failed > backoff_limit or past_on_failure:
            return "BackoffLimitExceeded", "Job has reached the specified backoff limit"
        deadline = spec.get("activeDeadlineSeconds")
        start = meta.parse_time(status.get("startTime"))
        if isinstance(deadline, int) and start is not None and now >= start + dt.timedelta(seconds=deadline):
            return "DeadlineExceeded", "Job was active longer than specified deadline"
        return None

    def _manage(self, key: str, job: dict, active: list[dict], failed_pods: list[dict], failed: int, want: int,
                now: dt.datetime) -> tuple[list[dict], float | None]:
        if len(active) > want:
            victims = deletion_order(active)[:min(len(active) - want, BURST_REPLICAS)]
            error = self._delete_pods(key, job, victims)
            if error is not None:
                raise error
            gone = {p["metadata"]["uid"] for p in victims}
            return [p for p in active if p["metadata"]["uid"] not in gone], None
        need = min(want - len(active), BURST_REPLICAS)
        if need <= 0:
            return active, None
        if failed:
            times = [t for t in (_finished_at(p) for p in failed_pods) if t]
            last = max(times) if times else None
            delay = min(self.pod_failure_backoff_s * 2 ** min(failed - 1, 30), MAX_POD_BACKOFF_S)
            if last is not None:
                left = (last + dt.timedelta(seconds=delay) - now).total_seconds()
                if left > 0:
                    return active, left
        self.expectations.expect_creations(key, need)
        template = (job.get("spec") or {}).get("template") or {}

        def create_one() -> dict:
            try:
                created = self.client.create("pods", pod_from_template(template, job), meta.namespace_of(job))
            except errors.APIError as e:
                self.recorder.event(job, "Warning", "FailedCreate", f"Error creating: {e}")
                raise
            self.recorder.event(job, "Normal", "SuccessfulCreate", f"Created pod: {meta.name_of(created)}")
            return created

        reason = f"{len(active)} active pods, want {want}: creating {need}"
        successes, error = slow_start_batch(need, creating_pods(create_one, self.name, job, reason))
        if need - successes:
            self.expectations.creation_observed(key, need - successes)
        if error is not None and not namespace_terminating(error):
            raise error
        return active, None

    def _delete_pods(self, key: str, job: dict, pods: list[dict]) -> Exception | None:
        if not pods:
            return None
        self.expectations.expect_deletions(key, [meta.key_of(p) for p in pods])
        first_error = None
        for pod in pods:
            try:
                self.client.delete("pods", meta.name_of(pod), meta.namespace_of(pod),
                                   precondition_uid=pod["metadata"].get("uid", ""))
                self.recorder.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {meta.name_of(pod)}")
            except (errors.NotFound, errors.Conflict):
                self.expectations.deletion_observed(key, meta.key_of(pod))
            except errors.APIError as e:
                self.expectations.deletion_observed(key, meta.key_of(pod))
                first_error = first_error or e
        return first_error
