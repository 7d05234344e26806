"""The container runtime layer: the CRI-like interface (base), the process-based runtime (process) and the
simulated one (simulated, imported on demand: ``--runtime simulated``)."""

from kubelet.runtime.base import (
    ContainerRuntime,
    ContainerRuntimeError,
    ContainerSpec,
    ContainerState,
    ContainerStats,
    ExecResult,
    ImagePullError,
    ImagePullResult,
    Mount,
    PodSandbox,
)
from kubelet.runtime.process import ProcessRuntime

__all__ = [
    "ContainerRuntime",
    "ContainerRuntimeError",
    "ContainerSpec",
    "ContainerState",
    "ContainerStats",
    "ExecResult",
    "ImagePullError",
    "ImagePullResult",
    "Mount",
    "PodSandbox",
    "ProcessRuntime",
]
