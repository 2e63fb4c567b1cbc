"""Agreements in the daily run: an active agreement holds the strategy, an installment too
late breaks it (the collector and the supervisors are alerted) and collection resumes on the
installments; the run's second pass of a day changes nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext

from cartera.negotiation.agreements import ALERT_BROKEN_AGREEMENT, agreement_propose
from cartera.negotiation.models import AgreementStatus, NegotiationTerms
from cartera.portfolio.integrity import integrity_problems
from cartera.strategy.defaults import strategy_defaults_ensure
from cartera.strategy.models import Account, Action, Alert
from cartera.strategy.queries import alerts_for
from cartera.strategy.run import run_execute
from tests.negotiation_support import AS_OF

# A plugin's fixtures reach every test of the session, so these are asked for by name here.
pytestmark = pytest.mark.usefixtures("usury", "in_english", "home")
pytest_plugins = ["tests.negotiation_fixtures"]


def test_an_agreement_holds_the_strategy_until_it_breaks(
    creditor, uno, laura, sofia, as_laura, actor
):
    strategy_defaults_ensure(creditor=creditor, actor=actor)
    NegotiationTerms.objects.create(creditor=creditor, agreement_break_days=5)
    run_execute(creditor=creditor, as_of=AS_OF, actor=actor)
    Account.objects.filter(debtor=uno).update(collector=laura)
    agreement = agreement_propose(
        creditor=creditor,
        debtor=uno,
        installments=2,
        as_of=AS_OF,
        actor=as_laura,
        annual_rate=Decimal(0),
    )
    assert agreement.status == AgreementStatus.ACTIVE

    held = run_execute(creditor=creditor, as_of=AS_OF + datetime.timedelta(days=1), actor=actor)
    account = Account.objects.get(debtor=uno)
    # The run writes in the creditor's language.
    with translation.override("es"):
        held_reason = gettext("payment agreement %(number)s") % {"number": agreement.number}
    assert account.paused_reason == held_reason
    assert held.negotiation["agreements"] == {"kept": 0, "broken": 0, "reminders": 0}
    actions_before = Action.objects.filter(debtor=uno).count()

    # The first installment falls due on 23 Dec; six days later the agreement breaks.
    for day in (datetime.date(2026, 12, 28), datetime.date(2026, 12, 29)):
        report = run_execute(creditor=creditor, as_of=day, actor=actor)
    assert report.negotiation["agreements"]["broken"] == 1
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.BROKEN
    alert = Alert.objects.get(kind=ALERT_BROKEN_AGREEMENT)
    assert (alert.debtor_id, alert.collector_id, alert.created_on) == (
        uno.pk,
        laura.pk,
        datetime.date(2026, 12, 29),
    )
    assert list(alerts_for(laura).filter(kind=ALERT_BROKEN_AGREEMENT)) == [alert]
    assert list(alerts_for(sofia).filter(kind=ALERT_BROKEN_AGREEMENT)) == [alert]
    # Collection resumes: the account is not held, and its overdue is the late installment.
    account.refresh_from_db()
    assert account.paused_reason == ""
    assert account.overdue_minor == 75_000_000
    assert account.max_dpd == 6

    run_execute(creditor=creditor, as_of=datetime.date(2026, 12, 29), actor=actor)
    assert Alert.objects.filter(kind=ALERT_BROKEN_AGREEMENT).count() == 1
    # The strategy works the installment again: a step fires on the day the agreement broke,
    # none while it held.
    assert Action.objects.filter(debtor=uno).count() > actions_before
    assert Action.objects.filter(debtor=uno, due_on=datetime.date(2026, 12, 29)).exists()
    assert not Action.objects.filter(
        debtor=uno, due_on__gt=AS_OF, due_on__lt=datetime.date(2026, 12, 29)
    ).exists()
    assert integrity_problems() == []
