"""Summaries of measured samples: every distribution is reported as min / median / p99 / max.

Percentiles use the nearest-rank method (the value at rank ceil(p/100 · n)), the one
Kubernetes' SLO tooling uses for latencies: p99 of 100 samples is the 99th smallest, never an
interpolation between two samples that nobody saw.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (``p`` in 0..100)."""
    if not sorted_values:
        raise ValueError("percentile of no samples")
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(values: Iterable[float], *, scale: float = 1.0, digits: int = 3) -> dict:
    """``{"count", "min", "median", "p99", "max", "mean"}`` of ``values`` × ``scale`` (e.g. 1000 for ms).

    With no samples every figure is None (and count 0), so a report still has the fields.
    """
    data = sorted(float(v) * scale for v in values)
    if not data:
        return {"count": 0, "min": None, "median": None, "p99": None, "max": None, "mean": None}
    return {"count": len(data), "min": round(data[0], digits), "median": round(percentile(data, 50), digits),
            "p99": round(percentile(data, 99), digits), "max": round(data[-1], digits),
            "mean": round(sum(data) / len(data), digits)}


def per_second(timestamps: Iterable[float], start: float, end: float | None = None) -> list[int]:
    """How many of ``timestamps`` fall in each whole second after ``start`` (index 0 = [start, start+1))."""
    times = [t - start for t in timestamps if t >= start]
    if not times:
        return []
    last = (end - start) if end is not None else max(times)
    buckets = [0] * (int(last) + 1)
    for t in times:
        i = int(t)
        if i < len(buckets):
            buckets[i] += 1
    return buckets


def rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 2) if seconds > 0 else None
