"""The daily run: for one creditor and one as-of date, decide what happens to every account.

A fixed number of set-based queries read the portfolio at the end of the day (balances rebuilt
from the ledger, as the aging report does), the accounts, episodes, pauses and what earlier
runs did; the decisions are made in memory over those rows, and everything is written back
with bulk writes. The number of queries does not grow with the number of accounts.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cartera.core.audit import Actor, audit_record
from cartera.core.bulk import ids_reserve, rows_insert, rows_update
from cartera.messaging.services import QueueRequest, messages_queue
from cartera.negotiation.interest import negotiation_daily
from cartera.negotiation.models import Agreement, AgreementStatus, Promise, PromiseStatus
from cartera.negotiation.queries import ALERT_PROMISE_LIMIT, accounts_over_promise_limit
from cartera.negotiation.services import promises_decide
from cartera.portfolio.models import ContactPoint, Creditor
from cartera.reports.balances import netted_entries
from cartera.strategy.models import (
    Account,
    Action,
    ActionStatus,
    Alert,
    AlertKind,
    AssignmentRule,
    Episode,
    Pause,
    PauseUntil,
    Run,
    Segment,
    Stage,
    Step,
    StepAction,
    Strategy,
)
from cartera.strategy.signals import run_committed_send


class RunRefused(ValueError):
    """A run that must not happen (e.g. a date before the creditor's last run)."""


def catchup_window() -> int:
    return int(getattr(settings, "CARTERA_CATCHUP_DAYS", 10))


@dataclass
class RunReport:
    as_of: datetime.date
    creditor: str | None
    accounts_evaluated: int = 0
    accounts_paused: int = 0
    new_delinquent: int = 0
    episodes_opened: int = 0
    episodes_cured: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    already_ran: bool = False
    promises: dict[str, int] = field(default_factory=dict)
    pauses_ended: int = 0
    # Agreements decided, late interest and fees charged (cartera.negotiation).
    negotiation: dict[str, Any] = field(default_factory=dict)

    def add(self, other: RunReport) -> None:
        self.accounts_evaluated += other.accounts_evaluated
        self.accounts_paused += other.accounts_paused
        self.new_delinquent += other.new_delinquent
        self.episodes_opened += other.episodes_opened
        self.episodes_cured += other.episodes_cured
        self.actions.update(other.actions)
        self.skipped.update(other.skipped)
        self.already_ran = self.already_ran and other.already_ran

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "creditor": self.creditor,
            "accounts_evaluated": self.accounts_evaluated,
            "accounts_paused": self.accounts_paused,
            "new_delinquent": self.new_delinquent,
            "episodes_opened": self.episodes_opened,
            "episodes_cured": self.episodes_cured,
            "actions": dict(sorted(self.actions.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "already_ran": self.already_ran,
        }


@dataclass
class AccountFigures:
    debtor_id: int
    total: int
    overdue: int
    oldest_overdue: datetime.date | None
    oldest_workable: datetime.date | None
    kind: str
    country: str
    tags: list[str]
    name: str
    region: str


class _Rollback(Exception):
    pass


def _as_date(value: Any) -> datetime.date | None:
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


_BALANCES = """
    WITH late AS (
        SELECT document_id, SUM(amount) AS amount FROM ({entries}) entries
        GROUP BY document_id
    ),
    balances AS (
        SELECT d.id, d.debtor_id, d.currency, d.due_date, d.number,
               d.balance_minor - COALESCE(l.amount, 0) AS balance
        FROM portfolio_document d LEFT JOIN late l ON l.document_id = d.id
        WHERE d.creditor_id = %s AND d.balance_minor <> 0
        UNION ALL
        SELECT d.id, d.debtor_id, d.currency, d.due_date, d.number, -l.amount AS balance
        FROM late l JOIN portfolio_document d ON d.id = l.document_id
        WHERE d.balance_minor = 0
    ),
    held AS (
        SELECT dd.document_id FROM negotiation_dispute_documents dd
        JOIN negotiation_dispute ds ON ds.id = dd.dispute_id
        WHERE ds.creditor_id = %s AND ds.status = 'open'
        UNION
        SELECT pd.document_id FROM strategy_pause_documents pd
        JOIN strategy_pause p ON p.id = pd.pause_id
        WHERE p.creditor_id = %s AND p.starts_on <= %s
          AND (p.ends_on IS NULL OR p.ends_on >= %s)
          AND (p.ended_on IS NULL OR p.ended_on > %s)
    )
"""


def _balances_held(creditor_id: int, as_of: datetime.date) -> tuple[str, list[Any]]:
    """The `late`, `balances` and `held` CTEs (with WITH) at the end of `as_of`, and their
    parameters: the caller's statement and parameters follow."""
    entries, entries_params = netted_entries([creditor_id], "{date} > %s", [as_of])
    return _BALANCES.replace("{entries}", entries), [
        *entries_params,
        creditor_id,
        creditor_id,
        creditor_id,
        as_of,
        as_of,
        as_of,
    ]


class DailyRun:
    """One run of one creditor; `execute()` does it all and returns the report."""

    def __init__(self, creditor: Creditor, as_of: datetime.date, actor: Actor):
        self.creditor = creditor
        self.as_of = as_of
        self.actor = actor
        self.window = catchup_window()
        self.report = RunReport(as_of=as_of, creditor=creditor.code)
        self.now = timezone.now()
        self.messages: list[QueueRequest] = []

    # -- reading -------------------------------------------------------------------------
    def _read_figures(self) -> dict[int, AccountFigures]:
        c, d = self.creditor, self.as_of
        balances, params = _balances_held(c.pk, d)
        sql = (
            balances
            + """
            SELECT b.debtor_id,
                   SUM(CASE WHEN b.currency = %s THEN b.balance ELSE 0 END),
                   SUM(CASE WHEN b.currency = %s AND b.due_date < %s THEN b.balance ELSE 0 END),
                   MIN(CASE WHEN b.due_date < %s THEN b.due_date END),
                   MIN(CASE WHEN b.due_date < %s AND x.document_id IS NULL
                       THEN b.due_date END),
                   db.kind, db.country, db.tags, db.name, db.region
            FROM balances b
            JOIN portfolio_debtor db ON db.id = b.debtor_id
            LEFT JOIN held x ON x.document_id = b.id
            WHERE b.balance > 0
            GROUP BY b.debtor_id, db.kind, db.country, db.tags, db.name, db.region
        """
        )
        params += [c.currency, c.currency, d, d, d]
        figures = {}
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for row in cursor.fetchall():
                tags = row[7]
                if isinstance(tags, str):
                    tags = json.loads(tags or "[]")
                figures[row[0]] = AccountFigures(
                    debtor_id=row[0],
                    total=int(row[1] or 0),
                    overdue=int(row[2] or 0),
                    oldest_overdue=_as_date(row[3]),
                    oldest_workable=_as_date(row[4]),
                    kind=row[5],
                    country=row[6],
                    tags=list(tags or []),
                    name=row[8],
                    region=row[9],
                )
        return figures

    def _read_upcoming(self, lead_days: int) -> list[tuple[int, int, datetime.date, str]]:
        """Open documents, not disputed nor paused, due within the preventive horizon."""
        if lead_days < 0:
            return []
        c, d = self.creditor, self.as_of
        balances, params = _balances_held(c.pk, d)
        sql = (
            balances
            + """
            SELECT b.id, b.debtor_id, b.due_date, b.number FROM balances b
            LEFT JOIN held x ON x.document_id = b.id
            WHERE b.balance > 0 AND x.document_id IS NULL
              AND b.due_date >= %s AND b.due_date <= %s
        """
        )
        horizon = d + datetime.timedelta(days=lead_days + self.window)
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, d, horizon])
            return [(r[0], r[1], _as_date(r[2]), r[3]) for r in cursor.fetchall()]  # type: ignore[misc]

    def _end_pauses(self, figures: dict[int, AccountFigures]) -> None:
        """Pauses that last until a condition end at the first run that finds it met."""
        c, d = self.creditor, self.as_of
        conditional = list(
            Pause.objects.filter(creditor=c, starts_on__lte=d, ended_on__isnull=True)
            .exclude(ends_when="")
            .exclude(ends_on__lt=d)
            .values_list("pk", "debtor_id", "ends_when")
        )
        if not conditional:
            return
        ids = [pk for pk, _debtor, _when in conditional]
        held_documents: dict[int, tuple[int, int]] = {
            pk: (0, 0)
            for pk in Pause.documents.through.objects.filter(pause_id__in=ids).values_list(
                "pause_id", flat=True
            )
        }
        if held_documents:
            marks = ", ".join(["%s"] * len(held_documents))
            balances, params = _balances_held(c.pk, d)
            sql = (
                balances
                + f"""
                SELECT pd.pause_id,
                       SUM(CASE WHEN b.balance > 0 THEN 1 ELSE 0 END),
                       SUM(CASE WHEN b.balance > 0 AND b.due_date < %s THEN 1 ELSE 0 END)
                FROM strategy_pause_documents pd JOIN balances b ON b.id = pd.document_id
                WHERE pd.pause_id IN ({marks}) GROUP BY pd.pause_id
            """
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [*params, d, *held_documents])
                for pk, still_open, still_overdue in cursor.fetchall():
                    held_documents[pk] = (int(still_open or 0), int(still_overdue or 0))
        ended = []
        for pk, debtor_id, when in conditional:
            if pk in held_documents:
                still_open, still_overdue = held_documents[pk]
            else:
                fig = figures.get(debtor_id)
                still_open = int(fig is not None and fig.total > 0)
                still_overdue = int(fig is not None and fig.oldest_overdue is not None)
            if (when == PauseUntil.PAID and not still_open) or (
                when == PauseUntil.NOTHING_OVERDUE and not still_overdue
            ):
                ended.append(pk)
        Pause.objects.filter(pk__in=ended).update(ended_on=d)
        self.report.pauses_ended = len(ended)

    def _paused_debtors(self, debtor_ids: set[int]) -> dict[int, str]:
        """{debtor: why} for accounts held out of the strategy today."""
        paused: dict[int, str] = {}
        d = self.as_of
        for debtor_id, reason in (
            Pause.objects.filter(creditor=self.creditor, starts_on__lte=d, documents__isnull=True)
            .exclude(ends_on__lt=d)
            .exclude(ended_on__lte=d)
            .values_list("debtor_id", "reason")
        ):
            paused[debtor_id] = _("paused: %(reason)s") % {"reason": reason}
        # A pending promise, or a kept one whose date has not passed, holds the strategy.
        for debtor_id, promised in (
            Promise.objects.filter(creditor=self.creditor, created_on__lte=d)
            .filter(Q(status=PromiseStatus.PENDING) | Q(status=PromiseStatus.KEPT, deadline__gte=d))
            .values_list("debtor_id", "promised_date")
            .order_by("promised_date")
        ):
            paused.setdefault(debtor_id, _("promise to pay by %(date)s") % {"date": promised})
        # An active payment agreement holds the strategy until it is kept or broken.
        for debtor_id, number in Agreement.objects.filter(
            creditor=self.creditor, status=AgreementStatus.ACTIVE, decided_on__lte=d
        ).values_list("debtor_id", "number"):
            paused.setdefault(debtor_id, _("payment agreement %(number)s") % {"number": number})
        # Every way to reach the debtor is marked do-not-contact.
        contactable = set(
            ContactPoint.objects.filter(debtor__creditor=self.creditor, do_not_contact=False)
            .values_list("debtor_id", flat=True)
            .distinct()
        )
        blocked = set(
            ContactPoint.objects.filter(debtor__creditor=self.creditor, do_not_contact=True)
            .values_list("debtor_id", flat=True)
            .distinct()
        )
        for debtor_id in blocked - contactable:
            paused.setdefault(debtor_id, _("the debtor asked not to be contacted"))
        return paused

    # -- deciding ------------------------------------------------------------------------
    def execute(self) -> RunReport:
        c, d = self.creditor, self.as_of
        last = (
            Run.objects.filter(creditor=c)
            .order_by("-as_of")
            .values_list("as_of", flat=True)
            .first()
        )
        if last is not None and d < last:
            raise RunRefused(
                _(
                    "%(creditor)s already ran for %(last)s; a run for an earlier date (%(date)s) "
                    "is refused (to simulate, point DATABASE_URL at a copy of the database)"
                )
                % {"creditor": c.code, "last": last, "date": d}
            )
        first_run = last is None
        self.report.already_ran = last == d
        with translation.override(c.locale.split("_")[0]):
            self._execute(first_run)
        return self.report

    def _execute(self, first_run: bool) -> None:
        c, d, window = self.creditor, self.as_of, self.window
        stages = list(Stage.objects.filter(creditor=c).order_by("order"))
        segments = list(Segment.objects.filter(creditor=c).order_by("order"))
        strategies = {s.segment_id: s for s in Strategy.objects.filter(creditor=c, active=True)}
        steps_of: dict[int, list[Step]] = {}
        for step in Step.objects.filter(strategy__in=strategies.values()).order_by("day_offset"):
            steps_of.setdefault(step.strategy_id, []).append(step)
        broken_today = Promise.objects.filter(creditor=c, decided_on=d, status=PromiseStatus.BROKEN)
        # A rerun of the same day alerts only about promises it broke itself.
        already_broken = set(broken_today.values_list("pk", flat=True))
        self.report.promises = promises_decide(creditor=c, as_of=d, actor=self.actor)
        # Negotiation: agreements kept or broken (and installment reminders), then late
        # interest and collection fees, before the balances are read.
        negotiation = negotiation_daily(creditor=c, as_of=d, actor=self.actor)
        self.report.negotiation = negotiation.as_json()
        figures = self._read_figures()
        accounts = {a.debtor_id: a for a in Account.objects.filter(creditor=c)}
        episodes = {
            e.debtor_id: e for e in Episode.objects.filter(creditor=c, cured_on__isnull=True)
        }
        self._end_pauses(figures)
        paused = self._paused_debtors(set(figures))
        run = None
        if not self.report.already_ran:
            run = Run.objects.create(
                creditor=c,
                as_of=d,
                started_by=self.actor.label,
                strategy_versions={s.code: s.version for s in strategies.values()},
            )

        # Episodes: open for newly overdue accounts, cure those with nothing overdue.
        new_episodes: list[Episode] = []
        cured: list[Episode] = []
        for debtor_id, episode in episodes.items():
            fig = figures.get(debtor_id)
            if fig is None or fig.oldest_overdue is None:
                episode.cured_on = d
                cured.append(episode)
        alerts: list[tuple[Any, ...]] = []
        for promise in broken_today.exclude(pk__in=already_broken).select_related("debtor"):
            account = accounts.get(promise.debtor_id)
            alerts.append(
                (
                    c.pk,
                    promise.debtor_id,
                    run.pk if run else None,
                    AlertKind.BROKEN_PROMISE,
                    account.collector_id if account else None,
                    _("%(name)s broke the promise to pay by %(date)s")
                    % {"name": promise.debtor.name, "date": promise.promised_date},
                    d,
                )
            )
        # Negotiation: broken agreements, and accounts that reached the limit of broken
        # promises (the next promise needs a supervisor), alert the collector and supervisors.
        newly_broken = (
            set(broken_today.values_list("pk", flat=True)) - already_broken
            if self.report.promises.get("broken")
            else set()
        )
        over_limit = [
            (
                debtor_id,
                ALERT_PROMISE_LIMIT,
                _("%(count)s broken promises lately: the next promise needs a supervisor")
                % {"count": count},
            )
            for debtor_id, count in accounts_over_promise_limit(c, d, newly_broken)
        ]
        for debtor_id, kind, message in [
            *((a.debtor_id, a.kind, a.message) for a in negotiation.agreements.alerts),
            *over_limit,
        ]:
            account = accounts.get(debtor_id)
            alerts.append(
                (
                    c.pk,
                    debtor_id,
                    run.pk if run else None,
                    kind,
                    account.collector_id if account else None,
                    message[:400],
                    d,
                )
            )
        if not self.report.already_ran:
            for debtor_id, fig in figures.items():
                if fig.oldest_overdue is None or debtor_id in episodes:
                    continue
                episode = Episode(
                    creditor=c,
                    debtor_id=debtor_id,
                    opened_on=d,
                    anchor_due_date=fig.oldest_overdue,
                )
                new_episodes.append(episode)
                account = accounts.get(debtor_id)
                was_overdue = account is not None and account.overdue
                # The first run sets a baseline: only recent delinquencies are news.
                recent = (d - fig.oldest_overdue).days <= window + 1
                if not was_overdue and (not first_run or recent):
                    self.report.new_delinquent += 1
                    alerts.append(
                        (
                            c.pk,
                            debtor_id,
                            run.pk if run else None,
                            AlertKind.NEW_DELINQUENCY,
                            account.collector_id if account else None,
                            _("%(name)s is overdue since %(date)s")
                            % {"name": fig.name, "date": fig.oldest_overdue},
                            d,
                        )
                    )
            for episode, pk in zip(
                new_episodes, ids_reserve(Episode, len(new_episodes)), strict=True
            ):
                episode.pk = pk
                episodes[episode.debtor_id] = episode
        for episode in cured:
            episodes.pop(episode.debtor_id, None)
        self.report.episodes_opened = len(new_episodes)
        self.report.episodes_cured = len(cured)

        # Segment, stage and the steps due, account by account (in memory).
        actions: list[tuple[Any, ...]] = []
        touched_accounts: list[Account] = []
        new_accounts: list[Account] = []
        # By step code, so a step kept in a new version of the strategy does not fire again.
        fired: set[tuple[int, str]] = set(
            Action.objects.filter(
                creditor=c, episode__isnull=False, episode__cured_on__isnull=True
            ).values_list("episode_id", "step__code")
        )
        preventive_steps = [s for steps in steps_of.values() for s in steps if s.preventive]
        lead = max((-s.day_offset for s in preventive_steps), default=-1)
        upcoming = self._read_upcoming(lead) if not self.report.already_ran else []
        fired_documents: set[tuple[int, str]] = (
            set(
                Action.objects.filter(
                    creditor=c, document__isnull=False, document__due_date__gte=d
                ).values_list("document_id", "step__code")
            )
            if upcoming
            else set()
        )
        evaluated = set(figures) | {a.debtor_id for a in accounts.values() if a.overdue}
        self.report.accounts_evaluated = len(evaluated)
        first_stage = stages[0] if stages else None
        assigner = Assigner(c, accounts.values())
        for debtor_id in evaluated:
            fig = figures.get(debtor_id)
            account = accounts.get(debtor_id)
            if account is None:
                account = Account(creditor=c, debtor_id=debtor_id)
                new_accounts.append(account)
            else:
                touched_accounts.append(account)
            account.total_minor = fig.total if fig else 0
            account.overdue_minor = fig.overdue if fig else 0
            account.overdue = bool(fig and fig.oldest_overdue)
            account.max_dpd = (d - fig.oldest_overdue).days if fig and fig.oldest_overdue else 0
            account.evaluated_on = d
            account.segment = _segment_for(segments, fig, account.max_dpd) if fig else None
            current = episodes.get(debtor_id)
            account.episode_id = current.pk if current else None
            account.stage = self._stage_for(stages, first_stage, account, current)
            if fig is not None and account.overdue:
                assigner.assign(account, fig)
            reason = paused.get(debtor_id)
            if reason is None and fig and fig.oldest_overdue and fig.oldest_workable is None:
                reason = _("every overdue document is disputed or paused")
            account.paused_reason = reason or ""
            if reason:
                self.report.accounts_paused += 1
                continue
            if self.report.already_ran or run is None:
                continue
            strategy = strategies.get(account.segment_id) or strategies.get(None)
            if strategy is None:
                continue
            steps = steps_of.get(strategy.pk, [])
            if current is not None and fig is not None and fig.oldest_workable is not None:
                self._episode_steps(run, account, current, strategy, steps, fired, fig, actions)
        if not self.report.already_ran and run is not None:
            self._preventive_steps(
                run,
                accounts,
                new_accounts,
                strategies,
                steps_of,
                upcoming,
                fired_documents,
                paused,
                actions,
            )

        # Writes.
        rows_insert(
            Episode,
            ("id", "creditor_id", "debtor_id", "opened_on", "anchor_due_date", "stage_id"),
            [
                (e.pk, c.pk, e.debtor_id, e.opened_on, e.anchor_due_date, e.stage_id)
                for e in new_episodes
            ],
        )
        new_ids = {e.pk for e in new_episodes}
        stage_changes = [
            e
            for e in episodes.values()
            if getattr(e, "_stage_changed", False) and e.pk not in new_ids
        ]
        rows_update(Episode, ["cured_on"], [(e.pk, e.cured_on) for e in cured])
        rows_update(Episode, ["stage_id"], [(e.pk, e.stage_id) for e in stage_changes])
        columns = (
            "collector_id",
            "collector_pinned",
            "segment_id",
            "stage_id",
            "episode_id",
            "total_minor",
            "overdue_minor",
            "max_dpd",
            "overdue",
            "paused_reason",
            "credit_hold",
            "legal_review",
            "evaluated_on",
        )
        ids = ids_reserve(Account, len(new_accounts))
        rows_insert(
            Account,
            ("id", "creditor_id", "debtor_id", *columns),
            [
                (pk, c.pk, a.debtor_id, *(getattr(a, name) for name in columns))
                for pk, a in zip(ids, new_accounts, strict=True)
            ],
        )
        rows_update(
            Account,
            list(columns),
            [(a.pk, *(getattr(a, name) for name in columns)) for a in touched_accounts],
        )
        rows_insert(
            Action,
            (
                "run_id",
                "creditor_id",
                "debtor_id",
                "episode_id",
                "document_id",
                "step_id",
                "kind",
                "channels",
                "due_on",
                "status",
                "assigned_to_id",
                "reason",
                "created_at",
            ),
            actions,
        )
        messages_queue(requests=self.messages, actor=self.actor)
        rows_insert(
            Alert,
            ("creditor_id", "debtor_id", "run_id", "kind", "collector_id", "message", "created_on"),
            alerts,
        )
        if run is not None:
            run.counts = self.report.as_json()
            run.finished_at = timezone.now()
            run.save(update_fields=["counts", "finished_at"])
            audit_record(
                actor=self.actor,
                action="run.execute",
                obj=run,
                creditor_id=c.pk,
                changes=run.counts,
            )

    def _stage_for(
        self,
        stages: list[Stage],
        first_stage: Stage | None,
        account: Account,
        episode: Episode | None,
    ) -> Stage | None:
        """Stages move only forward within an episode; a new episode starts from the first."""
        if episode is None:
            return first_stage
        by_dpd = None
        for stage in stages:
            if (
                stage.min_dpd is not None
                and not stage.requires_confirmation
                and stage.min_dpd <= account.max_dpd
            ):
                by_dpd = stage
        current = next((s for s in stages if s.pk == episode.stage_id), None)
        chosen = current
        if by_dpd is not None and (current is None or by_dpd.order > current.order):
            chosen = by_dpd
        if chosen is not None and chosen.pk != episode.stage_id:
            episode.stage_id = chosen.pk
            episode._stage_changed = True  # type: ignore[attr-defined]
        return chosen

    def _reason(self, account: Account, strategy: Strategy, step: Step, detail: str) -> str:
        segment = account.segment.name if account.segment else _("no segment")
        return _(
            "Segment %(segment)s, %(strategy)s v%(version)s, step %(step)s "
            "(day %(day)+d): %(detail)s"
        ) % {
            "segment": segment,
            "strategy": strategy.name,
            "version": strategy.version,
            "step": step.code,
            "day": step.day_offset,
            "detail": detail,
        }

    def _action_row(
        self,
        run: Run,
        account: Account,
        step: Step,
        status: str,
        reason: str,
        episode_id: int | None,
        document_id: int | None,
    ) -> tuple[Any, ...]:
        if status == "fire":
            status = (
                ActionStatus.PENDING_DISPATCH
                if step.action == StepAction.MESSAGE
                else ActionStatus.OPEN
                if step.action in (StepAction.CALL, StepAction.VISIT)
                else ActionStatus.DONE
            )
            if step.action == StepAction.MESSAGE:
                # Keyed like the action's own uniqueness, so a message is queued once per
                # episode (or per document for preventive steps) and channel.
                scope = f"document:{document_id}" if document_id else f"episode:{episode_id}"
                self.messages.extend(
                    QueueRequest(
                        creditor_id=self.creditor.pk,
                        debtor_id=account.debtor_id,
                        channel=channel,
                        template_code=step.template_code or step.code,
                        key=f"{self.creditor.pk}:step:{step.code}:{scope}:{channel}",
                        origin=step.code,
                        reason=reason[:400],
                        document_ids=(document_id,) if document_id else (),
                    )
                    for channel in step.channels
                )
        return (
            run.pk,
            self.creditor.pk,
            account.debtor_id,
            episode_id,
            document_id,
            step.pk,
            step.action,
            json.dumps(step.channels),
            self.as_of,
            status,
            account.collector_id if step.action in (StepAction.CALL, StepAction.VISIT) else None,
            reason[:400],
            self.now,
        )

    def _episode_steps(
        self,
        run: Run,
        account: Account,
        episode: Episode,
        strategy: Strategy,
        steps: list[Step],
        fired: set[tuple[int, str]],
        fig: AccountFigures,
        actions: list[tuple[Any, ...]],
    ) -> None:
        d, window = self.as_of, self.window
        anchor = episode.anchor_due_date
        due = [
            s
            for s in steps
            if not s.preventive
            and (episode.pk, s.code) not in fired
            and anchor + datetime.timedelta(days=s.day_offset) <= d
            and (s.min_balance_minor is None or fig.overdue >= s.min_balance_minor)
        ]
        if not due:
            return
        latest, in_window = _catch_up(due, anchor, d, window)
        dpd = (d - anchor).days
        for step in due:
            if step is latest:
                detail = _("%(dpd)s days past due since %(date)s") % {"dpd": dpd, "date": anchor}
                actions.append(
                    self._action_row(
                        run,
                        account,
                        step,
                        "fire",
                        self._reason(account, strategy, step, detail),
                        episode.pk,
                        None,
                    )
                )
                self.report.actions[step.code] += 1
                self._side_effects(account, episode, step, fig)
            else:
                expired = step not in in_window
                detail = (
                    _("skipped: older than the %(days)s-day catch-up window") % {"days": window}
                    if expired
                    else _("skipped: superseded by %(step)s")
                    % {"step": latest.code if latest else ""}
                )
                actions.append(
                    self._action_row(
                        run,
                        account,
                        step,
                        ActionStatus.EXPIRED if expired else ActionStatus.SUPERSEDED,
                        self._reason(account, strategy, step, detail),
                        episode.pk,
                        None,
                    )
                )
                self.report.skipped[step.code] += 1

    def _side_effects(
        self, account: Account, episode: Episode, step: Step, fig: AccountFigures
    ) -> None:
        if step.action == StepAction.LEGAL_REVIEW:
            account.legal_review = True
        elif step.action == StepAction.CREDIT_HOLD:
            account.credit_hold = True
        elif step.action in (StepAction.STAGE, StepAction.AGENCY) and step.target_stage_id:
            account.stage_id = step.target_stage_id
            episode.stage_id = step.target_stage_id
            episode._stage_changed = True  # type: ignore[attr-defined]

    def _preventive_steps(
        self,
        run: Run,
        accounts: dict[int, Account],
        new_accounts: list[Account],
        strategies: dict[int | None, Strategy],
        steps_of: dict[int, list[Step]],
        upcoming: list[tuple[int, int, datetime.date, str]],
        fired_documents: set[tuple[int, str]],
        paused: dict[int, str],
        actions: list[tuple[Any, ...]],
    ) -> None:
        d, window = self.as_of, self.window
        by_debtor = {a.debtor_id: a for a in new_accounts} | accounts
        counted: dict[str, set[int]] = {}
        skipped: dict[str, set[int]] = {}
        for document_id, debtor_id, due_date, number in upcoming:
            account = by_debtor.get(debtor_id)
            if account is None or debtor_id in paused or account.paused_reason:
                continue
            strategy = strategies.get(account.segment_id) or strategies.get(None)
            if strategy is None:
                continue
            due = [
                s
                for s in steps_of.get(strategy.pk, [])
                if s.preventive
                and (document_id, s.code) not in fired_documents
                and due_date + datetime.timedelta(days=s.day_offset) <= d
            ]
            if not due:
                continue
            latest, in_window = _catch_up(due, due_date, d, window)
            for step in due:
                if step is latest:
                    detail = _("document %(number)s falls due on %(date)s") % {
                        "number": number,
                        "date": due_date,
                    }
                    actions.append(
                        self._action_row(
                            run,
                            account,
                            step,
                            "fire",
                            self._reason(account, strategy, step, detail),
                            None,
                            document_id,
                        )
                    )
                    counted.setdefault(step.code, set()).add(debtor_id)
                else:
                    expired = step not in in_window
                    detail = _("skipped for document %(number)s") % {"number": number}
                    actions.append(
                        self._action_row(
                            run,
                            account,
                            step,
                            ActionStatus.EXPIRED if expired else ActionStatus.SUPERSEDED,
                            self._reason(account, strategy, step, detail),
                            None,
                            document_id,
                        )
                    )
                    skipped.setdefault(step.code, set()).add(debtor_id)
        # Counted per account, however many of its documents a step fired for.
        for code, debtors in counted.items():
            self.report.actions[code] += len(debtors)
        for code, debtors in skipped.items():
            self.report.skipped[code] += len(debtors)


def _catch_up(
    due: list[Step], counted_from: datetime.date, as_of: datetime.date, window: int
) -> tuple[Step | None, list[Step]]:
    """Of the steps due, those still within the catch-up window, and the latest of them (the
    one that fires; the others are superseded, and those outside the window expired)."""
    in_window = [s for s in due if (as_of - counted_from).days - s.day_offset <= window]
    latest = max(in_window, key=lambda s: s.day_offset) if in_window else None
    return latest, in_window


class Assigner:
    """Gives overdue accounts without a collector (or whose collector no longer fits their
    rule) to the matching rule's collector with the lightest load. Hand assignments stay."""

    def __init__(self, creditor: Creditor, accounts: Any):
        self.rules = list(
            AssignmentRule.objects.filter(creditor=creditor).prefetch_related("collectors")
        )
        self.team = {rule.pk: sorted(u.pk for u in rule.collectors.all()) for rule in self.rules}
        self.load: Counter[tuple[str, int]] = Counter()
        for account in accounts:
            if account.collector_id and account.overdue:
                self.load[("accounts", account.collector_id)] += 1
                self.load[("overdue", account.collector_id)] += account.overdue_minor

    def assign(self, account: Account, fig: AccountFigures) -> None:
        if account.collector_pinned or not self.rules:
            return
        rule = next((r for r in self.rules if self._matches(r, account, fig)), None)
        if rule is None:
            return
        team = self.team[rule.pk]
        if not team or account.collector_id in team:
            return
        chosen = min(team, key=lambda user: (self.load[(rule.balance_by, user)], user))
        if account.collector_id:
            self.load[("accounts", account.collector_id)] -= 1
            self.load[("overdue", account.collector_id)] -= account.overdue_minor
        account.collector_id = chosen
        self.load[("accounts", chosen)] += 1
        self.load[("overdue", chosen)] += account.overdue_minor

    @staticmethod
    def _matches(rule: AssignmentRule, account: Account, fig: AccountFigures) -> bool:
        return (
            (rule.segment_id is None or rule.segment_id == account.segment_id)
            and (rule.stage_id is None or rule.stage_id == account.stage_id)
            and (not rule.country or rule.country == fig.country)
            and (not rule.region or rule.region.lower() == (fig.region or "").lower())
            and (rule.min_overdue_minor is None or account.overdue_minor >= rule.min_overdue_minor)
            and (rule.max_overdue_minor is None or account.overdue_minor <= rule.max_overdue_minor)
        )


def _segment_for(segments: list[Segment], fig: AccountFigures, dpd: int) -> Segment | None:
    for segment in segments:
        if segment.min_total_minor is not None and fig.total < segment.min_total_minor:
            continue
        if segment.max_total_minor is not None and fig.total > segment.max_total_minor:
            continue
        if segment.min_dpd is not None and dpd < segment.min_dpd:
            continue
        if segment.max_dpd is not None and dpd > segment.max_dpd:
            continue
        if segment.min_overdue_minor is not None and fig.overdue < segment.min_overdue_minor:
            continue
        if segment.max_overdue_minor is not None and fig.overdue > segment.max_overdue_minor:
            continue
        if segment.debtor_kind and fig.kind != segment.debtor_kind:
            continue
        if segment.country and fig.country != segment.country:
            continue
        if segment.tag and segment.tag not in fig.tags:
            continue
        return segment
    return None


def run_execute(
    *, creditor: Creditor, as_of: datetime.date, actor: Actor, dry_run: bool = False
) -> RunReport:
    """The daily cycle for one creditor and day; with `dry_run` nothing is kept."""
    report: RunReport | None = None
    try:
        with transaction.atomic():
            report = DailyRun(creditor, as_of, actor).execute()
            if dry_run:
                raise _Rollback
            # The parts above (reports: the day's snapshots) react once the run is committed;
            # a failure there is logged and leaves the run alone.
            transaction.on_commit(
                lambda: run_committed_send(creditor=creditor, as_of=as_of, actor=actor)
            )
    except _Rollback:
        pass
    assert report is not None
    return report
