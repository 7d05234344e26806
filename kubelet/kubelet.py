"""The kubelet's pod loop: make the pods bound to this node run, and report how they are.

Pods come from an informer restricted to ``spec.nodeName=<this node>`` (a kubelet never sees
other nodes' pods). Handlers only enqueue pod keys; worker threads run :meth:`Kubelet.sync`
for one key at a time (the work queue never runs one key twice at once), which converges the
runtime towards the pod:

1. a pod the API no longer has, or has under a new uid: stop its containers, free its IP;
2. a pod being deleted: stop the containers within its grace period, then confirm the
   deletion to the API (delete with grace 0 and the uid as precondition);
3. otherwise: sandbox with a pod IP from the node's CIDR (host-local IPAM) → pull each image
   (events Pulling/Pulled) → create and start each container (Created/Started) → restart
   exited containers per ``restartPolicy`` with CrashLoopBackOff backoff → write the status.

A relist loop (the PLEG) polls the runtime every ``pleg_period_s`` and enqueues pods whose
containers changed state, so exits and crashes are noticed without any API event. Status is
written only when it differs from what the API has.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field

from kubelet.ipam import HostLocalIPAM, IPAMError
from kubelet.pod_status import Waiting, build_status, will_restart
from kubelet.runtime.base import ContainerRuntime, ContainerSpec, ContainerState, ImagePullError, PodSandbox
from machinery import errors, meta
from machinery.client import APIClient
from machinery.events import EventRecorder
from machinery.informer import Handlers, Informer
from machinery.workqueue import ShutDown, WorkQueue

log = logging.getLogger(__name__)


@dataclass
class KubeletTimings:
    """Durations in seconds; Kubernetes' defaults, shortened by flags for tests."""

    # crash_backoff_s: first restart delay of a crashed container, doubling per crash …
    crash_backoff_s: float = 10.0
    # … up to crash_backoff_max_s (Kubernetes: 10 s doubling to 5 min).
    crash_backoff_max_s: float = 300.0
    # image_pull_backoff_s: first retry delay after a failed pull, doubling to crash_backoff_max_s.
    image_pull_backoff_s: float = 10.0
    # pleg_period_s: how often container states are polled (Kubernetes' PLEG relist: 1 s).
    pleg_period_s: float = 1.0
    # resync_s: every pod is synced at least this often even with no event (Kubernetes: 1 min).
    resync_s: float = 60.0


@dataclass
class PodRecord:
    """What the kubelet remembers about one pod instance (by uid) between syncs."""

    uid: str
    key: str
    sandbox: PodSandbox | None = None
    start_time: str = ""
    pod: dict | None = None
    waiting: dict[str, Waiting] = field(default_factory=dict)
    last_states: dict[str, ContainerState] = field(default_factory=dict)
    retry_at: dict[str, float] = field(default_factory=dict)
    backoff_s: dict[str, float] = field(default_factory=dict)
    pulled: set[str] = field(default_factory=set)
    seen_states: tuple = ()


class Kubelet:
    def __init__(self, client: APIClient, runtime: ContainerRuntime, node_name: str, node_ip: str, *,
                 ipam_dir: str, pod_cidr_source, timings: KubeletTimings | None = None, workers: int = 8):
        self.client = client
        self.runtime = runtime
        self.node_name = node_name
        self.node_ip = node_ip
        self.timings = timings or KubeletTimings()
        self._ipam_dir = ipam_dir
        self._pod_cidr_source = pod_cidr_source  # callable -> current pod CIDR ("" while unknown)
        self._ipam: HostLocalIPAM | None = None
        self.recorder = EventRecorder(client, "kubelet", node_name)
        self.pods = Informer(client, "pods", field_selector=f"spec.nodeName={node_name}", name="kubelet-pods")
        self.pods.add_handlers(Handlers(self._enqueue, lambda old, new: self._enqueue(new), self._enqueue))
        self.queue = WorkQueue("kubelet-pods", base_delay_s=0.2, max_delay_s=30)
        self.workers = workers
        self._records: dict[str, PodRecord] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        for sandbox in self.runtime.list_sandboxes():
            key = f"{sandbox.namespace}/{sandbox.name}"
            self._records[sandbox.uid] = PodRecord(sandbox.uid, key, sandbox, meta.format_time())
            log.info("found sandbox of %s (uid %s, ip %s) from an earlier run", key, sandbox.uid, sandbox.ip)
        self.pods.start()
        self.pods.wait_synced()
        for record in list(self._records.values()):
            self.queue.add(record.key)
        for i in range(self.workers):
            self._spawn(self._worker, f"pod-worker-{i}")
        self._spawn(self._pleg_loop, "pleg")

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, daemon=True, name=name)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Stop syncing. Containers keep running, as when a real kubelet stops."""
        self._stop.set()
        self.queue.shutdown()
        self.pods.stop()

    def _enqueue(self, pod: dict) -> None:
        self.queue.add(meta.key_of(pod))

    def _worker(self) -> None:
        while not self._stop.is_set():
            try:
                key = self.queue.get()
            except ShutDown:
                return
            try:
                retry_in = self.sync(key)
                self.queue.forget(key)
                if retry_in is not None:
                    self.queue.add_after(key, retry_in)
            except errors.APIError as e:
                log.warning("sync of %s failed: %s; retrying", key, e)
                self.queue.add_rate_limited(key)
            except Exception:
                log.exception("sync of %s failed unexpectedly; retrying", key)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    def _pleg_loop(self) -> None:
        """Poll container states; enqueue pods whose containers changed (exit, crash, start)."""
        last_resync = time.monotonic()
        while not self._stop.wait(self.timings.pleg_period_s):
            resync = time.monotonic() - last_resync >= self.timings.resync_s
            with self._lock:
                records = list(self._records.values())
            for record in records:
                if record.sandbox is None:
                    continue
                try:
                    states = tuple((s.name, s.state, s.restart_count, s.exit_code)
                                   for s in self.runtime.list_containers(record.sandbox))
                except Exception:  # noqa: BLE001 - a vanished sandbox dir must not stop the loop
                    continue
                if states != record.seen_states or resync:
                    record.seen_states = states
                    self.queue.add(record.key)
            if resync:
                last_resync = time.monotonic()

    # --- sync -----------------------------------------------------------------------------

    def sync(self, key: str) -> float | None:
        """Converge one pod key; returns seconds until it must be synced again, if any."""
        pod = self.pods.get(key)
        uid = pod["metadata"].get("uid") if pod else None
        with self._lock:
            stale = [r for r in self._records.values() if r.key == key and r.uid != uid]
        for record in stale:
            self._teardown(record, _grace_of(record.pod) if record.pod else 2, reason="pod no longer exists")
        if pod is None:
            return None
        if pod["metadata"].get("deletionTimestamp"):
            self._terminate(pod)
            return None
        return self._sync_live(pod)

    def _record_for(self, pod: dict) -> PodRecord:
        uid = pod["metadata"]["uid"]
        with self._lock:
            record = self._records.get(uid)
            if record is None:
                record = self._records[uid] = PodRecord(uid, meta.key_of(pod), start_time=meta.format_time())
            record.pod = pod
            return record

    def _ipam_for(self) -> HostLocalIPAM | None:
        if self._ipam is None:
            cidr = self._pod_cidr_source()
            if cidr:
                self._ipam = HostLocalIPAM(self._ipam_dir, cidr)
        return self._ipam

    def _sync_live(self, pod: dict) -> float | None:
        record = self._record_for(pod)
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") and record.sandbox is None:
            return None  # finished before this kubelet (re)started: nothing to run
        if record.sandbox is None:
            ipam = self._ipam_for()
            if ipam is None:
                self.recorder.event(pod, "Warning", "NetworkNotReady",
                                    "network is not ready: no pod CIDR assigned to this node")
                return 2.0
            try:
                ip = ipam.allocate(record.uid)
            except IPAMError as e:
                self.recorder.event(pod, "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {e}")
                return 10.0
            record.sandbox = self.runtime.run_sandbox(record.uid, pod["metadata"]["namespace"],
                                                      pod["metadata"]["name"], ip)
            log.info("created sandbox for %s with IP %s", record.key, ip)
        retry_in = None
        policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
        for container in (pod.get("spec") or {}).get("containers") or []:
            delay = self._sync_container(pod, record, container, policy)
            if delay is not None:
                retry_in = delay if retry_in is None else min(retry_in, delay)
        self._write_status(pod, record)
        return retry_in

    def _sync_container(self, pod: dict, record: PodRecord, container: dict, policy: str) -> float | None:
        name = container["name"]
        state = self.runtime.container_status(record.sandbox, name)
        if state.state == "running":
            record.waiting.pop(name, None)
            return None
        if state.state == "terminated":
            if not will_restart(policy, state):
                record.waiting.pop(name, None)
                return None
            wait_s = record.retry_at.get(name, 0) - time.monotonic()
            if wait_s > 0:
                record.waiting[name] = Waiting("CrashLoopBackOff", f"back-off {_human(record.backoff_s[name])} "
                                               f"restarting failed container={name} pod={pod['metadata']['name']}_"
                                               f"{pod['metadata']['namespace']}({record.uid})")
                return wait_s
        if not record.waiting.get(name) or record.waiting[name].reason in ("ErrImagePull", "ImagePullBackOff"):
            if record.retry_at.get(name, 0) > time.monotonic() and record.waiting.get(name):
                record.waiting[name] = Waiting("ImagePullBackOff", f'Back-off pulling image "{container["image"]}"')
                return record.retry_at[name] - time.monotonic()
        if not self._ensure_image(pod, record, container):
            return record.retry_at[name] - time.monotonic()
        if state.state == "terminated":
            record.last_states[name] = state
            self._schedule_backoff(record, name, self.timings.crash_backoff_s)
        self._start(pod, record, container)
        return None

    def _schedule_backoff(self, record: PodRecord, name: str, initial_s: float) -> None:
        current = record.backoff_s.get(name)
        nxt = initial_s if current is None else min(current * 2, self.timings.crash_backoff_max_s)
        record.backoff_s[name] = nxt
        record.retry_at[name] = time.monotonic() + nxt

    def _ensure_image(self, pod: dict, record: PodRecord, container: dict) -> bool:
        image, name = container["image"], container["name"]
        policy = container.get("imagePullPolicy", "IfNotPresent")
        present = self.runtime.image_present(image)
        if policy == "Never" and not present:
            record.waiting[name] = Waiting("ErrImageNeverPull", f'Container image "{image}" is not present with '
                                                               "pull policy of Never")
            self.recorder.event(pod, "Warning", "ErrImageNeverPull", record.waiting[name].message)
            self._schedule_backoff(record, name, self.timings.image_pull_backoff_s)
            return False
        if present and (policy != "Always" or image in record.pulled):
            if image not in record.pulled:
                self.recorder.event(pod, "Normal", "Pulled", f'Container image "{image}" already present on machine')
                record.pulled.add(image)
            return True
        record.waiting[name] = Waiting("ContainerCreating")
        self._write_status(pod, record)
        self.recorder.event(pod, "Normal", "Pulling", f'Pulling image "{image}"')
        try:
            result = self.runtime.pull_image(image)
        except ImagePullError as e:
            record.waiting[name] = Waiting("ErrImagePull", f'failed to pull image "{image}": {e}')
            self.recorder.event(pod, "Warning", "Failed", f'Failed to pull image "{image}": {e}')
            self.recorder.event(pod, "Warning", "Failed", "Error: ErrImagePull")
            self._schedule_backoff(record, name, self.timings.image_pull_backoff_s)
            return False
        record.pulled.add(image)
        record.backoff_s.pop(name, None)
        ms = int(result.duration_s * 1000)
        self.recorder.event(pod, "Normal", "Pulled",
                            f'Successfully pulled image "{image}" in {ms}ms ({ms}ms including waiting). '
                            f"Image size: {result.size_bytes} bytes.")
        return True

    def _start(self, pod: dict, record: PodRecord, container: dict) -> None:
        name = container["name"]
        spec = ContainerSpec(name=name, image=container["image"], command=list(container.get("command") or []),
                             args=list(container.get("args") or []), env=self._env(pod, record, container),
                             working_dir=container.get("workingDir"),
                             ports=[p["containerPort"] for p in container.get("ports") or []
                                    if isinstance(p, dict) and isinstance(p.get("containerPort"), int)])
        state = self.runtime.start_container(record.sandbox, spec)
        record.waiting.pop(name, None)
        if state.state == "terminated" and state.reason == "StartError":
            self.recorder.event(pod, "Warning", "Failed", f"Error: {state.message or 'failed to start container'}")
            return
        self.recorder.event(pod, "Normal", "Created", f"Created container: {name}")
        self.recorder.event(pod, "Normal", "Started", f"Started container {name}")

    def _env(self, pod: dict, record: PodRecord, container: dict) -> dict[str, str]:
        m = pod["metadata"]
        fields = {"metadata.name": m["name"], "metadata.namespace": m["namespace"], "metadata.uid": m["uid"],
                  "spec.nodeName": self.node_name, "spec.serviceAccountName":
                      (pod.get("spec") or {}).get("serviceAccountName", ""),
                  "status.podIP": record.sandbox.ip, "status.hostIP": self.node_ip}
        env = {"HOSTNAME": m["name"], "KUBEMU_POD_NAME": m["name"], "KUBEMU_POD_NAMESPACE": m["namespace"],
               "KUBEMU_POD_IP": record.sandbox.ip, "KUBEMU_NODE_NAME": self.node_name}
        for var in container.get("env") or []:
            if not isinstance(var, dict) or not var.get("name"):
                continue
            if "value" in var:
                env[var["name"]] = str(var["value"])
            else:
                ref = ((var.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
                if ref in fields:
                    env[var["name"]] = fields[ref]
        return env

    def _write_status(self, pod: dict, record: PodRecord) -> None:
        states = {}
        image_ids = {}
        for container in (pod.get("spec") or {}).get("containers") or []:
            state = self.runtime.container_status(record.sandbox, container["name"]) if record.sandbox else None
            states[container["name"]] = None if state is None or state.state == "waiting" else state
            image_ids[container["name"]] = _image_id(container.get("image", ""))
        status = build_status(pod, pod_ip=record.sandbox.ip if record.sandbox else "", host_ip=self.node_ip,
                              states=states, waiting=record.waiting, last_states=record.last_states,
                              image_ids=image_ids, start_time=record.start_time)

        def change(fresh: dict) -> bool:
            if fresh["metadata"].get("uid") != record.uid:
                return False
            merged = _keep_transition_times(fresh.get("status") or {}, status)
            if merged == fresh.get("status"):
                return False
            fresh["status"] = merged
            return True

        if change(dict(pod, status=dict(pod.get("status") or {}))) is False:
            return
        updated = self.client.mutate("pods", pod["metadata"]["name"], pod["metadata"]["namespace"], change,
                                     status=True)
        if updated is not None:
            record.pod = updated
            log.debug("status of %s: %s", record.key, updated["status"].get("phase"))

    # --- stopping -------------------------------------------------------------------------

    def _terminate(self, pod: dict) -> None:
        """Graceful deletion: stop every container within the grace period, then confirm."""
        record = self._record_for(pod)
        grace = pod["metadata"].get("deletionGracePeriodSeconds")
        grace = _grace_of(pod) if grace is None else grace
        if record.sandbox is not None:
            for state in self.runtime.list_containers(record.sandbox):
                if state.state == "running":
                    self.recorder.event(pod, "Normal", "Killing", f"Stopping container {state.name}")
            self.runtime.stop_sandbox(record.sandbox, grace_period_s=float(grace))
        try:
            self.client.delete("pods", pod["metadata"]["name"], pod["metadata"]["namespace"], grace_period_s=0,
                               precondition_uid=record.uid)
            log.info("pod %s stopped and deleted", record.key)
        except errors.NotFound:
            pass
        except errors.Conflict:
            log.info("pod %s was replaced while it stopped", record.key)
        self._release(record)

    def _teardown(self, record: PodRecord, grace_s: float, *, reason: str) -> None:
        log.info("tearing down %s (uid %s): %s", record.key, record.uid, reason)
        if record.sandbox is not None:
            self.runtime.stop_sandbox(record.sandbox, grace_period_s=float(grace_s))
        self._release(record)

    def _release(self, record: PodRecord) -> None:
        if record.sandbox is not None:
            self.runtime.remove_sandbox(record.sandbox)
        ipam = self._ipam_for()
        if ipam is not None:
            ipam.release(record.uid)
        with self._lock:
            self._records.pop(record.uid, None)

    # --- introspection --------------------------------------------------------------------

    def stats(self) -> dict:
        with self._lock:
            records = list(self._records.values())
        return {"pods": len(records), "queue": len(self.queue),
                "podIPs": {r.key: r.sandbox.ip for r in records if r.sandbox}}


def _grace_of(pod: dict | None) -> int:
    value = ((pod or {}).get("spec") or {}).get("terminationGracePeriodSeconds", 30)
    return value if isinstance(value, int) and value >= 0 else 30


def _image_id(image: str) -> str:
    from kubelet.images import parse_image

    try:
        ref = parse_image(image)
    except ValueError:
        return ""
    digest = hashlib.sha256(ref.canonical.encode()).hexdigest()
    return f"{ref.registry}/{ref.repository}@sha256:{digest}"


def _human(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    return f"{seconds // 60}m{seconds % 60}s" if seconds % 60 else f"{seconds // 60}m0s"


def _keep_transition_times(old: dict, new: dict) -> dict:
    """Carry over fields the kubelet does not own (qosClass, nominatedNodeName) and condition
    transition times that did not change, so identical observations compare equal."""
    merged = dict(new)
    for key in ("qosClass", "nominatedNodeName"):
        if key in old:
            merged[key] = old[key]
    old_conditions = {c.get("type"): c for c in old.get("conditions") or [] if isinstance(c, dict)}
    conditions = []
    for cond in new.get("conditions") or []:
        prev = old_conditions.get(cond["type"])
        if prev and prev.get("status") == cond["status"]:
            cond = dict(cond, lastTransitionTime=prev.get("lastTransitionTime", cond.get("lastTransitionTime")))
        conditions.append(cond)
    merged["conditions"] = conditions
    if old.get("startTime"):
        merged["startTime"] = old["startTime"]
    return merged
