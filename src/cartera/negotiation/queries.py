"""Reads on promises and disputes shared by the daily run, views, reports and the API."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet

from cartera.negotiation.models import DisputeDocument, Promise, PromiseStatus
from cartera.portfolio.models import Creditor


def disputed_document_ids(creditor: Creditor) -> QuerySet[DisputeDocument, int]:
    """Ids of the creditor's documents in an open dispute (each once), for `document__in=`."""
    return DisputeDocument.objects.filter(dispute__creditor=creditor, is_open=True).values_list(
        "document_id", flat=True
    )


def open_promises(creditor: Creditor, as_of: datetime.date) -> QuerySet[Promise]:
    """Promises taken on or before `as_of` and not decided yet, soonest first."""
    return (
        Promise.objects.filter(
            creditor=creditor, status=PromiseStatus.PENDING, created_on__lte=as_of
        )
        .select_related("debtor")
        .order_by("promised_date", "id")
    )


def debtors_with_pending_promise(
    creditor: Creditor, as_of: datetime.date | None = None
) -> QuerySet[Promise, int]:
    """Ids of the debtors with a promise still pending (taken on or before `as_of` if given),
    each once, for `debtor__in=`: the daily run pauses their accounts."""
    pending = Promise.objects.filter(creditor=creditor, status=PromiseStatus.PENDING)
    if as_of is not None:
        pending = pending.filter(created_on__lte=as_of)
    return pending.order_by().values_list("debtor_id", flat=True).distinct()
