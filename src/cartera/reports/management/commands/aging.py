from __future__ import annotations

import csv
import datetime
import sys
import zoneinfo
from typing import Any

from babel.numbers import format_decimal
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from cartera.core.commandline import future_note, is_future, iso_date, print_json, usage_error
from cartera.core.csvsafe import safe_cell
from cartera.core.locales import validate_locale
from cartera.core.money import exponent, from_minor
from cartera.portfolio.models import Creditor
from cartera.portfolio.queries import CreditorNotFound, creditor_resolve
from cartera.reports.aging import AgingReport, AgingRow, aging_report, make_buckets


def _bounds(text: str) -> list[int]:
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() for part in parts):
        raise usage_error(
            _("--buckets '%(text)s': give increasing day counts separated by commas, e.g. 30,60,90")
            % {"text": text}
        )
    bounds = [int(part) for part in parts]
    try:
        make_buckets(bounds)
    except ValueError as exc:
        raise usage_error(f"--buckets: {exc}") from exc
    return bounds


def _label(key: str) -> str:
    """A key name (`creditor`, `debtor`, `name`) as the table shows it."""
    labels = {"creditor": _("creditor"), "debtor": _("debtor"), "name": _("name")}
    return labels.get(key, key)


class Command(BaseCommand):
    help = "The aging report: open balances at the end of a day, by days past due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=iso_date, help="default: today")
        parser.add_argument("--creditor", help="creditor code (default: every creditor)")
        parser.add_argument("--by", choices=["creditor", "debtor"], default="creditor")
        parser.add_argument("--buckets", help="upper bounds in days, e.g. 30,60,90,180,360")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
        parser.add_argument("--locale", help="number format of the table (default: creditor's)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["creditor"]:
                creditors = [creditor_resolve(options["creditor"])]
            else:
                creditors = list(Creditor.objects.order_by("code"))
        except CreditorNotFound as exc:
            raise usage_error(str(exc)) from exc
        today = self._today(creditors)
        as_of = options["as_of"] or today
        if is_future(as_of, today):
            self.stderr.write(future_note(as_of, today))
        bounds = _bounds(options["buckets"]) if options["buckets"] is not None else None
        if options["locale"]:
            try:
                options["locale"] = validate_locale(options["locale"])
            except ValueError as exc:
                raise usage_error(str(exc)) from exc
        report = aging_report(creditors=creditors, as_of=as_of, by=options["by"], bounds=bounds)
        if options["format"] == "json":
            print_json(report.as_json())
        elif options["format"] == "csv":
            self._write_csv(report)
        else:
            locale = options["locale"] or (creditors[0].locale if creditors else "es_CO")
            self._write_table(report, locale)

    @staticmethod
    def _today(creditors: list[Creditor]) -> datetime.date:
        if len(creditors) == 1:
            return timezone.now().astimezone(zoneinfo.ZoneInfo(creditors[0].timezone)).date()
        return timezone.localdate()

    def _write_csv(self, report: AgingReport) -> None:
        writer = csv.writer(sys.stdout)
        key_names = list(report.rows[0].key) if report.rows else [report.by]
        names = [b.name for b in report.buckets]
        writer.writerow([*key_names, "currency", *names, "credits", "total", "net", "documents"])
        for row in report.rows:
            data = row.as_json()
            key = data["key"]
            writer.writerow(
                [
                    *[safe_cell(key.get(k, "")) for k in key_names],
                    row.currency,
                    *[data["amounts"][n] for n in names],
                    data["credits"],
                    data["total"],
                    data["net"],
                    row.documents,
                ]
            )

    def _write_table(self, report: AgingReport, locale: str) -> None:
        names = [b.name for b in report.buckets]
        key_names = list(report.rows[0].key) if report.rows else [report.by]

        def money(value: int, currency: str) -> str:
            places = exponent(currency)
            pattern = "#,##0" + ("." + "0" * places if places else "")
            return format_decimal(from_minor(value, currency), format=pattern, locale=locale)

        def line(label: list[str], row: AgingRow) -> list[str]:
            return [
                *label,
                row.currency,
                *[money(value, row.currency) for value in row.values],
                money(row.credits, row.currency),
                money(row.total, row.currency),
                money(row.net, row.currency),
                f"{row.documents:,}",
            ]

        # Headers and labels are for reading: the CSV and JSON keep the English names.
        header = [
            *[_label(k) for k in key_names],
            _("currency"),
            *[_("current") if n == "current" else n for n in names],
            _("credits"),
            _("total"),
            _("net"),
            _("documents"),
        ]
        body = [line([str(v)[:40] for v in row.key.values()], row) for row in report.rows]
        totals = [line(["TOTAL", *[""] * (len(key_names) - 1)], t) for t in report.totals]
        self.stdout.write(
            _("Aging as of %(date)s by %(by)s")
            % {"date": report.as_of.isoformat(), "by": _label(report.by)}
        )
        if not body:
            self.stdout.write(_("nothing is open on that date"))
            return
        table = [header, *body, *totals]
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        text_columns = len(key_names) + 1
        for index, record in enumerate(table):
            if index == len(body) + 1:
                self.stdout.write("-" * (sum(widths) + 2 * (len(widths) - 1)))
            cells = [
                cell.ljust(widths[i]) if i < text_columns else cell.rjust(widths[i])
                for i, cell in enumerate(record)
            ]
            self.stdout.write("  ".join(cells))
