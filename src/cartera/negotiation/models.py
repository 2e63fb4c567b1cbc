"""Promises to pay (alone or as the parts of a plan) and disputes over documents.

Amounts are integers in the currency's minor unit (`*_minor`), see `cartera.core.money`.
Rows are written by `cartera.negotiation.services` (validation, cancellations, audit); the
admin only shows them and lets staff correct a note.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.timezone import now
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cartera.core.money import from_minor
from cartera.portfolio.models import CURRENCY_PATTERN, Creditor, Debtor, Document


def promise_grace_days() -> int:
    """Days after the promised date during which a payment still keeps the promise."""
    return int(getattr(settings, "CARTERA_PROMISE_GRACE_DAYS", 2))


def dispute_sla_days() -> int:
    """Calendar days a dispute may stay open before it is overdue."""
    return int(getattr(settings, "CARTERA_DISPUTE_SLA_DAYS", 15))


class Channel(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    VISIT = "visit", _("Visit")
    PORTAL = "portal", _("Portal")
    OTHER = "other", _("Other")


class PromiseStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    KEPT = "kept", _("Kept")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


class PromisePlan(models.Model):
    """A promise in several parts: each part is a `Promise` row with its own amount and date."""

    # Covered by the (creditor, debtor) index below.
    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="promise_plans",
        db_index=False,
    )
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debtor"), on_delete=models.PROTECT, related_name="promise_plans"
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=now, editable=False)

    class Meta:
        verbose_name = _("promise plan")
        verbose_name_plural = _("promise plans")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["creditor", "debtor"], name="promiseplan_debtor_idx")]

    def __str__(self) -> str:
        return gettext("Plan #%(id)s") % {"id": self.pk}


class Promise(models.Model):
    """A debtor's commitment to pay an amount by a date, on some documents or the whole account.

    It is kept when the payments applied to its documents (any document of the debtor in its
    currency when it names none) dated from `created_on` to `deadline` reach its amount, and
    broken when the deadline passes without that. The parts of a plan count the payments
    cumulatively in date order: a part is kept when what was paid covers it and every earlier
    part.
    """

    # Covered by the composite indexes below.
    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="promises",
        db_index=False,
    )
    debtor = models.ForeignKey(
        Debtor,
        verbose_name=_("debtor"),
        on_delete=models.PROTECT,
        related_name="promises",
        db_index=False,
    )
    plan = models.ForeignKey(
        PromisePlan,
        verbose_name=_("plan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="parts",
    )
    documents = models.ManyToManyField(
        Document,
        verbose_name=_("documents"),
        blank=True,
        related_name="promises",
        help_text=_("None: the whole account"),
    )
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    promised_date = models.DateField(_("promised date"))
    grace_days = models.PositiveSmallIntegerField(_("grace days"), default=promise_grace_days)
    # promised_date + grace_days, stored so that the decision is one indexed comparison on
    # every database; save() keeps it in step.
    deadline = models.DateField(_("paid by"), editable=False)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=PromiseStatus.choices,
        default=PromiseStatus.PENDING,
    )
    paid_minor = models.BigIntegerField(
        _("paid towards it (minor units)"),
        default=0,
        help_text=_("What was paid within its window, recorded when it was decided"),
    )
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.CALL
    )
    note = models.TextField(_("note"), blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=now, editable=False)
    created_on = models.DateField(_("taken on"), help_text=_("The as-of date it was taken"))

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["promised_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="promise_amount_positive"),
            models.CheckConstraint(
                condition=Q(paid_minor__gte=0) & Q(paid_minor__lte=F("amount_minor")),
                name="promise_paid_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(promised_date__gte=F("created_on")),
                name="promise_date_not_before_taken",
            ),
            models.CheckConstraint(
                condition=Q(deadline__gte=F("promised_date")), name="promise_deadline_after_date"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PromiseStatus.values), name="promise_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="promise_channel_valid"
            ),
            models.CheckConstraint(
                condition=(Q(status=PromiseStatus.PENDING) & Q(decided_on__isnull=True))
                | (~Q(status=PromiseStatus.PENDING) & Q(decided_on__isnull=False)),
                name="promise_decided_iff_not_pending",
            ),
            models.CheckConstraint(
                condition=~Q(status=PromiseStatus.KEPT) | Q(paid_minor=F("amount_minor")),
                name="promise_kept_fully_paid",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_PATTERN), name="promise_currency_iso"
            ),
        ]
        indexes = [
            # The daily run decides and pauses on pending promises only: keep that index small.
            models.Index(
                fields=["creditor", "debtor"],
                name="promise_pending_idx",
                condition=Q(status=PromiseStatus.PENDING),
            ),
            models.Index(fields=["debtor", "promised_date"], name="promise_debtor_date_idx"),
            # Reports: promises decided on a date (kept rate, broken today).
            models.Index(fields=["creditor", "decided_on"], name="promise_decided_idx"),
        ]

    def __str__(self) -> str:
        return gettext("%(amount)s %(currency)s by %(date)s") % {
            "amount": from_minor(self.amount_minor, self.currency),
            "currency": self.currency,
            "date": self.promised_date,
        }

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.deadline = self.promised_date + datetime.timedelta(days=self.grace_days)
        super().save(*args, **kwargs)


class DisputeCategory(models.TextChoices):
    PRICE = "price", _("Price")
    QUANTITY = "quantity", _("Quantity")
    QUALITY = "quality", _("Quality")
    NOT_RECEIVED = "not_received", _("Not received")
    ALREADY_PAID = "already_paid", _("Already paid")
    DUPLICATE = "duplicate", _("Duplicate")
    OTHER = "other", _("Other")


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class DisputeResolution(models.TextChoices):
    VALID = "valid", _("Valid")
    PARTIALLY_VALID = "partially_valid", _("Partially valid")
    REJECTED = "rejected", _("Rejected")


class Dispute(models.Model):
    """A debtor contests documents; collection on them pauses until it is resolved."""

    # Covered by the (creditor, sla_due_on) index below.
    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="disputes",
        db_index=False,
    )
    debtor = models.ForeignKey(
        Debtor,
        verbose_name=_("debtor"),
        on_delete=models.PROTECT,
        related_name="disputes",
        db_index=False,
    )
    documents: models.ManyToManyField[Document, DisputeDocument] = models.ManyToManyField(
        Document,
        verbose_name=_("documents"),
        through="DisputeDocument",
        related_name="disputes",
    )
    category = models.CharField(_("category"), max_length=20, choices=DisputeCategory.choices)
    note = models.TextField(_("note"), blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    resolution = models.CharField(
        _("resolution"),
        max_length=20,
        choices=DisputeResolution.choices,
        blank=True,
        default="",
    )
    resolution_note = models.TextField(_("resolution note"), blank=True, default="")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened at"), default=now, editable=False)
    opened_on = models.DateField(_("opened on"))
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    sla_due_on = models.DateField(_("to be resolved by"))

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=DisputeCategory.values), name="dispute_category_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status=DisputeStatus.OPEN)
                    & Q(resolution="")
                    & Q(resolved_on__isnull=True)
                    & Q(resolved_at__isnull=True)
                )
                | (
                    Q(status=DisputeStatus.RESOLVED)
                    & Q(resolution__in=DisputeResolution.values)
                    & Q(resolved_on__isnull=False)
                    & Q(resolved_on__gte=F("opened_on"))
                    & Q(resolved_at__isnull=False)
                ),
                name="dispute_resolution_iff_resolved",
            ),
            models.CheckConstraint(
                condition=Q(sla_due_on__gte=F("opened_on")), name="dispute_sla_after_opened"
            ),
        ]
        indexes = [
            # Open disputes pause collection and fill the SLA list: keep that index small.
            models.Index(
                fields=["creditor", "sla_due_on"],
                name="dispute_open_sla_idx",
                condition=Q(status=DisputeStatus.OPEN),
            ),
            models.Index(fields=["debtor", "opened_on"], name="dispute_debtor_idx"),
        ]

    def __str__(self) -> str:
        return gettext("Dispute #%(id)s (%(category)s)") % {
            "id": self.pk,
            "category": self.get_category_display(),
        }


class DisputeDocument(models.Model):
    """A document in a dispute. `is_open` mirrors the dispute's status so that the database
    itself refuses a document in two open disputes."""

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("dispute"), on_delete=models.PROTECT, related_name="links"
    )
    document = models.ForeignKey(
        Document, verbose_name=_("document"), on_delete=models.PROTECT, related_name="+"
    )
    is_open = models.BooleanField(_("open"), default=True)

    class Meta:
        # The name Django gives an automatic many-to-many table; the daily run's SQL reads it.
        db_table = "negotiation_dispute_documents"
        verbose_name = _("disputed document")
        verbose_name_plural = _("disputed documents")
        constraints = [
            models.UniqueConstraint(fields=["dispute", "document"], name="dispute_document_unique"),
            models.UniqueConstraint(
                fields=["document"],
                condition=Q(is_open=True),
                name="dispute_document_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id} · {self.document_id}"
