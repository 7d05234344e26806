"""``ProcessRuntime``: every container is a real OS process, every pod a directory.

Layout under ``root_dir`` (the node's state dir)::

    images.json                                   pulled images (the node's image cache)
    pods/<uid>/sandbox.json                       uid, namespace, name, ip, ready
    pods/<uid>/containers/<name>/container.json   the current instance: attempt, argv, env, pid, exit state
    pods/<uid>/containers/<name>/<attempt>.log    stdout+stderr of each instance (until it is removed)
    pods/<uid>/containers/<name>/<attempt>.idx    (log size, time) observations of that instance's log
    pods/<uid>/containers/<name>/rootfs/          the container's mounts as symlinks
    pods/<uid>/shm/                               the pod's /dev/shm, shared by its containers (IPC)

``create_container`` resolves everything a run needs (argv, environment, working directory, rewrites,
the ``rootfs`` links) and writes it to a new ``container.json`` with no pid: the instance is *created*
(``waiting``, ``ContainerCreating``); the previous instance's end moves into its ``last`` and the
previous log stays. ``start_container`` launches the created instance's process. ``remove_container``
deletes an earlier instance's log and index, or the whole container directory; the kubelet's
container garbage collection (kubelet/container_gc.py) calls it to keep only the previous instance.

What a container runs comes from the image catalog (kubelet/images): ``http-server`` images run
``python -m kubelet.images.http_server`` on the pod IP, ``shell`` images run the container's command
and args (a one-string command with spaces through ``/bin/sh -c``; ``sh``/``ash``/``bash`` and
``python`` mapped to the host's shell and this kubelet's Python), ``idle`` images ``sleep infinity``.

Each container is started with ``start_new_session=True`` so it leads its own process group: stopping
it signals the whole group (SIGTERM, poll until the grace period ends, then SIGKILL), and once the main
process has exited any process left in its group is SIGKILLed, as a container's cgroup would be.
``container.json`` records the pid together with the process' psutil ``create_time``, so a restarted
kubelet (or ``kubemu down``, a different process) finds its containers again and never mistakes a
process that reused the pid for one of them. While this process is the parent it reaps its children
through their ``Popen`` objects (real exit codes); for containers started by an earlier process it
watches them with psutil and, if the old kubelet is gone, cannot learn their exit code: such a
container is reported as exit 143/137 when this process signalled it, else 137
``ContainerStatusUnknown`` (what Kubernetes reports for a container that vanished unobserved).

Processes a container leaves behind (a shell's children) are orphaned when its main process dies
and would be reaped by init, but in a container whose PID 1 does not reap they would stay zombies.
With ``subreaper=True`` (meant for the kubelet process, it is process-wide) this process becomes a
child subreaper, like containerd's shim: orphans are reparented to it, and it reaps the zombies of
its containers' process groups (``reap_orphans``, also run after every container exit).

The only namespace is a UTS namespace carrying the pod's hostname, where permitted
(kubelet/runtime/uts.py); otherwise a container's view of the pod is emulated (docs/kubelet.md says
how far it goes): every container of a pod binds the pod's IP, and literal ``localhost``/``127.0.0.1``/``0.0.0.0``
in its command, args and env values are rewritten to that IP (``KUBEMU_LOCALHOST`` holds it too);
literal volume ``mountPath``s in command, args, env values and workingDir are rewritten to the volume's
host directory, ``KUBEMU_MOUNT_<VOLUME>`` names it, and ``containers/<name>/rootfs`` holds a symlink per
mount. Containers of a pod share IPC the visible way: ``/dev/shm`` (where POSIX shared memory and
semaphores live) is rewritten to the pod's own ``shm`` directory, unless a volume is mounted there.
The rewrites, the environment and the working directory are kept in ``container.json`` (0600: it
may hold secrets) so ``exec_sync`` runs commands in the same context, after a kubelet restart too.
``stats`` sums RSS and CPU time per process group in one psutil pass (the kubelet enforces memory
limits with it); ``stop_container(reason="OOMKilled")`` records why a container was killed; each
container's record keeps how its previous run ended (the API's ``lastState``). Since the containers
write their logs directly, ``container_status`` also appends ``(size, time)`` to ``<run>.idx`` when a
log grew, which gives log lines their times (``kubectl logs --since/--timestamps``).

Everything is bounded: logs are truncated to their last half past ``max_log_bytes`` (checked when the
status is polled; the file is opened ``O_APPEND`` so the writer follows the truncation), older
instances are removed by the kubelet's garbage collection, JSON files are read up to a size limit, waits have deadlines.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

from kubelet.images import ImageCatalog, ImageEntry, is_shell_form, parse_image
from kubelet.runtime import uts
from kubelet.runtime.base import (
    EXIT_SIGKILL,
    EXIT_SIGTERM,
    EXIT_START_ERROR,
    REASON_CREATING,
    REASON_START_ERROR,
    REASON_UNKNOWN,
    ContainerRuntime,
    ContainerRuntimeError,
    ContainerSpec,
    ContainerState,
    ContainerStats,
    ExecResult,
    ImagePullError,
    ImagePullResult,
    PodSandbox,
    exit_reason,
    rfc3339,
)
from kubelet.runtime.procgroup import (
    CREATE_TIME_TOLERANCE_S,
    POLL_INTERVAL_S,
    children,
    enable_subreaper,
    exit_code_of,
    idle_argv,
    kill_remnants,
    process_create_time,
    reap_if_child,
    same_process,
    signal_group,
)
from kubelet.runtime.view import LOCAL_HOSTS, doc_root, env_name, rewrite_text, rewritten

log = logging.getLogger(__name__)

SANDBOX_FILE = "sandbox.json"
SHM_DIR = "shm"  # the pod's /dev/shm, shared by its containers
DEV_SHM = "/dev/shm"
CONTAINER_FILE = "container.json"
IMAGES_FILE = "images.json"
HTTP_SERVER_MODULE = "kubelet.images.http_server"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_FALLBACK_PORT = 8080
KILL_WAIT_S = 5.0
MAX_LOG_BYTES = 10 * 1024 * 1024
MAX_JSON_BYTES = 1_000_000
MAX_GRACE_PERIOD_S = 24 * 3600.0
MAX_KNOWN_GROUPS = 4096
MAX_INDEX_BYTES = 4 * 1024 * 1024
MAX_EXEC_OUTPUT_BYTES = 4 * 1024 * 1024
EXIT_EXEC_NOT_FOUND = 127

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
_LOG_NAME = re.compile(r"^(\d+)\.(log|idx)$")
_SHELLS = frozenset({"sh", "ash", "dash", "bash"})
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
_Key = tuple[str, str]


@dataclass
class _Record:
    """One container's ``container.json``: its current instance (``restart_count`` is its attempt), what it
    runs, the identity of its process once started and, once over, how it ended."""

    name: str
    image: str
    restart_count: int
    log_path: str
    argv: list[str] = field(default_factory=list)
    pid: int | None = None
    create_time: float | None = None
    started_at: str | None = None
    finished_at: str | None = None
    exit_code: int | None = None
    reason: str = ""
    message: str = ""
    # The context exec and probes run in (kept on disk so a restarted kubelet can exec too).
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = ""
    rewrites: list[list[str]] = field(default_factory=list)
    # last: how the previous run ended (exit_code, reason, message, started_at, finished_at).
    last: dict[str, Any] | None = None

    @property
    def running(self) -> bool:
        return self.pid is not None and self.exit_code is None

    @property
    def created(self) -> bool:
        """Created and not started yet."""
        return self.pid is None and self.exit_code is None

    def state(self) -> ContainerState:
        if self.created:
            return ContainerState(name=self.name, state="waiting", reason=REASON_CREATING,
                                  restart_count=self.restart_count, last=self._last_state())
        return ContainerState(name=self.name, state="running" if self.running else "terminated",
                              reason="" if self.running else self.reason, exit_code=self.exit_code,
                              pid=self.pid if self.running else None, started_at=self.started_at,
                              finished_at=self.finished_at, restart_count=self.restart_count,
                              message=self.message, last=self._last_state())

    def _last_state(self) -> ContainerState | None:
        if not isinstance(self.last, dict):
            return None
        last = self.last
        return ContainerState(name=self.name, state="terminated", reason=str(last.get("reason", "")),
                              exit_code=last.get("exit_code"), started_at=last.get("started_at"),
                              finished_at=last.get("finished_at"), message=str(last.get("message", "")),
                              restart_count=max(0, self.restart_count - 1))

    def summary(self) -> dict[str, Any]:
        """This (ended) run as the next run's ``last``."""
        return {"exit_code": self.exit_code, "reason": self.reason, "message": self.message,
                "started_at": self.started_at, "finished_at": self.finished_at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Record:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class ProcessRuntime(ContainerRuntime):
    """Runs containers as process groups under ``root_dir`` (see the module docstring)."""

    def __init__(self, root_dir: str, catalog: ImageCatalog, python: str = sys.executable,
                 max_log_bytes: int = MAX_LOG_BYTES, subreaper: bool = False):
        self.root_dir = os.path.abspath(root_dir)
        self.catalog = catalog
        self.python = python
        self.max_log_bytes = max(4096, max_log_bytes)
        self._pods_dir = os.path.join(self.root_dir, "pods")
        self._lock = threading.RLock()
        self._procs: dict[_Key, subprocess.Popen[bytes]] = {}
        self._signalled: dict[_Key, int] = {}
        self._reasons: dict[_Key, str] = {}  # reasons forced by stop_container (OOMKilled)
        self._indexed: dict[_Key, tuple[int, int]] = {}  # (restart count, log size) last indexed
        self._groups: dict[int, None] = {}  # container process groups seen, oldest first (bounded)
        self.subreaper = subreaper and enable_subreaper()
        os.makedirs(self._pods_dir, exist_ok=True)

    # -- sandboxes -------------------------------------------------------------------------------

    def run_sandbox(self, uid: str, namespace: str, name: str, ip: str, hostname: str = "") -> PodSandbox:
        sandbox = PodSandbox(uid=uid, namespace=namespace, name=name, ip=ip, dir=self._sandbox_dir(uid),
                             hostname=hostname)
        os.makedirs(os.path.join(sandbox.dir, "containers"), exist_ok=True)
        os.makedirs(os.path.join(sandbox.dir, SHM_DIR), exist_ok=True)
        self._save_sandbox(sandbox)
        return sandbox

    def stop_sandbox(self, sandbox: PodSandbox, grace_period_s: float = 2.0) -> None:
        if not os.path.isdir(sandbox.dir):
            return
        self._stop_many([(sandbox, rec) for rec in self._records(sandbox)], grace_period_s)
        self._mark_not_ready(sandbox)

    def remove_sandbox(self, sandbox: PodSandbox) -> None:
        self.stop_sandbox(sandbox, grace_period_s=0.0)
        path = self._sandbox_dir(sandbox.uid)
        shutil.rmtree(path, ignore_errors=True)
        with self._lock:
            for key in [k for k in self._procs if k[0] == sandbox.uid]:
                self._procs.pop(key).poll()

    def list_sandboxes(self) -> list[PodSandbox]:
        sandboxes = []
        for uid in self._sandbox_uids():
            sandbox = self._load_sandbox(uid)
            if sandbox is not None:
                sandboxes.append(sandbox)
        return sandboxes

    def get_sandbox(self, uid: str) -> PodSandbox | None:
        """The sandbox of pod ``uid`` as recorded on disk, if any."""
        return self._load_sandbox(uid)

    # -- images ----------------------------------------------------------------------------------

    def pull_image(self, image: str) -> ImagePullResult:
        entry = self.catalog.lookup(image)
        canonical = parse_image(image).canonical
        if entry.kind == "fail-pull":
            time.sleep(entry.pull_delay_seconds)
            raise ImagePullError(_pull_error(image, canonical))
        if self.image_present(image):
            return ImagePullResult(image=image, size_bytes=entry.size_bytes, duration_s=0.0)
        started = time.monotonic()
        time.sleep(entry.pull_delay_seconds)
        with self._lock:
            images = self._read_images()
            images[canonical] = {"sizeBytes": entry.size_bytes, "pulledAt": rfc3339()}
            _write_json(os.path.join(self.root_dir, IMAGES_FILE), images)
        duration = time.monotonic() - started
        return ImagePullResult(image=image, size_bytes=entry.size_bytes, duration_s=duration)

    def image_present(self, image: str) -> bool:
        with self._lock:
            return parse_image(image).canonical in self._read_images()

    def list_images(self) -> dict[str, int]:
        """Pulled images, ``{canonical reference: size in bytes}`` (for the node's status)."""
        with self._lock:
            return {ref: int(info.get("sizeBytes", 0)) for ref, info in self._read_images().items()}

    # -- containers ------------------------------------------------------------------------------

    def create_container(self, sandbox: PodSandbox, spec: ContainerSpec) -> ContainerState:
        entry = self.catalog.lookup(spec.image)
        if entry.kind == "fail-pull":
            raise ImagePullError(_pull_error(spec.image, parse_image(spec.image).canonical))
        pod = f"{sandbox.namespace}/{sandbox.name}"
        with self._lock:
            try:
                _check_id("container name", spec.name)
                current = self._load_record(sandbox, spec.name)
                if current is not None and self._refresh(sandbox, current).running:
                    raise ContainerRuntimeError(f"container {spec.name} of pod {pod} is already running "
                                                f"(pid {current.pid})")
                if current is not None and current.created:  # never started: this one replaces it
                    attempt, last = current.restart_count, current.last
                else:
                    attempt = current.restart_count + 1 if current is not None else 0
                    last = current.summary() if current is not None else None
                cdir = self._container_dir(sandbox, spec.name)
                os.makedirs(cdir, exist_ok=True)
                rec = _Record(name=spec.name, image=spec.image, restart_count=attempt,
                              log_path=os.path.join(cdir, f"{attempt}.log"), last=last)
                self._prepare(sandbox, spec, entry, rec)
                self._save_record(sandbox, rec)
            except (OSError, ValueError) as e:
                raise ContainerRuntimeError(f"failed to create container {spec.name} of pod {pod}: {e}") from e
        return rec.state()

    def start_container(self, sandbox: PodSandbox, name: str) -> ContainerState:
        pod = f"{sandbox.namespace}/{sandbox.name}"
        with self._lock:
            rec = self._load_record(sandbox, name)
            if rec is None:
                raise ContainerRuntimeError(f"container {name} of pod {pod} was not created")
            if not rec.created:
                now = f"running (pid {rec.pid})" if rec.running else f"exited ({rec.reason or rec.exit_code})"
                raise ContainerRuntimeError(f"container {name} of pod {pod} is not in the created state: its "
                                            f"attempt {rec.restart_count} is {now}; create it again to restart it")
            self._launch(sandbox, rec)
            self._save_record(sandbox, rec)
        return rec.state()

    def stop_container(self, sandbox: PodSandbox, name: str, grace_period_s: float,
                       reason: str = "") -> ContainerState:
        rec = self._load_record(sandbox, name)
        if rec is None:
            return ContainerState(name=name, state="waiting", reason=REASON_CREATING)
        if reason and rec.running:
            with self._lock:
                self._reasons[(sandbox.uid, name)] = reason
        [(_, rec)] = self._stop_many([(sandbox, rec)], grace_period_s)
        return rec.state()

    def container_status(self, sandbox: PodSandbox, name: str) -> ContainerState:
        rec = self._load_record(sandbox, name)
        if rec is None:
            return ContainerState(name=name, state="waiting", reason=REASON_CREATING)
        rec = self._refresh(sandbox, rec)
        if rec.created:
            return rec.state()
        if self._bound_log(rec.log_path):
            self._reset_index(sandbox, rec)
        self._index_log(sandbox, rec)
        return rec.state()

    def list_containers(self, sandbox: PodSandbox) -> list[ContainerState]:
        return [self.container_status(sandbox, rec.name) for rec in self._records(sandbox)]

    def remove_container(self, sandbox: PodSandbox, name: str, attempt: int | None = None) -> None:
        cdir = self._container_dir(sandbox, name)
        key = (sandbox.uid, name)
        with self._lock:
            rec = self._load_record(sandbox, name)
            if rec is not None and attempt is not None and attempt < rec.restart_count:
                for ext in ("log", "idx"):  # an earlier instance: all that is left of it is its log
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(cdir, f"{attempt}.{ext}"))
                return
            if rec is not None and attempt is not None and attempt > rec.restart_count:
                return
            if rec is not None and self._refresh(sandbox, rec).running:
                raise ContainerRuntimeError(f"container {name} of pod {sandbox.namespace}/{sandbox.name} is "
                                            f"running (pid {rec.pid}): stop it before removing it")
            shutil.rmtree(cdir, ignore_errors=True)
            popen = self._procs.pop(key, None)
            if popen is not None:
                popen.poll()
            for memo in (self._signalled, self._reasons, self._indexed):
                memo.pop(key, None)

    def list_attempts(self, sandbox: PodSandbox, name: str) -> list[int]:
        rec = self._load_record(sandbox, name)
        if rec is None:
            return []
        try:
            names = os.listdir(self._container_dir(sandbox, name))
        except FileNotFoundError:
            return []
        logs = {int(m.group(1)) for m in map(_LOG_NAME.match, names) if m}
        return sorted(a for a in logs | {rec.restart_count} if a <= rec.restart_count)

    def container_log_path(self, sandbox: PodSandbox, name: str, previous: bool = False) -> str | None:
        rec = self._load_record(sandbox, name)
        if rec is None:
            return None
        run = rec.restart_count - (1 if previous else 0)
        path = os.path.join(self._container_dir(sandbox, name), f"{run}.log")
        return path if run >= 0 and os.path.isfile(path) else None

    def log_index(self, sandbox: PodSandbox, name: str, previous: bool = False) -> list[tuple[int, float]]:
        path = self.container_log_path(sandbox, name, previous)
        return _read_index(path) if path is not None else []

    def _index_log(self, sandbox: PodSandbox, rec: _Record) -> None:
        """Note "the log had reached N bytes by now" whenever it grew since the last look.

        The log file is written by the container directly (so it survives a kubelet restart), which
        leaves no per-line times; this index gives ``--since`` and ``--timestamps`` a time for every
        line, as precise as the polling (one PLEG period)."""
        key = (sandbox.uid, rec.name)
        try:
            size = os.path.getsize(rec.log_path)
        except OSError:
            return
        with self._lock:
            run, seen = self._indexed.get(key, (-1, -1))
            if run == rec.restart_count and size <= seen:
                return
            if run != rec.restart_count:  # first look at this run in this process: read what is on disk
                seen = max((o for o, _ in self._index_entries(rec)), default=-1)
                if size <= seen:
                    self._indexed[key] = (rec.restart_count, seen)
                    return
            self._indexed[key] = (rec.restart_count, size)
        with contextlib.suppress(OSError), open(rec.log_path[: -len(".log")] + ".idx", "a", encoding="ascii") as f:
            if f.tell() < MAX_INDEX_BYTES:
                f.write(f"{size} {time.time():.3f}\n")

    def _index_entries(self, rec: _Record) -> list[tuple[int, float]]:
        return _read_index(rec.log_path)

    def _reset_index(self, sandbox: PodSandbox, rec: _Record) -> None:
        """After truncation the old offsets mean nothing: start the index again from the kept tail."""
        with self._lock:
            self._indexed.pop((sandbox.uid, rec.name), None)
        with contextlib.suppress(OSError):
            size = os.path.getsize(rec.log_path)
            with open(rec.log_path[: -len(".log")] + ".idx", "w", encoding="ascii") as f:
                f.write(f"{size} {time.time():.3f}\n")

    # -- exec and stats --------------------------------------------------------------------------

    def exec_sync(self, sandbox: PodSandbox, name: str, argv: list[str], *, stdin: bytes = b"",
                  timeout_s: float = 60.0) -> ExecResult:
        rec = self._load_record(sandbox, name)
        if rec is None or not self._refresh(sandbox, rec).running:
            raise ContainerRuntimeError(f"container {name} of pod {sandbox.namespace}/{sandbox.name} is not running")
        if not argv:
            raise ContainerRuntimeError("no command given")
        rewrites = [(r[0], r[1]) for r in rec.rewrites if isinstance(r, list) and len(r) == 2]
        command = self._command([rewrite_text(a, rewrites) for a in argv])
        env = rec.env or {"PATH": DEFAULT_PATH}
        cwd = rec.cwd if rec.cwd and os.path.isdir(rec.cwd) else sandbox.dir
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = uts.start_in_uts_of(rec.pid, lambda: subprocess.Popen(
                    command, stdin=subprocess.PIPE, stdout=out, stderr=err, cwd=cwd, env=env,
                    start_new_session=True, close_fds=True))
            except OSError as e:
                return ExecResult(exit_code=EXIT_EXEC_NOT_FOUND if isinstance(e, FileNotFoundError) else
                                  EXIT_START_ERROR, stderr=f"kubemu: {_start_error(command, e)}\n".encode())
            timed_out = False
            try:
                proc.communicate(stdin, timeout=max(0.0, timeout_s))
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)  # the command and anything it left behind
                proc.wait()
            stdout, cut_out = _read_bounded(out)
            stderr, cut_err = _read_bounded(err)
        return ExecResult(exit_code=exit_code_of(proc.returncode), stdout=stdout, stderr=stderr, timed_out=timed_out,
                          truncated=cut_out or cut_err)

    def stats(self, sandboxes: list[PodSandbox]) -> dict[tuple[str, str], ContainerStats]:
        """One pass over the machine's processes, each summed into the container whose process group
        it is in (psutil RSS, user+system CPU time including reaped children)."""
        groups: dict[int, tuple[_Key, float]] = {}
        for sandbox in sandboxes:
            for rec in self._records(sandbox):
                if rec.running and rec.pid is not None:
                    groups[rec.pid] = ((sandbox.uid, rec.name), (rec.create_time or 0.0) - CREATE_TIME_TOLERANCE_S)
        totals: dict[_Key, list[float]] = {key: [0, 0.0, 0] for key, _ in groups.values()}
        if not groups:
            return {}
        for proc in psutil.process_iter(["memory_info", "cpu_times", "create_time", "status"]):
            info = proc.info
            if info["status"] == psutil.STATUS_ZOMBIE or info["memory_info"] is None:
                continue
            try:
                pgid = os.getpgid(proc.pid)
            except OSError:
                continue
            group = groups.get(pgid)
            if group is None or (info["create_time"] or 0.0) < group[1]:
                continue
            total, cpu = totals[group[0]], info["cpu_times"]
            total[0] += info["memory_info"].rss
            if cpu is not None:
                total[1] += cpu.user + cpu.system + getattr(cpu, "children_user", 0.0) + \
                    getattr(cpu, "children_system", 0.0)
            total[2] += 1
        return {key: ContainerStats(memory_bytes=int(t[0]), cpu_seconds=t[1], processes=int(t[2]))
                for key, t in totals.items()}

    # -- node ------------------------------------------------------------------------------------

    def cleanup_all(self, grace_period_s: float = 1.0, remove: bool = False) -> int:
        sandboxes = [self._load_sandbox(uid, stub=True) for uid in self._sandbox_uids()]
        items = [(sb, rec) for sb in sandboxes if sb is not None for rec in self._records(sb)]
        running = sum(1 for sb, rec in items if self._refresh(sb, rec).running)
        self._stop_many(items, grace_period_s)
        for sandbox in sandboxes:
            if sandbox is None:
                continue
            if remove:
                self.remove_sandbox(sandbox)
            else:
                self._mark_not_ready(sandbox)
        return running

    def reap_orphans(self) -> int:
        """Reap zombie children left by containers' process groups (orphans reparented to this
        subreaper); the group leaders themselves are reaped through their Popen or ``_probe``."""
        with self._lock:
            groups = set(self._groups)
        reaped = 0
        for child in children():
            with contextlib.suppress(psutil.Error, OSError):
                if child.status() != psutil.STATUS_ZOMBIE:
                    continue
                pgid = os.getpgid(child.pid)
                if pgid != child.pid and pgid in groups and os.waitpid(child.pid, os.WNOHANG)[0]:
                    reaped += 1
        return reaped

    def _remember_group(self, pgid: int | None) -> None:
        if pgid is None:
            return
        with self._lock:
            self._groups.pop(pgid, None)
            self._groups[pgid] = None
            while len(self._groups) > MAX_KNOWN_GROUPS:
                self._groups.pop(next(iter(self._groups)))

    def _end_group(self, rec: _Record) -> None:
        """Once a container's main process is gone: SIGKILL what is left of its group, reap orphans."""
        self._remember_group(rec.pid)
        kill_remnants(rec)
        if self.subreaper:
            self.reap_orphans()

    # -- launching -------------------------------------------------------------------------------

    def _prepare(self, sandbox: PodSandbox, spec: ContainerSpec, entry: ImageEntry, rec: _Record) -> None:
        """Resolve what ``rec`` will run and in which context (argv, env, working dir, rewrites, rootfs)."""
        rewrites = self._rewrites(sandbox, spec)
        spec = rewritten(spec, rewrites)
        rec.argv = self._argv(sandbox, spec, entry)
        rec.env = self._env(sandbox, spec, entry)
        rec.cwd = self._workdir(sandbox, spec)
        rec.rewrites = [list(r) for r in rewrites]

    def _launch(self, sandbox: PodSandbox, rec: _Record) -> None:
        """Start the process of the created ``rec`` (or record a StartError in it and in its log)."""
        key = (sandbox.uid, rec.name)
        try:
            with open(rec.log_path, "ab") as logf:
                popen = uts.start_with_hostname(sandbox.hostname or sandbox.name, lambda: subprocess.Popen(
                    rec.argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, cwd=rec.cwd,
                    env=rec.env, start_new_session=True, close_fds=True))
        except OSError as e:
            now = rfc3339()
            rec.started_at, rec.finished_at = now, now
            rec.exit_code, rec.reason = EXIT_START_ERROR, REASON_START_ERROR
            rec.message = _start_error(rec.argv, e)
            with open(rec.log_path, "ab") as logf:
                logf.write(f"kubemu: {rec.message}\n".encode())
            return
        rec.pid, rec.started_at = popen.pid, rfc3339()
        rec.create_time = process_create_time(popen.pid)
        self._procs[key] = popen
        self._remember_group(popen.pid)
        self._signalled.pop(key, None)

    def _argv(self, sandbox: PodSandbox, spec: ContainerSpec, entry: ImageEntry) -> list[str]:
        user = [*spec.command, *spec.args]
        if entry.kind == "http-server":
            if spec.command and os.path.basename(spec.command[0]) in _SHELLS:
                return self._command(user)
            port = spec.ports[0] if spec.ports else (entry.port or 80)
            fallback = entry.fallback_port or DEFAULT_FALLBACK_PORT
            argv = [self.python, "-m", HTTP_SERVER_MODULE, "--host", sandbox.ip or "127.0.0.1",
                    "--port", str(port), "--fallback-port", str(fallback), "--name", entry.name]
            root = doc_root(spec, entry)
            return argv + (["--root", root] if root else [])
        if entry.kind == "shell":
            if user:
                return self._command(user)
            if entry.default_command:
                return self._command(entry.default_command)
        return idle_argv(self.python)

    def _command(self, argv: list[str]) -> list[str]:
        """Map a container command onto the host: shell form via /bin/sh -c, shells and python resolved."""
        if is_shell_form(argv):
            return ["/bin/sh", "-c", argv[0]]
        exe, base = argv[0], os.path.basename(argv[0])
        if base in _SHELLS:
            exe = shutil.which(base) or "/bin/sh"
        elif _PYTHON.match(base):
            exe = self.python
        return [exe, *argv[1:]]

    def _env(self, sandbox: PodSandbox, spec: ContainerSpec, entry: ImageEntry) -> dict[str, str]:
        env = {
            "PATH": f"{os.path.dirname(self.python)}:{DEFAULT_PATH}",
            "HOME": sandbox.dir,
            "HOSTNAME": sandbox.hostname or sandbox.name,
            "PYTHONUNBUFFERED": "1",
            "KUBEMU_POD_NAME": sandbox.name,
            "KUBEMU_POD_NAMESPACE": sandbox.namespace,
            "KUBEMU_POD_IP": sandbox.ip,
            "KUBEMU_POD_UID": sandbox.uid,
            "KUBEMU_CONTAINER_NAME": spec.name,
        }
        env["KUBEMU_LOCALHOST"] = sandbox.ip or "127.0.0.1"
        env["KUBEMU_ROOTFS"] = self._rootfs(sandbox, spec)
        for mount in spec.mounts:
            env[f"KUBEMU_MOUNT_{env_name(mount.volume)}"] = mount.host_path
        env.update({str(k): str(v) for k, v in spec.env.items()})
        if entry.kind == "http-server":
            env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        return env

    def _rewrites(self, sandbox: PodSandbox, spec: ContainerSpec) -> list[tuple[str, str]]:
        """What a container's literal paths and addresses mean on the host (see the module docstring):
        each mountPath → the volume's host path (longest first), /dev/shm → the pod's shared ``shm``
        directory (unless a volume is mounted on it), localhost/127.0.0.1/0.0.0.0 → pod IP."""
        out = [(m.mount_path.rstrip("/"), m.host_path) for m in spec.mounts if m.mount_path.rstrip("/")]
        if not any(DEV_SHM == path or DEV_SHM.startswith(path + "/") for path, _ in out):
            out.append((DEV_SHM, os.path.join(sandbox.dir, SHM_DIR)))
        out.sort(key=lambda r: len(r[0]), reverse=True)
        if sandbox.ip:
            out += [(host, sandbox.ip) for host in LOCAL_HOSTS]
        return out

    def _rootfs(self, sandbox: PodSandbox, spec: ContainerSpec) -> str:
        """The container's view of its mounts: ``containers/<name>/rootfs/<mountPath>`` → the volume."""
        rootfs = os.path.join(self._container_dir(sandbox, spec.name), "rootfs")
        os.makedirs(rootfs, exist_ok=True)
        for mount in spec.mounts:
            link = os.path.normpath(os.path.join(rootfs, mount.mount_path.lstrip("/")))
            if not link.startswith(rootfs + os.sep):
                continue
            os.makedirs(os.path.dirname(link), exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(link)
            with contextlib.suppress(OSError):
                os.symlink(mount.host_path, link)
        return rootfs

    def _workdir(self, sandbox: PodSandbox, spec: ContainerSpec) -> str:
        """``workingDir`` if it exists on the host, else the same path inside the sandbox's ``rootfs``."""
        if not spec.working_dir:
            return sandbox.dir
        if os.path.isdir(spec.working_dir):
            return spec.working_dir
        rootfs = os.path.join(sandbox.dir, "rootfs")
        path = os.path.normpath(os.path.join(rootfs, spec.working_dir.lstrip("/")))
        if not path.startswith(rootfs + os.sep) and path != rootfs:
            raise ValueError(f"workingDir {spec.working_dir!r} escapes the sandbox")
        os.makedirs(path, exist_ok=True)
        return path

    # -- observing -------------------------------------------------------------------------------

    def _refresh(self, sandbox: PodSandbox, rec: _Record) -> _Record:
        """``rec`` updated: if its process has exited, finalized with its exit code and saved."""
        if not rec.running:
            self._reap((sandbox.uid, rec.name))
            return rec
        alive, exit_code = self._probe((sandbox.uid, rec.name), rec)
        return rec if alive else self._finalize(sandbox, rec, exit_code)

    def _probe(self, key: _Key, rec: _Record) -> tuple[bool, int | None]:
        """(alive, exit code if known). Our own child: via its Popen; anyone else's: via psutil."""
        popen = self._procs.get(key)
        if popen is not None and popen.pid == rec.pid:
            rc = popen.poll()
            return rc is None, None if rc is None else exit_code_of(rc)
        try:
            proc = psutil.Process(rec.pid)
            if not same_process(proc, rec):
                return False, None
            if proc.status() != psutil.STATUS_ZOMBIE:
                return True, None
            return False, reap_if_child(proc)
        except psutil.NoSuchProcess:
            return False, None
        except psutil.AccessDenied:
            return True, None

    def _reap(self, key: _Key) -> None:
        """Forget (and reap, so no zombie stays) our child of a container another process finalized."""
        with self._lock:
            popen = self._procs.pop(key, None)
        if popen is not None and popen.poll() is None:
            with self._lock:
                self._procs[key] = popen  # still running: a newer run, or not ours to forget yet

    def _finalize(self, sandbox: PodSandbox, rec: _Record, exit_code: int | None) -> _Record:
        key = (sandbox.uid, rec.name)
        with self._lock:
            current = self._load_record(sandbox, rec.name)
            if current is not None and current.restart_count == rec.restart_count and not current.running:
                return current
            signalled = self._signalled.pop(key, None)
            forced = self._reasons.pop(key, "")
            rec.reason, rec.message = "", ""
            if exit_code is None and signalled in (signal.SIGTERM, signal.SIGKILL):
                exit_code = EXIT_SIGTERM if signalled == signal.SIGTERM else EXIT_SIGKILL
            elif exit_code is None:
                exit_code, rec.reason = EXIT_SIGKILL, REASON_UNKNOWN
                rec.message = "the container's process exited while no kubelet watched it: exit code unknown"
            rec.exit_code, rec.finished_at = exit_code, rfc3339()
            rec.reason = forced or rec.reason or exit_reason(exit_code)
            self._procs.pop(key, None)
            if current is None or current.restart_count == rec.restart_count:
                with contextlib.suppress(FileNotFoundError):  # the sandbox was removed meanwhile
                    self._save_record(sandbox, rec)
        self._end_group(rec)
        return rec

    # -- stopping --------------------------------------------------------------------------------

    def _stop_many(self, items: list[tuple[PodSandbox, _Record]],
                   grace_period_s: float) -> list[tuple[PodSandbox, _Record]]:
        """Stop all ``items`` together: SIGTERM, wait out the grace period (none: straight to SIGKILL),
        SIGKILL, wait; kill leftovers."""
        items = [(sb, self._refresh(sb, rec)) for sb, rec in items]
        live = [(sb, rec) for sb, rec in items if rec.running]
        was_over = {(sb.uid, rec.name) for sb, rec in items if not rec.running}
        if grace_period_s > 0:  # a zero grace period is a plain SIGKILL, as CRI's StopContainer(timeout=0)
            self._signal_all(live, signal.SIGTERM)
            live = self._wait_exit(live, min(grace_period_s, MAX_GRACE_PERIOD_S))
        if live:
            self._signal_all(live, signal.SIGKILL)
            live = self._wait_exit(live, KILL_WAIT_S)
        for sb, rec in live:
            log.warning("container %s of pod %s (pid %s) survived SIGKILL", rec.name, sb.uid, rec.pid)
        results = []
        for sb, rec in items:
            current = self._refresh(sb, self._load_record(sb, rec.name) or rec)
            if (sb.uid, rec.name) in was_over:
                self._end_group(current)  # in case an earlier kubelet died before doing so
            results.append((sb, current))
        return results

    def _signal_all(self, items: Iterable[tuple[PodSandbox, _Record]], sig: int) -> None:
        for sb, rec in items:
            with self._lock:
                self._signalled[(sb.uid, rec.name)] = sig
            signal_group(rec, sig)

    def _wait_exit(self, items: list[tuple[PodSandbox, _Record]],
                   timeout_s: float) -> list[tuple[PodSandbox, _Record]]:
        """Poll until every item's process has exited or ``timeout_s`` passed; returns those still running."""
        deadline = time.monotonic() + timeout_s
        while True:
            items = [(sb, rec) for sb, rec in items if self._refresh(sb, rec).running]
            if not items or time.monotonic() >= deadline:
                return items
            time.sleep(POLL_INTERVAL_S)

    # -- disk state ------------------------------------------------------------------------------

    def _sandbox_dir(self, uid: str) -> str:
        _check_id("pod uid", uid)
        return os.path.join(self._pods_dir, uid)

    def _container_dir(self, sandbox: PodSandbox, name: str) -> str:
        _check_id("container name", name)
        return os.path.join(self._sandbox_dir(sandbox.uid), "containers", name)

    def _sandbox_uids(self) -> list[str]:
        try:
            names = sorted(os.listdir(self._pods_dir))
        except FileNotFoundError:
            return []
        return [n for n in names if _SAFE_ID.match(n) and os.path.isdir(os.path.join(self._pods_dir, n))]

    def _save_sandbox(self, sandbox: PodSandbox) -> None:
        data = {"uid": sandbox.uid, "namespace": sandbox.namespace, "name": sandbox.name, "ip": sandbox.ip,
                "ready": sandbox.ready, "hostname": sandbox.hostname}
        _write_json(os.path.join(self._sandbox_dir(sandbox.uid), SANDBOX_FILE), data)

    def _mark_not_ready(self, sandbox: PodSandbox) -> None:
        sandbox.ready = False
        if os.path.isfile(os.path.join(self._sandbox_dir(sandbox.uid), SANDBOX_FILE)):
            self._save_sandbox(sandbox)

    def _load_sandbox(self, uid: str, stub: bool = False) -> PodSandbox | None:
        """The recorded sandbox; with ``stub``, a nameless one when its sandbox.json is missing or bad."""
        path = self._sandbox_dir(uid)
        data = _read_json(os.path.join(path, SANDBOX_FILE))
        if data is None or data.get("uid") != uid:
            if data is not None:
                log.warning("ignoring %s: its uid does not match its directory", path)
            return PodSandbox(uid=uid, namespace="", name="", ip="", dir=path, ready=False) if stub else None
        return PodSandbox(uid=uid, namespace=str(data.get("namespace", "")), name=str(data.get("name", "")),
                          ip=str(data.get("ip", "")), dir=path, ready=bool(data.get("ready", True)),
                          hostname=str(data.get("hostname") or ""))

    def _records(self, sandbox: PodSandbox) -> list[_Record]:
        containers = os.path.join(self._sandbox_dir(sandbox.uid), "containers")
        try:
            names = sorted(os.listdir(containers))
        except FileNotFoundError:
            return []
        records = (self._load_record(sandbox, n) for n in names if _SAFE_ID.match(n))
        return [r for r in records if r is not None]

    def _load_record(self, sandbox: PodSandbox, name: str) -> _Record | None:
        data = _read_json(os.path.join(self._container_dir(sandbox, name), CONTAINER_FILE))
        if data is None:
            return None
        try:
            return _Record.from_json(data)
        except TypeError:
            log.warning("ignoring malformed %s of container %s in pod %s", CONTAINER_FILE, name, sandbox.uid)
            return None

    def _save_record(self, sandbox: PodSandbox, rec: _Record) -> None:
        _write_json(os.path.join(self._container_dir(sandbox, rec.name), CONTAINER_FILE), asdict(rec))

    def _read_images(self) -> dict[str, dict[str, Any]]:
        data = _read_json(os.path.join(self.root_dir, IMAGES_FILE)) or {}
        return {k: v for k, v in data.items() if isinstance(v, dict)}

    # -- logs ------------------------------------------------------------------------------------

    def _bound_log(self, path: str) -> bool:
        """Past ``max_log_bytes``, keep the last half of the log (from a line start), copytruncate style;
        returns whether it truncated."""
        try:
            if os.path.getsize(path) <= self.max_log_bytes:
                return False
            keep = self.max_log_bytes // 2
            with open(path, "r+b") as f:
                f.seek(-keep, os.SEEK_END)
                tail = f.read(keep)
                tail = tail[tail.find(b"\n") + 1:]
                f.seek(0)
                f.truncate()
                f.write(b"[kubemu] log truncated to its last %d bytes\n" % len(tail) + tail)
            return True
        except OSError as e:
            log.warning("could not bound log %s: %s", path, e)
            return False


# -- small helpers -------------------------------------------------------------------------------


def _check_id(what: str, value: str) -> None:
    if not _SAFE_ID.match(value or ""):
        raise ValueError(f"invalid {what} {value!r}: letters, digits, '.', '_' and '-' only")


def _pull_error(image: str, canonical: str) -> str:
    return (f'failed to pull and unpack image "{canonical}": failed to resolve reference "{canonical}": '
            f'{canonical}: not found (image "{image}" is a fail-pull image in the kubemu catalog)')


def _start_error(argv: list[str], error: Exception) -> str:
    if isinstance(error, FileNotFoundError) and argv and error.filename in (argv[0], None):
        return f'exec: "{argv[0]}": executable file not found in $PATH'
    if isinstance(error, PermissionError) and argv:
        return f'exec: "{argv[0]}": permission denied'
    return f"failed to start container process: {error}"


def _read_index(log_path: str) -> list[tuple[int, float]]:
    """The ``(offset, unix time)`` entries of a log's ``.idx`` file (see ``_index_log``)."""
    try:
        with open(log_path[: -len(".log")] + ".idx", encoding="ascii") as f:
            lines = f.read(MAX_INDEX_BYTES).splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for line in lines:
        offset, _, when = line.partition(" ")
        with contextlib.suppress(ValueError):
            out.append((int(offset), float(when)))
    return out


def _read_bounded(f: Any) -> tuple[bytes, bool]:
    """The first MAX_EXEC_OUTPUT_BYTES of a temporary file, and whether there was more."""
    f.seek(0)
    data = f.read(MAX_EXEC_OUTPUT_BYTES + 1)
    return data[:MAX_EXEC_OUTPUT_BYTES], len(data) > MAX_EXEC_OUTPUT_BYTES


def _read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.loads(f.read(MAX_JSON_BYTES))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        log.warning("ignoring unreadable %s: %s", path, e)
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: str, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same dir, then rename), readable by its
    owner only (a container's record holds its environment, secrets included)."""
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)
