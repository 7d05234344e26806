"""Liveness, readiness and startup probes: one worker per probe of a running container.

As in the kubelet's ``prober`` package, each probe of each running container has its own worker
(a thread here, a goroutine there) that waits ``initialDelaySeconds`` after the container
started, then probes every ``periodSeconds`` with ``timeoutSeconds``, and flips its result only
after ``successThreshold`` consecutive successes or ``failureThreshold`` consecutive failures.
Defaults are Kubernetes': period 10 s, timeout 1 s, success 1, failure 3.

- **startup**: until it succeeds the other two probes do not run and the container is not
  ``started``; when it fails ``failureThreshold`` times the container is killed and restarted.
- **liveness**: when it fails ``failureThreshold`` times the kubelet kills the container
  (``Killing``: "failed liveness probe, will be restarted") and its restartPolicy applies.
- **readiness**: drives the container's ``ready`` and so the pod's ``ContainersReady``/``Ready``;
  a container with a readiness probe is not ready until the probe first passes.

Every failed attempt records a ``Warning Unhealthy`` event ("Liveness probe failed: …").
Workers only record results and call ``on_change(pod key)``; acting on them (killing, status)
is the pod worker's job, so a probe thread never races a sync. A worker belongs to one run of
a container (its restart count and start time): a restarted container gets fresh workers. The
number of threads is bounded by three per container.
"""

from __future__ import annotations

import calendar
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kubelet import handlers
from kubelet.runtime.base import ContainerRuntime, ContainerState, PodSandbox

log = logging.getLogger(__name__)

KINDS = ("startup", "liveness", "readiness")
_FIELD = {"startup": "startupProbe", "liveness": "livenessProbe", "readiness": "readinessProbe"}
_TITLE = {"startup": "Startup", "liveness": "Liveness", "readiness": "Readiness"}


@dataclass(frozen=True)
class ProbeSpec:
    handler: dict
    initial_delay_s: float = 0.0
    period_s: float = 10.0
    timeout_s: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3
    termination_grace_s: int | None = None

    @classmethod
    def parse(cls, raw: dict, kind: str) -> ProbeSpec:
        def num(key: str, default: float, minimum: float) -> float:
            value = raw.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return default
            return max(minimum, float(value))

        success = int(num("successThreshold", 1, 1))
        grace = raw.get("terminationGracePeriodSeconds")
        return cls(handler=raw, initial_delay_s=num("initialDelaySeconds", 0, 0), period_s=num("periodSeconds", 10, 1),
                   timeout_s=num("timeoutSeconds", 1, 1),
                   success_threshold=1 if kind != "readiness" else success,  # must be 1 for liveness/startup
                   failure_threshold=int(num("failureThreshold", 3, 1)),
                   termination_grace_s=grace if isinstance(grace, int) and not isinstance(grace, bool) else None)


def instance_of(state: ContainerState) -> tuple[int, str]:
    """One run of a container: its restart count and start time."""
    return (state.restart_count, state.started_at or "")


@dataclass
class _Worker:
    key: str
    uid: str
    container: dict
    kind: str
    spec: ProbeSpec
    instance: tuple[int, str]
    sandbox: PodSandbox
    pod: dict
    stop: threading.Event = field(default_factory=threading.Event)
    result: bool | None = None  # None until the threshold is first reached
    message: str = ""
    successes: int = 0
    failures: int = 0
    on_hold: bool = False  # after a fatal liveness/startup failure: wait for the restart


class ProbeManager:
    """Probe workers of the pods on this node, and their latest results."""

    def __init__(self, runtime: ContainerRuntime, *, on_change: Callable[[str], None],
                 event: Callable[[dict, str, str, str], None], clock: Callable[[], float] = time.time):
        self.runtime = runtime
        self.on_change = on_change
        self.event = event
        self._clock = clock
        self._workers: dict[tuple[str, str, str], _Worker] = {}
        self._lock = threading.Lock()

    # -- driven by the pod worker ------------------------------------------------------------------

    def sync(self, pod: dict, sandbox: PodSandbox, container: dict, state: ContainerState) -> None:
        """Make the probe workers of one container match its current run (none unless running)."""
        uid = pod["metadata"]["uid"]
        name = container["name"]
        for kind in KINDS:
            raw = container.get(_FIELD[kind])
            wkey = (uid, name, kind)
            with self._lock:
                worker = self._workers.get(wkey)
            wanted = isinstance(raw, dict) and state.state == "running"
            if worker is not None and (not wanted or worker.instance != instance_of(state)):
                self._stop(wkey)
                worker = None
            if wanted and worker is None:
                worker = _Worker(f"{pod['metadata']['namespace']}/{pod['metadata']['name']}", uid, container, kind,
                                 ProbeSpec.parse(raw, kind), instance_of(state), sandbox, pod)
                worker.result = _reported(pod, name, state, kind)
                with self._lock:
                    self._workers[wkey] = worker
                threading.Thread(target=self._run, args=(worker,), daemon=True,
                                 name=f"probe-{kind}-{name}").start()

    def forget_pod(self, uid: str) -> None:
        with self._lock:
            keys = [k for k in self._workers if k[0] == uid]
        for key in keys:
            self._stop(key)

    def stop_all(self) -> None:
        with self._lock:
            keys = list(self._workers)
        for key in keys:
            self._stop(key)

    def _stop(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            worker = self._workers.pop(key, None)
        if worker is not None:
            worker.stop.set()

    # -- results ---------------------------------------------------------------------------------

    def _get(self, uid: str, name: str, kind: str) -> _Worker | None:
        with self._lock:
            return self._workers.get((uid, name, kind))

    def started(self, uid: str, name: str, container: dict) -> bool:
        """Whether the startup probe passed (true without one)."""
        if not isinstance(container.get("startupProbe"), dict):
            return True
        worker = self._get(uid, name, "startup")
        return worker is not None and worker.result is True

    def ready(self, uid: str, name: str, container: dict) -> bool:
        """Whether the readiness probe passes (true without one, once started)."""
        if not self.started(uid, name, container):
            return False
        if not isinstance(container.get("readinessProbe"), dict):
            return True
        worker = self._get(uid, name, "readiness")
        return worker is not None and worker.result is True

    def fatal(self, uid: str, name: str, state: ContainerState) -> tuple[str, ProbeSpec] | None:
        """``(kind, spec)`` when this run's liveness or startup probe failed for good (kill it)."""
        for kind in ("startup", "liveness"):
            worker = self._get(uid, name, kind)
            if worker is not None and worker.result is False and worker.instance == instance_of(state):
                return kind, worker.spec
        return None

    def summary(self) -> dict:
        with self._lock:
            workers = list(self._workers.values())
        return {f"{w.key}/{w.container['name']}/{w.kind}": w.result for w in workers}

    # -- the worker ------------------------------------------------------------------------------

    def _run(self, w: _Worker) -> None:
        started = _epoch(w.instance[1]) or self._clock()
        delay = w.spec.initial_delay_s - (self._clock() - started)
        if delay > 0 and w.stop.wait(delay):
            return
        while not w.stop.is_set():
            if not w.on_hold and self._may_probe(w):
                self._probe_once(w)
            if w.stop.wait(w.spec.period_s):
                return

    def _may_probe(self, w: _Worker) -> bool:
        """Liveness and readiness wait for the startup probe to pass."""
        if w.kind == "startup":
            return w.result is not True  # once started, the startup probe is done
        return self.started(w.uid, w.container["name"], w.container)

    def _probe_once(self, w: _Worker) -> None:
        verdict = self.runtime.probe(w.sandbox, w.container["name"], w.kind)
        if verdict is None:
            outcome = handlers.run(w.spec.handler, runtime=self.runtime, sandbox=w.sandbox, container=w.container,
                                   timeout_s=w.spec.timeout_s, stop=w.stop)
        else:
            outcome = handlers.Result(verdict, "" if verdict else "simulated probe failure")
        if w.stop.is_set():
            return
        if outcome.ok:
            w.successes, w.failures = w.successes + 1, 0
        else:
            w.failures, w.successes = w.failures + 1, 0
            self.event(w.pod, "Warning", "Unhealthy", f"{_TITLE[w.kind]} probe failed: {outcome.message}".rstrip())
        changed = False
        if outcome.ok and w.successes >= w.spec.success_threshold and w.result is not True:
            w.result, changed = True, True
        elif not outcome.ok and w.failures >= w.spec.failure_threshold and w.result is not False:
            w.result, w.message, changed = False, outcome.message, True
            if w.kind != "readiness":
                w.on_hold = True  # the kubelet kills this run; its successor gets a new worker
        if changed:
            log.info("%s probe of %s/%s: %s", w.kind, w.key, w.container["name"],
                     "success" if w.result else f"failure ({w.message})")
            self.on_change(w.key)


def _reported(pod: dict, name: str, state: ContainerState, kind: str) -> bool | None:
    """A restarted kubelet keeps what the API says about the same run (same containerID): a ready
    container stays ready until its probe says otherwise, instead of flapping to not ready."""
    if kind == "liveness":
        return None
    uid = pod["metadata"].get("uid", "")
    want = f"kubemu://{uid}/{name}/{state.restart_count}"
    status = pod.get("status") or {}
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if isinstance(cs, dict) and cs.get("name") == name and cs.get("containerID") == want:
            flag = cs.get("ready") if kind == "readiness" else cs.get("started")
            return True if flag is True else None
    return None


def _epoch(rfc3339: str) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ")))
    except (TypeError, ValueError):
        return None
