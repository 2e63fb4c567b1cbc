"""The workdesk's services on their own: what they refuse, what they write, what they audit."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from cartera.core.audit import Actor
from cartera.core.models import AuditEvent
from cartera.negotiation.models import Promise
from cartera.portfolio.models import Activity, ContactKind, ContactPoint
from cartera.portfolio.services import creditor_create
from cartera.strategy.models import Account, Action, ActionStatus
from cartera.workdesk.defaults import DEFAULT_OUTCOMES, outcome_defaults_ensure
from cartera.workdesk.models import OutcomeCategory, OutcomeCode, Target
from cartera.workdesk.queries import default_high_balance_minor, outcome_codes_for
from cartera.workdesk.services import (
    WorkdeskError,
    accounts_reassign,
    callback_schedule,
    contact_point_add,
    contact_point_correct,
    contact_record,
    target_set,
)
from tests.workdesk_support import AS_OF, BOGOTA, NOW, accounts_of, person

# The workdesk fixtures: clock, team, portfolio.
pytest_plugins = ["tests.workdesk_fixtures"]


@pytest.fixture(autouse=True)
def english():
    """The services' messages are checked in English (the msgids)."""
    with translation.override("en"):
        yield


def outcome(name):
    return OutcomeCode.objects.get(creditor__isnull=True, code=name)


@pytest.fixture
def debtor(portfolio, team):
    account = next(a for a in accounts_of(team["cobradora"]) if a.max_dpd == 10)
    ContactPoint.objects.filter(debtor=account.debtor).update(consent_call=True)
    return account.debtor


@pytest.fixture
def her(team):
    return Actor.for_user(team["cobradora"])


def test_default_outcome_codes_exist_once_and_a_creditor_may_replace_one(creditor):
    assert outcome_defaults_ensure() == 0  # created after migrate already
    assert OutcomeCode.objects.filter(creditor__isnull=True).count() == len(DEFAULT_OUTCOMES)
    OutcomeCode.objects.create(
        creditor=creditor,
        code="no_contesta",
        label="Timbra y no contesta",
        category=OutcomeCategory.NO_ANSWER,
    )
    labels = {c.code: c.label for c in outcome_codes_for(creditor)}
    assert labels["no_contesta"] == "Timbra y no contesta"
    assert len(labels) == len(DEFAULT_OUTCOMES)
    with pytest.raises(ValidationError):
        OutcomeCode(
            code="x", label="x", category=OutcomeCategory.NO_ANSWER, right_party=True
        ).full_clean()


def test_contact_record_refuses_what_makes_no_sense(debtor, her, creditor, actor):
    common = {"debtor": debtor, "at": NOW, "as_of": AS_OF, "actor": her}
    with pytest.raises(WorkdeskError, match="Choose how the contact was made"):
        contact_record(channel="letter", outcome=outcome("contactado"), **common)
    other = creditor_create(code="OTRO", name="Otro", country="CO", currency="COP", actor=actor)
    foreign = OutcomeCode.objects.create(
        creditor=other, code="propio", label="propio", category=OutcomeCategory.OTHER
    )
    with pytest.raises(WorkdeskError, match="not offered"):
        contact_record(channel="call", outcome=foreign, **common)
    with pytest.raises(WorkdeskError, match="Say when to call back"):
        contact_record(channel="call", outcome=outcome("volver_a_llamar"), **common)
    with pytest.raises(WorkdeskError, match="Choose a promise outcome"):
        contact_record(
            channel="call",
            outcome=outcome("contactado"),
            promise_amount=Decimal("10"),
            promise_date=AS_OF,
            **common,
        )
    stranger = ContactPoint.objects.exclude(debtor=debtor).first()
    with pytest.raises(WorkdeskError, match="another debtor"):
        contact_record(
            channel="call", outcome=outcome("contactado"), contact_point=stranger, **common
        )
    assert not Activity.objects.exists()


def test_a_callback_outcome_schedules_it_and_a_later_contact_does_it(debtor, her):
    later = NOW + datetime.timedelta(hours=3)
    first = contact_record(
        debtor=debtor,
        channel="call",
        outcome=outcome("volver_a_llamar"),
        at=NOW,
        as_of=AS_OF,
        actor=her,
        callback_at=later,
    )
    assert first.callback is not None and first.callback.due_at == later
    assert first.activity.reached is True  # asking to be called back is the debtor talking
    calls = Action.objects.filter(debtor=debtor, kind="call", step__code="llamada_1")
    assert [a.status for a in calls] == [ActionStatus.DONE]
    second = contact_record(
        debtor=debtor,
        channel="call",
        outcome=outcome("contactado"),
        at=NOW + datetime.timedelta(minutes=1),
        as_of=AS_OF,
        actor=her,
    )
    assert second.callbacks_done == [first.callback.pk]
    assert "at most 1 contact per day" in second.activity.rule_breach  # Colombia's cap


def test_callback_schedule_refuses_nonsense_times(debtor, her):
    with pytest.raises(WorkdeskError, match="time zone"):
        callback_schedule(debtor=debtor, due_at=datetime.datetime(2026, 11, 25, 9), actor=her)
    with pytest.raises(WorkdeskError, match="past"):
        callback_schedule(debtor=debtor, due_at=NOW - datetime.timedelta(hours=1), actor=her)
    with pytest.raises(WorkdeskError, match="year"):
        callback_schedule(debtor=debtor, due_at=NOW + datetime.timedelta(days=400), actor=her)
    callback = callback_schedule(
        debtor=debtor, due_at=datetime.datetime(2026, 11, 26, 8, tzinfo=BOGOTA), actor=her
    )
    assert AuditEvent.objects.get(action="callback.schedule").object_id == str(callback.pk)


def test_contact_points_are_normalized_and_each_change_is_audited(debtor, her):
    email = contact_point_add(debtor=debtor, kind="email", value=" Pagos@Empresa.CO ", actor=her)
    assert (email.value, email.label, email.source) == (
        "pagos@empresa.co",
        "Pagos@Empresa.CO",
        "workdesk",
    )
    mobile = contact_point_add(
        debtor=debtor,
        kind="phone",
        value="300 555 0101",
        actor=her,
        consents={"consent_whatsapp": True, "bogus": True},
    )
    assert (mobile.value, mobile.kind, mobile.consent_whatsapp) == (
        "+573005550101",
        ContactKind.MOBILE,
        True,
    )
    with pytest.raises(WorkdeskError, match="already"):
        contact_point_add(debtor=debtor, kind="mobile", value="+57 300 555 0101", actor=her)
    with pytest.raises(WorkdeskError, match="Not a valid phone"):
        contact_point_add(debtor=debtor, kind="mobile", value="12", actor=her)
    unchanged = contact_point_correct(contact_point=email, actor=her, valid=True)
    assert unchanged.valid and not AuditEvent.objects.filter(action="contact_point.correct")
    contact_point_correct(
        contact_point=email,
        actor=her,
        value="cobros@empresa.co",
        consents={"consent_email": False},
        reason="nueva dirección",
    )
    event = AuditEvent.objects.get(action="contact_point.correct")
    assert event.changes == {
        "value": ["pagos@empresa.co", "cobros@empresa.co"],
        "consent_email": [None, False],
        "reason": "nueva dirección",
    }
    assert event.creditor_id == debtor.creditor_id


def test_reassign_moves_tasks_pins_and_releases(portfolio, team, actor):
    her, him = team["cobradora"], team["cobrador"]
    account = next(a for a in accounts_of(him) if a.max_dpd == 10)
    moved = accounts_reassign(
        creditor=portfolio, account_ids=[account.pk], to_user=her, actor=actor
    )
    account.refresh_from_db()
    assert moved == 1 and account.collector == her and account.collector_pinned
    assert Action.objects.get(debtor=account.debtor, status=ActionStatus.OPEN).assigned_to == her
    event = AuditEvent.objects.get(action="account.reassign")
    assert event.object_id == str(account.pk)  # one account: the event is on it
    assert (
        accounts_reassign(creditor=portfolio, account_ids=[account.pk], to_user=her, actor=actor)
        == 0
    )
    accounts_reassign(creditor=portfolio, account_ids=[account.pk], to_user=None, actor=actor)
    account.refresh_from_db()
    assert account.collector is None and not account.collector_pinned

    with pytest.raises(WorkdeskError, match="not a collector"):
        accounts_reassign(
            creditor=portfolio, account_ids=[account.pk], to_user=team["auditora"], actor=actor
        )
    other = creditor_create(code="OTRO", name="Otro", country="CO", currency="COP", actor=actor)
    stranger = person("extraña", "collector", other)
    with pytest.raises(WorkdeskError, match="not a collector"):
        accounts_reassign(
            creditor=portfolio, account_ids=[account.pk], to_user=stranger, actor=actor
        )
    with pytest.raises(WorkdeskError, match="not accounts of"):
        accounts_reassign(creditor=other, account_ids=[account.pk], to_user=None, actor=actor)


def test_targets_are_upserted_validated_and_audited(portfolio, team, actor):
    month = datetime.date(2026, 11, 17)
    first = target_set(
        creditor=portfolio,
        user=team["cobradora"],
        metric="contacts_made",
        month=month,
        value=40,
        actor=actor,
    )
    assert first is not None and first.month == datetime.date(2026, 11, 1)
    again = target_set(
        creditor=portfolio,
        user=team["cobradora"],
        metric="contacts_made",
        month=month,
        value=45,
        actor=actor,
    )
    assert again is not None and again.pk == first.pk and again.value == 45
    target_set(
        creditor=portfolio, user=None, metric="contacts_made", month=month, value=90, actor=actor
    )
    assert Target.objects.count() == 2
    with pytest.raises(WorkdeskError, match="at most 100"):
        target_set(
            creditor=portfolio,
            user=None,
            metric="promise_kept_rate",
            month=month,
            value=101,
            actor=actor,
        )
    with pytest.raises(WorkdeskError, match="Unknown metric"):
        target_set(creditor=portfolio, user=None, metric="calls", month=month, value=1, actor=actor)
    target_set(
        creditor=portfolio,
        user=team["cobradora"],
        metric="contacts_made",
        month=month,
        value=None,
        actor=actor,
    )
    assert Target.objects.count() == 1
    changes = [
        e.changes["value"] for e in AuditEvent.objects.filter(action="target.set").order_by("id")
    ]
    assert changes == [[None, 40], [40, 45], [None, 90], [45, None]]


def test_a_promise_outcome_records_one_promise_in_the_activitys_channel(debtor, her):
    result = contact_record(
        debtor=debtor,
        channel="whatsapp",
        outcome=outcome("promesa"),
        at=NOW,
        as_of=AS_OF,
        actor=her,
        promise_amount=Decimal("120.50"),
        promise_date=AS_OF + datetime.timedelta(days=1),
    )
    promise = Promise.objects.get()
    assert result.promise == promise
    assert (promise.channel, promise.amount_minor) == ("whatsapp", 12_050)


def test_the_default_high_balance_follows_the_currency():
    assert default_high_balance_minor("COP") == 500_000_000
    assert default_high_balance_minor("CLP") == 1_100_000  # no decimals
    assert default_high_balance_minor("XYZ") == 1_000_000


def test_accounts_of_the_default_portfolio_are_shared(portfolio, team):
    her, him = len(accounts_of(team["cobradora"])), len(accounts_of(team["cobrador"]))
    assert her + him == Account.objects.filter(creditor=portfolio, overdue=True).count()
    assert abs(her - him) <= 1
