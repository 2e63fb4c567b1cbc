"""Reads on the portfolio shared by commands, views, reports and (later) the API."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cartera.portfolio.models import Creditor


class CreditorNotFound(LookupError):
    """No creditor matches; the message says what to do."""


def creditors_visible_to(user: User | AnonymousUser) -> QuerySet[Creditor]:
    """Tenancy: the creditors a user may see. Superusers see all; others their memberships."""
    if not user.is_authenticated or not user.is_active:
        return Creditor.objects.none()
    if user.is_superuser:
        return Creditor.objects.all()
    return Creditor.objects.filter(memberships__user=user)


def creditor_resolve(code: str | None, among: QuerySet[Creditor] | None = None) -> Creditor:
    """The creditor named by `code`, or the only one when `code` is omitted."""
    creditors = Creditor.objects.all() if among is None else among
    if code:
        found = creditors.filter(code__iexact=code).first()
        if found is None:
            known = ", ".join(creditors.values_list("code", flat=True)[:20]) or _("none")
            raise CreditorNotFound(
                _("no creditor with code '%(code)s' (known: %(known)s)")
                % {"code": code, "known": known}
            )
        return found
    first_two = list(creditors[:2])
    if not first_two:
        raise CreditorNotFound(
            _(
                "there is no creditor yet: create one first, e.g. "
                "cartera creditor add ACME --name 'Acme S.A.S.' --country CO --currency COP"
            )
        )
    if len(first_two) > 1:
        known = ", ".join(creditors.values_list("code", flat=True)[:20])
        raise CreditorNotFound(
            _("there are several creditors: pass --creditor (%(known)s)") % {"known": known}
        )
    return first_two[0]
