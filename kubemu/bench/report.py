"""What a benchmark leaves behind: a human table on the terminal and ``<scenario>.json``.

Every result has the same envelope::

    {"scenario": "pod-startup", "startedAt": ..., "durationSeconds": ...,
     "machine": {...},            # what ran it: CPUs, memory, Python, etcd, load before and after
     "parameters": {...},         # the scenario's settings (defaults or flags)
     "figures": {...},            # what was measured; distributions are min/median/p99/max (+count, mean)
     "etcdBaseline": {...},       # the same etcd's raw write rate from the same client, in the same run
     "etcdRatio": {...},          # the scenario's etcd writes per second ÷ the raw rate
     "targets": [...]}            # each target: what, wanted, measured, met

The machine description records the load average and the CPU other processes used while the
benchmark ran (``foreignCpuPercent``): on a shared machine the figures are only as good as that.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

import psutil


def git_commit() -> str:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=5)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """The machine as it is now (the load average is completed at the end by :func:`finish_machine`)."""
    from kubemu.etcd_server import etcd_version, find_etcd_binary

    try:
        binary = find_etcd_binary()
        etcd = {"binary": binary, "version": etcd_version(binary)}
    except Exception as e:  # noqa: BLE001 - a missing etcd is reported by the scenario itself
        etcd = {"binary": "", "version": "", "error": str(e)}
    return {"hostname": platform.node(), "platform": platform.platform(), "cpuModel": cpu_model(),
            "cpus": psutil.cpu_count(logical=True), "memoryBytes": psutil.virtual_memory().total,
            "python": sys.version.split()[0], "etcd": etcd, "kubemuCommit": git_commit(),
            "loadAverageBefore": [round(x, 2) for x in os.getloadavg()]}


def finish_machine(desc: dict, foreign_cpu: dict | None = None) -> dict:
    desc["loadAverageAfter"] = [round(x, 2) for x in os.getloadavg()]
    if foreign_cpu is not None:
        desc["foreignCpuPercent"] = foreign_cpu
    return desc


def envelope(scenario: str, parameters: dict) -> dict:
    return {"scenario": scenario, "startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "durationSeconds": None, "machine": machine(), "parameters": parameters, "figures": {},
            "etcdBaseline": None, "etcdRatio": {}, "targets": []}


def target(what: str, wanted: str, measured, met: bool | None) -> dict:
    """One target line: ``met`` None when it could not be judged (nothing measured)."""
    return {"target": what, "wanted": wanted, "measured": measured, "met": met}


def write_json(result: dict, directory: str) -> str:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{result['scenario']}.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- the human table


def fmt(value, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    else:
        text = str(value)
    return f"{text}{unit}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                   strict=True)))
             for row in [headers, *rows]]
    return "\n".join(line.rstrip() for line in lines)


def distribution_rows(named: list[tuple[str, dict, str]]) -> str:
    """A table of distributions: ``[(label, summary, unit)]`` → rows of count/min/median/p99/max."""
    rows = [[label, fmt(s.get("count")), fmt(s.get("min"), unit), fmt(s.get("median"), unit), fmt(s.get("p99"), unit),
             fmt(s.get("max"), unit)] for label, s, unit in named]
    return table(["", "count", "min", "median", "p99", "max"], rows)


def human(result: dict, body: str) -> str:
    """The whole terminal report: heading, the scenario's own ``body``, baseline ratio, targets, machine."""
    m = result["machine"]
    lines = [f"== {result['scenario']} ({result.get('durationSeconds') or 0:.0f}s) ==", body.rstrip()]
    base = result.get("etcdBaseline")
    if base and base.get("writesPerSecond"):
        w = base["writesPerSecond"]
        lines.append("etcd baseline (same etcd, same client): " + ", ".join(f"{k} {fmt(v)}/s" for k, v in w.items()))
    for name, ratio in (result.get("etcdRatio") or {}).items():
        if isinstance(ratio, dict):
            lines.append(f"etcd ratio {name}: {fmt(ratio.get('ratio'))} ({ratio.get('formula', '')})")
    if result.get("targets"):
        rows = [[t["target"], t["wanted"], fmt(t["measured"]),
                 {True: "met", False: "MISSED", None: "n/a"}[t["met"]]] for t in result["targets"]]
        lines.append(table(["target", "wanted", "measured", ""], rows))
    foreign = m.get("foreignCpuPercent") or {}
    lines.append(f"machine: {m['cpus']} CPUs ({m['cpuModel']}), load {m['loadAverageBefore']} → "
                 f"{m.get('loadAverageAfter')}" + (f", other processes used {fmt(foreign.get('median'))}% CPU "
                                                   f"(median, of {m['cpus'] * 100}%)" if foreign else ""))
    return "\n".join(lines) + "\n"
