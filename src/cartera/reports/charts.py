"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, and they print.

Series are told apart by dash pattern and marker as well as colour, so a chart still reads on
a black-and-white printout; every point carries a <title> with its exact value (a tooltip on
screen), and each chart has a text summary for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Number = int | float | Decimal

# Colour, dash pattern and marker of each series, in order.
STYLES = (
    ("#1f4e79", "", "circle"),
    ("#c0504d", "6 3", "square"),
    ("#4f7f3a", "2 3", "diamond"),
    ("#7f6000", "8 3 2 3", "triangle"),
)


@dataclass
class Series:
    name: str
    values: Sequence[Number | None]


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values from at most `low` to at least `high`: the top tick is never below
    the highest value, so no bar or line rises past the axis (into the title)."""
    if math.isclose(low, high):
        low, high = min(low, 0.0), max(high, 0.0)
        if math.isclose(low, high):  # all zero: an axis of 0 and 1, not 0, 0.25, 0.5…
            return [low, low + 1]
    span = high - low
    raw = span / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    # Ticks counted, not accumulated: a sum of steps drifts and may stop short of `high`.
    count = math.ceil((high - first) / step - 1e-9) + 1
    digits = max(0, 2 - math.floor(math.log10(step)))
    return [round(first + n * step, digits) for n in range(count)]


def _axis(
    values: Sequence[float], value_format: Callable[[Number], str]
) -> tuple[list[float], list[str]]:
    """Ticks covering `values` (and 0) and their labels; when the format would write two
    ticks alike (0, 0, 1 for counts), only the lowest and highest are kept."""
    ticks = _nice_ticks(min([*values, 0.0]), max([*values, 0.0]))
    labels = [value_format(t) for t in ticks]
    if len(set(labels)) < len(labels):
        ticks, labels = [ticks[0], ticks[-1]], [labels[0], labels[-1]]
    return ticks, labels


def _x_label(x: float, y: float, label: str, width: int) -> str:
    """A label under the x axis, centred, unless it would run past the chart's right edge."""
    if x + 3.5 * len(label) > width - 2:
        anchor, x = "end", min(x, width - 2.0)
    else:
        anchor = "middle"
    return f'<text x="{x:.1f}" y="{y}" text-anchor="{anchor}" class="axis">{escape(label)}</text>'


def _marker(kind: str, x: float, y: float, colour: str, title: str) -> str:
    t = f"<title>{escape(title)}</title>"
    if kind == "square":
        return (
            f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{colour}">{t}</rect>'
        )
    if kind == "diamond":
        points = f"{x:.1f},{y - 4:.1f} {x + 4:.1f},{y:.1f} {x:.1f},{y + 4:.1f} {x - 4:.1f},{y:.1f}"
        return f'<polygon points="{points}" fill="{colour}">{t}</polygon>'
    if kind == "triangle":
        points = f"{x:.1f},{y - 4:.1f} {x + 4:.1f},{y + 3:.1f} {x - 4:.1f},{y + 3:.1f}"
        return f'<polygon points="{points}" fill="{colour}">{t}</polygon>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">{t}</circle>'


def line_chart(
    *,
    labels: Sequence[str],
    series: Sequence[Series],
    title: str,
    value_format: Callable[[Number], str] = lambda v: f"{v:,.2f}",
    width: int = 640,
    height: int = 220,
) -> SafeString:
    """A line chart of one or more series over the same labels (None: no value there)."""
    values = [float(v) for s in series for v in s.values if v is not None]
    if not values or not labels:
        return mark_safe(f'<p class="chart-empty">{escape(title)}: –</p>')
    left, right, top, bottom = 64, 12, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks, tick_labels = _axis(values, value_format)
    low, high = ticks[0], ticks[-1]
    span = (high - low) or 1

    def x_at(i: int) -> float:
        return left + (plot_w * i / (len(labels) - 1) if len(labels) > 1 else plot_w / 2)

    def y_at(v: float) -> float:
        return top + plot_h - (v - low) / span * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for tick, tick_label in zip(ticks, tick_labels, strict=True):
        y = y_at(tick)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="gridline"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">'
            f"{escape(tick_label)}</text>"
        )
    every = max(1, math.ceil(len(labels) / 8))
    last = len(labels) - 1
    for i, label in enumerate(labels):
        # Every `every`-th label, and the last one, without one crowding it from the left.
        if i == last or (i % every == 0 and last - i >= max(every, 2) * 0.75):
            parts.append(_x_label(x_at(i), height - bottom + 16, label, width))
    for n, s in enumerate(series):
        colour, dash, marker = STYLES[n % len(STYLES)]
        points = [
            (x_at(i), y_at(float(v)), v, labels[i]) for i, v in enumerate(s.values) if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _v, _l in points)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"'
                f"{dash_attr}/>"
            )
        for x, y, v, label in points:
            parts.append(_marker(marker, x, y, colour, f"{s.name} · {label}: {value_format(v)}"))
    if len(series) > 1:
        x = left
        for n, s in enumerate(series):
            colour, dash, marker = STYLES[n % len(STYLES)]
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<line x1="{x}" x2="{x + 18}" y1="{height - 8}" y2="{height - 8}" '
                f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
                f'<text x="{x + 22}" y="{height - 4}" class="legend">{escape(s.name)}</text>'
            )
            x += 30 + 7 * len(s.name)
    parts.append("</svg>")
    return mark_safe("".join(parts))


def sparkline(
    values: Sequence[Number | None], *, title: str, width: int = 120, height: int = 28
) -> SafeString:
    """A small line without axes, for a figure's recent trend."""
    present = [float(v) for v in values if v is not None]
    if len(present) < 2:
        return mark_safe("")
    low, high = min(present), max(present)
    span = (high - low) or 1
    step = (width - 4) / (len(values) - 1)
    points = [
        f"{2 + i * step:.1f},{height - 3 - (float(v) - low) / span * (height - 6):.1f}"
        for i, v in enumerate(values)
        if v is not None
    ]
    last = points[-1].split(",")
    return mark_safe(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f'<polyline points="{" ".join(points)}" fill="none" stroke="#1f4e79" stroke-width="1.5"/>'
        f'<circle cx="{last[0]}" cy="{last[1]}" r="2" fill="#1f4e79"/></svg>'
    )


def bar_chart(
    *,
    labels: Sequence[str],
    series: Sequence[Series],
    title: str,
    value_format: Callable[[Number], str] = lambda v: f"{v:,.0f}",
    width: int = 640,
    height: int = 220,
) -> SafeString:
    """Grouped vertical bars; series are told apart by fill pattern as well as colour."""
    values = [float(v) for s in series for v in s.values if v is not None]
    if not values or not labels:
        return mark_safe(f'<p class="chart-empty">{escape(title)}: –</p>')
    left, right, top, bottom = 72, 12, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks, tick_labels = _axis(values, value_format)
    low, high = ticks[0], ticks[-1]
    span = (high - low) or 1

    def y_at(v: float) -> float:
        return top + plot_h - (v - low) / span * plot_h

    group = plot_w / len(labels)
    bar = group * 0.8 / max(len(series), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f3d9d8"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#c0504d" stroke-width="3"/></pattern></defs>',
        f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for tick, tick_label in zip(ticks, tick_labels, strict=True):
        y = y_at(tick)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="gridline"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">'
            f"{escape(tick_label)}</text>"
        )
    zero = y_at(0.0)
    fills = ("#1f4e79", "url(#hatch)", "#4f7f3a", "#7f6000")
    for i, label in enumerate(labels):
        x0 = left + group * i + group * 0.1
        for n, s in enumerate(series):
            v = s.values[i] if i < len(s.values) else None
            if v is None:
                continue
            y = y_at(float(v))
            top_y, bar_h = min(y, zero), abs(zero - y)
            parts.append(
                f'<rect x="{x0 + n * bar:.1f}" y="{top_y:.1f}" width="{bar * 0.95:.1f}" '
                f'height="{max(bar_h, 0.5):.1f}" fill="{fills[n % len(fills)]}" '
                f'stroke="#333" stroke-width="0.3"><title>{escape(s.name)} · {escape(label)}: '
                f"{escape(value_format(v))}</title></rect>"
            )
        parts.append(_x_label(left + group * (i + 0.5), height - bottom + 14, label, width))
    if len(series) > 1:
        x = left
        for n, s in enumerate(series):
            parts.append(
                f'<rect x="{x}" y="{height - 14}" width="12" height="10" '
                f'fill="{fills[n % len(fills)]}" stroke="#333" stroke-width="0.3"/>'
                f'<text x="{x + 16}" y="{height - 5}" class="legend">{escape(s.name)}</text>'
            )
            x += 30 + 7 * len(s.name)
    parts.append("</svg>")
    return mark_safe("".join(parts))
