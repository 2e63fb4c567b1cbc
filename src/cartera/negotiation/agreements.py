"""Payment agreements ("acuerdos de pago"): propose, approve or reject, and decide daily.

An agreement bundles documents (or the whole account), may waive late interest and fees and
discount part of the debt, and pays the rest as a down payment and installments scheduled by
`plans.plan_build`. What a user may grant alone is the approval matrix (`ApprovalLimit`); an
agreement beyond the proposer's limits waits in the approvals queue for someone whose limits
cover it. Approval activates it in the same transaction:

- the bundled documents are closed: `discount` entries for what is waived or discounted, then
  `refinance` entries for the rest (the principal);
- each installment (and the down payment) becomes a document of kind `installment`, opened by
  a `refinance` entry for its principal part and an `interest` entry for its interest, so the
  `refinance` entries of an agreement sum to zero and aging and dpd follow the new schedule;
- payments reach the installments oldest due first, as every payment does
  (`portfolio.payments.payment_apply`);
- a PDF of the agreement in Spanish is kept, and the debtor is sent a confirmation.

The daily run (`agreements_decide`) closes a fully paid agreement as kept, breaks one with an
installment more than the creditor's N days late (the installments stay as they are and the
strategy resumes on them), and asks for reminders of installments falling due soon.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel.dates import format_date
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import BigIntegerField, Exists, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cartera.core.audit import Actor, audit_record
from cartera.core.money import format_minor, from_minor
from cartera.negotiation.models import (
    LIVE_AGREEMENT_STATUSES,
    Agreement,
    AgreementDocument,
    AgreementFrequency,
    AgreementInstallment,
    AgreementMethod,
    AgreementStatus,
    ApprovalLimit,
    ApprovalRole,
    NegotiationTerms,
    terms_of,
)
from cartera.negotiation.plans import Frequency, Method, PlanError, default_first_date, plan_build
from cartera.negotiation.queries import disputed_document_ids, legal_max_rate
from cartera.negotiation.services import (
    NegotiationError,
    _amount_minor,
    _cancel_overlapping,
    _debtor_locked,
    _documents_of,
    _numbers,
    _refuse_erp,
    _Scope,
    _Sum,
    _user_of,
)
from cartera.negotiation.signals import agreement_activated, installments_due
from cartera.portfolio.models import (
    Creditor,
    Debtor,
    Document,
    DocumentKind,
    DocumentStatus,
    EntryKind,
    LedgerEntry,
)
from cartera.portfolio.services import references_allocate

ALERT_BROKEN_AGREEMENT = "broken_agreement"
"""The kind of the alert the daily run writes when it breaks an agreement."""


# -- the approval matrix -----------------------------------------------------------------------


def _percent(part: int, whole: int) -> Decimal:
    if whole <= 0:
        return Decimal(0)
    return (Decimal(100 * part) / whole).quantize(Decimal("0.01"), ROUND_HALF_UP)


def limit_shortfalls(agreement: Agreement, limit: ApprovalLimit) -> list[str]:
    """What in `agreement` goes beyond `limit` (empty: the limit covers it)."""
    reasons = []
    c = agreement.currency
    locale = agreement.creditor.locale
    if limit.max_installments is not None and agreement.installments_count > limit.max_installments:
        reasons.append(
            _("%(count)s installments (at most %(limit)s)")
            % {"count": agreement.installments_count, "limit": limit.max_installments}
        )
    discount = _percent(agreement.discount_minor, agreement.owed_minor)
    if limit.max_discount_percent is not None and discount > limit.max_discount_percent:
        reasons.append(
            _("a discount of %(discount)s %% of the debt (at most %(limit)s %%)")
            % {"discount": discount, "limit": limit.max_discount_percent}
        )
    if limit.max_waived_minor is not None and agreement.waived_minor > limit.max_waived_minor:
        reasons.append(
            _("%(waived)s of interest and fees waived (at most %(limit)s)")
            % {
                "waived": format_minor(agreement.waived_minor, c, locale),
                "limit": format_minor(limit.max_waived_minor, c, locale),
            }
        )
    below = max(agreement.list_rate - agreement.annual_rate, Decimal(0))
    if limit.max_rate_below_list is not None and below > limit.max_rate_below_list:
        reasons.append(
            _(
                "a rate of %(rate)s %% E.A., %(below)s points below the list rate of "
                "%(list)s %% (at most %(limit)s)"
            )
            % {
                "rate": agreement.annual_rate.normalize(),
                "below": below.normalize(),
                "list": agreement.list_rate.normalize(),
                "limit": limit.max_rate_below_list.normalize(),
            }
        )
    return reasons


def approval_limits_of(user: User | None, creditor: Creditor) -> dict[str, ApprovalLimit]:
    """The limits of each approval role the user has, for the creditor (its own row, else the
    row for every creditor)."""
    return approval_limits_by_creditor(user, [creditor])[creditor.pk]


def approval_limits_by_creditor(
    user: User | None, creditors: Sequence[Creditor]
) -> dict[int, dict[str, ApprovalLimit]]:
    """`approval_limits_of` for several creditors at once, in two queries (the approvals
    queue shows, for each agreement, whether the user's limits cover it)."""
    if user is None:
        return {c.pk: {} for c in creditors}
    roles = list(user.groups.filter(name__in=ApprovalRole.values).values_list("name", flat=True))
    ids = [c.pk for c in creditors]
    rows = list(
        ApprovalLimit.objects.filter(role__in=roles).filter(
            Q(creditor_id__in=ids) | Q(creditor__isnull=True)
        )
    )
    limits: dict[int, dict[str, ApprovalLimit]] = {}
    for pk in ids:
        chosen: dict[str, ApprovalLimit] = {}
        for row in rows:
            if row.creditor_id not in (None, pk):
                continue
            if row.role not in chosen or row.creditor_id is not None:
                chosen[row.role] = row
        limits[pk] = chosen
    return limits


def approval_shortfalls(
    agreement: Agreement,
    user: User | None,
    limits: dict[str, ApprovalLimit] | None = None,
) -> list[str]:
    """Why `user` may not grant `agreement` alone (empty: they may). A superuser may grant
    anything; otherwise the most generous of the user's roles decides. `limits`, the user's
    limits for the agreement's creditor, saves reading them when the caller has them."""
    if user is not None and user.is_superuser:
        return []
    if limits is None:
        limits = approval_limits_of(user, agreement.creditor)
    if not limits:
        return [_("no approval limits for this user's roles")]
    best: list[str] | None = None
    for limit in limits.values():
        reasons = limit_shortfalls(agreement, limit)
        if not reasons:
            return []
        if best is None or len(reasons) < len(best):
            best = reasons
    return best or []


# -- proposing ---------------------------------------------------------------------------------


def _active_installments() -> Any:
    """Installments (with their documents) of the active agreements: a new agreement may not
    bundle them while the agreement lives, or the run would find it paid and call it kept."""
    return AgreementInstallment.objects.filter(
        agreement__status=AgreementStatus.ACTIVE, document__isnull=False
    )


def _live_bundled(document_ids: list[int]) -> dict[int, str]:
    """{document id: agreement number} of the documents a live agreement bundles or that are
    an active agreement's installments."""
    held = dict(
        AgreementDocument.objects.filter(document_id__in=document_ids, is_live=True).values_list(
            "document_id", "agreement__number"
        )
    )
    held.update(
        _active_installments()
        .filter(document_id__in=document_ids)
        .values_list("document_id", "agreement__number")
    )
    return held


def _bundle(creditor: Creditor, debtor: Debtor, documents: Sequence[Document]) -> list[Document]:
    """The documents to bundle, locked, oldest due first: the chosen ones, refused unless each
    is open, undisputed and in no other live agreement (nor an active agreement's installment);
    or every such document of the account in one currency (the creditor's when there are
    several)."""
    disputed = disputed_document_ids(creditor)
    if documents:
        chosen = _documents_of(debtor, documents)
        closed = [d.number for d in chosen if d.balance_minor <= 0]
        if closed:
            raise NegotiationError(
                _("%(documents)s: nothing is owed on it") % {"documents": ", ".join(closed)}
            )
        in_dispute = set(disputed.filter(document_id__in=[d.pk for d in chosen]))
        if in_dispute:
            raise NegotiationError(
                _("%(documents)s: in an open dispute; resolve it before an agreement")
                % {"documents": ", ".join(d.number for d in chosen if d.pk in in_dispute)}
            )
        if len({d.currency for d in chosen}) > 1:
            raise NegotiationError(
                _("the documents are in different currencies: one agreement per currency")
            )
        held = _live_bundled([d.pk for d in chosen])
        if held:
            raise NegotiationError(
                _("%(documents)s: already in agreement %(agreement)s")
                % {
                    "documents": ", ".join(d.number for d in chosen if d.pk in held),
                    "agreement": ", ".join(sorted(set(held.values()))),
                }
            )
        ids = [d.pk for d in chosen]
    else:
        candidates = (
            Document.objects.filter(debtor=debtor, balance_minor__gt=0)
            .exclude(pk__in=disputed)
            .exclude(pk__in=AgreementDocument.objects.filter(is_live=True).values("document_id"))
            .exclude(pk__in=_active_installments().values("document_id"))
        )
        currencies = set(candidates.values_list("currency", flat=True).distinct())
        if not currencies:
            raise NegotiationError(
                _("%(debtor)s owes nothing that an agreement could bundle")
                % {"debtor": debtor.name}
            )
        currency = currencies.pop() if len(currencies) == 1 else creditor.currency
        ids = list(candidates.filter(currency=currency).values_list("pk", flat=True))
        if not ids:
            raise NegotiationError(
                _("%(debtor)s owes nothing in %(currency)s that an agreement could bundle")
                % {"debtor": debtor.name, "currency": currency}
            )
    return list(Document.objects.select_for_update().filter(pk__in=ids).order_by("due_date", "pk"))


def _waivable(documents: list[Document]) -> dict[int, int]:
    """Late interest and fees each document carries (what an agreement may waive), capped at
    what it still owes."""
    totals = dict(
        LedgerEntry.objects.filter(
            document_id__in=[d.pk for d in documents], kind__in=[EntryKind.INTEREST, EntryKind.FEE]
        )
        .values("document_id")
        .annotate(total=Sum("amount_minor"))
        .values_list("document_id", "total")
    )
    return {d.pk: max(0, min(int(totals.get(d.pk) or 0), d.balance_minor)) for d in documents}


def _check_rate(creditor: Creditor, rate: Decimal, as_of: datetime.date) -> Decimal | None:
    if not rate.is_finite() or rate < 0:
        raise NegotiationError(_("the rate must be zero or more (% E.A.)"))
    legal = legal_max_rate(creditor.country, as_of)
    if rate > 0 and legal is None:
        raise NegotiationError(
            _(
                "the legal maximum rate of %(country)s for %(month)s is not entered: an "
                "administrator enters it first (or agree at 0 %%)"
            )
            % {"country": creditor.country, "month": as_of.strftime("%Y-%m")}
        )
    if legal is not None and rate > legal:
        raise NegotiationError(
            _("%(rate)s %% E.A. is above the legal maximum of %(legal)s %% E.A. for %(month)s")
            % {
                "rate": rate.normalize(),
                "legal": legal.normalize(),
                "month": as_of.strftime("%Y-%m"),
            }
        )
    return legal


def _choice(value: str, choices: Any, what: str) -> str:
    if value not in choices.values:
        raise NegotiationError(
            _("unknown %(what)s '%(value)s' (use %(known)s)")
            % {"what": what, "value": value, "known": ", ".join(choices.values)}
        )
    return value


@dataclass
class _Draft:
    """An agreement worked out from a proposal, nothing written yet."""

    agreement: Agreement  # unsaved
    documents: list[Document]  # bundled, locked, oldest due first
    schedule: list[AgreementInstallment]  # unsaved, without their agreement; n = 0: down payment
    waivable_minor: int  # the late interest and fees the documents carry


def _draft(
    *,
    creditor: Creditor,
    debtor: Debtor,
    installments: int,
    as_of: datetime.date,
    documents: Sequence[Document],
    frequency: str,
    method: str,
    annual_rate: Decimal | None,
    first_date: datetime.date | None,
    down_payment: Decimal,
    down_payment_date: datetime.date | None,
    waive: Decimal,
    discount: Decimal,
    note: str,
) -> _Draft:
    """Check a proposal and work out its figures and schedule (inside a transaction: the
    debtor and the documents are locked)."""
    _refuse_erp(creditor, _("a payment agreement"))
    debtor = _debtor_locked(creditor, debtor)
    _choice(frequency, AgreementFrequency, _("frequency"))
    _choice(method, AgreementMethod, _("method"))
    if not isinstance(installments, int) or installments < 1:
        raise NegotiationError(_("an agreement has at least one installment"))
    bundle = _bundle(creditor, debtor, documents)
    currency = bundle[0].currency
    owed = sum(d.balance_minor for d in bundle)
    waived = _amount_minor(waive, currency) if waive else 0
    discounted = _amount_minor(discount, currency) if discount else 0
    down = _amount_minor(down_payment, currency) if down_payment else 0
    waivable = _waivable(bundle)
    if waived > sum(waivable.values()):
        raise NegotiationError(
            _("%(waived)s of interest and fees waived, but the documents carry only %(total)s")
            % {
                "waived": format_minor(waived, currency, creditor.locale),
                "total": format_minor(sum(waivable.values()), currency, creditor.locale),
            }
        )
    principal = owed - waived - discounted
    if principal <= down:
        raise NegotiationError(
            _("after the waiver, the discount and the down payment nothing is left to finance")
        )
    terms = terms_of(creditor)
    list_rate = Decimal(terms.agreement_list_rate)  # an unsaved default row holds an int
    rate = list_rate if annual_rate is None else annual_rate
    legal = _check_rate(creditor, rate, as_of)
    first = first_date or default_first_date(as_of, Frequency(frequency))
    if first < as_of:
        raise NegotiationError(
            _("the first installment %(date)s is already past (today is %(as_of)s)")
            % {"date": first, "as_of": as_of}
        )
    if down_payment_date is not None and not (as_of <= down_payment_date <= first):
        raise NegotiationError(
            _("the down payment falls due between today and the first installment")
        )
    try:
        plan = plan_build(
            principal=from_minor(principal, currency),
            installments=installments,
            currency=currency,
            first_date=first,
            annual_rate_percent=rate,
            frequency=Frequency(frequency),
            down_payment=from_minor(down, currency),
            method=Method(method),
        )
    except PlanError as exc:
        raise NegotiationError(str(exc)) from exc
    agreement = Agreement(
        creditor=creditor,
        debtor=debtor,
        whole_account=not documents,
        currency=currency,
        owed_minor=owed,
        waived_minor=waived,
        discount_minor=discounted,
        principal_minor=principal,
        down_payment_minor=down,
        down_payment_date=down_payment_date,
        annual_rate=rate,
        list_rate=list_rate,
        legal_max_rate=legal,
        frequency=frequency,
        method=method,
        installments_count=installments,
        first_date=first,
        total_interest_minor=plan.total_interest,
        note=note,
        proposed_on=as_of,
    )
    rows = []
    if down:
        rows.append(
            AgreementInstallment(
                n=0,
                due_date=down_payment_date or as_of,
                payment_minor=down,
                interest_minor=0,
                principal_minor=down,
                balance_minor=plan.financed,
            )
        )
    rows += [
        AgreementInstallment(
            n=i.n,
            due_date=i.due_date,
            payment_minor=i.payment,
            interest_minor=i.interest,
            principal_minor=i.principal,
            balance_minor=i.balance,
        )
        for i in plan.installments
    ]
    return _Draft(agreement, bundle, rows, sum(waivable.values()))


@dataclass(frozen=True)
class AgreementQuote:
    """What `agreement_propose` would make of a proposal, nothing written: the agreement and
    its schedule (unsaved; n = 0 is the down payment, due the day of approval unless a date
    was agreed), the documents it bundles, and why the proposer's limits do not cover it
    (empty: it would be active at once)."""

    agreement: Agreement
    documents: list[Document]
    schedule: list[AgreementInstallment]
    reasons: list[str]
    waivable_minor: int

    @property
    def total_minor(self) -> int:
        """Everything the debtor pays: the down payment and every installment."""
        return sum(row.payment_minor for row in self.schedule)


@transaction.atomic
def agreement_quote(
    *,
    creditor: Creditor,
    debtor: Debtor,
    installments: int,
    as_of: datetime.date,
    actor: Actor,
    documents: Sequence[Document] = (),
    frequency: str = AgreementFrequency.MONTHLY,
    method: str = AgreementMethod.FRENCH,
    annual_rate: Decimal | None = None,
    first_date: datetime.date | None = None,
    down_payment: Decimal = Decimal(0),
    down_payment_date: datetime.date | None = None,
    waive: Decimal = Decimal(0),
    discount: Decimal = Decimal(0),
    note: str = "",
) -> AgreementQuote:
    """Check a proposal as `agreement_propose` does and show its schedule, writing nothing:
    the calculator a collector looks at with the debtor before proposing. Refused with the
    same `NegotiationError`s."""
    draft = _draft(
        creditor=creditor,
        debtor=debtor,
        installments=installments,
        as_of=as_of,
        documents=documents,
        frequency=frequency,
        method=method,
        annual_rate=annual_rate,
        first_date=first_date,
        down_payment=down_payment,
        down_payment_date=down_payment_date,
        waive=waive,
        discount=discount,
        note=note,
    )
    draft.agreement.proposed_by = _user_of(actor)
    return AgreementQuote(
        agreement=draft.agreement,
        documents=draft.documents,
        schedule=draft.schedule,
        reasons=approval_shortfalls(draft.agreement, _user_of(actor)),
        waivable_minor=draft.waivable_minor,
    )


@transaction.atomic
def agreement_propose(
    *,
    creditor: Creditor,
    debtor: Debtor,
    installments: int,
    as_of: datetime.date,
    actor: Actor,
    documents: Sequence[Document] = (),
    frequency: str = AgreementFrequency.MONTHLY,
    method: str = AgreementMethod.FRENCH,
    annual_rate: Decimal | None = None,
    first_date: datetime.date | None = None,
    down_payment: Decimal = Decimal(0),
    down_payment_date: datetime.date | None = None,
    waive: Decimal = Decimal(0),
    discount: Decimal = Decimal(0),
    note: str = "",
    submit: bool = True,
) -> Agreement:
    """Propose an agreement on `documents` (none: the whole account) and schedule it.

    `annual_rate` is % E.A. (None: the creditor's list rate), never above the country's legal
    maximum for the month; `waive` is late interest and fees given up (at most what the
    documents carry), `discount` a part of the debt given up. With `submit` (the default) it
    is at once approved and activated when the proposer's limits cover it, else it waits for
    approval (`approval_reasons` says why); without, it stays a draft (`agreement_submit`).
    `agreement_quote` shows the same without writing anything.
    """
    draft = _draft(
        creditor=creditor,
        debtor=debtor,
        installments=installments,
        as_of=as_of,
        documents=documents,
        frequency=frequency,
        method=method,
        annual_rate=annual_rate,
        first_date=first_date,
        down_payment=down_payment,
        down_payment_date=down_payment_date,
        waive=waive,
        discount=discount,
        note=note,
    )
    agreement, bundle = draft.agreement, draft.documents
    agreement.proposed_by = _user_of(actor)
    agreement.save()
    agreement.number = f"AC-{agreement.pk:06d}"
    agreement.save(update_fields=["number"])
    AgreementDocument.objects.bulk_create(
        [
            AgreementDocument(agreement=agreement, document=d, balance_minor=d.balance_minor)
            for d in bundle
        ]
    )
    rows = draft.schedule
    for row in rows:
        row.agreement = agreement
    AgreementInstallment.objects.bulk_create(rows)
    audit_record(
        actor=actor,
        action="agreement.propose",
        obj=agreement,
        creditor_id=creditor.pk,
        changes={
            "debtor": debtor.pk,
            "documents": _numbers(bundle),
            "whole_account": agreement.whole_account,
            "currency": agreement.currency,
            "owed_minor": agreement.owed_minor,
            "waived_minor": agreement.waived_minor,
            "discount_minor": agreement.discount_minor,
            "principal_minor": agreement.principal_minor,
            "down_payment_minor": agreement.down_payment_minor,
            "annual_rate": agreement.annual_rate,
            "frequency": frequency,
            "method": method,
            "installments": installments,
            "first_date": agreement.first_date,
            "as_of": as_of,
        },
    )
    if submit:
        _submit(agreement, as_of=as_of, actor=actor)
    return agreement


def _locked(agreement: Agreement, *expected: str) -> Agreement:
    locked = (
        Agreement.objects.select_for_update()
        .select_related("creditor", "debtor")
        .filter(pk=agreement.pk)
        .first()
    )
    if locked is None or locked.status not in expected:
        status = locked.get_status_display() if locked else "?"
        raise NegotiationError(
            _("agreement %(number)s is %(status)s: that cannot be done now")
            % {"number": agreement.number, "status": str(status).lower()}
        )
    return locked


def _submit(agreement: Agreement, *, as_of: datetime.date, actor: Actor) -> Agreement:
    reasons = approval_shortfalls(agreement, _user_of(actor))
    if not reasons:
        return _activate(
            agreement,
            as_of=as_of,
            actor=actor,
            note=_("within the proposer's limits"),
        )
    agreement.status = AgreementStatus.PENDING_APPROVAL
    agreement.approval_reasons = reasons
    agreement.save(update_fields=["status", "approval_reasons"])
    audit_record(
        actor=actor,
        action="agreement.submit",
        obj=agreement,
        creditor_id=agreement.creditor_id,
        changes={
            "status": [AgreementStatus.DRAFT, AgreementStatus.PENDING_APPROVAL],
            "reasons": reasons,
        },
    )
    return agreement


@transaction.atomic
def agreement_submit(*, agreement: Agreement, as_of: datetime.date, actor: Actor) -> Agreement:
    """Send a draft on: activated at once within the submitter's limits, else to approval."""
    locked = _locked(agreement, AgreementStatus.DRAFT)
    return _submit(locked, as_of=as_of, actor=actor)


def _check_approver(agreement: Agreement, actor: Actor) -> User:
    user = _user_of(actor)
    if user is None or not user.has_perm("negotiation.approve_agreement"):
        raise NegotiationError(_("only a supervisor or an administrator approves agreements"))
    if not user.is_superuser and not user.memberships.filter(creditor=agreement.creditor).exists():
        raise NegotiationError(_("this agreement belongs to a creditor you do not work for"))
    return user


@transaction.atomic
def agreement_approve(
    *, agreement: Agreement, as_of: datetime.date, actor: Actor, note: str = ""
) -> Agreement:
    """Approve an agreement waiting for approval and activate it; refused unless the
    approver's limits cover it (a collector's limits never approve what a collector
    proposed beyond them)."""
    locked = _locked(agreement, AgreementStatus.PENDING_APPROVAL)
    user = _check_approver(locked, actor)
    reasons = approval_shortfalls(locked, user)
    if reasons:
        raise NegotiationError(
            _("beyond your approval limits: %(reasons)s") % {"reasons": "; ".join(reasons)}
        )
    return _activate(locked, as_of=as_of, actor=actor, note=note)


@transaction.atomic
def agreement_reject(
    *, agreement: Agreement, as_of: datetime.date, actor: Actor, note: str
) -> Agreement:
    """Reject an agreement waiting for approval, saying why; its documents are free again."""
    locked = _locked(agreement, AgreementStatus.PENDING_APPROVAL)
    user = _check_approver(locked, actor)
    note = note.strip()
    if not note:
        raise NegotiationError(_("say why the agreement is rejected"))
    locked.status = AgreementStatus.REJECTED
    locked.decided_by = user
    locked.decided_at = timezone.now()
    locked.decided_on = as_of
    locked.decision_note = note
    locked.closed_on = as_of
    locked.save(
        update_fields=[
            "status",
            "decided_by",
            "decided_at",
            "decided_on",
            "decision_note",
            "closed_on",
        ]
    )
    AgreementDocument.objects.filter(agreement=locked).update(is_live=False)
    audit_record(
        actor=actor,
        action="agreement.reject",
        obj=locked,
        creditor_id=locked.creditor_id,
        changes={
            "status": [AgreementStatus.PENDING_APPROVAL, AgreementStatus.REJECTED],
            "note": note,
            "as_of": as_of,
        },
    )
    return locked


@transaction.atomic
def agreement_cancel(
    *, agreement: Agreement, as_of: datetime.date, actor: Actor, note: str = ""
) -> Agreement:
    """Withdraw a draft or an agreement waiting for approval (the debtor changed their mind)."""
    locked = _locked(agreement, AgreementStatus.DRAFT, AgreementStatus.PENDING_APPROVAL)
    before = locked.status
    locked.status = AgreementStatus.CANCELLED
    locked.closed_on = as_of
    locked.closed_reason = note.strip()[:400]
    locked.save(update_fields=["status", "closed_on", "closed_reason"])
    AgreementDocument.objects.filter(agreement=locked).update(is_live=False)
    audit_record(
        actor=actor,
        action="agreement.cancel",
        obj=locked,
        creditor_id=locked.creditor_id,
        changes={"status": [before, AgreementStatus.CANCELLED], "note": note, "as_of": as_of},
    )
    return locked


@transaction.atomic
def agreement_break(
    *, agreement: Agreement, as_of: datetime.date, actor: Actor, note: str
) -> Agreement:
    """Declare an active agreement broken before the daily run would (the debtor said they
    will not pay); the installments stay as they are and collection resumes on them."""
    locked = _locked(agreement, AgreementStatus.ACTIVE)
    note = note.strip()
    if not note:
        raise NegotiationError(_("say why the agreement is broken"))
    locked.status = AgreementStatus.BROKEN
    locked.closed_on = as_of
    locked.closed_reason = note[:400]
    locked.save(update_fields=["status", "closed_on", "closed_reason"])
    AgreementDocument.objects.filter(agreement=locked).update(is_live=False)
    audit_record(
        actor=actor,
        action="agreement.break",
        obj=locked,
        creditor_id=locked.creditor_id,
        changes={"status": [AgreementStatus.ACTIVE, AgreementStatus.BROKEN], "note": note},
    )
    return locked


# -- activation --------------------------------------------------------------------------------


def _entry(
    agreement: Agreement,
    document_id: int,
    kind: str,
    amount: int,
    as_of: datetime.date,
    actor: Actor,
    moment: datetime.datetime,
) -> LedgerEntry:
    return LedgerEntry(
        creditor_id=agreement.creditor_id,
        document_id=document_id,
        kind=kind,
        amount_minor=amount,
        currency=agreement.currency,
        effective_date=as_of,
        memo=(_("agreement %(number)s") % {"number": agreement.number})[:200],
        recorded_by=actor.label[:150],
        recorded_at=moment,
    )


def _activate(agreement: Agreement, *, as_of: datetime.date, actor: Actor, note: str) -> Agreement:
    """Approve and activate: move the debt onto the installments in the ledger, keep the
    PDF, tell the debtor. Refused when the bundled documents changed since the proposal."""
    before = agreement.status
    links = list(
        AgreementDocument.objects.filter(agreement=agreement).order_by(
            "document__due_date", "document_id"
        )
    )
    documents = {
        d.pk: d
        for d in Document.objects.select_for_update().filter(pk__in=[x.document_id for x in links])
    }
    changed = [
        documents[x.document_id].number
        for x in links
        if documents[x.document_id].balance_minor != x.balance_minor
    ]
    if changed:
        raise NegotiationError(
            _(
                "%(documents)s: the balance changed since the agreement was proposed (a "
                "payment?); cancel it and propose it again"
            )
            % {"documents": ", ".join(changed)}
        )
    disputed = set(
        disputed_document_ids(agreement.creditor).filter(document_id__in=list(documents))
    )
    if disputed:
        raise NegotiationError(
            _("%(documents)s: disputed since the agreement was proposed")
            % {"documents": ", ".join(documents[pk].number for pk in sorted(disputed))}
        )
    schedule = list(AgreementInstallment.objects.filter(agreement=agreement).order_by("n"))
    if agreement.first_date < as_of:
        raise NegotiationError(
            _(
                "the first installment (%(date)s) is already past: cancel the agreement and "
                "propose it again with new dates"
            )
            % {"date": agreement.first_date}
        )
    if agreement.down_payment_minor and agreement.down_payment_date is None:
        # The down payment falls due the day the agreement is approved.
        schedule[0].due_date = as_of
        schedule[0].save(update_fields=["due_date"])

    moment = timezone.now()
    entries: list[LedgerEntry] = []
    waive_left, discount_left = agreement.waived_minor, agreement.discount_minor
    waivable = _waivable([documents[x.document_id] for x in links])
    for link in links:
        document = documents[link.document_id]
        waived = min(waive_left, waivable[document.pk])
        waive_left -= waived
        discounted = min(discount_left, document.balance_minor - waived)
        discount_left -= discounted
        link.discount_minor = waived + discounted
        link.refinanced_minor = document.balance_minor - link.discount_minor
        link.is_live = True
        if link.discount_minor:
            entries.append(
                _entry(
                    agreement,
                    document.pk,
                    EntryKind.DISCOUNT,
                    -link.discount_minor,
                    as_of,
                    actor,
                    moment,
                )
            )
        if link.refinanced_minor:
            entries.append(
                _entry(
                    agreement,
                    document.pk,
                    EntryKind.REFINANCE,
                    -link.refinanced_minor,
                    as_of,
                    actor,
                    moment,
                )
            )
        document.balance_minor = 0
        document.status = DocumentStatus.CLOSED
        document.updated_at = moment
    # The waivable amounts were checked when proposed and the balances are unchanged since.
    assert waive_left == 0 and discount_left == 0
    AgreementDocument.objects.bulk_update(links, ["discount_minor", "refinanced_minor"])
    Document.objects.bulk_update(
        list(documents.values()), ["balance_minor", "status", "updated_at"]
    )

    references = references_allocate(creditor=agreement.creditor, count=len(schedule))
    new_documents = [
        Document(
            creditor_id=agreement.creditor_id,
            debtor_id=agreement.debtor_id,
            kind=DocumentKind.INSTALLMENT,
            number=f"{agreement.number}-{row.n:02d}",
            external_id=f"{agreement.number}-{row.n:02d}",
            issue_date=as_of,
            due_date=row.due_date,
            currency=agreement.currency,
            amount_minor=row.payment_minor,
            balance_minor=row.payment_minor,
            status=DocumentStatus.OPEN,
            payment_reference=reference,
            created_at=moment,
            updated_at=moment,
        )
        for row, reference in zip(schedule, references, strict=True)
    ]
    Document.objects.bulk_create(new_documents)
    for row, document in zip(schedule, new_documents, strict=True):
        row.document = document
        entries.append(
            _entry(
                agreement,
                document.pk,
                EntryKind.REFINANCE,
                row.principal_minor,
                as_of,
                actor,
                moment,
            )
        )
        if row.interest_minor:
            entries.append(
                _entry(
                    agreement,
                    document.pk,
                    EntryKind.INTEREST,
                    row.interest_minor,
                    as_of,
                    actor,
                    moment,
                )
            )
    AgreementInstallment.objects.bulk_update(schedule, ["document"])
    LedgerEntry.objects.bulk_create(entries)
    # The agreement replaces the promises on what it bundles (or on the whole account).
    cancelled = _cancel_overlapping(
        creditor=agreement.creditor,
        debtor=agreement.debtor,
        scope=_Scope([documents[x.document_id] for x in links], agreement.currency, 0),
        as_of=as_of,
        actor=actor,
    )

    agreement.status = AgreementStatus.ACTIVE
    agreement.decided_by = _user_of(actor)
    agreement.decided_at = moment
    agreement.decided_on = as_of
    agreement.decision_note = note
    agreement.pdf.save(
        f"{agreement.creditor.code}/{agreement.number}.pdf",
        ContentFile(agreement_pdf(agreement)),
        save=False,
    )
    agreement.save(
        update_fields=["status", "decided_by", "decided_at", "decided_on", "decision_note", "pdf"]
    )
    audit_record(
        actor=actor,
        action="agreement.approve",
        obj=agreement,
        creditor_id=agreement.creditor_id,
        changes={
            "status": [before, AgreementStatus.ACTIVE],
            "note": note,
            "as_of": as_of,
            "refinanced": {documents[x.document_id].number: x.refinanced_minor for x in links},
            "installments": [d.number for d in new_documents],
            "cancelled_promises": cancelled,
        },
    )
    agreement_activated.send(sender=Agreement, agreement=agreement, actor=actor)
    return agreement


# -- the PDF -----------------------------------------------------------------------------------


_FREQUENCY_ES = {
    AgreementFrequency.MONTHLY: "mensual",
    AgreementFrequency.SEMIMONTHLY: "quincenal (días 15 y último de cada mes)",
    AgreementFrequency.BIWEEKLY: "cada catorce días",
    AgreementFrequency.WEEKLY: "semanal",
}
_METHOD_ES = {
    AgreementMethod.FRENCH: "cuotas iguales (sistema francés)",
    AgreementMethod.GERMAN: "abono a capital constante (sistema alemán)",
}


def agreement_context(agreement: Agreement) -> dict[str, Any]:
    """What the agreement's PDF shows, formatted as the creditor's country writes it."""
    creditor, debtor = agreement.creditor, agreement.debtor
    c, locale = agreement.currency, creditor.locale

    def money(minor: int) -> str:
        return format_minor(minor, c, locale)

    def day(value: datetime.date | None) -> str:
        return format_date(value, "long", locale=locale) if value else ""

    schedule = list(
        AgreementInstallment.objects.filter(agreement=agreement)
        .select_related("document")
        .order_by("n")
    )
    bundled = list(
        AgreementDocument.objects.filter(agreement=agreement)
        .select_related("document")
        .order_by("document__due_date", "document_id")
    )
    return {
        "agreement": agreement,
        "creditor": creditor,
        "debtor": debtor,
        "number": agreement.number,
        "date": day(agreement.decided_on or agreement.proposed_on),
        "owed": money(agreement.owed_minor),
        "waived": money(agreement.waived_minor) if agreement.waived_minor else "",
        "discount": money(agreement.discount_minor) if agreement.discount_minor else "",
        "principal": money(agreement.principal_minor),
        "down_payment": money(agreement.down_payment_minor) if agreement.down_payment_minor else "",
        "financed": money(agreement.financed_minor),
        "rate": f"{agreement.annual_rate.normalize():f}".replace(".", ","),
        "frequency": _FREQUENCY_ES[AgreementFrequency(agreement.frequency)],
        "method": _METHOD_ES[AgreementMethod(agreement.method)],
        "total_interest": money(agreement.total_interest_minor),
        "total": money(sum(row.payment_minor for row in schedule)),
        "documents": [
            {
                "number": link.document.number,
                "due_date": day(link.document.due_date),
                "owed": money(link.balance_minor),
            }
            for link in bundled
        ],
        "installments": [
            {
                "n": row.n,
                "label": "Cuota inicial" if row.n == 0 else str(row.n),
                "due_date": day(row.due_date),
                "payment": money(row.payment_minor),
                "interest": money(row.interest_minor),
                "principal": money(row.principal_minor),
                "balance": money(row.balance_minor),
                "reference": row.document.payment_reference if row.document else "",
            }
            for row in schedule
        ],
        "payment_reference": debtor.payment_reference,
        "break_days": terms_of(creditor).agreement_break_days,
    }


def agreement_pdf(agreement: Agreement) -> bytes:
    """The agreement as a PDF in Spanish (WeasyPrint)."""
    # Imported here: WeasyPrint loads Pango at import, which the daily run never needs.
    from weasyprint import HTML

    with translation.override("es"):
        html = render_to_string("negotiation/agreement.html", agreement_context(agreement))
    return bytes(HTML(string=html).write_pdf())


# -- the daily run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallmentDue:
    """An installment to remind the debtor of (see `signals.installments_due`)."""

    installment_id: int
    agreement_id: int
    agreement_number: str
    debtor_id: int
    document_id: int
    n: int
    of: int
    due_date: datetime.date
    owed_minor: int
    currency: str


@dataclass(frozen=True)
class AlertRequest:
    """An alert the daily run should write (negotiation does not know the alert model)."""

    debtor_id: int
    kind: str
    message: str


@dataclass
class AgreementsDecision:
    kept: int = 0
    broken: int = 0
    reminders: int = 0
    alerts: list[AlertRequest] = field(default_factory=list)

    def as_json(self) -> dict[str, int]:
        return {"kept": self.kept, "broken": self.broken, "reminders": self.reminders}


def _owed_as_of(as_of: datetime.date) -> Any:
    """What the outer installment's document owes at the end of `as_of` (from its ledger)."""
    return Coalesce(
        Subquery(
            LedgerEntry.objects.filter(
                document_id=OuterRef("document_id"), effective_date__lte=as_of
            )
            .order_by()
            .annotate(t=_Sum("amount_minor"))
            .values("t")[:1]
        ),
        Value(0, output_field=BigIntegerField()),
        output_field=BigIntegerField(),
    )


# No savepoint of its own: the daily run calls it inside its transaction, and a failure there
# fails the whole run anyway.
@transaction.atomic(savepoint=False)
def agreements_decide(
    *,
    creditor: Creditor,
    as_of: datetime.date,
    actor: Actor | None = None,
    terms: NegotiationTerms | None = None,
) -> AgreementsDecision:
    """Decide the creditor's active agreements as of `as_of` in a fixed number of statements.

    - kept: every installment is paid (balances from the ledger as of `as_of`);
    - broken: an installment is still owed more than the creditor's `agreement_break_days`
      after its due date; the installments stay as they are, the strategy resumes on them,
      and an alert for the collector and the supervisors is returned;
    - reminders: installments still owed that fall due within `installment_reminder_days`
      are announced (`installments_due`); each is reminded once.

    Running the same day again changes nothing and reminds nobody twice.
    """
    actor = actor or Actor.system("agreements")
    active = Agreement.objects.filter(
        creditor=creditor, status=AgreementStatus.ACTIVE, decided_on__lte=as_of
    )
    decision = AgreementsDecision()
    if not active.exists():
        return decision
    terms = terms or terms_of(creditor)
    unpaid = (
        AgreementInstallment.objects.filter(agreement_id=OuterRef("pk"))
        .alias(owed=_owed_as_of(as_of))
        .filter(owed__gt=0)
    )
    reason_kept = _("every installment paid")
    decision.kept = active.filter(~Exists(unpaid)).update(
        status=AgreementStatus.KEPT, closed_on=as_of, closed_reason=reason_kept
    )
    limit = as_of - datetime.timedelta(days=terms.agreement_break_days)
    late = list(
        active.filter(Exists(unpaid.filter(due_date__lt=limit))).values_list(
            "pk", "debtor_id", "number", "debtor__name"
        )
    )
    if late:
        reason = _("an installment more than %(days)s days late") % {
            "days": terms.agreement_break_days
        }
        decision.broken = Agreement.objects.filter(pk__in=[row[0] for row in late]).update(
            status=AgreementStatus.BROKEN, closed_on=as_of, closed_reason=reason
        )
        for _pk, debtor_id, number, name in late:
            decision.alerts.append(
                AlertRequest(
                    debtor_id=debtor_id,
                    kind=ALERT_BROKEN_AGREEMENT,
                    message=_(
                        "%(name)s broke payment agreement %(number)s: %(reason)s; collection "
                        "resumes on the installments"
                    )
                    % {"name": name, "number": number, "reason": reason},
                )
            )
    if decision.kept or decision.broken:
        AgreementDocument.objects.filter(agreement__creditor=creditor, is_live=True).exclude(
            agreement__status__in=LIVE_AGREEMENT_STATUSES
        ).update(is_live=False)
        audit_record(
            actor=actor,
            action="agreements.decide",
            creditor_id=creditor.pk,
            changes={
                "as_of": as_of,
                "kept": decision.kept,
                "broken": [row[2] for row in late],
            },
        )
    horizon = as_of + datetime.timedelta(days=terms.installment_reminder_days)
    due = list(
        AgreementInstallment.objects.filter(
            agreement__creditor=creditor,
            agreement__status=AgreementStatus.ACTIVE,
            agreement__decided_on__lte=as_of,
            due_date__gte=as_of,
            due_date__lte=horizon,
            document__isnull=False,
        )
        .alias(owed=_owed_as_of(as_of))
        .filter(owed__gt=0)
        .annotate(owed_now=_owed_as_of(as_of))
        .values_list(
            "pk",
            "agreement_id",
            "agreement__number",
            "agreement__debtor_id",
            "document_id",
            "n",
            "due_date",
            "owed_now",
            "agreement__currency",
            "agreement__installments_count",
        )
        .order_by("due_date", "pk")
    )
    reminders = [
        InstallmentDue(
            installment_id=pk,
            agreement_id=agreement_id,
            agreement_number=number,
            debtor_id=debtor_id,
            document_id=document_id,
            n=n,
            of=of,
            due_date=due_date,
            owed_minor=int(owed),
            currency=currency,
        )
        for pk, agreement_id, number, debtor_id, document_id, n, due_date, owed, currency, of in due
    ]
    if reminders:
        installments_due.send(
            sender=Agreement, creditor=creditor, as_of=as_of, installments=reminders, actor=actor
        )
    decision.reminders = len(reminders)
    return decision
