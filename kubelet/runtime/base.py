"""The container runtime interface the kubelet drives, in the shape of the CRI, minus gRPC.

As in Kubernetes, a pod is first given a *sandbox* (its IP and a directory holding its state and
logs), then the kubelet pulls each image, *creates* each container inside the sandbox (with its
environment resolved and its volumes as ``Mount``s: everything is prepared, nothing runs) and
*starts* it, polls the containers' states, runs commands in them (``exec_sync``: exec probes, hooks,
``kubectl exec``), samples their usage (``stats``: memory limits, CPU), stops them (SIGTERM, a grace
period, SIGKILL), *removes* dead ones it no longer needs (container garbage collection), and finally
removes the sandbox. The kubelet only ever talks to ``ContainerRuntime``; ``ProcessRuntime``
(process.py) runs every container as a real OS process, ``SimulatedRuntime`` (simulated.py) runs
none and follows behaviours given as data. docs/kubelet.md has the table of calls and their
contracts, and how they map to the CRI.

A container is one name in a pod; each create makes a new *instance* of it, numbered by its
``attempt`` (CRI's ContainerMetadata.attempt), which is also its ``restart_count``: 0 for the first,
the previous instance's attempt + 1 after. Creating again replaces the current instance only if
that one was created and never started. The previous instance's end is kept in the new one's
``last`` (the API's lastState) and its log stays readable (``logs --previous``) until it is removed.

States follow the CRI/Kubernetes conventions: ``waiting`` (created but not started: reason
``ContainerCreating``; or not created at all), ``running`` and ``terminated`` with an exit code
(128+signal when killed: 143 for SIGTERM, 137 for SIGKILL) and a reason (``Completed`` for 0,
``Error`` otherwise, ``StartError`` when the process could not be started,
``ContainerStatusUnknown`` when it vanished while nobody could observe its exit code).
Times are RFC 3339 UTC strings with a ``Z`` suffix, as in the API.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal

StateName = Literal["waiting", "running", "terminated"]

REASON_COMPLETED = "Completed"
REASON_ERROR = "Error"
REASON_START_ERROR = "StartError"
REASON_UNKNOWN = "ContainerStatusUnknown"
REASON_CREATING = "ContainerCreating"
EXIT_SIGTERM = 128 + 15
EXIT_SIGKILL = 128 + 9
EXIT_START_ERROR = 128


class ContainerRuntimeError(Exception):
    """A runtime operation failed."""


class ImagePullError(ContainerRuntimeError):
    """The image could not be pulled (the kubelet reports ErrImagePull, then ImagePullBackOff)."""


@dataclass
class PodSandbox:
    """A pod's sandbox: its identity, IP and state directory."""

    uid: str
    namespace: str
    name: str
    ip: str
    dir: str
    ready: bool = True
    hostname: str = ""  # the pod's hostname (spec.hostname or its name); "" means the name


@dataclass
class Mount:
    """A volume as one container sees it: the volume's directory (or file) on the host, and the path
    the container expects it at. The kubelet prepares ``host_path`` (kubelet/volumes.py)."""

    volume: str
    host_path: str
    mount_path: str
    read_only: bool = False


@dataclass
class ContainerSpec:
    """What to run: the parts of a pod's container spec the runtime needs (env already resolved)."""

    name: str
    image: str
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    ports: list[int] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    # The pod's labels and annotations, as the CRI passes them (the simulated runtime matches on them).
    pod_labels: dict[str, str] = field(default_factory=dict)
    pod_annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class ContainerState:
    """A container's observed state, as the kubelet reports it in the pod's containerStatuses."""

    name: str
    state: StateName
    reason: str = ""
    exit_code: int | None = None
    pid: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    restart_count: int = 0
    message: str = ""
    # last: how the previous run ended (the API's lastState.terminated), if there was one.
    last: ContainerState | None = None


@dataclass(frozen=True)
class ExecResult:
    """The outcome of a command run in a container's context (exec probes, hooks, kubectl exec)."""

    exit_code: int
    stdout: bytes = b""
    stderr: bytes = b""
    timed_out: bool = False
    truncated: bool = False


@dataclass(frozen=True)
class ContainerStats:
    """Resource usage of one container's process tree: resident memory and cumulative CPU time."""

    memory_bytes: int = 0
    cpu_seconds: float = 0.0
    processes: int = 0


@dataclass(frozen=True)
class ImagePullResult:
    image: str
    size_bytes: int
    duration_s: float


def rfc3339(ts: float | None = None) -> str:
    """``ts`` (default now) as an RFC 3339 UTC timestamp with second precision, like the API's."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if ts is None else ts))


def exit_reason(exit_code: int) -> str:
    return REASON_COMPLETED if exit_code == 0 else REASON_ERROR


class ContainerRuntime(ABC):
    """Sandboxes, images and containers of the pods on one node."""

    # name: reported in the Node's nodeInfo.containerRuntimeVersion (kubemu-<name>://<version>).
    name = "process"
    # simulated: no real processes or sockets, so the kubelet's network probes are not attempted
    # (the runtime's probe() answers them).
    simulated = False

    def probe(self, sandbox: PodSandbox, name: str, kind: str) -> bool | None:
        """A simulated runtime's verdict for a ``kind`` (liveness/readiness/startup) probe; None means
        "probe for real"."""
        return None

    # -- sandboxes -------------------------------------------------------------------------------

    @abstractmethod
    def run_sandbox(self, uid: str, namespace: str, name: str, ip: str, hostname: str = "") -> PodSandbox:
        """Create (or find again) the sandbox of pod ``uid`` with IP ``ip`` and hostname ``hostname``."""

    @abstractmethod
    def stop_sandbox(self, sandbox: PodSandbox, grace_period_s: float = 2.0) -> None:
        """Stop every container of the sandbox and mark it not ready; logs stay."""

    @abstractmethod
    def remove_sandbox(self, sandbox: PodSandbox) -> None:
        """Stop the sandbox if needed and delete its directory (state and logs)."""

    @abstractmethod
    def list_sandboxes(self) -> list[PodSandbox]:
        """Every sandbox recorded on disk, including ones created by an earlier kubelet process."""

    # -- images ----------------------------------------------------------------------------------

    @abstractmethod
    def pull_image(self, image: str) -> ImagePullResult:
        """Pull ``image`` (instant if present); raises ImagePullError if it cannot be pulled."""

    @abstractmethod
    def image_present(self, image: str) -> bool:
        """Whether ``image`` was pulled already."""

    @abstractmethod
    def list_images(self) -> dict[str, int]:
        """Pulled images, ``{canonical reference: size in bytes}``: the node reports them in
        ``status.images``, which the scheduler's ImageLocality plugin scores."""

    # -- containers ------------------------------------------------------------------------------

    @abstractmethod
    def create_container(self, sandbox: PodSandbox, spec: ContainerSpec) -> ContainerState:
        """Prepare a new instance of ``spec`` in the sandbox without running it (CRI CreateContainer):
        validate, resolve the image, make its directory, log path and record. Returns its ``waiting``
        (``ContainerCreating``) state with its attempt as ``restart_count`` and the previous run as
        ``last``. Raises ImagePullError for an image that cannot exist and ContainerRuntimeError if the
        container is running or cannot be prepared (the kubelet reports CreateContainerError)."""

    @abstractmethod
    def start_container(self, sandbox: PodSandbox, name: str) -> ContainerState:
        """Launch the created instance of container ``name`` (CRI StartContainer). A process that cannot
        be started gives a ``terminated`` state with reason ``StartError``; a container that is not in
        the created state (never created, running, or already run) raises ContainerRuntimeError."""

    def run_container(self, sandbox: PodSandbox, spec: ContainerSpec) -> ContainerState:
        """Create then start ``spec``: a convenience for callers that need no step in between."""
        self.create_container(sandbox, spec)
        return self.start_container(sandbox, spec.name)

    @abstractmethod
    def stop_container(self, sandbox: PodSandbox, name: str, grace_period_s: float,
                       reason: str = "") -> ContainerState:
        """SIGTERM the container, SIGKILL it after ``grace_period_s``; returns its terminated state.
        A ``reason`` (``OOMKilled``) replaces the one its exit code would give."""

    @abstractmethod
    def remove_container(self, sandbox: PodSandbox, name: str, attempt: int | None = None) -> None:
        """Remove a dead instance (CRI RemoveContainer): ``attempt`` an earlier one (its log goes), or
        ``None`` the container itself (its record and the logs of all its instances). Refuses a running
        container (ContainerRuntimeError); removing what is not there is not an error."""

    @abstractmethod
    def list_attempts(self, sandbox: PodSandbox, name: str) -> list[int]:
        """The attempts of container ``name`` the runtime still holds, oldest first: the current one and
        the dead earlier ones not removed yet (for container garbage collection)."""

    @abstractmethod
    def container_status(self, sandbox: PodSandbox, name: str) -> ContainerState:
        """The current instance's state (``waiting`` if it is only created, or was never created)."""

    @abstractmethod
    def list_containers(self, sandbox: PodSandbox) -> list[ContainerState]:
        """The current state of every container created in the sandbox."""

    @abstractmethod
    def container_log_path(self, sandbox: PodSandbox, name: str, previous: bool = False) -> str | None:
        """The log file of the container's current (or previous) run, if it exists."""

    def log_index(self, sandbox: PodSandbox, name: str, previous: bool = False) -> list[tuple[int, float]]:
        """``(byte offset, unix time)`` pairs: the log had reached that size by that time (for
        ``--since`` and ``--timestamps``); empty when the runtime keeps no index."""
        return []

    @abstractmethod
    def exec_sync(self, sandbox: PodSandbox, name: str, argv: list[str], *, stdin: bytes = b"",
                  timeout_s: float = 60.0) -> ExecResult:
        """Run ``argv`` in the running container's context (its environment, working directory, pod IP
        and mounts) and wait for it; a command still running after ``timeout_s`` is killed
        (``timed_out``). Raises ContainerRuntimeError if the container is not running."""

    @abstractmethod
    def stats(self, sandboxes: list[PodSandbox]) -> dict[tuple[str, str], ContainerStats]:
        """Usage of every running container of ``sandboxes``, by ``(pod uid, container name)``."""

    # -- node ------------------------------------------------------------------------------------

    @abstractmethod
    def cleanup_all(self, grace_period_s: float = 1.0, remove: bool = False) -> int:
        """Stop every container of every sandbox on disk (and delete them if ``remove``); returns how
        many containers were running."""
