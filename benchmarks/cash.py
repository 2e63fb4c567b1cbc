"""Cash application benchmark: match a 100,000-line statement against 1,000,000 open documents.

    .venv/bin/python benchmarks/cash.py [--db postgres|sqlite] [--debtors 200000]
        [--documents 1000000] [--lines 100000] [--seed 11] [--out benchmarks/out]

A fresh database (PostgreSQL `cartera_bench_cash`, or an SQLite file under --out) is migrated;
one creditor's portfolio is written in bulk straight into it (debtors with payment references
and tax ids, open documents, known paying accounts); a statement CSV is generated whose lines
carry every kind of evidence (references, document numbers written loosely, tax ids, known
accounts, amounts short by a fee, amounts alone). Then, timed:

1. matching alone: `Matcher.load` and `Matcher.propose` for every line (what the 60 s target
   of issue 6 is about);
2. the whole `statement_import` of the file: parse, store the lines, match, record and apply
   the confident ones, audit.

The portfolio has no charge entries in the ledger (they do not take part in matching), so
`cartera check` is not meaningful on this database. Figures go to stdout and to a JSON file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_URL = "postgres://postgres@127.0.0.1:5432/"
PG_NAME = "cartera_bench_cash"


def log(message: str) -> None:
    sys.stderr.write(f"[{datetime.datetime.now():%H:%M:%S}] {message}\n")
    sys.stderr.flush()


def prepare_database(db: str, out: Path) -> str:
    """A fresh empty database; returns its DATABASE_URL."""
    if db == "sqlite":
        path = out / "cash-bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    with psycopg.connect(PG_URL + "postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_NAME}")
        admin.execute(f"CREATE DATABASE {PG_NAME}")
    return PG_URL + PG_NAME


def build_portfolio(args: argparse.Namespace) -> dict[str, Any]:
    """Debtors, open documents and known accounts, written with the bulk helpers."""
    from django.db import connection, transaction
    from django.utils import timezone
    from stdnum.co import nit

    from cartera.cash.models import KnownAccount
    from cartera.core.audit import Actor
    from cartera.core.bulk import ids_reserve, rows_insert
    from cartera.portfolio.identity import payment_reference
    from cartera.portfolio.models import Creditor, Debtor, Document
    from cartera.portfolio.services import creditor_create

    rng = random.Random(args.seed)
    creditor = creditor_create(
        code="BENCH", name="Bench S.A.S.", country="CO", currency="COP", actor=Actor.system()
    )
    now = timezone.now()
    started = time.perf_counter()
    with transaction.atomic():
        debtor_ids = ids_reserve(Debtor, args.debtors)
        debtors = []
        tax_ids = {}
        for index, pk in enumerate(debtor_ids):
            base = str(800_000_000 + index * 7)
            tax_ids[pk] = base + nit.calc_check_digit(base)
            debtors.append(
                (pk, creditor.pk, f"C{index:07d}", tax_ids[pk], "NIT", "company",
                 f"Cliente {index} S.A.S.", "CO", "", "", "", "[]", payment_reference(index + 1),
                 now, now)
            )  # fmt: skip
        rows_insert(
            Debtor,
            ("id", "creditor_id", "external_id", "tax_id", "tax_id_type", "kind", "name",
             "country", "region", "city", "timezone", "tags", "payment_reference",
             "created_at", "updated_at"),
            debtors,
        )  # fmt: skip
        del debtors
        document_ids = ids_reserve(Document, args.documents)
        documents = []
        owner: dict[int, int] = {}
        amount_of: dict[int, int] = {}
        number_of: dict[int, str] = {}
        reference_of: dict[int, str] = {}
        start = datetime.date(2025, 1, 1)
        for index, pk in enumerate(document_ids):
            debtor_id = debtor_ids[index % args.debtors]
            amount = rng.randrange(50_000, 5_000_000) * 100
            due = start + datetime.timedelta(days=rng.randrange(0, 640))
            number = f"FV-{index + 1:07d}"
            reference = payment_reference(args.debtors + index + 1)
            owner[pk], amount_of[pk], number_of[pk], reference_of[pk] = (
                debtor_id, amount, number, reference
            )  # fmt: skip
            documents.append(
                (pk, creditor.pk, debtor_id, "invoice", number, f"D{index:08d}",
                 due - datetime.timedelta(days=30), due, "COP", amount, amount, 0, "open",
                 reference, now, now)
            )  # fmt: skip
            if len(documents) == 200_000:
                _insert_documents(rows_insert, Document, documents)
                documents = []
        _insert_documents(rows_insert, Document, documents)
        del documents
        known = []
        account_of: dict[int, str] = {}
        for index, debtor_id in enumerate(debtor_ids):
            account = f"CO{index:020d}"
            account_of[debtor_id] = account
            known.append((creditor.pk, debtor_id, account, "", None, "bench", now))
        rows_insert(
            KnownAccount,
            ("creditor_id", "debtor_id", "account", "name", "learned_from_id", "created_by",
             "created_at"),
            known,
        )  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("portfolio_debtor", "portfolio_document", "cash_knownaccount"):
                cursor.execute(f"ANALYZE {table}")
    log(f"portfolio written in {time.perf_counter() - started:.1f} s")
    return {
        "creditor": Creditor.objects.get(pk=creditor.pk),
        "debtor_ids": debtor_ids,
        "document_ids": document_ids,
        "owner": owner,
        "amount_of": amount_of,
        "number_of": number_of,
        "reference_of": reference_of,
        "debtor_reference": {pk: payment_reference(i + 1) for i, pk in enumerate(debtor_ids)},
        "tax_ids": tax_ids,
        "account_of": account_of,
    }


def _insert_documents(rows_insert: Any, model: Any, rows: list[Any]) -> None:
    rows_insert(
        model,
        ("id", "creditor_id", "debtor_id", "kind", "number", "external_id", "issue_date",
         "due_date", "currency", "amount_minor", "balance_minor", "unmatched_prior_minor",
         "status", "payment_reference", "created_at", "updated_at"),
        rows,
    )  # fmt: skip


def _money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def write_statement(portfolio: dict[str, Any], args: argparse.Namespace, path: Path) -> Counter:
    """A CSV of `args.lines` credits, each with one planted kind of evidence."""
    rng = random.Random(args.seed + 1)
    documents = list(portfolio["document_ids"])
    rng.shuffle(documents)
    kinds = (
        ["debtor_reference"] * 25 + ["document_reference"] * 10 + ["document_number"] * 15
        + ["tax_id_pair"] * 10 + ["known_account"] * 10 + ["fee"] * 5 + ["amount_only"] * 10
        + ["nothing"] * 15
    )  # fmt: skip
    counts: Counter = Counter()
    rows = ["fecha,concepto,importe,cuenta ordenante"]
    by_debtor: dict[int, list[int]] = {}
    for pk in portfolio["document_ids"]:
        by_debtor.setdefault(portfolio["owner"][pk], []).append(pk)
    for index, doc in enumerate(documents[: args.lines]):
        kind = rng.choice(kinds)
        debtor = portfolio["owner"][doc]
        amount = portfolio["amount_of"][doc]
        account = ""
        day = f"2026-11-{1 + index % 28:02d}"
        if kind == "debtor_reference":
            text = f"PAGO REF {portfolio['debtor_reference'][debtor]}"
        elif kind == "document_reference":
            text = f"PSE {portfolio['reference_of'][doc]} BANCO"
        elif kind == "document_number":
            number = portfolio["number_of"][doc]
            text = f"ABONO FACTURA {number.replace('-', ' ').lower().replace('fv 0', 'fv ')}"
        elif kind == "tax_id_pair":
            others = [pk for pk in by_debtor[debtor] if pk != doc][:1]
            if others:
                amount += portfolio["amount_of"][others[0]]
            text = f"TRANSFERENCIA NIT {portfolio['tax_ids'][debtor]}"
        elif kind == "known_account" and debtor in portfolio["account_of"]:
            account = portfolio["account_of"][debtor]
            text = "TRANSFERENCIA RECIBIDA"
        elif kind == "fee":
            text = f"PAGO {portfolio['debtor_reference'][debtor]}"
            amount -= amount // 200  # 0.5 % kept by the bank
        elif kind == "amount_only":
            text = "CONSIGNACION EN EFECTIVO"
        else:
            kind = "nothing"
            text = f"DEPOSITO {rng.randrange(10**6)}"
            amount = rng.randrange(1000, 10**7) * 100 + 37
        counts[kind] += 1
        rows.append(f'{day},"{text} L{index}",{_money(amount)},{account}')
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--debtors", type=int, default=200_000)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    url = prepare_database(args.db, args.out)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CARTERA_HOME", str(args.out / "cash-home"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "cartera.settings"
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    log(f"migrating {url}")
    call_command("migrate", verbosity=0)
    log(f"writing {args.debtors:,} debtors and {args.documents:,} documents")
    portfolio = build_portfolio(args)
    statement = args.out / f"cash-statement-{args.lines}.csv"
    planted = write_statement(portfolio, args, statement)
    log(f"statement of {args.lines:,} lines written: {dict(planted)}")

    from django.db import connection, transaction

    from cartera.cash.matching import Matcher
    from cartera.cash.parsers import read_statement
    from cartera.cash.services import _Pending, statement_import
    from cartera.core.audit import Actor

    creditor = portfolio["creditor"]
    figures: dict[str, Any] = {}
    started = time.perf_counter()
    parsed = read_statement(statement, default_currency="COP", locale=creditor.locale)
    figures["parse_seconds"] = round(time.perf_counter() - started, 2)
    lines = parsed.sections[0].lines
    items = [_Pending(i, line).to_match() for i, line in enumerate(lines)]

    with transaction.atomic():
        started = time.perf_counter()
        matcher = Matcher(creditor)
        matcher.load(items)
        loaded = time.perf_counter() - started
        confident = 0
        for item in items:
            proposals = matcher.propose(item)
            if proposals and proposals[0].confidence >= 90:
                confident += 1
                matcher.consume(proposals[0], item)
        figures["match_load_seconds"] = round(loaded, 2)
        figures["match_seconds"] = round(time.perf_counter() - started, 2)
        figures["match_queries"] = matcher.queries
        figures["match_query_seconds"] = round(matcher.query_seconds, 2)
        figures["match_confident"] = confident
        log(f"matching alone: {figures['match_seconds']} s ({loaded:.1f} s loading)")

    started = time.perf_counter()
    result = statement_import(
        creditor=creditor, path=statement, actor=Actor.system("bench"), bank_account="Bench"
    )
    figures["import_seconds"] = round(time.perf_counter() - started, 2)
    figures["import"] = {
        key: result.as_json()[key]
        for key in ("lines", "credits", "applied", "waiting", "duplicates")
    }
    log(f"whole import: {figures['import_seconds']} s, {figures['import']}")
    started = time.perf_counter()
    again = statement_import(
        creditor=creditor, path=statement, actor=Actor.system("bench"), bank_account="Bench"
    )
    figures["reimport_seconds"] = round(time.perf_counter() - started, 2)
    figures["reimport_duplicates"] = again.duplicates
    report = {
        "benchmark": "cash",
        "database": connection.vendor,
        "debtors": args.debtors,
        "documents": args.documents,
        "lines": args.lines,
        "planted": dict(planted),
        "figures": figures,
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "when": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    out = args.out / f"cash-{connection.vendor}-{args.lines}x{args.documents}.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
