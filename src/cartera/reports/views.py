"""The report pages: dashboard, aging, roll rates, provision, forecast, productivity, runs.

Every page is scoped to the creditors the user may see (another creditor's id answers 404),
reads one creditor at a time, shows each currency apart, and exports to XLSX, CSV and PDF
with `?export=xlsx|csv|pdf`. Reads go through the report modules (set-based queries); the
number of queries of a page does not grow with the portfolio.
"""

from __future__ import annotations

import datetime
import math
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _

from cartera.core.money import format_minor, format_number
from cartera.portfolio.models import Creditor
from cartera.portfolio.queries import creditors_visible_to
from cartera.reports import charts
from cartera.reports.aging import aging_report, make_buckets
from cartera.reports.exports import FORMATS, Col, Money, Sheet, respond
from cartera.reports.queries import BUCKETS, CREDIT_BUCKET, DIMENSIONS, AgingLine
from cartera.workdesk.access import VIEW_TEAM, permission_required

PAGE_SIZE = 50
# Rows an export of a drill-down holds at most (the page shows 50 at a time).
EXPORT_ROWS = 100_000


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The visible creditors with their aging today: two queries whatever the portfolio."""
    creditors = list(creditors_visible_to(request.user).order_by("code"))
    as_of = timezone.localdate()
    report = aging_report(creditors=creditors, as_of=as_of)
    by_code: dict[str, list[dict[str, object]]] = {}
    locale_of = {c.code: c.locale for c in creditors}
    for row in report.rows:
        code = row.key["creditor"]
        locale = locale_of[code]
        by_code.setdefault(code, []).append(
            {
                "currency": row.currency,
                "amounts": [
                    format_minor(row.amounts[b.name], row.currency, locale) for b in report.buckets
                ],
                "total": format_minor(row.total, row.currency, locale),
                "credits": format_minor(row.credits, row.currency, locale),
                "net": format_minor(row.net, row.currency, locale),
                "documents": row.documents,
            }
        )
    context = {
        "blocks": [{"creditor": c, "rows": by_code.get(c.code, [])} for c in creditors],
        "bucket_names": [b.name for b in make_buckets()],
        "as_of_display": format_date(
            as_of, format="long", locale=to_locale(get_language() or "es")
        ),
    }
    return render(request, "cartera/home.html", context)


# --- what every report page shares -------------------------------------------------------------


@dataclass
class Scope:
    """The creditor, date, currency and period a page reports on."""

    creditors: list[Creditor]
    creditor: Creditor
    as_of: datetime.date
    currency: str
    currencies: list[str]
    days: int
    page: int

    @property
    def ids(self) -> list[int]:
        return [self.creditor.pk]

    @property
    def locale(self) -> str:
        return self.creditor.locale

    @property
    def start(self) -> datetime.date:
        return self.as_of - datetime.timedelta(days=self.days)

    def query(self, **extra: Any) -> str:
        """The page's parameters as a query string, with `extra` changed."""
        params: dict[str, Any] = {
            "creditor": self.creditor.pk,
            "as_of": self.as_of.isoformat(),
            "currency": self.currency,
            "days": self.days,
        }
        params.update(extra)
        return urlencode({k: v for k, v in params.items() if v is not None and v != ""})

    def money(self, minor: int) -> Money:
        return Money(minor, self.currency)


def _creditor_today(creditor: Creditor) -> datetime.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(creditor.timezone)).date()


def _int(value: Any, default: int, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return max(low, min(high, number))


def _count_param(
    request: HttpRequest, name: str, label: str, default: int, low: int, high: int
) -> int:
    """A whole number from the query, within [low, high]; one that is not (days=0, abc) is
    replaced, and the page says so and by what."""
    text = request.GET.get(name)
    number = _int(text, default, low, high)
    if text and text.strip() != str(number):
        messages.warning(
            request,
            _("“%(text)s” is not a number of %(what)s from %(low)s to %(high)s: showing %(n)s.")
            % {"text": text, "what": label, "low": low, "high": high, "n": number},
        )
    return number


def _scope(request: HttpRequest, *, default_days: int = 90) -> Scope:
    creditors = list(creditors_visible_to(request.user).order_by("code"))
    if not creditors:
        raise Http404(_("You do not have access to any creditor yet."))
    wanted = request.GET.get("creditor")
    creditor = creditors[0]
    if wanted:
        try:
            creditor = next(c for c in creditors if c.pk == int(wanted))
        except (StopIteration, ValueError) as exc:
            raise Http404(_("No such creditor")) from exc
    today = as_of = _creditor_today(creditor)
    text = request.GET.get("as_of")
    if text:
        try:
            as_of = datetime.date.fromisoformat(text)
        except ValueError:
            messages.error(
                request,
                _("“%(text)s” is not a date as YYYY-MM-DD: showing today.") % {"text": text},
            )
        # Tomorrow is today somewhere else (a date carried over from a creditor in another
        # time zone): only a date past that is in the future.
        if as_of > today + datetime.timedelta(days=1):
            # A future date's figures would only repeat today's balances as if time had passed.
            messages.warning(
                request,
                _("%(date)s has not come yet for this creditor: showing today, %(today)s.")
                % {"date": as_of.isoformat(), "today": today.isoformat()},
            )
            as_of = today
    currency_text = request.GET.get("currency")
    # The creditor's currencies (the base one first), for the currency switch.
    currencies = sorted(
        _currencies_of(creditor) | {creditor.currency},
        key=lambda c: (c != creditor.currency, c),
    )
    currency = currency_text or creditor.currency
    if currency not in currencies:
        messages.warning(
            request,
            _("%(creditor)s has nothing in %(currency)s: showing %(base)s.")
            % {"creditor": creditor.name, "currency": currency, "base": creditor.currency},
        )
        currency = creditor.currency
    return Scope(
        creditors=creditors,
        creditor=creditor,
        as_of=as_of,
        currency=currency,
        currencies=currencies,
        days=_count_param(request, "days", _("days"), default_days, 1, 3650),
        page=_int(request.GET.get("page"), 1, 1, 1_000_000),
    )


def _currencies_of(creditor: Creditor) -> set[str]:
    """The currencies of the latest snapshot (one indexed read), or of the documents when the
    creditor has none yet (a small installation: no run yet)."""
    from cartera.portfolio.models import Document
    from cartera.reports.models import DailyBalance, SnapshotDay

    latest = (
        SnapshotDay.objects.filter(creditor=creditor)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )
    if latest is not None:
        return set(
            DailyBalance.objects.filter(creditor=creditor, day=latest)
            .values_list("currency", flat=True)
            .distinct()
        )
    return set(
        Document.objects.filter(creditor=creditor).values_list("currency", flat=True).distinct()
    )


def _date_param(request: HttpRequest, name: str, default: datetime.date) -> datetime.date:
    try:
        return datetime.date.fromisoformat(request.GET.get(name) or "")
    except ValueError:
        return default


def _kind_labels() -> dict[str, str]:
    from cartera.portfolio.models import DocumentKind

    return {value: str(label) for value, label in DocumentKind.choices}


def _kind_label(kind: str) -> str:
    return _kind_labels().get(kind, kind)


def _export_format(request: HttpRequest) -> str | None:
    fmt = request.GET.get("export")
    return fmt if fmt in FORMATS else None


def _page(
    request: HttpRequest, template: str, scope: Scope, section: str, **context: Any
) -> HttpResponse:
    wanted = request.GET.copy()
    for name in ("export", "page"):
        wanted.pop(name, None)
    context.update(
        {
            "scope": scope,
            "section": section,
            "export_query": wanted.urlencode(),
            "base_query": scope.query(),
            "buckets": [_bucket_name(i) for i in range(len(BUCKETS))],
        }
    )
    return render(request, template, context)


def _bucket_name(index: int) -> str:
    if index == CREDIT_BUCKET:
        return _("credits")
    return _("current") if index == 0 else BUCKETS[index].name


def _pages(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


def _day_label(day: datetime.date) -> str:
    return format_date(day, format="MMM yy", locale=to_locale(get_language() or "es"))


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _subtitle(scope: Scope) -> str:
    return f"{scope.creditor.name} · {scope.currency} · {scope.as_of.isoformat()}"


# --- dashboard ---------------------------------------------------------------------------------


@permission_required(VIEW_TEAM)
def dashboard(request: HttpRequest) -> HttpResponse:
    from cartera.reports.kpis import kpis_series, month_ends_before
    from cartera.reports.productivity import promise_kept_rate, right_party_rate
    from cartera.reports.queries import bucket_totals

    scope = _scope(request)
    points = month_ends_before(scope.as_of, 12)
    series = kpis_series(creditor_ids=scope.ids, points=points, days=scope.days)
    mine = [next((k for k in series[p] if k.currency == scope.currency), None) for p in points]
    kpis = mine[-1]
    totals = bucket_totals(scope.ids, [scope.as_of])[scope.as_of].get(scope.currency)
    first = scope.start + datetime.timedelta(days=1)
    promises = next(
        (
            p
            for p in promise_kept_rate(creditor_ids=scope.ids, first=first, last=scope.as_of)
            if p.currency == scope.currency
        ),
        None,
    )
    contacts, _per_kind = right_party_rate(
        creditors=[scope.creditor], first=first, last=scope.as_of
    )
    labels = [_day_label(p) for p in points]

    def values(attr: str) -> list[Decimal | None]:
        return [getattr(k, attr) if k else None for k in mine]

    def amounts(attr: str) -> list[int | None]:
        return [getattr(k, attr) if k else None for k in mine]

    fmt = _export_format(request)
    if fmt:
        sheet = Sheet(
            _("KPIs"),
            [
                Col(_("Date")),
                Col(_("AR at the start"), "money"),
                Col(_("AR at the end"), "money"),
                Col(_("Current at the end"), "money"),
                Col(_("Sales"), "money"),
                Col(_("DSO"), "days"),
                Col(_("Countback DSO"), "days"),
                Col(_("Best possible DSO"), "days"),
                Col(_("Average days delinquent"), "days"),
                Col(_("CEI"), "percent"),
                Col(_("Recovery rate"), "percent"),
            ],
            notes=[_("Period: %(days)s days before each date.") % {"days": scope.days}],
        )
        for point, k in zip(points, mine, strict=True):
            if k is None:
                continue
            sheet.rows.append(
                [
                    point,
                    scope.money(k.ar_start),
                    scope.money(k.ar_end),
                    scope.money(k.current_end),
                    scope.money(k.sales),
                    k.dso,
                    k.dso_countback,
                    k.best_possible_dso,
                    k.average_days_delinquent,
                    k.cei,
                    k.recovery_rate,
                ]
            )
        sheet.columns[0] = Col(_("Date"), "date")
        return respond(
            [sheet],
            fmt=fmt,
            name="kpis",
            title=_("Receivables KPIs"),
            subtitle=_subtitle(scope),
            locale=scope.locale,
        )
    money_format = lambda v: format_minor(int(v), scope.currency, scope.locale)  # noqa: E731
    tiles = []
    if kpis is not None:
        tiles = [
            {
                # CEI starts from it: shown beside the figures it explains.
                "label": _("AR at the start"),
                "value": format_minor(kpis.ar_start, scope.currency, scope.locale),
                "spark": charts.sparkline(amounts("ar_start"), title=_("AR at the start")),
            },
            {
                "label": _("AR at the end"),
                "value": format_minor(kpis.ar_end, scope.currency, scope.locale),
                "spark": charts.sparkline(amounts("ar_end"), title=_("AR at the end")),
                "link": "ar_end",
            },
            {
                "label": _("Current at the end"),
                "value": format_minor(kpis.current_end, scope.currency, scope.locale),
                "spark": charts.sparkline(amounts("current_end"), title=_("Current")),
                "link": "current_end",
            },
            {
                "label": _("Sales in the period"),
                "value": format_minor(kpis.sales, scope.currency, scope.locale),
                "spark": charts.sparkline(amounts("sales"), title=_("Sales")),
                "link": "sales",
            },
            {
                "label": _("Overdue at the start"),
                "value": format_minor(kpis.overdue_start, scope.currency, scope.locale),
                "spark": charts.sparkline(amounts("overdue_start"), title=_("Overdue")),
                "link": "overdue_start",
            },
            {
                "label": _("DSO"),
                "value": _days(kpis.dso, scope),
                "spark": charts.sparkline(values("dso"), title=_("DSO")),
            },
            {
                "label": _("Countback DSO"),
                "value": _days(kpis.dso_countback, scope),
                "spark": charts.sparkline(values("dso_countback"), title=_("Countback DSO")),
            },
            {
                "label": _("Best possible DSO"),
                "value": _days(kpis.best_possible_dso, scope),
                "spark": charts.sparkline(values("best_possible_dso"), title=_("Best possible")),
            },
            {
                "label": _("Average days delinquent"),
                "value": _days(kpis.average_days_delinquent, scope),
                "spark": charts.sparkline(
                    [k.average_days_delinquent if k else None for k in mine], title=_("ADD")
                ),
            },
            {
                "label": _("CEI"),
                "value": _percent(kpis.cei, scope),
                "spark": charts.sparkline(values("cei"), title=_("CEI")),
            },
            {
                "label": _("Recovery rate"),
                "value": _percent(kpis.recovery_rate, scope),
                "spark": charts.sparkline(values("recovery_rate"), title=_("Recovery rate")),
                "link": "recovered",
            },
        ]
    dso_chart = charts.line_chart(
        labels=labels,
        series=[
            charts.Series(_("DSO"), [_float(v) for v in values("dso")]),
            charts.Series(_("Countback DSO"), [_float(v) for v in values("dso_countback")]),
            charts.Series(_("Best possible DSO"), [_float(v) for v in values("best_possible_dso")]),
        ],
        title=_("Days sales outstanding, month ends"),
        value_format=lambda v: format_number(v, scope.locale, 1),
    )
    rates_chart = charts.line_chart(
        labels=labels,
        series=[
            charts.Series(_("CEI"), [_float(v) for v in values("cei")]),
            charts.Series(_("Recovery rate"), [_float(v) for v in values("recovery_rate")]),
        ],
        title=_("Collection effectiveness and recovery (%)"),
        value_format=lambda v: f"{format_number(v, scope.locale, 1)} %",
    )
    ar_chart = charts.line_chart(
        labels=labels,
        series=[
            charts.Series(_("AR at the end"), amounts("ar_end")),
            charts.Series(_("Current at the end"), amounts("current_end")),
        ],
        title=_("Receivables, month ends"),
        value_format=lambda v: _compact(v, scope),
    )
    aging_chart = None
    aging = []
    if totals is not None:
        aging = [
            {"index": i, "name": _bucket_name(i), "amount": totals.amounts[i]}
            for i in range(CREDIT_BUCKET + 1)
        ]
        aging_chart = charts.bar_chart(
            labels=[_bucket_name(i) for i in range(CREDIT_BUCKET)],
            series=[charts.Series(_("Balance"), totals.amounts[:CREDIT_BUCKET])],
            title=_("Aging at the end of the day"),
            value_format=lambda v: _compact(v, scope),
        )
    return _page(
        request,
        "reports/dashboard.html",
        scope,
        "dashboard",
        kpis=kpis,
        tiles=tiles,
        dso_chart=dso_chart,
        rates_chart=rates_chart,
        ar_chart=ar_chart,
        aging_chart=aging_chart,
        aging=aging,
        promises=promises,
        contacts=contacts,
        money_format=money_format,
        first=first,
    )


def _days(value: Decimal | None, scope: Scope) -> str:
    return "–" if value is None else format_number(value, scope.locale)


def _percent(value: Decimal | None, scope: Scope) -> str:
    return "–" if value is None else f"{format_number(value, scope.locale)} %"


def _compact(value: float | int | Decimal, scope: Scope) -> str:
    from babel.numbers import format_compact_decimal

    from cartera.core.money import from_minor

    # Compact forms are words ("10 mil M", "10B"): in the page's language, with the
    # creditor's country's separators when that language is the country's.
    language = (get_language() or "es").split("-")[0]
    locale = scope.locale if scope.locale.split("_")[0] == language else language
    return format_compact_decimal(
        from_minor(int(value), scope.currency), locale=locale, fraction_digits=1
    )


# --- drill-down from the KPIs and the aging ---------------------------------------------------


FIGURES = {
    "ar_end": "open",
    "current_end": "current",
    "overdue_start": "overdue",
    "sales": "sales",
    "recovered": "recovered",
}


@permission_required(VIEW_TEAM)
def documents(request: HttpRequest) -> HttpResponse:
    """The documents behind a figure: open at a date (all, current, overdue, a bucket, one
    collector's…), issued in the period (sales), or paid in the period while overdue."""
    from cartera.reports.queries import (
        open_documents,
        recovered_documents,
        sales_documents,
    )

    scope = _scope(request)
    figure = request.GET.get("figure", "open")
    if figure in FIGURES:
        figure = FIGURES[figure]
    by = request.GET.get("by") or None
    if by is not None and by not in DIMENSIONS:
        raise Http404(_("Unknown grouping"))
    key_text = request.GET.get("key", "")
    key = None if key_text in ("", "none") else _int(key_text, 0, 0, 2**62)
    bucket_text = request.GET.get("bucket", "")
    first = scope.start + datetime.timedelta(days=1)
    amount_label = _("Open balance")
    fmt = _export_format(request)
    page, size = (1, EXPORT_ROWS) if fmt else (scope.page, PAGE_SIZE)
    as_of = scope.as_of
    if figure == "sales":
        rows, total, whole = sales_documents(
            creditor_ids=scope.ids,
            first=first,
            last=scope.as_of,
            currency=scope.currency,
            page=page,
            page_size=size,
        )
        title = _("Sales from %(first)s to %(last)s") % {"first": first, "last": scope.as_of}
        amount_label = _("Amount issued")
    elif figure == "applied":
        # Money applied in a span of days (a week of the forecast's back-test).
        applied_first = _date_param(request, "from", first)
        applied_last = _date_param(request, "to", scope.as_of)
        rows, total, whole = recovered_documents(
            creditor_ids=scope.ids,
            first=applied_first,
            last=applied_last,
            due_before=None,
            currency=scope.currency,
            page=page,
            page_size=size,
        )
        title = _("Money applied from %(first)s to %(last)s") % {
            "first": applied_first,
            "last": applied_last,
        }
        amount_label = _("Applied")
    elif figure == "recovered":
        rows, total, whole = recovered_documents(
            creditor_ids=scope.ids,
            first=first,
            last=scope.as_of,
            due_before=scope.start,
            currency=scope.currency,
            page=page,
            page_size=size,
        )
        title = _("Money applied from %(first)s to %(last)s to documents overdue on %(start)s") % {
            "first": first,
            "last": scope.as_of,
            "start": scope.start,
        }
        amount_label = _("Applied")
    else:
        if figure == "current":
            buckets: list[int] | None = [0]
        elif figure == "overdue":
            buckets = list(range(1, CREDIT_BUCKET))
            as_of = scope.start
        elif bucket_text.isdigit() and int(bucket_text) <= CREDIT_BUCKET:
            buckets = [int(bucket_text)]
        else:
            buckets = None
        figure = figure if figure in ("open", "current", "overdue") else "open"
        rows, total, whole = open_documents(
            creditor_ids=scope.ids,
            as_of=as_of,
            currency=scope.currency,
            buckets=buckets,
            by=by,
            key=key,
            page=page,
            page_size=size,
        )
        names = {
            "open": _("Documents open at the end of %(date)s"),
            "current": _("Documents not yet due at the end of %(date)s"),
            "overdue": _("Documents overdue at the end of %(date)s"),
        }
        title = names[figure] % {"date": as_of}
        if buckets is not None and len(buckets) == 1:
            title += f" · {_bucket_name(buckets[0])}"
        if by:
            from cartera.reports.queries import dimension_labels

            label = dimension_labels(by, [key]).get(key) or _nobody(by)
            title += f" · {label}"
    show_dpd = figure in ("open", "current", "overdue")
    if fmt:
        # The export has the page's columns: days past due only for balances at a date.
        columns = [Col(_("Document")), Col(_("Kind")), Col(_("Debtor")), Col(_("Due date"), "date")]
        if show_dpd:
            columns.append(Col(_("Days past due"), "int"))
        sheet = Sheet(title, [*columns, Col(amount_label, "money")])
        # An export holds every row (up to EXPORT_ROWS), not a page.
        sheet.rows = [
            [
                r.number,
                _kind_label(r.kind),
                r.debtor,
                r.due_date,
                *([r.days_past_due] if show_dpd else []),
                scope.money(r.amount),
            ]
            for r in rows
        ]
        return respond(
            [sheet],
            fmt=fmt,
            name="documents",
            title=title,
            subtitle=_subtitle(scope),
            locale=scope.locale,
        )
    extra = {
        "figure": request.GET.get("figure", ""),
        "by": by or "",
        "key": key_text,
        "bucket": bucket_text,
        "from": request.GET.get("from", ""),
        "to": request.GET.get("to", ""),
    }
    return _page(
        request,
        "reports/documents.html",
        scope,
        "dashboard",
        title=title,
        rows=rows,
        total=total,
        whole=whole,
        pages=_pages(total),
        amount_label=amount_label,
        page_query=scope.query(**extra),
        show_dpd=show_dpd,
        kinds=_kind_labels(),
    )


# --- aging -------------------------------------------------------------------------------------


@permission_required(VIEW_TEAM)
def aging(request: HttpRequest) -> HttpResponse:
    from cartera.reports.queries import aging_by, dimension_labels

    scope = _scope(request)
    by = request.GET.get("by") or "collector"
    if by not in DIMENSIONS:
        raise Http404(_("Unknown grouping"))
    lines, from_snapshot = aging_by(scope.ids, scope.as_of, by)
    lines = [line for line in lines if line.currency == scope.currency]
    labels = dimension_labels(by, [line.key for line in lines])
    rows: list[dict[str, Any]] = [
        {
            "key": "none" if line.key is None else line.key,
            "label": labels.get(line.key) or _nobody(by),
            "line": line,
        }
        for line in lines
    ]
    total = [sum(line.amounts[i] for line in lines) for i in range(CREDIT_BUCKET + 1)]
    fmt = _export_format(request)
    if fmt:
        sheet = Sheet(
            _("Aging by %(by)s") % {"by": _dimension_name(by)},
            [Col(_dimension_name(by))]
            + [Col(_bucket_name(i), "money") for i in range(CREDIT_BUCKET + 1)]
            + [Col(_("Total"), "money"), Col(_("Net"), "money"), Col(_("Documents"), "int")],
        )
        for row in rows:
            aging_line: AgingLine = row["line"]
            cells: list[Any] = [row["label"]]
            cells += [scope.money(v) for v in aging_line.amounts]
            cells += [
                scope.money(aging_line.total),
                scope.money(aging_line.net),
                aging_line.documents,
            ]
            sheet.rows.append(cells)
        if rows:  # the page's total line, in the export too
            sheet.rows.append(
                [
                    _("Total"),
                    *[scope.money(v) for v in total],
                    scope.money(sum(total[:CREDIT_BUCKET])),
                    scope.money(sum(total)),
                    sum(row["line"].documents for row in rows),
                ]
            )
        return respond(
            [sheet],
            fmt=fmt,
            name=f"aging-{by}",
            title=_("Aging"),
            subtitle=_subtitle(scope),
            locale=scope.locale,
        )
    chart = charts.bar_chart(
        labels=[_bucket_name(i) for i in range(CREDIT_BUCKET)],
        series=[charts.Series(_("Balance"), total[:CREDIT_BUCKET])],
        title=_("Aging at the end of the day"),
        value_format=lambda v: _compact(v, scope),
    )
    return _page(
        request,
        "reports/aging.html",
        scope,
        "aging",
        by=by,
        dimensions=[(d, _dimension_name(d)) for d in DIMENSIONS],
        rows=rows,
        total=total,
        total_positive=sum(total[:CREDIT_BUCKET]),
        total_net=sum(total),
        from_snapshot=from_snapshot,
        chart=chart,
        by_query=scope.query(by=by),
    )


def _nobody(by: str) -> str:
    """The row of accounts without a collector (or a segment, a stage), named alike on every
    report."""
    return _("nobody (unassigned accounts)") if by == "collector" else _("none")


def _dimension_name(by: str) -> str:
    return {
        "creditor": _("Creditor"),
        "collector": _("Collector"),
        "segment": _("Segment"),
        "stage": _("Stage"),
    }[by]


# --- roll rates and provision -----------------------------------------------------------------


@permission_required(VIEW_TEAM)
def rollrates(request: HttpRequest) -> HttpResponse:
    from cartera.reports.rollrates import SUMMARY, rollrates_compute

    scope = _scope(request)
    months = _count_param(request, "months", _("months"), 12, 1, 36)
    report = rollrates_compute(creditor_ids=scope.ids, as_of=scope.as_of, months=months)
    block = next((c for c in report.currencies if c.currency == scope.currency), None)
    chosen = None
    if block is not None:
        wanted = request.GET.get("month")
        chosen = next((m for m in block.months if m.start.isoformat() == wanted), block.months[-1])
    fmt = _export_format(request)
    if fmt:
        sheets = []
        for month in block.months if block else []:
            sheet = Sheet(
                f"{month.start.isoformat()}",
                [Col(_("Bucket")), Col(_("Balance"), "money"), Col(_("Accounts"), "int")]
                + [Col(str(c.label), "percent") for c in SUMMARY]
                + [
                    Col(_("to %(bucket)s") % {"bucket": _bucket_name(i)}, "percent")
                    for i in range(len(BUCKETS))
                ],
                notes=[_("From %(start)s to %(end)s.") % {"start": month.start, "end": month.end}],
            )
            for row in month.rows:
                sheet.rows.append(
                    [_bucket_name(row.index), scope.money(row.balance), row.accounts]
                    + [_pct(row.share(c.key)) for c in SUMMARY]
                    + [_pct(row.share(f"b{i}")) for i in range(len(BUCKETS))]
                )
            sheets.append(sheet)
        if not sheets:
            sheets = [Sheet(_("Roll rates"), [Col(_("Bucket"))])]
        return respond(
            sheets,
            fmt=fmt,
            name="rollrates",
            title=_("Roll rates"),
            subtitle=_subtitle(scope),
            locale=scope.locale,
        )
    chart = None
    forward_table = []
    if block is not None:
        labels = [_day_label(m.start) for m in block.months]
        chart = charts.line_chart(
            labels=labels,
            series=[
                charts.Series(
                    _("%(bucket)s → later") % {"bucket": _bucket_name(i)},
                    [_float(_pct(m.rows[i].forward())) for m in block.months],
                )
                for i in range(4)
            ],
            title=_("Forward roll rates by month (%)"),
            value_format=lambda v: f"{format_number(v, scope.locale, 1)} %",
        )
        forward_table = [
            {"month": m, "rates": [m.rows[i].forward() for i in range(len(BUCKETS))]}
            for m in block.months
        ]
    matrix = []
    if chosen is not None:
        matrix = [
            {
                "row": row,
                "summary": [(c.key, row.share(c.key)) for c in SUMMARY],
                "to": [row.share("paid")]
                + [row.share(f"b{i}") for i in range(len(BUCKETS))]
                + [row.share("written_off")],
            }
            for row in chosen.rows
        ]
    return _page(
        request,
        "reports/rollrates.html",
        scope,
        "rollrates",
        data=block,
        month=chosen,
        matrix=matrix,
        summary=SUMMARY,
        chart=chart,
        forward_table=forward_table,
        months=months,
        bucket_indexes=list(range(len(BUCKETS))),
    )


def _pct(value: Decimal | None) -> Decimal | None:
    return None if value is None else value * 100


@permission_required(VIEW_TEAM)
def roll_accounts_view(request: HttpRequest) -> HttpResponse:
    from cartera.reports.rollrates import SUMMARY, roll_accounts

    scope = _scope(request)
    try:
        start = datetime.date.fromisoformat(request.GET.get("month", ""))
    except ValueError as exc:
        raise Http404(_("Choose a month of the roll-rate matrix")) from exc
    from_bucket = _int(request.GET.get("from"), 0, 0, len(BUCKETS) - 1)
    state = request.GET.get("state", "later")
    names = {c.key: str(c.label) for c in SUMMARY}
    if state.startswith("b") and state[1:].isdigit() and int(state[1:]) < len(BUCKETS):
        state_label = _("in %(bucket)s") % {"bucket": _bucket_name(int(state[1:]))}
    elif state in names:
        state_label = names[state]
    else:
        raise Http404(_("Unknown roll state"))
    fmt = _export_format(request)
    rows, total = roll_accounts(
        creditor_ids=scope.ids,
        start=start,
        currency=scope.currency,
        from_bucket=from_bucket,
        state=state,
        page=1 if fmt else scope.page,
        page_size=EXPORT_ROWS if fmt else PAGE_SIZE,
    )
    title = _("Accounts in %(bucket)s on %(start)s, a month later: %(state)s") % {
        "bucket": _bucket_name(from_bucket),
        "start": start,
        "state": state_label,
    }
    if fmt:
        sheet = Sheet(
            title,
            [
                Col(_("Debtor")),
                Col(_("External id")),
                Col(_("Balance then"), "money"),
                Col(_("Bucket a month later")),
                Col(_("Balance a month later"), "money"),
            ],
            rows=[
                [
                    r.name,
                    r.external_id,
                    scope.money(r.balance_start),
                    _bucket_name(r.bucket_end) if r.bucket_end is not None else "",
                    scope.money(r.balance_end),
                ]
                for r in rows
            ],
        )
        return respond(
            [sheet],
            fmt=fmt,
            name="roll-accounts",
            title=title,
            subtitle=_subtitle(scope),
            locale=scope.locale,
        )
    return _page(
        request,
        "reports/roll_accounts.html",
        scope,
        "rollrates",
        title=title,
        rows=rows,
        total=total,
        pages=_pages(total),
        page_query=scope.query(month=start.isoformat(), **{"from": from_bucket}, state=state),
    )


@permission_required(VIEW_TEAM)
def provision(request: HttpRequest) -> HttpResponse:
    from cartera.reports.provisions import provision_compute

    scope = _scope(request)
    window = _count_param(request, "window", _("months"), 12, 1, 36)
    factor_text = request.GET.get("factor") or "1"
    try:
        factor = Decimal(factor_text.replace(",", "."))
        if not factor.is_finite() or factor < 0 or factor > 10:
            raise InvalidOperation
    except InvalidOperation:
        messages.error(
            request,
            _("The forward-looking factor must be a number from 0 to 10, such as 1.1: using 1."),
        )
        factor = Decimal(1)
    report = provision_compute(
        creditor_ids=scope.ids, as_of=scope.as_of, window=window, factor=factor
    )
    block = next((c for c in report.currencies if c.currency == scope.currency), None)
    fmt = _export_format(request)
    if fmt:
        months = [s for s, _e in report.months_used]
        sheet = Sheet(
            _("Provision matrix"),
            [Col(_("Bucket")), Col(_("Balance"), "money")]
            + [
                Col(_("Forward roll %(month)s") % {"month": m.isoformat()}, "percent")
                for m in months
            ]
            + [
                Col(_("Average forward roll"), "percent"),
                Col(_("Loss rate"), "percent"),
                Col(_("Expected loss"), "money"),
            ],
            notes=[
                _("Window: %(window)s months; forward-looking factor: %(factor)s.")
                % {"window": window, "factor": factor}
            ],
        )
        for line in block.lines if block else []:
            sheet.rows.append(
                [_bucket_name(line.index), scope.money(line.balance)]
                + [_pct(r) for r in line.monthly_rates]
                + [_pct(line.forward_rate), _pct(line.loss_rate), scope.money(line.expected_loss)]
            )
        if block:
            sheet.rows.append(
                [_("Total"), scope.money(block.balance)]
                + [None] * len(months)
                + [None, _pct(block.loss_rate), scope.money(block.expected_loss)]
            )
        return respond(
            [sheet],
            fmt=fmt,
            name="provision",
            title=_("Provision matrix"),
            subtitle=_subtitle(scope),
            locale=scope.locale,
        )
    return _page(
        request,
        "reports/provision.html",
        scope,
        "provision",
        report=report,
        data=block,
        window=window,
        factor=factor,
    )


# --- forecast ----------------------------------------------------------------------------------


@permission_required(VIEW_TEAM)
def forecast(request: HttpRequest) -> HttpResponse:
    from cartera.reports.forecast import forecast_backtest, forecast_compute, forecast_stored

    scope = _scope(request)
    # The forecast the daily run stored for that day, else one made now from the ledger.
    result = forecast_stored(creditor_ids=scope.ids, made_on=scope.as_of)
    if result is None:
        result = forecast_compute(creditor_ids=scope.ids, as_of=scope.as_of)
    block = next((c for c in result.currencies if c.currency == scope.currency), None)
    backtest = forecast_backtest(creditor_ids=scope.ids, as_of=scope.as_of)
    bt = next((c for c in backtest.currencies if c.currency == scope.currency), None)
    fmt = _export_format(request)
    if fmt:
        weeks = Sheet(
            _("Forecast"),
            [
                Col(_("Week"), "int"),
                Col(_("From"), "date"),
                Col(_("To"), "date"),
                Col(_("Documents"), "money"),
                Col(_("Promises"), "money"),
                Col(_("Total"), "money"),
            ],
        )
        for w in block.weeks if block else []:
            weeks.rows.append(
                [
                    w.number,
                    w.first,
                    w.last,
                    scope.money(w.documents),
                    scope.money(w.promises),
                    scope.money(w.total),
                ]
            )
        if block:
            weeks.notes = [
                _("Past their expected date (not forecast): %(amount)s")
                % {"amount": format_minor(block.past_expected, scope.currency, scope.locale)},
                _("Expected after week 13: %(amount)s")
                % {"amount": format_minor(block.beyond, scope.currency, scope.locale)},
            ]
        back = Sheet(
            _("Back-test"),
            [
                Col(_("Week"), "int"),
                Col(_("From"), "date"),
                Col(_("To"), "date"),
                Col(_("Forecast"), "money"),
                Col(_("Actual"), "money"),
                Col(_("Difference"), "money"),
            ],
            notes=[_("Forecast made on %(day)s.") % {"day": backtest.made_on}],
        )
        for bw in bt.weeks if bt else []:
            back.rows.append(
                [
                    bw.number,
                    bw.first,
                    bw.last,
                    scope.money(bw.forecast),
                    scope.money(bw.actual),
                    scope.money(bw.difference),
                ]
            )
        return respond(
            [weeks, back],
            fmt=fmt,
            name="forecast",
            title=_("Cash forecast"),
            subtitle=_subtitle(scope),
            locale=scope.locale,
        )
    chart = bt_chart = None
    if block is not None:
        chart = charts.bar_chart(
            labels=[str(w.number) for w in block.weeks],
            series=[
                charts.Series(_("Documents"), [w.documents for w in block.weeks]),
                charts.Series(_("Promises"), [w.promises for w in block.weeks]),
            ],
            title=_("Expected collections by week"),
            value_format=lambda v: _compact(v, scope),
        )
    if bt is not None and bt.weeks:
        bt_chart = charts.bar_chart(
            labels=[str(w.number) for w in bt.weeks],
            series=[
                charts.Series(_("Forecast"), [w.forecast for w in bt.weeks]),
                charts.Series(_("Actual"), [w.actual for w in bt.weeks]),
            ],
            title=_("Forecast against what came in"),
            value_format=lambda v: _compact(v, scope),
        )
    return _page(
        request,
        "reports/forecast.html",
        scope,
        "forecast",
        forecast=result,
        data=block,
        backtest=backtest,
        bt=bt,
        chart=chart,
        bt_chart=bt_chart,
        # The back-test's forecast column opens the forecast of the day it was made.
        made_on_query=scope.query(as_of=backtest.made_on.isoformat()),
    )


@permission_required(VIEW_TEAM)
def forecast_items_view(request: HttpRequest) -> HttpResponse:
    """The documents and promises behind a figure of the forecast: a week (documents,
    promises or both), the weeks together, what is past its expected date or after week 13,
    and the documents pending promises cover. Rebuilt from the ledger, one statement."""
    from cartera.reports.forecast import (
        BEYOND,
        ITEM_PARTS,
        PAST,
        WEEKS,
        forecast_items,
    )
    from cartera.reports.models import ForecastWeek

    scope = _scope(request)
    part = request.GET.get("part") or "all"
    if part not in ITEM_PARTS:
        raise Http404(_("Unknown part of the forecast"))
    week_text = request.GET.get("week") or "all"
    week: int | None
    as_of = scope.as_of
    if week_text == "past":
        week = PAST
        title = _("Past their expected date at the end of %(date)s (not forecast)") % {
            "date": as_of
        }
    elif week_text == "beyond":
        week = BEYOND
        title = _("Expected after week 13 (from %(date)s)") % {
            "date": as_of + datetime.timedelta(days=7 * WEEKS + 1)
        }
    elif week_text == "all":
        week = None
        title = _("Expected in weeks 1 to 13 (%(first)s – %(last)s)") % {
            "first": as_of + datetime.timedelta(days=1),
            "last": as_of + datetime.timedelta(days=7 * WEEKS),
        }
    elif week_text.isdigit() and 1 <= int(week_text) <= WEEKS:
        week = int(week_text)
        title = _("Expected in week %(week)s (%(first)s – %(last)s)") % {
            "week": week,
            "first": as_of + datetime.timedelta(days=7 * (week - 1) + 1),
            "last": as_of + datetime.timedelta(days=7 * week),
        }
    else:
        raise Http404(_("Unknown week of the forecast"))
    if part == "covered":
        title = _("Documents that pending promises cover at the end of %(date)s") % {"date": as_of}
    elif part == "documents":
        title += " · " + _("documents")
    elif part == "promises":
        title += " · " + _("promises")
    fmt = _export_format(request)
    rows, total, amount = forecast_items(
        creditor_ids=scope.ids,
        as_of=as_of,
        currency=scope.currency,
        week=week,
        part=part,
        page=1 if fmt else scope.page,
        page_size=EXPORT_ROWS if fmt else PAGE_SIZE,
    )
    amount_label = _("Covered by promises") if part == "covered" else _("Expected")
    if fmt:
        sheet = Sheet(
            title,
            [
                Col(_("What")),
                Col(_("Document")),
                Col(_("Kind")),
                Col(_("Debtor")),
                Col(_("Due or promised date"), "date"),
                Col(_("Expected on"), "date"),
                Col(_("Open balance or promised"), "money"),
                Col(amount_label, "money"),
            ],
            rows=[
                [
                    _("Promise") if r.source == "promise" else _("Document"),
                    r.number,
                    _kind_label(r.kind) if r.kind else "",
                    r.debtor,
                    r.due_date,
                    r.expected,
                    scope.money(r.balance),
                    scope.money(r.amount),
                ]
                for r in rows
            ],
        )
        return respond(
            [sheet],
            fmt=fmt,
            name="forecast-items",
            title=title,
            subtitle=_subtitle(scope),
            locale=scope.locale,
        )
    stored = ForecastWeek.objects.filter(creditor_id__in=scope.ids, made_on=as_of).exists()
    return _page(
        request,
        "reports/forecast_items.html",
        scope,
        "forecast",
        title=title,
        rows=rows,
        total=total,
        amount=amount,
        amount_label=amount_label,
        stored=stored,
        kinds=_kind_labels(),
        pages=_pages(total),
        page_query=scope.query(week=week_text, part=part),
    )


# --- productivity ------------------------------------------------------------------------------


@permission_required(VIEW_TEAM)
def productivity(request: HttpRequest) -> HttpResponse:
    from cartera.reports.productivity import (
        DayFigures,
        collector_productivity,
        promise_kept_rate,
        right_party_rate,
    )

    scope = _scope(request, default_days=7)
    first = scope.start + datetime.timedelta(days=1)
    report = collector_productivity(creditors=[scope.creditor], first=first, last=scope.as_of)
    promises = promise_kept_rate(creditor_ids=scope.ids, first=first, last=scope.as_of)
    contacts, per_kind = right_party_rate(creditors=[scope.creditor], first=first, last=scope.as_of)
    c = scope.currency
    fmt = _export_format(request)
    if fmt:
        columns = [
            Col(_("Collector")),
            Col(_("Day"), "date"),
            Col(_("Attempted"), "int"),
            Col(_("Made"), "int"),
            Col(_("Right-party contacts"), "int"),
            Col(_("Right-party rate"), "percent"),
            Col(_("Promises"), "int"),
            Col(_("Promised"), "money"),
            Col(_("Kept"), "int"),
            Col(_("Broken"), "int"),
            Col(_("Kept rate"), "percent"),
            Col(_("Kept amount"), "money"),
            Col(_("Broken amount"), "money"),
            Col(_("Kept rate by amount"), "percent"),
            Col(_("Collected"), "money"),
        ]
        totals = Sheet(_("Collectors"), [columns[0], *columns[2:]])
        by_day = Sheet(_("By day"), columns)
        for row in report.rows:
            name = row.name or _nobody("collector")
            t = row.total
            totals.rows.append(
                [
                    name,
                    t.attempted,
                    t.made,
                    t.right_party,
                    t.right_party_rate,
                    t.promises,
                    scope.money(t.promised.get(c, 0)),
                    t.kept,
                    t.broken,
                    t.kept_rate,
                    scope.money(t.kept_amount.get(c, 0)),
                    scope.money(t.broken_amount.get(c, 0)),
                    t.kept_rate_by_amount(c),
                    scope.money(t.collected.get(c, 0)),
                ]
            )
            for day in sorted(row.days):
                f = row.days[day]
                by_day.rows.append(
                    [
                        name,
                        day,
                        f.attempted,
                        f.made,
                        f.right_party,
                        f.right_party_rate,
                        f.promises,
                        scope.money(f.promised.get(c, 0)),
                        f.kept,
                        f.broken,
                        f.kept_rate,
                        scope.money(f.kept_amount.get(c, 0)),
                        scope.money(f.broken_amount.get(c, 0)),
                        f.kept_rate_by_amount(c),
                        scope.money(f.collected.get(c, 0)),
                    ]
                )
        return respond(
            [totals, by_day],
            fmt=fmt,
            name="productivity",
            title=_("Collector productivity"),
            subtitle=_subtitle(scope),
            locale=scope.locale,
        )
    promise = next((p for p in promises if p.currency == c), None)
    team_days: dict[datetime.date, DayFigures] = {}
    for row in report.rows:
        for day, figures in row.days.items():
            team_days.setdefault(day, DayFigures()).add(figures)
    days = report.days
    chart = charts.line_chart(
        labels=[d.isoformat()[5:] for d in days],
        series=[
            charts.Series(_("Attempted"), [team_days.get(d, DayFigures()).attempted for d in days]),
            charts.Series(_("Made"), [team_days.get(d, DayFigures()).made for d in days]),
            charts.Series(
                _("Right party"), [team_days.get(d, DayFigures()).right_party for d in days]
            ),
        ],
        title=_("Contacts of the team, day by day"),
        value_format=lambda v: format_number(v, scope.locale, 0),
    )
    # Each collector's figures, with the key its drill-down links use ("none": nobody).
    lines = [
        {
            "row": row,
            "key": "none" if row.collector_id is None else row.collector_id,
            "promised": row.total.promised.get(c, 0),
            "collected": row.total.collected.get(c, 0),
            "kept_amount": row.total.kept_amount.get(c, 0),
            "decided_amount": row.total.kept_amount.get(c, 0) + row.total.broken_amount.get(c, 0),
            "kept_rate_by_amount": row.total.kept_rate_by_amount(c),
        }
        for row in report.rows
    ]
    return _page(
        request,
        "reports/productivity.html",
        scope,
        "productivity",
        report=report,
        lines=lines,
        promise=promise,
        contacts=contacts,
        per_kind=per_kind,
        first=first,
        chart=chart,
    )


PRODUCTIVITY_FIGURES = (
    "attempted",
    "made",
    "right_party",
    "promises",
    "decided",
    "due",
    "collected",
)


@permission_required(VIEW_TEAM)
def productivity_items(request: HttpRequest) -> HttpResponse:
    """The contacts, promises or payments behind a figure of the productivity page, for one
    collector (`collector=ID`), nobody (`none`: unassigned accounts) or the team (`all`)."""
    from cartera.reports.productivity import (
        EVERYONE,
        contacts_behind,
        payments_behind,
        promises_behind,
    )

    scope = _scope(request, default_days=7)
    first = scope.start + datetime.timedelta(days=1)
    figure = request.GET.get("figure") or "attempted"
    if figure not in PRODUCTIVITY_FIGURES:
        raise Http404(_("Unknown figure"))
    collector_text = request.GET.get("collector") or EVERYONE
    collector: int | str | None
    if collector_text == EVERYONE:
        collector = EVERYONE
    elif collector_text == "none":
        collector = None
    elif collector_text.isdigit():
        collector = int(collector_text)
    else:
        raise Http404(_("Unknown collector"))
    kind = request.GET.get("kind", "")
    fmt = _export_format(request)
    page, size = (1, EXPORT_ROWS) if fmt else (scope.page, PAGE_SIZE)
    contacts: list[Any] = []
    promises: list[Any] = []
    payments: list[Any] = []
    amount = None
    names: set[str] = set()
    if figure in ("attempted", "made", "right_party"):
        contacts, total = contacts_behind(
            creditors=[scope.creditor],
            first=first,
            last=scope.as_of,
            figure=figure,
            collector=collector,
            kind=kind,
            page=page,
            page_size=size,
        )
        names = {_person(a.user) for a in contacts if a.user_id}
    elif figure == "collected":
        payments, total, amount = payments_behind(
            creditor_ids=scope.ids,
            first=first,
            last=scope.as_of,
            currency=scope.currency,
            collector=collector,
            page=page,
            page_size=size,
        )
        names = {p.holder for p in payments if p.holder_id}
    else:
        promises, total = promises_behind(
            creditor_ids=scope.ids,
            first=first,
            last=scope.as_of,
            figure=figure,
            collector=collector,
            currency=scope.currency if figure == "due" else None,
            page=page,
            page_size=size,
        )
        names = {_person(p.taken_by) for p in promises if p.taken_by_id}
    labels = {
        "attempted": _("Contacts attempted"),
        "made": _("Contacts made"),
        "right_party": _("Right-party contacts"),
        "promises": _("Promises taken"),
        "decided": _("Promises decided (kept or broken)"),
        "due": _("Promises due"),
        "collected": _("Money collected"),
    }
    if collector == EVERYONE:
        who = _("the team")
    elif collector is None:
        who = _("nobody (unassigned accounts)")
    else:
        # Named only from the rows or as a member of this creditor: an id of another
        # creditor's user shows nothing.
        from django.contrib.auth import get_user_model

        member = (
            get_user_model()
            .objects.filter(pk=collector, memberships__creditor=scope.creditor)
            .first()
        )
        if member is not None:
            who = _person(member)
        else:
            who = next(iter(names)) if len(names) == 1 else _("this collector")
    title = _("%(figure)s: %(who)s, from %(first)s to %(last)s") % {
        "figure": labels[figure],
        "who": who,
        "first": first,
        "last": scope.as_of,
    }
    if kind:
        title += f" · {kind}"
    if fmt:
        if payments or figure == "collected":
            sheet = Sheet(
                title,
                [
                    Col(_("Date"), "date"),
                    Col(_("Debtor")),
                    Col(_("Payment")),
                    Col(_("Reference")),
                    Col(_("Held by")),
                    Col(_("Amount"), "money"),
                ],
                rows=[
                    [
                        p.date,
                        p.debtor,
                        p.external_id,
                        p.reference,
                        p.holder or _("nobody"),
                        scope.money(p.amount),
                    ]
                    for p in payments
                ],
            )
        elif figure in ("attempted", "made", "right_party"):
            zone = zoneinfo.ZoneInfo(scope.creditor.timezone)
            sheet = Sheet(
                title,
                [
                    Col(_("When")),
                    Col(_("Debtor")),
                    Col(_("Channel")),
                    Col(_("Outcome")),
                    Col(_("Right party")),
                    Col(_("Collector")),
                ],
                rows=[
                    [
                        a.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                        a.debtor.name,
                        a.get_kind_display(),
                        a.outcome,
                        _("yes") if a.reached else _("no"),
                        _person(a.user) if a.user_id else "",
                    ]
                    for a in contacts
                ],
            )
        else:
            sheet = Sheet(
                title,
                [
                    Col(_("Taken on"), "date"),
                    Col(_("Debtor")),
                    Col(_("Promised date"), "date"),
                    Col(_("Status")),
                    Col(_("Decided on"), "date"),
                    Col(_("Collector")),
                    Col(_("Amount"), "money"),
                ],
                rows=[
                    [
                        p.created_on,
                        p.debtor.name,
                        p.promised_date,
                        p.get_status_display(),
                        p.decided_on,
                        _person(p.taken_by) if p.taken_by_id else "",
                        Money(p.amount_minor, p.currency),
                    ]
                    for p in promises
                ],
            )
        return respond(
            [sheet],
            fmt=fmt,
            name=f"productivity-{figure}",
            title=title,
            subtitle=_subtitle(scope),
            locale=scope.locale,
        )
    return _page(
        request,
        "reports/productivity_items.html",
        scope,
        "productivity",
        title=title,
        figure=figure,
        contacts=contacts,
        promises=promises,
        payments=payments,
        total=total,
        amount=amount,
        first=first,
        pages=_pages(total),
        page_query=scope.query(figure=figure, collector=collector_text, kind=kind),
    )


def _person(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


# --- runs --------------------------------------------------------------------------------------


@permission_required(VIEW_TEAM)
def runs(request: HttpRequest) -> HttpResponse:
    from cartera.strategy.models import Run

    scope = _scope(request)
    runs_qs = Run.objects.filter(creditor=scope.creditor).order_by("-as_of", "-id")
    total = runs_qs.count()
    page = list(runs_qs[(scope.page - 1) * PAGE_SIZE : scope.page * PAGE_SIZE])
    fmt = _export_format(request)
    if fmt:
        sheet = Sheet(
            _("Daily runs"),
            [
                Col(_("Day"), "date"),
                Col(_("Accounts evaluated"), "int"),
                Col(_("Paused"), "int"),
                Col(_("New delinquent"), "int"),
                Col(_("Episodes opened"), "int"),
                Col(_("Episodes cured"), "int"),
                Col(_("Actions"), "int"),
                Col(_("Started by")),
            ],
        )
        for r in runs_qs[:5000]:
            counts = r.counts or {}
            sheet.rows.append(
                [
                    r.as_of,
                    counts.get("accounts_evaluated", 0),
                    counts.get("accounts_paused", 0),
                    counts.get("new_delinquent", 0),
                    counts.get("episodes_opened", 0),
                    counts.get("episodes_cured", 0),
                    sum((counts.get("actions") or {}).values()),
                    r.started_by,
                ]
            )
        return respond(
            [sheet],
            fmt=fmt,
            name="runs",
            title=_("Daily runs"),
            subtitle=_subtitle(scope),
            locale=scope.locale,
        )
    recent = list(reversed(page))
    chart = charts.line_chart(
        labels=[r.as_of.isoformat()[5:] for r in recent],
        series=[
            charts.Series(
                _("Accounts evaluated"),
                [(r.counts or {}).get("accounts_evaluated") for r in recent],
            ),
            charts.Series(
                _("Actions"),
                [sum(((r.counts or {}).get("actions") or {}).values()) for r in recent],
            ),
        ],
        title=_("What the runs did"),
        value_format=lambda v: format_number(v, scope.locale, 0),
    )
    rows = [
        {
            "run": r,
            "actions": sum(((r.counts or {}).get("actions") or {}).values()),
            "counts": r.counts or {},
        }
        for r in page
    ]
    return _page(
        request,
        "reports/runs.html",
        scope,
        "runs",
        rows=rows,
        total=total,
        pages=_pages(total),
        chart=chart,
        page_query=scope.query(),
    )
