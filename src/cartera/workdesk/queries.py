"""Reads of the workdesk: the worklist, the account page, the supervisor's figures.

Every function reads a fixed number of queries whatever the portfolio's size (DESIGN §3.4):
the worklist is one SQL statement (priority, reasons, names and the total for pagination), the
account page about fifteen small ones. Everything is scoped by the creditors passed in, which
the views take from the logged-in user.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cartera.core.models import AuditEvent
from cartera.messaging.models import Message, MessageStatus, Template
from cartera.negotiation.models import (
    Agreement,
    AgreementDocument,
    AgreementInstallment,
    AgreementStatus,
    Dispute,
    Promise,
    PromiseStatus,
)
from cartera.negotiation.queries import with_category_names
from cartera.portfolio.identity import InvalidPhone, normalize_phone
from cartera.portfolio.models import (
    Activity,
    ContactPoint,
    Creditor,
    Debtor,
    Document,
    Payment,
)
from cartera.reports.aging import make_buckets
from cartera.reports.productivity import collected_by_holder
from cartera.strategy.models import (
    Account,
    Action,
    ActionStatus,
    Alert,
    AlertKind,
    Episode,
    Pause,
    Run,
    StepAction,
)
from cartera.workdesk.defaults import DEFAULT_HIGH_BALANCE, DEFAULT_HIGH_BALANCE_OTHER
from cartera.workdesk.models import (
    NOT_REACHED_CATEGORIES,
    Callback,
    OutcomeCode,
    Target,
    WorklistWeights,
)

# -- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Weights:
    """A creditor's worklist weights with the defaults filled in (see `WorklistWeights`)."""

    creditor_id: int
    broken_promise: int
    promise_due_today: int
    callback_due: int
    strategy_task: int
    new_delinquent: int
    high_balance: int
    overdue_points: int
    dpd_points: int
    dpd_cap: int
    contacted_today: int
    paused: int
    high_balance_minor: int
    broken_promise_days: int
    new_delinquent_days: int


_WEIGHT_FIELDS = (
    "broken_promise",
    "promise_due_today",
    "callback_due",
    "strategy_task",
    "new_delinquent",
    "high_balance",
    "overdue_points",
    "dpd_points",
    "dpd_cap",
    "contacted_today",
    "paused",
    "broken_promise_days",
    "new_delinquent_days",
)


def default_high_balance_minor(currency: str) -> int:
    """The "high balance" of a currency when the creditor set none, in minor units."""
    from cartera.core.money import exponent

    major = DEFAULT_HIGH_BALANCE.get(currency, DEFAULT_HIGH_BALANCE_OTHER)
    return major * 10 ** exponent(currency)


def weights_for(creditors: Sequence[Creditor]) -> dict[int, Weights]:
    """Each creditor's weights (one query), defaults where it has no row."""
    rows = {w.creditor_id: w for w in WorklistWeights.objects.filter(creditor__in=creditors)}
    result = {}
    for creditor in creditors:
        row = rows.get(creditor.pk) or WorklistWeights(creditor=creditor)
        values = {name: getattr(row, name) for name in _WEIGHT_FIELDS}
        values["dpd_cap"] = max(1, values["dpd_cap"])
        result[creditor.pk] = Weights(
            creditor_id=creditor.pk,
            high_balance_minor=row.high_balance_minor
            or default_high_balance_minor(creditor.currency),
            **values,
        )
    return result


def outcome_codes_for(creditor: Creditor, *, active_only: bool = True) -> list[OutcomeCode]:
    """The creditor's outcome codes: its own, and the defaults it did not replace."""
    codes = OutcomeCode.objects.filter(Q(creditor=creditor) | Q(creditor__isnull=True))
    if active_only:
        codes = codes.filter(active=True)
    chosen: dict[str, OutcomeCode] = {}
    for code in codes.order_by("order", "code"):
        if code.code not in chosen or code.creditor_id is not None:
            chosen[code.code] = code
    return sorted(chosen.values(), key=lambda c: (c.order, c.code))


def collectors_of(
    creditors: Sequence[Creditor], *, supervisors: bool = True, also: Iterable[int | None] = ()
) -> list[User]:
    """The users who may hold accounts of these creditors: collectors (and supervisors, who
    may too), plus the users `also` names (e.g. whoever did work in a period)."""
    roles = ("collector", "supervisor") if supervisors else ("collector",)
    members = Q(is_active=True, groups__name__in=roles, memberships__creditor__in=creditors)
    extra = [pk for pk in also if pk is not None]
    if extra:
        members |= Q(pk__in=extra, memberships__creditor__in=creditors)
    return list(User.objects.filter(members).distinct().order_by("username"))


def templates_for(creditor: Creditor) -> list[Template]:
    """The message templates a collector may send for the creditor: its own, and the
    defaults it did not replace (one per code, channel and language)."""
    chosen: dict[tuple[str, str, str], Template] = {}
    for template in (
        Template.objects.filter(active=True)
        .filter(Q(creditor=creditor) | Q(creditor__isnull=True))
        .order_by("code", "channel", "language")
    ):
        key = (template.code, template.channel, template.language)
        if key not in chosen or template.creditor_id is not None:
            chosen[key] = template
    return list(chosen.values())


# -- the worklist ----------------------------------------------------------------------------

REASONS = ("broken", "promise_today", "callback", "task", "new", "high")
"""Reason codes, in the order their points usually rank them."""


def reason_label(code: str) -> str:
    labels = {
        "broken": _("broken promise"),
        "promise_today": _("promise due today"),
        "callback": _("callback scheduled"),
        "task": _("strategy task"),
        "new": _("new delinquent"),
        "high": _("high balance"),
    }
    return labels[code]


@dataclass(frozen=True)
class WorklistFilters:
    """What narrows the worklist. `collector_id` None with `unassigned` False means every
    account of the creditors (a supervisor's view)."""

    collector_id: int | None = None
    unassigned: bool = False
    creditor_id: int | None = None
    stage_id: int | None = None
    segment_id: int | None = None
    bucket: str = ""
    reason: str = ""


@dataclass
class WorklistRow:
    account_id: int
    creditor_id: int
    debtor_id: int
    name: str
    tax_id: str
    collector_id: int | None
    collector: str
    stage: str
    segment: str
    total_minor: int
    overdue_minor: int
    max_dpd: int
    paused_reason: str
    score: int
    broken: bool
    promise_today: bool
    callback_at: datetime.datetime | None
    task: str
    new: bool
    high: bool
    contacted_today: bool
    next_promise: datetime.date | None
    reasons: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class WorklistPage:
    rows: list[WorklistRow]
    total: int
    page: int
    page_size: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def start(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _bucket_range(name: str) -> tuple[int | None, int | None] | None:
    for bucket in make_buckets():
        if bucket.name == name:
            return bucket.low, bucket.high
    return None


def _in(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def worklist(
    *,
    creditors: Sequence[Creditor],
    filters: WorklistFilters,
    as_of: datetime.date,
    page: int = 1,
    page_size: int = 25,
    weights: dict[int, Weights] | None = None,
) -> WorklistPage:
    """The accounts to work, best first, with the reasons each is there.

    One SQL statement: the accounts in scope, what makes each urgent (a broken or due promise,
    a callback, an open call or visit task of the strategy, a new delinquency, a high
    balance), the priority (docs/workdesk.md, "The priority"), the names to show, and the
    total for pagination. An account appears when something is overdue or it has a reason.
    """
    if filters.creditor_id is not None:
        creditors = [c for c in creditors if c.pk == filters.creditor_id]
    if not creditors:
        return WorklistPage([], 0, 1, page_size)
    weights = weights or weights_for(creditors)
    ops = connection.ops
    page = max(1, page)
    ids = [c.pk for c in creditors]

    # Per-creditor weights as a table of constants.
    w_columns = (
        "creditor_id, w_broken, w_today, w_callback, w_task, w_new, w_high, high_minor, "
        "w_overdue, w_dpd, dpd_cap, w_contacted, w_paused, broken_since, new_since"
    )
    w_rows: list[str] = []
    params: list[Any] = []
    for creditor in creditors:
        w = weights[creditor.pk]
        w_rows.append("(" + ", ".join(["CAST(%s AS BIGINT)"] * 13) + ", %s, %s)")
        params += [
            creditor.pk,
            w.broken_promise,
            w.promise_due_today,
            w.callback_due,
            w.strategy_task,
            w.new_delinquent,
            w.high_balance,
            max(1, w.high_balance_minor),
            w.overdue_points,
            w.dpd_points,
            w.dpd_cap,
            w.contacted_today,
            w.paused,
            ops.adapt_datefield_value(as_of - datetime.timedelta(days=w.broken_promise_days)),
            ops.adapt_datefield_value(as_of - datetime.timedelta(days=w.new_delinquent_days)),
        ]
    broken_floor = as_of - datetime.timedelta(
        days=max(w.broken_promise_days for w in weights.values())
    )
    new_floor = as_of - datetime.timedelta(
        days=max(w.new_delinquent_days for w in weights.values())
    )

    # The accounts in scope. A collector's list reads their accounts through the collector's
    # index, plus any account on which a task of the strategy waits for them (a hand edit may
    # have moved the account but not its task): two indexed reads, never the whole table.
    where = [f"a.creditor_id IN ({_in(ids)})"]
    filter_params: list[Any] = list(ids)
    if filters.stage_id is not None:
        where.append("a.stage_id = %s")
        filter_params.append(filters.stage_id)
    if filters.segment_id is not None:
        where.append("a.segment_id = %s")
        filter_params.append(filters.segment_id)
    bounds = _bucket_range(filters.bucket) if filters.bucket else None
    if bounds is not None:
        low, high = bounds
        if low is not None:
            where.append("a.max_dpd >= %s")
            filter_params.append(low)
        if high is not None:
            where.append("a.max_dpd <= %s")
            filter_params.append(high)
    columns = (
        "a.id, a.creditor_id, a.debtor_id, a.collector_id, a.segment_id, a.stage_id, "
        "a.total_minor, a.overdue_minor, a.max_dpd, a.paused_reason"
    )
    conditions = " AND ".join(where)
    narrow = filters.collector_id is not None
    scope_params: list[Any]
    if narrow:
        scope_sql = (
            f"SELECT {columns} FROM strategy_account a "
            f"WHERE a.collector_id = %s AND {conditions} "
            f"UNION SELECT {columns} FROM strategy_account a "
            "JOIN strategy_action x ON x.debtor_id = a.debtor_id "
            f"WHERE x.assigned_to_id = %s AND x.status = %s AND x.kind IN (%s, %s) "
            f"AND {conditions}"
        )
        scope_params = [
            filters.collector_id,
            *filter_params,
            filters.collector_id,
            ActionStatus.OPEN,
            StepAction.CALL,
            StepAction.VISIT,
            *filter_params,
        ]
    else:
        if filters.unassigned:
            conditions += " AND a.collector_id IS NULL"
        scope_sql = f"SELECT {columns} FROM strategy_account a WHERE {conditions}"
        scope_params = list(filter_params)

    today = ops.adapt_datefield_value(as_of)
    tomorrow_start = ops.adapt_datetimefield_value(_day_start(as_of + datetime.timedelta(days=1)))
    today_start = ops.adapt_datetimefield_value(_day_start(as_of))
    reason_params: list[Any] = [
        # pr
        PromiseStatus.PENDING,
        today,
        PromiseStatus.PENDING,
        PromiseStatus.BROKEN,
        PromiseStatus.PENDING,
        PromiseStatus.PENDING,
        PromiseStatus.BROKEN,
        ops.adapt_datefield_value(broken_floor),
        # cb
        tomorrow_start,
        # tk
        ActionStatus.OPEN,
        StepAction.CALL,
        StepAction.VISIT,
        # al
        AlertKind.NEW_DELINQUENCY,
        ops.adapt_datefield_value(new_floor),
        # ct
        *ids,
        today_start,
        True,
    ]
    literal_ids = ", ".join(str(int(pk)) for pk in ids)

    def restrict(alias: str) -> str:
        """Which rows of a table of reasons to read: those of the accounts in scope when they
        are a collector's few thousand (an index probe each), those of the creditors for a
        whole team (one pass, instead of a hash of every account for each table)."""
        if narrow:
            return f"{alias}.debtor_id IN (SELECT debtor_id FROM acc)"
        return f"{alias}.creditor_id IN ({literal_ids})"

    reason_sql = {
        "broken": "f.is_broken = 1",
        "promise_today": "f.is_today = 1",
        "callback": "f.callback_at IS NOT NULL",
        "task": "f.task IS NOT NULL",
        "new": "f.is_new = 1",
        "high": "f.is_high = 1",
    }
    outer = [
        "(f.overdue_minor > 0 OR f.is_broken = 1 OR f.is_today = 1 "
        "OR f.callback_at IS NOT NULL OR f.task IS NOT NULL)"
    ]
    if filters.reason in reason_sql:
        outer.append(reason_sql[filters.reason])

    def typed_null(pg_type: str) -> str:
        """PostgreSQL types a UNION's columns from its first branches; SQLite needs nothing."""
        return f"CAST(NULL AS {pg_type})" if connection.vendor == "postgresql" else "NULL"

    reasons_sql = f"""
        pr AS (
            SELECT p.debtor_id,
                   MAX(CASE WHEN p.status = %s AND p.promised_date = %s THEN 1 ELSE 0 END)
                       AS due_today,
                   MAX(CASE WHEN p.status = %s THEN 1 ELSE 0 END) AS pending,
                   MAX(CASE WHEN p.status = %s THEN p.decided_on END) AS broken_on,
                   MIN(CASE WHEN p.status = %s THEN p.promised_date END) AS next_promise
            FROM negotiation_promise p
            WHERE {restrict("p")}
              AND (p.status = %s OR (p.status = %s AND p.decided_on >= %s))
            GROUP BY p.debtor_id
        ),
        cb AS (
            SELECT c.debtor_id, MIN(c.due_at) AS callback_at FROM workdesk_callback c
            WHERE c.done_at IS NULL AND c.due_at < %s
              AND {restrict("c")}
            GROUP BY c.debtor_id
        ),
        tk AS (
            SELECT x.debtor_id, MIN(s.code) AS task
            FROM strategy_action x JOIN strategy_step s ON s.id = x.step_id
            WHERE x.status = %s AND x.kind IN (%s, %s)
              AND {restrict("x")}
            GROUP BY x.debtor_id
        ),
        al AS (
            SELECT l.debtor_id, MAX(l.created_on) AS alerted_on FROM strategy_alert l
            WHERE l.kind = %s AND l.created_on >= %s
              AND {restrict("l")}
            GROUP BY l.debtor_id
        ),
        ct AS (
            SELECT t.debtor_id FROM portfolio_activity t
            WHERE t.creditor_id IN ({_in(ids)}) AND t.at >= %s AND t.is_contact = %s
            GROUP BY t.debtor_id
        ),
        -- Every reason of a debtor on one row: the accounts are joined to it once, not to
        -- each table of reasons in turn (five passes over every account of a whole team).
        ev AS (
            SELECT u.debtor_id, MAX(u.due_today) AS due_today, MAX(u.pending) AS pending,
                   MAX(u.broken_on) AS broken_on, MIN(u.next_promise) AS next_promise,
                   MIN(u.callback_at) AS callback_at, MIN(u.task) AS task,
                   MAX(u.alerted_on) AS alerted_on, MAX(u.contacted) AS contacted
            FROM (
                SELECT debtor_id, due_today, pending, broken_on, next_promise,
                       {typed_null("TIMESTAMPTZ")} AS callback_at,
                       {typed_null("VARCHAR")} AS task, {typed_null("DATE")} AS alerted_on,
                       0 AS contacted
                FROM pr
                UNION ALL
                SELECT debtor_id, 0, 0, NULL, NULL, callback_at, NULL, NULL, 0 FROM cb
                UNION ALL
                SELECT debtor_id, 0, 0, NULL, NULL, NULL, task, NULL, 0 FROM tk
                UNION ALL
                SELECT debtor_id, 0, 0, NULL, NULL, NULL, NULL, alerted_on, 0 FROM al
                UNION ALL
                SELECT debtor_id, 0, 0, NULL, NULL, NULL, NULL, NULL, 1 FROM ct
            ) u
            GROUP BY u.debtor_id
        )"""
    params += [*scope_params, *reason_params]
    sql = f"""
        WITH w ({w_columns}) AS (VALUES {", ".join(w_rows)}),
        acc AS ({scope_sql}),
        {reasons_sql},
        flags AS (
            SELECT acc.*,
                   CASE WHEN ev.broken_on >= w.broken_since AND COALESCE(ev.pending, 0) = 0
                        THEN 1 ELSE 0 END AS is_broken,
                   COALESCE(ev.due_today, 0) AS is_today,
                   COALESCE(ev.pending, 0) AS has_pending,
                   ev.next_promise,
                   ev.callback_at,
                   ev.task,
                   CASE WHEN ev.alerted_on >= w.new_since THEN 1 ELSE 0 END AS is_new,
                   CASE WHEN acc.overdue_minor >= w.high_minor THEN 1 ELSE 0 END AS is_high,
                   COALESCE(ev.contacted, 0) AS is_contacted,
                   w.w_broken, w.w_today, w.w_callback, w.w_task, w.w_new, w.w_high,
                   w.high_minor, w.w_overdue, w.w_dpd, w.dpd_cap, w.w_contacted, w.w_paused
            FROM acc JOIN w ON w.creditor_id = acc.creditor_id
            LEFT JOIN ev ON ev.debtor_id = acc.debtor_id
        ),
        scored AS (
            -- Only what the page shows: every account in scope goes through the count below,
            -- and narrower rows keep that in memory.
            SELECT f.id, f.creditor_id, f.debtor_id, f.collector_id, f.segment_id, f.stage_id,
                   f.total_minor, f.overdue_minor, f.max_dpd, f.paused_reason, f.is_broken,
                   f.is_today, f.callback_at, f.task, f.is_new, f.is_high, f.is_contacted,
                   f.next_promise,
                   f.w_broken * f.is_broken + f.w_today * f.is_today
                   + CASE WHEN f.callback_at IS NULL THEN 0 ELSE f.w_callback END
                   + CASE WHEN f.task IS NULL THEN 0 ELSE f.w_task END
                   + f.w_new * f.is_new + f.w_high * f.is_high
                   + CASE WHEN f.overdue_minor <= 0 THEN 0
                          WHEN f.overdue_minor >= f.high_minor THEN f.w_overdue
                          ELSE f.w_overdue * f.overdue_minor / f.high_minor END
                   + CASE WHEN f.max_dpd <= 0 THEN 0
                          WHEN f.max_dpd >= f.dpd_cap THEN f.w_dpd
                          ELSE f.w_dpd * f.max_dpd / f.dpd_cap END
                   + f.w_contacted * f.is_contacted
                   + CASE WHEN (f.paused_reason <> '' OR f.has_pending = 1)
                               AND f.is_today = 0 AND f.is_broken = 0
                          THEN f.w_paused ELSE 0 END
                   AS score
            FROM flags f
            WHERE {" AND ".join(outer)}
        ),
        counted AS (
            SELECT s.*,
                   SUM(s.is_broken) OVER () AS n_broken, SUM(s.is_today) OVER () AS n_today,
                   SUM(CASE WHEN s.callback_at IS NULL THEN 0 ELSE 1 END) OVER () AS n_callback,
                   SUM(CASE WHEN s.task IS NULL THEN 0 ELSE 1 END) OVER () AS n_task,
                   SUM(s.is_new) OVER () AS n_new, SUM(s.is_high) OVER () AS n_high,
                   COUNT(*) OVER () AS total
            FROM scored s
        ),
        -- Counted first, ordered after: the database then keeps only the page's rows while
        -- ordering (a top-N heap), instead of sorting every account to count them.
        ranked AS (
            SELECT c.* FROM counted c
            ORDER BY c.score DESC, c.overdue_minor DESC, c.id
            LIMIT %s OFFSET %s
        )
        -- Names only for the page's rows, after the ranking.
        SELECT r.id, r.creditor_id, r.debtor_id, d.name, d.tax_id, r.collector_id,
               COALESCE(u.username, ''), COALESCE(st.name, ''), COALESCE(sg.name, ''),
               r.total_minor, r.overdue_minor, r.max_dpd, r.paused_reason, r.score,
               r.is_broken, r.is_today, r.callback_at, r.task, r.is_new, r.is_high,
               r.is_contacted, r.next_promise,
               r.n_broken, r.n_today, r.n_callback, r.n_task, r.n_new, r.n_high, r.total
        FROM ranked r
        JOIN portfolio_debtor d ON d.id = r.debtor_id
        LEFT JOIN auth_user u ON u.id = r.collector_id
        LEFT JOIN strategy_stage st ON st.id = r.stage_id
        LEFT JOIN strategy_segment sg ON sg.id = r.segment_id
        ORDER BY r.score DESC, r.overdue_minor DESC, r.id
    """
    params += [page_size, (page - 1) * page_size]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    total = int(fetched[0][-1]) if fetched else 0
    counts = (
        {code: int(n or 0) for code, n in zip(REASONS, fetched[0][-7:-1], strict=True)}
        if fetched
        else {}
    )
    rows = [_worklist_row(r) for r in fetched]
    return WorklistPage(rows=rows, total=total, page=page, page_size=page_size, counts=counts)


def _as_date(value: Any) -> datetime.date | None:
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def _as_moment(value: Any) -> datetime.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, datetime.UTC)
    return value


def _worklist_row(r: Sequence[Any]) -> WorklistRow:
    row = WorklistRow(
        account_id=r[0],
        creditor_id=r[1],
        debtor_id=r[2],
        name=r[3],
        tax_id=r[4],
        collector_id=r[5],
        collector=r[6],
        stage=r[7],
        segment=r[8],
        total_minor=int(r[9]),
        overdue_minor=int(r[10]),
        max_dpd=int(r[11]),
        paused_reason=r[12],
        score=int(r[13]),
        broken=bool(r[14]),
        promise_today=bool(r[15]),
        callback_at=_as_moment(r[16]),
        task=r[17] or "",
        new=bool(r[18]),
        high=bool(r[19]),
        contacted_today=bool(r[20]),
        next_promise=_as_date(r[21]),
    )
    reasons: list[tuple[str, str]] = []
    if row.broken:
        reasons.append(("broken", reason_label("broken")))
    if row.promise_today:
        reasons.append(("promise_today", reason_label("promise_today")))
    if row.callback_at is not None:
        moment = timezone.localtime(row.callback_at)
        reasons.append(
            ("callback", _("callback scheduled %(time)s") % {"time": moment.strftime("%H:%M")})
        )
    if row.task:
        reasons.append(("task", _("strategy task: %(step)s") % {"step": row.task}))
    if row.new:
        reasons.append(("new", reason_label("new")))
    if row.high:
        reasons.append(("high", reason_label("high")))
    row.reasons = reasons
    return row


def worklist_next(
    *,
    creditors: Sequence[Creditor],
    filters: WorklistFilters,
    as_of: datetime.date,
    after_debtor_id: int | None,
) -> int | None:
    """The debtor to work next: the first of the worklist other than the one just worked."""
    page = worklist(creditors=creditors, filters=filters, as_of=as_of, page=1, page_size=2)
    for row in page.rows:
        if row.debtor_id != after_debtor_id:
            return row.debtor_id
    return None


# -- search ----------------------------------------------------------------------------------

_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-]{7,}$")


def debtor_search(*, creditors: Sequence[Creditor], text: str, limit: int = 50) -> list[Debtor]:
    """Debtors of the creditors found by name, tax id, document number, phone, email,
    customer code or payment reference.

    Each kind of match is its own query, so that each can use its index (one OR across them
    would read every debtor and every document); a number is not looked for in names, nor a
    name in phones. At most five queries, whatever the portfolio.
    """
    text = " ".join((text or "").split())
    if not text or not creditors:
        return []
    ids = [c.pk for c in creditors]
    compact = re.sub(r"[\s.\-]", "", text)
    found: set[int] = set()
    debtors = Debtor.objects.filter(creditor_id__in=ids)
    tax_ids = {text, compact, compact.upper()}
    if compact.isdigit() and len(compact) > 4:
        # NITs and RUTs are often written without their check digit: try each one (an exact
        # lookup on the index, where "starts with" would read every debtor).
        tax_ids |= {f"{compact}{digit}" for digit in "0123456789K"}
    codes = Q(tax_id__in=tax_ids) | Q(external_id__in={text, text.upper()})
    codes |= Q(payment_reference=compact)
    found.update(debtors.filter(codes).values_list("pk", flat=True)[:limit])
    found.update(
        Document.objects.filter(creditor_id__in=ids, number__in={text, text.upper()}).values_list(
            "debtor_id", flat=True
        )[:limit]
    )
    values: set[str] = set()
    if "@" in text:
        values.add(text.lower())
    elif _PHONE_LIKE.match(text):
        for country in {c.country for c in creditors}:
            try:
                values.add(normalize_phone(text, country)[0])
            except InvalidPhone:
                continue
    if values:
        found.update(
            ContactPoint.objects.filter(debtor__creditor_id__in=ids, value__in=values).values_list(
                "debtor_id", flat=True
            )[:limit]
        )
    if len(text) >= 2 and any(ch.isalpha() for ch in text) and "@" not in text:
        found.update(debtors.filter(name__icontains=text).values_list("pk", flat=True)[:limit])
    return list(
        Debtor.objects.filter(pk__in=sorted(found)[: limit * 4])
        .select_related("creditor", "account__stage", "account__collector")
        .order_by("name", "pk")[:limit]
    )


# -- the account page ------------------------------------------------------------------------


@dataclass
class DocumentLine:
    document: Document
    dpd: int
    bucket: str
    disputed: bool


@dataclass
class TimelineItem:
    at: datetime.datetime
    kind: str  # call, email, sms, whatsapp, letter, visit, note, system, message, promise…
    title: str
    detail: str = ""
    who: str = ""
    status: str = ""  # a css hint: ok, warn, bad, info
    status_label: str = ""
    flag: str = ""  # a contact rule the contact broke
    date_only: bool = False  # the fact has a day, not a time (a payment, an episode)


@dataclass
class InstallmentLine:
    """One row of an agreement's schedule as the account page shows it: what was paid on
    its document and whether it is paid, due or late (`planned` until the agreement is
    approved and the installment becomes a document)."""

    installment: AgreementInstallment
    paid_minor: int
    owed_minor: int
    state: str  # planned, paid, due, late

    @property
    def css(self) -> str:
        return {"paid": "ok", "late": "bad", "due": "info"}.get(self.state, "muted")

    @property
    def state_label(self) -> str:
        return str(_INSTALLMENT_STATES.get(self.state, self.state))


_INSTALLMENT_STATES = {
    "planned": gettext_lazy("planned"),
    "paid": gettext_lazy("paid in full"),
    "due": gettext_lazy("to pay"),
    "late": gettext_lazy("late"),
}


@dataclass
class AgreementLine:
    agreement: Agreement
    installments: list[InstallmentLine]

    @property
    def total_minor(self) -> int:
        return sum(line.installment.payment_minor for line in self.installments)

    @property
    def paid_minor(self) -> int:
        return sum(line.paid_minor for line in self.installments)

    @property
    def css(self) -> str:
        return AGREEMENT_STATUS_CSS.get(self.agreement.status, "")

    @property
    def live(self) -> bool:
        return self.agreement.status in (
            AgreementStatus.DRAFT,
            AgreementStatus.PENDING_APPROVAL,
            AgreementStatus.ACTIVE,
        )


AGREEMENT_STATUS_CSS: dict[str, str] = {
    AgreementStatus.DRAFT: "muted",
    AgreementStatus.PENDING_APPROVAL: "warn",
    AgreementStatus.ACTIVE: "info",
    AgreementStatus.KEPT: "ok",
    AgreementStatus.BROKEN: "bad",
    AgreementStatus.REJECTED: "bad",
    AgreementStatus.CANCELLED: "muted",
}

AGREEMENTS_SHOWN = 10


def account_agreements(*, debtor: Debtor, as_of: datetime.date) -> list[AgreementLine]:
    """The debtor's latest agreements, newest first, each with its schedule and what was paid
    on each installment (from its document's balance): two queries."""
    agreements = (
        Agreement.objects.filter(debtor=debtor)
        .select_related("proposed_by", "decided_by")
        .prefetch_related(
            Prefetch(
                "schedule",
                queryset=AgreementInstallment.objects.select_related("document").order_by("n"),
            )
        )
        .order_by("-proposed_at", "-id")[:AGREEMENTS_SHOWN]
    )
    lines = []
    for agreement in agreements:
        rows = []
        for row in agreement.schedule.all():
            document = row.document
            if document is None:
                rows.append(InstallmentLine(row, 0, row.payment_minor, "planned"))
                continue
            owed = max(document.balance_minor, 0)
            paid = max(document.amount_minor - owed, 0)
            if owed <= 0:
                state = "paid"
            elif row.due_date < as_of:
                state = "late"
            else:
                state = "due"
            rows.append(InstallmentLine(row, paid, owed, state))
        lines.append(AgreementLine(agreement, rows))
    return lines


def agreements_waiting(
    *, creditors: Sequence[Creditor], creditor: Creditor | None, page: int, page_size: int
) -> tuple[list[Agreement], dict[int, int]]:
    """The approvals queue of `creditor` (oldest first, a page of it, with each agreement's
    schedule and bundled documents) and how many agreements wait for each of `creditors`:
    four queries whatever the queue's length."""
    waiting = Agreement.objects.filter(
        creditor__in=[c.pk for c in creditors], status=AgreementStatus.PENDING_APPROVAL
    )
    counts = {
        row["creditor_id"]: row["n"]
        for row in waiting.order_by().values("creditor_id").annotate(n=Count("id"))
    }
    if creditor is None or not counts.get(creditor.pk):
        return [], counts
    page = max(1, page)
    rows = list(
        waiting.filter(creditor=creditor)
        .select_related("debtor", "creditor", "proposed_by")
        .prefetch_related(
            Prefetch("schedule", queryset=AgreementInstallment.objects.order_by("n")),
            Prefetch(
                "bundled",
                queryset=AgreementDocument.objects.select_related("document").order_by(
                    "document__due_date", "document_id"
                ),
            ),
        )
        .order_by("proposed_at", "id")[(page - 1) * page_size : page * page_size]
    )
    return rows, counts


@dataclass
class AccountView:
    debtor: Debtor
    account: Account | None
    contact_points: list[ContactPoint]
    documents: list[DocumentLine]
    payments: list[Payment]
    pauses: list[Pause]
    promises: list[Promise]
    disputes: list[Dispute]
    callbacks: list[Callback]
    tasks: list[Action]
    timeline: list[TimelineItem]
    open_minor: dict[str, int]
    overdue_minor: dict[str, int]
    agreements: list[AgreementLine] = field(default_factory=list)

    @property
    def max_dpd(self) -> int:
        """Days past due of the oldest overdue open document (0 when nothing is overdue)."""
        return (
            max(
                (line.dpd for line in self.documents if line.document.balance_minor > 0),
                default=0,
            )
            if self.overdue_minor
            else 0
        )


def _bucket_of(dpd: int) -> str:
    for bucket in make_buckets():
        if (bucket.low is None or dpd >= bucket.low) and (
            bucket.high is None or dpd <= bucket.high
        ):
            return bucket.name
    return ""


def account_debtor(queryset: QuerySet[Debtor]) -> QuerySet[Debtor]:
    """The debtor with what the page header shows, in one query."""
    return queryset.select_related(
        "creditor", "account__stage", "account__segment", "account__collector"
    )


TIMELINE_LIMIT = 150


def account_view(
    *,
    debtor: Debtor,
    as_of: datetime.date,
    outcome_labels: dict[str, str] | None = None,
) -> AccountView:
    """Everything the account page shows, in a fixed number of queries (`outcome_labels`, the
    creditor's outcome codes by code, saves one when the caller has them already)."""
    account: Account | None = getattr(debtor, "account", None)
    contact_points = list(debtor.contact_points.order_by("kind", "-is_primary", "value"))
    disputed = Dispute.documents.through.objects.filter(document_id=OuterRef("pk"), is_open=True)
    documents = [
        DocumentLine(
            document=d,
            dpd=(as_of - d.due_date).days,
            bucket=_bucket_of((as_of - d.due_date).days),
            disputed=d.disputed,
        )
        for d in Document.objects.filter(debtor=debtor)
        .exclude(balance_minor=0)
        .annotate(disputed=Exists(disputed))
        .order_by("due_date", "id")[:200]
    ]
    open_minor: dict[str, int] = defaultdict(int)
    overdue_minor: dict[str, int] = defaultdict(int)
    for line in documents:
        open_minor[line.document.currency] += line.document.balance_minor
        if line.dpd > 0 and line.document.balance_minor > 0:
            overdue_minor[line.document.currency] += line.document.balance_minor
    payments = list(Payment.objects.filter(debtor=debtor).order_by("-date", "-id")[:50])
    pauses = list(
        Pause.objects.filter(debtor=debtor, starts_on__lte=as_of, ended_on__isnull=True)
        .exclude(ends_on__lt=as_of)
        .order_by("starts_on")
    )
    promises = list(
        Promise.objects.filter(debtor=debtor)
        .select_related("taken_by")
        .order_by("-created_at", "-id")[:50]
    )
    disputes = list(
        with_category_names(Dispute.objects.filter(debtor=debtor))
        .select_related("opened_by")
        .prefetch_related("documents")
        .order_by("-opened_at")[:30]
    )
    callbacks = list(
        Callback.objects.filter(debtor=debtor, done_at__isnull=True)
        .select_related("user")
        .order_by("due_at")
    )
    actions = list(
        Action.objects.filter(debtor=debtor)
        .exclude(kind=StepAction.MESSAGE)
        .exclude(status__in=(ActionStatus.SUPERSEDED, ActionStatus.EXPIRED))
        .select_related("step", "assigned_to")
        .order_by("-created_at", "-id")[:50]
    )
    tasks = [a for a in actions if a.status == ActionStatus.OPEN]
    agreements = account_agreements(debtor=debtor, as_of=as_of)
    timeline = _timeline(
        outcome_labels=outcome_labels,
        debtor=debtor,
        account=account,
        contact_points=contact_points,
        payments=payments,
        promises=promises,
        disputes=disputes,
        actions=actions,
        agreements=agreements,
    )
    return AccountView(
        debtor=debtor,
        account=account,
        contact_points=contact_points,
        documents=documents,
        payments=payments,
        pauses=pauses,
        promises=promises,
        disputes=disputes,
        callbacks=callbacks,
        tasks=tasks,
        timeline=timeline,
        open_minor=dict(open_minor),
        overdue_minor=dict(overdue_minor),
        agreements=agreements,
    )


def _local_day(day: datetime.date) -> datetime.datetime:
    """A fact dated by day only sorts at the start of that day, under the day's timed facts."""
    return _day_start(day)


_MESSAGE_STATUS_CSS: dict[str, str] = {
    MessageStatus.DELIVERED: "ok",
    MessageStatus.SENT: "ok",
    MessageStatus.QUEUED: "info",
    MessageStatus.SCHEDULED: "info",
    MessageStatus.SENDING: "info",
    MessageStatus.BLOCKED: "warn",
    MessageStatus.UNKNOWN: "warn",
    MessageStatus.CANCELLED: "muted",
    MessageStatus.FAILED: "bad",
    MessageStatus.BOUNCED: "bad",
}
_PROMISE_STATUS_CSS: dict[str, str] = {
    PromiseStatus.PENDING: "info",
    PromiseStatus.KEPT: "ok",
    PromiseStatus.BROKEN: "bad",
    PromiseStatus.CANCELLED: "muted",
}


def _timeline(
    *,
    outcome_labels: dict[str, str] | None,
    debtor: Debtor,
    account: Account | None,
    contact_points: list[ContactPoint],
    payments: list[Payment],
    promises: list[Promise],
    disputes: list[Dispute],
    actions: list[Action],
    agreements: Sequence[AgreementLine] = (),
) -> list[TimelineItem]:
    """One list of everything that happened on the account, newest first."""
    from cartera.core.money import format_minor

    locale = debtor.creditor.locale
    items: list[TimelineItem] = []
    if outcome_labels is None:
        outcome_labels = {
            c.code: c.label for c in outcome_codes_for(debtor.creditor, active_only=False)
        }
    for activity in (
        Activity.objects.filter(debtor=debtor, message_id__isnull=True)
        .select_related("user")
        .order_by("-at", "-id")[:TIMELINE_LIMIT]
    ):
        if activity.reached is True:
            status, label = "ok", _("right party")
        elif activity.reached is False and activity.is_contact:
            status, label = "muted", _("not reached")
        else:
            status, label = "", ""
        items.append(
            TimelineItem(
                at=activity.at,
                kind=activity.kind,
                title=activity.get_kind_display()
                + (
                    f" · {outcome_labels.get(activity.outcome, activity.outcome)}"
                    if activity.outcome
                    else ""
                ),
                detail=activity.note,
                who=activity.user.get_username() if activity.user else "",
                status=status,
                status_label=label,
                flag=activity.rule_breach,
            )
        )
    for message in Message.objects.filter(debtor=debtor).order_by("-created_at", "-id")[
        :TIMELINE_LIMIT
    ]:
        detail = message.subject or message.reason
        if message.status_reason:
            detail = f"{detail} — {message.status_reason}" if detail else message.status_reason
        items.append(
            TimelineItem(
                at=message.sent_at or message.created_at,
                kind="message",
                title=_("%(channel)s message %(template)s")
                % {"channel": message.get_channel_display(), "template": message.template_code},
                detail=detail,
                who=message.created_by,
                status=_MESSAGE_STATUS_CSS.get(message.status, ""),
                status_label=message.get_status_display(),
            )
        )
    for promise in promises:
        items.append(
            TimelineItem(
                at=promise.created_at,
                kind="promise",
                title=_("Promise to pay %(amount)s by %(date)s")
                % {
                    "amount": format_minor(promise.amount_minor, promise.currency, locale),
                    "date": promise.promised_date.isoformat(),
                },
                detail=promise.note,
                who=promise.taken_by.get_username() if promise.taken_by else "",
                status=_PROMISE_STATUS_CSS.get(promise.status, ""),
                status_label=promise.get_status_display(),
            )
        )
    for dispute in disputes:
        numbers = ", ".join(d.number for d in dispute.documents.all())
        items.append(
            TimelineItem(
                at=dispute.opened_at,
                kind="dispute",
                title=_("Dispute opened: %(category)s") % {"category": dispute.category_label},
                detail=f"{numbers} — {dispute.note}" if dispute.note else numbers,
                who=dispute.opened_by.get_username() if dispute.opened_by else "",
                status="warn" if dispute.status == "open" else "ok",
                status_label=dispute.get_status_display(),
            )
        )
        if dispute.resolved_at:
            items.append(
                TimelineItem(
                    at=dispute.resolved_at,
                    kind="dispute",
                    title=_("Dispute resolved: %(resolution)s")
                    % {"resolution": dispute.get_resolution_display()},
                    detail=dispute.resolution_note,
                    status="ok",
                )
            )
    items += _agreement_items(agreements, locale)
    for payment in payments:
        items.append(
            TimelineItem(
                at=_local_day(payment.date),
                date_only=True,
                kind="payment",
                title=_("Payment of %(amount)s")
                % {"amount": format_minor(payment.amount_minor, payment.currency, locale)},
                detail=" · ".join(x for x in (payment.method, payment.reference) if x),
                status="ok",
            )
        )
    for action in actions:
        items.append(
            TimelineItem(
                at=action.created_at,
                kind="strategy",
                title=_("Strategy: %(step)s (%(action)s)")
                % {"step": action.step.code, "action": action.get_kind_display()},
                detail=action.reason,
                who=action.assigned_to.get_username() if action.assigned_to else "",
                status="info" if action.status == ActionStatus.OPEN else "",
                status_label=action.get_status_display(),
            )
        )
    for episode in Episode.objects.filter(debtor=debtor).order_by("-opened_on")[:20]:
        items.append(
            TimelineItem(
                at=_local_day(episode.opened_on),
                date_only=True,
                kind="stage",
                title=_("Became overdue (oldest due date %(date)s)")
                % {"date": episode.anchor_due_date.isoformat()},
                status="warn",
            )
        )
        if episode.cured_on:
            items.append(
                TimelineItem(
                    at=_local_day(episode.cured_on),
                    date_only=True,
                    kind="stage",
                    title=_("Nothing overdue any more"),
                    status="ok",
                )
            )
    for alert in Alert.objects.filter(debtor=debtor).order_by("-created_on", "-id")[:20]:
        items.append(
            TimelineItem(
                at=_local_day(alert.created_on),
                date_only=True,
                kind="alert",
                title=alert.get_kind_display(),
                detail=alert.message,
                status="bad" if alert.kind == AlertKind.BROKEN_PROMISE else "warn",
            )
        )
    for batch in (
        Document.objects.filter(debtor=debtor, batch__isnull=False)
        .values("batch_id", "batch__started_at", "batch__file_name", "batch__actor")
        .annotate(n=Count("id"))
        .order_by("-batch__started_at")[:20]
    ):
        items.append(
            TimelineItem(
                at=batch["batch__started_at"],
                kind="import",
                title=_("Import #%(batch)s: %(n)s document(s)")
                % {"batch": batch["batch_id"], "n": batch["n"]},
                detail=batch["batch__file_name"].rsplit("/", 1)[-1],
                who=batch["batch__actor"],
            )
        )
    items += _edits(debtor=debtor, account=account, contact_points=contact_points)
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:TIMELINE_LIMIT]


_AGREEMENT_CLOSED_TITLES: dict[str, Any] = {
    AgreementStatus.KEPT: gettext_lazy("Payment agreement %(number)s kept"),
    AgreementStatus.BROKEN: gettext_lazy("Payment agreement %(number)s broken"),
    AgreementStatus.CANCELLED: gettext_lazy("Payment agreement %(number)s cancelled"),
}


def _agreement_items(agreements: Sequence[AgreementLine], locale: str) -> list[TimelineItem]:
    """Each agreement proposed, approved or rejected, and closed (kept, broken, cancelled),
    from the agreements the page read already (no query of its own)."""
    from cartera.core.money import format_minor

    items = []
    for line in agreements:
        agreement = line.agreement
        number = agreement.number or f"#{agreement.pk}"
        detail = agreement.note
        if agreement.approval_reasons:
            reasons = _("beyond the proposer's limits: %(reasons)s") % {
                "reasons": "; ".join(agreement.approval_reasons)
            }
            detail = f"{detail} — {reasons}" if detail else reasons
        items.append(
            TimelineItem(
                at=agreement.proposed_at,
                kind="agreement",
                title=_(
                    "Payment agreement %(number)s proposed: %(count)s installment(s), "
                    "%(total)s in all"
                )
                % {
                    "number": number,
                    "count": agreement.installments_count,
                    "total": format_minor(line.total_minor, agreement.currency, locale),
                },
                detail=detail,
                who=agreement.proposed_by.get_username() if agreement.proposed_by else "",
                status=line.css,
                status_label=agreement.get_status_display(),
            )
        )
        if agreement.decided_at is not None:
            rejected = agreement.status == AgreementStatus.REJECTED
            items.append(
                TimelineItem(
                    at=agreement.decided_at,
                    kind="agreement",
                    title=(
                        _("Payment agreement %(number)s rejected")
                        if rejected
                        else _("Payment agreement %(number)s approved")
                    )
                    % {"number": number},
                    detail=agreement.decision_note,
                    who=agreement.decided_by.get_username() if agreement.decided_by else "",
                    status="bad" if rejected else "ok",
                )
            )
        closed_title = _AGREEMENT_CLOSED_TITLES.get(agreement.status)
        if agreement.closed_on is not None and closed_title is not None:
            items.append(
                TimelineItem(
                    at=_local_day(agreement.closed_on),
                    date_only=True,
                    kind="agreement",
                    title=str(closed_title) % {"number": number},
                    detail=agreement.closed_reason,
                    status=line.css,
                )
            )
    return items


_EDIT_TITLES = {
    "account.stage": gettext_lazy("Stage changed"),
    "contact_point.add": gettext_lazy("Contact point added"),
    "contact_point.correct": gettext_lazy("Contact point corrected"),
    "contactpoint.change.admin": gettext_lazy("Contact point edited"),
    "contactpoint.create.admin": gettext_lazy("Contact point added"),
    "debtor.change.admin": gettext_lazy("Debtor edited"),
}


def _edits(
    *, debtor: Debtor, account: Account | None, contact_points: list[ContactPoint]
) -> list[TimelineItem]:
    """Audit events about the debtor, its account and its contact points."""
    types = ContentType.objects.get_for_models(Debtor, Account, ContactPoint)
    wanted = Q(content_type=types[Debtor], object_id=str(debtor.pk))
    if account is not None:
        wanted |= Q(content_type=types[Account], object_id=str(account.pk))
    if contact_points:
        wanted |= Q(
            content_type=types[ContactPoint], object_id__in=[str(c.pk) for c in contact_points]
        )
    items = []
    for event in AuditEvent.objects.filter(wanted).order_by("-at", "-id")[:50]:
        title = _EDIT_TITLES.get(event.action)
        changes = ", ".join(
            f"{name}: {value[0]} → {value[1]}"
            if isinstance(value, list) and len(value) == 2
            else f"{name}: {value}"
            for name, value in event.changes.items()
        )
        items.append(
            TimelineItem(
                at=event.at,
                kind="edit",
                title=str(title) if title else event.action,
                detail=f"{event.object_repr} — {changes}" if changes else event.object_repr,
                who=event.actor_label,
            )
        )
    return items


# -- the supervisor's figures ----------------------------------------------------------------


@dataclass
class DayFigures:
    """What one collector did on one day (or over a period, for the totals)."""

    attempted: int = 0
    made: int = 0
    right_party: int = 0
    promises: int = 0
    promised_minor: int = 0
    kept: int = 0
    broken: int = 0
    collected_minor: int = 0

    @property
    def kept_rate(self) -> int | None:
        decided = self.kept + self.broken
        return round(100 * self.kept / decided) if decided else None

    def add(self, other: DayFigures) -> None:
        self.attempted += other.attempted
        self.made += other.made
        self.right_party += other.right_party
        self.promises += other.promises
        self.promised_minor += other.promised_minor
        self.kept += other.kept
        self.broken += other.broken
        self.collected_minor += other.collected_minor


@dataclass
class Productivity:
    days: list[datetime.date]
    # {(user id, day): figures}; user id None: nobody (system, unassigned accounts)
    cells: dict[tuple[int | None, datetime.date], DayFigures]
    totals: dict[int | None, DayFigures]
    team: DayFigures

    def between(self, start: datetime.date, end: datetime.date) -> Productivity:
        """The same figures for the days from `start` to `end` only."""
        cells = {key: cell for key, cell in self.cells.items() if start <= key[1] <= end}
        return _productivity(start, end, cells)


def _productivity(
    start: datetime.date,
    end: datetime.date,
    cells: dict[tuple[int | None, datetime.date], DayFigures],
) -> Productivity:
    totals: dict[int | None, DayFigures] = defaultdict(DayFigures)
    team = DayFigures()
    for (user_id, _day), cell in cells.items():
        totals[user_id].add(cell)
        team.add(cell)
    days = [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]
    return Productivity(days=days, cells=dict(cells), totals=dict(totals), team=team)


def team_productivity(
    *, creditor: Creditor, start: datetime.date, end: datetime.date
) -> Productivity:
    """Per collector and day from `start` to `end` (both included), in four grouped queries:
    contacts (attempted, made, right party), promises taken (count, amount), promises decided
    (kept, broken) and money collected on the accounts each collector held.

    Money collected is credited to the collector who held the account on the payment's date
    (the collector spells the daily runs record; before an account's first recorded run, its
    current collector), by `cartera.reports.productivity.collected_by_holder`: the team page
    and the productivity report agree (docs/workdesk.md).
    """
    cells: dict[tuple[int | None, datetime.date], DayFigures] = defaultdict(DayFigures)
    codes = outcome_codes_for(creditor, active_only=False)
    unreached = [c.code for c in codes if c.category in NOT_REACHED_CATEGORIES]
    window = Q(at__gte=_day_start(start), at__lt=_day_start(end + datetime.timedelta(days=1)))
    for row in (
        Activity.objects.filter(window, creditor=creditor, is_contact=True, user__isnull=False)
        .annotate(day=TruncDate("at"))
        .values("user_id", "day")
        .annotate(
            attempted=Count("id"),
            # Made: somebody answered, i.e. not an outcome in which nobody was spoken to (and,
            # when no code was given, the collector said the debtor was reached).
            made=Count(
                "id",
                filter=(~Q(outcome__in=unreached) & ~Q(outcome="")) | Q(outcome="", reached=True),
            ),
            right_party=Count("id", filter=Q(reached=True)),
        )
    ):
        cell = cells[(row["user_id"], row["day"])]
        cell.attempted, cell.made, cell.right_party = (
            row["attempted"],
            row["made"],
            row["right_party"],
        )
    for row in (
        Promise.objects.filter(
            creditor=creditor,
            created_on__gte=start,
            created_on__lte=end,
            currency=creditor.currency,
            taken_by__isnull=False,
        )
        .values("taken_by_id", "created_on")
        .annotate(n=Count("id"), amount=Sum("amount_minor"))
    ):
        cell = cells[(row["taken_by_id"], row["created_on"])]
        cell.promises, cell.promised_minor = row["n"], int(row["amount"] or 0)
    for row in (
        Promise.objects.filter(
            creditor=creditor,
            decided_on__gte=start,
            decided_on__lte=end,
            status__in=(PromiseStatus.KEPT, PromiseStatus.BROKEN),
            taken_by__isnull=False,
        )
        .values("taken_by_id", "decided_on")
        .annotate(
            kept=Count("id", filter=Q(status=PromiseStatus.KEPT)),
            broken=Count("id", filter=Q(status=PromiseStatus.BROKEN)),
        )
    ):
        cell = cells[(row["taken_by_id"], row["decided_on"])]
        cell.kept, cell.broken = row["kept"], row["broken"]
    # The reports' rule, read through their query so both pages credit the same collector.
    for holder, day, _currency, paid in collected_by_holder(
        creditor_ids=[creditor.pk], first=start, last=end, currency=creditor.currency
    ):
        cells[(holder, day)].collected_minor += paid
    return _productivity(start, end, cells)


def targets_for(*, creditor: Creditor, month: datetime.date) -> dict[tuple[int | None, str], int]:
    """{(user id or None for the team, metric): value} for the month."""
    return {
        (t.user_id, t.metric): t.value
        for t in Target.objects.filter(creditor=creditor, month=month.replace(day=1))
    }


def new_delinquents(
    *, creditors: Sequence[Creditor], since: datetime.date, page: int, page_size: int
) -> tuple[list[Alert], int]:
    """New-delinquency alerts since a date, newest first, with the accounts' figures."""
    alerts = Alert.objects.filter(
        creditor__in=creditors, kind=AlertKind.NEW_DELINQUENCY, created_on__gte=since
    )
    total = alerts.count()
    page = max(1, page)
    rows = list(
        alerts.select_related(
            "debtor", "creditor", "debtor__account", "debtor__account__collector"
        ).order_by("-created_on", "-id")[(page - 1) * page_size : page * page_size]
    )
    return rows, total


def runs_recent(*, creditors: Sequence[Creditor], limit: int = 20) -> list[Run]:
    return list(
        Run.objects.filter(creditor__in=creditors)
        .select_related("creditor")
        .order_by("-as_of", "-id")[:limit]
    )


def runs_page(*, creditors: Sequence[Creditor], page: int, page_size: int) -> tuple[list[Run], int]:
    """The creditors' runs, the latest first, a page at a time (two queries)."""
    runs = Run.objects.filter(creditor__in=creditors)
    total = runs.count()
    page = max(1, page)
    rows = list(
        runs.select_related("creditor").order_by("-as_of", "-id")[
            (page - 1) * page_size : page * page_size
        ]
    )
    return rows, total


def run_actions(
    run: Run, *, page: int = 1, page_size: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """What a run created, by step, action and status, a page of groups at a time: the count
    of groups and the page, two grouped queries."""
    groups = run.actions.values("step__code", "kind", "status").annotate(n=Count("id"))
    total = groups.count()
    page = max(1, page)
    rows = list(
        groups.order_by("step__code", "kind", "status")[(page - 1) * page_size : page * page_size]
    )
    return rows, total


WAITING_FOR_A_PERSON = (MessageStatus.UNKNOWN, MessageStatus.BLOCKED)


def messages_waiting(
    *, creditors: Sequence[Creditor], page: int, page_size: int
) -> tuple[list[Message], int]:
    """Messages only a person can decide: fate unknown after a crash, or blocked by a contact
    rule (a supervisor may override with a written reason)."""
    messages = Message.objects.filter(creditor__in=creditors, status__in=WAITING_FOR_A_PERSON)
    total = messages.count()
    page = max(1, page)
    rows = list(
        messages.select_related("debtor", "creditor").order_by("created_at", "id")[
            (page - 1) * page_size : page * page_size
        ]
    )
    return rows, total


def account_counts(creditors: Iterable[Creditor]) -> dict[int | None, tuple[int, int]]:
    """{collector id (None: nobody): (overdue accounts, overdue minor units)} in one query."""
    return {
        row["collector_id"]: (row["n"], int(row["overdue"] or 0))
        for row in Account.objects.filter(creditor__in=list(creditors), overdue=True)
        .values("collector_id")
        .annotate(n=Count("id"), overdue=Sum("overdue_minor"))
    }
