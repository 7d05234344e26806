"""How strategic merge patch treats each list of kubemu's kinds: merged by a key, or replaced.

Kubernetes declares this on its Go types (``patchStrategy:"merge" patchMergeKey:"name"``) and
publishes it in OpenAPI as ``x-kubernetes-patch-strategy`` / ``x-kubernetes-patch-merge-key``.
kubectl's client-side apply computes its patch from the published schema, and the server
applies it with the same rules, so both sides must read one table: this one. The REST
facade's strategic-merge-patch code and the OpenAPI documents both come from here.

Lists are named by their field name and, where the same name means different things, by the
name of the field that holds them (``ports`` of a container are keyed by ``containerPort``).
A list not named here is atomic: a patch replaces it whole, as Kubernetes does for lists
without a patch strategy (tolerations, args, command, RBAC rules, …).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListStrategy:
    # "merge": items matched by ``merge_key`` (or, for lists of scalars, by value) are merged;
    # "replace": the patch's list replaces the stored one.
    strategy: str
    merge_key: str = ""


REPLACE = ListStrategy("replace")

# (holder field or "*", list field) -> strategy. "*" matches any holder.
_STRATEGIES: dict[tuple[str, str], ListStrategy] = {
    ("*", "containers"): ListStrategy("merge", "name"),
    ("*", "initContainers"): ListStrategy("merge", "name"),
    ("*", "ephemeralContainers"): ListStrategy("merge", "name"),
    ("containers", "ports"): ListStrategy("merge", "containerPort"),
    ("initContainers", "ports"): ListStrategy("merge", "containerPort"),
    ("*", "env"): ListStrategy("merge", "name"),
    ("*", "volumeMounts"): ListStrategy("merge", "mountPath"),
    ("*", "volumeDevices"): ListStrategy("merge", "devicePath"),
    ("*", "volumes"): ListStrategy("merge", "name"),
    ("*", "imagePullSecrets"): ListStrategy("merge", "name"),
    ("*", "hostAliases"): ListStrategy("merge", "ip"),
    ("*", "readinessGates"): ListStrategy("merge", "conditionType"),
    ("*", "topologySpreadConstraints"): ListStrategy("merge", "topologyKey"),
    ("*", "conditions"): ListStrategy("merge", "type"),
    ("*", "ownerReferences"): ListStrategy("merge", "uid"),
    ("metadata", "finalizers"): ListStrategy("merge"),
    ("*", "podIPs"): ListStrategy("merge", "ip"),
    # A node's status.addresses; the addresses of Endpoints subsets and EndpointSlice endpoints are atomic.
    ("status", "addresses"): ListStrategy("merge", "type"),
    # A Service's spec.ports (merged by port number, as Kubernetes' ServiceSpec declares).
    ("spec", "ports"): ListStrategy("merge", "port"),
}


def list_strategy(holder: str, field: str) -> ListStrategy:
    """The strategy for list ``field`` found inside an object held by field ``holder``.

    ``holder`` is the name of the field whose value contains the list ("containers" for the
    ports of a container, "metadata" for finalizers, "" at the root).
    """
    return _STRATEGIES.get((holder, field)) or _STRATEGIES.get(("*", field)) or REPLACE
