"""The scheduler's gRPC service (``kubemu.v1.Scheduler``, proto/kubemu/v1/scheduler.proto) and
how clients find it.

Thin handler: check this replica leads, ask :meth:`Scheduler.explain`, return JSON. A standby
answers UNAVAILABLE naming the leader. Clients find the leader through the Lease
``kube-system/kube-scheduler``: its holder writes its advertised gRPC address into the Lease's
annotations when it starts leading (:func:`advertise`), next to its identity, so a client checks
that the annotation belongs to the current ``spec.holderIdentity``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from machinery import errors, lease_address
from machinery.client import APIClient
from machinery.pb import scheduler_pb2, scheduler_pb2_grpc

log = logging.getLogger(__name__)

# Lease annotations the leading scheduler writes (kubemu/kubectl_scheduling.py reads the same keys).
ANNOTATION_PREFIX = lease_address.SCHEDULER_PREFIX
ADDRESS_ANNOTATION = f"{ANNOTATION_PREFIX}/address"
IDENTITY_ANNOTATION = f"{ANNOTATION_PREFIX}/identity"


class SchedulerServicer(scheduler_pb2_grpc.SchedulerServicer):
    def __init__(self, scheduler, identity: str, leader: Callable[[], tuple[bool, str]]):
        self._scheduler = scheduler
        self._identity = identity
        self._leader = leader  # () -> (this replica leads and runs, holder identity)

    def Explain(self, request, context):
        leading, holder = self._leader()
        if not leading:
            errors.abort(context, errors.Unavailable(
                f"scheduler {self._identity} is a standby; the leader is {holder or 'not known yet'}"))
        namespace = request.namespace or "default"
        key = f"{namespace}/{request.name}"
        try:
            explanation = self._scheduler.explain(key, last_only=request.last_only)
        except Exception as e:  # noqa: BLE001 - report, never crash the server thread
            log.exception("explaining %s failed", key)
            errors.abort(context, errors.InternalError(f"explaining {key} failed: {e}"))
        if explanation is None:
            errors.abort(context, errors.NotFound(
                f'pod "{request.name}" not found in namespace "{namespace}" by scheduler {self._identity} '
                "(not pending for any of its profiles, and no decision recorded)", kind="pods", name=request.name))
        return scheduler_pb2.ExplainResponse(scheduler_name=explanation.get("profile", ""), identity=self._identity,
                                             explanation=json.dumps(explanation).encode())


advertised_address = lease_address.advertised_address


def advertise(client: APIClient, namespace: str, lease_name: str, identity: str, address: str) -> bool:
    """Record ``address`` as the leader's in the Lease (only while ``identity`` holds it)."""
    return lease_address.advertise(client, namespace, lease_name, identity, address, ANNOTATION_PREFIX)
