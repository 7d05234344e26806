"""Server-side printing: objects as ``meta.k8s.io/v1`` Tables, the way ``kubectl get`` shows them.

kubectl asks ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints what the
server answers: the column names (upper-cased by kubectl), ``priority`` 0 columns always and
priority ≥ 1 columns only with ``-o wide``, one row of cells per object. Each row carries the
object's metadata (``PartialObjectMetadata``, kubectl's ``includeObject=Metadata`` default) so
``-A`` can add NAMESPACE and ``--show-labels`` LABELS; ``includeObject=Object`` carries the whole
object and ``None`` nothing. The Table's ``metadata.resourceVersion`` and ``continue`` are the
list's, so ``get -w`` starts watching where the list ended.

Columns are Kubernetes 1.32's (pkg/printers/internalversion) for every kind kubemu serves; the
cells come from the row printers ``kubemu kubectl get`` uses too (machinery/rows.py,
machinery/workload_rows.py), so both print the same rows. A kind without its own printer gets
Name and Age (kubectl's default).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from machinery.resources import ResourceInfo
from machinery.rows import age, wide_cells
from machinery.workload_rows import workload_row

TABLE_API_VERSION = "meta.k8s.io/v1"
NAME_DESCRIPTION = "Name must be unique within a namespace."
AGE_DESCRIPTION = ("CreationTimestamp is a timestamp representing the server time when this object was "
                   "created.")

# (name, type, priority) per resource; cells are produced in this order.
Column = tuple[str, str, int]
_NAME: Column = ("Name", "string", 0)
_AGE: Column = ("Age", "string", 0)

COLUMNS: dict[str, list[Column]] = {
    "pods": [_NAME, ("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0), _AGE,
             ("IP", "string", 1), ("Node", "string", 1), ("Nominated Node", "string", 1),
             ("Readiness Gates", "string", 1)],
    "nodes": [_NAME, ("Status", "string", 0), ("Roles", "string", 0), _AGE, ("Version", "string", 0),
              ("Internal-IP", "string", 1), ("External-IP", "string", 1), ("OS-Image", "string", 1),
              ("Kernel-Version", "string", 1), ("Container-Runtime", "string", 1)],
    "namespaces": [_NAME, ("Status", "string", 0), _AGE],
    "events": [("Last Seen", "string", 0), ("Type", "string", 0), ("Reason", "string", 0),
               ("Object", "string", 0), ("Subobject", "string", 1), ("Source", "string", 1),
               ("Message", "string", 0), ("First Seen", "string", 1), ("Count", "string", 1),
               ("Name", "string", 1)],
    "leases": [_NAME, ("Holder", "string", 0), _AGE],
    "services": [_NAME, ("Type", "string", 0), ("Cluster-IP", "string", 0), ("External-IP", "string", 0),
                 ("Port(s)", "string", 0), _AGE, ("Selector", "string", 1)],
    "endpoints": [_NAME, ("Endpoints", "string", 0), _AGE],
    "endpointslices": [_NAME, ("AddressType", "string", 0), ("Ports", "string", 0), ("Endpoints", "string", 0),
                       _AGE],
    "configmaps": [_NAME, ("Data", "integer", 0), _AGE],
    "secrets": [_NAME, ("Type", "string", 0), ("Data", "integer", 0), _AGE],
    "serviceaccounts": [_NAME, ("Secrets", "integer", 0), _AGE],
    "limitranges": [_NAME, ("Created At", "date", 0)],
    "resourcequotas": [_NAME, _AGE, ("Request", "string", 0), ("Limit", "string", 0)],
    "priorityclasses": [_NAME, ("Value", "integer", 0), ("Global-Default", "boolean", 0), _AGE,
                        ("PreemptionPolicy", "string", 0)],
    "roles": [_NAME, ("Created At", "date", 0)],
    "clusterroles": [_NAME, ("Created At", "date", 0)],
    "rolebindings": [_NAME, ("Role", "string", 0), _AGE, ("Users", "string", 1), ("Groups", "string", 1),
                     ("ServiceAccounts", "string", 1)],
    "clusterrolebindings": [_NAME, ("Role", "string", 0), _AGE, ("Users", "string", 1), ("Groups", "string", 1),
                            ("ServiceAccounts", "string", 1)],
}


def _title(header: str) -> str:
    """kubectl upper-cases the column names; the Table carries them as Kubernetes names them."""
    special = {"UP-TO-DATE": "Up-to-date", "NODE SELECTOR": "Node Selector", "IP": "IP"}
    return special.get(header, header.title())


def _workload_columns(info: ResourceInfo) -> list[Column] | None:
    printed = workload_row(info.name, {"metadata": {}})
    if printed is None:
        return None
    headers, _, wide_headers, _ = printed
    cells = [(_title(h), "string", 0) for h in headers] + [(_title(h), "string", 1) for h in wide_headers]
    return [("Name", "string", 0) if c[0] == "Name" else c for c in cells]


def columns_of(info: ResourceInfo) -> list[Column]:
    return COLUMNS.get(info.name) or _workload_columns(info) or [_NAME, _AGE]


def _created_at(obj: dict) -> str:
    return str((obj.get("metadata") or {}).get("creationTimestamp") or "")


def _count(value) -> int:
    return len(value) if isinstance(value, dict | list) else 0


def _subjects(binding: dict, kind: str) -> str:
    names = []
    for s in binding.get("subjects") or []:
        if isinstance(s, dict) and s.get("kind") == kind:
            names.append(f"{s.get('namespace')}/{s.get('name')}" if kind == "ServiceAccount" else str(s.get("name")))
    return ", ".join(names)


def _quota(obj: dict, limits: bool) -> str:
    hard = (obj.get("status") or {}).get("hard") or (obj.get("spec") or {}).get("hard") or {}
    used = (obj.get("status") or {}).get("used") or {}
    keys = sorted(k for k in hard if k.startswith("limits.") == limits)
    return ", ".join(f"{k}: {used.get(k, '0')}/{hard[k]}" for k in keys)


_CELLS: dict[str, Callable[[dict, dt.datetime], list]] = {
    "configmaps": lambda o, now: [_name(o), _count(o.get("data")) + _count(o.get("binaryData")), _age(o, now)],
    "secrets": lambda o, now: [_name(o), str(o.get("type") or "Opaque"), _count(o.get("data")), _age(o, now)],
    "serviceaccounts": lambda o, now: [_name(o), _count(o.get("secrets")), _age(o, now)],
    "limitranges": lambda o, now: [_name(o), _created_at(o)],
    "resourcequotas": lambda o, now: [_name(o), _age(o, now), _quota(o, False), _quota(o, True)],
    "priorityclasses": lambda o, now: [_name(o), o.get("value", 0), bool(o.get("globalDefault")), _age(o, now),
                                       str(o.get("preemptionPolicy") or "PreemptLowerPriority")],
    "roles": lambda o, now: [_name(o), _created_at(o)],
    "clusterroles": lambda o, now: [_name(o), _created_at(o)],
    "rolebindings": lambda o, now: _binding_cells(o, now),
    "clusterrolebindings": lambda o, now: _binding_cells(o, now),
}


def _name(obj: dict) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _age(obj: dict, now: dt.datetime) -> str:
    return age((obj.get("metadata") or {}).get("creationTimestamp"), now)


def _binding_cells(obj: dict, now: dt.datetime) -> list:
    ref = obj.get("roleRef") or {}
    return [_name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", _age(obj, now), _subjects(obj, "User"),
            _subjects(obj, "Group"), _subjects(obj, "ServiceAccount")]


def cells_of(info: ResourceInfo, obj: dict, now: dt.datetime | None = None) -> list:
    now = now or dt.datetime.now(dt.UTC)
    if info.name in _CELLS:
        return _CELLS[info.name](obj, now)
    cells = wide_cells(info.name, obj, now) if info.name in COLUMNS else None
    if cells is not None:
        return cells
    printed = workload_row(info.name, obj, now)
    if printed is not None:
        return printed[1] + printed[3]
    return [_name(obj), _age(obj, now)]


def partial_metadata(obj: dict) -> dict:
    return {"kind": "PartialObjectMetadata", "apiVersion": TABLE_API_VERSION, "metadata": obj.get("metadata") or {}}


def _row_object(obj: dict, include: str) -> dict | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return partial_metadata(obj)


def table(info: ResourceInfo, objects: list[dict], *, resource_version: str = "", continue_token: str = "",
          remaining: int | None = None, include_object: str = "Metadata", no_headers: bool = False) -> dict:
    """The Table of ``objects``; ``no_headers`` leaves out the column definitions (watch events after the first)."""
    now = dt.datetime.now(dt.UTC)
    columns = columns_of(info)
    rows = []
    for obj in objects:
        row: dict = {"cells": cells_of(info, obj, now)}
        row_object = _row_object(obj, include_object)
        if row_object is not None:
            row["object"] = row_object
        rows.append(row)
    metadata: dict = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    if remaining:
        metadata["remainingItemCount"] = remaining
    definitions = [] if no_headers else [
        {"name": name, "type": kind, "format": "name" if name == "Name" and priority == 0 else "",
         "description": NAME_DESCRIPTION if name == "Name" else AGE_DESCRIPTION if name == "Age" else name,
         "priority": priority}
        for name, kind, priority in columns]
    return {"kind": "Table", "apiVersion": TABLE_API_VERSION, "metadata": metadata, "columnDefinitions": definitions,
            "rows": rows}
