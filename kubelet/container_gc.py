"""Container garbage collection: remove dead instances of a container once they are no longer needed.

Every restart creates a new instance of a container (its attempt number is the restart count); the
dead ones stay in the runtime, logs included. Like the kubelet's container GC with its default
policy (``MaxPerPodContainer = 1``: one dead instance kept per container, for ``kubectl logs
--previous`` and the lastState it explains), kubemu keeps the current instance and the one before
it and removes older ones through the runtime's ``remove_container`` (CRI RemoveContainer).

Instances only become collectable when a newer one is created, so the kubelet collects right after
each create instead of on a timer; it removes every older attempt the runtime still lists, so an
instance left over by a kubelet that died between the two steps is collected at the next create.
The containers of a deleted pod go with its sandbox.
"""

from __future__ import annotations

import logging

from kubelet.runtime.base import ContainerRuntime, ContainerRuntimeError, PodSandbox

log = logging.getLogger(__name__)

# How many dead instances of each container are kept (the kubelet's --maximum-dead-containers-per-container).
MAX_PER_POD_CONTAINER = 1


def collect(runtime: ContainerRuntime, sandbox: PodSandbox, name: str, current_attempt: int,
            keep_dead: int = MAX_PER_POD_CONTAINER) -> list[int]:
    """Remove the instances of container ``name`` older than the ``keep_dead`` before
    ``current_attempt``; returns the attempts removed."""
    removed: list[int] = []
    if current_attempt - keep_dead <= 0:
        return removed  # nothing older than the kept ones can exist yet
    for attempt in runtime.list_attempts(sandbox, name):
        if attempt >= current_attempt - keep_dead:
            continue
        try:
            runtime.remove_container(sandbox, name, attempt)
        except ContainerRuntimeError as e:
            log.warning("could not remove attempt %d of container %s in pod %s/%s: %s", attempt, name,
                        sandbox.namespace, sandbox.name, e)
            continue
        removed.append(attempt)
    return removed
