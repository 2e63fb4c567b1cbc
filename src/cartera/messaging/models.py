"""Templates, the outbox, letter batches and the contact rules of each jurisdiction.

A message is stored (`Message`) before anything is sent; the worker claims it with a lease,
asks the compliance gate, renders it with today's figures and hands it to the channel's backend.
Every attempt and result is also written to the account's history (`portfolio.Activity`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from cartera.portfolio.models import ContactPoint, Creditor, Debtor, DebtorKind


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    LETTER = "letter", _("Letter")


class Template(models.Model):
    """The words of one message, per channel and language; a creditor's own overrides the default.

    `body_text` and `body_html` are Django templates rendered in a restricted context (see
    `cartera.messaging.rendering`). WhatsApp messages that open a conversation use a template
    approved by the provider: only its name and parameters are sent.
    """

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="message_templates",
        help_text=_("Empty: the default for every creditor"),
    )
    code = models.SlugField(_("code"), max_length=60)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=10, default="es")
    name = models.CharField(_("name"), max_length=120, blank=True, default="")
    subject = models.CharField(_("subject"), max_length=300, blank=True, default="")
    body_text = models.TextField(_("text"), blank=True, default="")
    body_html = models.TextField(_("HTML"), blank=True, default="")
    whatsapp_template = models.CharField(
        _("approved WhatsApp template"), max_length=120, blank=True, default=""
    )
    whatsapp_params = models.JSONField(
        _("WhatsApp template parameters"),
        default=list,
        blank=True,
        help_text=_("One template expression per parameter, e.g. {{ debtor.name }}"),
    )
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), default=now)
    updated_by = models.CharField(_("updated by"), max_length=150, blank=True, default="")

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["code", "channel", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "code", "channel", "language"],
                name="template_unique",
            ),
            models.UniqueConstraint(
                fields=["code", "channel", "language"],
                condition=Q(creditor__isnull=True),
                name="template_default_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.get_channel_display()} · {self.language}"


class ChannelSettings(models.Model):
    """How one creditor's messages go out: sender identities and SMS limits."""

    creditor = models.OneToOneField(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.CASCADE,
        related_name="channel_settings",
    )
    email_from = models.CharField(
        _("email sender"),
        max_length=200,
        blank=True,
        default="",
        help_text=_('e.g. "Cobranza ACME <cobranza@acme.co>"; empty: the server default'),
    )
    email_reply_to = models.CharField(_("reply to"), max_length=200, blank=True, default="")
    sms_sender = models.CharField(_("SMS sender id"), max_length=20, blank=True, default="")
    sms_transliterate = models.BooleanField(
        _("write SMS in GSM-7"),
        default=False,
        help_text=_(
            "Replace accents and other characters outside GSM-7 (á → a), so each SMS "
            "segment holds 160 characters instead of 70"
        ),
    )
    sms_max_segments = models.PositiveSmallIntegerField(_("SMS segments at most"), default=3)
    letter_sender_block = models.TextField(
        _("letter sender block"),
        blank=True,
        default="",
        help_text=_("Name, address and contact lines printed at the top of letters"),
    )
    contact_phone = models.CharField(
        _("phone for debtors"),
        max_length=40,
        blank=True,
        default="",
        help_text=_("The number messages tell debtors to call (creditor.phone in templates)"),
    )
    contact_email = models.CharField(
        _("email for debtors"),
        max_length=200,
        blank=True,
        default="",
        help_text=_("The address messages tell debtors to write to; empty: the reply-to address"),
    )
    payment_instructions = models.TextField(
        _("how to pay"),
        blank=True,
        default="",
        help_text=_(
            "Bank accounts, payment points or links, shown in messages as "
            "creditor.payment_instructions"
        ),
    )

    class Meta:
        verbose_name = _("channel settings")
        verbose_name_plural = _("channel settings")

    def __str__(self) -> str:
        return str(self.creditor)


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    BLOCKED = "blocked", _("Blocked by a contact rule")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")
    CANCELLED = "cancelled", _("Cancelled")
    UNKNOWN = "unknown", _("Unknown: check by hand")


WAITING_STATUSES = (MessageStatus.QUEUED, MessageStatus.SCHEDULED)
"""A worker may claim a message in one of these once its `next_attempt_at` has come."""

FINAL_STATUSES = (
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
    MessageStatus.BOUNCED,
    MessageStatus.CANCELLED,
)


class LetterBatch(models.Model):
    """The printable file of one day's letters; its letters count as sent once it is printed."""

    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField(_("day"))
    file = models.CharField(_("file"), max_length=500, blank=True, default="")
    letters = models.PositiveIntegerField(_("letters"), default=0)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    created_at = models.DateTimeField(_("created"), default=now)
    # Open (both empty): letters of the day join it. Closed: no more letters join; the file is
    # being built. Built: the file is complete and may be printed.
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    built_at = models.DateTimeField(_("file built"), null=True, blank=True)
    printed_at = models.DateTimeField(_("confirmed printed"), null=True, blank=True)
    printed_by = models.CharField(_("confirmed by"), max_length=150, blank=True, default="")

    class Meta:
        verbose_name = _("letter batch")
        verbose_name_plural = _("letter batches")
        ordering = ["-day", "-id"]
        constraints = [
            # Two workers adding letters at once must find the same open batch.
            models.UniqueConstraint(
                fields=["creditor", "day"],
                condition=Q(closed_at__isnull=True),
                name="letter_batch_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.creditor.code} {self.day} ({self.letters})"


class Message(models.Model):
    """One outbound message, stored before it is sent; `idempotency_key` makes queuing repeatable.

    What it is about is kept as data (`document_ids`, `promise`, `origin`), so the worker can check
    just before sending that the reason still holds, and render it with that day's figures.
    """

    # Covered by the (creditor, status, next_attempt_at) index below.
    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.PROTECT,
        related_name="messages",
        db_index=False,
    )
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debtor"), on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    template_code = models.CharField(_("template"), max_length=60)
    language = models.CharField(_("language"), max_length=10, blank=True, default="")
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    origin = models.CharField(
        _("origin"),
        max_length=60,
        help_text=_("What asked for it: a strategy step code, 'manual', 'promise', 'receipt'…"),
    )
    origin_ref = models.BigIntegerField(_("origin reference"), null=True, blank=True)
    reason = models.CharField(_("why"), max_length=400, blank=True, default="")
    document_ids = models.JSONField(
        _("documents"),
        default=list,
        blank=True,
        help_text=_("The documents the message is about; empty: the whole account"),
    )
    promise = models.ForeignKey(
        "negotiation.Promise",
        verbose_name=_("promise"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    status_reason = models.CharField(_("status reason"), max_length=400, blank=True, default="")
    next_attempt_at = models.DateTimeField(_("next attempt"), default=now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    lease_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    leased_by = models.CharField(_("leased by"), max_length=100, blank=True, default="")
    # Set (and committed) just before the worker hands the message to its channel's backend.
    # A `sending` message whose worker died without it never left and may go back to the
    # queue; with it, nobody knows whether it left (`unknown`).
    handed_at = models.DateTimeField(_("handed to the channel"), null=True, blank=True)
    contact_point = models.ForeignKey(
        ContactPoint,
        verbose_name=_("contact point"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    recipient = models.CharField(_("recipient"), max_length=300, blank=True, default="")
    subject = models.CharField(_("subject"), max_length=300, blank=True, default="")
    body_text = models.TextField(_("text as sent"), blank=True, default="")
    body_html = models.TextField(_("HTML as sent"), blank=True, default="")
    payload = models.JSONField(
        _("provider payload"),
        default=dict,
        blank=True,
        help_text=_("WhatsApp template name and parameters, SMS segments, letter pages…"),
    )
    letter_batch = models.ForeignKey(
        LetterBatch,
        verbose_name=_("letter batch"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    provider_id = models.CharField(_("provider id"), max_length=200, blank=True, default="")
    error = models.TextField(_("last error"), blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=now)
    created_by = models.CharField(_("created by"), max_length=150, blank=True, default="")
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["creditor", "status", "next_attempt_at"], name="message_due_idx"),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["queued", "scheduled"]),
                name="message_waiting_idx",
            ),
            models.Index(
                fields=["lease_until"],
                condition=Q(status="sending"),
                name="message_sending_idx",
            ),
            models.Index(fields=["provider_id"], name="message_provider_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template_code} · {self.get_channel_display()} → {self.debtor_id}"


class GateOverride(models.Model):
    """A supervisor's written decision to send one message the compliance gate refused."""

    message = models.ForeignKey(
        Message, verbose_name=_("message"), on_delete=models.CASCADE, related_name="overrides"
    )
    refused_because = models.CharField(_("refused because"), max_length=400)
    justification = models.TextField(_("justification"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("when"), default=now)

    class Meta:
        verbose_name = _("compliance override")
        verbose_name_plural = _("compliance overrides")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.message_id} · {self.user}"


class WeekMode(models.TextChoices):
    CALENDAR = "calendar", _("Calendar week, Monday to Sunday")
    ROLLING = "rolling", _("Rolling 7 days")


class ContactRule(models.Model):
    """The contact rules of one jurisdiction for one kind of debtor, stored as data.

    The gate (`cartera.messaging.gate`) applies the most specific active rule: the debtor's
    country and kind, else the country for any kind, else the rule of country "*" (any other
    country), else a built-in fallback. Hours are in the debtor's time zone.
    """

    country = models.CharField(
        _("country"),
        max_length=2,
        help_text=_(
            'ISO 3166 code such as CO or MX; "*" for every country that has no rule of its own'
        ),
    )
    debtor_kind = models.CharField(
        _("debtor kind"),
        max_length=10,
        choices=DebtorKind.choices,
        blank=True,
        default="",
        help_text=_("Empty: consumers and businesses alike"),
    )
    name = models.CharField(_("name"), max_length=150)
    source = models.TextField(
        _("legal source"), help_text=_("The law or regulation this rule follows, and its article")
    )
    verify_with_counsel = models.BooleanField(
        _("verify with counsel"),
        default=False,
        help_text=_("The reading of the law behind this rule is disputed"),
    )
    active = models.BooleanField(_("active"), default=True)
    hours = models.JSONField(
        _("allowed hours"),
        default=dict,
        help_text=_(
            'Per ISO weekday (1 = Monday) a list of ["HH:MM", "HH:MM"] windows; '
            "a missing day allows no contact"
        ),
    )
    no_holidays = models.BooleanField(_("no contact on public holidays"), default=True)
    max_per_day = models.PositiveSmallIntegerField(
        _("contacts per day at most"), null=True, blank=True
    )
    max_per_week = models.PositiveSmallIntegerField(
        _("contacts per week at most"), null=True, blank=True
    )
    channel_caps = models.JSONField(
        _("caps per channel class"),
        default=dict,
        blank=True,
        help_text=_(
            'e.g. {"voice": {"week": 1}, "written": {"week": 2, "min_gap_days": 2}}; '
            "voice = calls and visits, written = email, SMS, WhatsApp and letters"
        ),
    )
    min_gap_hours = models.PositiveSmallIntegerField(
        _("hours between contacts at least"), null=True, blank=True
    )
    one_channel_per_week = models.BooleanField(
        _("one channel per week"),
        default=False,
        help_text=_("Once a channel has been used in a week, no other channel that week"),
    )
    consent_required = models.BooleanField(_("only channels the debtor authorized"), default=False)
    counts_reached_only = models.BooleanField(
        _("count only contacts that reached the debtor"), default=False
    )
    week_mode = models.CharField(
        _("week"), max_length=10, choices=WeekMode.choices, default=WeekMode.CALENDAR
    )
    quiet_days_after_conversation = models.PositiveSmallIntegerField(
        _("days without calls after a conversation"), null=True, blank=True
    )
    description = models.TextField(_("description"), blank=True, default="")
    # Fingerprint of the shipped default this rule was created from (empty for a rule an admin
    # created). While the rule's own fingerprint still equals it nobody edited the rule, so a
    # newer shipped default may replace it; once they differ the rule is left alone.
    shipped_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    updated_at = models.DateTimeField(_("updated"), default=now)

    class Meta:
        verbose_name = _("contact rule")
        verbose_name_plural = _("contact rules")
        ordering = ["country", "debtor_kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "debtor_kind"],
                condition=Q(active=True),
                name="contact_rule_one_active",
                violation_error_message=_(
                    "Another active rule already covers this country and debtor kind: "
                    "deactivate it first"
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name
