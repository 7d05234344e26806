"""Human-readable printers for ``kubemu kubectl get``: tables, ages, YAML and JSON.

This module is the pure formatting layer behind our kubectl-like CLI. It takes
Kubernetes-shaped dicts (exactly what the API server returns) and produces text
that looks like the real kubectl's, so that people's muscle memory, scripts and
docs keep working against the emulator:

* the cells of each row (ages, pod STATUS, node roles, …) come from :mod:`machinery.rows`,
  which the apiserver's server-side Tables use too, so both print the same rows;
* ``format_table`` lays columns out the way kubectl does: it feeds tab-separated
  rows through a re-implementation of Go's ``text/tabwriter`` (elastic tabstops,
  minimum cell width 6, padding 3), so spacing matches byte for byte.
* ``to_yaml``/``to_json`` print one object, or several wrapped in a ``List``, like
  ``kubectl get -o yaml|json``: kubectl prints objects it decoded as unstructured maps, so
  every mapping's keys come out sorted (Go's encoding/json order for JSON, go-yaml v2's
  "natural" order for YAML: digit runs compare as numbers, non-letters before letters).

Nothing here touches the network and no input dict is ever mutated.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, date, datetime
from typing import Any

import yaml

from machinery.resources import UnknownResource, lookup
from machinery.rows import (
    EVENT_WIDE_HEADERS,
    PRINTERS,
    age,
    event_times,
    generic_row,
    human_duration,
    node_roles,
    now_utc,
    parse_timestamp,
    pod_status_reason,
)
from machinery.rows import wide_cells as _wide_cells
from machinery.workload_rows import workload_row

_WORKLOAD_KINDS = frozenset({"deployments", "replicasets", "statefulsets", "daemonsets", "jobs",
                             "controllerrevisions"})

__all__ = [
    "age",
    "event_times",
    "format_table",
    "human_duration",
    "is_cluster_scoped",
    "no_resources_message",
    "node_roles",
    "normalize_resource",
    "parse_timestamp",
    "pod_status_reason",
    "render_table",
    "table_cells",
    "tabwrite",
    "wide_cells",
    "to_json",
    "to_yaml",
]

# kubectl's table printer: tabwriter.NewWriter(out, 6, 4, 3, ' ', 0)
_TABLE_MIN_WIDTH = 6
_TABLE_PADDING = 3

_ALIASES = {
    "po": "pods", "pod": "pods",
    "no": "nodes", "node": "nodes",
    "ns": "namespaces", "namespace": "namespaces",
    "ev": "events", "event": "events",
    "lease": "leases",
}

_CLUSTER_SCOPED = frozenset({
    "nodes", "namespaces", "persistentvolumes", "clusterroles", "clusterrolebindings",
    "storageclasses", "customresourcedefinitions", "priorityclasses", "csinodes", "csidrivers",
    "volumeattachments", "runtimeclasses", "ingressclasses", "apiservices",
    "validatingwebhookconfigurations", "mutatingwebhookconfigurations",
    "certificatesigningrequests", "componentstatuses",
})



# --------------------------------------------------------------------------- tabwriter


def tabwrite(text: str, *, minwidth: int = 0, padding: int = 1) -> str:
    """Align tab-separated ``text`` like Go's ``text/tabwriter`` with a space pad char and no flags.

    A cell is text terminated by a tab; the text after a line's last tab is not part
    of any column. A column is a run of consecutive lines that all have a cell at that
    index, and its width is the widest cell plus ``padding`` (at least ``minwidth``).
    kubectl uses (minwidth=6, padding=3) for tables and (0, 2) for describe.
    """
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    _tab_format(lines, 0, len(lines), [], out, minwidth, padding)
    return "\n".join(out)


def _tab_format(lines: list[list[str]], line0: int, line1: int, widths: list[int],
                out: list[str], minwidth: int, padding: int) -> None:
    column = len(widths)
    this = line0
    while this < line1:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        _tab_write_lines(lines, line0, this, widths, out)
        line0 = this
        width = minwidth
        while this < line1 and column < len(lines[this]) - 1:
            width = max(width, len(lines[this][column]) + padding)
            this += 1
        _tab_format(lines, line0, this, [*widths, width], out, minwidth, padding)
        line0 = this
    _tab_write_lines(lines, line0, line1, widths, out)


def _tab_write_lines(lines: list[list[str]], line0: int, line1: int, widths: list[int],
                     out: list[str]) -> None:
    for cells in lines[line0:line1]:
        parts = [cell.ljust(widths[j]) if j < len(widths) else cell for j, cell in enumerate(cells)]
        out.append("".join(parts))


def _render_table(headers: list[str], rows: list[list[str]]) -> str:
    body = [[header.upper() for header in headers], *rows]
    text = "".join("\t".join(_clean_cell(cell) for cell in row) + "\n" for row in body)
    return tabwrite(text, minwidth=_TABLE_MIN_WIDTH, padding=_TABLE_PADDING)


def _clean_cell(cell: Any) -> str:
    return str(cell).replace("\t", " ").replace("\n", " ")




def wide_cells(resource: str, obj: dict, now: datetime | None = None) -> list[str] | None:
    """The ``-o wide`` row of one object of ``resource`` (pods, nodes, namespaces, events, leases),
    or None for another resource. The apiserver's server-side Tables (apiserver/rest/tables.py)
    take their cells from here, so ``kubemu kubectl`` and the real kubectl print the same rows."""
    return _wide_cells(normalize_resource(resource), obj, now)


def normalize_resource(resource: str) -> str:
    """Plural lower-case resource name: ``po``/``Pod``/``pods.v1`` -> ``pods``."""
    name = resource.strip().lower().split(".", 1)[0]
    if name in _ALIASES:
        return _ALIASES[name]
    if name.endswith("ss"):
        return name + "es"
    if name.endswith("y") and not name.endswith(("ay", "ey", "oy", "uy")):
        return name[:-1] + "ies"
    return name if name.endswith("s") else name + "s"


def is_cluster_scoped(resource: str) -> bool:
    """True for resources without a namespace (nodes, namespaces...): they never get a NAMESPACE column."""
    return normalize_resource(resource) in _CLUSTER_SCOPED


def format_table(resource: str, objects: list[dict], *, wide: bool = False, all_namespaces: bool = False,
                 now: datetime | None = None) -> str:
    """Render ``objects`` as ``kubectl get <resource>`` does; "" for an empty list.

    ``wide`` adds the ``-o wide`` columns; ``all_namespaces`` prepends NAMESPACE for
    namespaced resources. The result ends with a newline.
    """
    if not objects:
        return ""
    current = now_utc(now)
    name = normalize_resource(resource)
    headers, wide_headers, row_fn = PRINTERS.get(name, (["Name", "Age"], [], generic_row))
    headers = EVENT_WIDE_HEADERS if (wide and name == "events") else headers + (wide_headers if wide else [])
    rows = [row_fn(obj, wide, current) for obj in objects]
    if all_namespaces and name not in _CLUSTER_SCOPED:
        headers = ["Namespace", *headers]
        namespaces = [str((obj.get("metadata") or {}).get("namespace") or "") for obj in objects]
        rows = [[namespace, *row] for namespace, row in zip(namespaces, rows, strict=True)]
    return _render_table(headers, rows)


def table_cells(resource: str, objects: list[dict], *, wide: bool = False,
                now: datetime | None = None) -> tuple[list[str], list[list[str]]]:
    """``(HEADERS, rows)`` of ``kubectl get <resource>`` for ``objects``, before layout: core kinds from
    :mod:`machinery.rows`, workloads from :mod:`machinery.workload_rows`, anything else NAME and AGE."""
    current = now_utc(now)
    try:
        name = lookup(resource).name
    except UnknownResource:
        name = normalize_resource(resource)
    if name in _WORKLOAD_KINDS:
        headers, wide_headers, rows = [], [], []
        for obj in objects:
            printed = workload_row(name, obj, current)
            assert printed is not None
            headers, row, wide_headers, extra = printed
            rows.append(row + extra if wide else row)
        if not objects:
            headers, _, wide_headers, _ = workload_row(name, {}, current)  # type: ignore[misc]
        return headers + (wide_headers if wide else []), rows
    headers, wide_headers, row_fn = PRINTERS.get(name, (["Name", "Age"], [], generic_row))
    headers = EVENT_WIDE_HEADERS if (wide and name == "events") else headers + (wide_headers if wide else [])
    return [h.upper() for h in headers], [row_fn(obj, wide, current) for obj in objects]


def render_table(headers: list[str], rows: list[list[str]], *, no_headers: bool = False) -> str:
    """Lay out a table like kubectl (tabwriter, minimum width 6, padding 3); ends with a newline."""
    body = rows if no_headers else [headers, *rows]
    text = "".join("\t".join(_clean_cell(cell) for cell in row) + "\n" for row in body)
    return tabwrite(text, minwidth=_TABLE_MIN_WIDTH, padding=_TABLE_PADDING)


def no_resources_message(namespace: str | None) -> str:
    """kubectl's message for an empty result: per namespace, or bare for cluster-wide queries."""
    if namespace:
        return f"No resources found in {namespace} namespace."
    return "No resources found"


# --------------------------------------------------------------------------- yaml / json


def _as_list_object(obj_or_list: Any) -> Any:
    if isinstance(obj_or_list, (list, tuple)):
        return {"apiVersion": "v1", "items": list(obj_or_list), "kind": "List",
                "metadata": {"resourceVersion": ""}}
    return obj_or_list


class _KubeEmitterMixin:
    """Prefer double quotes when a scalar must be quoted, as Go's yaml emitter (kubectl) does."""

    def choose_scalar_style(self) -> str:
        style = super().choose_scalar_style()  # type: ignore[misc]
        return '"' if style == "'" else style


class _KubeDumper(_KubeEmitterMixin, yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _represent_datetime(dumper: yaml.SafeDumper, value: date) -> yaml.ScalarNode:
    return _represent_str(dumper, _timestamp_text(value))


def _timestamp_text(value: date) -> str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


_KubeDumper.add_representer(str, _represent_str)
_KubeDumper.add_representer(datetime, _represent_datetime)
_KubeDumper.add_representer(date, _represent_datetime)
_KubeDumper.add_representer(tuple, yaml.SafeDumper.represent_list)


def _go_yaml_key_less(a: str, b: str) -> bool:
    """go-yaml v2's ``keyList.Less`` for two string keys (what ``kubectl -o yaml`` sorts by)."""
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            continue
        a_letter, b_letter = a[i].isalpha(), b[i].isalpha()
        if a_letter and b_letter:
            return a[i] < b[i]
        if a_letter or b_letter:
            return b_letter
        a_num = b_num = 0
        if a[i] == "0" or b[i] == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    a_num = b_num = 1
                    break
                j -= 1
        a_end = i
        while a_end < len(a) and a[a_end].isdecimal():
            a_num = a_num * 10 + ord(a[a_end]) - 48
            a_end += 1
        b_end = i
        while b_end < len(b) and b[b_end].isdecimal():
            b_num = b_num * 10 + ord(b[b_end]) - 48
            b_end += 1
        if a_num != b_num:
            return a_num < b_num
        if a_end != b_end:
            return a_end < b_end
        return a[i] < b[i]
    return len(a) < len(b)


_GO_YAML_KEY = functools.cmp_to_key(lambda a, b: -1 if _go_yaml_key_less(a, b) else
                                    (1 if _go_yaml_key_less(b, a) else 0))


def _sorted_for_yaml(value: Any) -> Any:
    """A copy with every mapping's keys in go-yaml v2's order (the input is left alone)."""
    if isinstance(value, dict):
        return {k: _sorted_for_yaml(value[k]) for k in sorted(value, key=lambda k: _GO_YAML_KEY(str(k)))}
    if isinstance(value, (list, tuple)):
        return [_sorted_for_yaml(item) for item in value]
    return value


def to_yaml(obj_or_list: Any) -> str:
    """``kubectl -o yaml``: block style, keys sorted as kubectl sorts them, a list becomes a ``List``."""
    return yaml.dump(_sorted_for_yaml(_as_list_object(obj_or_list)), Dumper=_KubeDumper,
                     default_flow_style=False, sort_keys=False, allow_unicode=True, width=1 << 30)


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return _timestamp_text(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def to_json(obj_or_list: Any) -> str:
    """``kubectl -o json``: keys sorted, 4-space indent, Go's HTML-safe escaping, trailing newline."""
    text = json.dumps(_as_list_object(obj_or_list), indent=4, ensure_ascii=False, default=_json_default,
                      sort_keys=True)
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text + "\n"
