"""Summary plots as self-contained HTML with inline SVG (no scripts, fonts or files from elsewhere).

Three chart kinds cover the benchmarks: :func:`lines` (series over time, or a scatter when
``dots``), :func:`cdf` (a distribution as the fraction of samples at or below each value), and
:func:`bars` (grouped bars, e.g. RSS per component at each cluster size). Each returns an SVG
string; :func:`page` puts charts and the text report on one HTML page.
"""

from __future__ import annotations

import html
import math

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 70, 150, 30, 40
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * exp:
            return m * exp
    return 10 * exp


def _ticks(top: float, n: int = 5) -> list[float]:
    return [top * i / n for i in range(n + 1)]


def _label(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:.0f}"
    return f"{v:.3g}"


def _frame(title: str, x_label: str, y_label: str, x_max: float, y_max: float, body: list[str],
           legend: list[tuple[str, str]], *, x_ticks: bool = True) -> str:
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' font-family='sans-serif' "
           f"font-size='11'><rect width='100%' height='100%' fill='white'/>",
           f"<text x='{LEFT}' y='18' font-size='13' font-weight='bold'>{html.escape(title)}</text>"]
    for v in _ticks(y_max):
        y = TOP + ph - ph * v / y_max
        out.append(f"<line x1='{LEFT}' x2='{LEFT + pw}' y1='{y:.1f}' y2='{y:.1f}' stroke='#eee'/>")
        out.append(f"<text x='{LEFT - 5}' y='{y + 4:.1f}' text-anchor='end'>{_label(v)}</text>")
    for v in _ticks(x_max) if x_ticks else []:
        x = LEFT + pw * v / x_max
        out.append(f"<text x='{x:.1f}' y='{TOP + ph + 15}' text-anchor='middle'>{_label(v)}</text>")
    out.append(f"<rect x='{LEFT}' y='{TOP}' width='{pw}' height='{ph}' fill='none' stroke='#999'/>")
    out.append(f"<text x='{LEFT + pw / 2}' y='{HEIGHT - 6}' text-anchor='middle'>{html.escape(x_label)}</text>")
    out.append(f"<text transform='translate(14,{TOP + ph / 2}) rotate(-90)' text-anchor='middle'>"
               f"{html.escape(y_label)}</text>")
    out.extend(body)
    for i, (name, color) in enumerate(legend):
        y = TOP + 10 + 16 * i
        out.append(f"<rect x='{LEFT + pw + 10}' y='{y - 8}' width='10' height='10' fill='{color}'/>")
        out.append(f"<text x='{LEFT + pw + 24}' y='{y + 1}'>{html.escape(name[:22])}</text>")
    out.append("</svg>")
    return "".join(out)


def lines(title: str, x_label: str, y_label: str, series: dict[str, list[tuple[float, float]]], *,
          dots: bool = False, hlines: dict[str, float] | None = None) -> str:
    """Series of ``(x, y)`` points; ``hlines`` draws labelled horizontal lines (targets)."""
    points = [p for s in series.values() for p in s]
    x_max = _nice_max(max((p[0] for p in points), default=1.0))
    y_max = _nice_max(max([p[1] for p in points] + list((hlines or {}).values()) + [0.0]))
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def xy(p: tuple[float, float]) -> str:
        return f"{LEFT + pw * p[0] / x_max:.1f},{TOP + ph - ph * min(p[1], y_max) / y_max:.1f}"

    body, legend = [], []
    for i, (name, pts) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        legend.append((name, color))
        if dots:
            body.extend(f"<circle cx='{xy(p).split(',')[0]}' cy='{xy(p).split(',')[1]}' r='1.8' fill='{color}' "
                        f"fill-opacity='0.6'/>" for p in pts)
        elif pts:
            body.append(f"<polyline fill='none' stroke='{color}' stroke-width='1.5' "
                        f"points='{' '.join(xy(p) for p in pts)}'/>")
    for name, y in (hlines or {}).items():
        yy = TOP + ph - ph * y / y_max
        body.append(f"<line x1='{LEFT}' x2='{LEFT + pw}' y1='{yy:.1f}' y2='{yy:.1f}' stroke='#444' "
                    f"stroke-dasharray='4,3'/><text x='{LEFT + pw - 4}' y='{yy - 3:.1f}' text-anchor='end' "
                    f"fill='#444'>{html.escape(name)}</text>")
    return _frame(title, x_label, y_label, x_max, y_max, body, legend)


def cdf(title: str, x_label: str, samples: dict[str, list[float]], *, vlines: dict[str, float] | None = None) -> str:
    """Cumulative distribution of each sample set (y: fraction of samples ≤ x)."""
    series = {}
    for name, values in samples.items():
        data = sorted(values)
        n = len(data)
        step = max(1, n // 400)  # at most ~400 points per curve
        series[name] = [(v, (i + 1) / n) for i, v in enumerate(data) if i % step == 0 or i == n - 1]
    svg = lines(title, x_label, "fraction of samples ≤ x", series)
    if not vlines:
        return svg
    x_max = _nice_max(max((p[0] for s in series.values() for p in s), default=1.0))
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    extra = []
    for name, x in vlines.items():
        if x <= x_max:
            xx = LEFT + pw * x / x_max
            extra.append(f"<line x1='{xx:.1f}' x2='{xx:.1f}' y1='{TOP}' y2='{TOP + ph}' stroke='#444' "
                         f"stroke-dasharray='4,3'/><text x='{xx + 3:.1f}' y='{TOP + 12}' fill='#444'>"
                         f"{html.escape(name)}</text>")
    return svg.replace("</svg>", "".join(extra) + "</svg>")


def bars(title: str, y_label: str, groups: list[str], series: dict[str, list[float]]) -> str:
    """Grouped bars: one group per ``groups`` entry, one bar per series within it."""
    y_max = _nice_max(max((v for vs in series.values() for v in vs if v is not None), default=1.0))
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n_groups, n_series = max(1, len(groups)), max(1, len(series))
    group_w = pw / n_groups
    bar_w = group_w * 0.8 / n_series
    body, legend = [], []
    for j, (name, values) in enumerate(series.items()):
        color = COLORS[j % len(COLORS)]
        legend.append((name, color))
        for i, v in enumerate(values):
            if v is None:
                continue
            h = ph * v / y_max
            x = LEFT + group_w * i + group_w * 0.1 + bar_w * j
            body.append(f"<rect x='{x:.1f}' y='{TOP + ph - h:.1f}' width='{bar_w:.1f}' height='{h:.1f}' "
                        f"fill='{color}'><title>{html.escape(name)} {html.escape(groups[i])}: {_label(v)}</title>"
                        f"</rect>")
    svg = _frame(title, "", y_label, 1.0, y_max, body, legend, x_ticks=False)
    labels = "".join(f"<text x='{LEFT + group_w * (i + 0.5):.1f}' y='{TOP + ph + 15}' text-anchor='middle'>"
                     f"{html.escape(g)}</text>" for i, g in enumerate(groups))
    return svg.replace("</svg>", labels + "</svg>")


def page(title: str, summary_text: str, charts: list[str]) -> str:
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;margin:20px}}"
            "pre{background:#f6f6f6;padding:10px;font-size:12px}svg{display:block;margin:10px 0}</style>"
            f"</head><body><h1>{html.escape(title)}</h1>{''.join(charts)}<pre>{html.escape(summary_text)}</pre>"
            "</body></html>")
