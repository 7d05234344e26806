"""Which loopback pod and service networks a local cluster uses, so clusters side by side never share
pod IPs or Service cluster IPs.

Pods of a local cluster get real IPs on loopback: node N's pod CIDR is ``127.<octet>.N.0/24``.
The cluster on Kubernetes' default ports uses octet 244 (as flannel's 10.244.0.0/16). Two
clusters on one machine with the same octet would hand out the same pod IPs, and the second
nginx to bind ``127.244.1.2:80`` would fail. So a cluster started with ``--ports auto`` (tests,
several clusters at once) claims an octet of its own from a machine-wide registry: one file per
claimed octet in ``$TMPDIR/kubemu-pod-networks``, created with O_EXCL (atomic across
processes), holding the cluster directory. ``kubemu down`` releases the claim; a claim whose
cluster directory is gone, or whose supervisor is no longer running some time after the claim
was made, is stale and taken over.

Service cluster IPs must be bindable on this machine too (every node's kube-proxy listens on
them) and must not collide between clusters either, so the claimed octet also gives the
cluster's service range: ``127.<octet - 100>.0.0/16`` (:func:`service_cidr`) — 127.144.0.0/16 for
the default cluster (its ``kubernetes`` Service is 127.144.0.1), 127.100–143.0.0/16 for the
``--ports auto`` ones. Those /16s hold nothing else of kubemu's (node IPs are 127.1.0.N, pods
127.200–247.x), and each is as private to its cluster as the claimed octet: 65534 Services.

A cluster whose nodes have network stacks of their own (``kubemu up --netns``) cannot use loopback
pod IPs: they would be reachable only inside each node. Its pods get routable ones instead, from
the same octet: node N's pod CIDR is ``10.<octet>.N.0/24`` out of ``10.<octet>.0.0/16``
(:func:`routed_cluster_cidr`; 10.244.0.0/16 for the default cluster, flannel's default), and the
kubelets route them (``--pod-network routed``, kubelet/pod_routes.py). The claim keeps those apart
between clusters side by side just as it does the loopback ones.
"""

from __future__ import annotations

import os
import tempfile
import time

DEFAULT_OCTET = 244
# 127.200.x.x – 127.243.x.x: clear of node IPs (127.1.0.N), joined nodes (127.246.N.0/24) and 244.
AUTO_OCTETS = range(200, 244)
# A claim younger than this is never judged stale: its cluster may still be writing its pid file.
CLAIM_GRACE_S = 120.0


SERVICE_OCTET_OFFSET = 100


def service_cidr(octet: int) -> str:
    """The Service cluster IP range that goes with pod network ``127.<octet>``."""
    return f"127.{octet - SERVICE_OCTET_OFFSET}.0.0/16"


def routed_cluster_cidr(octet: int) -> str:
    """The routable pod network of a cluster with pod network octet ``octet`` (``--netns``)."""
    return f"10.{octet}.0.0/16"


def routed_node_cidr(octet: int, index: int) -> str:
    """Node ``index``'s pod CIDR in :func:`routed_cluster_cidr`."""
    return f"10.{octet}.{index}.0/24"


def registry_dir() -> str:
    return os.path.join(tempfile.gettempdir(), "kubemu-pod-networks")


def _claim_path(octet: int) -> str:
    return os.path.join(registry_dir(), f"127.{octet}")


def _owner(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _stale(path: str) -> bool:
    from kubemu.cluster import ClusterDir

    owner = _owner(path)
    if owner is None:
        return False  # vanished meanwhile: the next O_EXCL create decides
    if not owner or not os.path.isdir(owner):
        return True
    try:
        age_s = time.time() - os.stat(path).st_mtime
    except OSError:
        return False
    return age_s > CLAIM_GRACE_S and ClusterDir(owner).supervisor_pid() is None


def _try_claim(octet: int, cluster_dir: str) -> bool:
    path = _claim_path(octet)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if _owner(path) == cluster_dir:
                os.utime(path)
                return True
            if not _stale(path):
                return False
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as f:
            f.write(cluster_dir)
        return True
    return False


def claim(cluster_dir: str, *, auto: bool, previous: int | None = None) -> int:
    """The pod-network octet for the cluster in ``cluster_dir``.

    Default ports: always 244. ``auto``: the octet this directory had before when still free
    (its kubelets' IPAM state on disk holds IPs from it), else the first free one.
    """
    if not auto:
        return DEFAULT_OCTET
    os.makedirs(registry_dir(), exist_ok=True)
    cluster_dir = os.path.abspath(cluster_dir)
    candidates = ([previous] if previous in AUTO_OCTETS else []) + [o for o in AUTO_OCTETS if o != previous]
    for octet in candidates:
        if _try_claim(octet, cluster_dir):
            return octet
    raise RuntimeError(f"every loopback pod network 127.{AUTO_OCTETS[0]}–{AUTO_OCTETS[-1]}.0.0/16 is claimed by "
                       f"another local cluster (see {registry_dir()}); stop one with `kubemu down`")


def release(cluster_dir: str) -> None:
    """Give back every octet claimed by ``cluster_dir`` (idempotent)."""
    cluster_dir = os.path.abspath(cluster_dir)
    try:
        names = os.listdir(registry_dir())
    except FileNotFoundError:
        return
    for name in names:
        path = os.path.join(registry_dir(), name)
        if _owner(path) == cluster_dir:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
