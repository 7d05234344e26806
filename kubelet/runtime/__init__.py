"""The container runtime layer: the CRI-like interface (base) and the process-based runtime (process)."""

from kubelet.runtime.base import (
    ContainerRuntime,
    ContainerRuntimeError,
    ContainerSpec,
    ContainerState,
    ImagePullError,
    ImagePullResult,
    PodSandbox,
)
from kubelet.runtime.process import ProcessRuntime

__all__ = [
    "ContainerRuntime",
    "ContainerRuntimeError",
    "ContainerSpec",
    "ContainerState",
    "ImagePullError",
    "ImagePullResult",
    "PodSandbox",
    "ProcessRuntime",
]
