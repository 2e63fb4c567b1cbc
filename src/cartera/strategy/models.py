"""Stages, segments, versioned strategies and their steps; the state the daily run keeps per
account (a debtor of a creditor), its episodes of delinquency, and what each run decided.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cartera.messaging.models import Channel, Template
from cartera.portfolio.models import Creditor, Debtor, DebtorKind, Document


class Stage(models.Model):
    """A phase of collection, entered by days past due (only forward within an episode)."""

    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.CASCADE, related_name="stages"
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"))
    min_dpd = models.IntegerField(
        _("from days past due"),
        null=True,
        blank=True,
        help_text=_("Entered automatically from this many days past due; empty: never"),
    )
    requires_confirmation = models.BooleanField(
        _("entered only on a supervisor's confirmation"), default=False
    )

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["creditor", "order"]
        constraints = [
            models.UniqueConstraint(fields=["creditor", "code"], name="stage_code_unique"),
            models.UniqueConstraint(fields=["creditor", "order"], name="stage_order_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # Days past due only grow along the stages: a later stage entered earlier than an
        # earlier one would never be reached.
        if self.min_dpd is None or not self.creditor_id:
            return
        others = Stage.objects.filter(creditor_id=self.creditor_id, min_dpd__isnull=False)
        if self.pk:
            others = others.exclude(pk=self.pk)
        for other in others:
            assert other.min_dpd is not None
            if (other.order < self.order and other.min_dpd >= self.min_dpd) or (
                other.order > self.order and other.min_dpd <= self.min_dpd
            ):
                raise ValidationError(
                    {
                        "min_dpd": gettext(
                            "Stage %(other)s (order %(order)s) starts at %(dpd)s days past due: "
                            "stages later in the order must start later."
                        )
                        % {"other": other.name, "order": other.order, "dpd": other.min_dpd}
                    }
                )


class Segment(models.Model):
    """Accounts treated alike; the first segment (by order) whose conditions hold wins."""

    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.CASCADE, related_name="segments"
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"))
    min_total_minor = models.BigIntegerField(
        _("open balance at least (minor units)"), null=True, blank=True
    )
    max_total_minor = models.BigIntegerField(
        _("open balance at most (minor units)"), null=True, blank=True
    )
    min_overdue_minor = models.BigIntegerField(
        _("overdue at least (minor units)"), null=True, blank=True
    )
    max_overdue_minor = models.BigIntegerField(
        _("overdue at most (minor units)"), null=True, blank=True
    )
    min_dpd = models.IntegerField(_("days past due at least"), null=True, blank=True)
    max_dpd = models.IntegerField(_("days past due at most"), null=True, blank=True)
    debtor_kind = models.CharField(
        _("debtor kind"), max_length=10, choices=DebtorKind.choices, blank=True, default=""
    )
    country = models.CharField(_("country"), max_length=2, blank=True, default="")
    tag = models.CharField(_("has tag"), max_length=60, blank=True, default="")

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["creditor", "order"]
        constraints = [
            models.UniqueConstraint(fields=["creditor", "code"], name="segment_code_unique"),
            models.UniqueConstraint(fields=["creditor", "order"], name="segment_order_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for low, high in (
            ("min_total_minor", "max_total_minor"),
            ("min_overdue_minor", "max_overdue_minor"),
            ("min_dpd", "max_dpd"),
        ):
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and a > b:
                errors[high] = gettext(
                    "The upper limit is below the lower one (%(a)s > %(b)s)."
                ) % {
                    "a": a,
                    "b": b,
                }
        if self.country and not (len(self.country) == 2 and self.country.isalpha()):
            errors["country"] = gettext("Use the two-letter country code, e.g. CO or MX.")
        self.country = self.country.upper()
        if errors:
            raise ValidationError(errors)


class Strategy(models.Model):
    """What to do for a segment, day by day. Versioned: an edit creates a new version, and
    each action remembers the version that decided it."""

    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.CASCADE, related_name="strategies"
    )
    segment = models.ForeignKey(
        Segment,
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="strategies",
        help_text=_("Empty: accounts of every segment without a strategy of their own"),
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    version = models.PositiveIntegerField(_("version"), default=1)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=now)
    created_by = models.CharField(_("created by"), max_length=150, blank=True, default="")

    class Meta:
        verbose_name = _("strategy")
        verbose_name_plural = _("strategies")
        ordering = ["creditor", "code", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "code", "version"], name="strategy_version_unique"
            ),
            models.UniqueConstraint(
                fields=["creditor", "code"],
                condition=Q(active=True),
                name="strategy_one_active_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class StepAction(models.TextChoices):
    MESSAGE = "message", _("Send a message")
    CALL = "call", _("Call task")
    VISIT = "visit", _("Visit task")
    STAGE = "stage", _("Move to a stage")
    LEGAL_REVIEW = "legal_review", _("Flag for legal review")
    AGENCY = "agency", _("Hand off to an agency")
    CREDIT_HOLD = "credit_hold", _("Put the debtor on credit hold")


class Step(models.Model):
    """One thing a strategy does on a day.

    A step with `day_offset` <= 0 is preventive: it counts from each upcoming document's due
    date and fires once per document. A step with a positive offset counts from the due date of
    the oldest overdue document of the episode and fires once per episode.
    """

    strategy = models.ForeignKey(
        Strategy, verbose_name=_("strategy"), on_delete=models.CASCADE, related_name="steps"
    )
    code = models.SlugField(_("code"), max_length=60)
    day_offset = models.IntegerField(_("day"))
    action = models.CharField(_("action"), max_length=20, choices=StepAction.choices)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    template_code = models.CharField(_("template"), max_length=60, blank=True, default="")
    target_stage = models.ForeignKey(
        Stage,
        verbose_name=_("target stage"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    min_balance_minor = models.BigIntegerField(
        _("only when overdue is at least (minor units)"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["strategy", "day_offset", "id"]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "code"], name="step_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} (D{self.day_offset:+d})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        channels = self.channels if isinstance(self.channels, list) else None
        known = {c.value for c in Channel}
        if channels is None or any(c not in known for c in channels):
            errors["channels"] = gettext("Choose channels among: %(known)s.") % {
                "known": ", ".join(sorted(known))
            }
        elif self.action == StepAction.MESSAGE:
            if not channels:
                errors["channels"] = gettext("A message step needs at least one channel.")
            else:
                template = self.template_code or self.code
                creditor_id = self.strategy.creditor_id if self.strategy_id else None
                found = set(
                    Template.objects.filter(code=template, channel__in=channels, active=True)
                    .filter(Q(creditor__isnull=True) | Q(creditor_id=creditor_id))
                    .values_list("channel", flat=True)
                )
                missing = [c for c in channels if c not in found]
                if missing:
                    errors["template_code"] = gettext(
                        "There is no message template %(code)s for %(channels)s: create it "
                        "under Message templates, or choose another template."
                    ) % {"code": template, "channels": ", ".join(missing)}
        elif channels:
            errors["channels"] = gettext("Only message steps have channels.")
        if self.action == StepAction.STAGE:
            if self.target_stage_id is None:
                errors["target_stage"] = gettext("Choose the stage this step moves to.")
            elif (
                self.strategy_id
                and self.target_stage is not None
                and self.target_stage.creditor_id != self.strategy.creditor_id
            ):
                errors["target_stage"] = gettext("That stage belongs to another creditor.")
        elif self.target_stage_id is not None:
            errors["target_stage"] = gettext("Only a 'move to a stage' step has a target stage.")
        if not -365 <= self.day_offset <= 3650:
            errors["day_offset"] = gettext(
                "The day counts from the due date: between -365 (before) and 3650 (after)."
            )
        if self.min_balance_minor is not None and self.min_balance_minor < 0:
            errors["min_balance_minor"] = gettext("The minimum overdue balance cannot be negative.")
        if errors:
            raise ValidationError(errors)

    @property
    def preventive(self) -> bool:
        return self.day_offset <= 0


class Account(models.Model):
    """What the daily run knows of a debtor of a creditor, kept up to date by every run."""

    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.CASCADE, related_name="+"
    )
    debtor = models.OneToOneField(
        Debtor, verbose_name=_("debtor"), on_delete=models.CASCADE, related_name="account"
    )
    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), null=True, blank=True, on_delete=models.SET_NULL
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), null=True, blank=True, on_delete=models.SET_NULL
    )
    episode = models.ForeignKey(
        "Episode",
        verbose_name=_("episode"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("collector"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="accounts",
    )
    # Set when a supervisor assigned the collector by hand: rules leave it alone until released.
    collector_pinned = models.BooleanField(_("assigned by hand"), default=False)
    total_minor = models.BigIntegerField(_("open balance"), default=0)
    overdue_minor = models.BigIntegerField(_("overdue"), default=0)
    max_dpd = models.IntegerField(_("days past due"), default=0)
    overdue = models.BooleanField(_("overdue"), default=False)
    paused_reason = models.CharField(_("paused because"), max_length=200, blank=True, default="")
    credit_hold = models.BooleanField(_("credit hold"), default=False)
    legal_review = models.BooleanField(_("legal review requested"), default=False)
    evaluated_on = models.DateField(_("evaluated on"), null=True, blank=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        indexes = [models.Index(fields=["creditor", "overdue"], name="account_overdue_idx")]

    def __str__(self) -> str:
        return str(self.debtor)


class LoadBalance(models.TextChoices):
    ACCOUNTS = "accounts", _("Number of accounts")
    OVERDUE = "overdue", _("Overdue balance")


class AssignmentRule(models.Model):
    """Which collectors take which accounts; the first rule (by order) that matches wins, and
    the account goes to the rule's collector with the lightest load."""

    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.CASCADE, related_name="+"
    )
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=100)
    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), null=True, blank=True, on_delete=models.CASCADE
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), null=True, blank=True, on_delete=models.CASCADE
    )
    country = models.CharField(_("country"), max_length=2, blank=True, default="")
    region = models.CharField(_("region"), max_length=100, blank=True, default="")
    min_overdue_minor = models.BigIntegerField(
        _("overdue at least (minor units)"), null=True, blank=True
    )
    max_overdue_minor = models.BigIntegerField(
        _("overdue at most (minor units)"), null=True, blank=True
    )
    collectors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("collectors"), related_name="+"
    )
    balance_by = models.CharField(
        _("balance the load by"),
        max_length=10,
        choices=LoadBalance.choices,
        default=LoadBalance.ACCOUNTS,
    )

    class Meta:
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        ordering = ["creditor", "order"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        a, b = self.min_overdue_minor, self.max_overdue_minor
        if a is not None and b is not None and a > b:
            raise ValidationError(
                {"max_overdue_minor": gettext("The upper limit is below the lower one.")}
            )


class Episode(models.Model):
    """One stretch of delinquency of an account: opened when a document becomes overdue,
    cured when nothing is overdue."""

    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.CASCADE, related_name="+"
    )
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debtor"), on_delete=models.CASCADE, related_name="episodes"
    )
    opened_on = models.DateField(_("opened on"))
    anchor_due_date = models.DateField(_("oldest overdue due date"))
    cured_on = models.DateField(_("cured on"), null=True, blank=True)
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("episode")
        verbose_name_plural = _("episodes")
        constraints = [
            models.UniqueConstraint(
                fields=["debtor"],
                condition=Q(cured_on__isnull=True),
                name="episode_one_open_per_debtor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.debtor} {self.opened_on}–{self.cured_on or ''}"


class Run(models.Model):
    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.PROTECT, related_name="runs"
    )
    as_of = models.DateField(_("as of"))
    started_at = models.DateTimeField(_("started"), default=now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    started_by = models.CharField(_("started by"), max_length=150)
    strategy_versions = models.JSONField(_("strategy versions"), default=dict)
    counts = models.JSONField(_("counts"), default=dict)

    class Meta:
        verbose_name = _("run")
        verbose_name_plural = _("runs")
        ordering = ["-as_of", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["creditor", "as_of"], name="run_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.creditor.code} {self.as_of}"


class ActionStatus(models.TextChoices):
    PENDING_DISPATCH = "pending_dispatch", _("Waiting for dispatch")
    OPEN = "open", _("Open task")
    DONE = "done", _("Done")
    SUPERSEDED = "superseded", _("Skipped: a later step was due too")
    EXPIRED = "expired", _("Skipped: older than the catch-up window")


class Action(models.Model):
    """What a run decided for an account, and why, in words a collector understands."""

    run = models.ForeignKey(
        Run, verbose_name=_("run"), on_delete=models.PROTECT, related_name="actions"
    )
    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.CASCADE, related_name="+"
    )
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debtor"), on_delete=models.CASCADE, related_name="actions"
    )
    episode = models.ForeignKey(
        Episode,
        verbose_name=_("episode"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="actions",
    )
    document = models.ForeignKey(
        Document,
        verbose_name=_("document"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    step = models.ForeignKey(
        Step, verbose_name=_("step"), on_delete=models.PROTECT, related_name="actions"
    )
    kind = models.CharField(_("action"), max_length=20, choices=StepAction.choices)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    due_on = models.DateField(_("due on"))
    status = models.CharField(_("status"), max_length=20, choices=ActionStatus.choices)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("why"), max_length=400)
    created_at = models.DateTimeField(_("created"), default=now)

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["-due_on", "-id"]
        constraints = [
            # A step fires (or is skipped) once per episode, a preventive one once per document.
            models.UniqueConstraint(
                fields=["episode", "step"],
                condition=Q(episode__isnull=False),
                name="action_once_per_episode",
            ),
            models.UniqueConstraint(
                fields=["document", "step"],
                condition=Q(document__isnull=False),
                name="action_once_per_document",
            ),
        ]
        indexes = [models.Index(fields=["creditor", "due_on"], name="action_due_idx")]

    def __str__(self) -> str:
        return f"{self.step.code} → {self.debtor}"


class AlertKind(models.TextChoices):
    NEW_DELINQUENCY = "new_delinquency", _("New delinquency")
    BROKEN_PROMISE = "broken_promise", _("Broken promise")
    LEGAL_REVIEW = "legal_review", _("Legal review requested")


class Alert(models.Model):
    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.CASCADE, related_name="+"
    )
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debtor"), on_delete=models.CASCADE, related_name="alerts"
    )
    run = models.ForeignKey(
        Run,
        verbose_name=_("run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AlertKind.choices)
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("collector"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    message = models.CharField(_("message"), max_length=400)
    created_on = models.DateField(_("date"))
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_on", "-id"]

    def __str__(self) -> str:
        return self.message


class PauseUntil(models.TextChoices):
    DATE = "", _("Only the end date")
    NOTHING_OVERDUE = "nothing_overdue", _("Nothing is overdue any more")
    PAID = "paid", _("Everything is paid")


class Pause(models.Model):
    """An account, or some of its documents, held out of the strategy for a while.

    A pause ends on its end date or, with `ends_when`, at the first run that finds the condition
    met for what it holds (the account, or just its documents); that run sets `ended_on`.
    """

    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.CASCADE, related_name="+"
    )
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debtor"), on_delete=models.CASCADE, related_name="pauses"
    )
    documents = models.ManyToManyField(
        Document, verbose_name=_("documents"), blank=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    ends_when = models.CharField(
        _("or until"), max_length=20, choices=PauseUntil.choices, blank=True, default=""
    )
    ended_on = models.DateField(_("ended on"), null=True, blank=True, editable=False)
    created_by = models.CharField(_("created by"), max_length=150)
    created_at = models.DateTimeField(_("created"), default=now)

    class Meta:
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="pause_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.debtor}: {self.reason}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            errors["ends_on"] = gettext("A pause cannot end before it starts.")
        if self.debtor_id and self.creditor_id and self.debtor.creditor_id != self.creditor_id:
            errors["debtor"] = gettext("This debtor belongs to another creditor.")
        if errors:
            raise ValidationError(errors)
