"""Durations as Kubernetes' flags and kubectl take them (Go's ``time.ParseDuration`` units):
``30s``, ``1m30s``, ``500ms``, ``2h``; a plain number is seconds. One parser for every
component's flags and kubemu kubectl; each caller words its own error."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"\d+(\.\d+)?")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_seconds(text: str) -> float:
    """``text`` in seconds; ValueError when it is not a duration."""
    text = str(text).strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r}")
    return sum(float(n) * _UNIT_S[u] for n, u in parts)
