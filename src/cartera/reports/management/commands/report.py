"""`cartera report …`: the reports from the command line.

    cartera report kpis [--as-of D] [--days 90] [--creditor C] [--format table|json]
    cartera report rollrates [--as-of D] [--months 12] [--creditor C] [--format table|json]
    cartera report provision [--as-of D] [--window 12] [--factor 1] [--creditor C] [--format …]
    cartera report forecast [--as-of D] [--creditor C] [--format table|json]
    cartera report snapshot --from D1 --to D2 [--creditor C] [--forecasts N]

Exit status 2 for wrong usage (an unknown creditor, a bad date or number), as every command.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_decimal
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from cartera.core.commandline import (
    cli_actor,
    future_note,
    is_future,
    iso_date,
    print_json,
    usage_error,
)
from cartera.core.money import exponent, format_number, from_minor
from cartera.portfolio.models import Creditor
from cartera.portfolio.queries import CreditorNotFound, creditor_resolve


def _positive(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            _("'%(text)s' is not a whole number") % {"text": text}
        ) from exc
    if value <= 0:
        raise argparse.ArgumentTypeError(_("'%(text)s': give a number above zero") % {"text": text})
    return value


def _factor(text: str) -> Decimal:
    import argparse

    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise argparse.ArgumentTypeError(
            _("'%(text)s' is not a number such as 1.1") % {"text": text}
        ) from exc
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(
            _("'%(text)s': the factor cannot be negative") % {"text": text}
        )
    return value


def money(value: int, currency: str, locale: str) -> str:
    places = exponent(currency)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(from_minor(value, currency), format=pattern, locale=locale)


class Command(BaseCommand):
    help = "Reports: KPIs, roll rates, provision, cash forecast; snapshots of past days."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="report", required=True)

        def common(name: str, text: str, formats: Sequence[str] = ("table", "json")) -> Any:
            command = sub.add_parser(name, help=text)
            command.add_argument("--as-of", type=iso_date, help="default: today")
            command.add_argument("--creditor", help="creditor code (default: every creditor)")
            command.add_argument("--format", choices=list(formats), default="table")
            command.add_argument("--locale", help="number format of the table")
            return command

        kpis = common("kpis", "DSO, countback DSO, best possible DSO, ADD, CEI, recovery rate")
        kpis.add_argument("--days", type=_positive, default=90, help="period in days (90)")

        rolls = common("rollrates", "roll rates of the 30-day buckets, month by month")
        rolls.add_argument("--months", type=_positive, default=12, help="months shown (12)")

        provision = common("provision", "IFRS 9 provision matrix from the roll rates")
        provision.add_argument(
            "--window", type=_positive, default=12, help="months of roll rates averaged (12)"
        )
        provision.add_argument(
            "--factor", type=_factor, default=Decimal(1), help="forward-looking factor (1)"
        )

        common("forecast", "expected collections of the next 13 weeks, and the back-test")

        snapshot = sub.add_parser("snapshot", help="rebuild the snapshots of past days")
        snapshot.add_argument("--from", dest="first", type=iso_date, required=True)
        snapshot.add_argument("--to", dest="last", type=iso_date, required=True)
        snapshot.add_argument("--creditor", help="creditor code (default: the only one)")
        snapshot.add_argument(
            "--forecasts", type=int, default=0, help="weekly forecasts to store, back from --to"
        )

    # -- shared ---------------------------------------------------------------------------------
    def _creditors(self, code: str | None) -> list[Creditor]:
        try:
            if code:
                return [creditor_resolve(code)]
            return list(Creditor.objects.order_by("code"))
        except CreditorNotFound as exc:
            raise usage_error(str(exc)) from exc

    @staticmethod
    def _today(creditors: list[Creditor]) -> datetime.date:
        if len(creditors) == 1:
            return timezone.now().astimezone(zoneinfo.ZoneInfo(creditors[0].timezone)).date()
        return timezone.localdate()

    def _table(self, header: list[str], rows: list[list[str]], text_columns: int = 1) -> None:
        table = [header, *rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        for record in table:
            cells = [
                cell.ljust(widths[i]) if i < text_columns else cell.rjust(widths[i])
                for i, cell in enumerate(record)
            ]
            self.stdout.write("  ".join(cells).rstrip())

    def handle(self, *args: Any, **options: Any) -> None:
        report = options["report"]
        if report == "snapshot":
            self._snapshot(options)
            return
        creditors = self._creditors(options["creditor"])
        today = self._today(creditors)
        options["as_of"] = options["as_of"] or today
        if is_future(options["as_of"], today) and report != "forecast":
            # On stderr: the figures (and their JSON) stay those of the date asked for.
            self.stderr.write(future_note(options["as_of"], today))
        locale = options["locale"] or (creditors[0].locale if creditors else "es_CO")
        if options["locale"]:
            from cartera.core.locales import validate_locale

            try:
                locale = validate_locale(options["locale"])
            except ValueError as exc:
                raise usage_error(str(exc)) from exc
        ids = [c.pk for c in creditors]
        getattr(self, f"_{report}")(ids, options, locale)

    # -- kpis -----------------------------------------------------------------------------------
    def _kpis(self, ids: list[int], options: dict[str, Any], locale: str) -> None:
        from cartera.reports.kpis import kpis_compute

        figures = kpis_compute(creditor_ids=ids, as_of=options["as_of"], days=options["days"])
        if options["format"] == "json":
            print_json([k.as_json() for k in figures])
            return
        start = options["as_of"] - datetime.timedelta(days=options["days"])
        self.stdout.write(
            _("KPIs as of %(date)s over %(days)s days (from %(start)s)")
            % {
                "date": options["as_of"].isoformat(),
                "days": options["days"],
                "start": start.isoformat(),
            }
        )
        if not figures:
            self.stdout.write(_("nothing was open or issued in that period"))
            return

        def show(value: Decimal | None, suffix: str = "") -> str:
            # The table is for reading: the locale's decimals, – when undefined (JSON: null).
            return "–" if value is None else f"{format_number(value, locale)}{suffix}"

        lines = [
            (_("AR at the start"), lambda k: money(k.ar_start, k.currency, locale)),
            (_("AR at the end"), lambda k: money(k.ar_end, k.currency, locale)),
            (_("current at the end"), lambda k: money(k.current_end, k.currency, locale)),
            (_("sales"), lambda k: money(k.sales, k.currency, locale)),
            (_("DSO (days)"), lambda k: show(k.dso)),
            (_("countback DSO (days)"), lambda k: show(k.dso_countback)),
            (_("best possible DSO (days)"), lambda k: show(k.best_possible_dso)),
            (
                _("average days delinquent"),
                lambda k: show(k.average_days_delinquent),
            ),
            (_("CEI"), lambda k: show(k.cei, " %")),
            (_("recovery rate"), lambda k: show(k.recovery_rate, " %")),
        ]
        self._table(
            ["", *[k.currency for k in figures]],
            [[label, *[value(k) for k in figures]] for label, value in lines],
        )

    # -- roll rates -----------------------------------------------------------------------------
    def _rollrates(self, ids: list[int], options: dict[str, Any], locale: str) -> None:
        from cartera.reports.rollrates import rollrates_compute

        report = rollrates_compute(
            creditor_ids=ids, as_of=options["as_of"], months=options["months"]
        )
        if options["format"] == "json":
            print_json(report.as_json())
            return
        self.stdout.write(
            _("Roll rates, month ends up to %(date)s") % {"date": options["as_of"].isoformat()}
        )
        if not report.currencies:
            self.stdout.write(
                _(
                    "no month-end snapshots yet: the daily run writes them (or cartera report "
                    "snapshot --from … --to …)"
                )
            )
            return
        for block in report.currencies:
            latest = block.months[-1]
            self.stdout.write("")
            self.stdout.write(
                _("%(currency)s: %(start)s → %(end)s (%% of each bucket's balance)")
                % {
                    "currency": block.currency,
                    "start": latest.start.isoformat(),
                    "end": latest.end.isoformat(),
                }
            )
            header = [_("bucket"), _("balance"), *[str(c.label) for c in report.columns]]
            rows = []
            for row in latest.rows:
                rows.append(
                    [
                        row.bucket,
                        money(row.balance, block.currency, locale),
                        *[show_percent(row.share(c.key), locale) for c in report.columns],
                    ]
                )
            self._table(header, rows)

    # -- provision ------------------------------------------------------------------------------
    def _provision(self, ids: list[int], options: dict[str, Any], locale: str) -> None:
        from cartera.reports.provisions import provision_compute

        report = provision_compute(
            creditor_ids=ids,
            as_of=options["as_of"],
            window=options["window"],
            factor=options["factor"],
        )
        if options["format"] == "json":
            print_json(report.as_json())
            return
        self.stdout.write(
            _(
                "Provision matrix as of %(date)s: roll rates averaged over %(window)s months "
                "(%(available)s available), forward-looking factor %(factor)s"
            )
            % {
                "date": options["as_of"].isoformat(),
                "window": report.window,
                "available": len(report.months_used),
                "factor": report.factor,
            }
        )
        for block in report.currencies:
            self.stdout.write("")
            self.stdout.write(block.currency)
            rows = [
                [
                    line.bucket,
                    money(line.balance, block.currency, locale),
                    show_percent(line.forward_rate, locale),
                    show_percent(line.loss_rate, locale),
                    money(line.expected_loss, block.currency, locale),
                ]
                for line in block.lines
            ]
            rows.append(
                [
                    "TOTAL",
                    money(block.balance, block.currency, locale),
                    "",
                    show_percent(block.loss_rate, locale),
                    money(block.expected_loss, block.currency, locale),
                ]
            )
            self._table(
                [_("bucket"), _("balance"), _("forward roll"), _("loss rate"), _("expected loss")],
                rows,
            )

    # -- forecast -------------------------------------------------------------------------------
    def _forecast(self, ids: list[int], options: dict[str, Any], locale: str) -> None:
        from cartera.reports.forecast import forecast_backtest, forecast_compute, forecast_stored

        # The forecast the daily run stored that day, else one made now from the ledger.
        forecast = forecast_stored(creditor_ids=ids, made_on=options["as_of"]) or forecast_compute(
            creditor_ids=ids, as_of=options["as_of"]
        )
        backtest = forecast_backtest(creditor_ids=ids, as_of=options["as_of"])
        if options["format"] == "json":
            from cartera.reports.exports import forecast_json

            print_json(forecast_json(forecast, backtest))
            return
        self.stdout.write(_("Cash forecast from %(date)s") % {"date": options["as_of"].isoformat()})
        for block in forecast.currencies:
            c = block.currency
            self.stdout.write("")
            self.stdout.write(c)
            rows = [
                [
                    str(w.number),
                    w.first.isoformat(),
                    w.last.isoformat(),
                    money(w.documents, c, locale),
                    money(w.promises, c, locale),
                    money(w.total, c, locale),
                ]
                for w in block.weeks
            ]
            rows.append(
                [
                    "",
                    "",
                    "TOTAL",
                    money(sum(w.documents for w in block.weeks), c, locale),
                    money(sum(w.promises for w in block.weeks), c, locale),
                    money(block.total, c, locale),
                ]
            )
            self._table(
                [_("week"), _("from"), _("until"), _("documents"), _("promises"), _("total")],
                rows,
                3,
            )
            self.stdout.write(
                _("past their expected date (not forecast): %(past)s; after week 13: %(beyond)s")
                % {
                    "past": money(block.past_expected, c, locale),
                    "beyond": money(block.beyond, c, locale),
                }
            )
        self.stdout.write("")
        if backtest.stored:
            title = _("Back-test of the forecast made on %(date)s (as stored that day)")
        else:
            title = _("Back-test of the forecast made on %(date)s (rebuilt from the ledger)")
        self.stdout.write(title % {"date": backtest.made_on.isoformat()})
        for bt in backtest.currencies:
            c = bt.currency
            rows = [
                [
                    str(w.number),
                    w.first.isoformat(),
                    money(w.forecast, c, locale),
                    money(w.actual, c, locale),
                    money(w.difference, c, locale),
                ]
                for w in bt.weeks
            ]
            self.stdout.write(c)
            self._table(
                [_("week"), _("from"), _("forecast"), _("actual"), _("difference")], rows, 2
            )

    # -- snapshot -------------------------------------------------------------------------------
    def _snapshot(self, options: dict[str, Any]) -> None:
        from cartera.reports.snapshots import snapshots_rebuild

        try:
            creditor = creditor_resolve(options["creditor"])
        except CreditorNotFound as exc:
            raise usage_error(str(exc)) from exc
        if options["last"] < options["first"]:
            raise usage_error(_("--to is before --from"))
        if options["forecasts"] < 0:
            raise usage_error(_("--forecasts cannot be negative"))
        result = snapshots_rebuild(
            creditor=creditor,
            first=options["first"],
            last=options["last"],
            actor=cli_actor(),
            forecasts=options["forecasts"],
        )
        self.stdout.write(
            _(
                "%(creditor)s: %(days)s days rebuilt (%(balance_rows)s balance rows, "
                "%(flow_rows)s flow rows), month ends %(month_ends)s, %(forecasts)s forecasts"
            )
            % {
                "creditor": creditor.code,
                "days": result.days,
                "balance_rows": f"{result.balance_rows:,}",
                "flow_rows": f"{result.flow_rows:,}",
                "month_ends": ", ".join(d.isoformat() for d in result.month_ends) or _("none"),
                "forecasts": len(result.forecasts),
            }
        )


def show_percent(value: Decimal | None, locale: str) -> str:
    """A fraction as a percentage in the locale's decimals (0.587 → 58,70 %); – when undefined."""
    return "–" if value is None else f"{format_number(value * 100, locale)} %"
