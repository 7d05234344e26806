"""A pod's trace as one self-contained HTML page: a swimlane per process, a bar per step.

``kubemu trace pod NAME --html trace.html`` writes it. Everything is inline (SVG and CSS, no
script, no external fonts or images), so the file opens anywhere, offline, and can be mailed.

The picture (a Gantt chart): time runs left to right over the trace; each process that took part
(kubectl, the controller manager, the apiserver, the scheduler, each kubelet) is a horizontal
lane, ``<g class="swimlane" data-component=…>``; each step is a bar in its lane (a diamond for a
moment without duration), red when it failed, with a thin line from a parent step in another
lane to the child it caused. Hovering shows the step's details. Below the chart the same steps
are listed in causal order with what explains them.
"""

from __future__ import annotations

from html import escape

from kubemu.trace_view import Timeline, _count, _ms, details, headline, lane_of, watch_delay

LANE_H = 60
CHAR_W = 6.2  # average width of a step label character (11 px sans-serif)
LABEL_W = 230
CHART_W = 900
TOP = 40
COLORS = {"kubectl": "#6d597a", "controller-manager": "#b56576", "apiserver": "#355070", "scheduler": "#2a9d8f",
          "kubelet": "#e09f3e"}
CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1d2430;
       background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } .sub { color: #556; margin: 0 0 12px; }
.note { background: #fff6dd; border-left: 4px solid #e0a800; padding: 6px 10px; margin: 6px 0; }
.stuck { background: #fde8e8; border-left: 4px solid #c0392b; padding: 6px 10px; margin: 6px 0; }
svg { display: block; margin: 12px 0 20px; }
.lane-bg { fill: #f5f7fa; } .lane-bg.odd { fill: #eceff4; }
.lane-label { font-size: 13px; font-weight: 600; fill: #1d2430; }
.lane-sub { font-size: 11px; fill: #667; }
.axis { stroke: #9aa5b1; stroke-width: 1; } .tick { font-size: 11px; fill: #556; }
.grid { stroke: #d8dee6; stroke-width: 1; stroke-dasharray: 2 3; }
.step { stroke: #fff; stroke-width: 0.5; } .step.failed { fill: #c0392b !important; }
.step-label { font-size: 11px; fill: #1d2430; } .step-label.inside { fill: #fff; font-weight: 600; }
.link { stroke: #8795a1; stroke-width: 1; fill: none; stroke-dasharray: 3 2; opacity: 0.8; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #e3e7ec; }
th { background: #f0f3f6; } td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td .d { color: #445; font-size: 12px; margin: 1px 0; } .fail { color: #c0392b; font-weight: 600; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
"""


def _x(offset_ns: int, total_ns: int) -> float:
    return LABEL_W + (offset_ns / total_ns) * CHART_W if total_ns else LABEL_W


def _ticks(total_ns: int) -> list[int]:
    """Grid lines at a round step (1, 2 or 5 × 10^k ns) giving at most 8 intervals."""
    nice = [c * 10 ** p for p in range(3, 13) for c in (1, 2, 5)]
    step = next((v for v in nice if total_ns / v <= 8), nice[-1])
    return list(range(0, max(total_ns, 0) + 1, step))


def render_html(timeline: Timeline) -> str:
    lanes = timeline.lanes
    total = max(timeline.duration_ns, 1)
    height = TOP + LANE_H * len(lanes) + 30
    width = LABEL_W + CHART_W + 20
    row = {lane: i for i, lane in enumerate(lanes)}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="steps of the pod by process over time">',
             '<defs><marker id="arrow" viewBox="0 0 6 6" refX="5" refY="3" markerWidth="6" markerHeight="6" '
             'orient="auto-start-reverse"><path d="M0,0 L6,3 L0,6 z" fill="#8795a1"/></marker></defs>']
    for t in _ticks(total):
        x = _x(t, total)
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{height - 30}"/>'
                     f'<text class="tick" x="{x:.1f}" y="{TOP - 12}" text-anchor="middle">+{_ms(t)}</text>')
    centers: dict[str, tuple[float, float, float]] = {}
    for lane in lanes:
        i = row[lane]
        y = TOP + i * LANE_H
        steps = [s for s in timeline.steps if s.lane == lane]
        component = steps[0].span["component"]
        sample = steps[0].span
        color = COLORS.get(component, "#577590")
        parts.append(f'<g class="swimlane" data-component="{escape(component)}" data-lane="{escape(lane)}">')
        parts.append(f'<rect class="lane-bg{" odd" if i % 2 else ""}" x="0" y="{y}" width="{width}" '
                     f'height="{LANE_H}"/>')
        parts.append(f'<rect x="6" y="{y + 10}" width="6" height="{LANE_H - 20}" rx="2" fill="{color}"/>')
        parts.append(f'<text class="lane-label" x="18" y="{y + 26}">{escape(_short(lane, 30))}</text>')
        parts.append(f'<text class="lane-sub" x="18" y="{y + 41}">{escape(_short(_where(sample), 36))}</text>')
        for step in steps:
            s = step.span
            x0 = _x(step.offset_ns, total)
            x1 = _x(step.end_offset_ns, total)
            mid = y + LANE_H / 2
            failed = " failed" if s.get("error") else ""
            tip = escape(_tooltip(timeline, step))
            if x1 - x0 < 3:
                parts.append(f'<path class="step{failed}" data-step="{escape(s["name"])}" fill="{color}" '
                             f'd="M{x0:.1f},{mid - 6} l5,6 l-5,6 l-5,-6 z"><title>{tip}</title></path>')
            else:
                parts.append(f'<rect class="step{failed}" data-step="{escape(s["name"])}" fill="{color}" '
                             f'x="{x0:.1f}" y="{mid - 7}" width="{x1 - x0:.1f}" height="14" rx="3">'
                             f'<title>{tip}</title></rect>')
            centers[s["spanId"]] = (x0, x1, mid)
        parts.append("</g>")
    # Causal links between lanes: from the cause, along its lane to the moment the effect started,
    # then straight to the effect. The cause of a step is the write it read (a revision), else its
    # parent; each cause gets one arrow per lane (to the first step it caused there).
    by_id = {s.span["spanId"]: s for s in timeline.steps}
    writer = {}
    for step in timeline.steps:
        if step.span.get("writeRevision") and step.span["component"] == "apiserver":
            writer.setdefault(step.span["writeRevision"], step)
    drawn = set()
    for step in timeline.steps:
        cause = writer.get(step.span.get("readRevision") or 0) or by_id.get(step.span.get("parentSpanId") or "")
        if cause is None or cause.lane == step.lane or (cause.span["spanId"], step.lane) in drawn:
            continue
        drawn.add((cause.span["spanId"], step.lane))
        px0, px1, py = centers[cause.span["spanId"]]
        cx0, _, cy = centers[step.span["spanId"]]
        x = min(max(cx0, px0), px1)
        end = cy - 7 if cy > py else cy + 7
        parts.append(f'<path class="link" marker-end="url(#arrow)" d="M{x:.1f},{py:.1f} H{cx0:.1f} V{end:.1f}"/>')
    # Labels last, so bars never hide them: "number name" above or below each bar where there is
    # room, else just the number (the table below lists every step by number), else nothing.
    taken: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for number, step in enumerate(timeline.steps, start=1):
        x0, x1, mid = centers[step.span["spanId"]]
        inside = f"{number} {step.span['name']}"
        if x1 - x0 >= CHAR_W * len(inside) + 10:  # a long bar carries its own label
            parts.append(f'<text class="step-label inside" x="{x0 + 5:.1f}" y="{mid + 4:.1f}">{escape(inside)}</text>')
            continue
        for text in (f"{number} {_short(step.span['name'], 26)}", str(number)):
            width_px = CHAR_W * len(text)
            left = min(x0, LABEL_W + CHART_W - width_px)
            placed = False
            for row, dy in enumerate((-12, 21)):
                spans_taken = taken.setdefault((step.lane, row), [])
                if all(left + width_px + 4 <= a or left >= b + 4 for a, b in spans_taken):
                    spans_taken.append((left, left + width_px))
                    parts.append(f'<text class="step-label" x="{left:.1f}" y="{mid + dy:.1f}">{escape(text)}</text>')
                    placed = True
                    break
            if placed:
                break
    parts.append(f'<line class="axis" x1="{LABEL_W}" y1="{height - 26}" x2="{LABEL_W + CHART_W}" '
                 f'y2="{height - 26}"/></svg>')
    return _page(timeline, "".join(parts))


def _where(span: dict) -> str:
    return f"{span.get('host', '')} · pid {span.get('pid', '')}"


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def _tooltip(timeline: Timeline, step) -> str:
    s = step.span
    lines = [f"{lane_of(s)}: {s['name']}", f"+{_ms(step.offset_ns)}, took {_ms(s['durationNanos'])}"]
    head = headline(s)
    if head:
        lines.append(head)
    return "\n".join(lines + details(s)[:12])


def _page(timeline: Timeline, svg: str) -> str:
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in timeline.notes)
    from kubemu.trace_view import where_stuck

    stuck = where_stuck(timeline)
    stuck_html = f'<p class="stuck">{escape(stuck)}</p>' if stuck else ""
    rows = []
    for i, step in enumerate(timeline.steps, start=1):
        s = step.span
        color = COLORS.get(s["component"], "#577590")
        head = headline(s)
        delay = watch_delay(timeline, step)
        if delay:
            head = f"{head}, {delay}" if head else delay
        detail = "".join(f'<div class="d">{escape(d)}</div>' for d in details(s))
        err = f'<div class="fail">{escape(s["error"])}</div>' if s.get("error") else ""
        rows.append(f'<tr data-step="{escape(s["name"])}"><td class="num">{i}</td>'
                    f'<td class="num">+{_ms(step.offset_ns)}</td><td class="num">{_ms(s["durationNanos"])}</td>'
                    f'<td><span class="swatch" style="background:{color}"></span>{escape(lane_of(s))}</td>'
                    f'<td><b>{escape(s["name"])}</b> {escape(head)}{err}{detail}</td></tr>')
    failed = "".join(f'<p class="note">not included: {escape(str(x.get("component")))} '
                     f'{escape(str(x.get("identity", "")))}: {escape(str(x.get("error")))}</p>'
                     for x in timeline.sources if x.get("error"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>kubemu trace: pod {escape(timeline.pod)}</title>
<style>{CSS}</style></head>
<body>
<h1>Pod {escape(timeline.pod)}: {_count(len(timeline.steps), "step")} by {_count(len(timeline.lanes), "process",
                                                                                 "processes")}</h1>
<p class="sub">trace {escape(timeline.trace_id)} · {_ms(timeline.duration_ns)} from the first step to the last ·
each lane is one process, each bar one step it did (hover for details; dashed arrows: cause → effect across
processes)</p>
{notes}{stuck_html}
{svg}
<table><thead><tr><th>#</th><th>start</th><th>took</th><th>process</th><th>step</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
{failed}
</body></html>
"""
