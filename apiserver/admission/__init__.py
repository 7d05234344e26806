"""Admission plugins and the order they run in (fixed; flags only enable or disable).

Mutating, in order: Defaulting, LimitRanger, ServiceAccount, DefaultTolerationSeconds, Priority.
Validating, in order: NamespaceLifecycle, LimitRanger, NodeRestriction, ResourceQuota.
``--enable-admission-plugins`` / ``--disable-admission-plugins`` choose among them.
"""

from __future__ import annotations

from apiserver.admission.chain import AdmissionChain, Attributes, UserInfo
from apiserver.admission.default_toleration_seconds import DefaultTolerationSeconds
from apiserver.admission.defaulting import Defaulting
from apiserver.admission.limit_ranger import LimitRanger
from apiserver.admission.lookup import Lookup
from apiserver.admission.namespace_lifecycle import NamespaceLifecycle
from apiserver.admission.node_restriction import NodeRestriction
from apiserver.admission.priority import Priority
from apiserver.admission.resource_quota import ResourceQuota
from apiserver.admission.service_account import ServiceAccount

MUTATING_ORDER = ["Defaulting", "LimitRanger", "ServiceAccount", "DefaultTolerationSeconds", "Priority"]
VALIDATING_ORDER = ["NamespaceLifecycle", "LimitRanger", "NodeRestriction", "ResourceQuota"]
ALL_PLUGINS = list(dict.fromkeys(MUTATING_ORDER + VALIDATING_ORDER))

__all__ = ["AdmissionChain", "Attributes", "UserInfo", "build_chain", "ALL_PLUGINS"]


def build_chain(enabled: set[str], lookup: Lookup, *, not_ready_toleration_s: int = 300,
                unreachable_toleration_s: int = 300, cached_namespace=None) -> AdmissionChain:
    """The chain of the ``enabled`` plugins. ``cached_namespace(name)``, when given, answers
    NamespaceLifecycle from a cache of namespaces (None: not in it) before it reads etcd."""
    unknown = enabled - set(ALL_PLUGINS)
    if unknown:
        raise ValueError(f"unknown admission plugins: {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(ALL_PLUGINS)}")
    limit_ranger = LimitRanger(lookup)
    instances = {
        "Defaulting": Defaulting(), "LimitRanger": limit_ranger, "ServiceAccount": ServiceAccount(lookup),
        "DefaultTolerationSeconds": DefaultTolerationSeconds(not_ready_toleration_s, unreachable_toleration_s),
        "Priority": Priority(lookup), "NamespaceLifecycle": NamespaceLifecycle(
            lambda name: lookup.get("namespaces", "", name), cached_namespace),
        "NodeRestriction": NodeRestriction(), "ResourceQuota": ResourceQuota(lookup),
    }
    mutating = [instances[n] for n in MUTATING_ORDER if n in enabled]
    validating = [instances[n] for n in VALIDATING_ORDER if n in enabled]
    return AdmissionChain(mutating, validating)
