"""What several plugins ask of pods: their labels, their controller, affinity terms, and which
pods a term or selector picks. Pure functions over pod dicts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from machinery.labels import IN, NOT_IN, Requirement, Selector, SelectorError, selector_from_label_selector

log = logging.getLogger(__name__)

# Controllers whose pods get the system default topology spreading (kube-scheduler's
# DefaultSelector looks at Services, ReplicationControllers, ReplicaSets and StatefulSets).
SPREAD_OWNER_KINDS = ("ReplicaSet", "StatefulSet", "ReplicationController")


def labels_of(obj: dict) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def namespace_of(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("namespace") or "default"


def controller_of(pod: dict) -> dict | None:
    """The pod's controller ownerReference (``controller: true``), else its first one."""
    refs = [r for r in (pod.get("metadata") or {}).get("ownerReferences") or [] if isinstance(r, dict)]
    return next((r for r in refs if r.get("controller")), refs[0] if refs else None)


def terminating(pod: dict) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def selector(obj: dict | None) -> Selector:
    """A metav1.LabelSelector as a Selector; a missing or malformed one selects nothing."""
    try:
        return selector_from_label_selector(obj)
    except SelectorError as e:
        log.debug("ignoring malformed label selector %r: %s", obj, e)
        return Selector.nothing()


def with_label_keys(base: Selector, pod: dict, match_keys: list | None, mismatch_keys: list | None = None) -> Selector:
    """``matchLabelKeys`` / ``mismatchLabelKeys``: require (or forbid) the incoming pod's own values."""
    if base.selects_nothing:
        return base
    own = labels_of(pod)
    extra = [Requirement(k, IN, (own[k],)) for k in match_keys or [] if isinstance(k, str) and k in own]
    extra += [Requirement(k, NOT_IN, (own[k],)) for k in mismatch_keys or [] if isinstance(k, str) and k in own]
    return Selector(base.requirements + tuple(extra)) if extra else base


@dataclass(frozen=True)
class AffinityTerm:
    """A podAffinityTerm ready to match pods: namespaces, a selector, a topology key, a weight."""

    namespaces: frozenset[str]
    namespace_selector: Selector | None  # None: not given
    selector: Selector
    topology_key: str
    weight: int = 0

    def matches(self, pod: dict, namespace_labels: dict | None) -> bool:
        return self.matches_labels(namespace_of(pod), labels_of(pod), namespace_labels)

    def matches_labels(self, namespace: str, labels: dict, namespace_labels: dict | None) -> bool:
        """:meth:`matches` for a pod in ``namespace`` with ``labels``."""
        in_scope = namespace in self.namespaces or (self.namespace_selector is not None
                                                    and self.namespace_selector.matches(namespace_labels or {}))
        return in_scope and self.selector.matches(labels)


def affinity_term(owner: dict, term: dict, weight: int = 0) -> AffinityTerm | None:
    """The term as the pod ``owner`` declared it (its namespace is the default scope)."""
    if not isinstance(term, dict) or not term.get("topologyKey"):
        return None
    sel = with_label_keys(selector(term.get("labelSelector")), owner, term.get("matchLabelKeys"),
                          term.get("mismatchLabelKeys"))
    namespaces = frozenset(n for n in term.get("namespaces") or [] if isinstance(n, str))
    ns_selector = selector(term["namespaceSelector"]) if term.get("namespaceSelector") is not None else None
    if not namespaces and ns_selector is None:
        namespaces = frozenset({namespace_of(owner)})
    return AffinityTerm(namespaces, ns_selector, sel, str(term["topologyKey"]), int(weight or 0))


def _pod_affinity(pod: dict, kind: str) -> dict:
    affinity = (pod.get("spec") or {}).get("affinity")
    return ((affinity or {}).get(kind) or {}) if isinstance(affinity, dict) else {}


# Parsed terms per pod object. Informer objects never change in place (a new version is a new
# dict), so the object itself is the key; holding it keeps its id from being reused. Bounded.
_TERMS_CACHE: dict[tuple[int, str, bool], tuple[dict, list]] = {}
MAX_CACHED_TERMS = 20000


def _cached(pod: dict, kind: str, required: bool, parse) -> list[AffinityTerm]:
    key = (id(pod), kind, required)
    hit = _TERMS_CACHE.get(key)
    if hit is not None and hit[0] is pod:
        return hit[1]
    terms = parse(pod, kind)
    if len(_TERMS_CACHE) >= MAX_CACHED_TERMS:
        _TERMS_CACHE.clear()
    _TERMS_CACHE[key] = (pod, terms)
    return terms


def required_terms(pod: dict, kind: str) -> list[AffinityTerm]:
    """``kind`` is podAffinity or podAntiAffinity: the pod's requiredDuringScheduling terms."""
    if not _pod_affinity(pod, kind):
        return []
    return _cached(pod, kind, True, _parse_required)


def preferred_terms(pod: dict, kind: str) -> list[AffinityTerm]:
    """The pod's preferredDuringScheduling terms of ``kind``, with their weights."""
    if not _pod_affinity(pod, kind):
        return []
    return _cached(pod, kind, False, _parse_preferred)


def _parse_required(pod: dict, kind: str) -> list[AffinityTerm]:
    raw = _pod_affinity(pod, kind).get("requiredDuringSchedulingIgnoredDuringExecution") or []
    return [t for t in (affinity_term(pod, r) for r in raw) if t is not None]


def _parse_preferred(pod: dict, kind: str) -> list[AffinityTerm]:
    raw = _pod_affinity(pod, kind).get("preferredDuringSchedulingIgnoredDuringExecution") or []
    out = []
    for r in raw:
        if isinstance(r, dict):
            term = affinity_term(pod, r.get("podAffinityTerm") or {}, r.get("weight", 0))
            if term is not None and term.weight:
                out.append(term)
    return out


def has_pod_affinity(pod: dict) -> bool:
    return bool(_pod_affinity(pod, "podAffinity") or _pod_affinity(pod, "podAntiAffinity"))


NamespaceLabels = Callable[[str], dict | None]
