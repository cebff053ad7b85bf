"""Inline SVG charts for the report: titled, with axis labels, and every value in a hover <title>.

Pure functions from numbers to SVG markup; every label is escaped.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

PALETTE = ("#6e7781", "#0969da", "#1a7f37", "#8250df", "#bf3989", "#9a6700")
WIDTH, HEIGHT = 520, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 46, 52
TICK_Y = HEIGHT - BOTTOM + 14


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _frame(title: str, body: list[str], x_label: str, y_label: str, legend: tuple[str, int] = ("", 0)) -> Markup:
    """The chart around its plot. A legend of several rows pushes the plot down by its extra rows."""
    markup, extra = legend
    width, height = WIDTH, HEIGHT + extra
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<text class="chart-title" x="{LEFT}" y="18">{escape(title)}</text>',
        f'<text class="axis-label" x="{(LEFT + width - RIGHT) / 2}" y="{height - 6}" text-anchor="middle">'
        f'{escape(x_label)}</text>',
        f'<text class="axis-label" transform="translate(14 {(TOP + height - BOTTOM) / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>', markup,
        f'<g transform="translate(0 {extra})">', *body, "</g></svg>",
    ]
    return Markup("".join(parts))


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if step * magnitude >= value)


def _y_axis(top: float, height: int, fmt: str) -> list[str]:
    plot_h = height - TOP - BOTTOM
    lines = []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        lines.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="tick" x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{fmt.format(value)}</text>')
    return lines


def grouped_bars(title: str, groups: list[str], series: dict[str, list[float | None]], y_label: str,
                 x_label: str = "", percent: bool = True) -> Markup:
    """One group of bars per category, one bar per series (variant)."""
    values = [v for vs in series.values() for v in vs if v is not None]
    top = 1.0 if percent else _nice_max(max(values, default=0.0))
    fmt = "{:.0%}" if percent else "{:.3g}"
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(len(groups), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    body = _y_axis(top, HEIGHT, fmt)
    body += _x_labels(groups, [LEFT + g * group_w + group_w / 2 for g in range(len(groups))], group_w)
    for g, group in enumerate(groups):
        x0 = LEFT + g * group_w + group_w * 0.1
        for s, (name, vs) in enumerate(series.items()):
            value = vs[g]
            if value is None:
                continue
            h = plot_h * value / top
            x, y = x0 + s * bar_w, TOP + plot_h - h
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                        f'fill="{colour(s)}"><title>{escape(name)} · {escape(group)}: {fmt.format(value)}</title>'
                        '</rect>')
    return _frame(title, body, x_label, y_label, _legend(list(series)))


def _short(text: str, limit: int = 18) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


CHAR_W = 6.5  # px per character of a tick label, a little over the average at the report's tick size
LEGEND_ROW = 14


def _legend(names: list[str], first: int = 0) -> tuple[str, int]:
    """Swatches in the colours the series are drawn in (series i is colour(first + i)), left to right under
    the title, wrapping onto more rows when they do not fit; returns the markup and the extra height."""
    items, x, row = [], LEFT, 0
    for i, name in enumerate(names):
        label = _short(name, 28)
        width = 13 + CHAR_W * len(label) + 12
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, row = LEFT, row + 1
        y = 27 + LEGEND_ROW * row
        items.append(f'<rect x="{x:.1f}" y="{y}" width="10" height="10" fill="{colour(first + i)}"/>'
                     f'<text class="tick legend" x="{x + 13:.1f}" y="{y + 9}">{escape(label)}'
                     f'<title>{escape(name)}</title></text>')
        x += width
    return "".join(items), LEGEND_ROW * row


def _x_labels(labels: list[str], centres: list[float], slot: float) -> list[str]:
    """Category labels under the plot, never overlapping: cut to the slot's width, and on two staggered rows
    (twice the width each) when one row would cut them; none runs off the chart's edges. The whole label is
    in each one's hover title."""
    rows = 1 if all(CHAR_W * len(label) <= slot for label in labels) else 2
    made = []
    for i, (label, centre) in enumerate(zip(labels, centres, strict=True)):
        room = min(rows * slot, 2 * (centre - 2), 2 * (WIDTH - 2 - centre))
        made.append(f'<text class="tick" x="{centre:.1f}" y="{TICK_Y + 11 * (i % rows)}" text-anchor="middle">'
                    f'{escape(_short(label, max(3, int(room / CHAR_W) - 1)))}<title>{escape(label)}</title></text>')
    return made


def histograms(title: str, series: dict[str, list[float]], x_label: str, bins: int = 12) -> Markup:
    """Overlaid step histograms with shared bins; hover shows each bin's count."""
    values = [v for vs in series.values() for v in vs]
    if not values:
        return _frame(title, ['<text class="tick" x="100" y="100">no data</text>'], x_label, "outputs")
    whole = all(float(v).is_integer() for v in values)  # counts (words, sentences) get whole-number bins
    low, high = min(values), max(values)
    if whole:
        low, span = math.floor(low), int(high) - math.floor(low) + 1
        width = max(1, math.ceil(span / bins))
        bins = math.ceil(span / width)
    else:
        width = (high - low) / bins or 1.0
    edges = [low + width * i for i in range(bins + 1)]
    counts = {name: [0] * bins for name in series}
    for name, vs in series.items():
        for v in vs:
            counts[name][min(int((v - low) / width), bins - 1)] += 1
    top = _nice_max(max(max(c) for c in counts.values()))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body = _y_axis(top, HEIGHT, "{:.0f}")
    bar_w = plot_w / bins / max(len(series), 1)
    for s, (name, cs) in enumerate(counts.items()):
        for b, count in enumerate(cs):
            h = plot_h * count / top
            x = LEFT + b * plot_w / bins + s * bar_w
            body.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(bar_w - 0.5, 0.5):.1f}" '
                        f'height="{h:.1f}" fill="{colour(s)}"><title>{escape(name)}: {count} outputs with '
                        f'{_bin_label(edges[b], edges[b + 1], whole)}</title></rect>')
    for b in range(0, bins + 1, max(1, math.ceil(bins / 6))):
        x = LEFT + b * plot_w / bins
        body.append(f'<text class="tick" x="{x:.1f}" y="{TICK_Y}" text-anchor="middle">'
                    f'{int(edges[b]) if whole else format(edges[b], ".3g")}</text>')
    return _frame(title, body, x_label, "outputs", _legend(list(series)))


def _bin_label(low: float, high: float, whole: bool) -> str:
    """A bin as its reader counts it: "12–14" (both included) for whole numbers, else "0.5–0.75"."""
    if not whole:
        return f"{low:.3g}–{high:.3g}"
    return f"{int(low)}" if high - low == 1 else f"{int(low)}–{int(high) - 1}"


def box_plots(title: str, series: dict[str, list[float]], y_label: str) -> Markup:
    """One box per series: quartiles, whiskers at 1.5 IQR, median line, and every point beyond the whiskers
    drawn on its own; hover gives the five numbers, and each outlier its value."""
    values = [v for vs in series.values() for v in vs]
    if not values:
        return _frame(title, [], "variant", y_label)
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(v: float) -> float:
        return TOP + plot_h - plot_h * (v - low) / span

    body = []
    for i in range(5):
        value = low + span * i / 4
        body.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}"/>'
                    f'<text class="tick" x="{LEFT - 4}" y="{y(value) + 3:.1f}" text-anchor="end">{value:.3g}</text>')
    slot = plot_w / max(len(series), 1)
    body += _x_labels(list(series), [LEFT + slot * (s + 0.5) for s in range(len(series))], slot)
    for s, (name, vs) in enumerate(series.items()):
        if not vs:
            continue
        q1, median, q3 = _quantile(vs, 0.25), _quantile(vs, 0.5), _quantile(vs, 0.75)
        iqr = q3 - q1
        lo = min(v for v in vs if v >= q1 - 1.5 * iqr)
        hi = max(v for v in vs if v <= q3 + 1.5 * iqr)
        cx, half = LEFT + slot * (s + 0.5), slot * 0.25
        tip = (f"{escape(name)}: min {min(vs):.3g}, q1 {q1:.3g}, median {median:.3g}, q3 {q3:.3g}, "
               f"max {max(vs):.3g} (n={len(vs)})")
        body.append(f'<g><title>{tip}</title>'
                    f'<line x1="{cx}" x2="{cx}" y1="{y(lo):.1f}" y2="{y(hi):.1f}" stroke="{colour(s)}"/>'
                    f'<rect x="{cx - half:.1f}" y="{y(q3):.1f}" width="{2 * half:.1f}" '
                    f'height="{max(y(q1) - y(q3), 1):.1f}" fill="{colour(s)}" fill-opacity="0.35" '
                    f'stroke="{colour(s)}"/>'
                    f'<line x1="{cx - half:.1f}" x2="{cx + half:.1f}" y1="{y(median):.1f}" y2="{y(median):.1f}" '
                    f'stroke="{colour(s)}" stroke-width="2"/></g>')
        body += [f'<circle class="outlier" cx="{cx}" cy="{y(v):.1f}" r="2.2" fill="none" stroke="{colour(s)}">'
                 f'<title>{escape(name)}: outlier {v:.4g}</title></circle>' for v in vs if v < lo or v > hi]
    return _frame(title, body, "variant", y_label)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def line_chart(title: str, series: dict[str, list[tuple[float, float]]], x_label: str, y_label: str,
               x_name: str = "step") -> Markup:
    """Lines through (x, y) points, one per series; `x_name` names x in each point's tooltip."""
    points = [p for ps in series.values() for p in ps]
    if not points:
        return _frame(title, ['<text class="tick" x="100" y="100">no data</text>'], x_label, y_label)
    xy, body = _plot(max(x for x, _ in points), [y for _, y in points])
    for s, (name, ps) in enumerate(series.items()):
        path = " ".join(f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}" for i, (px, py) in
                        enumerate(xy(x, y) for x, y in ps))
        body.append(f'<path d="{path}" fill="none" stroke="{colour(s + 1)}" stroke-width="1.5">'
                    f'<title>{escape(name)}</title></path>')
        for x, y in ps:
            px, py = xy(x, y)
            body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.2" fill="{colour(s + 1)}">'
                        f'<title>{escape(name)} {x_name} {x:g}: {y:.4g}</title></circle>')
    for value in _steps(max(x for x, _ in points) or 1.0):
        px, _ = xy(value, 0)
        body.append(f'<text class="tick" x="{px:.1f}" y="{TICK_Y}" text-anchor="middle">{value:g}</text>')
    # The lines are colour(1), colour(2), ...: the grey of colour(0) is for base variants in the other charts.
    return _frame(title, body, x_label, y_label, _legend(list(series), first=1) if len(series) > 1 else ("", 0))


def _plot(x_max: float, ys: list[float]):
    """The plot's mapping from (x, y) to the page, x from 0 and y over the range of `ys`, and its five
    horizontal grid lines with their values."""
    y_min, span = min(ys), (max(ys) - min(ys)) or 1.0
    x_max = x_max or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def xy(x: float, y: float) -> tuple[float, float]:
        return LEFT + plot_w * x / x_max, TOP + plot_h - plot_h * (y - y_min) / span

    grid = []
    for i in range(5):
        value = y_min + span * i / 4
        _, gy = xy(0, value)
        grid.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}"/>'
                    f'<text class="tick" x="{LEFT - 4}" y="{gy + 3:.1f}" text-anchor="end">{value:.3g}</text>')
    return xy, grid


def _steps(x_max: float) -> list[float]:
    """At most 6 distinct whole-number ticks from 0 to x_max (steps are whole)."""
    step = max(1, math.ceil(x_max / 5))
    return [float(v) for v in range(0, int(x_max) + 1, step)]


def curve_with_bands(title: str, points: list[tuple[float, float, float, float]],
                     bands: dict[str, tuple[float, float, float]], x_label: str, y_label: str,
                     curve_name: str = "adapter") -> Markup:
    """One curve of (x, value, CI low, CI high) points with error bars, over horizontal bands (value, CI low,
    CI high) that span the whole x axis: the data-size curve against the prompting variants."""
    if not points:
        return _frame(title, ['<text class="tick" x="100" y="100">no data</text>'], x_label, y_label)
    ys = [y for _, value, low, high in points for y in (value, low, high)]
    x_max = max(x for x, *_ in points) or 1.0
    xy, body = _plot(x_max, ys + [y for band in bands.values() for y in band])
    plot_w = WIDTH - LEFT - RIGHT
    for b, (name, (value, low, high)) in enumerate(bands.items()):
        _, top = xy(0, high)
        _, bottom = xy(0, low)
        _, mid = xy(0, value)
        tip = f"{escape(name)}: {value:.4g} (95% CI {low:.4g} to {high:.4g})"
        body.append(f'<rect x="{LEFT}" y="{top:.1f}" width="{plot_w}" height="{max(bottom - top, 0.5):.1f}" '
                    f'fill="{colour(b + 2)}" fill-opacity="0.12"><title>{tip}</title></rect>'
                    f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{mid:.1f}" y2="{mid:.1f}" stroke="{colour(b + 2)}" '
                    f'stroke-dasharray="4 3"><title>{tip}</title></line>')
    path = " ".join(f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}" for i, (px, py) in
                    enumerate(xy(x, value) for x, value, *_ in points))
    body.append(f'<path d="{path}" fill="none" stroke="{colour(1)}" stroke-width="1.5"/>')
    for x, value, low, high in points:
        px, py = xy(x, value)
        _, top = xy(x, high)
        _, bottom = xy(x, low)
        body.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top:.1f}" y2="{bottom:.1f}" stroke="{colour(1)}"/>'
                    f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour(1)}"><title>{escape(curve_name)}, '
                    f'{x:g} training examples: {value:.4g} (95% CI {low:.4g} to {high:.4g})</title></circle>')
    for value in _steps(x_max):
        px, _ = xy(value, 0)
        body.append(f'<text class="tick" x="{px:.1f}" y="{TICK_Y}" text-anchor="middle">{value:g}</text>')
    # The legend's colours follow the drawing: the curve is colour(1), band b is colour(b + 2).
    return _frame(title, body, x_label, y_label, _legend([curve_name, *bands], first=1))
