"""Bank accounts, the statements read from them, their lines, and what each line became.

Every line of a statement is kept once, whatever it was (a debtor's payment, a fee, a transfer
between the creditor's own accounts): `dedupe_key` makes a re-imported or overlapping file
land nothing twice. Credit lines become payments, automatically when matching is confident
enough, otherwise by hand from the unmatched queue (lines `waiting` or `reversed`).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from cartera.core.money import from_minor
from cartera.portfolio.models import CURRENCY_PATTERN, Creditor, Debtor, Payment


class BankAccount(models.Model):
    """An account of the creditor's where debtors pay in."""

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="bank_accounts",
        db_index=False,
    )
    name = models.CharField(_("name"), max_length=100)
    bank = models.CharField(_("bank"), max_length=100, blank=True, default="")
    number = models.CharField(
        _("account number or IBAN"),
        max_length=60,
        blank=True,
        default="",
        help_text=_("As the bank writes it in its statements"),
    )
    # `number` in capitals without spaces or punctuation: what statements are matched on.
    number_key = models.CharField(_("number key"), max_length=60, blank=True, default="")
    currency = models.CharField(_("currency"), max_length=3)
    created_at = models.DateTimeField(_("created"), default=now, editable=False)

    class Meta:
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["creditor", "name"], name="bank_account_name_unique"),
            models.UniqueConstraint(
                fields=["creditor", "number_key"],
                name="bank_account_number_unique",
                condition=~Q(number_key=""),
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_PATTERN), name="bank_account_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.name} ({self.number})"
            if self.number and self.number != self.name
            else self.name
        )


class ImportStatus(models.TextChoices):
    DONE = "done", _("Done")
    PARTIAL = "partial", _("Done, some lines unreadable")
    REFUSED = "refused", _("Refused")


class StatementImport(models.Model):
    """One run of `cartera import statement`: the file, what was read, who ran it."""

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="statement_imports",
    )
    file_name = models.CharField(_("file"), max_length=400)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, default="")
    file_size = models.BigIntegerField(_("size (bytes)"), default=0)
    format = models.CharField(_("format"), max_length=40, blank=True, default="")
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices)
    lines = models.IntegerField(_("lines read"), default=0)
    credits = models.IntegerField(_("credits"), default=0)
    debits = models.IntegerField(_("debits"), default=0)
    applied = models.IntegerField(_("applied automatically"), default=0)
    waiting = models.IntegerField(_("waiting"), default=0)
    duplicates = models.IntegerField(_("duplicates skipped"), default=0)
    unreadable = models.JSONField(
        _("unreadable lines"), default=list, blank=True, help_text=_("[{line, reason}]")
    )
    message = models.TextField(_("message"), blank=True, default="")
    actor = models.CharField(_("by"), max_length=150)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"), default=now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("statement import")
        verbose_name_plural = _("statement imports")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name}"


class LineStatus(models.TextChoices):
    APPLIED_AUTO = "applied_auto", _("Applied automatically")
    APPLIED_MANUAL = "applied_manual", _("Applied by hand")
    WAITING = "waiting", _("Waiting")
    # Applied, then reversed (misapplied): back in the queue to be applied again.
    REVERSED = "reversed", _("Reversed, waiting again")
    DEBIT = "debit", _("Debit (ignored)")
    IGNORED = "ignored", _("Ignored by hand")


# The unmatched queue: credit lines that are nobody's payment yet.
PENDING_STATUSES = (LineStatus.WAITING, LineStatus.REVERSED)
APPLIED_STATUSES = (LineStatus.APPLIED_AUTO, LineStatus.APPLIED_MANUAL)


class StatementLine(models.Model):
    """One movement of a bank statement, stored once per bank account."""

    # Covered by the (creditor, status, booking date) index.
    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="statement_lines",
        db_index=False,
    )
    # Covered by the unique (bank account, dedupe key) constraint.
    bank_account = models.ForeignKey(
        BankAccount,
        verbose_name=_("bank account"),
        on_delete=models.PROTECT,
        related_name="lines",
        db_index=False,
    )
    statement_import = models.ForeignKey(
        StatementImport,
        verbose_name=_("imported by"),
        on_delete=models.PROTECT,
        related_name="statement_lines",
    )
    position = models.PositiveIntegerField(
        _("line in file"), help_text=_("Line (or XML element line) where the movement starts")
    )
    booking_date = models.DateField(_("booking date"))
    value_date = models.DateField(_("value date"), null=True, blank=True)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    is_credit = models.BooleanField(_("credit"), help_text=_("Money in (a debit is money out)"))
    bank_reference = models.CharField(_("bank reference"), max_length=120, blank=True, default="")
    text = models.TextField(_("remittance text"), blank=True, default="")
    counterparty_name = models.CharField(_("counterparty"), max_length=200, blank=True, default="")
    # In capitals without spaces or punctuation, as `KnownAccount.account`.
    counterparty_account = models.CharField(
        _("counterparty account"), max_length=60, blank=True, default=""
    )
    dedupe_key = models.CharField(_("duplicate key"), max_length=160)
    status = models.CharField(_("status"), max_length=16, choices=LineStatus.choices)
    # The debtor the line was applied to, or matching's best guess while it waits.
    debtor = models.ForeignKey(
        Debtor,
        verbose_name=_("debtor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    payment = models.OneToOneField(
        Payment,
        verbose_name=_("payment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statement_line",
    )
    confidence = models.PositiveSmallIntegerField(
        _("confidence (%)"), null=True, blank=True, help_text=_("Of the best or chosen proposal")
    )
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    proposals = models.JSONField(_("proposals"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    decided_by = models.CharField(_("decided by"), max_length=150, blank=True, default="")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reversals = models.PositiveSmallIntegerField(_("times reversed"), default=0)
    created_at = models.DateTimeField(_("created"), default=now, editable=False)

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["-booking_date", "-id"]
        permissions = [("reverse_statementline", _("Can reverse an applied statement line"))]
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "dedupe_key"], name="statement_line_dedupe_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="statement_line_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_PATTERN), name="statement_line_currency_iso"
            ),
        ]
        indexes = [
            models.Index(
                fields=["creditor", "status", "booking_date"], name="statement_line_queue_idx"
            ),
            # The queue is searched by amount.
            models.Index(
                fields=["creditor", "amount_minor"],
                name="statement_line_pending_amt_idx",
                condition=Q(status__in=["waiting", "reversed"]),
            ),
            models.Index(fields=["debtor"], name="statement_line_debtor_idx"),
        ]

    def __str__(self) -> str:
        sign = "" if self.is_credit else "-"
        return f"{self.booking_date} {sign}{self.amount} {self.currency}"

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.currency)

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_STATUSES


class KnownAccount(models.Model):
    """A bank account a debtor has paid from, learnt when a person applied such a payment."""

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debtor"), on_delete=models.CASCADE, related_name="+"
    )
    # In capitals without spaces or punctuation.
    account = models.CharField(_("account"), max_length=60)
    name = models.CharField(_("name on the account"), max_length=200, blank=True, default="")
    learned_from = models.ForeignKey(
        StatementLine,
        verbose_name=_("learnt from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.CharField(_("by"), max_length=150, blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=now, editable=False)

    class Meta:
        verbose_name = _("known debtor account")
        verbose_name_plural = _("known debtor accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "account", "debtor"], name="known_account_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} → {self.debtor_id}"
