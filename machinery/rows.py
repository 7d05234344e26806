"""How kubectl prints one object of each core kind as a table row: cells, ages, statuses.

Pure functions over Kubernetes-shaped dicts, shared by ``kubemu kubectl get`` (kubemu/printers.py
lays the rows out like Go's tabwriter) and the apiserver's server-side Tables
(apiserver/rest/tables.py), which the real kubectl prints: one source of cells, so both clients
print the same rows, and the apiserver needs nothing from the CLI package.

* ``human_duration`` follows apimachinery's ``HumanDuration`` (the AGE column):
  seconds below 2 minutes, ``XmYs`` below 10 minutes, minutes below 3 hours,
  ``XhYm`` below 8 hours, hours below 2 days, ``XdYh`` below 8 days, days below
  2 years, ``XyYd`` below 8 years and whole years after that.
* ``pod_status_reason`` reproduces the STATUS column of kubectl's pod printer
  (init containers, waiting/terminated reasons, Terminating, NotReady...).

Nothing here touches the network and no input dict is ever mutated. Workload kinds
(Deployments, ReplicaSets, …) are in :mod:`machinery.workload_rows`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

NONE = "<none>"
UNKNOWN = "<unknown>"

_NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
_NODE_ROLE_LABEL = "kubernetes.io/role"


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


def generic_row(obj: dict, wide: bool, now: datetime) -> list[str]:
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


# --------------------------------------------------------------------------- services and endpoints


def _service_external_ip(svc: dict, wide: bool) -> str:
    """The EXTERNAL-IP cell: external IPs, the load balancer's ingress (``<pending>`` until it has
    one), or an ExternalName's name."""
    spec = _mapping(svc, "spec")
    external = [str(ip) for ip in _items(spec, "externalIPs")]
    svc_type = _str(spec.get("type")) or "ClusterIP"
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else NONE
    if svc_type == "ExternalName":
        return _str(spec.get("externalName"))
    if svc_type == "LoadBalancer":
        ingress = [_str(i.get("ip") or i.get("hostname")) for i in _items(svc, "status", "loadBalancer", "ingress")
                   if isinstance(i, dict) and (i.get("ip") or i.get("hostname"))]
        lb = ",".join(ingress)
        if not wide and len(lb) > 16:
            lb = lb[:13] + "..."
        if external:
            return ",".join(([*lb.split(",")] if lb else []) + external)
        return lb or "<pending>"
    return UNKNOWN


def service_ports_text(ports: list) -> str:
    """``80/TCP`` per port, ``80:30080/TCP`` with a node port, comma-separated (kubectl's makePortString)."""
    pieces = []
    for port in ports:
        if not isinstance(port, dict):
            continue
        protocol = _str(port.get("protocol")) or "TCP"
        if port.get("nodePort"):
            pieces.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            pieces.append(f"{port.get('port')}/{protocol}")
    return ",".join(pieces)


def selector_text(selector: Any) -> str:
    """A map selector as ``k=v,k2=v2`` sorted by key, ``<none>`` when empty (labels.FormatLabels)."""
    if not isinstance(selector, dict) or not selector:
        return NONE
    return ",".join(f"{k}={selector[k]}" for k in sorted(selector))


def _service_row(svc: dict, wide: bool, now: datetime) -> list[str]:
    spec = _mapping(svc, "spec")
    cluster_ips = _items(spec, "clusterIPs")
    cluster_ip = _str(cluster_ips[0]) if cluster_ips else NONE
    row = [_str(_get(svc, "metadata", "name")), _str(spec.get("type")) or "ClusterIP", cluster_ip,
           _service_external_ip(svc, wide), service_ports_text(_items(spec, "ports")) or NONE,
           age(_get(svc, "metadata", "creationTimestamp"), now)]
    if wide:
        row.append(selector_text(spec.get("selector")))
    return row


def _more(items: list[str], count: int, limit: int = 3) -> str:
    """At most ``limit`` items, then `` + N more...`` (kubectl's lists of addresses and ports)."""
    text = ",".join(items[:limit])
    return f"{text} + {count - limit} more..." if count > limit else text


def endpoints_text(endpoints: dict) -> str:
    """The ENDPOINTS cell: up to three ready ``ip:port`` pairs of every subset (kubectl's formatEndpoints)."""
    subsets = [s for s in _items(endpoints, "subsets") if isinstance(s, dict)]
    if not subsets:
        return NONE
    listed: list[str] = []
    count = 0
    for subset in subsets:
        addresses = [_str(a.get("ip")) for a in _items(subset, "addresses") if isinstance(a, dict)]
        ports = [p for p in _items(subset, "ports") if isinstance(p, dict)]
        if not ports:
            count += len(addresses)
            listed += addresses
            continue
        for port in ports:
            count += len(addresses)
            listed += [f"[{ip}]:{port.get('port')}" if ":" in ip else f"{ip}:{port.get('port')}" for ip in addresses]
    return _more(listed, count)


def _endpoints_row(endpoints: dict, wide: bool, now: datetime) -> list[str]:
    return [_str(_get(endpoints, "metadata", "name")), endpoints_text(endpoints),
            age(_get(endpoints, "metadata", "creationTimestamp"), now)]


def _or_unset(items: list[str], count: int) -> str:
    return _more(items, count) or "<unset>"


def _endpoint_slice_row(slice_: dict, wide: bool, now: datetime) -> list[str]:
    ports = [p for p in _items(slice_, "ports") if isinstance(p, dict)]
    port_texts = [_str(p["port"]) if p.get("port") is not None else _str(p["name"]) if p.get("name") is not None
                  else "*" for p in ports]
    addresses = [_str(a) for e in _items(slice_, "endpoints") if isinstance(e, dict) for a in _items(e, "addresses")]
    return [_str(_get(slice_, "metadata", "name")), _str(slice_.get("addressType")),
            _or_unset(port_texts, len(port_texts)), _or_unset(addresses, len(addresses)),
            age(_get(slice_, "metadata", "creationTimestamp"), now)]


# --------------------------------------------------------------------------- tables

RowFn = Callable[[dict, bool, datetime], list[str]]

PRINTERS: dict[str, tuple[list[str], list[str], RowFn]] = {
    "pods": (["Name", "Ready", "Status", "Restarts", "Age"],
             ["IP", "Node", "Nominated Node", "Readiness Gates"], _pod_row),
    "nodes": (["Name", "Status", "Roles", "Age", "Version"],
              ["Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"], _node_row),
    "namespaces": (["Name", "Status", "Age"], [], _namespace_row),
    "events": (["Last Seen", "Type", "Reason", "Object", "Message"], [], _event_row),
    "leases": (["Name", "Holder", "Age"], [], _lease_row),
    "services": (["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"], ["Selector"], _service_row),
    "endpoints": (["Name", "Endpoints", "Age"], [], _endpoints_row),
    "endpointslices": (["Name", "AddressType", "Ports", "Endpoints", "Age"], [], _endpoint_slice_row),
}
EVENT_WIDE_HEADERS = ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message",
                       "First Seen", "Count", "Name"]


def now_utc(now: datetime | None = None) -> datetime:
    """``now`` as an aware UTC datetime (the current time when None)."""
    return _now(now)


def wide_cells(resource: str, obj: dict, now: datetime | None = None) -> list[str] | None:
    """The ``-o wide`` row of one object of plural ``resource`` (pods, nodes, namespaces, events,
    leases, services, endpoints, endpoint slices), or None for another resource."""
    printer = PRINTERS.get(resource)
    return printer[2](obj, True, _now(now)) if printer else None
