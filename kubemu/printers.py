"""Human-readable printers for ``kubemu kubectl get``: tables, ages, YAML and JSON.

This module is the pure formatting layer behind our kubectl-like CLI. It takes
Kubernetes-shaped dicts (exactly what the API server returns) and produces text
that looks like the real kubectl's, so that people's muscle memory, scripts and
docs keep working against the emulator:

* ``human_duration`` follows apimachinery's ``HumanDuration`` (the AGE column):
  seconds below 2 minutes, ``XmYs`` below 10 minutes, minutes below 3 hours,
  ``XhYm`` below 8 hours, hours below 2 days, ``XdYh`` below 8 days, days below
  2 years, ``XyYd`` below 8 years and whole years after that.
* ``pod_status_reason`` reproduces the STATUS column of kubectl's pod printer
  (init containers, waiting/terminated reasons, Terminating, NotReady...).
* ``format_table`` lays columns out the way kubectl does: it feeds tab-separated
  rows through a re-implementation of Go's ``text/tabwriter`` (elastic tabstops,
  minimum cell width 6, padding 3), so spacing matches byte for byte.
* ``to_yaml``/``to_json`` print one object as is, or several wrapped in a ``List``
  like ``kubectl get -o yaml|json``.

Nothing here touches the network and no input dict is ever mutated.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import yaml

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
    "tabwrite",
    "wide_cells",
    "to_json",
    "to_yaml",
]

NONE = "<none>"
UNKNOWN = "<unknown>"

# kubectl's table printer: tabwriter.NewWriter(out, 6, 4, 3, ' ', 0)
_TABLE_MIN_WIDTH = 6
_TABLE_PADDING = 3

_NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
_NODE_ROLE_LABEL = "kubernetes.io/role"

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


# --------------------------------------------------------------------------- time


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an RFC 3339 timestamp (``2026-11-25T08:40:02Z``, fractions allowed) to aware UTC.

    Returns None for missing or unparseable values, like a zero ``metav1.Time``.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """Render a duration with ~2-3 significant figures, exactly like apimachinery's HumanDuration."""
    whole = math.trunc(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60 * 2:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        return _two_units(minutes, "m", whole % 60, "s")
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        return _two_units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _two_units(hours // 24, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return _two_units(hours // 24 // 365, "y", (hours // 24) % 365, "d")
    return f"{hours // 24 // 365}y"


def _two_units(major: int, major_unit: str, minor: int, minor_unit: str) -> str:
    if minor == 0:
        return f"{major}{major_unit}"
    return f"{major}{major_unit}{minor}{minor_unit}"


def age(timestamp: Any, now: datetime | None = None) -> str:
    """Time elapsed since ``timestamp`` as kubectl prints it; ``<unknown>`` when unset."""
    parsed = parse_timestamp(timestamp)
    if parsed is None:
        return UNKNOWN
    return human_duration((_now(now) - parsed).total_seconds())


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


# --------------------------------------------------------------------------- dict helpers


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _items(obj: Any, *path: str) -> list[Any]:
    value = _get(obj, *path)
    return value if isinstance(value, list) else []


def _mapping(obj: Any, *path: str) -> dict[str, Any]:
    value = _get(obj, *path)
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _or_none(value: Any) -> str:
    text = _str(value)
    return text if text else NONE


# --------------------------------------------------------------------------- pods


@dataclass
class _PodSummary:
    ready: int
    total: int
    reason: str
    restarts: int
    last_restart: datetime | None


def pod_status_reason(pod: dict) -> str:
    """The STATUS column of ``kubectl get pods`` for ``pod`` (kubectl's printPod rules)."""
    return _summarize_pod(pod).reason


def _later(current: datetime | None, status: dict) -> datetime | None:
    finished = parse_timestamp(_get(status, "lastState", "terminated", "finishedAt"))
    if finished is None or (current is not None and current >= finished):
        return current
    return finished


def _terminated_reason(terminated: dict) -> str:
    if terminated.get("reason"):
        return str(terminated["reason"])
    if terminated.get("signal"):
        return f"Signal:{terminated['signal']}"
    return f"ExitCode:{terminated.get('exitCode') or 0}"


def _condition_true(conditions: Iterable[Any], cond_type: str) -> bool:
    for cond in conditions:
        if isinstance(cond, dict) and cond.get("type") == cond_type:
            return cond.get("status") == "True"
    return False


def _summarize_pod(pod: dict) -> _PodSummary:
    status = _mapping(pod, "status")
    conditions = _items(status, "conditions")
    phase = _str(status.get("phase"))
    reason = _str(status.get("reason")) or phase
    for cond in conditions:
        if isinstance(cond, dict) and cond.get("type") == "PodScheduled" \
                and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_specs = [c for c in _items(pod, "spec", "initContainers") if isinstance(c, dict)]
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}
    summary = _PodSummary(ready=0, total=len(_items(pod, "spec", "containers")), reason=reason,
                          restarts=0, last_restart=None)
    summary.total += sum(1 for c in init_specs if c.get("restartPolicy") == "Always")
    initializing, sidecar_restarts, sidecar_last = _scan_init_containers(
        summary, _items(status, "initContainerStatuses"), sidecars, len(init_specs))
    if not initializing or _condition_true(conditions, "Initialized"):
        summary.restarts, summary.last_restart = sidecar_restarts, sidecar_last
        _scan_containers(summary, _items(status, "containerStatuses"), conditions)
    deleting = bool(_get(pod, "metadata", "deletionTimestamp"))
    if deleting and status.get("reason") == "NodeLost":
        summary.reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        summary.reason = "Terminating"
    return summary


def _scan_init_containers(summary: _PodSummary, statuses: list[Any], sidecars: set[Any],
                          n_init: int) -> tuple[bool, int, datetime | None]:
    """Walk init container statuses; returns (initializing, sidecar restarts, last sidecar restart)."""
    sidecar_restarts, sidecar_last = 0, None
    for index, cs in enumerate(s for s in statuses if isinstance(s, dict)):
        count = int(cs.get("restartCount") or 0)
        summary.restarts += count
        summary.last_restart = _later(summary.last_restart, cs)
        is_sidecar = cs.get("name") in sidecars
        if is_sidecar:
            sidecar_restarts += count
            sidecar_last = _later(sidecar_last, cs)
        terminated = _get(cs, "state", "terminated")
        waiting = _get(cs, "state", "waiting")
        if isinstance(terminated, dict) and not terminated.get("exitCode"):
            continue
        if is_sidecar and cs.get("started"):
            summary.ready += 1 if cs.get("ready") else 0
            continue
        if isinstance(terminated, dict):
            summary.reason = "Init:" + _terminated_reason(terminated)
        elif isinstance(waiting, dict) and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            summary.reason = "Init:" + str(waiting["reason"])
        else:
            summary.reason = f"Init:{index}/{n_init}"
        return True, sidecar_restarts, sidecar_last
    return False, sidecar_restarts, sidecar_last


def _scan_containers(summary: _PodSummary, statuses: list[Any], conditions: list[Any]) -> None:
    has_running = False
    for cs in reversed([s for s in statuses if isinstance(s, dict)]):
        summary.restarts += int(cs.get("restartCount") or 0)
        summary.last_restart = _later(summary.last_restart, cs)
        terminated = _get(cs, "state", "terminated")
        waiting = _get(cs, "state", "waiting")
        if isinstance(waiting, dict) and waiting.get("reason"):
            summary.reason = str(waiting["reason"])
        elif isinstance(terminated, dict):
            summary.reason = _terminated_reason(terminated)
        elif cs.get("ready") and _get(cs, "state", "running") is not None:
            has_running = True
            summary.ready += 1
    if summary.reason == "Completed" and has_running:
        summary.reason = "Running" if _condition_true(conditions, "Ready") else "NotReady"


def _pod_restarts(summary: _PodSummary, now: datetime) -> str:
    if summary.restarts and summary.last_restart is not None:
        since = human_duration((now - summary.last_restart).total_seconds())
        return f"{summary.restarts} ({since} ago)"
    return str(summary.restarts)


def _pod_ip(pod: dict) -> str:
    ips = [ip.get("ip") for ip in _items(pod, "status", "podIPs") if isinstance(ip, dict)]
    return _or_none(ips[0] if ips else _get(pod, "status", "podIP"))


def _readiness_gates(pod: dict) -> str:
    gates = [g for g in _items(pod, "spec", "readinessGates") if isinstance(g, dict)]
    if not gates:
        return NONE
    conditions = _items(pod, "status", "conditions")
    passed = sum(1 for g in gates if _condition_true(conditions, _str(g.get("conditionType"))))
    return f"{passed}/{len(gates)}"


def _pod_row(pod: dict, wide: bool, now: datetime) -> list[str]:
    summary = _summarize_pod(pod)
    row = [_str(_get(pod, "metadata", "name")), f"{summary.ready}/{summary.total}", summary.reason,
           _pod_restarts(summary, now), age(_get(pod, "metadata", "creationTimestamp"), now)]
    if wide:
        row += [_pod_ip(pod), _or_none(_get(pod, "spec", "nodeName")),
                _or_none(_get(pod, "status", "nominatedNodeName")), _readiness_gates(pod)]
    return row


# --------------------------------------------------------------------------- nodes


def _node_status(node: dict) -> str:
    parts = []
    for cond in _items(node, "status", "conditions"):
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            parts = ["Ready" if cond.get("status") == "True" else "NotReady"]
    if not parts:
        parts = ["Unknown"]
    if _get(node, "spec", "unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def node_roles(node: dict) -> list[str]:
    """Sorted roles from ``node-role.kubernetes.io/<role>`` and ``kubernetes.io/role`` labels."""
    roles = set()
    for key, value in _mapping(node, "metadata", "labels").items():
        if key.startswith(_NODE_ROLE_PREFIX) and key[len(_NODE_ROLE_PREFIX):]:
            roles.add(key[len(_NODE_ROLE_PREFIX):])
        elif key == _NODE_ROLE_LABEL and value:
            roles.add(str(value))
    return sorted(roles)


def _node_address(node: dict, kind: str) -> str:
    for address in _items(node, "status", "addresses"):
        if isinstance(address, dict) and address.get("type") == kind:
            return _str(address.get("address"))
    return NONE


def _node_row(node: dict, wide: bool, now: datetime) -> list[str]:
    info = _mapping(node, "status", "nodeInfo")
    row = [_str(_get(node, "metadata", "name")), _node_status(node), ",".join(node_roles(node)) or NONE,
           age(_get(node, "metadata", "creationTimestamp"), now), _str(info.get("kubeletVersion"))]
    if wide:
        row += [_node_address(node, "InternalIP"), _node_address(node, "ExternalIP"),
                _str(info.get("osImage")) or UNKNOWN, _str(info.get("kernelVersion")) or UNKNOWN,
                _str(info.get("containerRuntimeVersion")) or UNKNOWN]
    return row


# --------------------------------------------------------------------------- other kinds


def _namespace_row(ns: dict, wide: bool, now: datetime) -> list[str]:
    return [_str(_get(ns, "metadata", "name")), _str(_get(ns, "status", "phase")),
            age(_get(ns, "metadata", "creationTimestamp"), now)]


def _lease_row(lease: dict, wide: bool, now: datetime) -> list[str]:
    return [_str(_get(lease, "metadata", "name")), _str(_get(lease, "spec", "holderIdentity")),
            age(_get(lease, "metadata", "creationTimestamp"), now)]


def _generic_row(obj: dict, wide: bool, now: datetime) -> list[str]:
    return [_str(_get(obj, "metadata", "name")), age(_get(obj, "metadata", "creationTimestamp"), now)]


def event_times(event: dict, now: datetime | None = None) -> tuple[str, str, int]:
    """(last seen, first seen, count) of a core/v1 Event, with kubectl's fallbacks for new-style events."""
    first = event.get("firstTimestamp") or event.get("deprecatedFirstTimestamp")
    first_seen = age(first, now) if first else age(event.get("eventTime"), now)
    last = event.get("lastTimestamp") or event.get("deprecatedLastTimestamp")
    last_seen = age(last, now) if last else first_seen
    count = int(event.get("count") or event.get("deprecatedCount") or 0)
    series = event.get("series")
    if isinstance(series, dict):
        last_seen = age(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1
    return last_seen, first_seen, count


def _involved(event: dict) -> dict[str, Any]:
    return _mapping(event, "involvedObject") or _mapping(event, "regarding")


def _event_row(event: dict, wide: bool, now: datetime) -> list[str]:
    last_seen, first_seen, count = event_times(event, now)
    involved = _involved(event)
    kind = _str(involved.get("kind")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    message = _str(event.get("message") or event.get("note")).strip()
    if not wide:
        return [last_seen, _str(event.get("type")), _str(event.get("reason")), target, message]
    source = _mapping(event, "source")
    component = _str(source.get("component") or event.get("reportingController"))
    instance = _str(source.get("host") or event.get("reportingInstance"))
    source_text = f"{component}, {instance}" if instance else component
    return [last_seen, _str(event.get("type")), _str(event.get("reason")), target,
            _str(involved.get("fieldPath")), source_text, message, first_seen, str(count),
            _str(_get(event, "metadata", "name"))]


# --------------------------------------------------------------------------- tables

_RowFn = Callable[[dict, bool, datetime], list[str]]

_PRINTERS: dict[str, tuple[list[str], list[str], _RowFn]] = {
    "pods": (["Name", "Ready", "Status", "Restarts", "Age"],
             ["IP", "Node", "Nominated Node", "Readiness Gates"], _pod_row),
    "nodes": (["Name", "Status", "Roles", "Age", "Version"],
              ["Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"], _node_row),
    "namespaces": (["Name", "Status", "Age"], [], _namespace_row),
    "events": (["Last Seen", "Type", "Reason", "Object", "Message"], [], _event_row),
    "leases": (["Name", "Holder", "Age"], [], _lease_row),
}
_EVENT_WIDE_HEADERS = ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message",
                       "First Seen", "Count", "Name"]


def wide_cells(resource: str, obj: dict, now: datetime | None = None) -> list[str] | None:
    """The ``-o wide`` row of one object of ``resource`` (pods, nodes, namespaces, events, leases),
    or None for another resource. The apiserver's server-side Tables (apiserver/rest/tables.py)
    take their cells from here, so ``kubemu kubectl`` and the real kubectl print the same rows."""
    printer = _PRINTERS.get(normalize_resource(resource))
    return printer[2](obj, True, _now(now)) if printer else None


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
    current = _now(now)
    name = normalize_resource(resource)
    headers, wide_headers, row_fn = _PRINTERS.get(name, (["Name", "Age"], [], _generic_row))
    headers = _EVENT_WIDE_HEADERS if (wide and name == "events") else headers + (wide_headers if wide else [])
    rows = [row_fn(obj, wide, current) for obj in objects]
    if all_namespaces and name not in _CLUSTER_SCOPED:
        headers = ["Namespace", *headers]
        namespaces = [_str(_get(obj, "metadata", "namespace")) for obj in objects]
        rows = [[namespace, *row] for namespace, row in zip(namespaces, rows, strict=True)]
    return _render_table(headers, rows)


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


def to_yaml(obj_or_list: Any) -> str:
    """``kubectl -o yaml``: block style, keys in the order given, a list becomes a ``List``."""
    return yaml.dump(_as_list_object(obj_or_list), Dumper=_KubeDumper, default_flow_style=False,
                     sort_keys=False, allow_unicode=True, width=1 << 30)


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return _timestamp_text(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def to_json(obj_or_list: Any) -> str:
    """``kubectl -o json``: 4-space indent, Go's HTML-safe escaping, trailing newline."""
    text = json.dumps(_as_list_object(obj_or_list), indent=4, ensure_ascii=False, default=_json_default)
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text + "\n"
