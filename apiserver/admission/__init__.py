"""Admission plugins and the order they run in.

Mutating, in order: Defaulting. Validating, in order: NamespaceLifecycle.
``--enable-admission-plugins`` / ``--disable-admission-plugins`` choose among them; the order
never changes.
"""

from __future__ import annotations

from collections.abc import Callable

from apiserver.admission.chain import AdmissionChain, Attributes, UserInfo
from apiserver.admission.defaulting import Defaulting
from apiserver.admission.namespace_lifecycle import NamespaceLifecycle

MUTATING_ORDER = ["Defaulting"]
VALIDATING_ORDER = ["NamespaceLifecycle"]
ALL_PLUGINS = MUTATING_ORDER + VALIDATING_ORDER

__all__ = ["AdmissionChain", "Attributes", "UserInfo", "build_chain", "ALL_PLUGINS"]


def build_chain(enabled: set[str], get_namespace: Callable[[str], dict | None]) -> AdmissionChain:
    unknown = enabled - set(ALL_PLUGINS)
    if unknown:
        raise ValueError(f"unknown admission plugins: {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(ALL_PLUGINS)}")
    factories = {"Defaulting": Defaulting, "NamespaceLifecycle": lambda: NamespaceLifecycle(get_namespace)}
    mutating = [factories[n]() for n in MUTATING_ORDER if n in enabled]
    validating = [factories[n]() for n in VALIDATING_ORDER if n in enabled]
    return AdmissionChain(mutating, validating)
