from __future__ import annotations

from babel.dates import format_date
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language, to_locale

from cartera.core.money import format_minor
from cartera.portfolio.queries import creditors_visible_to
from cartera.reports.aging import aging_report, make_buckets


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
