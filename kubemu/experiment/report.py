"""The experiment report: invariants, measured figures, a human summary and a timeline page.

Figures (seconds, measured from the fault's timestamp on the experiment's clock):

- ``apiUnavailable``: spans during which every probe write failed (longest and total);
- ``nodeNotReadyAfter``: kubelet fault → the node's Ready condition leaves True;
- ``evictionAfter``: kubelet fault → the first of that node's pods starts terminating;
- ``recoveredAfter``: fault → the end of the last successful wait for replicas after it;
- ``leaderFailoverAfter``: fault on a leader → the Lease names another holder.

Invariants: every acknowledged write is still there; every desired replica is Running; no pod
ran on two nodes and no identity ran twice at once; every watcher's view equals the final state.
"""

from __future__ import annotations

import html
import json
import os

from machinery import errors


def check_invariants(runner, names: list[str]) -> list[dict]:
    out = []
    for name in names:
        ok, detail = _CHECKS[name](runner)
        out.append({"invariant": name, "ok": ok, "detail": detail})
    return out


def _acknowledged_writes(runner) -> tuple[bool, str]:
    missing = []
    items = runner.ledger.items()
    for (resource, ns, name), uid in items:
        try:
            obj = runner.client.get(resource, name, ns)
            if uid and obj["metadata"].get("uid") != uid:
                missing.append(f"{resource}/{name} (replaced)")
        except errors.NotFound:
            missing.append(f"{resource}/{name}")
    if missing:
        return False, f"{len(missing)} of {len(items)} acknowledged writes lost: {', '.join(missing[:10])}"
    return True, f"all {len(items)} acknowledged writes present"


def _replicas_running(runner) -> tuple[bool, str]:
    bad, checked = [], 0
    for kind in ("deployments", "statefulsets"):
        for obj in runner.client.list(kind, runner.namespace).items:
            checked += 1
            ok, detail = runner.replicas_running(kind, obj["metadata"]["name"])
            if not ok:
                bad.append(f"{kind}/{obj['metadata']['name']}: {detail}")
    return (not bad), ("; ".join(bad) if bad else f"{checked} workloads at their desired replicas")


def _violations(invariant: str):
    def check(runner) -> tuple[bool, str]:
        found = [v for v in runner.sampler.violations if v["invariant"] == invariant]
        if found:
            return False, f"{len(found)} samples: {found[0]['text']}"
        return True, "never observed"
    return check


def _watches_complete(runner, settle_s: float = 15.0) -> tuple[bool, str]:
    """Each watcher's view equals the final state. Watches trail writes by a moment, so the
    views get ``settle_s`` to converge; a missed event never converges."""
    import time

    deadline = time.monotonic() + settle_s
    while True:
        diffs = []
        for resource in runner.watcher.informers:
            seen, final = runner.watcher.view(resource), runner._final_view(resource)
            if seen != final:
                missing = sorted(set(final) - set(seen))
                extra = sorted(set(seen) - set(final))
                stale = sorted(n for n in set(seen) & set(final) if seen[n] != final[n])
                diffs.append(f"{resource}: missing {missing[:5]} extra {extra[:5]} stale {stale[:5]}")
        if not diffs or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    events = len(runner.watcher.events)
    if diffs:
        return False, "; ".join(diffs)
    return True, f"{events} events delivered; watchers match the final state ({runner.watcher.relists()} relists)"


_CHECKS = {"acknowledgedWritesPresent": _acknowledged_writes, "replicasRunning": _replicas_running,
           "noPodOnTwoNodes": _violations("noPodOnTwoNodes"),
           "noDuplicateIdentity": _violations("noDuplicateIdentity"), "watchesComplete": _watches_complete}


def _first_after(entries: list[dict], t: float, predicate) -> float | None:
    for e in entries:
        if e["t"] >= t and predicate(e):
            return round(e["t"] - t, 3)
    return None


def measure(runner) -> dict:
    tl = runner.timeline
    windows = runner.prober.windows()
    figures: dict = {"apiUnavailable": {"windows": [[a, b] for a, b in windows],
                                        "longestSeconds": round(max((b - a for a, b in windows), default=0.0), 3),
                                        "totalSeconds": round(sum(b - a for a, b in windows), 3),
                                        "probes": len(runner.prober.samples)}}
    faults = []
    step_ends = [e for e in tl.of("step") if e.get("phase") == "end"]
    for fault in tl.of("fault"):
        t, entry = fault["t"], {"fault": fault["text"], "at": fault["t"]}
        for name, kind in zip(fault["targets"], fault["kinds"], strict=False):
            if kind == "kubelet":
                entry["nodeNotReadyAfter"] = _first_after(tl.of("node"), t, lambda e, n=name: e["node"] == n
                                                          and e["ready"] != "True")
                entry["evictionAfter"] = _first_after(tl.of("pod"), t, lambda e, n=name: e.get("node") == n)
            if kind in ("scheduler", "controller-manager"):
                entry["leaderFailoverAfter"] = _first_after(
                    tl.of("leader"), t, lambda e, k=kind, n=name: e["component"] == k and e["holder"] not in ("", n))
        recovered = [e["t"] for e in step_ends if e["t"] >= t and e["kind"] == "wait"
                     and ("replicasRunning" in e["text"] or "podsRunning" in e["text"]
                          or "statefulSetReady" in e["text"])]
        entry["recoveredAfter"] = round(max(recovered) - t, 3) if recovered else None
        faults.append(entry)
    figures["faults"] = faults
    return figures


def build_report(runner) -> dict:
    final_checks = [r["invariant"] for r in runner.results]
    if not runner.failed_step:
        pending = [n for n in _CHECKS if n not in final_checks]
        runner.results += check_invariants(runner, pending)
    scenario = runner.scenario
    return {
        "scenario": scenario.name, "description": scenario.description, "startedAt": runner.clock.start_wall,
        "durationSeconds": runner.clock.now(), "passed": not runner.failed_step and all(r["ok"]
                                                                                      for r in runner.results),
        "failedStep": runner.failed_step,
        "settings": {"cluster": vars(scenario.cluster), "timings": scenario.timings},
        "invariants": runner.results, "figures": measure(runner), "timeline": runner.timeline.entries,
        "watchEvents": len(runner.watcher.events),
    }


def summary(report: dict) -> str:
    lines = [f"Experiment {report['scenario']}: {'PASSED' if report['passed'] else 'FAILED'} "
             f"in {report['durationSeconds']:.1f}s"]
    if report["description"]:
        lines.append(f"  {report['description']}")
    if report["failedStep"]:
        lines.append(f"  failed step: {report['failedStep']}")
    api = report["figures"]["apiUnavailable"]
    lines.append(f"  API unavailable: longest {api['longestSeconds']:.2f}s, total {api['totalSeconds']:.2f}s "
                 f"over {api['probes']} probe writes")
    for f in report["figures"]["faults"]:
        parts = [f"{k}={v:.2f}s" for k, v in f.items() if k.endswith("After") and v is not None]
        lines.append(f"  fault at {f['at']:.1f}s: {f['fault']}: {', '.join(parts) or 'no recovery measured'}")
    for r in report["invariants"]:
        lines.append(f"  [{'ok' if r['ok'] else 'FAIL'}] {r['invariant']}: {r['detail']}")
    timings = report["settings"].get("timings") or {}
    if timings:
        lines.append("  timings used: " + ", ".join(f"{k}={v}" for k, v in timings.items()))
    return "\n".join(lines) + "\n"


def timeline_svg(report: dict) -> str:
    """The timeline as a standalone SVG image: API availability, steps, faults, nodes, leaders, pods."""
    duration = max(report["durationSeconds"], 1.0)
    width, left, lane_h = 1000, 170, 26
    entries = report["timeline"]
    lanes = ["API writes", "steps", "faults"] + sorted({f"node {e['node']}" for e in entries
                                                        if e["category"] == "node"}) + \
        sorted({f"leader {e['component']}" for e in entries if e["category"] == "leader"}) + ["pods"]

    def x(t: float) -> float:
        return left + (width - left - 130) * t / duration  # room on the right for labels

    svg = []
    for i, lane in enumerate(lanes):
        y = 30 + i * lane_h
        svg.append(f'<text x="5" y="{y + 16}" font-size="12">{html.escape(lane)}</text>')
        svg.append(f'<line x1="{left}" x2="{width - 10}" y1="{y + 20}" y2="{y + 20}" stroke="#ddd"/>')
    api_y = 30
    svg.append(f'<rect x="{left}" y="{api_y + 4}" width="{x(duration) - left:.1f}" height="14" fill="#cfe8cf"/>')
    for a, b in report["figures"]["apiUnavailable"]["windows"]:
        svg.append(f'<rect x="{x(a):.1f}" y="{api_y + 4}" width="{max(1.5, x(b) - x(a)):.1f}" height="14" '
                   f'fill="#e06060"><title>API unavailable {a:.2f}s–{b:.2f}s</title></rect>')
    colors = {"fault": "#c00", "heal": "#080", "node": "#a60", "leader": "#05a", "pod": "#777", "step": "#333"}
    for e in entries:
        lane = {"step": "steps", "fault": "faults", "heal": "faults", "pod": "pods"}.get(e["category"])
        if e["category"] == "node":
            lane = f"node {e['node']}"
        elif e["category"] == "leader":
            lane = f"leader {e['component']}"
        if lane not in lanes or (e["category"] == "step" and e.get("phase") == "start"):
            continue
        y = 30 + lanes.index(lane) * lane_h
        svg.append(f'<circle cx="{x(e["t"]):.1f}" cy="{y + 11}" r="4" fill="{colors.get(e["category"], "#333")}">'
                   f'<title>{e["t"]:.2f}s {html.escape(e["text"])}</title></circle>')
        if e["category"] in ("fault", "heal", "node", "leader"):
            label = e["text"] if e["category"] in ("fault", "heal") else e["text"].split(" ", 1)[-1]
            svg.append(f'<text x="{x(e["t"]) + 6:.1f}" y="{y + 15}" font-size="10" '
                       f'fill="{colors[e["category"]]}">{html.escape(label[:40])}</text>')
    for s in range(0, int(duration) + 1, max(1, int(duration // 10) or 1)):
        svg.append(f'<text x="{x(s):.1f}" y="{30 + len(lanes) * lane_h + 14}" font-size="10">{s}s</text>')
    height = 30 + len(lanes) * lane_h + 30
    title = html.escape(f"{report['scenario']}: {'PASSED' if report['passed'] else 'FAILED'}")
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"font-family='sans-serif'><rect width='100%' height='100%' fill='white'/>"
            f"<text x='5' y='16' font-size='13' font-weight='bold'>{title}</text>{''.join(svg)}</svg>")


def timeline_html(report: dict) -> str:
    """A self-contained HTML page: the summary, the SVG timeline, the invariants and every entry."""
    entries = report["timeline"]
    rows = "".join(f"<tr><td>{e['t']:.2f}s</td><td>{html.escape(e['category'])}</td>"
                   f"<td>{html.escape(e['text'])}</td></tr>" for e in entries)
    checks = "".join(f"<li>{'✓' if r['ok'] else '✗'} <b>{html.escape(r['invariant'])}</b>: "
                     f"{html.escape(r['detail'])}</li>" for r in report["invariants"])
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>kubemu experiment {report['scenario']}</title>"
            "<style>body{font-family:sans-serif;margin:20px}table{border-collapse:collapse;font-size:12px}"
            "td{border-bottom:1px solid #eee;padding:2px 8px}</style></head><body>"
            f"<h1>{html.escape(report['scenario'])}: {'PASSED' if report['passed'] else 'FAILED'}</h1>"
            f"<pre>{html.escape(summary(report))}</pre>"
            f"{timeline_svg(report)}"
            f"<h2>Invariants</h2><ul>{checks}</ul><h2>Timeline</h2><table>{rows}</table></body></html>")


def write_report(report: dict, directory: str) -> dict[str, str]:
    os.makedirs(directory, exist_ok=True)
    paths = {"json": os.path.join(directory, "report.json"), "summary": os.path.join(directory, "summary.txt"),
             "html": os.path.join(directory, "timeline.html"), "svg": os.path.join(directory, "timeline.svg")}
    with open(paths["json"], "w") as f:
        json.dump(report, f, indent=2)
    with open(paths["summary"], "w") as f:
        f.write(summary(report))
    with open(paths["html"], "w") as f:
        f.write(timeline_html(report))
    with open(paths["svg"], "w") as f:
        f.write(timeline_svg(report))
    return paths
