"""Reads on promises and disputes shared by the daily run, views, reports and the API."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, F, Min, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from cartera.core.models import AuditEvent
from cartera.negotiation.models import (
    Agreement,
    AgreementInstallment,
    AgreementStatus,
    Dispute,
    DisputeCategory,
    DisputeCategoryOption,
    DisputeDocument,
    DisputeStatus,
    Promise,
    PromiseStatus,
    UsuryRate,
    dispute_sla_days,
    terms_of,
)
from cartera.portfolio.models import Creditor, Debtor, Document


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


# -- promises --------------------------------------------------------------------------------

ALERT_PROMISE_LIMIT = "promise_limit"
"""The kind of the alert the daily run writes when an account reaches the limit of broken
promises."""


def broken_promise_count(debtor: Debtor, as_of: datetime.date, window_days: int) -> int:
    """Promises the debtor broke in the `window_days` up to `as_of`; the parts of one plan
    count once (a plan is one commitment, however many of its dates passed unpaid)."""
    broken = Promise.objects.filter(
        debtor=debtor,
        status=PromiseStatus.BROKEN,
        decided_on__gt=as_of - datetime.timedelta(days=window_days),
        decided_on__lte=as_of,
    )
    alone = broken.filter(plan__isnull=True).count()
    plans = broken.filter(plan__isnull=False).values("plan_id").distinct().count()
    return alone + plans


def broken_promises(
    creditors: QuerySet[Creditor], *, since: datetime.date, until: datetime.date
) -> QuerySet[Promise]:
    """Promises broken from `since` to `until`, most recent first: the workdesk puts their
    accounts first on the worklist."""
    return (
        Promise.objects.filter(
            creditor__in=creditors,
            status=PromiseStatus.BROKEN,
            decided_on__gte=since,
            decided_on__lte=until,
        )
        .select_related("debtor", "taken_by")
        .order_by("-decided_on", "-id")
    )


def accounts_over_promise_limit(
    creditor: Creditor, as_of: datetime.date, promise_ids: Iterable[int]
) -> list[tuple[int, int]]:
    """(debtor id, broken count) of the debtors of `promise_ids` that reached the creditor's
    limit of broken promises: the run escalates them. Two queries whatever the number."""
    ids = list(promise_ids)
    if not ids:
        return []
    limit, window = _break_terms(creditor)
    if not limit:
        return []
    since = as_of - datetime.timedelta(days=window)
    debtor_ids = set(Promise.objects.filter(pk__in=ids).values_list("debtor_id", flat=True))
    rows = (
        Promise.objects.filter(
            debtor_id__in=debtor_ids,
            status=PromiseStatus.BROKEN,
            decided_on__gt=since,
            decided_on__lte=as_of,
        )
        .values_list("debtor_id", "plan_id", "pk")
        .order_by()
    )
    commitments: dict[int, set[tuple[str, int]]] = {}
    for debtor_id, plan_id, pk in rows:
        key = ("plan", plan_id) if plan_id else ("promise", pk)
        commitments.setdefault(debtor_id, set()).add(key)
    return sorted(
        (debtor_id, len(keys)) for debtor_id, keys in commitments.items() if len(keys) >= limit
    )


def _break_terms(creditor: Creditor) -> tuple[int, int]:
    terms = terms_of(creditor)
    return terms.promise_break_limit, terms.promise_break_window_days


@dataclass(frozen=True)
class KeptRate:
    """How one collector's promises decided in a period turned out, in one currency."""

    user_id: int | None
    username: str
    currency: str
    decided: int
    kept: int
    promised_minor: int
    kept_minor: int
    paid_minor: int

    @property
    def rate_by_count(self) -> Decimal | None:
        """Kept promises over decided ones, in percent (one decimal)."""
        if not self.decided:
            return None
        return (Decimal(100 * self.kept) / self.decided).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def rate_by_amount(self) -> Decimal | None:
        """Amount of kept promises over the amount of decided ones, in percent."""
        if not self.promised_minor:
            return None
        return (Decimal(100 * self.kept_minor) / self.promised_minor).quantize(
            Decimal("0.1"), ROUND_HALF_UP
        )


def promise_kept_rates(
    creditors: QuerySet[Creditor], *, since: datetime.date, until: datetime.date
) -> list[KeptRate]:
    """Promise-kept rate by count and by amount per collector (who took the promise) and
    currency, over the promises decided (kept or broken; cancelled ones do not count) from
    `since` to `until`. One query."""
    rows = (
        Promise.objects.filter(
            creditor__in=creditors,
            status__in=[PromiseStatus.KEPT, PromiseStatus.BROKEN],
            decided_on__gte=since,
            decided_on__lte=until,
        )
        .values("taken_by_id", "taken_by__username", "currency")
        .annotate(
            decided=Count("id"),
            kept=Count("id", filter=Q(status=PromiseStatus.KEPT)),
            promised=Sum("amount_minor"),
            kept_amount=Coalesce(
                Sum("amount_minor", filter=Q(status=PromiseStatus.KEPT)), Value(0)
            ),
            paid=Sum("paid_minor"),
        )
        .order_by("taken_by__username", "currency")
    )
    return [
        KeptRate(
            user_id=row["taken_by_id"],
            username=row["taken_by__username"] or "",
            currency=row["currency"],
            decided=row["decided"],
            kept=row["kept"],
            promised_minor=int(row["promised"] or 0),
            kept_minor=int(row["kept_amount"] or 0),
            paid_minor=int(row["paid"] or 0),
        )
        for row in rows
    ]


# -- disputes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryOption:
    code: str
    label: str
    sla_days: int


def dispute_categories(creditor: Creditor) -> list[CategoryOption]:
    """The dispute categories offered for the creditor: the built-in ones, then those an
    administrator added, for every creditor or for this one (a creditor's row wins; a row
    switched off hides the category)."""
    default_sla = dispute_sla_days()
    options: dict[str, CategoryOption | None] = {
        code: CategoryOption(code, str(label), default_sla)
        for code, label in DisputeCategory.choices
    }
    rows = DisputeCategoryOption.objects.filter(
        Q(creditor__isnull=True) | Q(creditor=creditor)
    ).order_by(F("creditor_id").asc(nulls_first=True), "code")
    for row in rows:
        options[row.code] = (
            CategoryOption(
                row.code, row.label, default_sla if row.sla_days is None else row.sla_days
            )
            if row.active
            else None
        )
    return [option for option in options.values() if option is not None]


def overdue_disputes(creditors: QuerySet[Creditor], as_of: datetime.date) -> QuerySet[Dispute]:
    """Open disputes past their deadline, the longest overdue first: the supervisor's list."""
    return (
        Dispute.objects.filter(creditor__in=creditors, status=DisputeStatus.OPEN)
        .filter(sla_due_on__lt=as_of)
        .select_related("debtor", "owner", "creditor")
        .order_by("sla_due_on", "id")
    )


def open_disputes(creditors: QuerySet[Creditor]) -> QuerySet[Dispute]:
    """Open disputes, the soonest due first."""
    return (
        Dispute.objects.filter(creditor__in=creditors, status=DisputeStatus.OPEN)
        .select_related("debtor", "owner", "creditor")
        .order_by("sla_due_on", "id")
    )


def with_category_names(disputes: QuerySet[Dispute]) -> QuerySet[Dispute]:
    """The disputes with the administrator's name of their category read along (a creditor's
    own row first), so `Dispute.category_label` needs no query of its own per dispute."""
    options = DisputeCategoryOption.objects.filter(code=OuterRef("category")).values("label")
    return disputes.annotate(
        category_custom=Coalesce(
            Subquery(options.filter(creditor_id=OuterRef("creditor_id"))[:1]),
            Subquery(options.filter(creditor__isnull=True)[:1]),
        )
    )


def dispute_category_labels(creditor_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """{creditor id: {category code: name}} for showing disputes, in one query: the built-in
    names, renamed by the administrator's rows (a creditor's own row wins); a category switched
    off keeps its name, since disputes of it remain."""
    ids = list(creditor_ids)
    builtin = {code: str(label) for code, label in DisputeCategory.choices}
    labels = {pk: dict(builtin) for pk in ids}
    rows = (
        DisputeCategoryOption.objects.filter(Q(creditor__isnull=True) | Q(creditor_id__in=ids))
        .order_by(F("creditor_id").asc(nulls_first=True), "code")
        .values_list("creditor_id", "code", "label")
    )
    for creditor_id, code, label in rows:
        for pk in ids if creditor_id is None else [creditor_id]:
            labels[pk][code] = label
    return labels


def dispute_events(dispute: Dispute) -> QuerySet[AuditEvent]:
    """What happened to a dispute (opened, assigned, attachments, resolved), oldest first."""
    return AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(Dispute), object_id=str(dispute.pk)
    ).order_by("at", "id")


# -- agreements ------------------------------------------------------------------------------


def agreements_pending_approval(creditors: QuerySet[Creditor]) -> QuerySet[Agreement]:
    """The approvals queue: agreements waiting for a supervisor, oldest first."""
    return (
        Agreement.objects.filter(creditor__in=creditors, status=AgreementStatus.PENDING_APPROVAL)
        .select_related("debtor", "creditor", "proposed_by")
        .order_by("proposed_at", "id")
    )


def installment_documents(creditor: Creditor | None = None) -> QuerySet[Document]:
    """Documents that are installments of an agreement (refinanced debt, not new sales)."""
    documents = Document.objects.filter(agreement_installment__isnull=False)
    if creditor is not None:
        documents = documents.filter(creditor=creditor)
    return documents


def debtors_with_active_agreement(
    creditor: Creditor, as_of: datetime.date | None = None
) -> QuerySet[Agreement, int]:
    """Ids of the debtors with an active agreement (approved on or before `as_of` if given),
    each once, for `debtor__in=`: the daily run pauses their accounts."""
    active = Agreement.objects.filter(creditor=creditor, status=AgreementStatus.ACTIVE)
    if as_of is not None:
        active = active.filter(decided_on__lte=as_of)
    return active.order_by().values_list("debtor_id", flat=True).distinct()


def agreements_of(debtor: Debtor) -> QuerySet[Agreement]:
    """A debtor's agreements, the newest first, with their schedules."""
    return (
        Agreement.objects.filter(debtor=debtor)
        .prefetch_related("schedule__document", "bundled__document")
        .order_by("-proposed_on", "-id")
    )


# -- legal maximum rates ---------------------------------------------------------------------


def legal_max_rate(country: str, day: datetime.date) -> Decimal | None:
    """The legal maximum rate (% E.A.) of `country` for the month of `day`, None when the
    administrator has not entered it."""
    return (
        UsuryRate.objects.filter(country=country, month=day.replace(day=1))
        .values_list("annual_rate", flat=True)
        .first()
    )


# -- what messages say about agreements ----------------------------------------------------------


@dataclass(frozen=True)
class AgreementFacts:
    """What a confirmation says about an agreement (`acuerdo_confirmacion`)."""

    number: str
    installments: int
    total_minor: int  # the down payment and every installment
    first_date: datetime.date  # the first payment due (the down payment when there is one)
    currency: str


@dataclass(frozen=True)
class InstallmentFacts:
    """What a reminder says about an installment (`cuota_recordatorio`)."""

    n: int
    of: int
    owed_minor: int  # what its document still owes
    due_date: datetime.date
    currency: str


def agreement_facts(agreement_ids: Iterable[int]) -> dict[int, AgreementFacts]:
    """{agreement id: facts} for messages, in one query."""
    rows = (
        AgreementInstallment.objects.filter(agreement_id__in=list(agreement_ids))
        .values("agreement_id", "agreement__number", "agreement__installments_count")
        .annotate(total=Sum("payment_minor"), first=Min("due_date"))
        .values_list(
            "agreement_id",
            "agreement__number",
            "agreement__installments_count",
            "total",
            "first",
            "agreement__currency",
        )
        .order_by()
    )
    return {
        pk: AgreementFacts(number, count, int(total or 0), first, currency)
        for pk, number, count, total, first, currency in rows
    }


def installment_facts(installment_ids: Iterable[int]) -> dict[int, InstallmentFacts]:
    """{installment id: facts} for messages, in one query."""
    rows = AgreementInstallment.objects.filter(
        pk__in=list(installment_ids), document__isnull=False
    ).values_list(
        "pk",
        "n",
        "agreement__installments_count",
        "document__balance_minor",
        "due_date",
        "agreement__currency",
    )
    return {
        pk: InstallmentFacts(n, of, balance, due, currency)
        for pk, n, of, balance, due, currency in rows
    }
