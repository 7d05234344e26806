"""The benchmark harness' arithmetic and plots, without a cluster."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from kubemu.bench import plot, stats


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))  # 1..100
    assert stats.percentile(values, 99) == 99
    assert stats.percentile(values, 50) == 50
    assert stats.percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        stats.percentile([], 50)


def test_summarize_scales_and_handles_no_samples():
    s = stats.summarize([0.001, 0.002, 0.010], scale=1000)
    assert (s["count"], s["min"], s["median"], s["p99"], s["max"]) == (3, 1.0, 2.0, 10.0, 10.0)
    assert stats.summarize([])["p99"] is None and stats.summarize([])["count"] == 0


def test_per_second_buckets():
    assert stats.per_second([10.1, 10.5, 11.2, 13.9], start=10.0) == [2, 1, 0, 1]
    assert stats.per_second([], start=0.0) == []


@pytest.mark.parametrize("svg", [
    plot.lines("t", "x", "y", {"a": [(0, 1), (1, 2)], "b": []}, hlines={"goal": 1.5}),
    plot.lines("t", "x", "y", {"a": [(0, 1), (1, 2)]}, dots=True),
    plot.cdf("t", "ms", {"a": [3.0, 1.0, 2.0]}, vlines={"target": 2.5}),
    plot.bars("t", "MiB", ["10 nodes", "50 nodes"], {"kubelet": [1.0, None], "etcd": [2.0, 3.0]}),
])
def test_plots_are_well_formed_svg(svg):
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
