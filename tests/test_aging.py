"""Aging: hand-computed buckets, past dates rebuilt from the ledger, currencies apart."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from cartera.portfolio.services import creditor_create
from cartera.reports.aging import aging_report, make_buckets

AS_OF = datetime.date(2026, 11, 23)

DOCUMENTS = (
    "external_id,debtor_external_id,name,issue_date,due_date,amount,currency\n"
    # dpd 0 (due today): current
    "A,C1,Uno,2026-10-24,2026-11-23,100.00,COP\n"
    # dpd 1: 1-30
    "B,C1,Uno,2026-10-23,2026-11-22,200.00,COP\n"
    # dpd 30: 1-30; dpd 31: 31-60
    "C,C1,Uno,2026-09-24,2026-10-24,300.00,COP\n"
    "D,C2,Dos,2026-09-23,2026-10-23,400.00,COP\n"
    # dpd 361: 361+
    "E,C2,Dos,2025-10-01,2025-11-27,500.00,COP\n"
    # credit note: credits, not amounts
    "F,C2,Dos,2026-11-01,2026-11-01,-50.00,COP\n"
    # another currency is never summed with COP
    "G,C2,Dos,2026-08-01,2026-08-31,10.25,USD\n"
    # issued after the as-of date: not in the report
    "H,C1,Uno,2026-11-24,2026-12-24,999.00,COP\n"
)


@pytest.fixture
def portfolio(write_file, load):
    return load("documents", write_file("docs.csv", DOCUMENTS))


def test_buckets_by_days_past_due(portfolio, creditor):
    report = aging_report(creditors=[creditor], as_of=AS_OF)

    assert [b.name for b in report.buckets] == [
        "current",
        "1-30",
        "31-60",
        "61-90",
        "91-180",
        "181-360",
        "361+",
    ]
    cop, usd = report.rows
    assert cop.currency == "COP" and usd.currency == "USD"
    assert cop.amounts == {
        "current": 10000,
        "1-30": 50000,
        "31-60": 40000,
        "61-90": 0,
        "91-180": 0,
        "181-360": 0,
        "361+": 50000,
    }
    assert (cop.credits, cop.total, cop.net, cop.documents) == (-5000, 150000, 145000, 5)
    assert usd.amounts["61-90"] == 1025 and usd.documents == 1


def test_json_shape_with_iso_decimals(portfolio, creditor):
    data = aging_report(creditors=[creditor], as_of=AS_OF).as_json()

    assert data["as_of"] == "2026-11-23"
    assert data["by"] == "creditor"
    row = data["rows"][0]
    assert row == {
        "key": {"creditor": "ACME"},
        "currency": "COP",
        "amounts": {
            "current": "100.00",
            "1-30": "500.00",
            "31-60": "400.00",
            "61-90": "0.00",
            "91-180": "0.00",
            "181-360": "0.00",
            "361+": "500.00",
        },
        "credits": "-50.00",
        "total": "1500.00",
        "net": "1450.00",
        "documents": 5,
    }
    assert [t["currency"] for t in data["totals"]] == ["COP", "USD"]
    assert "key" not in data["totals"][0]


def test_a_past_date_is_rebuilt_from_the_ledger(portfolio, creditor, write_file, load):
    load(
        "payments",
        write_file(
            "p.csv", "debtor_external_id,date,amount,document_number\nC2,2026-11-10,400,D\n"
        ),
    )

    before = aging_report(creditors=[creditor], as_of=datetime.date(2026, 11, 9)).rows[0]
    after = aging_report(creditors=[creditor], as_of=AS_OF).rows[0]

    assert after.amounts["31-60"] == 0
    assert after.documents == 4
    # On 9 November A and B were not yet due, C and D (unpaid then) 16 and 17 days overdue,
    # and E 347 days.
    assert before.amounts == {
        "current": 30000,
        "1-30": 70000,
        "31-60": 0,
        "61-90": 0,
        "91-180": 0,
        "181-360": 50000,
        "361+": 0,
    }
    assert before.documents == 5


def test_unapplied_payments_are_credits_on_and_after_their_date(
    portfolio, creditor, write_file, load
):
    load(
        "payments",
        write_file(
            "p.csv", "debtor_external_id,date,amount,document_number\nC1,2026-11-20,150,A\n"
        ),
    )

    on_date = aging_report(creditors=[creditor], as_of=AS_OF).rows[0]
    earlier = aging_report(creditors=[creditor], as_of=datetime.date(2026, 11, 19)).rows[0]

    assert on_date.credits == -5000 - 5000
    assert on_date.amounts["current"] == 0
    assert earlier.credits == -5000
    assert earlier.amounts["current"] == 10000 + 20000  # A and B were not due yet


def test_by_debtor_and_custom_buckets(portfolio, creditor):
    report = aging_report(creditors=[creditor], as_of=AS_OF, by="debtor", bounds=[30, 365])

    assert [b.name for b in report.buckets] == ["current", "1-30", "31-365", "366+"]
    keys = [(row.key["debtor"], row.currency) for row in report.rows]
    assert keys == [("C1", "COP"), ("C2", "COP"), ("C2", "USD")]
    c2 = report.rows[1]
    assert c2.key == {"creditor": "ACME", "debtor": "C2", "name": "Dos"}
    assert c2.amounts == {"current": 0, "1-30": 0, "31-365": 90000, "366+": 0}
    assert c2.credits == -5000


def test_zero_decimal_currency(db, actor, write_file, load):
    chile = creditor_create(code="CL1", name="Chile", country="CL", currency="CLP", actor=actor)
    load(
        "documents",
        write_file(
            "cl.csv",
            'numero,codigo_cliente,nombre,fecha_vencimiento,monto\nB-1,X,Equis,01-10-2026,"1.234.567"\n',
        ),
        target=chile,
        locale="es_CL",
    )
    data = aging_report(creditors=[chile], as_of=AS_OF).as_json()
    assert data["rows"][0]["amounts"]["31-60"] == "1234567"


def test_bucket_bounds_are_validated():
    with pytest.raises(ValueError, match="los límites de las franjas deben ser"):
        make_buckets([60, 30])
    with (
        pytest.raises(ValueError, match="bucket bounds must be increasing"),
        translation.override("en"),
    ):
        make_buckets([0, 30])


def test_the_table_speaks_spanish_by_default_and_english_when_asked(portfolio, creditor):
    args = ("aging", "--as-of", "2026-11-23", "--by", "debtor", "--creditor", "ACME")
    spanish = io.StringIO()
    call_command(*args, stdout=spanish)
    title, header = spanish.getvalue().splitlines()[:2]
    assert title == "Edad de cartera al 2026-11-23 por deudor"
    assert header.split() == [
        *("acreedor", "deudor", "nombre", "moneda", "al", "día", "1-30", "31-60", "61-90"),
        *("91-180", "181-360", "361+", "créditos", "total", "neto", "documentos"),
    ]

    english = io.StringIO()
    with translation.override("en"):
        call_command(*args, stdout=english)
    title, header = english.getvalue().splitlines()[:2]
    assert title == "Aging as of 2026-11-23 by debtor"
    assert header.split()[:5] == ["creditor", "debtor", "name", "currency", "current"]
    assert header.split()[-4:] == ["credits", "total", "net", "documents"]

    empty = io.StringIO()
    call_command("aging", "--as-of", "2020-01-01", "--creditor", "ACME", stdout=empty)
    assert empty.getvalue().splitlines() == [
        "Edad de cartera al 2020-01-01 por acreedor",
        "no hay nada abierto en esa fecha",
    ]


def test_json_and_csv_keep_their_english_names_in_spanish(portfolio, creditor, capsys):
    call_command("aging", "--as-of", "2026-11-23", "--by", "debtor", "--format", "json")
    data = json.loads(capsys.readouterr().out)
    assert data["by"] == "debtor" and data["buckets"][0] == "current"
    assert set(data["rows"][0]) == {
        "key",
        "currency",
        "amounts",
        "credits",
        "total",
        "net",
        "documents",
    }
    assert set(data["rows"][0]["key"]) == {"creditor", "debtor", "name"}

    call_command("aging", "--as-of", "2026-11-23", "--format", "csv")
    assert capsys.readouterr().out.splitlines()[0].startswith("creditor,currency,current,1-30")


def test_wrong_buckets_are_explained_in_spanish(db):
    with pytest.raises(CommandError) as decreasing:
        call_command("aging", "--buckets", "90,30", stdout=io.StringIO())
    assert decreasing.value.returncode == 2
    assert "--buckets: los límites de las franjas deben ser cantidades de días positivas" in str(
        decreasing.value
    )
    with pytest.raises(CommandError) as words:
        call_command("aging", "--buckets", "treinta", stdout=io.StringIO())
    assert "--buckets 'treinta': indique cantidades de días crecientes" in str(words.value)


def test_the_number_of_queries_does_not_grow_with_the_portfolio(
    creditor, write_file, load, django_assert_num_queries
):
    small = "external_id,debtor_external_id,name,due_date,amount\nX1,C1,Uno,2026-10-01,10\n"
    load("documents", write_file("small.csv", small))
    with django_assert_num_queries(2):
        aging_report(creditors=[creditor], as_of=AS_OF, by="debtor")
    lines = [small.splitlines()[0]] + [
        f"Y{i},C{i % 97},Deudor {i},2026-{1 + i % 11:02d}-15,{100 + i}" for i in range(600)
    ]
    load("documents", write_file("big.csv", "\n".join(lines) + "\n"))
    with django_assert_num_queries(2):
        aging_report(creditors=[creditor], as_of=AS_OF, by="debtor")


def test_rows_by_debtor_come_in_code_point_order_on_every_database(creditor, write_file, load):
    # Language-aware collations would put "á" next to "a" and "b" next to "B"; the report
    # keeps one order everywhere, Python's, whatever the database's collation.
    ids = ["b", "B", "a", "á", "Z", "10", "9", "ñ", "n"]
    lines = ["external_id,debtor_external_id,name,due_date,amount"] + [
        f"D{n},{debtor},Nombre {debtor},2026-10-01,{100 + n}" for n, debtor in enumerate(ids)
    ]
    load("documents", write_file("order.csv", "\n".join(lines) + "\n"))
    # A debtor whose only balance is an unapplied payment joins the rows from the credits.
    load("debtors", write_file("d.csv", "external_id,name\nA0,Solo un pago\n"))
    load(
        "payments",
        write_file("p.csv", "debtor_external_id,date,amount\nA0,2026-11-20,150\n"),
    )

    report = aging_report(creditors=[creditor], as_of=AS_OF, by="debtor")

    keys = [(row.key["debtor"], row.key["name"], row.currency) for row in report.rows]
    assert keys == sorted(keys)
    assert [key[0] for key in keys] == sorted([*ids, "A0"])
    assert report.rows[keys.index(("A0", "Solo un pago", "COP"))].credits == -15000
