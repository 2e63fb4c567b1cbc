"""Creditors, debtors and their contact points, documents, the ledger, payments and imports.

Amounts are integers in the currency's minor unit (`*_minor`), see `cartera.core.money`.
A document's balance is the sum of its ledger entries; `Document.balance_minor` is a cache that
`cartera check` proves equal to the ledger.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from cartera.core.money import from_minor

CURRENCY_PATTERN = r"^[A-Z]{3}$"


class BalanceMode(models.TextChoices):
    LEDGER = "ledger", _("Ledger: Cartera records the payments")
    ERP = "erp", _("ERP: the ERP sends open balances every day")


class Creditor(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    tax_id = models.CharField(_("tax id"), max_length=40, blank=True, default="")
    country = models.CharField(_("country"), max_length=2)
    currency = models.CharField(_("base currency"), max_length=3)
    locale = models.CharField(_("locale"), max_length=16)
    timezone = models.CharField(_("time zone"), max_length=64)
    balance_mode = models.CharField(
        _("balance mode"), max_length=10, choices=BalanceMode.choices, default=BalanceMode.LEDGER
    )
    # Last number handed out for payment references (debtors and documents share it).
    display_decimals = models.PositiveSmallIntegerField(
        _("decimals shown"),
        null=True,
        blank=True,
        help_text=_(
            "Decimals shown to debtors in messages and letters; empty: the currency's own "
            "(COP is usually shown without cents)"
        ),
    )
    reference_counter = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("created"), default=now, editable=False)

    class Meta:
        verbose_name = _("creditor")
        verbose_name_plural = _("creditors")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_PATTERN), name="creditor_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Membership(models.Model):
    """A user may see and work the creditors they are a member of (superusers see all)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.CASCADE, related_name="memberships"
    )

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "creditor"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.creditor.code}"


class DebtorKind(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")


class Debtor(models.Model):
    # Indexed by the unique (creditor, external_id) constraint; a separate index would only
    # slow bulk loads down.
    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="debtors",
        db_index=False,
    )
    external_id = models.CharField(_("external id"), max_length=80)
    tax_id = models.CharField(_("tax id"), max_length=40, blank=True, default="")
    tax_id_type = models.CharField(_("tax id type"), max_length=10, blank=True, default="")
    kind = models.CharField(
        _("kind"), max_length=10, choices=DebtorKind.choices, default=DebtorKind.COMPANY
    )
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(_("country"), max_length=2)
    region = models.CharField(_("region"), max_length=100, blank=True, default="")
    city = models.CharField(_("city"), max_length=100, blank=True, default="")
    timezone = models.CharField(_("time zone"), max_length=64, blank=True, default="")
    tags = models.JSONField(_("tags"), default=list, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=20)
    created_at = models.DateTimeField(_("created"), default=now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=now)

    class Meta:
        verbose_name = _("debtor")
        verbose_name_plural = _("debtors")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "external_id"], name="debtor_external_id_unique"
            ),
            models.UniqueConstraint(
                fields=["creditor", "payment_reference"], name="debtor_reference_unique"
            ),
        ]
        indexes = [models.Index(fields=["creditor", "tax_id"], name="debtor_tax_id_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


class ContactKind(models.TextChoices):
    EMAIL = "email", _("Email")
    MOBILE = "mobile", _("Mobile phone")
    LANDLINE = "landline", _("Landline")
    PHONE = "phone", _("Phone")
    WHATSAPP = "whatsapp", _("WhatsApp")
    ADDRESS = "address", _("Postal address")


class ContactPoint(models.Model):
    """A way to reach a debtor, with consent per channel (None: not stated)."""

    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debtor"), on_delete=models.CASCADE, related_name="contact_points"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ContactKind.choices)
    value = models.CharField(
        _("value"), max_length=300, help_text=_("E.164 phone, lower-case email or address")
    )
    label = models.CharField(_("as written"), max_length=300, blank=True, default="")
    is_primary = models.BooleanField(_("primary"), default=False)
    verified = models.BooleanField(_("verified"), default=False)
    valid = models.BooleanField(
        _("valid"), default=True, help_text=_("False after a hard bounce or a wrong number")
    )
    consent_call = models.BooleanField(_("calls allowed"), null=True, blank=True)
    consent_sms = models.BooleanField(_("SMS allowed"), null=True, blank=True)
    consent_whatsapp = models.BooleanField(_("WhatsApp allowed"), null=True, blank=True)
    consent_email = models.BooleanField(_("email allowed"), null=True, blank=True)
    consent_letter = models.BooleanField(_("letters allowed"), null=True, blank=True)
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    source = models.CharField(_("source"), max_length=60, blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=now, editable=False)

    class Meta:
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")
        constraints = [
            models.UniqueConstraint(
                fields=["debtor", "kind", "value"], name="contact_point_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    DEBIT_NOTE = "debit_note", _("Debit note")
    CREDIT_NOTE = "credit_note", _("Credit note")
    PROMISSORY_NOTE = "promissory_note", _("Promissory note")
    INSTALLMENT = "installment", _("Installment")


class DocumentStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Document(models.Model):
    # Both covered by composite indexes below (unique external id; debtor and due date).
    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="documents",
        db_index=False,
    )
    debtor = models.ForeignKey(
        Debtor,
        verbose_name=_("debtor"),
        on_delete=models.PROTECT,
        related_name="documents",
        db_index=False,
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=DocumentKind.choices, default=DocumentKind.INVOICE
    )
    number = models.CharField(_("number"), max_length=80)
    external_id = models.CharField(_("external id"), max_length=80)
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    due_date = models.DateField(_("due date"))
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    # Cache of the ledger: positive for what is owed, negative for an open credit note.
    balance_minor = models.BigIntegerField(_("open balance (minor units)"), default=0)
    # Written off for accounting ("castigada"): what the debtor owes is unchanged and
    # collection may go on; money recovered on it is reported apart.
    written_off_on = models.DateField(_("written off on"), null=True, blank=True)
    # Part of the prior payments (booked from a file's balance column) that no detailed
    # payment has explained yet; a payment dated before the snapshot fills it instead of
    # lowering the balance again, so no payment is ever counted twice.
    unmatched_prior_minor = models.BigIntegerField(
        _("prior payments not yet matched (minor units)"), default=0
    )
    # The net of the document's prior-payment entries and the identifications that take them
    # back (kinds prior_payment and prior_identified), which are all dated `prior_on`. Most of
    # them cancel per document, so a balance at a past date reads these two columns instead
    # of those entries (`cartera.reports.balances`; `cartera check` proves them).
    prior_net_minor = models.BigIntegerField(
        _("net of the prior payments and their identifications (minor units)"), default=0
    )
    prior_on = models.DateField(_("prior payments booked on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DocumentStatus.choices, default=DocumentStatus.OPEN
    )
    payment_reference = models.CharField(_("payment reference"), max_length=20)
    batch = models.ForeignKey(
        "ImportBatch",
        verbose_name=_("import batch"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("created"), default=now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=now)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "external_id"], name="document_external_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="document_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_PATTERN), name="document_currency_iso"
            ),
        ]
        indexes = [
            # Aging and worklists read only open documents: keep that index small. Covering
            # (PostgreSQL): a balance at any date reads the open documents from the index alone.
            models.Index(
                fields=["creditor", "due_date"],
                include=["id", "debtor", "currency", "written_off_on", "balance_minor"],
                name="document_open_due_idx",
                condition=~Q(balance_minor=0),
            ),
            models.Index(fields=["debtor", "due_date"], name="document_debtor_due_idx"),
            models.Index(fields=["creditor", "number"], name="document_number_idx"),
            models.Index(fields=["creditor", "payment_reference"], name="document_reference_idx"),
            # Past balances read the few documents whose prior entries do not cancel.
            models.Index(
                fields=["creditor", "prior_on"],
                name="document_prior_idx",
                condition=~Q(prior_net_minor=0),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.currency)

    @property
    def balance(self) -> Decimal:
        return from_minor(self.balance_minor, self.currency)


class EntryKind(models.TextChoices):
    CHARGE = "charge", _("Charge (document issued)")
    CREDIT = "credit", _("Credit note issued")
    PAYMENT = "payment", _("Payment applied")
    PRIOR_PAYMENT = "prior_payment", _("Paid before the first import (balance column)")
    # Takes back (part of) a prior payment that a detailed payment now explains.
    PRIOR_IDENTIFIED = "prior_identified", _("Prior payment identified")
    EXTERNAL_PAYMENT = "external_payment", _("Payment recorded outside Cartera")
    ADJUSTMENT = "adjustment", _("Amount adjustment")
    REVERSAL = "reversal", _("Reversal")
    # Written by `cartera.negotiation` (agreements, late interest, collection fees).
    INTEREST = "interest", _("Interest")
    FEE = "fee", _("Collection fee")
    # Moves what is owed from the documents an agreement bundles to its installments.
    REFINANCE = "refinance", _("Refinanced by an agreement")
    DISCOUNT = "discount", _("Discount or waiver")


class LedgerEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise TypeError("ledger entries are immutable: post a reversal instead")

    def delete(self):  # type: ignore[no-untyped-def]
        raise TypeError("ledger entries are never deleted: post a reversal instead")


class LedgerEntry(models.Model):
    """An immutable change to a document's balance."""

    # Covered by the (creditor, date) and (document, date) indexes below.
    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    document = models.ForeignKey(
        Document,
        verbose_name=_("document"),
        on_delete=models.PROTECT,
        related_name="entries",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind.choices)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    effective_date = models.DateField(_("effective date"))
    payment = models.ForeignKey(
        "Payment",
        verbose_name=_("payment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    reverses = models.ForeignKey(
        "self",
        verbose_name=_("reverses"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
        db_index=False,
    )
    batch = models.ForeignKey(
        "ImportBatch",
        verbose_name=_("import batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
        db_index=False,
    )
    memo = models.CharField(_("memo"), max_length=200, blank=True, default="")
    recorded_by = models.CharField(_("recorded by"), max_length=150)
    recorded_at = models.DateTimeField(_("recorded at"), default=now)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["effective_date", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_minor=0), name="entry_amount_nonzero"),
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_PATTERN), name="entry_currency_iso"
            ),
        ]
        indexes = [
            models.Index(fields=["document", "effective_date"], name="entry_document_date_idx"),
            # Covering: reports read the entries after a date (balances at a past date, sales,
            # money applied) from the index alone, without visiting the table's rows. Not the
            # prior payments a balance column books, nor their identifications: often most
            # of the ledger, dated the day of an import, and netted per document on the
            # document itself (`Document.prior_net_minor`, `prior_on`), which is where the
            # reports read them (`cartera.reports.balances`).
            models.Index(
                fields=["creditor", "effective_date"],
                include=["document", "amount_minor", "kind", "currency", "payment"],
                name="entry_creditor_date_cover_idx",
                condition=~Q(kind__in=[EntryKind.PRIOR_PAYMENT, EntryKind.PRIOR_IDENTIFIED]),
            ),
            # Few entries reverse another: index only those.
            models.Index(
                fields=["reverses"],
                name="entry_reverses_idx",
                condition=Q(reverses__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {from_minor(self.amount_minor, self.currency)}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None:
            raise TypeError("ledger entries are immutable: post a reversal instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise TypeError("ledger entries are never deleted: post a reversal instead")


class Payment(models.Model):
    """Money received from a debtor; `Allocation`s apply it to documents."""

    # Covered by the unique external id and the (debtor, date) index.
    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="payments",
        db_index=False,
    )
    debtor = models.ForeignKey(
        Debtor,
        verbose_name=_("debtor"),
        on_delete=models.PROTECT,
        related_name="payments",
        db_index=False,
    )
    external_id = models.CharField(_("external id"), max_length=80)
    date = models.DateField(_("date"))
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    # Cache: amount minus what is allocated; an unapplied remainder is the debtor's credit.
    unapplied_minor = models.BigIntegerField(_("unapplied (minor units)"), default=0)
    reference = models.CharField(_("reference"), max_length=120, blank=True, default="")
    method = models.CharField(_("method"), max_length=40, blank=True, default="")
    batch = models.ForeignKey(
        "ImportBatch",
        verbose_name=_("import batch"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # The latest day one of its allocations takes effect, when later than the payment's own
    # date (it paid a document issued after it); never lowered, even by a reversal. Only such
    # payments can have been partly unapplied at the end of a day after they arrived, so a
    # past balance looks at them alone (`cartera check` proves the bound).
    applied_late_on = models.DateField(_("applied late, up to"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=now, editable=False)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "external_id"], name="payment_external_id_unique"
            ),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(unapplied_minor__gte=0)
                & Q(unapplied_minor__lte=models.F("amount_minor")),
                name="payment_not_over_allocated",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_PATTERN), name="payment_currency_iso"
            ),
        ]
        indexes = [
            models.Index(fields=["debtor", "date"], name="payment_debtor_date_idx"),
            # Unapplied credits (aging, cash application) are few: keep their index small.
            models.Index(
                fields=["creditor", "date"],
                name="payment_unapplied_idx",
                condition=Q(unapplied_minor__gt=0),
            ),
            # Payments applied after their date are few, too.
            models.Index(
                fields=["creditor", "applied_late_on"],
                name="payment_applied_late_idx",
                condition=Q(applied_late_on__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {from_minor(self.amount_minor, self.currency)} {self.currency}"

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.currency)


class Allocation(models.Model):
    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="allocations"
    )
    document = models.ForeignKey(
        Document, verbose_name=_("document"), on_delete=models.PROTECT, related_name="allocations"
    )
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    entry = models.OneToOneField(
        LedgerEntry,
        verbose_name=_("ledger entry"),
        on_delete=models.PROTECT,
        related_name="allocation",
    )
    created_at = models.DateTimeField(_("created"), default=now, editable=False)

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="allocation_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.document_id}: {self.amount_minor}"


class ImportKind(models.TextChoices):
    DEBTORS = "debtors", _("Debtors")
    DOCUMENTS = "documents", _("Documents")
    PAYMENTS = "payments", _("Payments")


class BatchStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    PARTIAL = "partial", _("Done, some rows rejected")
    REFUSED = "refused", _("Refused, nothing landed")
    FAILED = "failed", _("Failed")


class ImportBatch(models.Model):
    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.PROTECT, related_name="batches"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=ImportKind.choices)
    file_name = models.CharField(_("file"), max_length=400)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64)
    file_size = models.BigIntegerField(_("size (bytes)"), default=0)
    actor = models.CharField(_("by"), max_length=150)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    options = models.JSONField(_("options"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.RUNNING
    )
    rows_read = models.IntegerField(_("rows read"), default=0)
    created = models.IntegerField(_("created"), default=0)
    updated = models.IntegerField(_("updated"), default=0)
    unchanged = models.IntegerField(_("unchanged"), default=0)
    rejected = models.IntegerField(_("rejected"), default=0)
    rejected_file = models.CharField(
        _("rejected rows file"), max_length=400, blank=True, default=""
    )
    message = models.TextField(_("message"), blank=True, default="")
    started_at = models.DateTimeField(_("started"), default=now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.file_name}"


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    LETTER = "letter", _("Letter")
    VISIT = "visit", _("Visit")
    NOTE = "note", _("Note")
    SYSTEM = "system", _("System")


CONTACT_ACTIVITY_KINDS = (
    ActivityKind.CALL,
    ActivityKind.EMAIL,
    ActivityKind.SMS,
    ActivityKind.WHATSAPP,
    ActivityKind.LETTER,
    ActivityKind.VISIT,
)
"""The kinds that are a contact with the debtor, as the compliance rules count them."""


class Activity(models.Model):
    """Anything done on an account ("gestión"): a call, a message, a visit, a note.

    Outbound contacts (`is_contact`) are what the compliance gate counts against each
    jurisdiction's caps; `reached` tells the ones that reached the debtor (right-party contact).
    """

    # Covered by the (creditor, at) index below.
    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="activities",
        db_index=False,
    )
    # Covered by the (debtor, at) index below.
    debtor = models.ForeignKey(
        Debtor,
        verbose_name=_("debtor"),
        on_delete=models.CASCADE,
        related_name="activities",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ActivityKind.choices)
    at = models.DateTimeField(_("when"), default=now)
    is_contact = models.BooleanField(
        _("outbound contact"),
        default=False,
        help_text=_("An attempt to reach the debtor, counted by the contact rules"),
    )
    reached = models.BooleanField(
        _("reached the debtor"),
        null=True,
        blank=True,
        help_text=_("Right-party contact; empty while unknown"),
    )
    outcome = models.CharField(_("outcome"), max_length=40, blank=True, default="")
    note = models.TextField(_("note"), blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A soft reference: the outbox sits above the portfolio and is not imported from here.
    message_id = models.BigIntegerField(_("message"), null=True, blank=True, db_index=True)
    rule_breach = models.CharField(
        _("broke a contact rule"),
        max_length=300,
        blank=True,
        default="",
        help_text=_("Set when a contact logged after the fact broke a rule"),
    )
    created_at = models.DateTimeField(_("recorded"), default=now, editable=False)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["debtor", "at"], name="activity_debtor_at_idx"),
            models.Index(fields=["creditor", "at"], name="activity_creditor_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"
