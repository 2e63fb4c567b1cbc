"""The compliance gate: the one place that decides whether a contact may happen now.

Every outbound contact asks it first (the worker before each message; a collector's logged
call afterwards, to flag a breach). It reads the contact rules of the debtor's jurisdiction
(`ContactRule`, see `cartera.messaging.jurisdictions`), public holidays of the debtor's country
(the `holidays` package), the account's contact history (`portfolio.Activity` rows with
`is_contact`), the contact point's consent, open disputes and the holds that parts above
messaging register (legal stage, agency hand-off).

A refusal says why in words that name the rule, and when waiting helps, `retry_at`: the
earliest moment every rule allows the contact, found by moving forward constraint by
constraint until none objects (each step lands exactly where the objecting constraint is next
satisfied, so the result is the earliest allowed moment and it passes `check`).

`Gate` decides a whole batch: it reads rules, holidays, history, disputes and contact points of
all the batch's debtors in a fixed number of queries (IN-lists in chunks), then answers each
`check` from memory. `record` adds a contact made during the batch so later checks count it.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import holidays as holidays_package
from django.utils import translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from cartera.messaging.batchsql import among
from cartera.messaging.jurisdictions import (
    ANY_COUNTRY,
    CHANNELS,
    VOICE_CHANNELS,
    RuleError,
    cap_channels,
    fallback_rule,
    parse_caps,
    parse_hours,
)
from cartera.messaging.models import ContactRule, WeekMode
from cartera.negotiation.models import DisputeDocument
from cartera.portfolio.models import (
    CONTACT_ACTIVITY_KINDS,
    Activity,
    ContactKind,
    ContactPoint,
    Creditor,
    Debtor,
    Document,
    DocumentStatus,
)

UTC = datetime.UTC
CHUNK = 5000
"""Debtor ids per IN-list: large enough for few queries, small enough for every database."""

WIDE_BATCH = 2 * CHUNK
"""Above this many debtors, the history is read with one range scan instead of IN-lists."""

HORIZON_DAYS = 400
"""How far `retry_at` is searched; a contact not allowed within it is refused for good."""

ONE_DAY = datetime.timedelta(days=1)

HoldSource = Callable[[int, Collection[int]], dict[int, str]]
_HOLD_SOURCES: list[HoldSource] = []


def register_hold_source(source: HoldSource) -> None:
    """Let a part above messaging hold debtors: `source(creditor_id, debtor_ids)` returns
    {debtor_id: reason} for the debtors that must not be contacted (legal stage, agency…).

    Call it from that part's `AppConfig.ready()`; registering the same function twice is
    harmless. A held debtor is refused for good (waiting does not help).
    """
    if source not in _HOLD_SOURCES:
        _HOLD_SOURCES.append(source)


def channel_class(channel: str) -> str:
    return "voice" if channel in VOICE_CHANNELS else "written"


# Words for channels inside sentences, and for what a cap counts.
CHANNEL_WORDS = {
    "email": _("email"),
    "sms": _("SMS"),
    "whatsapp": _("WhatsApp"),
    "letter": _("letters"),
    "call": _("calls"),
    "visit": _("visits"),
}
CAP_WORDS = {
    "voice": _("Calls and visits"),
    "written": _("Written messages"),
    "email": _("Emails"),
    "sms": _("SMS"),
    "whatsapp": _("WhatsApp messages"),
    "letter": _("Letters"),
    "call": _("Calls"),
    "visit": _("Visits"),
}
WEEKDAY_PLURALS = (
    _("Mondays"),
    _("Tuesdays"),
    _("Wednesdays"),
    _("Thursdays"),
    _("Fridays"),
    _("Saturdays"),
    _("Sundays"),
)

# The contact point kinds that can carry each channel.
CHANNEL_POINT_KINDS: dict[str, frozenset[str]] = {
    "email": frozenset({ContactKind.EMAIL}),
    "sms": frozenset({ContactKind.MOBILE, ContactKind.PHONE}),
    "whatsapp": frozenset({ContactKind.WHATSAPP, ContactKind.MOBILE, ContactKind.PHONE}),
    "call": frozenset(
        {ContactKind.MOBILE, ContactKind.LANDLINE, ContactKind.PHONE, ContactKind.WHATSAPP}
    ),
    "letter": frozenset({ContactKind.ADDRESS}),
    "visit": frozenset({ContactKind.ADDRESS}),
}
# Visits have no consent of their own on a contact point: where a rule demands consent, a visit
# is not authorized (see docs/contact-rules.md).
CONSENT_FIELDS = {
    "email": "consent_email",
    "sms": "consent_sms",
    "whatsapp": "consent_whatsapp",
    "call": "consent_call",
    "letter": "consent_letter",
}


@dataclass(frozen=True)
class Verdict:
    """The gate's answer. `retry_at` (aware, UTC) is the earliest moment the contact becomes
    allowed; None with `allowed=False` means waiting will not help (no consent, opted out,
    do not contact, disputed, held)."""

    allowed: bool
    reason: str = ""
    retry_at: datetime.datetime | None = None
    rule: ContactRule | None = None


# -- holidays ----------------------------------------------------------------------------------

_HOLIDAYS: dict[tuple[str, int, str], dict[datetime.date, str]] = {}


def _holiday_language() -> str:
    """The holidays package's language closest to the active one (names only)."""
    active = (translation.get_language() or "es").split("-")[0]
    return "es" if active == "es" else "en_US"


def holidays_of(country: str, year: int, language: str = "") -> dict[datetime.date, str]:
    """{date: name} of the country's national public holidays; empty if the package has none."""
    language = language or _holiday_language()
    key = (country, year, language)
    found = _HOLIDAYS.get(key)
    if found is None:
        try:
            calendar = holidays_package.country_holidays(country, years=year)
            if language not in calendar.supported_languages:
                language = calendar.default_language or ""
            calendar = holidays_package.country_holidays(
                country, years=year, language=language or None
            )
            found = {day: str(name) for day, name in calendar.items()}
        except (NotImplementedError, KeyError, AttributeError):
            found = {}
        _HOLIDAYS[key] = found
    return found


# -- time zones ------------------------------------------------------------------------------

_ZONES: dict[str, zoneinfo.ZoneInfo | None] = {}


def zone(name: str) -> zoneinfo.ZoneInfo | None:
    if name not in _ZONES:
        try:
            _ZONES[name] = zoneinfo.ZoneInfo(name) if name else None
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            _ZONES[name] = None
    return _ZONES[name]


def debtor_zone(debtor: Debtor, creditor: Creditor) -> zoneinfo.ZoneInfo:
    """The debtor's time zone, else the creditor's, else UTC."""
    return zone(debtor.timezone) or zone(creditor.timezone) or zoneinfo.ZoneInfo("UTC")


def _wall(moment: datetime.datetime, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def _first_at_or_after(
    day: datetime.date, seconds: int, tz: zoneinfo.ZoneInfo
) -> datetime.datetime:
    """The earliest instant whose wall clock on `day` reads `seconds` after midnight or later.

    Usually the wall time itself; when the clock jumps over it (daylight saving starts), the
    instant of the jump.
    """
    naive = datetime.datetime.combine(day, datetime.time()) + datetime.timedelta(seconds=seconds)
    first = naive.replace(tzinfo=tz).astimezone(UTC)
    if _wall(first, tz) == naive:
        return first
    # A gap: fold=1 reads the wall time with the offset after the jump, an earlier instant
    # before the jump; the jump lies between. Search it to the second (offsets change on
    # whole seconds).
    low = int(naive.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    high = int(first.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(_instant(middle), tz) >= naive:
            high = middle
        else:
            low = middle
    return _instant(high)


def _instant(timestamp: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, UTC)


def _second_pass(day: datetime.date, seconds: int, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    """The later instant showing this wall time when the clock goes back over it (else the
    same instant as `_first_at_or_after`)."""
    naive = datetime.datetime.combine(day, datetime.time()) + datetime.timedelta(seconds=seconds)
    return naive.replace(tzinfo=tz, fold=1).astimezone(UTC)


def _day_start(day: datetime.date, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    return _first_at_or_after(day, 0, tz)


def _transitions(day: datetime.date, tz: zoneinfo.ZoneInfo) -> list[datetime.datetime]:
    """The instant the UTC offset changes during `day`, if it does (daylight saving)."""
    start, end = _day_start(day, tz), _day_start(day + ONE_DAY, tz)
    if start.astimezone(tz).utcoffset() == end.astimezone(tz).utcoffset():
        return []
    after = end.astimezone(tz).utcoffset()
    low, high = int(start.timestamp()), int(end.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _instant(middle).astimezone(tz).utcoffset() == after:
            high = middle
        else:
            low = middle
    return [_instant(high)]


# -- one debtor's contacts -------------------------------------------------------------------


class Seen(NamedTuple):
    """A contact in the history, with its date on the debtor's wall calendar."""

    at: datetime.datetime
    day: datetime.date
    channel: str
    reached: bool | None


class _Point(NamedTuple):
    debtor_id: int
    kind: str
    value: str
    valid: bool
    do_not_contact: bool
    consents: dict[str, bool | None]


def _point_of(point: ContactPoint) -> _Point:
    return _Point(
        point.debtor_id,
        point.kind,
        point.value,
        point.valid,
        point.do_not_contact,
        {channel: getattr(point, field) for channel, field in CONSENT_FIELDS.items()},
    )


# -- a rule, ready to apply ------------------------------------------------------------------


@dataclass(frozen=True)
class _Cap:
    key: str
    channels: frozenset[str]
    day: int | None
    week: int | None
    min_gap_days: int | None


class CompiledRule:
    """A `ContactRule` parsed once per batch; `problem` is set when its data is unreadable."""

    def __init__(self, rule: ContactRule) -> None:
        self.rule = rule
        self.label = rule.name or rule.country
        self.problem = ""
        self.windows: dict[int, tuple[tuple[int, int], ...]] = {}
        self.caps: tuple[_Cap, ...] = ()
        try:
            self.windows = parse_hours(rule.hours)
            self.caps = tuple(
                _Cap(
                    key=key,
                    channels=cap_channels(key),
                    day=limits.get("day"),
                    week=limits.get("week"),
                    min_gap_days=limits.get("min_gap_days"),
                )
                for key, limits in parse_caps(rule.channel_caps).items()
            )
        except RuleError as error:
            self.problem = str(error)
        self.no_holidays = rule.no_holidays
        self.max_per_day = rule.max_per_day
        self.max_per_week = rule.max_per_week
        self.min_gap = datetime.timedelta(hours=rule.min_gap_hours) if rule.min_gap_hours else None
        self.one_channel = rule.one_channel_per_week
        self.consent_required = rule.consent_required
        self.reached_only = rule.counts_reached_only
        self.rolling = rule.week_mode == WeekMode.ROLLING
        self.quiet_days = rule.quiet_days_after_conversation or 0

    def lookback(self) -> datetime.timedelta:
        """How far back the history must go for this rule to be decided."""
        days = 8
        if self.min_gap is not None:
            days = max(days, self.min_gap.days + 2)
        for cap in self.caps:
            days = max(days, (cap.min_gap_days or 0) + 1)
        days = max(days, self.quiet_days + 1)
        return datetime.timedelta(days=days + 1)


Blocker = tuple[str, datetime.datetime | None]
"""(why, the earliest moment this constraint lets the contact through; None: never)."""


class _Decision:
    """The time constraints of one rule for one debtor and channel: `blocker(t)` names the
    first constraint a contact at `t` breaks and where that constraint next allows it."""

    def __init__(
        self,
        *,
        rule: CompiledRule,
        tz: zoneinfo.ZoneInfo,
        country: str,
        channel: str,
        seen: Sequence[Seen],
        language: str,
    ) -> None:
        self.rule = rule
        self.tz = tz
        self.country = country
        self.channel = channel
        self.language = language
        self.seen = seen
        self.counted = [c for c in seen if c.reached] if rule.reached_only else list(seen)

    # -- the allowed hours ------------------------------------------------------------------
    def _holiday(self, day: datetime.date) -> str | None:
        if not self.rule.no_holidays:
            return None
        return holidays_of(self.country, day.year, self.language).get(day)

    def _allowed_at(self, moment: datetime.datetime, wall: datetime.datetime | None = None) -> bool:
        if wall is None:
            wall = _wall(moment, self.tz)
        spans = self.rule.windows.get(wall.isoweekday())
        if not spans or self._holiday(wall.date()) is not None:
            return False
        seconds = wall.hour * 3600 + wall.minute * 60 + wall.second + wall.microsecond / 1e6
        return any(start <= seconds < end for start, end in spans)

    def _next_opening(self, after: datetime.datetime) -> datetime.datetime | None:
        """The earliest moment later than `after` inside an allowed window."""
        first_day = _wall(after, self.tz).date()
        for offset in range(HORIZON_DAYS + 1):
            day = first_day + datetime.timedelta(days=offset)
            spans = self.rule.windows.get(day.isoweekday())
            if not spans or self._holiday(day) is not None:
                continue
            candidates = set(_transitions(day, self.tz))
            for start, _end in spans:
                candidates.add(_first_at_or_after(day, start, self.tz))
                candidates.add(_second_pass(day, start, self.tz))
            for candidate in sorted(candidates):
                if candidate > after and self._allowed_at(candidate):
                    return candidate
        return None

    def _window(self, moment: datetime.datetime, wall: datetime.datetime) -> Blocker | None:
        if self._allowed_at(moment, wall):
            return None
        day, weekday = wall.date(), wall.isoweekday()
        holiday = self._holiday(day)
        spans = self.rule.windows.get(weekday)
        if holiday is not None:
            why = gettext("no contact on public holidays (%(holiday)s)") % {"holiday": holiday}
        elif not spans:
            why = gettext("no contact on %(days)s") % {"days": WEEKDAY_PLURALS[weekday - 1]}
        else:
            hours = ", ".join(f"{_clock(start)}–{_clock(end)}" for start, end in spans)
            why = gettext("on %(days)s, contact only %(hours)s") % {
                "days": WEEKDAY_PLURALS[weekday - 1],
                "hours": hours,
            }
        return why, self._next_opening(moment)

    # -- periods ----------------------------------------------------------------------------
    def _week(self, day: datetime.date, contacts: Iterable[Seen]) -> list[Seen]:
        if self.rule.rolling:
            first = day - datetime.timedelta(days=6)
            return [c for c in contacts if first <= c.day <= day]
        monday = day - datetime.timedelta(days=day.isoweekday() - 1)
        sunday = monday + datetime.timedelta(days=6)
        return [c for c in contacts if monday <= c.day <= sunday]

    def _week_over(self, day: datetime.date, members: list[Seen], limit: int) -> datetime.datetime:
        """When a week holding `members` (at least `limit`) has room for one more contact."""
        if not self.rule.rolling:
            monday = day - datetime.timedelta(days=day.isoweekday() - 1)
            return _day_start(monday + datetime.timedelta(days=7), self.tz)
        days = sorted(c.day for c in members)
        # Enough of the oldest must leave the 7-day window: the one at index n - limit, last.
        return _day_start(days[len(days) - limit] + datetime.timedelta(days=7), self.tz)

    def _period_word(self) -> str:
        return gettext("in 7 days") if self.rule.rolling else gettext("per week")

    # -- all constraints --------------------------------------------------------------------
    def blocker(self, moment: datetime.datetime) -> Blocker | None:
        rule = self.rule
        wall = _wall(moment, self.tz)
        day = wall.date()
        found = self._window(moment, wall)
        if found is not None:
            return found

        if self.channel == "call" and rule.quiet_days:
            talks = [
                c.day
                for c in self.seen
                if c.channel == "call"
                and c.reached
                and c.at <= moment
                and c.day > day - datetime.timedelta(days=rule.quiet_days)
            ]
            if talks:
                last = max(talks)
                why = gettext(
                    "no calls within %(days)s days after a conversation (the last on %(date)s)"
                ) % {"days": rule.quiet_days, "date": last.isoformat()}
                return why, _day_start(last + datetime.timedelta(days=rule.quiet_days), self.tz)

        counted = self.counted
        if rule.max_per_day is not None:
            today = sum(1 for c in counted if c.day == day)
            if today >= rule.max_per_day:
                why = ngettext(
                    "at most %(n)s contact per day",
                    "at most %(n)s contacts per day",
                    rule.max_per_day,
                ) % {"n": rule.max_per_day}
                never = rule.max_per_day <= 0
                return why, None if never else _day_start(day + ONE_DAY, self.tz)

        if rule.max_per_week is not None:
            members = self._week(day, counted)
            if len(members) >= rule.max_per_week:
                why = ngettext(
                    "at most %(n)s contact %(period)s",
                    "at most %(n)s contacts %(period)s",
                    rule.max_per_week,
                ) % {"n": rule.max_per_week, "period": self._period_word()}
                if rule.max_per_week <= 0:
                    return why, None
                return why, self._week_over(day, members, rule.max_per_week)

        for cap in rule.caps:
            if self.channel not in cap.channels:
                continue
            found = self._cap(cap, moment, day, [c for c in counted if c.channel in cap.channels])
            if found is not None:
                return found

        if rule.min_gap is not None:
            near = [c.at for c in counted if abs(c.at - moment) < rule.min_gap]
            if near:
                hours = int(rule.min_gap.total_seconds() // 3600)
                why = ngettext(
                    "at least %(n)s hour between contacts",
                    "at least %(n)s hours between contacts",
                    hours,
                ) % {"n": hours}
                return why, max(near) + rule.min_gap

        if rule.one_channel:
            others = [c for c in self._week(day, counted) if c.channel != self.channel]
            if others:
                used = ", ".join(sorted({str(CHANNEL_WORDS[c.channel]) for c in others}))
                if rule.rolling:
                    why = gettext(
                        "one channel per week: %(used)s already used in the last 7 days"
                    ) % {"used": used}
                    last = max(c.day for c in others)
                    return why, _day_start(last + datetime.timedelta(days=7), self.tz)
                why = gettext("one channel per week: %(used)s already used this week") % {
                    "used": used
                }
                return why, self._week_over(day, others, 1)
        return None

    def _cap(
        self, cap: _Cap, moment: datetime.datetime, day: datetime.date, members: list[Seen]
    ) -> Blocker | None:
        what = CAP_WORDS.get(cap.key, cap.key)
        if cap.day is not None:
            today = sum(1 for c in members if c.day == day)
            if today >= cap.day:
                why = gettext("%(what)s: at most %(n)s per day") % {"what": what, "n": cap.day}
                return why, _day_start(day + ONE_DAY, self.tz) if cap.day > 0 else None
        if cap.week is not None:
            week = self._week(day, members)
            if len(week) >= cap.week:
                why = gettext("%(what)s: at most %(n)s %(period)s") % {
                    "what": what,
                    "n": cap.week,
                    "period": self._period_word(),
                }
                return why, self._week_over(day, week, cap.week) if cap.week > 0 else None
        if cap.min_gap_days:
            gap = datetime.timedelta(days=cap.min_gap_days)
            near = [c.day for c in members if abs(c.day - day) < gap]
            if near:
                why = gettext("%(what)s: at least %(days)s days apart") % {
                    "what": what,
                    "days": cap.min_gap_days,
                }
                return why, _day_start(max(near) + gap, self.tz)
        return None


def _by_moment(seen: Seen) -> datetime.datetime:
    return seen.at


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# -- the gate --------------------------------------------------------------------------------


class Gate:
    """Decides many contacts at once: rules, holidays and the contact history of the given
    debtors are read in a fixed number of queries (IN-lists of `CHUNK` ids), then every
    `check` is answered from memory.

    `at` is the batch's moment: checks may ask about it or any later moment (a day earlier at
    most). Contacts are counted per debtor, across every channel.
    """

    def __init__(
        self, *, creditor: Creditor, debtor_ids: Iterable[int], at: datetime.datetime
    ) -> None:
        _aware(at)
        self.creditor = creditor
        self.at = at
        self.language = _holiday_language()
        rules = [CompiledRule(rule) for rule in ContactRule.objects.filter(active=True)]
        self._rules = {(r.rule.country, r.rule.debtor_kind): r for r in rules}
        self._fallback = CompiledRule(fallback_rule())
        lookback = max([r.lookback() for r in [*rules, self._fallback]])
        self._since = at - lookback - ONE_DAY
        self._earliest_check = at - ONE_DAY
        self._ids = sorted(set(debtor_ids))
        self._known = set(self._ids)
        self._history: dict[int, list[tuple[datetime.datetime, str, bool | None]]] = defaultdict(
            list
        )
        self._seen: dict[int, tuple[zoneinfo.ZoneInfo, list[Seen]]] = {}
        self._disputed: dict[int, set[int]] = {}
        self._open_documents: dict[int, list[tuple[int, datetime.date]]] = defaultdict(list)
        self._points: dict[int, list[_Point]] | None = None
        self.holds: dict[int, str] = {}
        self._load()

    # -- reading ----------------------------------------------------------------------------
    def _load(self) -> None:
        creditor_id = self.creditor.pk
        known = self._known
        contacts = Activity.objects.filter(
            creditor_id=creditor_id,
            is_contact=True,
            kind__in=[str(kind) for kind in CONTACT_ACTIVITY_KINDS],
            at__gte=self._since,
        ).order_by()
        fields = ("debtor_id", "at", "kind", "reached")
        if len(self._ids) > WIDE_BATCH and len(self._ids) * 4 >= self._debtor_count():
            # A batch of a good part of the creditor's debtors: one range scan of the
            # (creditor, at) index beats many IN-lists, and the debtors outside are skipped.
            rows: Iterable[tuple[Any, ...]] = contacts.values_list(*fields).iterator(10_000)
        else:
            rows = (
                row
                for chunk in _chunks(self._ids)
                for row in contacts.filter(among("debtor_id", chunk)).values_list(*fields)
            )
        history = self._history
        for debtor_id, at, kind, reached in rows:
            if debtor_id in known:
                history[debtor_id].append((at, kind, reached))
        # Open disputes are few per creditor: read them all, keep the batch's.
        links = DisputeDocument.objects.filter(
            is_open=True, dispute__creditor_id=creditor_id
        ).values_list("dispute__debtor_id", "document_id")
        for debtor_id, document_id in links.order_by():
            if debtor_id in known:
                self._disputed.setdefault(debtor_id, set()).add(document_id)
        # Only accounts with an open dispute need their open documents (to see whether every
        # overdue one is disputed): a few, whatever the batch size.
        for chunk in _chunks(sorted(self._disputed)):
            documents = Document.objects.filter(
                among("debtor_id", chunk),
                creditor_id=creditor_id,
                status=DocumentStatus.OPEN,
                balance_minor__gt=0,
            ).values_list("debtor_id", "id", "due_date")
            for debtor_id, document_id, due_date in documents.order_by():
                self._open_documents[debtor_id].append((document_id, due_date))
        for source in _HOLD_SOURCES:
            for debtor_id, why in source(creditor_id, self._ids).items():
                self.holds.setdefault(debtor_id, why)

    def _debtor_count(self) -> int:
        return Debtor.objects.filter(creditor_id=self.creditor.pk).count()

    def _load_points(self) -> dict[int, list[_Point]]:
        # Read on the first check that names no contact point: the worker always names one.
        if self._points is None:
            points: dict[int, list[_Point]] = defaultdict(list)
            fields = ["debtor_id", "kind", "value", "valid", "do_not_contact"]
            consent_fields = list(CONSENT_FIELDS.values())
            for chunk in _chunks(self._ids):
                rows = ContactPoint.objects.filter(among("debtor_id", chunk)).values_list(
                    *fields, *consent_fields
                )
                for row in rows.order_by():
                    debtor_id, kind, value, valid, do_not_contact = row[:5]
                    consents = dict(zip(CONSENT_FIELDS, row[5:], strict=True))
                    points[debtor_id].append(
                        _Point(debtor_id, kind, value, valid, do_not_contact, consents)
                    )
            self._points = points
        return self._points

    def _seen_of(self, debtor_id: int, tz: zoneinfo.ZoneInfo) -> list[Seen]:
        cached = self._seen.get(debtor_id)
        if cached is not None and cached[0] is tz:
            return cached[1]
        seen = sorted(
            (
                Seen(at, at.astimezone(tz).date(), channel, reached)
                for at, channel, reached in self._history.get(debtor_id, ())
            ),
            key=_by_moment,
        )
        self._seen[debtor_id] = (tz, seen)
        return seen

    def rule_for(self, debtor: Debtor) -> CompiledRule:
        """The debtor's country and kind, else the country, else "*", else the fallback."""
        country = (debtor.country or self.creditor.country).upper()
        for key in ((country, debtor.kind), (country, ""), (ANY_COUNTRY, "")):
            rule = self._rules.get(key)
            if rule is not None:
                return rule
        return self._fallback

    # -- deciding ---------------------------------------------------------------------------
    def check(
        self,
        *,
        debtor: Debtor,
        channel: str,
        at: datetime.datetime | None = None,
        contact_point: ContactPoint | None = None,
        document_ids: Sequence[int] = (),
    ) -> Verdict:
        """May `debtor` be contacted through `channel` at `at` (default: the batch's moment)?"""
        moment = self.at if at is None else _aware(at)
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")
        if debtor.creditor_id != self.creditor.pk:
            raise ValueError(f"debtor {debtor.pk} belongs to another creditor")
        if debtor.pk not in self._known:
            raise ValueError(f"debtor {debtor.pk} was not given to this gate")
        if moment < self._earliest_check:
            raise ValueError("this gate was read for later moments: build one for this moment")
        if contact_point is not None and contact_point.debtor_id != debtor.pk:
            raise ValueError(f"contact point {contact_point.pk} is not debtor {debtor.pk}'s")

        debtor_id = debtor.pk
        compiled = self.rule_for(debtor)
        hold = self.holds.get(debtor_id)
        if hold:
            return Verdict(False, gettext("On hold: %(reason)s") % {"reason": hold})
        tz = debtor_zone(debtor, self.creditor)
        if debtor_id in self._disputed:
            disputed = self._dispute_refusal(debtor_id, document_ids, _wall(moment, tz).date())
            if disputed:
                return Verdict(False, disputed)
        refusal = self._consent_refusal(debtor, channel, contact_point, compiled)
        if refusal is not None:
            return refusal
        if compiled.problem:
            why = gettext("this rule cannot be read (%(problem)s); fix it in the admin") % {
                "problem": compiled.problem
            }
            return Verdict(False, f"{compiled.label}: {why}", None, compiled.rule)

        decision = _Decision(
            rule=compiled,
            tz=tz,
            country=(debtor.country or self.creditor.country).upper(),
            channel=channel,
            seen=self._seen_of(debtor_id, tz),
            language=self.language,
        )
        first = decision.blocker(moment)
        if first is None:
            return Verdict(True, rule=compiled.rule)
        why, candidate = first
        horizon = moment + datetime.timedelta(days=HORIZON_DAYS)
        # Each step lands where the objecting constraint is next satisfied, always later:
        # the first moment no constraint objects to is the earliest allowed one.
        while candidate is not None:
            if candidate > horizon:
                candidate = None
                break
            blocking = decision.blocker(candidate)
            if blocking is None:
                break
            candidate = blocking[1]
        if candidate is None:
            why = gettext("%(reason)s; no allowed moment within a year") % {"reason": why}
        return Verdict(False, f"{compiled.label}: {why}", candidate, compiled.rule)

    def record(
        self, *, debtor_id: int, channel: str, at: datetime.datetime, reached: bool | None = None
    ) -> None:
        """Count a contact made during this batch in the checks that follow."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        moment = _aware(at)
        self._history[debtor_id].append((moment, channel, reached))
        cached = self._seen.get(debtor_id)
        if cached is not None:
            tz, seen = cached
            seen.append(Seen(moment, moment.astimezone(tz).date(), channel, reached))
            seen.sort(key=_by_moment)

    # -- the final refusals -----------------------------------------------------------------
    def _dispute_refusal(
        self, debtor_id: int, document_ids: Sequence[int], today: datetime.date
    ) -> str:
        disputed = self._disputed.get(debtor_id)
        if not disputed:
            return ""
        if document_ids:
            if all(document_id in disputed for document_id in document_ids):
                return gettext(
                    "every document of this contact is in an open dispute; collection on them "
                    "is paused until it is resolved"
                )
            return ""
        documents = self._open_documents.get(debtor_id, [])
        overdue = [document_id for document_id, due in documents if due < today]
        if overdue and all(document_id in disputed for document_id in overdue):
            return gettext(
                "every overdue document of the account is in an open dispute; collection is "
                "paused until it is resolved"
            )
        return ""

    def _consent_refusal(
        self,
        debtor: Debtor,
        channel: str,
        contact_point: ContactPoint | None,
        compiled: CompiledRule,
    ) -> Verdict | None:
        required = compiled.consent_required
        if contact_point is not None:
            why = _point_refusal(_point_of(contact_point), channel, required)
            if why is None:
                return None
            return Verdict(False, _with_rule(why, compiled), None, _rule_if(why, compiled))
        kinds = CHANNEL_POINT_KINDS[channel]
        points = [p for p in self._load_points().get(debtor.pk, []) if p.kind in kinds]
        if not points:
            if not required:
                return None
            why = (
                gettext("only channels the debtor authorized; %(channel)s are not authorized")
                % {"channel": CHANNEL_WORDS[channel]},
                True,
            )
            return Verdict(False, _with_rule(why, compiled), None, compiled.rule)
        refusals = []
        for point in points:
            found = _point_refusal(point, channel, required)
            if found is None:
                return None
            refusals.append(found)
        first = refusals[0]
        return Verdict(False, _with_rule(first, compiled), None, _rule_if(first, compiled))


def _with_rule(why: tuple[str, bool], compiled: CompiledRule) -> str:
    """Name the rule when the refusal comes from it (consent required), not from the debtor."""
    return f"{compiled.label}: {why[0]}" if why[1] else why[0]


def _rule_if(why: tuple[str, bool], compiled: CompiledRule) -> ContactRule | None:
    return compiled.rule if why[1] else None


def _point_refusal(point: _Point, channel: str, required: bool) -> tuple[str, bool] | None:
    """(why, whether the rule is the reason) if this contact point refuses the channel."""
    if point.kind not in CHANNEL_POINT_KINDS[channel]:
        return (
            gettext("%(point)s cannot receive %(channel)s")
            % {"point": point.value, "channel": CHANNEL_WORDS[channel]},
            False,
        )
    if not point.valid:
        return (
            gettext("%(point)s is not valid (bounced or wrong number)") % {"point": point.value},
            False,
        )
    if point.do_not_contact:
        return (
            gettext("%(point)s is marked do not contact") % {"point": point.value},
            False,
        )
    consent = point.consents.get(channel)
    if consent is False:
        return (
            gettext("the debtor opted out of %(channel)s at %(point)s")
            % {"channel": CHANNEL_WORDS[channel], "point": point.value},
            False,
        )
    if consent is None and required:
        return (
            gettext(
                "only channels the debtor authorized; %(channel)s at %(point)s are not authorized"
            )
            % {"channel": CHANNEL_WORDS[channel], "point": point.value},
            True,
        )
    return None


def _aware(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the gate needs an aware datetime (with a time zone)")
    return moment.astimezone(UTC)


def gate_check(
    *,
    debtor: Debtor,
    channel: str,
    at: datetime.datetime,
    contact_point: ContactPoint | None = None,
    document_ids: Sequence[int] = (),
) -> Verdict:
    """One contact, one answer: a gate for a single debtor (a few queries)."""
    gate = Gate(creditor=debtor.creditor, debtor_ids=[debtor.pk], at=at)
    return gate.check(
        debtor=debtor,
        channel=channel,
        at=at,
        contact_point=contact_point,
        document_ids=document_ids,
    )


def describe(verdict: Verdict) -> dict[str, Any]:
    """A verdict as plain data (JSON output, logs)."""
    return {
        "allowed": verdict.allowed,
        "reason": verdict.reason,
        "retry_at": verdict.retry_at.isoformat() if verdict.retry_at else None,
        "rule": verdict.rule.name if verdict.rule is not None else None,
    }
