"""What the scheduler knows about one node and the pods on it, with everything the plugins ask
per node computed once, when the node or its pods change, not once per scheduling cycle.

- :class:`PodInfo` (kube-scheduler's ``framework.PodInfo``): a pod and what is derived from it —
  its requests (real and with the 100m / 200Mi defaults the scorers use), whether it has pod
  (anti-)affinity terms, its host ports, namespace, labels and controller. Made once per pod
  version when the cache learns of it; shared by every copy of the node.
- :class:`NodeInfo` (``framework.NodeInfo``): the Node object, its parsed allocatable, labels,
  taints, readiness and images (``status.images`` by normalised name); the pods placed on it
  (bound or assumed) with running sums of their requests, the pods that have affinity terms (so
  InterPodAffinity walks only those, as kube-scheduler's ``PodsWithAffinity`` lists), and the
  host ports in use.
  ``generation`` grows with every change (from one process-wide counter, as in kube-scheduler),
  which lets the cache update a snapshot by copying only the nodes that changed since it was
  taken (:mod:`scheduler.snapshot`).

Quantity parsing is exact and therefore slow (:mod:`machinery.quantity`); the few distinct
request and allocatable strings a cluster uses are parsed once each (a bounded memo).
"""

from __future__ import annotations

import itertools
import json
from functools import lru_cache

from machinery.quantity import bytes_value, cpu_millis

# What scorers assume a container requests when it names no cpu / memory request
# (kube-scheduler's DefaultMilliCPURequest and DefaultMemoryRequest), so that best-effort
# pods still spread instead of all landing on the node that sorts first.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
DEFAULT_MAX_PODS = 110
ANY_HOST_IP = "0.0.0.0"

# Every change to any NodeInfo takes the next number (kube-scheduler's nextGeneration).
_generations = itertools.count(1)


def next_generation() -> int:
    return next(_generations)


class Resources:
    """Requested or allocatable amounts in integer units: millicores, bytes, pod count."""

    __slots__ = ("milli_cpu", "memory", "pods")

    def __init__(self, milli_cpu: int = 0, memory: int = 0, pods: int = 0):
        self.milli_cpu, self.memory, self.pods = milli_cpu, memory, pods

    def add(self, other: Resources) -> None:
        self.milli_cpu += other.milli_cpu
        self.memory += other.memory
        self.pods += other.pods

    def sub(self, other: Resources) -> None:
        self.milli_cpu -= other.milli_cpu
        self.memory -= other.memory
        self.pods -= other.pods

    def copy(self) -> Resources:
        return Resources(self.milli_cpu, self.memory, self.pods)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Resources) and (self.milli_cpu, self.memory, self.pods) == (
            other.milli_cpu, other.memory, other.pods)

    def __repr__(self) -> str:
        return f"Resources(milli_cpu={self.milli_cpu}, memory={self.memory}, pods={self.pods})"


@lru_cache(maxsize=4096)
def _memo_cpu(value) -> int:
    return cpu_millis(value)


@lru_cache(maxsize=4096)
def _memo_bytes(value) -> int:
    return bytes_value(value)


def _quantity(parse, value, default: int = 0) -> int:
    """``parse(value)``, or ``default`` for what is not a quantity (bad data never crashes a cycle)."""
    try:
        return parse(value)
    except (ValueError, TypeError, ArithmeticError):  # TypeError also for unhashable junk
        return default


def pod_requests(pod: dict, *, non_zero: bool = False) -> Resources:
    """What a pod asks for: the sum over app containers, or the largest init container, whichever
    is bigger (Kubernetes' effective request), plus ``spec.overhead``, plus one pod slot.

    With ``non_zero`` a container that names no cpu (memory) request counts as asking for
    100m (200Mi): what the scorers use, as kube-scheduler's NonZeroRequested does.
    """
    spec = pod.get("spec") or {}

    def container_sum(containers) -> tuple[int, int]:
        cpu_total = mem_total = 0
        for c in containers or []:
            req = ((c or {}).get("resources") or {}).get("requests") or {} if isinstance(c, dict) else {}
            if "cpu" in req:
                cpu_total += _quantity(_memo_cpu, req["cpu"])
            elif non_zero:
                cpu_total += DEFAULT_MILLI_CPU_REQUEST
            if "memory" in req:
                mem_total += _quantity(_memo_bytes, req["memory"])
            elif non_zero:
                mem_total += DEFAULT_MEMORY_REQUEST
        return cpu_total, mem_total

    cpu, mem = container_sum(spec.get("containers"))
    for init in spec.get("initContainers") or []:
        init_cpu, init_mem = container_sum([init])
        cpu, mem = max(cpu, init_cpu), max(mem, init_mem)
    overhead = spec.get("overhead") or {}
    if isinstance(overhead, dict):
        cpu += _quantity(_memo_cpu, overhead.get("cpu", 0))
        mem += _quantity(_memo_bytes, overhead.get("memory", 0))
    return Resources(cpu, mem, 1)


def node_allocatable(node: dict) -> Resources:
    alloc = (node.get("status") or {}).get("allocatable") or {}
    return Resources(_quantity(_memo_cpu, alloc.get("cpu", 0)), _quantity(_memo_bytes, alloc.get("memory", 0)),
                     _quantity(int, alloc.get("pods", DEFAULT_MAX_PODS), DEFAULT_MAX_PODS))


def host_ports(pod: dict) -> list[tuple[str, str, int]]:
    """(hostIP, protocol, hostPort) for every container port with a hostPort."""
    out = []
    spec = pod.get("spec") or {}
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for p in (c or {}).get("ports") or [] if isinstance(c, dict) else []:
            port = (p or {}).get("hostPort") if isinstance(p, dict) else None
            if isinstance(port, int) and port > 0:
                out.append((p.get("hostIP") or ANY_HOST_IP, p.get("protocol") or "TCP", port))
    return out


def normalize_image(name: str) -> str:
    """An image reference as nodes report it (``nginx`` = ``docker.io/library/nginx:latest``)."""
    name = name.strip()
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    last = name.rsplit("/", 1)[-1]
    if "@" not in last and ":" not in last:
        name += ":latest"
    return name


def _pod_affinity_kinds(pod: dict) -> dict:
    affinity = (pod.get("spec") or {}).get("affinity")
    return affinity if isinstance(affinity, dict) else {}


def _image_sizes(node: dict) -> dict[str, int]:
    """``status.images`` as normalised name -> size in bytes."""
    out = {}
    images = (node.get("status") or {}).get("images")
    for image in images if isinstance(images, list) else []:
        if isinstance(image, dict):
            for name in image.get("names") or []:
                if isinstance(name, str):
                    out[normalize_image(name)] = _quantity(int, image.get("sizeBytes") or 0)
    return out


class PodInfo:
    """A pod and what the plugins derive from it, computed once per pod version."""

    __slots__ = ("pod", "requests", "non_zero_requests", "has_affinity", "has_required_anti_affinity", "ports",
                 "namespace", "labels", "label_key", "affinity_key", "controller_uid", "terminating")

    def __init__(self, pod: dict):
        self.pod = pod
        self.requests = pod_requests(pod)
        self.non_zero_requests = pod_requests(pod, non_zero=True)
        affinity = _pod_affinity_kinds(pod)
        anti = affinity.get("podAntiAffinity")
        self.has_affinity = bool(affinity.get("podAffinity") or anti)
        self.has_required_anti_affinity = bool(isinstance(anti, dict)
                                               and anti.get("requiredDuringSchedulingIgnoredDuringExecution"))
        self.ports = host_ports(pod)
        metadata = pod.get("metadata") or {}
        self.namespace = metadata.get("namespace") or "default"
        self.labels = metadata.get("labels") or {}
        # Pods of one controller share namespace and labels: whether a selector or affinity term
        # picks a pod is decided once per cycle for all pods with the same key.
        try:
            self.label_key: tuple = (self.namespace, frozenset(self.labels.items()))
        except (AttributeError, TypeError):  # malformed labels: a key of its own, shared with no pod
            self.label_key = (self.namespace, object())
        self.terminating = bool(metadata.get("deletionTimestamp"))
        # Pods from one template carry the same affinity terms: what they say about the incoming pod
        # is worked out once per cycle for all pods with the same key (the terms' default
        # namespace and matchLabelKeys come from the pod's own namespace and labels).
        self.affinity_key = (self.label_key, json.dumps(affinity, sort_keys=True, default=str)) \
            if self.has_affinity else None
        refs = [r for r in metadata.get("ownerReferences") or [] if isinstance(r, dict)]
        owner = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
        self.controller_uid = (owner or {}).get("uid") or ""


def _count(counts: dict, key, delta: int) -> int:
    """Add ``delta`` to ``counts[key]``, dropping the key at 0; the new count."""
    left = counts.get(key, 0) + delta
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)
    return max(left, 0)


def labels_of_key(label_key: tuple) -> dict[str, str]:
    """The labels a :attr:`PodInfo.label_key` stands for."""
    labels = label_key[1]
    return dict(labels) if isinstance(labels, frozenset) else {}


class NodeInfo:
    """A node and the pods the scheduler believes run on it (bound or assumed).

    ``requested`` sums the pods' real requests (what the Fit filter checks); ``non_zero_requested``
    counts request-less containers at the default 100m / 200Mi (what the scorers use).
    ``placeholder`` marks a node the cache knows only through its pods (not registered, or deleted
    while pods are still bound to it): it is never offered to the filters. Read ``pods`` (key ->
    pod) or ``pod_infos`` (key -> :class:`PodInfo`); change them only through :meth:`add_pod` /
    :meth:`remove_pod` so the sums stay right.
    """

    __slots__ = ("_node", "name", "labels", "allocatable", "taints", "unschedulable", "ready", "images",
                 "pods", "pod_infos", "requested", "non_zero_requested", "pods_with_affinity",
                 "pods_with_required_anti_affinity", "used_ports", "label_counts", "live_label_counts",
                 "owner_counts", "affinity_counts", "affinity_examples", "placeholder", "generation")

    def __init__(self, node: dict, pods: dict[str, dict] | None = None, *, placeholder: bool = False):
        self.pods: dict[str, dict] = {}
        self.pod_infos: dict[str, PodInfo] = {}
        self.requested = Resources()
        self.non_zero_requested = Resources()
        self.pods_with_affinity: dict[str, PodInfo] = {}
        self.pods_with_required_anti_affinity: dict[str, PodInfo] = {}
        self.used_ports: dict[tuple[str, str, int], int] = {}  # (hostIP, protocol, port) -> pods using it
        # How many pods share a label key (all / not terminating), a controller (not terminating),
        # or a set of affinity terms (with one such pod as the example to read the terms from):
        # selectors and terms are then matched once per key, not once per pod.
        self.label_counts: dict[tuple, int] = {}
        self.live_label_counts: dict[tuple, int] = {}
        self.owner_counts: dict[tuple[str, str], int] = {}  # (namespace, controller uid) -> pods
        self.affinity_counts: dict[tuple, int] = {}
        self.affinity_examples: dict[tuple, PodInfo] = {}
        self.placeholder = placeholder
        self.node = node
        for key, pod in (pods or {}).items():
            self.add_pod(key, pod)

    # --- the node ----------------------------------------------------------------------

    @property
    def node(self) -> dict:
        return self._node

    @node.setter
    def node(self, node: dict) -> None:
        """A new version of the Node object: everything derived from it is parsed again, once."""
        self._node = node
        metadata = node.get("metadata") or {}
        spec = node.get("spec") or {}
        self.name = metadata.get("name", "")
        self.labels = metadata.get("labels") or {}
        self.allocatable = node_allocatable(node)
        taints = spec.get("taints") or []
        self.taints = [t for t in taints if isinstance(t, dict)] if isinstance(taints, list) else []
        self.unschedulable = bool(spec.get("unschedulable"))
        self.ready = any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
                         for c in (node.get("status") or {}).get("conditions") or [])
        self.images = _image_sizes(node)
        self.generation = next_generation()

    # --- its pods ----------------------------------------------------------------------

    def add_pod(self, key: str, pod: dict, info: PodInfo | None = None) -> None:
        if key in self.pods:
            self.remove_pod(key)
        info = info if info is not None and info.pod is pod else PodInfo(pod)
        self.pods[key] = pod
        self.pod_infos[key] = info
        self.requested.add(info.requests)
        self.non_zero_requested.add(info.non_zero_requests)
        if info.has_affinity:
            self.pods_with_affinity[key] = info
        if info.has_required_anti_affinity:
            self.pods_with_required_anti_affinity[key] = info
        for port in info.ports:
            self.used_ports[port] = self.used_ports.get(port, 0) + 1
        _count(self.label_counts, info.label_key, 1)
        if not info.terminating:
            _count(self.live_label_counts, info.label_key, 1)
            if info.controller_uid:
                _count(self.owner_counts, (info.namespace, info.controller_uid), 1)
        if info.has_affinity:
            _count(self.affinity_counts, info.affinity_key, 1)
            self.affinity_examples.setdefault(info.affinity_key, info)
        self.generation = next_generation()

    def remove_pod(self, key: str) -> None:
        pod = self.pods.pop(key, None)
        if pod is None:
            return
        info = self.pod_infos.pop(key)
        self.requested.sub(info.requests)
        self.non_zero_requested.sub(info.non_zero_requests)
        self.pods_with_affinity.pop(key, None)
        self.pods_with_required_anti_affinity.pop(key, None)
        for port in info.ports:
            left = self.used_ports.get(port, 0) - 1
            if left > 0:
                self.used_ports[port] = left
            else:
                self.used_ports.pop(port, None)
        _count(self.label_counts, info.label_key, -1)
        if not info.terminating:
            _count(self.live_label_counts, info.label_key, -1)
            if info.controller_uid:
                _count(self.owner_counts, (info.namespace, info.controller_uid), -1)
        if info.has_affinity:
            if not _count(self.affinity_counts, info.affinity_key, -1):
                del self.affinity_examples[info.affinity_key]
            elif self.affinity_examples[info.affinity_key] is info:  # another pod of the key becomes the example
                self.affinity_examples[info.affinity_key] = next(
                    p for p in self.pods_with_affinity.values() if p.affinity_key == info.affinity_key)
        self.generation = next_generation()

    # --- copies ------------------------------------------------------------------------

    def clone(self) -> NodeInfo:
        """A copy whose pod set and sums may change without touching this one (pods are shared)."""
        copy = NodeInfo.__new__(NodeInfo)
        copy.copy_from(self)
        return copy

    def copy_from(self, other: NodeInfo) -> None:
        """Become a copy of ``other`` (what a snapshot does to the nodes that changed)."""
        self._node, self.name, self.labels = other._node, other.name, other.labels
        self.allocatable, self.taints, self.unschedulable = other.allocatable, other.taints, other.unschedulable
        self.ready, self.images = other.ready, other.images
        self.pods, self.pod_infos = dict(other.pods), dict(other.pod_infos)
        self.requested, self.non_zero_requested = other.requested.copy(), other.non_zero_requested.copy()
        self.pods_with_affinity = dict(other.pods_with_affinity)
        self.pods_with_required_anti_affinity = dict(other.pods_with_required_anti_affinity)
        self.used_ports = dict(other.used_ports)
        self.label_counts, self.live_label_counts = dict(other.label_counts), dict(other.live_label_counts)
        self.owner_counts, self.affinity_counts = dict(other.owner_counts), dict(other.affinity_counts)
        self.affinity_examples = dict(other.affinity_examples)
        self.placeholder, self.generation = other.placeholder, other.generation

    def __repr__(self) -> str:
        return f"NodeInfo({self.name!r}, pods={len(self.pods)}, generation={self.generation})"
