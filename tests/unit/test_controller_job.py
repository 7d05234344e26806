"""The Job controller against an in-memory API: completions and parallelism, the work-queue
mode, backoffLimit (Never and OnFailure), activeDeadlineSeconds, failure backoff, suspend."""

from __future__ import annotations

import datetime as dt

from controller_manager.job import JobController
from tests.unit.test_controller_common import FakeAPI, drain, fixed_now


def make(api: FakeAPI, now=None, backoff_s: float = 0.0) -> JobController:
    return JobController(api, api.lister("jobs"), api.lister("pods"), now=now or fixed_now(),
                         pod_failure_backoff_s=backoff_s)


def job_body(name: str = "work", restart: str = "Never", **spec) -> dict:
    labels = {"batch.kubernetes.io/job-name": name}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"selector": {"matchLabels": labels}, "parallelism": 1, "completions": 1, "backoffLimit": 6,
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "restartPolicy": restart, "containers": [{"name": "c", "image": "busybox"}]}}, **spec}}


def active(api: FakeAPI) -> list[dict]:
    return [p for p in api.of("pods", "ns") if p["status"].get("phase") in ("Pending", "Running")
            and not p["metadata"].get("deletionTimestamp")]


def finish(api: FakeAPI, pods: list[dict], phase: str) -> None:
    for pod in pods:
        api.set_pod(pod, "ns", node="n1", phase=phase, ready=False, finished_at="2026-01-01T00:00:00Z")


def condition(api: FakeAPI, name: str = "work") -> tuple | None:
    for c in api.get("jobs", name, "ns")["status"].get("conditions") or []:
        if c["type"] in ("Complete", "Failed") and c["status"] == "True":
            return c["type"], c["reason"]
    return None


def test_runs_parallelism_pods_until_completions_succeed():
    api = FakeAPI()
    jc = make(api)
    api.create("jobs", job_body(completions=5, parallelism=2))
    drain(jc)
    assert len(active(api)) == 2
    for _ in range(2):
        finish(api, active(api), "Succeeded")
        drain(jc)
    assert len(active(api)) == 1, "one completion left"
    finish(api, active(api), "Succeeded")
    drain(jc)
    status = api.get("jobs", "work", "ns")["status"]
    assert condition(api) == ("Complete", "CompletionsReached")
    assert status["succeeded"] == 5 and "active" not in status and status["completionTime"]
    assert status["startTime"]
    assert len(active(api)) == 0


def test_work_queue_mode_completes_when_one_succeeded_and_none_active():
    api = FakeAPI()
    jc = make(api)
    body = job_body(parallelism=3)
    del body["spec"]["completions"]
    api.create("jobs", body)
    drain(jc)
    pods = active(api)
    assert len(pods) == 3
    finish(api, pods[:1], "Succeeded")
    drain(jc)
    assert condition(api) is None and len(active(api)) == 2, "no new pods after a success"
    finish(api, pods[1:], "Succeeded")
    drain(jc)
    assert condition(api) == ("Complete", "CompletionsReached")


def test_backoff_limit_exceeded_after_too_many_failed_pods():
    api = FakeAPI()
    jc = make(api)
    api.create("jobs", job_body(backoffLimit=2))
    drain(jc)
    for _ in range(3):
        assert condition(api) is None
        finish(api, active(api), "Failed")
        drain(jc)
    assert condition(api) == ("Failed", "BackoffLimitExceeded")
    assert api.get("jobs", "work", "ns")["status"]["failed"] == 3
    assert active(api) == []


def test_on_failure_restarts_count_towards_the_backoff_limit():
    api = FakeAPI()
    jc = make(api)
    api.create("jobs", job_body(restart="OnFailure", backoffLimit=2))
    drain(jc)
    (pod,) = active(api)
    api.set_pod(pod, "ns", node="n1", phase="Running", restarts=2)
    drain(jc)
    assert condition(api) == ("Failed", "BackoffLimitExceeded")
    assert api.get("pods", pod["metadata"]["name"], "ns")["metadata"].get("deletionTimestamp"), "running pod deleted"


def test_failed_pods_are_replaced_after_an_exponential_backoff():
    now = fixed_now(0)
    api = FakeAPI()
    jc = make(api, now=now, backoff_s=10.0)
    api.create("jobs", job_body())
    drain(jc)
    finish(api, active(api), "Failed")  # finished at BASE_TIME
    retry = jc.reconcile("ns/work")
    assert active(api) == [] and 9 < retry <= 10
    now.box["now"] += dt.timedelta(seconds=11)
    jc.reconcile("ns/work")
    assert len(active(api)) == 1


def test_active_deadline_fails_the_job_and_stops_its_pods():
    now = fixed_now(0)
    api = FakeAPI()
    jc = make(api, now=now)
    api.create("jobs", job_body(activeDeadlineSeconds=30))
    drain(jc)
    assert len(active(api)) == 1
    retry = jc.reconcile("ns/work")
    assert retry is not None and 29 < retry <= 31
    now.box["now"] += dt.timedelta(seconds=31)
    jc.reconcile("ns/work")
    assert condition(api) == ("Failed", "DeadlineExceeded")
    assert active(api) == []


def test_suspend_deletes_active_pods_and_resume_recreates_them():
    api = FakeAPI()
    jc = make(api)
    api.create("jobs", job_body(parallelism=2, completions=2))
    drain(jc)
    api.mutate("jobs", "work", "ns", lambda j: j["spec"].update(suspend=True))
    drain(jc)
    assert active(api) == []
    conds = {c["type"]: c["status"] for c in api.get("jobs", "work", "ns")["status"]["conditions"]}
    assert conds == {"Suspended": "True"}
    for pod in api.of("pods", "ns"):
        api.remove("pods", pod["metadata"]["name"], "ns")
    api.mutate("jobs", "work", "ns", lambda j: j["spec"].update(suspend=False))
    drain(jc)
    assert len(active(api)) == 2
