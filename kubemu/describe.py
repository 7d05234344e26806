"""``kubemu kubectl describe``: the long, human-oriented view of pods, nodes and anything else.

The layout copies kubectl's describers (``k8s.io/kubectl/pkg/describe``) so the output
reads like the real thing: ``Key:<tab>value`` lines, two-space indentation levels, and
tables (conditions, events, pods on a node) aligned by the same elastic-tabstop rules
as Go's ``text/tabwriter`` with padding 2. Because alignment is computed over runs of
consecutive tabbed lines, a value column lines up with its neighbours exactly where
kubectl's does (``QoS Class:``, ``Tolerations:`` and ``Events:`` share one column, the
events table has its own).

A few documented choices:

* timestamps are shown in kubectl's ``Mon, 02 Jan 2006 15:04:05 -0700`` layout, in UTC
  so output does not depend on the machine's time zone;
* fields the real API server would default (probe timeouts, port protocol, requests
  copied from limits) are shown with their defaults, because our objects may be stored
  without them;
* quantities are parsed and re-printed canonically (``0.5`` -> ``500m``, ``1024Mi`` ->
  ``1Gi``) by a small private helper, which is enough for requests/limits arithmetic.

All functions are pure: they take Kubernetes-shaped dicts, never mutate them, and
return the text (ending with a newline).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from kubemu.printers import age, node_roles, parse_timestamp, tabwrite

__all__ = ["describe_generic", "describe_node", "describe_pod", "format_time"]

_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_MAX_ANNOTATION_LEN = 140
_ZERO_TIME = "Mon, 01 Jan 0001 00:00:00 +0000"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --------------------------------------------------------------------------- small helpers


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _items(obj: Any, *path: str) -> list[Any]:
    value = _get(obj, *path)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _mapping(obj: Any, *path: str) -> dict[str, Any]:
    value = _get(obj, *path)
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _bool(value: Any) -> str:
    """Go's ``%v`` of a bool."""
    return "true" if value else "false"


def format_time(value: Any) -> str:
    """RFC 1123 with numeric zone (Go's ``time.RFC1123Z``) in UTC; Go's zero time when unset."""
    parsed = parse_timestamp(value)
    if parsed is None:
        return _ZERO_TIME
    t = parsed.astimezone(UTC)
    return f"{_DAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year:04d} " \
           f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} +0000"


class _Writer:
    """kubectl's PrefixWriter: each write is prefixed by two spaces per level, then tabwriter-aligned."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def write(self, level: int, text: str) -> None:
        self._parts.append("  " * level + text)

    def render(self) -> str:
        return tabwrite("".join(self._parts), minwidth=0, padding=2)


# --------------------------------------------------------------------------- quantities

_BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXPONENT = {exp: suffix for suffix, exp in _DECIMAL_SUFFIXES.items()}
_QUANTITY_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE])?$")


@dataclass(frozen=True)
class _Quantity:
    """A resource quantity: exact value plus the format Go would print it in."""

    value: Fraction
    fmt: str = "DecimalSI"  # or "BinarySI" / "DecimalExponent"

    def __add__(self, other: _Quantity) -> _Quantity:
        return _Quantity(self.value + other.value, self.fmt)

    def milli_value(self) -> int:
        return math.ceil(self.value * 1000)

    def int_value(self) -> int:
        return math.ceil(self.value)

    def __str__(self) -> str:
        if self.value == 0:
            return "0"
        if self.fmt == "BinarySI" and abs(self.value) >= 1024 and self.value.denominator == 1:
            return _binary_string(int(self.value))
        return _decimal_string(self.value, exponent_form=self.fmt == "DecimalExponent")


_ZERO = _Quantity(Fraction(0))


def _parse_quantity(text: Any) -> _Quantity | None:
    """Parse ``100m``, ``0.5``, ``2``, ``128Mi``, ``1G``, ``1e3``; None when it is not a quantity."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return _Quantity(Fraction(Decimal(str(text))))
    match = _QUANTITY_RE.match(_str(text).strip())
    if not match:
        return None
    number, suffix = Fraction(Decimal(match.group(1))), match.group(2) or ""
    if suffix in _BINARY_SUFFIXES:
        return _Quantity(number * 1024 ** _BINARY_SUFFIXES[suffix], "BinarySI")
    if suffix[:1] in ("e", "E") and len(suffix) > 1:
        return _Quantity(number * Fraction(10) ** int(suffix[1:]), "DecimalExponent")
    return _Quantity(number * Fraction(10) ** _DECIMAL_SUFFIXES[suffix], "DecimalSI")


def _binary_string(value: int) -> str:
    power = 0
    while power < 6 and value % 1024 ** (power + 1) == 0:
        power += 1
    suffix = [k for k, v in _BINARY_SUFFIXES.items() if v == power]
    return f"{value // 1024 ** power}{suffix[0] if suffix else ''}"


def _decimal_string(value: Fraction, *, exponent_form: bool) -> str:
    scale = 0
    while (value * 10 ** scale).denominator != 1 and scale < 9:
        scale += 1
    mantissa, exponent = math.ceil(value * 10 ** scale), -scale
    while mantissa and mantissa % 10 == 0:
        mantissa, exponent = mantissa // 10, exponent + 1
    shift = exponent % 3
    mantissa, exponent = mantissa * 10 ** shift, exponent - shift
    if exponent_form:
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    if exponent > 18:
        mantissa, exponent = mantissa * 10 ** (exponent - 18), 18
    return f"{mantissa}{_DECIMAL_BY_EXPONENT[exponent]}"


def _quantity_text(value: Any) -> str:
    parsed = _parse_quantity(value)
    return str(parsed) if parsed is not None else _str(value)


def _resource_list(raw: Any) -> dict[str, _Quantity]:
    result = {}
    for name, value in (raw.items() if isinstance(raw, dict) else []):
        parsed = _parse_quantity(value)
        if parsed is not None:
            result[str(name)] = parsed
    return result


def _add_into(total: dict[str, _Quantity], extra: dict[str, _Quantity]) -> dict[str, _Quantity]:
    merged = dict(total)
    for name, quantity in extra.items():
        merged[name] = merged[name] + quantity if name in merged else quantity
    return merged


def _max_into(total: dict[str, _Quantity], other: dict[str, _Quantity]) -> dict[str, _Quantity]:
    merged = dict(total)
    for name, quantity in other.items():
        if name not in merged or quantity.value > merged[name].value:
            merged[name] = quantity
    return merged


def _container_resources(container: dict, kind: str) -> dict[str, _Quantity]:
    limits = _resource_list(_get(container, "resources", "limits"))
    if kind == "limits":
        return limits
    # API defaulting: a resource with a limit but no request is requested at its limit.
    return {**limits, **_resource_list(_get(container, "resources", "requests"))}


def _pod_resources(pod: dict, kind: str) -> dict[str, _Quantity]:
    """Effective pod requests or limits, following resourcehelper.PodRequests/PodLimits."""
    total: dict[str, _Quantity] = {}
    for container in _items(pod, "spec", "containers"):
        total = _add_into(total, _container_resources(container, kind))
    sidecars: dict[str, _Quantity] = {}
    init_max: dict[str, _Quantity] = {}
    for container in _items(pod, "spec", "initContainers"):
        own = _container_resources(container, kind)
        if container.get("restartPolicy") == "Always":
            total = _add_into(total, own)
            sidecars = _add_into(sidecars, own)
            own = sidecars
        else:
            own = _add_into(own, sidecars)
        init_max = _max_into(init_max, own)
    total = _max_into(total, init_max)
    pod_level = _resource_list(_get(pod, "spec", "resources", kind))
    total.update({name: q for name, q in pod_level.items() if name in ("cpu", "memory")})
    return _add_into(total, _resource_list(_get(pod, "spec", "overhead")))


def _qos_class(pod: dict) -> str:
    """status.qosClass, else computed like ComputePodQOS (requests defaulted from limits)."""
    if _get(pod, "status", "qosClass"):
        return str(_get(pod, "status", "qosClass"))
    requests: dict[str, _Quantity] = {}
    limits: dict[str, _Quantity] = {}
    guaranteed = True
    for container in _items(pod, "spec", "containers") + _items(pod, "spec", "initContainers"):
        reqs = {k: q for k, q in _container_resources(container, "requests").items()
                if k in ("cpu", "memory") and q.value > 0}
        lims = {k: q for k, q in _container_resources(container, "limits").items()
                if k in ("cpu", "memory") and q.value > 0}
        requests, limits = _add_into(requests, reqs), _add_into(limits, lims)
        guaranteed = guaranteed and {"cpu", "memory"} <= lims.keys()
    if not requests and not limits:
        return "BestEffort"
    same = all(name in limits and limits[name].value == q.value for name, q in requests.items())
    if guaranteed and same and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


# --------------------------------------------------------------------------- shared sections


def _labels_multiline(w: _Writer, title: str, labels: Any, skip: Iterable[str] = ()) -> None:
    w.write(0, f"{title}:\t")
    keys = sorted(k for k in (labels if isinstance(labels, dict) else {}) if k not in set(skip))
    if not keys:
        w.write(0, "<none>\n")
        return
    for index, key in enumerate(keys):
        if index:
            w.write(0, "\t")
        w.write(0, f"{key}={_str(labels[key])}\n")


def _annotations_multiline(w: _Writer, title: str, annotations: Any) -> None:
    w.write(0, f"{title}:\t")
    values = annotations if isinstance(annotations, dict) else {}
    keys = sorted(k for k in values if k != _LAST_APPLIED)
    if not keys:
        w.write(0, "<none>\n")
        return
    for index, key in enumerate(keys):
        if index:
            w.write(0, "\t")
        value = _str(values[key]).removesuffix("\n")
        if len(value) + len(key) + 2 > _MAX_ANNOTATION_LEN or "\n" in value:
            w.write(0, f"{key}:\n")
            for line in value.split("\n"):
                limit = _MAX_ANNOTATION_LEN - 2
                short = line if len(line) <= limit else line[:limit] + "..."
                w.write(0, f"\t  {short}\n")
        else:
            w.write(0, f"{key}: {value}\n")


def _event_sort_key(event: dict) -> tuple:
    """Oldest first by last occurrence; ties within a second go by the finer eventTime, then by
    the order the apiserver stored the events in (resourceVersion)."""
    last = datetime.min.replace(tzinfo=UTC)
    for raw in (event.get("lastTimestamp"), _get(event, "series", "lastObservedTime"),
                event.get("eventTime"), event.get("firstTimestamp")):
        parsed = parse_timestamp(raw)
        if parsed is not None:
            last = parsed
            break
    fine = parse_timestamp(event.get("eventTime")) or last
    try:
        order = int(_get(event, "metadata", "resourceVersion") or 0)
    except (TypeError, ValueError):
        order = 0
    return last, fine, order


def _event_interval(event: dict, now: datetime) -> str:
    first = age(event.get("eventTime") or event.get("firstTimestamp"), now)
    series = event.get("series")
    if isinstance(series, dict):
        return f"{age(series.get('lastObservedTime'), now)} (x{series.get('count') or 0} over {first})"
    count = int(event.get("count") or 0)
    if count > 1:
        return f"{age(event.get('lastTimestamp'), now)} (x{count} over {first})"
    return first


def _describe_events(w: _Writer, events: list[dict] | None, now: datetime) -> None:
    if events is None:
        return
    if not events:
        w.write(0, "Events:\t<none>\n")
        return
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(1, "----\t------\t----\t----\t-------\n")
    for event in sorted((e for e in events if isinstance(e, dict)), key=_event_sort_key):
        source = _str(_get(event, "source", "component") or event.get("reportingController"))
        message = _str(event.get("message")).strip()
        field_path = _get(event, "involvedObject", "fieldPath")
        if field_path:
            message = f"{field_path}: {message}"
        w.write(1, f"{_str(event.get('type'))}\t{_str(event.get('reason'))}\t{_event_interval(event, now)}"
                   f"\t{source}\t{message}\n")


def _describe_resources(w: _Writer, resources: Any, level: int) -> None:
    for kind, title in (("limits", "Limits"), ("requests", "Requests")):
        values = _mapping(resources, kind)
        if values:
            w.write(level, f"{title}:\n")
        for name in sorted(values):
            w.write(level + 1, f"{name}:\t{_quantity_text(values[name])}\n")


# --------------------------------------------------------------------------- pods


def describe_pod(pod: dict, events: list[dict] | None, *, now: datetime | None = None) -> str:
    """``kubectl describe pod``; ``events=None`` omits the Events section (``--show-events=false``)."""
    current = _now(now)
    w = _Writer()
    meta, spec, status = _mapping(pod, "metadata"), _mapping(pod, "spec"), _mapping(pod, "status")
    _describe_pod_header(w, pod, current)
    w.write(0, f"IP:\t{_str(status.get('podIP'))}\n")
    ips = [_str(ip.get("ip")) for ip in _items(status, "podIPs")]
    w.write(0, "IPs:\t<none>\n" if not ips else "IPs:\n")
    for ip in ips:
        w.write(1, f"IP:\t{ip}\n")
    owner = next((o for o in _items(meta, "ownerReferences") if o.get("controller")), None)
    if owner:
        w.write(0, f"Controlled By:\t{_str(owner.get('kind'))}/{_str(owner.get('name'))}\n")
    if status.get("nominatedNodeName"):
        w.write(0, f"NominatedNodeName:\t{status['nominatedNodeName']}\n")
    if isinstance(spec.get("resources"), dict):
        w.write(0, "Resources:\n")
        _describe_resources(w, spec["resources"], 1)
    if _items(spec, "initContainers"):
        _describe_containers(w, "Init Containers", pod, _items(spec, "initContainers"),
                             _items(status, "initContainerStatuses"))
    _describe_containers(w, "Containers", pod, _items(spec, "containers"),
                         _items(status, "containerStatuses"))
    if _items(spec, "ephemeralContainers"):
        _describe_containers(w, "Ephemeral Containers", pod, _items(spec, "ephemeralContainers"),
                             _items(status, "ephemeralContainerStatuses"))
    _describe_pod_conditions(w, spec, status)
    _describe_volumes(w, _items(spec, "volumes"))
    w.write(0, f"QoS Class:\t{_qos_class(pod)}\n")
    _labels_multiline(w, "Node-Selectors", spec.get("nodeSelector"))
    _describe_tolerations(w, _items(spec, "tolerations"))
    _describe_events(w, events, current)
    return w.render()


def _describe_pod_header(w: _Writer, pod: dict, now: datetime) -> None:
    meta, spec, status = _mapping(pod, "metadata"), _mapping(pod, "spec"), _mapping(pod, "status")
    w.write(0, f"Name:\t{_str(meta.get('name'))}\n")
    w.write(0, f"Namespace:\t{_str(meta.get('namespace'))}\n")
    if spec.get("priority") is not None:
        w.write(0, f"Priority:\t{spec['priority']}\n")
    for key, title in (("priorityClassName", "Priority Class Name"),
                       ("runtimeClassName", "Runtime Class Name"),
                       ("serviceAccountName", "Service Account")):
        if spec.get(key):
            w.write(0, f"{title}:\t{spec[key]}\n")
    node = spec.get("nodeName")
    w.write(0, f"Node:\t{node}/{_str(status.get('hostIP'))}\n" if node else "Node:\t<none>\n")
    if status.get("startTime"):
        w.write(0, f"Start Time:\t{format_time(status['startTime'])}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    phase = _str(status.get("phase"))
    if meta.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        w.write(0, f"Status:\tTerminating (lasts {age(meta['deletionTimestamp'], now)})\n")
        if meta.get("deletionGracePeriodSeconds") is not None:
            w.write(0, f"Termination Grace Period:\t{meta['deletionGracePeriodSeconds']}s\n")
    else:
        w.write(0, f"Status:\t{phase}\n")
    for key, title in (("reason", "Reason"), ("message", "Message")):
        if status.get(key):
            w.write(0, f"{title}:\t{status[key]}\n")


def _describe_pod_conditions(w: _Writer, spec: dict, status: dict) -> None:
    conditions = _items(status, "conditions")
    gates = _items(spec, "readinessGates")
    if gates:
        w.write(0, "Readiness Gates:\n  Type\tStatus\n")
        for gate in gates:
            match = next((c for c in conditions if c.get("type") == gate.get("conditionType")), None)
            gate_status = _str(match.get("status")) if match else "<none>"
            w.write(1, f"{_str(gate.get('conditionType'))} \t{gate_status} \n")
    if conditions:
        w.write(0, "Conditions:\n  Type\tStatus\n")
        for cond in conditions:
            w.write(1, f"{_str(cond.get('type'))} \t{_str(cond.get('status'))} \n")


def _describe_containers(w: _Writer, label: str, pod: dict, containers: list[dict],
                         statuses: list[dict]) -> None:
    by_name = {s.get("name"): s for s in statuses}
    w.write(0, f"{label}:{' <none>' if not containers else ''}\n")
    for container in containers:
        status = by_name.get(container.get("name"))
        _describe_container_basics(w, container, status)
        _describe_command(w, container)
        if status is not None:
            _describe_state(w, "State", _mapping(status, "state"))
            if _get(status, "lastState", "terminated") is not None:
                _describe_state(w, "Last State", _mapping(status, "lastState"))
            w.write(2, f"Ready:\t{'True' if status.get('ready') else 'False'}\n")
            w.write(2, f"Restart Count:\t{int(status.get('restartCount') or 0)}\n")
        _describe_resources(w, container.get("resources"), 2)
        for key, title in (("livenessProbe", "Liveness"), ("readinessProbe", "Readiness"),
                           ("startupProbe", "Startup")):
            if isinstance(container.get(key), dict):
                w.write(2, f"{title}:\t{_describe_probe(container[key])}\n")
        if _items(container, "envFrom"):
            _describe_env_from(w, _items(container, "envFrom"))
        _describe_env(w, pod, container)
        _describe_mounts(w, container)


def _ports_text(ports: list[dict], key: str) -> str:
    texts = []
    for port in ports:
        text = f"{port.get(key) or 0}/{port.get('protocol') or 'TCP'}"
        texts.append(f"{text} ({port['name']})" if port.get("name") else text)
    return ", ".join(texts)


def _describe_container_basics(w: _Writer, container: dict, status: dict | None) -> None:
    w.write(1, f"{_str(container.get('name'))}:\n")
    if status is not None:
        w.write(2, f"Container ID:\t{_str(status.get('containerID'))}\n")
    w.write(2, f"Image:\t{_str(container.get('image'))}\n")
    if status is not None:
        w.write(2, f"Image ID:\t{_str(status.get('imageID'))}\n")
    ports = _items(container, "ports")
    for key, single, plural in (("containerPort", "Port", "Ports"), ("hostPort", "Host Port", "Host Ports")):
        text = _ports_text(ports, key)
        w.write(2, f"{plural}:\t{text}\n" if "," in text else f"{single}:\t{text or '<none>'}\n")


def _describe_command(w: _Writer, container: dict) -> None:
    for key, title in (("command", "Command"), ("args", "Args")):
        values = container.get(key)
        if isinstance(values, list) and values:
            w.write(2, f"{title}:\n")
            for value in values:
                for line in _str(value).split("\n"):
                    w.write(3, f"{line}\n")


def _describe_state(w: _Writer, name: str, state: dict) -> None:
    if isinstance(state.get("running"), dict):
        w.write(2, f"{name}:\tRunning\n")
        w.write(3, f"Started:\t{format_time(state['running'].get('startedAt'))}\n")
    elif isinstance(state.get("waiting"), dict):
        w.write(2, f"{name}:\tWaiting\n")
        if state["waiting"].get("reason"):
            w.write(3, f"Reason:\t{state['waiting']['reason']}\n")
    elif isinstance(state.get("terminated"), dict):
        term = state["terminated"]
        w.write(2, f"{name}:\tTerminated\n")
        for key, title in (("reason", "Reason"), ("message", "Message")):
            if term.get(key):
                w.write(3, f"{title}:\t{term[key]}\n")
        w.write(3, f"Exit Code:\t{int(term.get('exitCode') or 0)}\n")
        if int(term.get("signal") or 0) > 0:
            w.write(3, f"Signal:\t{term['signal']}\n")
        w.write(3, f"Started:\t{format_time(term.get('startedAt'))}\n")
        w.write(3, f"Finished:\t{format_time(term.get('finishedAt'))}\n")
    else:
        w.write(2, f"{name}:\tWaiting\n")


def _describe_probe(probe: dict) -> str:
    attrs = (f"delay={int(probe.get('initialDelaySeconds') or 0)}s "
             f"timeout={int(probe.get('timeoutSeconds') or 1)}s "
             f"period={int(probe.get('periodSeconds') or 10)}s "
             f"successThreshold={int(probe.get('successThreshold') or 1)} "
             f"failureThreshold={int(probe.get('failureThreshold') or 3)}")
    if isinstance(probe.get("exec"), dict):
        return f"exec [{' '.join(_str(c) for c in probe['exec'].get('command') or [])}] {attrs}"
    if isinstance(probe.get("httpGet"), dict):
        get = probe["httpGet"]
        scheme = _str(get.get("scheme") or "HTTP").lower()
        return f"http-get {scheme}://{_host_port(get)}{_str(get.get('path'))} {attrs}"
    if isinstance(probe.get("tcpSocket"), dict):
        return f"tcp-socket {_host_port(probe['tcpSocket'])} {attrs}"
    if isinstance(probe.get("grpc"), dict):
        grpc = probe["grpc"]
        return f"grpc <pod>:{_str(grpc.get('port'))} {_str(grpc.get('service'))} {attrs}"
    return f"unknown {attrs}"


def _host_port(target: dict) -> str:
    host, port = _str(target.get("host")), _str(target.get("port"))
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def _describe_env_from(w: _Writer, sources: list[dict]) -> None:
    w.write(2, "Environment Variables from:\n")
    for source in sources:
        kind, ref = ("ConfigMap", _mapping(source, "configMapRef"))
        if not ref:
            kind, ref = ("Secret", _mapping(source, "secretRef"))
        prefix = f" with prefix '{source['prefix']}'" if source.get("prefix") else ""
        w.write(3, f"{_str(ref.get('name'))}\t{kind}{prefix}\tOptional: {_bool(ref.get('optional'))}\n")


def _describe_env(w: _Writer, pod: dict, container: dict) -> None:
    env = _items(container, "env")
    w.write(2, "Environment:\t<none>\n" if not env else "Environment:\n")
    for var in env:
        name, source = _str(var.get("name")), _mapping(var, "valueFrom")
        if not source:
            for index, line in enumerate(_str(var.get("value")).split("\n")):
                w.write(3, f"{name}:\t{line}\n" if index == 0 else f"\t{line}\n")
        elif "fieldRef" in source:
            ref = _mapping(source, "fieldRef")
            path = _str(ref.get("fieldPath"))
            w.write(3, f"{name}:\t{_field_value(pod, path)} ({_str(ref.get('apiVersion') or 'v1')}:{path})\n")
        elif "resourceFieldRef" in source:
            ref = _mapping(source, "resourceFieldRef")
            value = _resource_field_value(pod, container, ref)
            w.write(3, f"{name}:\t{value} ({_str(ref.get('resource'))})\n")
        elif "secretKeyRef" in source or "configMapKeyRef" in source:
            secret = "secretKeyRef" in source
            ref = _mapping(source, "secretKeyRef" if secret else "configMapKeyRef")
            owner = _str(ref.get("name"))
            where = f"in secret '{owner}'" if secret else f"of config map '{owner}'"
            w.write(3, f"{name}:\t<set to the key '{_str(ref.get('key'))}' {where}>"
                       f"\tOptional: {_bool(ref.get('optional'))}\n")


_FIELD_PATHS = {
    "metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace"),
    "metadata.uid": ("metadata", "uid"), "spec.nodeName": ("spec", "nodeName"),
    "spec.serviceAccountName": ("spec", "serviceAccountName"), "status.podIP": ("status", "podIP"),
    "status.hostIP": ("status", "hostIP"),
}
_SUBSCRIPT_RE = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


def _field_value(pod: dict, path: str) -> str:
    if path in _FIELD_PATHS:
        return _str(_get(pod, *_FIELD_PATHS[path]))
    match = _SUBSCRIPT_RE.match(path)
    if match:
        return _str(_mapping(pod, "metadata", match.group(1)).get(match.group(2)))
    return ""


def _resource_field_value(pod: dict, container: dict, ref: dict) -> str:
    target = container
    if ref.get("containerName"):
        found = [c for c in _items(pod, "spec", "containers") if c.get("name") == ref["containerName"]]
        target = found[0] if found else container
    resource = _str(ref.get("resource"))
    kind, _, name = resource.partition(".")
    quantity = _ZERO
    if kind in ("limits", "requests"):
        quantity = _container_resources(target, kind).get(name, _ZERO)
    divisor = _parse_quantity(ref.get("divisor") or "1") or _Quantity(Fraction(1))
    if divisor.value == 0:
        divisor = _Quantity(Fraction(1))
    value = str(math.ceil(quantity.value / divisor.value))
    if value == "0" and resource in ("limits.cpu", "limits.memory"):
        return "node allocatable"
    return value


def _describe_mounts(w: _Writer, container: dict) -> None:
    mounts = sorted(_items(container, "volumeMounts"), key=lambda m: _str(m.get("mountPath")))
    w.write(2, "Mounts:\t<none>\n" if not mounts else "Mounts:\n")
    for mount in mounts:
        flags = ["ro" if mount.get("readOnly") else "rw"]
        if mount.get("subPath"):
            flags.append(f'path="{mount["subPath"]}"')
        w.write(3, f"{_str(mount.get('mountPath'))} from {_str(mount.get('name'))} ({','.join(flags)})\n")


def _describe_volumes(w: _Writer, volumes: list[dict]) -> None:
    if not volumes:
        w.write(0, "Volumes:\t<none>\n")
        return
    w.write(0, "Volumes:\n")
    for volume in volumes:
        w.write(1, f"{_str(volume.get('name'))}:\n")
        w.write(2, _volume_source_text(volume))


_VOLUME_TYPES = {
    "hostPath": "HostPath (bare host directory volume)",
    "emptyDir": "EmptyDir (a temporary directory that shares a pod's lifetime)",
    "secret": "Secret (a volume populated by a Secret)",
    "configMap": "ConfigMap (a volume populated by a ConfigMap)",
    "persistentVolumeClaim": "PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same "
                             "namespace)",
    "projected": "Projected (a volume that contains injected data from multiple sources)",
    "downwardAPI": "DownwardAPI (a volume populated by information about the pod)",
}


def _fields_text(pairs: Iterable[tuple[str, str]]) -> str:
    return "".join(f"    {key}:\t{value}\n" for key, value in pairs)


def _volume_source_text(volume: dict) -> str:
    kind = next((k for k in _VOLUME_TYPES if isinstance(volume.get(k), dict)), None)
    if kind is None:
        return "<unknown>\n"
    src = volume[kind]
    head = f"Type:\t{_VOLUME_TYPES[kind]}\n"
    if kind == "hostPath":
        return head + _fields_text([("Path", _str(src.get("path"))),
                                    ("HostPathType", _str(src.get("type")) or "<none>")])
    if kind == "emptyDir":
        limit = _parse_quantity(src.get("sizeLimit"))
        size = str(limit) if limit is not None and limit.value > 0 else "<unset>"
        return head + _fields_text([("Medium", _str(src.get("medium"))), ("SizeLimit", size)])
    if kind in ("secret", "configMap"):
        name_key = "SecretName" if kind == "secret" else "Name"
        name = _str(src.get("secretName" if kind == "secret" else "name"))
        return head + _fields_text([(name_key, name), ("Optional", _bool(src.get("optional")))])
    if kind == "persistentVolumeClaim":
        return head + _fields_text([("ClaimName", _str(src.get("claimName"))),
                                    ("ReadOnly", _bool(src.get("readOnly")))])
    if kind == "projected":
        return head + _fields_text(_projected_fields(src))
    lines = [head, "    Items:\n"]
    for item in _items(src, "items"):
        ref = _mapping(item, "fieldRef").get("fieldPath") or \
            _mapping(item, "resourceFieldRef").get("resource")
        if ref:
            lines.append(f"      {ref} -> {_str(item.get('path'))}\n")
    return "".join(lines)


def _projected_fields(projected: dict) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    for source in _items(projected, "sources"):
        if isinstance(source.get("secret"), dict):
            ref = source["secret"]
            fields += [("SecretName", _str(ref.get("name"))), ("Optional", _bool(ref.get("optional")))]
        elif isinstance(source.get("downwardAPI"), dict):
            fields.append(("DownwardAPI", "true"))
        elif isinstance(source.get("configMap"), dict):
            ref = source["configMap"]
            fields += [("ConfigMapName", _str(ref.get("name"))), ("Optional", _bool(ref.get("optional")))]
        elif isinstance(source.get("serviceAccountToken"), dict):
            seconds = source["serviceAccountToken"].get("expirationSeconds") or 3600
            fields.append(("TokenExpirationSeconds", str(seconds)))
    return fields


def _describe_tolerations(w: _Writer, tolerations: list[dict]) -> None:
    w.write(0, "Tolerations:\t")
    if not tolerations:
        w.write(0, "<none>\n")
        return
    for index, tol in enumerate(sorted(tolerations, key=lambda t: _str(t.get("key")))):
        if index:
            w.write(0, "\t")
        key, value, effect = _str(tol.get("key")), _str(tol.get("value")), _str(tol.get("effect"))
        text = key + (f"={value}" if value else "") + (f":{effect}" if effect else "")
        if tol.get("operator") == "Exists" and not value:
            text += " op=Exists" if (key or effect) else "op=Exists"
        if tol.get("tolerationSeconds") is not None:
            text += f" for {tol['tolerationSeconds']}s"
        w.write(0, text + "\n")


# --------------------------------------------------------------------------- nodes


def describe_node(node: dict, pods: list[dict], events: list[dict] | None, now: datetime | None = None,
                  *, lease: dict | None = None) -> str:
    """``kubectl describe node``. ``pods`` are the pods bound to the node (terminal ones are skipped);
    ``lease`` is its kube-node-lease Lease, shown when given; ``events=None`` omits Events."""
    current = _now(now)
    w = _Writer()
    meta, spec, status = _mapping(node, "metadata"), _mapping(node, "spec"), _mapping(node, "status")
    w.write(0, f"Name:\t{_str(meta.get('name'))}\n")
    w.write(0, f"Roles:\t{','.join(node_roles(node)) or '<none>'}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"CreationTimestamp:\t{format_time(meta.get('creationTimestamp'))}\n")
    _describe_taints(w, _items(spec, "taints"))
    w.write(0, f"Unschedulable:\t{_bool(spec.get('unschedulable'))}\n")
    if lease is not None:
        _describe_lease(w, lease)
    _describe_node_conditions(w, _items(status, "conditions"))
    w.write(0, "Addresses:\n")
    for address in _items(status, "addresses"):
        w.write(1, f"{_str(address.get('type'))}:\t{_str(address.get('address'))}\n")
    for key, title in (("capacity", "Capacity"), ("allocatable", "Allocatable")):
        resources = _mapping(status, key)
        if resources:
            w.write(0, f"{title}:\n")
            for name in sorted(resources):
                w.write(0, f"  {name}:\t{_quantity_text(resources[name])}\n")
    _describe_system_info(w, _mapping(status, "nodeInfo"))
    if spec.get("podCIDR"):
        w.write(0, f"PodCIDR:\t{spec['podCIDR']}\n")
    if spec.get("podCIDRs"):
        w.write(0, f"PodCIDRs:\t{','.join(_str(c) for c in spec['podCIDRs'])}\n")
    if spec.get("providerID"):
        w.write(0, f"ProviderID:\t{spec['providerID']}\n")
    running = [p for p in pods if isinstance(p, dict)
               and _get(p, "status", "phase") not in ("Succeeded", "Failed")]
    _describe_node_pods(w, node, running, current)
    _describe_events(w, events, current)
    return w.render()


def _describe_taints(w: _Writer, taints: list[dict]) -> None:
    w.write(0, "Taints:\t")
    if not taints:
        w.write(0, "<none>\n")
        return
    ordered = sorted(taints, key=lambda t: f"{_str(t.get('effect'))},{_str(t.get('key'))}")
    for index, taint in enumerate(ordered):
        if index:
            w.write(0, "\t")
        key, value, effect = _str(taint.get("key")), _str(taint.get("value")), _str(taint.get("effect"))
        if not effect:
            text = f"{key}={value}:" if value else key
        else:
            text = f"{key}={value}:{effect}" if value else f"{key}:{effect}"
        w.write(0, text + "\n")


def _describe_lease(w: _Writer, lease: dict) -> None:
    spec = _mapping(lease, "spec")
    w.write(0, "Lease:\n")
    w.write(1, f"HolderIdentity:\t{_str(spec.get('holderIdentity')) or '<unset>'}\n")
    for key, title in (("acquireTime", "AcquireTime"), ("renewTime", "RenewTime")):
        w.write(1, f"{title}:\t{format_time(spec[key]) if spec.get(key) else '<unset>'}\n")


def _describe_node_conditions(w: _Writer, conditions: list[dict]) -> None:
    if not conditions:
        return
    w.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
    w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
    for cond in conditions:
        w.write(1, f"{_str(cond.get('type'))} \t{_str(cond.get('status'))} "
                   f"\t{format_time(cond.get('lastHeartbeatTime'))} "
                   f"\t{format_time(cond.get('lastTransitionTime'))} "
                   f"\t{_str(cond.get('reason'))} \t{_str(cond.get('message'))}\n")


def _describe_system_info(w: _Writer, info: dict) -> None:
    w.write(0, "System Info:\n")
    for key, title in (("machineID", "Machine ID"), ("systemUUID", "System UUID"), ("bootID", "Boot ID"),
                       ("kernelVersion", "Kernel Version"), ("osImage", "OS Image"),
                       ("operatingSystem", "Operating System"), ("architecture", "Architecture"),
                       ("containerRuntimeVersion", "Container Runtime Version"),
                       ("kubeletVersion", "Kubelet Version")):
        w.write(0, f"  {title}:\t{_str(info.get(key))}\n")


def _percent(part: int, whole: int) -> int:
    return int(part / whole * 100) if whole else 0


def _describe_node_pods(w: _Writer, node: dict, pods: list[dict], now: datetime) -> None:
    allocatable = _resource_list(_get(node, "status", "allocatable")) or \
        _resource_list(_get(node, "status", "capacity"))
    cpu_total = allocatable.get("cpu", _ZERO).milli_value()
    mem_total = allocatable.get("memory", _ZERO).int_value()
    w.write(0, f"Non-terminated Pods:\t({len(pods)} in total)\n")
    w.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
    w.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
    for pod in pods:
        reqs, lims = _pod_resources(pod, "requests"), _pod_resources(pod, "limits")
        cells = [f"{q} ({_percent(q.milli_value(), cpu_total)}%)"
                 for q in (reqs.get("cpu", _ZERO), lims.get("cpu", _ZERO))]
        cells += [f"{q} ({_percent(q.int_value(), mem_total)}%)"
                  for q in (reqs.get("memory", _ZERO), lims.get("memory", _ZERO))]
        w.write(1, f"{_str(_get(pod, 'metadata', 'namespace'))}\t{_str(_get(pod, 'metadata', 'name'))}\t\t"
                   + "\t".join(cells) + f"\t{age(_get(pod, 'metadata', 'creationTimestamp'), now)}\n")
    _describe_allocated(w, pods, allocatable)


def _describe_allocated(w: _Writer, pods: list[dict], allocatable: dict[str, _Quantity]) -> None:
    reqs: dict[str, _Quantity] = {}
    lims: dict[str, _Quantity] = {}
    for pod in pods:
        reqs = _add_into(reqs, _pod_resources(pod, "requests"))
        lims = _add_into(lims, _pod_resources(pod, "limits"))
    w.write(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n")
    w.write(1, "Resource\tRequests\tLimits\n")
    w.write(1, "--------\t--------\t------\n")
    hugepages = sorted(n for n in allocatable if n.startswith("hugepages-"))
    for name in ["cpu", "memory", "ephemeral-storage", *hugepages]:
        req, lim = reqs.get(name, _ZERO), lims.get(name, _ZERO)
        total = allocatable.get(name, _ZERO)
        measure = _Quantity.milli_value if name == "cpu" else _Quantity.int_value
        req_share, lim_share = (_percent(measure(q), measure(total)) for q in (req, lim))
        w.write(1, f"{name}\t{req} ({req_share}%)\t{lim} ({lim_share}%)\n")
    standard = {"cpu", "memory", "ephemeral-storage", "storage", "pods"}
    for name in sorted(n for n in allocatable if n not in standard and not n.startswith("hugepages-")):
        w.write(1, f"{name}\t{reqs.get(name, _ZERO)}\t{lims.get(name, _ZERO)}\n")


# --------------------------------------------------------------------------- generic

_GENERIC_SKIP = frozenset({".metadata.managedFields", ".metadata.name", ".metadata.namespace",
                           ".metadata.labels", ".metadata.annotations"})
_ACRONYMS = frozenset({"API", "URL", "UID", "GUID"})


def describe_generic(obj: dict, events: list[dict] | None, now: datetime | None = None) -> str:
    """kubectl's generic describer: Name, Namespace, Labels, Annotations, then every other field
    (sorted, nested by indentation, keys turned into labels like ``Holder Identity``), then Events."""
    current = _now(now)
    w = _Writer()
    meta = _mapping(obj, "metadata")
    w.write(0, f"Name:\t{_str(meta.get('name'))}\n")
    w.write(0, f"Namespace:\t{_str(meta.get('namespace'))}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    _describe_content(w, 0, obj, "")
    _describe_events(w, events, current)
    return w.render()


def _describe_content(w: _Writer, level: int, content: dict, prefix: str) -> None:
    for field in sorted(content):
        value, path = content[field], f"{prefix}.{field}"
        if path in _GENERIC_SKIP:
            continue
        if isinstance(value, dict):
            w.write(level, f"{_smart_label(field)}:\n")
            _describe_content(w, level + 1, value, path)
        elif isinstance(value, list):
            w.write(level, f"{_smart_label(field)}:\n")
            for child in value:
                if isinstance(child, dict):
                    _describe_content(w, level + 1, child, path)
                else:
                    w.write(level + 1, f"{_go_value(child)}\n")
        else:
            w.write(level, f"{_smart_label(field)}:\t{_go_value(value)}\n")


def _go_value(value: Any) -> str:
    """Go's ``%v`` of a decoded JSON value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return _bool(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, list):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_value(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def _go_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    dec = Decimal(repr(value))
    _, digits, exp = dec.as_tuple()
    assert isinstance(exp, int)
    exponent = len(digits) + exp - 1
    if -4 <= exponent < 21:
        text = format(dec, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa = "".join(str(d) for d in digits).rstrip("0") or "0"
    body = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    sign = "-" if value < 0 else ""
    return f"{sign}{body}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _camel_split(word: str) -> list[str]:
    runs: list[list[str]] = []
    last_class = None
    for char in word:
        char_class = 1 if char.islower() else 2 if char.isupper() else 3 if char.isdigit() else 4
        if char_class == last_class:
            runs[-1].append(char)
        else:
            runs.append([char])
        last_class = char_class
    for i in range(len(runs) - 1):
        if runs[i][0].isupper() and runs[i + 1][0].islower():
            runs[i + 1].insert(0, runs[i].pop())
    return ["".join(run) for run in runs if run]


def _smart_label(field: str) -> str:
    """kubectl's smartLabelFor: ``holderIdentity`` -> ``Holder Identity``, ``uid`` -> ``UID``."""
    if any(not (c.isalpha() or c == "-") for c in field):
        return field
    parts = _camel_split(field)
    merged: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        nxt = parts[i + 1] if i + 1 < len(parts) else ""
        if len(part) >= 2 and part.isupper() and nxt[:1].isupper():
            merged.append(part + nxt)
            i += 2
            continue
        merged.append(part)
        i += 1
    words = []
    for part in merged:
        if part == "_":
            continue
        if part.upper() in _ACRONYMS:
            part = part.upper()
        elif part.lower() == part:
            part = part[:1].upper() + part[1:]
        words.append(part)
    return " ".join(words)
