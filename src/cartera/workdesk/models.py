"""What the workdesk keeps of its own: outcome codes, callbacks, targets and worklist weights.

Everything else it shows belongs to the domain apps (accounts, promises, messages…); the
workdesk only adds the configuration a collections team tunes and the callbacks collectors
schedule for themselves.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cartera.portfolio.models import Creditor, Debtor


class Access(models.Model):
    """No table: it only carries the workdesk's permissions, which the roles hand out
    (`cartera.core.roles`). Checked on the server by every workdesk view."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            (
                "work_accounts",
                "Can work accounts: log contacts, promises, callbacks, messages, disputes",
            ),
            ("view_team", "Can see the team's work and any collector's worklist"),
            ("manage_team", "Can reassign accounts, rebalance loads and set targets"),
        ]

    def __str__(self) -> str:
        return "workdesk access"


class OutcomeCategory(models.TextChoices):
    CONTACTED = "contacted", _("Spoke with someone")
    PROMISE = "promise", _("Promise to pay")
    REFUSAL = "refusal", _("Refuses to pay")
    DISPUTE = "dispute", _("Disputes the debt")
    CALLBACK = "callback", _("Asked to be called back")
    LEFT_MESSAGE = "left_message", _("Left a message")
    NO_ANSWER = "no_answer", _("No answer")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    OTHER = "other", _("Other")


NOT_REACHED_CATEGORIES = (
    OutcomeCategory.NO_ANSWER,
    OutcomeCategory.LEFT_MESSAGE,
    OutcomeCategory.WRONG_NUMBER,
)
"""Outcomes of an attempt in which nobody of the debtor's side was spoken to: the attempt
counts, the contact was not made."""


class OutcomeCode(models.Model):
    """How a contact ended, as a team records it ("no contesta", "promesa de pago"…).

    A code without a creditor is a default offered to every creditor; a creditor's own code with
    the same `code` replaces it for that creditor.
    """

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: offered to every creditor"),
    )
    code = models.SlugField(_("code"), max_length=40)
    label = models.CharField(_("label"), max_length=100)
    category = models.CharField(_("category"), max_length=20, choices=OutcomeCategory.choices)
    right_party = models.BooleanField(
        _("right-party contact"),
        default=False,
        help_text=_("The collector spoke with the debtor (or whoever may pay for them)"),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("outcome code")
        verbose_name_plural = _("outcome codes")
        ordering = ["order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["creditor", "code"], name="outcome_code_unique"),
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(creditor__isnull=True),
                name="outcome_code_default_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        if self.right_party and self.category in NOT_REACHED_CATEGORIES:
            raise ValidationError(
                {
                    "right_party": gettext(
                        "An outcome in which nobody was spoken to cannot be a right-party contact."
                    )
                }
            )

    @property
    def reached_someone(self) -> bool:
        return self.category not in NOT_REACHED_CATEGORIES


class Callback(models.Model):
    """A call a collector promised to make at a given time ("llámeme el jueves a las 3")."""

    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.CASCADE, related_name="+"
    )
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debtor"), on_delete=models.CASCADE, related_name="callbacks"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("for"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    due_at = models.DateTimeField(_("call at"))
    note = models.CharField(_("note"), max_length=400, blank=True, default="")
    created_by = models.CharField(_("created by"), max_length=150)
    created_at = models.DateTimeField(_("created"), default=now)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.CharField(_("done by"), max_length=150, blank=True, default="")

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        ordering = ["due_at", "id"]
        indexes = [
            # The worklist reads only the callbacks still to be made.
            models.Index(
                fields=["creditor", "due_at"],
                name="callback_open_idx",
                condition=Q(done_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.debtor_id} @ {self.due_at:%Y-%m-%d %H:%M}"


class TargetMetric(models.TextChoices):
    CONTACTS_ATTEMPTED = "contacts_attempted", _("Contacts attempted")
    CONTACTS_MADE = "contacts_made", _("Contacts made")
    RIGHT_PARTY = "right_party_contacts", _("Right-party contacts")
    PROMISES_MADE = "promises_made", _("Promises made")
    PROMISES_AMOUNT = "promises_amount", _("Amount promised")
    KEPT_RATE = "promise_kept_rate", _("Promise-kept rate (%)")
    COLLECTED = "collected_amount", _("Money collected")


AMOUNT_METRICS = (TargetMetric.PROMISES_AMOUNT, TargetMetric.COLLECTED)
"""Targets in money: stored in the creditor's currency's minor units."""


class Target(models.Model):
    """What a supervisor expects of a collector (or of the whole team) in a month."""

    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("collector"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: the whole team"),
    )
    metric = models.CharField(_("metric"), max_length=30, choices=TargetMetric.choices)
    month = models.DateField(_("month"), help_text=_("The first day of the month"))
    value = models.BigIntegerField(
        _("target"),
        help_text=_("Amounts in minor units of the creditor's currency; rates in percent"),
    )
    updated_by = models.CharField(_("set by"), max_length=150, blank=True, default="")
    updated_at = models.DateTimeField(_("set at"), default=now)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["-month", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "user", "metric", "month"], name="target_unique"
            ),
            models.UniqueConstraint(
                fields=["creditor", "metric", "month"],
                condition=Q(user__isnull=True),
                name="target_team_unique",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="target_not_negative"),
            models.CheckConstraint(condition=Q(month__day=1), name="target_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.month:%Y-%m}: {self.value}"


class WorklistWeights(models.Model):
    """How a creditor's worklist orders accounts: points per reason, added up (docs/workdesk.md).

    A creditor without a row uses the defaults of these fields. With the defaults each reason
    outweighs every reason below it together (8000 > 4000 + 2000 + 1000 + 500 + 400), so a
    broken promise always comes first, then a promise due today, a callback, a strategy task,
    a new delinquency, and the overdue amount, days past due and high balance (at most 400).
    """

    creditor = models.OneToOneField(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.CASCADE,
        related_name="worklist_weights",
    )
    broken_promise = models.IntegerField(_("broken promise"), default=8000)
    promise_due_today = models.IntegerField(_("promise due today"), default=4000)
    callback_due = models.IntegerField(_("callback due"), default=2000)
    strategy_task = models.IntegerField(_("strategy task open"), default=1000)
    new_delinquent = models.IntegerField(_("new delinquent"), default=500)
    high_balance = models.IntegerField(_("high balance"), default=100)
    overdue_points = models.IntegerField(
        _("points for the overdue amount"),
        default=200,
        help_text=_("Given in proportion to the overdue amount, in full from the high balance"),
    )
    dpd_points = models.IntegerField(
        _("points for days past due"),
        default=100,
        help_text=_("Given in proportion to days past due, in full from the cap below"),
    )
    dpd_cap = models.PositiveIntegerField(_("days past due for full points"), default=180)
    contacted_today = models.IntegerField(
        _("already contacted today"),
        default=-1000,
        help_text=_("Added once anyone logged a contact on the account today (usually negative)"),
    )
    paused = models.IntegerField(
        _("paused account"),
        default=-1000,
        help_text=_(
            "Added when the strategy holds the account or a promise not yet due covers it "
            "(usually negative)"
        ),
    )
    high_balance_minor = models.BigIntegerField(
        _("high balance from (minor units)"),
        null=True,
        blank=True,
        help_text=_("Empty: a default for the creditor's currency (see the documentation)"),
    )
    broken_promise_days = models.PositiveSmallIntegerField(
        _("days a broken promise stays a reason"), default=7
    )
    new_delinquent_days = models.PositiveSmallIntegerField(
        _("days a new delinquent stays a reason"), default=3
    )
    updated_at = models.DateTimeField(_("updated"), default=now)

    class Meta:
        verbose_name = _("worklist weights")
        verbose_name_plural = _("worklist weights")

    def __str__(self) -> str:
        return str(self.creditor)

    def clean(self) -> None:
        if self.dpd_cap == 0:
            raise ValidationError({"dpd_cap": gettext("Use at least one day.")})
        if self.high_balance_minor is not None and self.high_balance_minor <= 0:
            raise ValidationError(
                {"high_balance_minor": gettext("Use an amount above zero, or leave it empty.")}
            )


class Preferences(models.Model):
    """What a user chose for themselves, kept with the user rather than in one browser: the
    language of the interface (Spanish unless they pick another in the page header)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="workdesk_preferences",
    )
    # No `choices`: the languages offered are settings.LANGUAGES, checked where it is saved,
    # so adding one needs no migration.
    language = models.CharField(_("language"), max_length=10)
    updated_at = models.DateTimeField(_("updated"), default=now)

    class Meta:
        verbose_name = _("preferences")
        verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}"
