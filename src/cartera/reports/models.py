"""Snapshots the daily run writes so that a year of trends stays cheap to read.

What they hold (see `cartera.reports.snapshots` for how they are written):

- `SnapshotDay`: that a creditor's figures of a day were written (a report reads the tables below
  for such a day and rebuilds any other day from the ledger);
- `DailyBalance`: the aging of the day, per currency, 30-day bucket, written-off flag and the
  account's stage, segment and collector;
- `DailyFlow`: what was issued (sales) and collected on the day, per due date of the documents;
- `MonthBalance`: each account's balances by bucket at a month end (the input of roll rates);
- `RollCount`: where the accounts of each bucket at a month end were a month later;
- `CollectorSpell`: who held each account from which day, so that money collected is credited
  to the collector who held the account on the payment's date;
- `ForecastWeek`: the 13-week cash forecast as it was made on the day (for the back-test).

Ids of stages, segments and collectors are kept without database constraints: a snapshot is a
record of the past and must survive the deletion of a segment (its label is then shown as
"deleted"), and bulk writes of history should not pay for foreign-key checks.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from cartera.portfolio.models import Creditor, Debtor


def _soft(model: str | type[models.Model], name: Any) -> models.ForeignKey:  # type: ignore[type-arg]
    """A reference kept as a plain id: no constraint, no cascade, no index."""
    return models.ForeignKey(
        model,
        verbose_name=name,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )


class SnapshotSource(models.TextChoices):
    RUN = "run", _("Daily run")
    REBUILD = "rebuild", _("Rebuilt from the ledger")


class SnapshotDay(models.Model):
    creditor = models.ForeignKey(
        Creditor, verbose_name=_("creditor"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"))
    source = models.CharField(
        _("source"), max_length=10, choices=SnapshotSource.choices, default=SnapshotSource.RUN
    )
    written_at = models.DateTimeField(_("written at"), default=now)

    class Meta:
        verbose_name = _("snapshot day")
        verbose_name_plural = _("snapshot days")
        ordering = ["creditor", "-day"]
        constraints = [
            models.UniqueConstraint(fields=["creditor", "day"], name="snapshot_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.creditor_id} {self.day}"


class DailyBalance(models.Model):
    """Open balances at the end of a day. `bucket` 0 is current, 1–7 the 30-day buckets up to
    181+, and 8 the credits (open credit notes and unapplied payments, negative)."""

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    day = models.DateField(_("day"))
    currency = models.CharField(_("currency"), max_length=3)
    bucket = models.PositiveSmallIntegerField(_("bucket"))
    written_off = models.BooleanField(_("written off"), default=False)
    stage = _soft("strategy.Stage", _("stage"))
    segment = _soft("strategy.Segment", _("segment"))
    collector = _soft(settings.AUTH_USER_MODEL, _("collector"))
    balance_minor = models.BigIntegerField(_("balance (minor units)"))
    documents = models.IntegerField(_("documents"))

    class Meta:
        verbose_name = _("daily balance")
        verbose_name_plural = _("daily balances")
        indexes = [models.Index(fields=["creditor", "day"], name="dailybalance_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency} {self.bucket}: {self.balance_minor}"


class DailyFlow(models.Model):
    """Sales (original amounts of invoices, debit notes and installments issued) and money
    applied on a day, per due date of the documents concerned."""

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    day = models.DateField(_("day"))
    currency = models.CharField(_("currency"), max_length=3)
    due_date = models.DateField(_("due date"))
    sales_minor = models.BigIntegerField(_("sales (minor units)"), default=0)
    collected_minor = models.BigIntegerField(_("collected (minor units)"), default=0)

    class Meta:
        verbose_name = _("daily flow")
        verbose_name_plural = _("daily flows")
        indexes = [models.Index(fields=["creditor", "day"], name="dailyflow_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency} {self.due_date}"


class MonthBalance(models.Model):
    """An account's positive balances at a month end, by the 30-day bucket of each document.

    `bucket` is the account's own bucket (that of its oldest overdue document) and
    `balance_minor` what it owes outside written-off documents; `written_off_minor` is what its
    written-off documents still show, and `written_off_in_month` tells that some document of
    the account was written off during that calendar month.
    """

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    month_end = models.DateField(_("month end"))
    debtor = models.ForeignKey(
        Debtor,
        verbose_name=_("debtor"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    currency = models.CharField(_("currency"), max_length=3)
    bucket = models.PositiveSmallIntegerField(_("bucket"))
    balance_minor = models.BigIntegerField(_("balance (minor units)"))
    written_off_minor = models.BigIntegerField(_("written off (minor units)"), default=0)
    written_off_in_month = models.BooleanField(_("written off during the month"), default=False)
    b0_minor = models.BigIntegerField(_("current"), default=0)
    b1_minor = models.BigIntegerField("1-30", default=0)
    b2_minor = models.BigIntegerField("31-60", default=0)
    b3_minor = models.BigIntegerField("61-90", default=0)
    b4_minor = models.BigIntegerField("91-120", default=0)
    b5_minor = models.BigIntegerField("121-150", default=0)
    b6_minor = models.BigIntegerField("151-180", default=0)
    b7_minor = models.BigIntegerField("181+", default=0)
    stage = _soft("strategy.Stage", _("stage"))
    segment = _soft("strategy.Segment", _("segment"))
    collector = _soft(settings.AUTH_USER_MODEL, _("collector"))

    class Meta:
        verbose_name = _("month-end account balance")
        verbose_name_plural = _("month-end account balances")
        indexes = [
            models.Index(fields=["creditor", "month_end", "bucket"], name="monthbalance_idx"),
            models.Index(fields=["month_end", "debtor"], name="monthbalance_debtor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.month_end} {self.debtor_id} {self.currency}"


class RollCount(models.Model):
    """Accounts of a bucket at `month_end` and where they were at the next month end.

    `to_bucket`: -1 paid (nothing owed), 0–7 the bucket a month later, 9 written off.
    """

    PAID = -1
    WRITTEN_OFF = 9

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    month_end = models.DateField(_("month end"))
    currency = models.CharField(_("currency"), max_length=3)
    segment = _soft("strategy.Segment", _("segment"))
    from_bucket = models.PositiveSmallIntegerField(_("from bucket"))
    to_bucket = models.SmallIntegerField(_("to bucket"))
    accounts = models.IntegerField(_("accounts"))
    balance_minor = models.BigIntegerField(_("balance at the month end (minor units)"))

    class Meta:
        verbose_name = _("roll count")
        verbose_name_plural = _("roll counts")
        indexes = [models.Index(fields=["creditor", "month_end"], name="rollcount_month_idx")]

    def __str__(self) -> str:
        return f"{self.month_end} {self.from_bucket} → {self.to_bucket}"


class CollectorSpell(models.Model):
    """An account held by a collector (or by nobody) from `since` until the day before
    `until` (empty: still held), as the daily runs found it."""

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    debtor = models.ForeignKey(
        Debtor,
        verbose_name=_("debtor"),
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    collector = _soft(settings.AUTH_USER_MODEL, _("collector"))
    since = models.DateField(_("since"))
    until = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("collector spell")
        verbose_name_plural = _("collector spells")
        indexes = [
            models.Index(fields=["debtor", "since"], name="collectorspell_debtor_idx"),
            models.Index(
                fields=["creditor", "debtor"],
                name="collectorspell_open_idx",
                condition=models.Q(until__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.debtor_id}: {self.collector_id} {self.since}–{self.until or ''}"


class ForecastWeek(models.Model):
    """The cash expected in one of the 13 weeks after `made_on`, as forecast on that day."""

    creditor = models.ForeignKey(
        Creditor,
        verbose_name=_("creditor"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    made_on = models.DateField(_("forecast made on"))
    currency = models.CharField(_("currency"), max_length=3)
    week = models.PositiveSmallIntegerField(_("week"))
    documents_minor = models.BigIntegerField(_("from documents (minor units)"), default=0)
    promises_minor = models.BigIntegerField(_("from promises (minor units)"), default=0)

    class Meta:
        verbose_name = _("forecast week")
        verbose_name_plural = _("forecast weeks")
        indexes = [models.Index(fields=["creditor", "made_on"], name="forecastweek_made_idx")]

    def __str__(self) -> str:
        return f"{self.made_on} {self.currency} week {self.week}"
