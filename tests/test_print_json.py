"""`print_json`: what every `--format json` command writes."""

from __future__ import annotations

import json

import pytest

from cartera.core.commandline import print_json

CASES = [
    {"as_of": "2026-11-24", "rows": [{"key": {"name": "Peña <b>"}, "n": 1}], "totals": [], "x": {}},
    [{"currency": "COP", "dso": "41.20", "cei": None}],
    [[1, [2, [3]]], {"a": {"b": {"c": [1]}}}],
    [],
    {},
    0,
    "texto",
    None,
]


@pytest.mark.parametrize("data", CASES)
def test_what_is_printed_is_the_same_json(data, capsys):
    print_json(data)
    assert json.loads(capsys.readouterr().out) == data


def test_a_report_reads_one_row_per_line_and_its_top_level_indented(capsys):
    rows = [
        {"key": {"debtor": f"D{n}", "name": "Ñandú"}, "amounts": {"current": "1.00"}}
        for n in range(3)
    ]
    print_json({"as_of": "2026-11-24", "rows": rows})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "{" and lines[1] == '  "as_of": "2026-11-24",' and lines[-1] == "}"
    assert lines[2] == '  "rows": ['
    # Each row on its own line, written as is (no \\u escapes for accented names).
    assert lines[3:6] == [f"    {json.dumps(row, ensure_ascii=False)}," for row in rows[:2]] + [
        f"    {json.dumps(rows[2], ensure_ascii=False)}"
    ]
    assert "Ñandú" in lines[3]
