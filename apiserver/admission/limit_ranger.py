"""LimitRanger: defaults and bounds for container resources, from LimitRanges in the namespace.

Mutating: a container without a limit (request) gets the LimitRange's ``default``
(``defaultRequest``; when only ``default`` is given, the request defaults to it), for each
resource the LimitRange names with ``type: Container``. Validating: a container's requests
and limits must lie within ``min`` and ``max``; otherwise the pod is refused with
Kubernetes' message (``maximum cpu usage per Container is 1, but limit is 2``).
"""

from __future__ import annotations

from apiserver.admission.chain import Attributes, is_pod_create
from apiserver.admission.lookup import Lookup
from machinery import errors
from machinery.quantity import QuantityError, parse_quantity


def _container_limits(lookup: Lookup, namespace: str) -> list[dict]:
    out = []
    for lr in lookup.list("limitranges", namespace):
        for item in (lr.get("spec") or {}).get("limits") or []:
            if isinstance(item, dict) and item.get("type") == "Container":
                out.append(item)
    return out


def _containers(pod: dict) -> list[dict]:
    spec = pod.get("spec") or {}
    return [c for c in (spec.get("initContainers") or []) + (spec.get("containers") or []) if isinstance(c, dict)]


class LimitRanger:
    name = "LimitRanger"

    def __init__(self, lookup: Lookup):
        self.lookup = lookup

    def admit(self, attrs: Attributes) -> None:
        if not is_pod_create(attrs):
            return
        limits = _container_limits(self.lookup, attrs.namespace)
        if not limits:
            return
        annotations = []
        for container in _containers(attrs.object):
            resources = container.setdefault("resources", {})
            if not isinstance(resources, dict):
                continue
            user_limits = dict(resources.get("limits") or {})
            for item in limits:
                default_limit = item.get("default") or {}
                default_request = {**default_limit, **(item.get("defaultRequest") or {})}
                if default_limit:
                    lim = resources.setdefault("limits", {})
                    for name, value in default_limit.items():
                        if name not in lim:
                            lim[name] = value
                            annotations.append(f"{name} limit for container {container.get('name')}")
                if default_request:
                    req = resources.setdefault("requests", {})
                    for name, value in default_request.items():
                        if name not in req:
                            # A limit the user set is the request's default (as in Kubernetes).
                            req[name] = user_limits.get(name, value)
                            annotations.append(f"{name} request for container {container.get('name')}")
        if annotations:
            meta = attrs.object.setdefault("metadata", {})
            meta.setdefault("annotations", {})["kubernetes.io/limit-ranger"] = (
                "LimitRanger plugin set: " + "; ".join(annotations))

    def validate(self, attrs: Attributes) -> None:
        if not is_pod_create(attrs):
            return
        for item in _container_limits(self.lookup, attrs.namespace):
            for container in _containers(attrs.object):
                resources = container.get("resources") or {}
                for bound, word in (("max", "maximum"), ("min", "minimum")):
                    for name, limit in (item.get(bound) or {}).items():
                        for kind in ("limits", "requests"):
                            value = (resources.get(kind) or {}).get(name)
                            if value is None:
                                if bound == "max" and kind == "limits":
                                    self._refuse(attrs, f"{word} {name} usage per Container is {limit}. No limit "
                                                        f"is specified")
                                continue
                            if _out_of_bound(value, limit, bound):
                                what = "limit" if kind == "limits" else "request"
                                self._refuse(attrs, f"{word} {name} usage per Container is {limit}, but {what} "
                                                    f"is {value}")

    @staticmethod
    def _refuse(attrs: Attributes, message: str) -> None:
        raise errors.Forbidden(f'pods "{attrs.name}" is forbidden: {message}', kind="pods", name=attrs.name)


def _out_of_bound(value, limit, bound: str) -> bool:
    try:
        v, lim = parse_quantity(value), parse_quantity(limit)
    except QuantityError:
        return False  # validation reports malformed quantities
    return v > lim if bound == "max" else v < lim
