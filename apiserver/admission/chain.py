"""The admission chain: named plugins that may change (mutating) or refuse (validating) a request.

Order is fixed, as in kube-apiserver: every enabled mutating plugin runs first, in the order
of :data:`apiserver.admission.MUTATING_ORDER`, then the object is validated, then every
enabled validating plugin runs. A plugin refuses by raising an APIError (Forbidden or
Invalid); nothing is stored then. Each request's path through the chain is recorded in
``Attributes.trace`` (plugin, phase, whether it changed the object) so it can be shown.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()


@dataclass
class Attributes:
    """What admission sees of one request."""

    operation: str  # CREATE, UPDATE, DELETE, CONNECT
    resource: str
    namespace: str
    name: str
    object: dict | None
    old_object: dict | None = None
    subresource: str = ""
    user: UserInfo = field(default_factory=lambda: UserInfo("system:anonymous"))
    dry_run: bool = False
    trace: list[dict] = field(default_factory=list)


def is_pod_create(attrs: Attributes) -> bool:
    """Whether the request creates a pod (not one of its subresources): what most plugins act on."""
    return attrs.operation == "CREATE" and attrs.resource == "pods" and not attrs.subresource


def created_pod_spec(attrs: Attributes) -> dict | None:
    """The spec of a pod being created, or None (another request, or a malformed spec left for
    validation to report)."""
    if not is_pod_create(attrs):
        return None
    spec = attrs.object.get("spec")
    return spec if isinstance(spec, dict) else None


class MutatingPlugin(Protocol):
    name: str

    def admit(self, attrs: Attributes) -> None: ...


class ValidatingPlugin(Protocol):
    name: str

    def validate(self, attrs: Attributes) -> None: ...


class AdmissionChain:
    """Runs the enabled plugins in order and records what each did."""

    def __init__(self, mutating: list[MutatingPlugin], validating: list[ValidatingPlugin]):
        self.mutating = mutating
        self.validating = validating

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.mutating] + [p.name for p in self.validating]

    def admit(self, attrs: Attributes) -> None:
        for plugin in self.mutating:
            before = copy.deepcopy(attrs.object)
            plugin.admit(attrs)
            attrs.trace.append({"plugin": plugin.name, "phase": "mutating", "changed": before != attrs.object})

    def validate(self, attrs: Attributes) -> None:
        for plugin in self.validating:
            plugin.validate(attrs)
            attrs.trace.append({"plugin": plugin.name, "phase": "validating", "changed": False})
