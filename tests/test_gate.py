"""The compliance gate, rule by rule, with real 2026 calendars and holidays."""

from __future__ import annotations

import datetime
import json
from collections.abc import Collection
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from cartera.messaging import gate as gate_module
from cartera.messaging.admin.rules import ContactRuleForm
from cartera.messaging.gate import Gate, gate_check, holidays_of, register_hold_source
from cartera.messaging.jurisdictions import (
    ANY_COUNTRY,
    DEFAULT_RULES,
    contact_rule_problems,
    contact_rule_restore,
    contact_rules_ensure,
    content_digest,
    hours_display,
    rule_content,
)
from cartera.messaging.models import ContactRule
from cartera.negotiation.services import dispute_open
from cartera.portfolio.models import (
    Activity,
    ContactPoint,
    Creditor,
    Debtor,
    Document,
)
from cartera.portfolio.services import creditor_create

BOGOTA = ZoneInfo("America/Bogota")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")
TIJUANA = ZoneInfo("America/Tijuana")
MEXICO_CITY = ZoneInfo("America/Mexico_City")
UTC = datetime.UTC


@pytest.fixture(autouse=True)
def in_english():
    # Reasons are asserted in English; the interface default is Spanish.
    with translation.override("en"):
        yield


def at(day: int, hour: int = 0, minute: int = 0, tz: ZoneInfo = BOGOTA, month: int = 11):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=tz)


_serial = iter(range(1, 1_000_000))


def debtor_of(
    creditor: Creditor, *, country: str = "", kind: str = "person", timezone: str = ""
) -> Debtor:
    n = next(_serial)
    return Debtor.objects.create(
        creditor=creditor,
        external_id=f"D{n}",
        name=f"Debtor {n}",
        kind=kind,
        country=country or creditor.country,
        timezone=timezone,
        payment_reference=f"R{n}",
    )


def point_of(debtor: Debtor, kind: str = "mobile", value: str = "", **fields: Any) -> ContactPoint:
    n = next(_serial)
    defaults = {
        "mobile": f"+5730000{n:05d}",
        "email": f"d{n}@example.com",
        "address": f"Calle {n}",
        "landline": f"+5760100{n:05d}",
    }
    return ContactPoint.objects.create(
        debtor=debtor, kind=kind, value=value or defaults[kind], **fields
    )


def contacted(debtor: Debtor, kind: str, moment: datetime.datetime, reached: bool | None = None):
    return Activity.objects.create(
        creditor_id=debtor.creditor_id,
        debtor=debtor,
        kind=kind,
        at=moment,
        is_contact=True,
        reached=reached,
    )


def check(debtor: Debtor, channel: str, moment: datetime.datetime, **kwargs: Any):
    return gate_check(debtor=debtor, channel=channel, at=moment, **kwargs)


def rule_name(country: str, kind: str = "") -> str:
    """Stored in the installation's language when migrate created it."""
    return ContactRule.objects.get(country=country, debtor_kind=kind, active=True).name


@pytest.fixture
def consenting(creditor: Creditor):
    """A Colombian consumer who authorized SMS, email and calls on the phone and the email."""
    debtor = debtor_of(creditor)
    phone = point_of(debtor, "mobile", consent_sms=True, consent_call=True, consent_whatsapp=True)
    email = point_of(debtor, "email", consent_email=True)
    return debtor, phone, email


# -- Colombia: Ley 2300 de 2023 -----------------------------------------------------------------


def test_colombia_no_contact_on_sunday(consenting):
    debtor, phone, _email = consenting
    verdict = check(debtor, "sms", at(22, 10), contact_point=phone)  # Sunday
    assert not verdict.allowed
    assert verdict.reason == f"{rule_name('CO')}: no contact on Sundays"
    assert rule_name("CO") == "Colombia – Ley 2300 de 2023, art. 3"
    assert verdict.retry_at == at(23, 7)  # Monday 23 November is not a holiday
    assert verdict.retry_at.tzinfo is UTC
    assert verdict.rule is not None and verdict.rule.country == "CO"


def test_colombia_saturday_afternoon_waits_for_monday_morning(consenting):
    debtor, phone, _email = consenting
    assert check(debtor, "sms", at(21, 8), contact_point=phone).allowed
    assert check(debtor, "sms", at(21, 14, 59), contact_point=phone).allowed
    verdict = check(debtor, "sms", at(21, 15, 30), contact_point=phone)
    assert not verdict.allowed
    assert "on Saturdays, contact only 08:00–15:00" in verdict.reason
    assert verdict.retry_at == at(23, 7)
    assert check(debtor, "sms", verdict.retry_at, contact_point=phone).allowed


def test_colombia_skips_a_holiday_monday(consenting):
    debtor, phone, _email = consenting
    assert datetime.date(2026, 11, 16) in holidays_of("CO", 2026)  # Independencia de Cartagena
    verdict = check(debtor, "sms", at(14, 15, 30), contact_point=phone)
    assert verdict.retry_at == at(17, 7)  # Tuesday: Monday 16 is a public holiday
    on_holiday = check(debtor, "sms", at(16, 10), contact_point=phone)
    assert not on_holiday.allowed
    assert "no contact on public holidays" in on_holiday.reason
    assert on_holiday.retry_at == at(17, 7)


def test_colombia_weekday_window_ends_at_seven_pm(consenting):
    debtor, phone, _email = consenting
    assert not check(debtor, "sms", at(24, 6, 59), contact_point=phone).allowed
    assert check(debtor, "sms", at(24, 7), contact_point=phone).allowed
    assert check(debtor, "sms", at(24, 18, 59), contact_point=phone).allowed
    late = check(debtor, "sms", at(24, 19), contact_point=phone)
    assert not late.allowed and late.retry_at == at(25, 7)


def test_colombia_second_contact_the_same_day_waits_for_the_next(consenting):
    debtor, phone, _email = consenting
    contacted(debtor, "sms", at(24, 9))
    verdict = check(debtor, "sms", at(24, 15), contact_point=phone)
    assert not verdict.allowed
    assert verdict.reason == f"{rule_name('CO')}: at most 1 contact per day"
    assert verdict.retry_at == at(25, 7)
    # An unanswered attempt counts: the rule counts attempts, not only reached contacts.
    contacted(debtor, "sms", at(25, 8), reached=False)
    assert not check(debtor, "sms", at(25, 12), contact_point=phone).allowed


def test_colombia_one_channel_per_week(consenting):
    debtor, phone, email = consenting
    contacted(debtor, "sms", at(23, 10))  # Monday
    verdict = check(debtor, "email", at(25, 10), contact_point=email)
    assert not verdict.allowed
    assert "one channel per week: SMS already used this week" in verdict.reason
    assert verdict.retry_at == at(30, 7)  # next Monday
    assert check(debtor, "sms", at(25, 10), contact_point=phone).allowed


def test_consent_false_is_final_and_consent_unknown_is_refused_where_required(creditor):
    debtor = debtor_of(creditor)
    refused = point_of(debtor, "mobile", consent_sms=False)
    verdict = check(debtor, "sms", at(24, 10), contact_point=refused)
    assert not verdict.allowed and verdict.retry_at is None
    assert "opted out of SMS" in verdict.reason
    unknown = point_of(debtor, "email")
    verdict = check(debtor, "email", at(24, 10), contact_point=unknown)
    assert not verdict.allowed and verdict.retry_at is None
    assert verdict.reason.startswith(f"{rule_name('CO')}: only channels")
    # Without a contact point the gate looks at every point that can carry the channel.
    assert not check(debtor, "sms", at(24, 10)).allowed
    assert not check(debtor, "call", at(24, 10)).allowed
    point_of(debtor, "landline", consent_call=True)
    assert check(debtor, "call", at(24, 10)).allowed


def test_consent_unknown_is_enough_where_the_rule_does_not_require_it(creditor):
    debtor = debtor_of(creditor, country="PE", timezone="America/Lima")
    lima = ZoneInfo("America/Lima")
    unknown = point_of(debtor, "email")
    assert check(debtor, "email", at(24, 10, tz=lima), contact_point=unknown).allowed
    opted_out = point_of(debtor, "mobile", consent_sms=False)
    assert not check(debtor, "sms", at(24, 10, tz=lima), contact_point=opted_out).allowed


def test_do_not_contact_invalid_and_wrong_kind_are_final(creditor):
    debtor = debtor_of(creditor)
    blocked = point_of(debtor, "mobile", consent_sms=True, do_not_contact=True)
    bounced = point_of(debtor, "email", consent_email=True, valid=False)
    for verdict, words in (
        (check(debtor, "sms", at(24, 10), contact_point=blocked), "do not contact"),
        (check(debtor, "email", at(24, 10), contact_point=bounced), "is not valid"),
        (check(debtor, "email", at(24, 10), contact_point=blocked), "cannot receive email"),
    ):
        assert not verdict.allowed and verdict.retry_at is None
        assert words in verdict.reason


def test_visits_need_an_authorization_cartera_cannot_record_in_colombia(creditor):
    debtor = debtor_of(creditor)
    home = point_of(debtor, "address", consent_letter=True)
    assert check(debtor, "letter", at(24, 10), contact_point=home).allowed
    visit = check(debtor, "visit", at(24, 10), contact_point=home)
    assert not visit.allowed and visit.retry_at is None


# -- United States: Regulation F ---------------------------------------------------------------


@pytest.fixture
def american(creditor: Creditor) -> Debtor:
    return debtor_of(creditor, country="US", timezone="America/New_York")


def test_us_seven_calls_in_seven_days(american):
    for day in range(2, 9):  # 2 to 8 November, one unanswered call a day
        contacted(american, "call", at(day, 10, tz=NEW_YORK), reached=False)
    verdict = check(american, "call", at(8, 15, tz=NEW_YORK))
    assert not verdict.allowed
    assert verdict.reason == f"{rule_name('US', 'person')}: Calls: at most 7 in 7 days"
    # The call of 2 November leaves the seven days on the 9th, when the window opens.
    assert verdict.retry_at == at(9, 8, tz=NEW_YORK)
    assert check(american, "call", verdict.retry_at).allowed
    # Calls only: an email the same evening is fine, and the window is 08:00-21:00 every day.
    assert check(american, "email", at(8, 20, 59, tz=NEW_YORK)).allowed
    assert not check(american, "email", at(8, 21, tz=NEW_YORK)).allowed


def test_us_no_call_within_seven_days_after_a_conversation(american):
    contacted(american, "call", at(10, 10, tz=NEW_YORK), reached=True)
    verdict = check(american, "call", at(16, 20, tz=NEW_YORK))
    assert not verdict.allowed
    assert "no calls within 7 days after a conversation (the last on 2026-11-10)" in (
        verdict.reason
    )
    assert verdict.retry_at == at(17, 8, tz=NEW_YORK)
    assert check(american, "call", at(17, 8, tz=NEW_YORK)).allowed
    # Earlier the same day, before the conversation, a call was allowed.
    assert check(american, "call", at(10, 9, tz=NEW_YORK)).allowed
    # Thanksgiving is no obstacle under Regulation F.
    assert check(american, "email", at(26, 10, tz=NEW_YORK)).allowed


def test_us_business_debts_follow_the_business_rule(creditor):
    company = debtor_of(creditor, country="US", kind="company", timezone="America/Chicago")
    verdict = check(company, "call", at(21, 10, tz=ZoneInfo("America/Chicago")))  # Saturday
    assert not verdict.allowed
    assert verdict.reason.startswith(rule_name("US", "company"))


# -- Chile: Ley 19.496 art. 37 -------------------------------------------------------------------


@pytest.fixture
def chilean(creditor: Creditor) -> Debtor:
    return debtor_of(creditor, country="CL", timezone="America/Santiago")


def test_chile_two_written_messages_a_week_two_days_apart(chilean):
    contacted(chilean, "email", at(23, 10, tz=SANTIAGO))  # Monday
    verdict = check(chilean, "sms", at(24, 10, tz=SANTIAGO))
    assert not verdict.allowed
    assert "Written messages: at least 2 days apart" in verdict.reason
    assert verdict.retry_at == at(25, 8, tz=SANTIAGO)
    assert check(chilean, "sms", at(25, 8, tz=SANTIAGO)).allowed
    contacted(chilean, "sms", at(25, 8, tz=SANTIAGO))
    third = check(chilean, "letter", at(27, 10, tz=SANTIAGO))
    assert not third.allowed
    assert "Written messages: at most 2 per week" in third.reason
    assert third.retry_at == at(30, 8, tz=SANTIAGO)


def test_chile_one_call_or_visit_a_week(chilean):
    contacted(chilean, "call", at(23, 10, tz=SANTIAGO))
    for channel in ("call", "visit"):
        verdict = check(chilean, channel, at(26, 10, tz=SANTIAGO))
        assert not verdict.allowed
        assert "Calls and visits: at most 1 per week" in verdict.reason
        assert verdict.retry_at == at(30, 8, tz=SANTIAGO)
    # Saturday is a working day in Chile, Sunday is not.
    assert check(chilean, "email", at(28, 19, 59, tz=SANTIAGO)).allowed
    assert not check(chilean, "email", at(29, 10, tz=SANTIAGO)).allowed


# -- Mexico: the debtor's own time zone ----------------------------------------------------------


def test_mexico_cut_off_at_ten_pm_in_the_debtors_time_zone(db, actor):
    mx = creditor_create(
        code="MXCO",
        name="Cobranza MX",
        country="MX",
        currency="MXN",
        timezone="America/Mexico_City",
        actor=actor,
    )
    tijuana = debtor_of(mx, timezone="America/Tijuana")
    capital = debtor_of(mx)  # no time zone of its own: the creditor's
    moment = at(24, 21, 30, tz=TIJUANA)  # 23:30 in Mexico City
    assert check(tijuana, "email", moment).allowed
    late = check(capital, "email", moment)
    assert not late.allowed
    assert late.reason.startswith(rule_name("MX"))
    assert late.retry_at == at(25, 7, tz=MEXICO_CITY)
    cut = check(tijuana, "email", at(24, 22, tz=TIJUANA))
    assert not cut.allowed and cut.retry_at == at(25, 7, tz=TIJUANA)
    # Monday to Friday by default: Saturday waits for Monday.
    assert check(tijuana, "email", at(28, 10, tz=TIJUANA)).retry_at == at(30, 7, tz=TIJUANA)


# -- any other country ------------------------------------------------------------------------


def test_a_country_without_rules_gets_the_cautious_fallback(creditor):
    brazilian = debtor_of(creditor, country="BR", timezone="America/Sao_Paulo")
    sao_paulo = ZoneInfo("America/Sao_Paulo")
    verdict = check(brazilian, "email", at(24, 20, 30, tz=sao_paulo))
    assert not verdict.allowed
    assert verdict.reason.startswith(rule_name(ANY_COUNTRY))
    assert verdict.retry_at == at(25, 8, tz=sao_paulo)
    assert verdict.rule is not None and verdict.rule.verify_with_counsel
    # Without the stored "*" rule the built-in fallback says the same.
    ContactRule.objects.filter(country=ANY_COUNTRY).update(active=False)
    again = check(brazilian, "email", at(24, 20, 30, tz=sao_paulo))
    assert again.retry_at == verdict.retry_at and again.rule is not None
    assert again.rule.pk is None


def test_a_debtor_kind_rule_wins_over_the_country_rule(creditor):
    ContactRule.objects.create(
        country="CO",
        debtor_kind="company",
        name="Colombia – businesses",
        source="house practice",
        hours={"6": [["08:00", "12:00"]], "7": [["09:00", "10:00"]]},
    )
    company = debtor_of(creditor, kind="company")
    assert check(company, "email", at(22, 9, 30)).allowed  # Sunday
    person = debtor_of(creditor)
    point = point_of(person, "email", consent_email=True)
    assert not check(person, "email", at(22, 9, 30), contact_point=point).allowed


def test_an_unreadable_rule_refuses_and_says_so(creditor):
    ContactRule.objects.filter(country="CO").update(hours={"8": [["07:00", "19:00"]]})
    debtor = debtor_of(creditor)
    phone = point_of(debtor, "mobile", consent_sms=True)
    verdict = check(debtor, "sms", at(24, 10), contact_point=phone)
    assert not verdict.allowed and verdict.retry_at is None
    assert "cannot be read" in verdict.reason and "not a weekday" in verdict.reason


def test_other_rule_settings_gap_hours_weekly_total_and_reached_only(creditor):
    rule = ContactRule.objects.create(
        country="AR",
        name="Test rule",
        source="test",
        hours={str(day): [["00:00", "24:00"]] for day in range(1, 8)},
        no_holidays=False,
        max_per_week=2,
        min_gap_hours=6,
        counts_reached_only=True,
    )
    debtor = debtor_of(creditor, country="AR", timezone="America/Argentina/Buenos_Aires")
    buenos_aires = ZoneInfo("America/Argentina/Buenos_Aires")
    contacted(debtor, "call", at(23, 10, tz=buenos_aires), reached=True)
    contacted(debtor, "call", at(23, 12, tz=buenos_aires), reached=False)  # does not count
    gap = check(debtor, "sms", at(23, 14, tz=buenos_aires))
    assert "at least 6 hours between contacts" in gap.reason
    assert gap.retry_at == at(23, 16, tz=buenos_aires)
    contacted(debtor, "sms", at(24, 10, tz=buenos_aires), reached=True)
    week = check(debtor, "email", at(26, 10, tz=buenos_aires))
    assert "at most 2 contacts per week" in week.reason
    assert week.retry_at == at(30, 0, tz=buenos_aires)
    rule.week_mode = "rolling"
    rule.save()
    rolling = check(debtor, "email", at(26, 10, tz=buenos_aires))
    assert "at most 2 contacts in 7 days" in rolling.reason
    assert rolling.retry_at == at(30, 0, tz=buenos_aires)  # the 23rd leaves the 7 days
    rule.counts_reached_only = False
    rule.save()
    # Now the unanswered call counts too: the 23rd holds two, both leave on the 30th.
    assert check(debtor, "email", at(26, 10, tz=buenos_aires)).retry_at == at(
        30, 0, tz=buenos_aires
    )


# -- batches ------------------------------------------------------------------------------------


def test_record_counts_a_contact_made_in_the_batch(creditor):
    first, second = debtor_of(creditor), debtor_of(creditor)
    phones = [point_of(d, "mobile", consent_sms=True) for d in (first, second)]
    point_of(first, "email", consent_email=True)
    moment = at(24, 10)
    gate = Gate(creditor=creditor, debtor_ids=[first.pk, second.pk], at=moment)
    assert gate.check(debtor=first, channel="sms", contact_point=phones[0]).allowed
    gate.record(debtor_id=first.pk, channel="sms", at=moment)
    again = gate.check(debtor=first, channel="sms", at=moment, contact_point=phones[0])
    assert not again.allowed and again.retry_at == at(25, 7)
    assert gate.check(debtor=second, channel="sms", contact_point=phones[1]).allowed
    later = moment + datetime.timedelta(days=1)
    assert not gate.check(debtor=first, channel="email", at=later).allowed  # one channel a week


def test_a_gate_refuses_debtors_it_was_not_given(creditor):
    debtor, stranger = debtor_of(creditor), debtor_of(creditor)
    gate = Gate(creditor=creditor, debtor_ids=[debtor.pk], at=at(24, 10))
    with pytest.raises(ValueError, match="not given"):
        gate.check(debtor=stranger, channel="sms")
    with pytest.raises(ValueError, match="unknown channel"):
        gate.check(debtor=debtor, channel="fax")
    with pytest.raises(ValueError, match="aware"):
        gate.check(debtor=debtor, channel="sms", at=datetime.datetime(2026, 11, 24, 10))


def test_reads_are_a_fixed_number_of_queries_and_checks_none(creditor, monkeypatch):
    monkeypatch.setattr(gate_module, "_HOLD_SOURCES", [])
    debtors = [debtor_of(creditor) for _ in range(12)]
    points = {d.pk: point_of(d, "mobile", consent_sms=True) for d in debtors}
    for d in debtors[::2]:
        contacted(d, "sms", at(24, 8))
    monkeypatch.setattr(gate_module, "CHUNK", 5)
    counts = []
    answers = []
    for size, wide in ((4, 10), (12, 20), (12, 10)):
        # Up to WIDE_BATCH debtors: IN-lists of CHUNK ids; above: one range scan.
        monkeypatch.setattr(gate_module, "WIDE_BATCH", wide)
        with CaptureQueriesContext(connection) as reads:
            gate = Gate(creditor=creditor, debtor_ids=[d.pk for d in debtors[:size]], at=at(24, 9))
        counts.append(len(reads))
        with CaptureQueriesContext(connection) as checks:
            answers.append(
                [
                    gate.check(debtor=d, channel="sms", contact_point=points[d.pk]).allowed
                    for d in debtors[:size]
                ]
            )
        assert len(checks) == 0
    # The rules, the contacts (1 IN-list, then 3, then counting the creditor's debtors and one
    # scan), the open disputes.
    assert counts == [1 + 1 + 1, 1 + 3 + 1, 1 + 2 + 1]
    assert answers[1] == answers[2] == [False, True] * 6
    assert answers[0] == [False, True] * 2


# -- holds and disputes -------------------------------------------------------------------------


def test_hold_sources_refuse_for_good(creditor, monkeypatch):
    monkeypatch.setattr(gate_module, "_HOLD_SOURCES", [])
    held, free = debtor_of(creditor), debtor_of(creditor)
    asked: list[tuple[int, list[int]]] = []

    def legal_stage(creditor_id: int, debtor_ids: Collection[int]) -> dict[int, str]:
        asked.append((creditor_id, sorted(debtor_ids)))
        return {held.pk: "in the legal stage"}

    register_hold_source(legal_stage)
    register_hold_source(legal_stage)  # harmless
    gate = Gate(creditor=creditor, debtor_ids=[held.pk, free.pk], at=at(24, 10))
    assert asked == [(creditor.pk, sorted([held.pk, free.pk]))]
    verdict = gate.check(debtor=held, channel="letter")
    assert not verdict.allowed and verdict.retry_at is None
    assert verdict.reason == "On hold: in the legal stage"
    assert "On hold" not in gate.check(debtor=free, channel="letter").reason


def _document(debtor: Debtor, number: str, due: datetime.date, balance: int = 100_000):
    return Document.objects.create(
        creditor_id=debtor.creditor_id,
        debtor=debtor,
        number=number,
        external_id=f"{debtor.external_id}-{number}",
        due_date=due,
        currency="COP",
        amount_minor=balance,
        balance_minor=balance,
        payment_reference=f"P{next(_serial)}",
    )


def test_disputes_pause_contacts_about_the_disputed_documents(creditor, actor):
    debtor = debtor_of(creditor)
    home = point_of(debtor, "address", consent_letter=True)
    first = _document(debtor, "FV-1", datetime.date(2026, 10, 1))
    second = _document(debtor, "FV-2", datetime.date(2026, 10, 15))
    future = _document(debtor, "FV-3", datetime.date(2026, 12, 15))
    dispute_open(
        creditor=creditor,
        debtor=debtor,
        documents=[first],
        category="price",
        note="",
        as_of=datetime.date(2026, 11, 20),
        actor=actor,
    )

    def letter(document_ids=()):
        return check(debtor, "letter", at(24, 10), contact_point=home, document_ids=document_ids)

    assert letter().allowed  # FV-2 is overdue and undisputed
    assert letter([second.pk]).allowed
    assert letter([first.pk, second.pk]).allowed
    refused = letter([first.pk])
    assert not refused.allowed and refused.retry_at is None
    assert "open dispute" in refused.reason
    dispute_open(
        creditor=creditor,
        debtor=debtor,
        documents=[second],
        category="quality",
        note="",
        as_of=datetime.date(2026, 11, 20),
        actor=actor,
    )
    whole = letter()  # every overdue document disputed; FV-3 is not due yet
    assert not whole.allowed and "every overdue document" in whole.reason
    assert letter([future.pk]).allowed


# -- the shipped rules -------------------------------------------------------------------------


def test_the_shipped_rules_are_stored_after_migrate(db):
    stored = {(r.country, r.debtor_kind): r for r in ContactRule.objects.all()}
    for key in [
        ("CO", ""),
        ("MX", ""),
        ("PE", ""),
        ("CL", ""),
        ("ES", "person"),
        ("US", "person"),
        (ANY_COUNTRY, ""),
    ]:
        rule = stored[key]
        assert rule.active and rule.source and rule.description
        assert rule.shipped_digest == content_digest(rule_content(rule))
    assert stored[("CO", "")].verify_with_counsel
    assert stored[("ES", "person")].verify_with_counsel
    assert stored[("MX", "")].verify_with_counsel
    assert not stored[("CL", "")].verify_with_counsel
    assert hours_display(stored[("CO", "")].hours) == "Mon–Fri 07:00–19:00 · Sat 08:00–15:00"
    assert stored[("CL", "")].channel_caps == {
        "voice": {"week": 1},
        "written": {"week": 2, "min_gap_days": 2},
    }


def test_ensure_never_overwrites_an_edited_rule(db, actor):
    colombia = ContactRule.objects.get(country="CO", debtor_kind="")
    colombia.hours = {"1": [["08:00", "17:00"]]}
    colombia.save()
    peru = ContactRule.objects.get(country="PE")
    peru.active = False
    peru.save()
    # An unedited rule created from an older shipped version is brought up to date.
    chile = ContactRule.objects.get(country="CL")
    chile.description = "old wording"
    chile.shipped_digest = content_digest(rule_content(chile))
    chile.save()
    ContactRule.objects.filter(country="MX").delete()

    contact_rules_ensure()

    colombia.refresh_from_db()
    assert colombia.hours == {"1": [["08:00", "17:00"]]}
    peru.refresh_from_db()
    assert not peru.active
    chile.refresh_from_db()
    assert chile.description != "old wording"
    assert chile.shipped_digest == content_digest(rule_content(chile))
    assert ContactRule.objects.filter(country="MX", active=True).count() == 1
    assert ContactRule.objects.count() == len(DEFAULT_RULES)

    contact_rule_restore(rule=colombia, actor=actor)
    assert colombia.hours["6"] == [["08:00", "15:00"]]
    assert colombia.shipped_digest == content_digest(rule_content(colombia))


@pytest.mark.parametrize(
    ("hours", "caps", "field", "words"),
    [
        ({"1": [["7:00", "19:00"]]}, {}, "hours", "write it as HH:MM"),
        ({"1": [["07:00", "25:00"]]}, {}, "hours", "not a time of day"),
        ({"1": [["19:00", "07:00"]]}, {}, "hours", "ends before it starts"),
        ({"mon": [["07:00", "19:00"]]}, {}, "hours", "not a weekday"),
        ({"8": [["07:00", "19:00"]]}, {}, "hours", "not a weekday"),
        ({"1": [["07:00", "12:00"], ["11:00", "13:00"]]}, {}, "hours", "overlap"),
        ({}, {"phone": {"week": 1}}, "channel_caps", "not a channel class"),
        ({}, {"voice": {"month": 1}}, "channel_caps", "not a limit"),
        ({}, {"voice": {"week": 0}}, "channel_caps", "at least 1"),
    ],
)
def test_rule_mistakes_are_explained(db, hours, caps, field, words):
    problems = contact_rule_problems(country="CO", hours=hours, channel_caps=caps)
    assert list(problems) == [field]
    assert words in problems[field][0]
    form = ContactRuleForm(
        data={
            "country": "co",
            "debtor_kind": "company",
            "name": "Test",
            "source": "test",
            "hours": json.dumps(hours),
            "channel_caps": json.dumps(caps),
            "week_mode": "calendar",
            "active": "",
        }
    )
    assert not form.is_valid()
    assert words in " ".join(form.errors[field])


def test_the_rule_form_accepts_a_good_rule_and_names_the_country_mistake(db):
    data = {
        "country": "ar",
        "debtor_kind": "",
        "name": "Argentina",
        "source": "Ley 24.240",
        "hours": '{"1": [["09:00", "12:00"], ["14:00", "20:00"]], "6": [["09:00", "13:00"]]}',
        "channel_caps": '{"call": {"day": 1, "week": 3}}',
        "week_mode": "calendar",
        "active": "on",
        "no_holidays": "on",
    }
    form = ContactRuleForm(data=data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["country"] == "AR"
    bad = ContactRuleForm(data={**data, "country": "A1"})
    assert not bad.is_valid() and "two capital letters" in " ".join(bad.errors["country"])
    twin = ContactRuleForm(data={**data, "country": "CO"})
    assert not twin.is_valid()
    assert "Another active rule already covers" in str(twin.errors)
