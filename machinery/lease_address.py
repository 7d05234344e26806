"""How a leader-elected component tells others where its gRPC service is: in its Lease.

When a scheduler or controller-manager replica starts leading, it writes its advertised gRPC
address into annotations of its leader Lease (``<prefix>/address``, next to ``<prefix>/identity``)
— only while it is the holder. A reader (``kubemu kubectl explain-schedule``, the apiserver
gathering trace spans) trusts the address only when the identity annotation names the current
``spec.holderIdentity``, so a stale address of a former leader is never dialled.
"""

from __future__ import annotations

import logging

from machinery import errors

log = logging.getLogger(__name__)

# The annotation prefixes, with the Lease each component leads through by default.
SCHEDULER_PREFIX, SCHEDULER_LEASE = "scheduler.kubemu.io", "kube-scheduler"
CONTROLLER_MANAGER_PREFIX, CONTROLLER_MANAGER_LEASE = "controller-manager.kubemu.io", "kube-controller-manager"


def advertised_address(bind_address: str, port: int, advertise: str = "") -> str:
    """``advertise`` if given (host or host:port), else the bind address unless it is a wildcard."""
    if advertise:
        return advertise if ":" in advertise.rsplit("]", 1)[-1] else f"{advertise}:{port}"
    host = bind_address if bind_address not in ("", "0.0.0.0", "::", "[::]") else "127.0.0.1"
    return f"{host}:{port}"


def advertise(client, namespace: str, lease_name: str, identity: str, address: str, prefix: str) -> bool:
    """Record ``address`` as the leader's in the Lease (only while ``identity`` holds it)."""
    address_key, identity_key = f"{prefix}/address", f"{prefix}/identity"

    def annotate(lease: dict) -> bool:
        if (lease.get("spec") or {}).get("holderIdentity") != identity:
            return False
        annotations = lease["metadata"].setdefault("annotations", {}) or {}
        lease["metadata"]["annotations"] = annotations
        if annotations.get(address_key) == address and annotations.get(identity_key) == identity:
            return False
        annotations[address_key] = address
        annotations[identity_key] = identity
        return True

    try:
        client.mutate("leases", lease_name, namespace, annotate, attempts=5)
        log.info("advertised address %s in lease %s/%s", address, namespace, lease_name)
        return True
    except errors.APIError as e:
        log.warning("could not advertise the address in lease %s/%s: %s", namespace, lease_name, e)
        return False


def leader_address(lease: dict, prefix: str) -> tuple[str, str]:
    """``(address, holder)`` advertised by the current holder of ``lease``; address "" when the holder
    has not advertised one (or the annotation belongs to a former leader)."""
    holder = (lease.get("spec") or {}).get("holderIdentity") or ""
    annotations = (lease.get("metadata") or {}).get("annotations") or {}
    if not holder or annotations.get(f"{prefix}/identity") != holder:
        return "", holder
    return annotations.get(f"{prefix}/address", ""), holder
