"""The container runtime interface the kubelet drives, in the shape of the CRI, minus gRPC.

As in Kubernetes, a pod is first given a *sandbox* (its IP and a directory holding its state and
logs), then the kubelet pulls each image and starts each container inside the sandbox, polls the
containers' states, and finally stops the containers (SIGTERM, a grace period, SIGKILL) and removes
the sandbox. The kubelet only ever talks to ``ContainerRuntime``; ``ProcessRuntime`` (process.py) is
the implementation that runs every container as a real OS process.

States follow the CRI/Kubernetes conventions: ``waiting`` (never started), ``running`` and
``terminated`` with an exit code (128+signal when killed: 143 for SIGTERM, 137 for SIGKILL) and a
reason (``Completed`` for 0, ``Error`` otherwise, ``StartError`` when the process could not be
started, ``ContainerStatusUnknown`` when it vanished while nobody could observe its exit code).
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

    # -- sandboxes -------------------------------------------------------------------------------

    @abstractmethod
    def run_sandbox(self, uid: str, namespace: str, name: str, ip: str) -> PodSandbox:
        """Create (or find again) the sandbox of pod ``uid`` with IP ``ip``."""

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

    # -- containers ------------------------------------------------------------------------------

    @abstractmethod
    def start_container(self, sandbox: PodSandbox, spec: ContainerSpec) -> ContainerState:
        """Start ``spec`` in the sandbox; starting a name again is a restart (restart_count + 1)."""

    @abstractmethod
    def stop_container(self, sandbox: PodSandbox, name: str, grace_period_s: float) -> ContainerState:
        """SIGTERM the container, SIGKILL it after ``grace_period_s``; returns its terminated state."""

    @abstractmethod
    def container_status(self, sandbox: PodSandbox, name: str) -> ContainerState:
        """The container's current state (``waiting`` if it was never started)."""

    @abstractmethod
    def list_containers(self, sandbox: PodSandbox) -> list[ContainerState]:
        """The current state of every container ever started in the sandbox."""

    @abstractmethod
    def container_log_path(self, sandbox: PodSandbox, name: str, previous: bool = False) -> str | None:
        """The log file of the container's current (or previous) run, if it exists."""

    # -- node ------------------------------------------------------------------------------------

    @abstractmethod
    def cleanup_all(self, grace_period_s: float = 1.0, remove: bool = False) -> int:
        """Stop every container of every sandbox on disk (and delete them if ``remove``); returns how
        many containers were running."""
