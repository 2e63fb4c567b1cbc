"""Promises to pay (alone or as the parts of a plan) and disputes over documents.

Amounts are integers in the currency's minor unit (`*_minor`), see `cartera.core.money`.
Rows are written by `cartera.negotiation.services` (validation, cancellations, audit); the
admin only shows them and lets staff correct a note.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import F, Q
from django.utils.deconstruct import deconstructible
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


def promise_break_limit() -> int:
    """Broken promises an account may have in the window before a supervisor must take the
    next one (0: no limit)."""
    return int(getattr(settings, "CARTERA_PROMISE_BREAK_LIMIT", 3))


def promise_break_window_days() -> int:
    return int(getattr(settings, "CARTERA_PROMISE_BREAK_WINDOW_DAYS", 90))


def agreement_break_days() -> int:
    """Days an installment may be late before the agreement is broken."""
    return int(getattr(settings, "CARTERA_AGREEMENT_BREAK_DAYS", 30))


def installment_reminder_days() -> int:
    """Days before an installment falls due that its reminder is queued."""
    return int(getattr(settings, "CARTERA_INSTALLMENT_REMINDER_DAYS", 3))


@deconstructible
class HomeStorage(FileSystemStorage):
    """Files under a folder of `CARTERA_HOME`, read from the settings at each use (so a test
    or a deployment that moves `CARTERA_HOME` moves the files with it)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        super().__init__()

    @property  # type: ignore[override]
    def base_location(self) -> str:
        return str(Path(settings.CARTERA_HOME) / self.folder)

    @property  # type: ignore[override]
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    @property
    def base_url(self) -> None:  # type: ignore[override]
        # No URL: the files are streamed by views that check permissions first.
        return None


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
    # The built-in categories, or one an administrator added (`DisputeCategoryOption`).
    category = models.CharField(_("category"), max_length=20, choices=DisputeCategory.choices)
    note = models.TextField(_("note"), blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Who investigates and resolves it"),
    )
    amount_minor = models.BigIntegerField(
        _("amount disputed (minor units)"),
        null=True,
        blank=True,
        help_text=_("Empty: the whole open balance of its documents"),
    )
    credited_minor = models.BigIntegerField(
        _("credited (minor units)"),
        default=0,
        help_text=_("The credit note booked when it was resolved"),
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
                condition=Q(category__regex=r"^[a-z0-9_]+$"), name="dispute_category_code"
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__isnull=True) | Q(amount_minor__gt=0),
                name="dispute_amount_positive",
            ),
            models.CheckConstraint(
                condition=Q(credited_minor__gte=0), name="dispute_credited_not_negative"
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
            "category": self.category_label,
        }

    @property
    def category_label(self) -> str:
        """The category's name as the administrator set it: a category they added has no
        built-in name, and they may rename a built-in one (a creditor's own row wins).
        Querysets annotated with `category_custom` (the admin's list) skip the query."""
        if hasattr(self, "category_custom"):
            custom = self.category_custom
        else:
            custom = (
                DisputeCategoryOption.objects.filter(
                    Q(creditor_id=self.creditor_id) | Q(creditor__isnull=True), code=self.category
                )
                .order_by(F("creditor_id").asc(nulls_last=True))
                .values_list("label", flat=True)
                .first()
            )
        return custom or str(self.get_category_display())


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


class DisputeCategoryOption(models.Model):
    """A dispute category an administrator adds, renames, gives its own SLA or switches off.

    The built-in categories (`DisputeCategory`) are always offered unless a row with the same
    code switches them off; a row without creditor applies to every creditor, a creditor's own
    row wins over it.
    """

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: every creditor"),
    )
    code = models.SlugField(
        _("code"), max_length=20, help_text=_("Lower-case letters, digits and underscores")
    )
    label = models.CharField(_("name"), max_length=100)
    sla_days = models.PositiveSmallIntegerField(
        _("days to resolve"),
        null=True,
        blank=True,
        help_text=_("Empty: the general setting (CARTERA_DISPUTE_SLA_DAYS)"),
    )
    active = models.BooleanField(_("offered"), default=True)

    class Meta:
        verbose_name = _("dispute category")
        verbose_name_plural = _("dispute categories")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "code"],
                condition=Q(creditor__isnull=False),
                name="dispute_category_creditor_code",
            ),
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(creditor__isnull=True),
                name="dispute_category_global_code",
            ),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[a-z0-9_]+$"), name="dispute_category_option_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.code})"


def _attachment_path(instance: DisputeAttachment, filename: str) -> str:
    dispute = instance.dispute
    return f"disputes/{dispute.creditor_id}/{dispute.pk}/{instance.sha256[:16]}-{filename}"


class DisputeAttachment(models.Model):
    """A file the debtor or the collector brings to a dispute (a delivery note, a photo…),
    stored under `CARTERA_HOME/attachments`."""

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("dispute"), on_delete=models.PROTECT, related_name="attachments"
    )
    file = models.FileField(
        _("file"), storage=HomeStorage("attachments"), upload_to=_attachment_path, max_length=400
    )
    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=now, editable=False)

    class Meta:
        verbose_name = _("dispute attachment")
        verbose_name_plural = _("dispute attachments")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


# -- per creditor terms ------------------------------------------------------------------------


class NegotiationTerms(models.Model):
    """A creditor's terms for promises, agreements, late interest and collection fees.

    A creditor without a row has the defaults: late interest and fees off, the limits and days
    of the `CARTERA_*` settings.
    """

    creditor = models.OneToOneField(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.CASCADE,
        related_name="negotiation_terms",
    )
    promise_break_limit = models.PositiveSmallIntegerField(
        _("broken promises allowed"),
        default=promise_break_limit,
        help_text=_(
            "Once an account has broken this many promises in the window, only a supervisor "
            "may take the next one and the account is escalated (0: no limit)"
        ),
    )
    promise_break_window_days = models.PositiveSmallIntegerField(
        _("window for broken promises (days)"), default=promise_break_window_days
    )
    agreement_list_rate = models.DecimalField(
        _("list rate for agreements (% E.A.)"),
        max_digits=7,
        decimal_places=4,
        default=0,
        help_text=_("The effective annual rate an agreement carries unless approved lower"),
    )
    agreement_break_days = models.PositiveSmallIntegerField(
        _("days late that break an agreement"), default=agreement_break_days
    )
    installment_reminder_days = models.PositiveSmallIntegerField(
        _("days before an installment to remind"), default=installment_reminder_days
    )
    interest_enabled = models.BooleanField(_("charge late interest"), default=False)
    interest_rate = models.DecimalField(
        _("late interest rate (% E.A.)"),
        max_digits=7,
        decimal_places=4,
        default=0,
        help_text=_("Never above the legal maximum of the month (usury rate)"),
    )
    interest_grace_days = models.PositiveSmallIntegerField(
        _("days late before interest runs"), default=0
    )
    fees_enabled = models.BooleanField(_("charge collection fees"), default=False)
    fees_disclosed = models.BooleanField(
        _("fees were disclosed to debtors"),
        default=False,
        help_text=_(
            "Collection fees may only be charged where the debtor was told of them beforehand "
            "(contract, invoice, terms)"
        ),
    )
    fee_percent = models.DecimalField(
        _("collection fee (% of the overdue balance)"), max_digits=5, decimal_places=2, default=0
    )
    fee_after_days = models.PositiveSmallIntegerField(
        _("days late before a fee"),
        default=20,
        help_text=_("And only after documented collection work on the account"),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("negotiation terms")
        verbose_name_plural = _("negotiation terms")
        constraints = [
            models.CheckConstraint(
                condition=Q(interest_enabled=False) | Q(interest_rate__gt=0),
                name="terms_interest_needs_rate",
            ),
            models.CheckConstraint(
                condition=Q(fees_enabled=False) | (Q(fees_disclosed=True) & Q(fee_percent__gt=0)),
                name="terms_fees_need_disclosure",
            ),
            models.CheckConstraint(
                condition=Q(agreement_list_rate__gte=0)
                & Q(interest_rate__gte=0)
                & Q(fee_percent__gte=0)
                & Q(fee_percent__lte=100),
                name="terms_rates_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return gettext("Terms of %(creditor)s") % {"creditor": self.creditor.code}


def terms_of(creditor: Creditor) -> NegotiationTerms:
    """The creditor's terms, or the defaults (an unsaved row) when none were set."""
    found = NegotiationTerms.objects.filter(creditor=creditor).first()
    return found or NegotiationTerms(creditor=creditor)


class UsuryRate(models.Model):
    """The legal maximum interest rate of a country for a month, as the administrator enters it
    (Colombia: the "tasa de usura" the Superintendencia Financiera certifies every month)."""

    country = models.CharField(_("country"), max_length=2)
    month = models.DateField(_("month"), help_text=_("The first day of the month"))
    annual_rate = models.DecimalField(_("maximum rate (% E.A.)"), max_digits=7, decimal_places=4)
    source = models.CharField(
        _("source"), max_length=200, blank=True, default="", help_text=_("e.g. the resolution")
    )
    created_at = models.DateTimeField(_("entered"), default=now, editable=False)

    class Meta:
        verbose_name = _("legal maximum rate")
        verbose_name_plural = _("legal maximum rates")
        ordering = ["country", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["country", "month"], name="usury_country_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="usury_first_of_month"),
            models.CheckConstraint(condition=Q(annual_rate__gt=0), name="usury_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.month:%Y-%m}: {self.annual_rate} % E.A."


class FeeCap(models.Model):
    """How much a country lets a creditor charge for extrajudicial collection: not before some
    days late, and at most a percentage of the debt by tiers (Chile, Ley 21.320: 9 % up to
    10 UF, 6 % from 10 to 50 UF, 3 % above, entered in pesos)."""

    country = models.CharField(_("country"), max_length=2, unique=True)
    currency = models.CharField(_("currency of the tiers"), max_length=3)
    min_days_past_due = models.PositiveSmallIntegerField(_("not before (days late)"), default=0)
    source = models.CharField(_("source"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("collection fee cap")
        verbose_name_plural = _("collection fee caps")
        ordering = ["country"]
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_PATTERN), name="fee_cap_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return gettext("Fee cap %(country)s") % {"country": self.country}


class FeeCapTier(models.Model):
    """The share of the debt up to `up_to_minor` (from the previous tier's limit) that may be
    charged at `percent`; the tier without a limit takes the rest."""

    cap = models.ForeignKey(
        FeeCap, verbose_name=_("cap"), on_delete=models.CASCADE, related_name="tiers"
    )
    up_to_minor = models.BigIntegerField(
        _("up to (minor units)"), null=True, blank=True, help_text=_("Empty: the rest")
    )
    percent = models.DecimalField(_("at most (%)"), max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = [F("up_to_minor").asc(nulls_last=True)]
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gte=0) & Q(percent__lte=100), name="fee_tier_percent"
            ),
            models.CheckConstraint(
                condition=Q(up_to_minor__isnull=True) | Q(up_to_minor__gt=0),
                name="fee_tier_limit_positive",
            ),
            models.UniqueConstraint(
                fields=["cap"], condition=Q(up_to_minor__isnull=True), name="fee_tier_one_rest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.percent} %"


# -- payment agreements ------------------------------------------------------------------------


class ApprovalRole(models.TextChoices):
    COLLECTOR = "collector", _("Collector")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Administrator")


class ApprovalLimit(models.Model):
    """What a role may grant in an agreement without anyone else's approval. Empty: no limit.

    A row without creditor applies to every creditor; a creditor's own row wins over it. A role
    without any row has no authority: what its members propose waits for someone who has, and
    they cannot approve. The first migration writes a row per role for every creditor
    (collector: 6 installments, list rate, no discount or waiver; supervisor: 36 installments,
    30 % discount; administrator: no limit), which the administrator changes in the admin.
    """

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: every creditor"),
    )
    role = models.CharField(_("role"), max_length=12, choices=ApprovalRole.choices)
    max_installments = models.PositiveSmallIntegerField(
        _("installments at most"), null=True, blank=True
    )
    max_discount_percent = models.DecimalField(
        _("discount at most (% of the debt)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
    )
    max_waived_minor = models.BigIntegerField(
        _("interest and fees waived at most (minor units)"),
        null=True,
        blank=True,
        help_text=_("In the creditor's currency; only on a creditor's own row"),
    )
    max_rate_below_list = models.DecimalField(
        _("rate below the list rate at most (points)"),
        max_digits=7,
        decimal_places=4,
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("approval limit")
        verbose_name_plural = _("approval limits")
        ordering = ["creditor_id", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "role"],
                condition=Q(creditor__isnull=False),
                name="approval_limit_creditor_role",
            ),
            models.UniqueConstraint(
                fields=["role"],
                condition=Q(creditor__isnull=True),
                name="approval_limit_global_role",
            ),
            models.CheckConstraint(
                condition=Q(role__in=ApprovalRole.values), name="approval_limit_role_valid"
            ),
            # An amount means nothing without a currency: every creditor's rows differ.
            models.CheckConstraint(
                condition=Q(creditor__isnull=False)
                | Q(max_waived_minor__isnull=True)
                | Q(max_waived_minor=0),
                name="approval_limit_waived_per_creditor",
            ),
            models.CheckConstraint(
                condition=Q(max_waived_minor__isnull=True) | Q(max_waived_minor__gte=0),
                name="approval_limit_waived_not_negative",
            ),
        ]

    def __str__(self) -> str:
        scope = self.creditor.code if self.creditor else gettext("every creditor")
        return f"{self.get_role_display()} · {scope}"


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Waiting for approval")
    REJECTED = "rejected", _("Rejected")
    # Approval and activation are one step: the ledger moves the debt onto the installments
    # the moment the agreement is approved.
    ACTIVE = "active", _("Active")
    BROKEN = "broken", _("Broken")
    KEPT = "kept", _("Kept")
    CANCELLED = "cancelled", _("Cancelled")


LIVE_AGREEMENT_STATUSES = (
    AgreementStatus.DRAFT,
    AgreementStatus.PENDING_APPROVAL,
    AgreementStatus.ACTIVE,
)
"""An agreement in one of these holds its documents: no other agreement may bundle them."""


class AgreementFrequency(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    SEMIMONTHLY = "semimonthly", _("Twice a month (15th and last day)")
    BIWEEKLY = "biweekly", _("Every two weeks")
    WEEKLY = "weekly", _("Weekly")


class AgreementMethod(models.TextChoices):
    FRENCH = "french", _("Equal payments (French)")
    GERMAN = "german", _("Equal principal (German)")


class Agreement(models.Model):
    """A payment agreement ("acuerdo de pago"): documents bundled into a schedule.

    `owed_minor` is what the bundled documents owed when it was proposed; the principal is that
    minus the interest and fees waived and the discount, and is paid as the down payment plus
    the installments' principal parts. On approval the bundled documents are closed by
    `refinance` ledger entries and each installment becomes a document of kind `installment`.
    """

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="agreements",
        db_index=False,
    )
    debtor = models.ForeignKey(
        Debtor,
        verbose_name=_("debtor"),
        on_delete=models.PROTECT,
        related_name="agreements",
        db_index=False,
    )
    number = models.CharField(_("number"), max_length=30, blank=True, default="")
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=AgreementStatus.choices,
        default=AgreementStatus.DRAFT,
    )
    whole_account = models.BooleanField(_("whole account"), default=False)
    currency = models.CharField(_("currency"), max_length=3)
    owed_minor = models.BigIntegerField(_("owed (minor units)"))
    waived_minor = models.BigIntegerField(_("interest and fees waived (minor units)"), default=0)
    discount_minor = models.BigIntegerField(_("discount (minor units)"), default=0)
    principal_minor = models.BigIntegerField(_("principal (minor units)"))
    down_payment_minor = models.BigIntegerField(_("down payment (minor units)"), default=0)
    down_payment_date = models.DateField(
        _("down payment due"), null=True, blank=True, help_text=_("Empty: the day it is approved")
    )
    annual_rate = models.DecimalField(_("rate (% E.A.)"), max_digits=7, decimal_places=4)
    list_rate = models.DecimalField(
        _("list rate when proposed (% E.A.)"), max_digits=7, decimal_places=4, default=0
    )
    legal_max_rate = models.DecimalField(
        _("legal maximum when proposed (% E.A.)"),
        max_digits=7,
        decimal_places=4,
        null=True,
        blank=True,
    )
    frequency = models.CharField(
        _("frequency"),
        max_length=12,
        choices=AgreementFrequency.choices,
        default=AgreementFrequency.MONTHLY,
    )
    method = models.CharField(
        _("method"), max_length=10, choices=AgreementMethod.choices, default=AgreementMethod.FRENCH
    )
    installments_count = models.PositiveSmallIntegerField(_("installments"))
    first_date = models.DateField(_("first installment"))
    total_interest_minor = models.BigIntegerField(_("interest (minor units)"), default=0)
    note = models.TextField(_("note"), blank=True, default="")
    approval_reasons = models.JSONField(
        _("why it needs approval"), default=list, blank=True, editable=False
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=now, editable=False)
    proposed_on = models.DateField(_("proposed on"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved or rejected by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_on = models.DateField(_("approved or rejected on"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True, default="")
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closed_reason = models.CharField(_("why it closed"), max_length=400, blank=True, default="")
    pdf = models.FileField(
        _("agreement (PDF)"),
        storage=HomeStorage("agreements"),
        max_length=400,
        blank=True,
        default="",
    )

    class Meta:
        verbose_name = _("payment agreement")
        verbose_name_plural = _("payment agreements")
        ordering = ["-proposed_on", "-id"]
        permissions = [("approve_agreement", _("Can approve or reject payment agreements"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AgreementStatus.values), name="agreement_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(frequency__in=AgreementFrequency.values),
                name="agreement_frequency_valid",
            ),
            models.CheckConstraint(
                condition=Q(method__in=AgreementMethod.values), name="agreement_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(waived_minor__gte=0)
                & Q(discount_minor__gte=0)
                & Q(down_payment_minor__gte=0)
                & Q(total_interest_minor__gte=0),
                name="agreement_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    principal_minor=F("owed_minor") - F("waived_minor") - F("discount_minor")
                ),
                name="agreement_principal_is_owed_less_concessions",
            ),
            models.CheckConstraint(
                condition=Q(principal_minor__gt=F("down_payment_minor")),
                name="agreement_something_financed",
            ),
            models.CheckConstraint(
                condition=Q(installments_count__gte=1), name="agreement_installments_positive"
            ),
            models.CheckConstraint(
                condition=Q(annual_rate__gte=0), name="agreement_rate_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_PATTERN), name="agreement_currency_iso"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[AgreementStatus.ACTIVE, AgreementStatus.REJECTED])
                | Q(decided_on__isnull=False),
                name="agreement_decided_when_active_or_rejected",
            ),
        ]
        indexes = [
            models.Index(fields=["creditor", "status"], name="agreement_status_idx"),
            models.Index(fields=["debtor", "proposed_on"], name="agreement_debtor_idx"),
        ]

    def __str__(self) -> str:
        return gettext("Agreement %(number)s") % {"number": self.number or f"#{self.pk}"}

    @property
    def financed_minor(self) -> int:
        return self.principal_minor - self.down_payment_minor


class AgreementDocument(models.Model):
    """A document an agreement bundles, with what it owed when proposed and what the agreement
    did to it. `is_live` mirrors the agreement's status so that the database itself refuses a
    document in two live agreements."""

    agreement = models.ForeignKey(
        Agreement, verbose_name=_("agreement"), on_delete=models.PROTECT, related_name="bundled"
    )
    document = models.ForeignKey(
        Document, verbose_name=_("document"), on_delete=models.PROTECT, related_name="+"
    )
    balance_minor = models.BigIntegerField(_("owed when proposed (minor units)"))
    discount_minor = models.BigIntegerField(_("waived or discounted (minor units)"), default=0)
    refinanced_minor = models.BigIntegerField(_("refinanced (minor units)"), default=0)
    is_live = models.BooleanField(_("held by the agreement"), default=True)

    class Meta:
        verbose_name = _("bundled document")
        verbose_name_plural = _("bundled documents")
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "document"], name="agreement_document_unique"
            ),
            models.UniqueConstraint(
                fields=["document"],
                condition=Q(is_live=True),
                name="agreement_document_one_live",
            ),
            models.CheckConstraint(
                condition=Q(balance_minor__gt=0), name="agreement_document_owed_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement_id} · {self.document_id}"


class AgreementInstallment(models.Model):
    """One row of an agreement's schedule (n = 0 is the down payment). Once the agreement is
    approved it has its own document of kind `installment`:
    `Document.objects.filter(agreement_installment__isnull=False)` are the refinancing
    installments (which reports leave out of sales)."""

    agreement = models.ForeignKey(
        Agreement, verbose_name=_("agreement"), on_delete=models.PROTECT, related_name="schedule"
    )
    n = models.PositiveSmallIntegerField(_("number"))
    due_date = models.DateField(_("due date"))
    payment_minor = models.BigIntegerField(_("installment (minor units)"))
    interest_minor = models.BigIntegerField(_("interest (minor units)"))
    principal_minor = models.BigIntegerField(_("principal (minor units)"))
    balance_minor = models.BigIntegerField(_("principal still owed after it (minor units)"))
    document = models.OneToOneField(
        Document,
        verbose_name=_("document"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agreement_installment",
    )

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["agreement_id", "n"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "n"], name="installment_number_unique"),
            models.CheckConstraint(
                condition=Q(payment_minor=F("interest_minor") + F("principal_minor")),
                name="installment_payment_is_parts",
            ),
            models.CheckConstraint(
                condition=Q(principal_minor__gt=0) & Q(interest_minor__gte=0),
                name="installment_parts_positive",
            ),
        ]

    def __str__(self) -> str:
        return gettext("Installment %(n)s of %(agreement)s") % {
            "n": self.n,
            "agreement": self.agreement.number or self.agreement_id,
        }
