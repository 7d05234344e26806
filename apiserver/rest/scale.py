"""The ``scale`` subresource of deployments, replica sets and stateful sets: an ``autoscaling/v1``
``Scale`` (spec.replicas, status.replicas and the selector as a string) that GET answers and PUT
or PATCH change; only ``spec.replicas`` of the workload is written. ``kubectl scale`` sends a
merge patch to it and needs a Scale back."""

from __future__ import annotations

from machinery import errors
from machinery.labels import SelectorError, selector_from_label_selector

SCALE_API_VERSION = "autoscaling/v1"


def to_scale(obj: dict) -> dict:
    metadata = obj.get("metadata") or {}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    try:
        selector = str(selector_from_label_selector(spec.get("selector") or {}))
    except SelectorError:
        selector = ""
    return {"kind": "Scale", "apiVersion": SCALE_API_VERSION,
            "metadata": {k: metadata[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in metadata},
            "spec": {"replicas": spec.get("replicas", 1)},
            "status": {"replicas": int(status.get("replicas") or 0), "selector": selector}}


def apply_scale(obj: dict, scale: dict) -> dict:
    """The workload with the replicas (and resourceVersion precondition) of ``scale``."""
    if not isinstance(scale, dict) or (scale.get("kind") not in (None, "Scale")):
        raise errors.BadRequest("the body of a scale request must be a Scale (autoscaling/v1)")
    name = (obj.get("metadata") or {}).get("name", "")
    replicas = (scale.get("spec") or {}).get("replicas", 0) if isinstance(scale.get("spec"), dict) else None
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        message = f"Invalid value: {replicas}: must be greater than or equal to 0"
        raise errors.Invalid(f'Scale.autoscaling "{name}" is invalid: spec.replicas: {message}',
                             causes=[errors.Cause("spec.replicas", message)], kind="Scale", name=name)
    obj.setdefault("spec", {})["replicas"] = replicas
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    if rv:
        obj["metadata"]["resourceVersion"] = str(rv)
    return obj
