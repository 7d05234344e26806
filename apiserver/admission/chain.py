"""The admission chain: named plugins that may change (mutating) or refuse (validating) a request.

Order is fixed, as in kube-apiserver: every enabled mutating plugin runs first, in the order
of :data:`apiserver.admission.MUTATING_ORDER`, then the object is validated, then every
enabled validating plugin runs. A plugin refuses by raising an APIError (Forbidden or
Invalid); nothing is stored then. Each request's path through the chain is recorded in
``Attributes.trace`` (plugin, phase, whether it changed the object, the change as a JSON Patch,
why it refused, how long it took) so it can be shown (``kubemu trace``, ``kubemu status``).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Protocol

from machinery.jsondiff import diff


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
            started = time.perf_counter()
            try:
                plugin.admit(attrs)
            except Exception as e:
                attrs.trace.append(_step(plugin.name, "mutating", started, refused=str(e)))
                raise
            changed = before != attrs.object
            attrs.trace.append(_step(plugin.name, "mutating", started, changed=changed,
                                     patch=diff(before, attrs.object) if changed else None))

    def validate(self, attrs: Attributes) -> None:
        for plugin in self.validating:
            started = time.perf_counter()
            try:
                plugin.validate(attrs)
            except Exception as e:
                attrs.trace.append(_step(plugin.name, "validating", started, refused=str(e)))
                raise
            attrs.trace.append(_step(plugin.name, "validating", started))


def _step(plugin: str, phase: str, started: float, *, changed: bool = False, patch: list | None = None,
          refused: str = "") -> dict:
    step = {"plugin": plugin, "phase": phase, "changed": changed,
            "micros": int((time.perf_counter() - started) * 1e6)}
    if patch:
        step["patch"] = patch
    if refused:
        step["refused"] = refused
    return step
