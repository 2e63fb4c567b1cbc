"""Property tests of the compliance gate: for random rules, time zones, start moments and
histories, a sender that tries greedily (and, when refused, tries again exactly at `retry_at`)
never contacts outside the allowed hours, on a holiday, over a cap or under a gap; every
`retry_at` is allowed when checked, and one second earlier is not (it is the earliest).

Each contact the gate allows is judged by an independent reading of the rule (`_breaks`),
written from the rule's definition, not from the gate's code.
"""

from __future__ import annotations

import datetime
import re
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from django.utils import translation
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cartera.messaging.gate import Gate
from cartera.messaging.models import ContactRule
from cartera.portfolio.models import Activity, Creditor, Debtor
from tests.helpers import rolled_back

UTC = datetime.UTC
SECOND = datetime.timedelta(seconds=1)

# Zones with daylight saving at midnight (Santiago), half-hour shifts (Lord Howe), odd offsets
# (Kathmandu, Chatham) and none at all (Bogota).
ZONES = [
    "America/Bogota",
    "America/Santiago",
    "America/New_York",
    "Europe/Madrid",
    "America/Tijuana",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
]
# Around the 2026 daylight-saving changes of those zones, where the clock misbehaves.
CLOCK_CHANGES = [
    datetime.date(2026, 3, 8),
    datetime.date(2026, 3, 29),
    datetime.date(2026, 4, 5),
    datetime.date(2026, 4, 4),
    datetime.date(2026, 9, 6),
    datetime.date(2026, 9, 5),
    datetime.date(2026, 9, 27),
    datetime.date(2026, 10, 4),
    datetime.date(2026, 10, 25),
    datetime.date(2026, 11, 1),
]
COUNTRIES = ["CO", "CL", "US", "ES", "AR"]
CHANNELS = ["email", "sms", "whatsapp", "letter", "call", "visit"]
CAP_KEYS = {
    "voice": {"call", "visit"},
    "written": {"email", "sms", "whatsapp", "letter"},
    "call": {"call"},
    "email": {"email"},
}


def clock(quarters: int) -> str:
    return f"{quarters // 4:02d}:{quarters % 4 * 15:02d}"


@st.composite
def day_windows(draw: Any) -> list[list[str]]:
    """Zero to two windows on quarter hours, sorted, not overlapping."""
    count = draw(st.integers(0, 2))
    edges = sorted(draw(st.sets(st.integers(0, 96), min_size=2 * count, max_size=2 * count)))
    return [[clock(edges[i]), clock(edges[i + 1])] for i in range(0, len(edges), 2)]


@st.composite
def rules(draw: Any) -> dict[str, Any]:
    hours = {str(day): draw(day_windows()) for day in range(1, 8)}
    hours = {day: spans for day, spans in hours.items() if spans}
    if not hours:
        hours = {"3": [["09:00", "17:00"]]}
    caps: dict[str, dict[str, int]] = {}
    for key in draw(st.sets(st.sampled_from(sorted(CAP_KEYS)), max_size=2)):
        limits = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "day": st.integers(1, 2),
                    "week": st.integers(1, 4),
                    "min_gap_days": st.integers(1, 3),
                },
            )
        )
        if limits:
            caps[key] = limits
    return {
        "hours": hours,
        "no_holidays": draw(st.booleans()),
        "max_per_day": draw(st.none() | st.integers(1, 3)),
        "max_per_week": draw(st.none() | st.integers(1, 6)),
        "channel_caps": caps,
        "min_gap_hours": draw(st.none() | st.integers(1, 30)),
        "one_channel_per_week": draw(st.booleans()),
        "counts_reached_only": draw(st.booleans()),
        "week_mode": draw(st.sampled_from(["calendar", "rolling"])),
        "quiet_days_after_conversation": draw(st.none() | st.integers(1, 8)),
    }


@st.composite
def starts(draw: Any) -> datetime.datetime:
    near_change = draw(st.booleans())
    if near_change:
        day = draw(st.sampled_from(CLOCK_CHANGES)) - datetime.timedelta(
            days=draw(st.integers(0, 2))
        )
    else:
        day = datetime.date(2026, 1, 1) + datetime.timedelta(days=draw(st.integers(0, 360)))
    minute = draw(st.integers(0, 24 * 60 - 1))
    return datetime.datetime.combine(day, datetime.time(), tzinfo=UTC) + datetime.timedelta(
        minutes=minute
    )


contacts = st.tuples(
    st.integers(1, 14 * 24 * 60),  # minutes before the start
    st.sampled_from(CHANNELS),
    st.sampled_from([None, True, False]),
)
attempts = st.tuples(
    st.sampled_from(CHANNELS),
    st.integers(0, 3 * 24 * 60),  # minutes to wait after a contact before the next try
    st.sampled_from([None, True, False]),  # whether the contact reached the debtor
)


# -- the rule, read independently -------------------------------------------------------------

_HOLIDAY_CACHE: dict[tuple[str, int], Any] = {}


def _is_holiday(country: str, day: datetime.date) -> bool:
    key = (country, day.year)
    if key not in _HOLIDAY_CACHE:
        _HOLIDAY_CACHE[key] = holidays.country_holidays(country, years=day.year)
    return day in _HOLIDAY_CACHE[key]


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _breaks(
    rule: dict[str, Any],
    tz: ZoneInfo,
    country: str,
    moment: datetime.datetime,
    channel: str,
    before: list[tuple[datetime.datetime, str, bool | None]],
) -> str:
    """What a contact at `moment` breaks, given the contacts made before it ("" if nothing)."""
    wall = moment.astimezone(tz)
    day = wall.date()
    minute = wall.hour * 60 + wall.minute + wall.second / 60 + wall.microsecond / 60e6
    spans = rule["hours"].get(str(wall.isoweekday()), [])
    if not any(_minutes(a) <= minute < _minutes(b) for a, b in spans):
        return "outside the allowed hours"
    if rule["no_holidays"] and _is_holiday(country, day):
        return "on a public holiday"

    def local_day(at: datetime.datetime) -> datetime.date:
        return at.astimezone(tz).date()

    counted = [(at, ch) for at, ch, reached in before if reached or not rule["counts_reached_only"]]

    def in_week(at: datetime.datetime) -> bool:
        other = local_day(at)
        if rule["week_mode"] == "rolling":
            return day - datetime.timedelta(days=6) <= other <= day
        return other.isocalendar()[:2] == day.isocalendar()[:2]

    per_day, per_week = rule["max_per_day"], rule["max_per_week"]
    if per_day is not None and sum(1 for at, _ch in counted if local_day(at) == day) >= per_day:
        return "over the daily cap"
    if per_week is not None and sum(1 for at, _ch in counted if in_week(at)) >= per_week:
        return "over the weekly cap"
    for key, limits in rule["channel_caps"].items():
        if channel not in CAP_KEYS[key]:
            continue
        mine = [at for at, ch in counted if ch in CAP_KEYS[key]]
        if "day" in limits and sum(1 for at in mine if local_day(at) == day) >= limits["day"]:
            return f"over the daily cap of {key}"
        if "week" in limits and sum(1 for at in mine if in_week(at)) >= limits["week"]:
            return f"over the weekly cap of {key}"
        gap = limits.get("min_gap_days")
        if gap and any(abs((local_day(at) - day).days) < gap for at in mine):
            return f"{key} closer than {gap} days"
    if rule["min_gap_hours"]:
        gap = datetime.timedelta(hours=rule["min_gap_hours"])
        if any(abs(moment - at) < gap for at, _ch in counted):
            return "under the gap in hours"
    if rule["one_channel_per_week"] and any(ch != channel and in_week(at) for at, ch in counted):
        return "a second channel in the week"
    quiet = rule["quiet_days_after_conversation"]
    if channel == "call" and quiet:
        for at, ch, reached in before:
            if ch == "call" and reached and (day - local_day(at)).days < quiet:
                return "a call too soon after a conversation"
    return ""


# -- the simulation ---------------------------------------------------------------------------


@pytest.fixture
def lender(db: Any, creditor: Creditor) -> Creditor:
    return creditor


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rule=rules(),
    zone_name=st.sampled_from(ZONES),
    country=st.sampled_from(COUNTRIES),
    start=starts(),
    history=st.lists(contacts, max_size=6),
    tries=st.lists(attempts, min_size=1, max_size=8),
)
def test_greedy_sending_never_breaks_a_rule_and_retry_at_is_the_earliest_allowed_moment(
    lender: Creditor,
    rule: dict[str, Any],
    zone_name: str,
    country: str,
    start: datetime.datetime,
    history: list[tuple[int, str, bool | None]],
    tries: list[tuple[str, int, bool | None]],
) -> None:
    tz = ZoneInfo(zone_name)
    with translation.override("en"), rolled_back():
        ContactRule.objects.update(active=False)
        ContactRule.objects.create(country=country, name="Random", source="test", **rule)
        debtor = Debtor.objects.create(
            creditor=lender,
            external_id="P1",
            name="Property",
            kind="person",
            country=country,
            timezone=zone_name,
            payment_reference="P1",
        )
        made = [
            (start - datetime.timedelta(minutes=minutes), channel, reached)
            for minutes, channel, reached in history
        ]
        Activity.objects.bulk_create(
            Activity(
                creditor=lender,
                debtor=debtor,
                kind=channel,
                at=at,
                is_contact=True,
                reached=reached,
            )
            for at, channel, reached in made
        )
        gate = Gate(creditor=lender, debtor_ids=[debtor.pk], at=start)
        moment = start
        sent = 0
        for channel, wait, reached in tries:
            verdict = gate.check(debtor=debtor, channel=channel, at=moment)
            if not verdict.allowed:
                event(re.split(r"[\d(]", verdict.reason.split(": ", 1)[1])[0])
                retry = verdict.retry_at
                assert retry is not None, verdict.reason
                assert retry > moment
                assert retry.tzinfo is UTC
                later = gate.check(debtor=debtor, channel=channel, at=retry)
                assert later.allowed, (verdict.reason, retry, later.reason)
                if retry - SECOND >= moment:
                    earlier = gate.check(debtor=debtor, channel=channel, at=retry - SECOND)
                    assert not earlier.allowed, (verdict.reason, retry)
                moment = retry
            broken = _breaks(rule, tz, country, moment, channel, made)
            assert broken == "", (broken, moment.astimezone(tz), channel)
            gate.record(debtor_id=debtor.pk, channel=channel, at=moment, reached=reached)
            made.append((moment, channel, reached))
            sent += 1
            moment = moment + datetime.timedelta(minutes=wait)
        assert sent == len(tries)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rule=rules(),
    zone_name=st.sampled_from(ZONES),
    country=st.sampled_from(COUNTRIES),
    start=starts(),
    history=st.lists(contacts, max_size=8),
    probes=st.lists(
        st.tuples(st.sampled_from(CHANNELS), st.integers(0, 10 * 24 * 60)), min_size=1, max_size=6
    ),
)
def test_the_gate_agrees_with_the_rule_at_any_moment(
    lender: Creditor,
    rule: dict[str, Any],
    zone_name: str,
    country: str,
    start: datetime.datetime,
    history: list[tuple[int, str, bool | None]],
    probes: list[tuple[str, int]],
) -> None:
    """Allowed exactly when the independent reading finds nothing broken (history in the past)."""
    tz = ZoneInfo(zone_name)
    with translation.override("en"), rolled_back():
        ContactRule.objects.update(active=False)
        ContactRule.objects.create(country=country, name="Random", source="test", **rule)
        debtor = Debtor.objects.create(
            creditor=lender,
            external_id="P2",
            name="Property",
            kind="company",
            country=country,
            timezone=zone_name,
            payment_reference="P2",
        )
        made = [
            (start - datetime.timedelta(minutes=minutes), channel, reached)
            for minutes, channel, reached in history
        ]
        Activity.objects.bulk_create(
            Activity(
                creditor=lender, debtor=debtor, kind=ch, at=at, is_contact=True, reached=reached
            )
            for at, ch, reached in made
        )
        gate = Gate(creditor=lender, debtor_ids=[debtor.pk], at=start)
        for channel, minutes in probes:
            moment = start + datetime.timedelta(minutes=minutes)
            verdict = gate.check(debtor=debtor, channel=channel, at=moment)
            broken = _breaks(rule, tz, country, moment, channel, made)
            assert verdict.allowed == (broken == ""), (verdict.reason, broken, moment)
