"""The node IPAM controller: gives every node a pod CIDR out of the cluster CIDR.

A node without ``spec.podCIDR`` gets the first free ``/node_mask_size`` block of
``cluster_cidr`` (kube-controller-manager's range allocator with ``--allocate-node-cidrs``:
defaults ``10.244.0.0/16`` and ``/24``) in ``spec.podCIDR`` and ``spec.podCIDRs``. A block is
free when no node has it (nodes that brought their own CIDR, even outside the cluster CIDR,
keep it and block it) and it is not being handed out right now; the controller runs one
worker so two nodes never get the same block. A kubelet started without ``--pod-cidr`` reads
its CIDR from its Node. When the range is exhausted the node gets a CIDRNotAvailable event and
is tried again later.
"""

from __future__ import annotations

import ipaddress
import logging
import threading

from controller_manager.common import Lister, being_deleted
from machinery import meta
from machinery.client import APIClient
from machinery.controller import Controller
from machinery.events import EventRecorder
from machinery.informer import Handlers

log = logging.getLogger(__name__)

RETRY_EXHAUSTED_S = 30.0


def node_cidrs(node: dict) -> set[str]:
    spec = node.get("spec") or {}
    found = {c for c in spec.get("podCIDRs") or [] if isinstance(c, str)}
    if isinstance(spec.get("podCIDR"), str) and spec["podCIDR"]:
        found.add(spec["podCIDR"])
    return found


class NodeIPAMController(Controller):
    name = "nodeipam"

    def __init__(self, client: APIClient, nodes: Lister, *, cluster_cidr: str = "10.244.0.0/16",
                 node_mask_size: int = 24):
        super().__init__(client, workers=1)  # one worker: allocations never race
        self.nodes = nodes
        self.informers = [nodes.informer]
        self.network = ipaddress.ip_network(cluster_cidr, strict=False)
        if not self.network.prefixlen <= node_mask_size <= self.network.max_prefixlen:
            raise ValueError(f"--node-cidr-mask-size {node_mask_size} does not fit in --cluster-cidr {cluster_cidr}")
        self.mask_size = node_mask_size
        self.block_count = 2 ** (node_mask_size - self.network.prefixlen)
        self._pending: dict[str, str] = {}  # node -> CIDR handed out, not yet seen in the cache
        self._lock = threading.Lock()
        self.recorder = EventRecorder(client, "cidrAllocator")
        nodes.add_handlers(Handlers(self._node_changed, lambda old, new: self._node_changed(new),
                                    lambda node: self.enqueue(meta.name_of(node))))

    def _node_changed(self, node: dict) -> None:
        if not node_cidrs(node) or meta.name_of(node) in self._pending:
            self.enqueue(meta.name_of(node))

    def block(self, index: int) -> str:
        size = 2 ** (self.network.max_prefixlen - self.mask_size)
        start = self.network.network_address + index * size
        return str(ipaddress.ip_network(f"{start}/{self.mask_size}"))

    def reconcile(self, key: str) -> float | None:
        node = self.nodes.get(key)
        if node is None or node_cidrs(node):
            with self._lock:
                self._pending.pop(key, None)
            return None
        if being_deleted(node):
            return None
        used = set()
        for other in self.nodes.list():
            used |= node_cidrs(other)
        with self._lock:
            used |= {c for n, c in self._pending.items() if n != key}
            cidr = self._pending.get(key)
        if cidr is None or cidr in used:
            cidr = next((c for c in (self.block(i) for i in range(self.block_count)) if c not in used), None)
        if cidr is None:
            self.recorder.event(node, "Normal", "CIDRNotAvailable",
                                f"Node {key} status is now: CIDRNotAvailable")
            log.warning("no pod CIDR left in %s for node %s", self.network, key)
            return RETRY_EXHAUSTED_S
        with self._lock:
            self._pending[key] = cidr

        def assign(fresh: dict) -> bool:
            if node_cidrs(fresh) or fresh["metadata"].get("uid") != node["metadata"].get("uid"):
                return False
            spec = fresh.setdefault("spec", {})
            spec["podCIDR"] = cidr
            spec["podCIDRs"] = [cidr]
            return True

        if self.client.mutate("nodes", key, "", assign) is not None:
            log.info("node %s: assigned pod CIDR %s", key, cidr)
        return None
