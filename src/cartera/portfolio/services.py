"""Writes on the portfolio: each service is one transaction and leaves an audit event."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from cartera.core.audit import Actor, audit_record
from cartera.core.locales import (
    default_locale,
    default_timezone,
    validate_country,
    validate_locale,
    validate_timezone,
)
from cartera.core.money import validate_currency
from cartera.portfolio.identity import payment_reference, validate_tax_id
from cartera.portfolio.models import BalanceMode, Creditor


class PortfolioError(ValueError):
    """A request the portfolio refuses, with a message meant for the user."""


@transaction.atomic
def creditor_create(
    *,
    code: str,
    name: str,
    country: str,
    currency: str,
    actor: Actor,
    locale: str | None = None,
    timezone: str | None = None,
    tax_id: str = "",
    balance_mode: str = BalanceMode.LEDGER,
) -> Creditor:
    code = code.strip()
    if not code or not code.replace("-", "").replace("_", "").isalnum():
        raise PortfolioError(
            _("'%(code)s' is not a valid code: use letters, digits, - and _") % {"code": code}
        )
    clash = Creditor.objects.filter(code__iexact=code).first()
    if clash is not None:
        raise PortfolioError(
            _("a creditor with code '%(code)s' already exists") % {"code": clash.code}
        )
    if not name.strip():
        raise PortfolioError(_("the creditor needs a name (--name)"))
    try:
        country = validate_country(country)
        currency = validate_currency(currency)
        locale = validate_locale(locale) if locale else default_locale(country)
        timezone = timezone or default_timezone(country)
        if timezone is None:
            raise PortfolioError(
                _("%(country)s has several time zones: pass --timezone") % {"country": country}
            )
        timezone = validate_timezone(timezone)
        tax = validate_tax_id(tax_id, country) if tax_id.strip() else None
    except ValueError as exc:
        raise PortfolioError(str(exc)) from exc
    if balance_mode not in BalanceMode.values:
        raise PortfolioError(
            _("balance mode must be one of %(modes)s") % {"modes": ", ".join(BalanceMode.values)}
        )
    creditor = Creditor.objects.create(
        code=code,
        name=name.strip(),
        country=country,
        currency=currency,
        locale=locale,
        timezone=timezone,
        tax_id=tax.number if tax else "",
        balance_mode=balance_mode,
    )
    audit_record(
        actor=actor,
        action="creditor.create",
        obj=creditor,
        creditor_id=creditor.pk,
        changes={
            "code": code,
            "country": country,
            "currency": currency,
            "locale": locale,
            "timezone": timezone,
            "balance_mode": balance_mode,
        },
    )
    return creditor


def references_allocate(*, creditor: Creditor, count: int) -> list[str]:
    """Hand out `count` new payment references (with check digit) for the creditor.

    One UPDATE reserves the whole block, so concurrent imports never hand out the same number.
    """
    if count <= 0:
        return []
    with transaction.atomic():
        Creditor.objects.filter(pk=creditor.pk).update(
            reference_counter=F("reference_counter") + count
        )
        last = Creditor.objects.values_list("reference_counter", flat=True).get(pk=creditor.pk)
    return [payment_reference(number) for number in range(last - count + 1, last + 1)]
