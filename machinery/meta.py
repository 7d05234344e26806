"""Small helpers over object metadata and time, shared by every component.

Times are RFC 3339 in UTC with a ``Z`` and second precision, as Kubernetes serialises
``metav1.Time``; MicroTime fields (Lease renewTime, Event eventTime) carry microseconds.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def format_time(t: dt.datetime | None = None) -> str:
    """A metav1.Time string: ``2026-11-25T08:40:02Z``."""
    return (t or utcnow()).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(t: dt.datetime | None = None) -> str:
    """A metav1.MicroTime string: ``2026-11-25T08:40:02.123456Z``."""
    return (t or utcnow()).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str | None) -> dt.datetime | None:
    """Parse a metav1.Time or MicroTime string; None or garbage gives None."""
    if not value or not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        return None


def new_uid() -> str:
    return str(uuid.uuid4())


def name_of(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def namespace_of(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("namespace", "")


def key_of(obj: dict) -> str:
    """The ``namespace/name`` key controllers queue (just ``name`` when cluster-scoped)."""
    ns, name = namespace_of(obj), name_of(obj)
    return f"{ns}/{name}" if ns else name


def split_key(key: str) -> tuple[str, str]:
    """Inverse of :func:`key_of`: ``("ns", "name")`` or ``("", "name")``."""
    ns, _, name = key.rpartition("/")
    return ns, name


def resource_version(obj: dict) -> int:
    """The object's resourceVersion as an integer revision (0 when unset or garbage)."""
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return 0


def deep_copy(obj: dict) -> dict:
    """Objects from a cache are shared: copy before changing them."""
    return copy.deepcopy(obj)


def condition(obj: dict, ctype: str) -> dict | None:
    """The status condition of type ``ctype``, if any."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == ctype:
            return cond
    return None


def set_condition(status: dict, ctype: str, value: str, reason: str = "", message: str = "",
                  *, now: str | None = None, heartbeat: bool = False) -> bool:
    """Set a condition in ``status``; lastTransitionTime moves only when the value changes.

    Returns True when anything but the heartbeat changed, so callers can skip no-op writes.
    """
    now = now or format_time()
    conditions = status.setdefault("conditions", [])
    for cond in conditions:
        if cond.get("type") == ctype:
            changed = (cond.get("status"), cond.get("reason", ""), cond.get("message", "")) != (
                value, reason, message)
            if cond.get("status") != value:
                cond["lastTransitionTime"] = now
            cond["status"] = value
            _set_optional(cond, "reason", reason)
            _set_optional(cond, "message", message)
            if heartbeat:
                cond["lastHeartbeatTime"] = now
            return changed
    cond = {"type": ctype, "status": value, "lastTransitionTime": now}
    if heartbeat:
        cond["lastHeartbeatTime"] = now
    _set_optional(cond, "reason", reason)
    _set_optional(cond, "message", message)
    conditions.append(cond)
    return True


def _set_optional(d: dict, key: str, value: str) -> None:
    if value:
        d[key] = value
    else:
        d.pop(key, None)
