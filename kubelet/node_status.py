"""The Node object this kubelet registers and keeps current, and its Lease heartbeat.

Two heartbeats, as in Kubernetes since 1.17: the Lease in ``kube-node-lease`` is renewed
every ``lease_renew_s`` (10 s; cheap, it is what the node lifecycle controller watches), and
the full node status (capacity, allocatable, conditions, addresses, nodeInfo) is written
every ``status_update_s`` (10 s). Capacity comes from flags, defaulting to what psutil
reports for the machine. Conditions MemoryPressure, DiskPressure and PIDPressure are computed
from psutil against eviction-style thresholds.
"""

from __future__ import annotations

import logging
import os
import platform
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from machinery import errors, meta
from machinery.client import APIClient
from machinery.quantity import bytes_value, cpu_millis, format_bytes, format_cpu_millis
from machinery.server import KUBERNETES_VERSION, VERSION

log = logging.getLogger(__name__)

# Eviction-style thresholds (kubelet defaults: memory.available<100Mi, nodefs.available<10%).
MEMORY_PRESSURE_BYTES = 100 * 1024 * 1024
DISK_PRESSURE_FRACTION = 0.10
PID_PRESSURE_FRACTION = 0.95
NODE_STATUS_MAX_IMAGES = 50


@dataclass
class NodeConfig:
    name: str
    ip: str
    root_dir: str
    pod_cidr: str = ""
    cpu: str = ""  # quantity; empty = the machine's CPU count
    memory: str = ""  # quantity; empty = the machine's memory
    max_pods: int = 110
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict] = field(default_factory=list)
    runtime: str = "process"
    kubelet_port: int = 10250

    def capacity(self) -> dict[str, str]:
        cpu_m = cpu_millis(self.cpu) if self.cpu else (os.cpu_count() or 1) * 1000
        mem = bytes_value(self.memory) if self.memory else psutil.virtual_memory().total
        disk = psutil.disk_usage(self.root_dir if os.path.exists(self.root_dir) else "/").total
        return {"cpu": format_cpu_millis(cpu_m), "memory": format_bytes(mem), "pods": str(self.max_pods),
                "ephemeral-storage": format_bytes(disk)}


def node_object(cfg: NodeConfig) -> dict:
    labels = {"kubernetes.io/hostname": cfg.name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": _arch(), "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": _arch(),
              **cfg.labels}
    spec: dict = {}
    if cfg.pod_cidr:
        spec["podCIDR"] = cfg.pod_cidr
        spec["podCIDRs"] = [cfg.pod_cidr]
    if cfg.taints:
        spec["taints"] = cfg.taints
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": cfg.name, "labels": labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                         "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            "spec": spec, "status": {}}


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def pressure_conditions(root_dir: str) -> dict[str, tuple[str, str, str]]:
    """type -> (status, reason, message) from what psutil sees now."""
    mem = psutil.virtual_memory()
    disk = psutil.disk_usage(root_dir if os.path.exists(root_dir) else "/")
    try:
        with open("/proc/sys/kernel/pid_max") as f:
            pid_max = int(f.read())
    except (OSError, ValueError):
        pid_max = 4194304
    pids = len(psutil.pids())
    out = {}
    if mem.available < MEMORY_PRESSURE_BYTES:
        out["MemoryPressure"] = ("True", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available")
    else:
        out["MemoryPressure"] = ("False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available")
    if disk.free < DISK_PRESSURE_FRACTION * disk.total:
        out["DiskPressure"] = ("True", "KubeletHasDiskPressure", "kubelet has disk pressure")
    else:
        out["DiskPressure"] = ("False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure")
    if pids > PID_PRESSURE_FRACTION * pid_max:
        out["PIDPressure"] = ("True", "KubeletHasInsufficientPID", "kubelet has insufficient PID available")
    else:
        out["PIDPressure"] = ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available")
    return out


def images_status(images: dict[str, int]) -> list[dict]:
    """``status.images`` as the kubelet reports it: largest first, at most
    ``NODE_STATUS_MAX_IMAGES`` (the kubelet's ``--node-status-max-images`` default)."""
    biggest = sorted(images.items(), key=lambda item: (-item[1], item[0]))[:NODE_STATUS_MAX_IMAGES]
    return [{"names": [ref], "sizeBytes": size} for ref, size in biggest]


def fill_status(node: dict, cfg: NodeConfig, *, network_ready: bool, images: dict[str, int] | None = None) -> None:
    """Write capacity, conditions, addresses, images and nodeInfo into ``node['status']`` (heartbeat now)."""
    status = node.setdefault("status", {})
    if images is not None:
        status["images"] = images_status(images)
    capacity = cfg.capacity()
    status["capacity"] = capacity
    status["allocatable"] = dict(capacity)
    now = meta.format_time()
    for ctype, (value, reason, message) in pressure_conditions(cfg.root_dir).items():
        meta.set_condition(status, ctype, value, reason, message, now=now, heartbeat=True)
    if network_ready:
        meta.set_condition(status, "Ready", "True", "KubeletReady", "kubelet is posting ready status", now=now,
                           heartbeat=True)
    else:
        meta.set_condition(status, "Ready", "False", "KubeletNotReady",
                           "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                           "message:no pod CIDR assigned to this node", now=now, heartbeat=True)
    status["addresses"] = [{"type": "InternalIP", "address": cfg.ip}, {"type": "Hostname", "address": cfg.name}]
    status["daemonEndpoints"] = {"kubeletEndpoint": {"Port": cfg.kubelet_port}}
    uname = platform.uname()
    status["nodeInfo"] = {
        "machineID": _machine_id(), "systemUUID": _machine_id(), "bootID": _boot_id(),
        "kernelVersion": uname.release, "osImage": _os_image(), "containerRuntimeVersion":
            f"kubemu-{cfg.runtime}://{VERSION}",
        "kubeletVersion": KUBERNETES_VERSION, "kubeProxyVersion": KUBERNETES_VERSION,
        "operatingSystem": "linux", "architecture": _arch()}


def _read_first(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _machine_id() -> str:
    return _read_first("/etc/machine-id") or socket.gethostname()


def _boot_id() -> str:
    return _read_first("/proc/sys/kernel/random/boot_id")


def _os_image() -> str:
    for line in _read_first("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.platform()


class NodeHeartbeat:
    """Registers the node, then keeps its Lease and status current."""

    def __init__(self, client: APIClient, cfg: NodeConfig, *, lease_duration_s: int = 40,
                 images: Callable[[], dict[str, int]] | None = None):
        self.client = client
        self.cfg = cfg
        self.images = images
        self.lease_duration_s = lease_duration_s
        self.registered = False
        self.last_lease_renew = ""
        self.last_status_update = ""

    def register(self) -> dict:
        """Create the Node (or adopt the existing one) and post its first status."""
        node = node_object(self.cfg)
        try:
            stored = self.client.create("nodes", node)
            log.info("successfully registered node %s", self.cfg.name)
        except errors.AlreadyExists:
            stored = self.client.get("nodes", self.cfg.name)
            log.info("node %s already registered; adopting it", self.cfg.name)
            if self.cfg.pod_cidr and not (stored.get("spec") or {}).get("podCIDR"):
                stored.setdefault("spec", {})["podCIDR"] = self.cfg.pod_cidr
                stored["spec"]["podCIDRs"] = [self.cfg.pod_cidr]
                stored = self.client.update("nodes", stored)
        self.registered = True
        return self.update_status()

    def pod_cidr(self, node: dict | None = None) -> str:
        if self.cfg.pod_cidr:
            return self.cfg.pod_cidr
        node = node or self.client.get("nodes", self.cfg.name)
        return (node.get("spec") or {}).get("podCIDR", "")

    def update_status(self) -> dict:
        def change(node: dict) -> None:
            fill_status(node, self.cfg, network_ready=bool(self.pod_cidr(node)),
                        images=self.images() if self.images else None)

        node = self.client.mutate("nodes", self.cfg.name, "", change, status=True)
        if node is None:  # deleted under us: register again, like the kubelet does
            self.registered = False
            return self.register()
        self.last_status_update = meta.format_time()
        return node

    def renew_lease(self) -> None:
        name, ns = self.cfg.name, "kube-node-lease"
        now = meta.format_micro_time()
        try:
            lease = self.client.get("leases", name, ns)
        except errors.NotFound:
            node = self.client.get("nodes", name)
            self.client.create("leases", {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name, "namespace": ns, "ownerReferences": [
                    {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}]},
                "spec": {"holderIdentity": name, "leaseDurationSeconds": self.lease_duration_s, "renewTime": now}})
            self.last_lease_renew = now
            return
        lease.setdefault("spec", {}).update(holderIdentity=name, leaseDurationSeconds=self.lease_duration_s,
                                            renewTime=now)
        self.client.update("leases", lease)
        self.last_lease_renew = now
