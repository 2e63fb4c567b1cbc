"""The server-drawn charts: axes that hold their data, labels that can be read."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from cartera.reports.charts import Series, _nice_ticks, bar_chart, line_chart

values = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)


@given(st.lists(values, min_size=1, max_size=20))
def test_the_axis_holds_every_value_and_zero(data):
    low, high = min([*data, 0.0]), max([*data, 0.0])
    ticks = _nice_ticks(low, high)
    slack = (high - low) * 1e-6  # invisible on any chart
    assert ticks[0] <= low + slack and ticks[-1] >= high - slack
    assert ticks == sorted(set(ticks)) and len(ticks) <= 8


def _axis_labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end" class="axis">([^<]*)</text>', svg)


def test_a_bar_above_the_round_ticks_still_sits_under_the_top_one():
    svg = bar_chart(
        labels=["s1", "s2", "s3", "s4"], series=[Series("x", [10, 20, 30, 448])], title="t"
    )
    assert _axis_labels(svg)[-1] == "600"


def test_counts_that_are_all_zero_do_not_repeat_a_tick():
    svg = line_chart(
        labels=["a", "b"],
        series=[Series("n", [0, 0])],
        title="t",
        value_format=lambda v: f"{v:,.0f}",
    )
    assert _axis_labels(svg) == ["0", "1"]


def test_the_last_date_under_the_axis_is_not_cut_at_the_edge():
    labels = [
        f"{m} 2026"
        for m in ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov")
    ]
    svg = line_chart(labels=labels, series=[Series("AR", list(range(11)))], title="t", width=640)
    last = re.findall(
        r'<text x="([\d.]+)" y="[\d.]+" text-anchor="(\w+)" class="axis">nov 2026<', svg
    )
    assert last and last[0][1] == "end" and float(last[0][0]) <= 640
