"""The kubelet's pod loop: make the pods bound to this node run, and report how they are.

Pods come from an informer restricted to ``spec.nodeName=<this node>`` (a kubelet never sees
other nodes' pods). Handlers only enqueue pod keys; worker threads run :meth:`Kubelet.sync`
for one key at a time (the work queue never runs one key twice at once), which converges the
runtime towards the pod:

1. a pod the API no longer has, or has under a new uid: stop its containers, free its IP;
2. a pod being deleted: ``preStop`` hooks, SIGTERM, the grace period, SIGKILL, then confirm the
   deletion to the API (delete with grace 0 and the uid as precondition);
3. otherwise: **admission** (the pod's requests must fit the node's allocatable next to the pods
   already admitted, else it is Failed with OutOfcpu/OutOfmemory) → **sandbox** with a pod IP
   (host-local IPAM or a CNI plugin) → **volumes** → **init containers** one at a time, each to
   completion → **app containers**: pull the image (Pulling/Pulled, ErrImagePull →
   ImagePullBackOff), resolve env (CreateContainerConfigError), create (Created;
   CreateContainerError) — removing dead instances older than the previous one (container_gc.py)
   — and start (Started; StartError), postStart hook, restart exited ones per ``restartPolicy`` with
   CrashLoopBackOff backoff, kill those whose liveness/startup probe failed → write the status.

A relist loop (the PLEG) polls the runtime every ``pleg_period_s`` and enqueues pods whose
containers changed state, and every pod once per ``resync_s``; probe workers (probes.py) and
the resource monitor (resources.py: memory limits → OOMKilled) enqueue pods too. Status is
written only when it differs from what the API has. How long pods take to start, and how many
pods and containers run, are reported as metrics (:mod:`kubelet.metrics`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field

from kubelet import container_gc, envvars, handlers, metrics, trace_recorder
from kubelet.backoff import Backoff
from kubelet.envvars import ConfigError
from kubelet.ipam import HostLocalIPAM, IPAMError
from kubelet.pod_status import REASON_POD_INITIALIZING, View, Waiting, build_status, init_done, is_sidecar, will_restart
from kubelet.probes import ProbeManager
from kubelet.resources import REASON_OOM, Rejection, ResourceMonitor, admit
from kubelet.runtime.base import (
    ContainerRuntime,
    ContainerRuntimeError,
    ContainerSpec,
    ImagePullError,
    PodSandbox,
)
from kubelet.runtime.uts import pod_hostname
from kubelet.trace_recorder import PodTracer
from kubelet.volumes import MountError, VolumeManager
from machinery import errors, meta, tracing
from machinery.client import APIClient
from machinery.events import EventRecorder
from machinery.informer import Handlers, Informer
from machinery.workqueue import ShutDown, WorkQueue

log = logging.getLogger(__name__)

# Volume setup retries like the kubelet's volume operations: 500 ms doubling to 2 min 2 s.
VOLUME_RETRY_INITIAL_S = 0.5
VOLUME_RETRY_MAX_S = 122.0
# How long start-up waits for the Service cache before pods start (containers wait for it anyway).
SERVICES_SYNC_WAIT_S = 10.0
# The kubelet leaves at least this long between SIGTERM and SIGKILL after a slow preStop hook.
MIN_GRACE_AFTER_HOOK_S = 2.0
POST_START_TIMEOUT_S = 30.0
# Describe (kubemu status) lists per-pod details for at most this many pods.
MAX_DESCRIBED_PODS = 200


@dataclass
class KubeletTimings:
    """Durations in seconds; Kubernetes' defaults, shortened by flags for tests."""

    # crash_backoff_s: first restart delay of a crashed container, doubling per crash …
    crash_backoff_s: float = 10.0
    # … up to crash_backoff_max_s (Kubernetes: 10 s doubling to 5 min) …
    crash_backoff_max_s: float = 300.0
    # … and forgotten once a container ran this long (Kubernetes: twice the maximum, 10 min).
    crash_backoff_reset_s: float = 600.0
    # image_pull_backoff_s: first retry delay after a failed pull, doubling to image_pull_backoff_max_s.
    image_pull_backoff_s: float = 10.0
    image_pull_backoff_max_s: float = 300.0
    # pleg_period_s: how often container states are polled (Kubernetes' PLEG relist: 1 s).
    pleg_period_s: float = 1.0
    # resync_s: every pod is synced at least this often even with no event (Kubernetes: 1 min);
    # configMap/secret volumes are refreshed at this pace.
    resync_s: float = 60.0
    # housekeeping_s: how often container usage is sampled and memory limits are enforced (cAdvisor
    # housekeeping is 10 s, but the kernel's OOM killer acts at once: 1 s is kubemu's compromise).
    housekeeping_s: float = 1.0


@dataclass
class PodRecord:
    """What the kubelet remembers about one pod instance (by uid) between syncs."""

    uid: str
    key: str
    sandbox: PodSandbox | None = None
    start_time: str = ""
    pod: dict | None = None
    admitted: bool = False
    rejected: Rejection | None = None
    waiting: dict[str, Waiting] = field(default_factory=dict)
    exited_at: dict[str, tuple[int, float]] = field(default_factory=dict)  # name -> (run, monotonic time seen)
    pull_failed_at: dict[str, float] = field(default_factory=dict)
    pulled: set[str] = field(default_factory=set)
    volume_paths: dict[str, str] | None = None
    volumes_at: float = 0.0
    volume_failed_at: float = 0.0
    seen_states: tuple = ()
    # first_seen / start_reported: for kubelet_pod_start_duration_seconds, observed once per pod.
    first_seen: float = field(default_factory=time.monotonic)
    start_reported: bool = False


class Kubelet:
    def __init__(self, client: APIClient, runtime: ContainerRuntime, node_name: str, node_ip: str, *,
                 ipam_dir: str, pod_cidr_source, timings: KubeletTimings | None = None, workers: int = 8,
                 root_dir: str | None = None, allocatable_source=None, network=None):
        self.client = client
        self.runtime = runtime
        self.node_name = node_name
        self.node_ip = node_ip
        self.timings = t = timings or KubeletTimings()
        self._ipam_dir = ipam_dir
        self._pod_cidr_source = pod_cidr_source  # callable -> current pod CIDR ("" while unknown)
        self._ipam: HostLocalIPAM | None = None
        self._network = network  # a CNINetwork, replacing host-local IPAM when configured
        if network is not None:
            network.pod_info = self._pod_identity
        self._allocatable = allocatable_source or dict  # callable -> {"cpu": "2", "memory": "4Gi", "pods": "110"}
        self.recorder = EventRecorder(client, "kubelet", node_name, background=True)
        self.pods = Informer(client, "pods", field_selector=f"spec.nodeName={node_name}", name="kubelet-pods")
        # Every Service, for the pods' service environment variables (the Node authorizer allows it).
        self.services = Informer(client, "services", name="kubelet-services")
        self.tracing = PodTracer(node_name)
        self.pods.add_handlers(Handlers(self.tracing.delivered))
        self.pods.add_handlers(Handlers(self._enqueue, lambda old, new: self._enqueue(new), self._enqueue))
        self.queue = WorkQueue("kubelet-pods", base_delay_s=0.2, max_delay_s=30)
        self.workers = workers
        self.crash_backoff = Backoff(t.crash_backoff_s, t.crash_backoff_max_s, t.crash_backoff_reset_s)
        self.pull_backoff = Backoff(t.image_pull_backoff_s, t.image_pull_backoff_max_s)
        self.volume_backoff = Backoff(VOLUME_RETRY_INITIAL_S, VOLUME_RETRY_MAX_S)
        self.volumes = VolumeManager(root_dir or os.path.dirname(os.path.abspath(ipam_dir)), self._lookup)
        self.probes = ProbeManager(runtime, on_change=self.queue.add, event=self.recorder.event)
        self.monitor = ResourceMonitor(runtime, targets=self._monitor_targets, on_oom=self._on_oom,
                                       period_s=t.housekeeping_s)
        self._records: dict[str, PodRecord] = {}
        self._lock = threading.Lock()
        self._admit_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        for sandbox in self.runtime.list_sandboxes():
            key = f"{sandbox.namespace}/{sandbox.name}"
            self._records[sandbox.uid] = PodRecord(sandbox.uid, key, sandbox, meta.format_time(), admitted=True,
                                                   start_reported=True)
            log.info("found sandbox of %s (uid %s, ip %s) from an earlier run", key, sandbox.uid, sandbox.ip)
        self.services.start()
        self.pods.start()
        self.pods.wait_synced()
        self.services.wait_synced(SERVICES_SYNC_WAIT_S)
        self._remove_orphaned_volumes()
        for record in list(self._records.values()):
            self.queue.add(record.key)
        for i in range(self.workers):
            self._spawn(self._worker, f"pod-worker-{i}")
        self._spawn(self._pleg_loop, "pleg")
        self.monitor.start()

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, daemon=True, name=name)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        """Stop syncing. Containers keep running, as when a real kubelet stops."""
        self._stop.set()
        self.queue.shutdown()
        self.pods.stop()
        self.services.stop()
        self.probes.stop_all()
        self.monitor.stop()

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
                self.crash_backoff.gc(lambda k: k[0] in self._records)
                self.pull_backoff.gc(lambda k: k[0] in self._records)

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
            # The informer's copy may be older than what our own last status write returned: keep
            # the newest, or the next status write starts from a stale copy and loses its CAS.
            record.pod = _newest(pod, record.pod)
            return record

    def _ipam_for(self):
        if self._network is not None:
            return self._network
        if self._ipam is None:
            cidr = self._pod_cidr_source()
            if cidr:
                self._ipam = HostLocalIPAM(self._ipam_dir, cidr)
        return self._ipam

    def _sync_live(self, pod: dict) -> float | None:
        record = self._record_for(pod)
        if record.rejected is not None:
            return None  # a rejected pod is Failed for good, as in Kubernetes
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") and record.sandbox is None:
            return None  # finished (or rejected) before this kubelet (re)started: nothing to run
        if not record.admitted:
            rejection = self._admit(pod, record)
            if rejection is not None:
                self._reject(pod, record, rejection)
                return None
        if record.sandbox is None:
            with self.tracing.step(pod, "create sandbox") as span:
                retry = self._create_sandbox(pod, record)
                self.tracing.sandbox(span, record, retry, self._network_kind(pod))
            if retry is not None:
                return retry
        retry = self._sync_volumes(pod, record)
        if retry is not None:
            self._write_status(pod, record)
            return retry
        delays: list[float] = []
        if self._sync_init(pod, record, delays):
            policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
            for container in (pod.get("spec") or {}).get("containers") or []:
                delay = self._sync_container(pod, record, container, policy)
                if delay is not None:
                    delays.append(delay)
        self._write_status(pod, record)
        return min(delays) if delays else None

    # --- admission, sandbox, volumes ------------------------------------------------------

    def _admit(self, pod: dict, record: PodRecord) -> Rejection | None:
        """The kubelet's resource admission: one pod at a time against those admitted before."""
        with self._admit_lock:
            with self._lock:
                others = [r.pod for r in self._records.values()
                          if r.admitted and r.uid != record.uid and r.pod is not None and not _terminal(r.pod)]
            rejection = admit(pod, others, self._allocatable())
            if rejection is None:
                record.admitted = True
            return rejection

    def _reject(self, pod: dict, record: PodRecord, rejection: Rejection) -> None:
        record.rejected = rejection
        message = f"Pod was rejected: {rejection.message}"
        log.info("rejected %s: %s", record.key, rejection.message)
        self.recorder.event(pod, "Warning", rejection.reason, rejection.message)

        def change(fresh: dict) -> bool:
            if fresh["metadata"].get("uid") != record.uid:
                return False
            status = fresh.setdefault("status", {})
            if status.get("phase") == "Failed" and status.get("reason") == rejection.reason:
                return False
            status.update(phase="Failed", reason=rejection.reason, message=message, startTime=record.start_time)
            return True

        self.client.mutate("pods", pod["metadata"]["name"], pod["metadata"]["namespace"], change, status=True)

    def _create_sandbox(self, pod: dict, record: PodRecord) -> float | None:
        if (pod.get("spec") or {}).get("hostNetwork"):
            ip = self.node_ip
        else:
            ipam = self._ipam_for()
            if ipam is None:
                self.recorder.event(pod, "Warning", "NetworkNotReady",
                                    "network is not ready: no pod CIDR assigned to this node")
                return 2.0
            try:
                ip = ipam.allocate(record.uid)
            except (IPAMError, OSError, ValueError) as e:
                self.recorder.event(pod, "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {e}")
                return 10.0
        record.sandbox = self.runtime.run_sandbox(record.uid, pod["metadata"]["namespace"], pod["metadata"]["name"],
                                                  ip, hostname=pod_hostname(pod))
        log.info("created sandbox for %s with IP %s", record.key, ip)
        return None

    def _network_kind(self, pod: dict) -> str:
        if (pod.get("spec") or {}).get("hostNetwork"):
            return "hostNetwork: the node's IP"
        if self._network is not None:
            return "CNI plugin"
        return f"host-local IPAM from the node's pod CIDR {self._ipam.network if self._ipam else '(none yet)'}"

    def _sync_volumes(self, pod: dict, record: PodRecord) -> float | None:
        """Set up volumes once, refresh projected ones every resync; a failure retries with backoff."""
        if record.volume_paths is not None and time.monotonic() - record.volumes_at < self.timings.resync_s:
            return None
        key = (record.uid, "volumes")
        if record.volume_paths is None:
            wait = self.volume_backoff.remaining(key, record.volume_failed_at)
            if wait > 0:
                return wait
        try:
            paths = self.volumes.setup(pod, pod_ip=record.sandbox.ip, host_ip=self.node_ip, node_name=self.node_name,
                                       allocatable=self._allocatable())
        except MountError as e:
            record.volume_failed_at = time.monotonic()
            backoff = self.volume_backoff.next(key, record.volume_failed_at)
            self.recorder.event(pod, "Warning", "FailedMount", str(e))
            if record.volume_paths is None:
                return backoff
            log.warning("refreshing volumes of %s failed: %s", record.key, e)
            return None
        record.volume_paths, record.volumes_at = paths, time.monotonic()
        self.volume_backoff.reset(key)
        return None

    def _lookup(self, resource: str, namespace: str, name: str) -> dict | None:
        try:
            return self.client.get(resource, name, namespace)
        except errors.NotFound:
            return None

    def _remove_orphaned_volumes(self) -> None:
        live = {p["metadata"].get("uid") for p in self.pods.list()} | set(self._records)
        for uid in self.volumes.pod_uids():
            if uid not in live:
                log.info("removing volumes of pod uid %s, which no longer exists", uid)
                self.volumes.cleanup(uid)

    # --- containers -----------------------------------------------------------------------

    def _sync_init(self, pod: dict, record: PodRecord, delays: list[float]) -> bool:
        """Run init containers one at a time; True once every one completed (sidecars: started)."""
        policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
        for container in (pod.get("spec") or {}).get("initContainers") or []:
            if not isinstance(container, dict):
                continue
            sidecar = is_sidecar(container)
            delay = self._sync_container(pod, record, container, "Always" if sidecar else
                                         ("Never" if policy == "Never" else "OnFailure"))
            if delay is not None:
                delays.append(delay)
            state = self.runtime.container_status(record.sandbox, container["name"])
            view = View(state=state if state.state != "waiting" else None,
                        started=self.probes.started(record.uid, container["name"], container))
            if not init_done(container, view):
                return False
        return True

    def _sync_container(self, pod: dict, record: PodRecord, container: dict, policy: str) -> float | None:
        name = container["name"]
        state = self.runtime.container_status(record.sandbox, name)
        self.probes.sync(pod, record.sandbox, container, state)
        if state.state == "running":
            fatal = self.probes.fatal(record.uid, name, state)
            if fatal is None:
                record.waiting.pop(name, None)
                return None
            kind, spec = fatal
            grace = spec.termination_grace_s if spec.termination_grace_s is not None else _grace_of(pod)
            self._kill(pod, record, container, f"Container {name} failed {kind} probe, will be restarted", grace)
            state = self.runtime.container_status(record.sandbox, name)
            self.probes.sync(pod, record.sandbox, container, state)
        if state.state == "terminated":
            seen = record.exited_at.get(name)
            if seen is None or seen[0] != state.restart_count:
                seen = record.exited_at[name] = (state.restart_count, time.monotonic())
            if not will_restart(policy, state):
                record.waiting.pop(name, None)
                return None
            wait_s = self.crash_backoff.remaining((record.uid, name), seen[1])
            if wait_s > 0:
                backoff = self.crash_backoff.current((record.uid, name)) or wait_s
                record.waiting[name] = Waiting("CrashLoopBackOff", f"back-off {_human(backoff)} restarting failed "
                                               f"container={name} pod={pod['metadata']['name']}_"
                                               f"{pod['metadata']['namespace']}({record.uid})")
                self.recorder.event(pod, "Warning", "BackOff", f"Back-off restarting failed container {name} in "
                                                               f"pod {pod['metadata']['name']}_"
                                                               f"{pod['metadata']['namespace']}({record.uid})")
                return wait_s
        waiting = record.waiting.get(name)
        if waiting is not None and waiting.reason in ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull"):
            wait_s = self.pull_backoff.remaining((record.uid, name), record.pull_failed_at.get(name, 0.0))
            if wait_s > 0:
                if waiting.reason != "ErrImageNeverPull":
                    record.waiting[name] = Waiting("ImagePullBackOff", f'Back-off pulling image "{container["image"]}"')
                    self.recorder.event(pod, "Normal", "BackOff", f'Back-off pulling image "{container["image"]}"')
                return wait_s
        if not self._ensure_image(pod, record, container):
            return self.pull_backoff.remaining((record.uid, name), record.pull_failed_at.get(name, 0.0)) or 1.0
        try:
            spec = self._container_spec(pod, record, container)
        except (ConfigError, MountError) as e:
            record.waiting[name] = Waiting(envvars.REASON, str(e))
            self.recorder.event(pod, "Warning", "Failed", f"Error: {e}")
            record.pull_failed_at.pop(name, None)
            return self.timings.pleg_period_s * 2
        if state.state == "terminated":
            self.crash_backoff.next((record.uid, name), record.exited_at[name][1])
        self._start(pod, record, container, spec)
        return None

    def _ensure_image(self, pod: dict, record: PodRecord, container: dict) -> bool:
        image, name = container["image"], container["name"]
        policy = container.get("imagePullPolicy", "IfNotPresent")
        present = self.runtime.image_present(image)
        if policy == "Never" and not present:
            record.waiting[name] = Waiting("ErrImageNeverPull", f'Container image "{image}" is not present with '
                                                               "pull policy of Never")
            self.recorder.event(pod, "Warning", "ErrImageNeverPull", record.waiting[name].message)
            record.pull_failed_at[name] = time.monotonic()
            self.pull_backoff.next((record.uid, name))
            return False
        if present and (policy != "Always" or image in record.pulled):
            if image not in record.pulled:
                self.recorder.event(pod, "Normal", "Pulled", f'Container image "{image}" already present on machine')
                self.tracing.image(pod, image, policy, 0, present=True)
                record.pulled.add(image)
            return True
        record.waiting[name] = Waiting("ContainerCreating")
        self._write_status(pod, record)
        self.recorder.event(pod, "Normal", "Pulling", f'Pulling image "{image}"')
        started = trace_recorder.now_ns()
        try:
            result = self.runtime.pull_image(image)
        except ImagePullError as e:
            self.tracing.image(pod, image, policy, started, error=str(e))
            record.waiting[name] = Waiting("ErrImagePull", f'failed to pull image "{image}": {e}')
            self.recorder.event(pod, "Warning", "Failed", f'Failed to pull image "{image}": {e}')
            self.recorder.event(pod, "Warning", "Failed", "Error: ErrImagePull")
            record.pull_failed_at[name] = time.monotonic()
            self.pull_backoff.next((record.uid, name))
            return False
        self.tracing.image(pod, image, policy, started, result=result)
        record.pulled.add(image)
        self.pull_backoff.reset((record.uid, name))
        record.pull_failed_at.pop(name, None)
        took = go_duration_ms(result.duration_s)
        self.recorder.event(pod, "Normal", "Pulled",
                            f'Successfully pulled image "{image}" in {took} ({took} including waiting). '
                            f"Image size: {result.size_bytes} bytes.")
        return True

    def _container_spec(self, pod: dict, record: PodRecord, container: dict) -> ContainerSpec:
        """What the runtime needs: env resolved (configMap/secret refs), $(VAR) expanded, mounts."""
        if not self.services.has_synced:
            raise ConfigError("services have not yet been read at least once, cannot construct envvars")
        links = (pod.get("spec") or {}).get("enableServiceLinks") is not False
        services = envvars.service_env(self.services.list(), meta.namespace_of(pod), links)
        env = envvars.container_env(pod, container, lookup=self._lookup, pod_ip=record.sandbox.ip,
                                    host_ip=self.node_ip, node_name=self.node_name, allocatable=self._allocatable(),
                                    services=services)
        env.setdefault("KUBEMU_NODE_NAME", self.node_name)
        m = pod["metadata"]
        return ContainerSpec(
            name=container["name"], image=container["image"],
            command=[envvars.expand(str(a), env) for a in container.get("command") or []],
            args=[envvars.expand(str(a), env) for a in container.get("args") or []], env=env,
            working_dir=container.get("workingDir"),
            ports=[p["containerPort"] for p in container.get("ports") or []
                   if isinstance(p, dict) and isinstance(p.get("containerPort"), int)],
            mounts=self.volumes.mounts_for(container, record.volume_paths or {}),
            pod_labels=dict(m.get("labels") or {}), pod_annotations=dict(m.get("annotations") or {}))

    def _start(self, pod: dict, record: PodRecord, container: dict, spec: ContainerSpec) -> None:
        """Create, then start the container, like the kubelet's startContainer: a create that fails is a
        CreateContainerError; a process that cannot start ends as StartError; then the postStart hook."""
        name = container["name"]
        began = trace_recorder.now_ns()
        try:
            created = self.runtime.create_container(record.sandbox, spec)
        except ContainerRuntimeError as e:
            self.tracing.container_created(pod, name, None, began, error=str(e))
            record.waiting[name] = Waiting("CreateContainerError", str(e))
            self.recorder.event(pod, "Warning", "Failed", f"Error: {e}")
            return
        self.tracing.container_created(pod, name, created, began)
        self.recorder.event(pod, "Normal", "Created", f"Created container: {name}")
        container_gc.collect(self.runtime, record.sandbox, name, created.restart_count)
        began = trace_recorder.now_ns()
        try:
            state = self.runtime.start_container(record.sandbox, name)
        except ContainerRuntimeError as e:
            self.tracing.container_started(pod, name, None, began, error=str(e))
            record.waiting[name] = Waiting("RunContainerError", str(e))
            self.recorder.event(pod, "Warning", "Failed", f"Error: {e}")
            return
        self.tracing.container_started(pod, name, state, began)
        record.waiting.pop(name, None)
        if state.state == "terminated" and state.reason == "StartError":
            self.recorder.event(pod, "Warning", "Failed", f"Error: {state.message or 'failed to start container'}")
            return
        self.recorder.event(pod, "Normal", "Started", f"Started container {name}")
        hook = ((container.get("lifecycle") or {}).get("postStart"))
        if isinstance(hook, dict):
            result = handlers.run(hook, runtime=self.runtime, sandbox=record.sandbox, container=container,
                                  timeout_s=POST_START_TIMEOUT_S)
            if not result.ok:
                message = f"PostStartHook failed: {result.message}".rstrip()
                self.recorder.event(pod, "Warning", "FailedPostStartHook", message)
                self._kill(pod, record, container, f"FailedPostStartHook: {result.message}", _grace_of(pod),
                           pre_stop=True)

    def _kill(self, pod: dict, record: PodRecord, container: dict, why: str, grace_s: float, *,
              pre_stop: bool = True) -> None:
        """Stop one container like the kubelet's killContainer: event, preStop hook, SIGTERM, grace, SIGKILL."""
        self.recorder.event(pod, "Normal", "Killing", why)
        deadline = time.monotonic() + max(0.0, grace_s)
        if pre_stop:
            self._pre_stop(pod, record, container, deadline)
        remaining = deadline - time.monotonic()
        self.runtime.stop_container(record.sandbox, container["name"], max(remaining, 0.0 if grace_s <= 0 else
                                                                           min(MIN_GRACE_AFTER_HOOK_S, grace_s)))

    def _pre_stop(self, pod: dict, record: PodRecord, container: dict, deadline: float) -> None:
        hook = (container.get("lifecycle") or {}).get("preStop")
        if not isinstance(hook, dict):
            return
        result = handlers.run(hook, runtime=self.runtime, sandbox=record.sandbox, container=container,
                              timeout_s=max(0.0, deadline - time.monotonic()), stop=self._stop)
        if not result.ok:
            self.recorder.event(pod, "Warning", "FailedPreStopHook",
                                f"PreStopHook failed: {result.message}".rstrip())

    def _on_oom(self, sandbox: PodSandbox, pod: dict, name: str, usage: int, limit: int) -> None:
        """Called by the resource monitor: what the kernel's OOM killer would do to the container."""
        log.info("container %s of %s uses %d bytes, over its memory limit of %d: OOM-killing it",
                 name, meta.key_of(pod), usage, limit)
        self.runtime.stop_container(sandbox, name, 0.0, reason=REASON_OOM)
        self.queue.add(meta.key_of(pod))

    def _monitor_targets(self) -> list[tuple[PodSandbox, dict]]:
        with self._lock:
            return [(r.sandbox, r.pod) for r in self._records.values() if r.sandbox is not None and r.pod]

    # --- status ---------------------------------------------------------------------------

    def _views(self, pod: dict, record: PodRecord) -> tuple[dict[str, View], dict[str, View]]:
        spec = pod.get("spec") or {}
        inits = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
        apps = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
        init_views, app_views = {}, {}
        initializing = False
        for c in inits:
            init_views[c["name"]] = view = self._view(record, c)
            if view.state is None and view.waiting is None:
                view.waiting = Waiting(REASON_POD_INITIALIZING)
            initializing = initializing or not init_done(c, view)
        for c in apps:
            app_views[c["name"]] = view = self._view(record, c)
            if initializing and view.state is None and view.waiting is None:
                view.waiting = Waiting(REASON_POD_INITIALIZING)
        return init_views, app_views

    def _view(self, record: PodRecord, container: dict) -> View:
        name = container["name"]
        state = self.runtime.container_status(record.sandbox, name) if record.sandbox else None
        return View(state=None if state is None or state.state == "waiting" else state,
                    waiting=record.waiting.get(name), ready=self.probes.ready(record.uid, name, container),
                    started=self.probes.started(record.uid, name, container), image_id=_image_id(container))

    def _write_status(self, pod: dict, record: PodRecord) -> None:
        init_views, app_views = self._views(pod, record)
        status = build_status(pod, pod_ip=record.sandbox.ip if record.sandbox else "", host_ip=self.node_ip,
                              app=app_views, init=init_views, start_time=record.start_time)
        if status.get("phase") == "Running" and not record.start_reported:
            record.start_reported = True
            metrics.pod_started(record.first_seen)

        def change(fresh: dict) -> bool:
            if fresh["metadata"].get("uid") != record.uid:
                return False
            merged = _keep_transition_times(fresh.get("status") or {}, status)
            if merged == fresh.get("status"):
                return False
            fresh["status"] = merged
            return True

        newest = _newest(pod, record.pod)
        attempt = dict(newest, status=dict(newest.get("status") or {}))
        if change(attempt) is False:
            return  # the status stored (as far as we know) is already this one
        self.tracing.readiness(pod, status)
        span = self.tracing.begin(pod, "write status")
        updated = None
        with tracing.activate(span):
            # First try a compare-and-swap on the newest copy we hold (the informer's, or what our last
            # write returned): one round trip instead of a GET and an update. Only when someone else
            # wrote the pod since (Conflict) read it and merge again.
            if newest["metadata"].get("resourceVersion"):
                try:
                    updated = self.client.update_status("pods", attempt)
                except errors.Conflict:
                    pass
                except errors.NotFound:
                    return
            if updated is None:
                updated = self.client.mutate("pods", pod["metadata"]["name"], pod["metadata"]["namespace"], change,
                                             status=True)
        self.tracing.status_written(span, status, updated)
        if updated is not None:
            record.pod = updated
            log.debug("status of %s: %s", record.key, updated["status"].get("phase"))

    # --- stopping -------------------------------------------------------------------------

    def _terminate(self, pod: dict) -> None:
        """Graceful deletion: preStop hooks and SIGTERM within the grace period, SIGKILL, then confirm."""
        record = self._record_for(pod)
        grace = pod["metadata"].get("deletionGracePeriodSeconds")
        grace = _grace_of(pod) if grace is None else grace
        if record.sandbox is not None:
            self._stop_pod(pod, record, float(grace))
        self.probes.forget_pod(record.uid)
        try:
            self.client.delete("pods", pod["metadata"]["name"], pod["metadata"]["namespace"], grace_period_s=0,
                               precondition_uid=record.uid)
            log.info("pod %s stopped and deleted", record.key)
        except errors.NotFound:
            pass
        except errors.Conflict:
            log.info("pod %s was replaced while it stopped", record.key)
        self._release(record)

    def _stop_pod(self, pod: dict, record: PodRecord, grace_s: float) -> None:
        """Every running container at once, as the kubelet's killPodWithSyncResult: its preStop hook
        (in parallel, within the grace period), then SIGTERM, the rest of the grace period, SIGKILL."""
        spec = pod.get("spec") or {}
        containers = {c["name"]: c for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
                      if isinstance(c, dict) and c.get("name")}
        running = [s.name for s in self.runtime.list_containers(record.sandbox) if s.state == "running"]
        deadline = time.monotonic() + max(0.0, grace_s)
        hooks = []
        for name in running:
            self.recorder.event(pod, "Normal", "Killing", f"Stopping container {name}")
            if name in containers and isinstance((containers[name].get("lifecycle") or {}).get("preStop"), dict):
                thread = threading.Thread(target=self._pre_stop, args=(pod, record, containers[name], deadline),
                                          daemon=True, name=f"prestop-{name}")
                thread.start()
                hooks.append(thread)
        for thread in hooks:
            thread.join(max(0.0, deadline - time.monotonic()))
        remaining = deadline - time.monotonic()
        if hooks and grace_s > 0:
            remaining = max(remaining, min(MIN_GRACE_AFTER_HOOK_S, grace_s))
        self.runtime.stop_sandbox(record.sandbox, grace_period_s=max(0.0, remaining))

    def _teardown(self, record: PodRecord, grace_s: float, *, reason: str) -> None:
        log.info("tearing down %s (uid %s): %s", record.key, record.uid, reason)
        self.probes.forget_pod(record.uid)
        if record.sandbox is not None:
            self.runtime.stop_sandbox(record.sandbox, grace_period_s=float(grace_s))
        self._release(record)

    def _release(self, record: PodRecord) -> None:
        if record.sandbox is not None:
            self.runtime.remove_sandbox(record.sandbox)
        self.volumes.cleanup(record.uid)
        ipam = self._ipam_for()
        if ipam is not None and record.sandbox is not None:
            try:
                ipam.release(record.uid)
            except (IPAMError, OSError) as e:
                log.warning("releasing the IP of %s failed: %s", record.key, e)
        with self._lock:
            self._records.pop(record.uid, None)

    # --- introspection (Describe, the kubelet's gRPC service) ------------------------------

    def find_pod(self, namespace: str, name: str, uid: str = "") -> tuple[dict, PodSandbox] | None:
        key = f"{namespace}/{name}"
        with self._lock:
            for record in self._records.values():
                if record.key == key and record.sandbox is not None and record.pod is not None \
                        and (not uid or record.uid == uid):
                    return record.pod, record.sandbox
        return None

    def _pod_identity(self, uid: str) -> tuple[str, str]:
        with self._lock:
            record = self._records.get(uid)
        return meta.split_key(record.key) if record else ("", "")

    def running_pods(self) -> list[tuple[dict, PodSandbox]]:
        with self._lock:
            return [(r.pod, r.sandbox) for r in self._records.values() if r.sandbox is not None and r.pod]

    def running_counts(self) -> tuple[int, dict[str, int]]:
        """Pods with a sandbox, and their containers by runtime state as the PLEG last saw them."""
        with self._lock:
            records = [r for r in self._records.values() if r.sandbox is not None]
        states: dict[str, int] = {}
        for record in records:
            for _, state, _, _ in record.seen_states:
                states[state] = states.get(state, 0) + 1
        return len(records), states

    def waiting_reason(self, pod: dict, name: str) -> str:
        with self._lock:
            record = self._records.get(pod["metadata"].get("uid", ""))
        waiting = record.waiting.get(name) if record else None
        return waiting.reason if waiting else "ContainerCreating"

    def stats(self) -> dict:
        with self._lock:
            records = list(self._records.values())
        usage = {}
        for r in records[:MAX_DESCRIBED_PODS]:
            per = self.monitor.pod_usage(r.uid)
            if per:
                usage[r.key] = {name: {"cpuMillicores": u.cpu_millis, "memoryBytes": u.memory_bytes}
                                for name, u in per.items()}
        return {"pods": len(records), "queue": len(self.queue), "runtime": self.runtime.name,
                "podIPs": {r.key: r.sandbox.ip for r in records[:MAX_DESCRIBED_PODS] if r.sandbox},
                "rejected": {r.key: r.rejected.reason for r in records if r.rejected},
                "usage": usage, "probes": self.probes.summary()}


def _terminal(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _grace_of(pod: dict | None) -> int:
    value = ((pod or {}).get("spec") or {}).get("terminationGracePeriodSeconds", 30)
    return value if isinstance(value, int) and value >= 0 else 30


def _image_id(container: dict) -> str:
    from kubelet.images import parse_image

    try:
        ref = parse_image(container.get("image", ""))
    except ValueError:
        return ""
    digest = hashlib.sha256(ref.canonical.encode()).hexdigest()
    return f"{ref.registry}/{ref.repository}@sha256:{digest}"


def go_duration_ms(seconds: float) -> str:
    """A duration as Go prints ``d.Truncate(time.Millisecond)`` (the kubelet's Pulled event):
    ``0s``, ``750ms``, ``1.5s``, ``2m3.004s``, ``1h0m0s``."""
    ms = max(0, int(seconds * 1000))
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest // 1000}.{rest % 1000:03d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    return f"{minutes}m{secs}" if minutes else secs


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


def _newest(pod: dict, other: dict | None) -> dict:
    """The more recent of two copies of the same pod (by resourceVersion); ``pod`` on a tie or doubt."""
    if not other or other["metadata"].get("uid") != pod["metadata"].get("uid"):
        return pod
    try:
        newer = int(other["metadata"].get("resourceVersion") or 0) > int(pod["metadata"].get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return pod
    return other if newer else pod
