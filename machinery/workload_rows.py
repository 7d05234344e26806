"""How kubectl prints one workload object as a table row: Deployments, ReplicaSets,
StatefulSets, DaemonSets, Jobs and ControllerRevisions.

Pure functions shared by ``kubemu kubectl get`` (kubemu/kubectl_workloads.py) and the apiserver's
server-side Tables (apiserver/rest/tables.py). The core kinds are in :mod:`machinery.rows`.
"""

from __future__ import annotations

import datetime as dt

from machinery import meta
from machinery.labels import SelectorError, selector_from_label_selector
from machinery.resources import UnknownResource, lookup
from machinery.rows import age, human_duration, parse_timestamp


def _selector_text(obj: dict) -> str:
    raw = (obj.get("spec") or {}).get("selector")
    if not raw:
        return "<none>"
    try:
        return str(selector_from_label_selector(raw)) or "<none>"
    except SelectorError:
        return "<invalid>"


def _containers_and_images(obj: dict) -> list[str]:
    containers = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return [",".join(str(c.get("name", "")) for c in containers),
            ",".join(str(c.get("image", "")) for c in containers)]


def _int(status: dict, field: str) -> int:
    try:
        return int(status.get(field) or 0)
    except (TypeError, ValueError):
        return 0


def _job_status(job: dict) -> str:
    conditions = {c.get("type"): c.get("status") for c in (job.get("status") or {}).get("conditions") or []}
    for ctype, text in (("Complete", "Complete"), ("Failed", "Failed"), ("FailureTarget", "FailureTarget"),
                        ("SuccessCriteriaMet", "SuccessCriteriaMet"), ("Suspended", "Suspended")):
        if conditions.get(ctype) == "True":
            return text
    if (job.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    return "Running"


def workload_row(resource: str, obj: dict, now: dt.datetime | None = None) \
        -> tuple[list[str], list[str], list[str], list[str]] | None:
    """``(headers, cells, wide headers, wide cells)`` of one deployment, replica set, stateful set,
    daemon set, job or controller revision, as kubectl prints them; None for another resource.
    Shared by ``kubemu kubectl get`` and the apiserver's server-side Tables."""
    try:
        name = lookup(resource).name
    except UnknownResource:
        return None
    now = now or dt.datetime.now(dt.UTC)
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    created = age((obj.get("metadata") or {}).get("creationTimestamp"), now)
    oname = meta.name_of(obj)
    if name == "deployments":
        return (["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
                [oname, f"{_int(status, 'readyReplicas')}/{spec.get('replicas', 1)}",
                 str(_int(status, "updatedReplicas")), str(_int(status, "availableReplicas")), created],
                ["CONTAINERS", "IMAGES", "SELECTOR"], [*_containers_and_images(obj), _selector_text(obj)])
    if name == "replicasets":
        return (["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
                [oname, str(spec.get("replicas", 1)), str(_int(status, "replicas")),
                 str(_int(status, "readyReplicas")), created],
                ["CONTAINERS", "IMAGES", "SELECTOR"], [*_containers_and_images(obj), _selector_text(obj)])
    if name == "statefulsets":
        return (["NAME", "READY", "AGE"], [oname, f"{_int(status, 'readyReplicas')}/{spec.get('replicas', 1)}",
                                           created],
                ["CONTAINERS", "IMAGES"], _containers_and_images(obj))
    if name == "daemonsets":
        node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
        return (["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"],
                [oname, str(_int(status, "desiredNumberScheduled")), str(_int(status, "currentNumberScheduled")),
                 str(_int(status, "numberReady")), str(_int(status, "updatedNumberScheduled")),
                 str(_int(status, "numberAvailable")),
                 ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>", created],
                ["CONTAINERS", "IMAGES", "SELECTOR"], [*_containers_and_images(obj), _selector_text(obj)])
    if name == "jobs":
        completions = spec.get("completions")
        done = _int(status, "succeeded")
        completion_text = f"{done}/{completions}" if isinstance(completions, int) else \
            f"{done}/1 of {spec.get('parallelism', 1)}"
        start = parse_timestamp(status.get("startTime"))
        end = parse_timestamp(status.get("completionTime")) or (now if start else None)
        duration = human_duration((end - start).total_seconds()) if start and end else ""
        return (["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
                [oname, _job_status(obj), completion_text, duration, created],
                ["CONTAINERS", "IMAGES", "SELECTOR"], [*_containers_and_images(obj), _selector_text(obj)])
    if name == "controllerrevisions":
        ref = next((r for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("controller")),
                   None)
        controller = "<none>"
        if ref:
            group = ref.get("apiVersion", "").split("/")[0] if "/" in ref.get("apiVersion", "") else ""
            controller = f"{ref.get('kind', '').lower()}{'.' + group if group else ''}/{ref.get('name')}"
        return ["NAME", "CONTROLLER", "REVISION", "AGE"], [oname, controller, str(obj.get("revision", 0)), created], \
            [], []
    return None
