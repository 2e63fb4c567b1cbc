"""The daily run: steps on their day, once per episode; catch-up; pauses; idempotency."""

from __future__ import annotations

import datetime
from collections import Counter

import pytest
from django.utils.translation import override

from cartera.portfolio.models import ContactPoint, Debtor
from cartera.strategy.defaults import DEFAULT_STEPS, strategy_defaults_ensure
from cartera.strategy.models import Account, Action, ActionStatus, Alert, Episode, Pause, Run
from cartera.strategy.run import RunRefused, run_execute

DUE = datetime.date(2026, 10, 1)


def day(n: int) -> datetime.date:
    """The day n days after the due date (negative: before)."""
    return DUE + datetime.timedelta(days=n)


@pytest.fixture
def strategy(creditor, actor):
    return strategy_defaults_ensure(creditor=creditor, actor=actor)


@pytest.fixture
def one_invoice(write_file, load, strategy):
    """Uno S.A.S. owes one invoice issued 1 Sep, due 1 Oct 2026."""
    text = "external_id,debtor_external_id,name,issue_date,due_date,amount\nF-1,C1,Uno S.A.S.,2026-09-01,2026-10-01,1000\n"
    load("documents", write_file("docs.csv", text), as_of=datetime.date(2026, 9, 1))


def run(creditor, actor, on):
    return run_execute(creditor=creditor, as_of=on, actor=actor)


def fired_on(code: str) -> list[datetime.date]:
    return sorted(
        Action.objects.filter(step__code=code)
        .exclude(status__in=[ActionStatus.SUPERSEDED, ActionStatus.EXPIRED])
        .values_list("due_on", flat=True)
    )


def test_each_default_step_fires_on_its_day_and_only_once(creditor, actor, one_invoice):
    for n in range(-10, 75):
        run(creditor, actor, day(n))

    for code, offset, *_ in DEFAULT_STEPS:
        assert fired_on(code) == [day(offset)], code
    assert (
        Action.objects.filter(status__in=[ActionStatus.SUPERSEDED, ActionStatus.EXPIRED]).count()
        == 0
    )
    assert Episode.objects.count() == 1
    account = Account.objects.get()
    assert account.legal_review is True
    assert account.stage.code == "prejuridica"  # juridica only on a supervisor's confirmation


def test_message_and_call_actions_say_why(creditor, actor, one_invoice):
    run(creditor, actor, day(3))
    run(creditor, actor, day(7))
    aviso = Action.objects.get(step__code="aviso_1")
    call = Action.objects.get(step__code="llamada_1")
    assert aviso.status == ActionStatus.PENDING_DISPATCH and aviso.channels == ["email"]
    assert call.status == ActionStatus.OPEN
    assert "aviso_1" in aviso.reason and "General" in aviso.reason and "v1" in aviso.reason
    assert "2026-10-01" in aviso.reason


def test_catch_up_fires_the_latest_due_step_and_records_the_rest(creditor, actor, one_invoice):
    first = run(creditor, actor, day(8))
    later = run(creditor, actor, day(29))

    assert first.actions == Counter({"llamada_1": 1})
    assert first.skipped == Counter({"aviso_1": 1})
    assert Action.objects.get(step__code="aviso_1").status == ActionStatus.SUPERSEDED
    # Days 9..28 were skipped: aviso_2 (day 15) is older than the 10-day window,
    # llamada_2 (day 20) is within it and fires.
    assert later.actions == Counter({"llamada_2": 1})
    assert later.skipped == Counter({"aviso_2": 1})
    assert Action.objects.get(step__code="aviso_2").status == ActionStatus.EXPIRED


def test_the_same_day_again_creates_nothing(creditor, actor, one_invoice):
    run(creditor, actor, day(3))
    again = run(creditor, actor, day(3))

    assert again.already_ran is True
    assert again.actions == Counter() and again.skipped == Counter()
    assert Action.objects.count() == 1
    assert Run.objects.count() == 1


@override("en")
def test_a_run_before_the_last_one_is_refused(creditor, actor, one_invoice):
    run(creditor, actor, day(5))
    with pytest.raises(RunRefused, match="earlier date"):
        run(creditor, actor, day(4))


def test_payment_cures_the_episode_and_a_new_delinquency_starts_over(
    creditor, actor, one_invoice, write_file, load
):
    run(creditor, actor, day(3))
    load("payments", write_file("p.csv", "debtor_external_id,date,amount\nC1,2026-10-05,1000\n"))
    cured = run(creditor, actor, day(6))
    assert cured.episodes_cured == 1
    assert Account.objects.get().overdue is False

    text = "external_id,debtor_external_id,issue_date,due_date,amount\nF-2,C1,2026-10-10,2026-11-01,500\n"
    load("documents", write_file("d2.csv", text))
    for n in range(31, 40):
        run(creditor, actor, day(n))

    assert Episode.objects.count() == 2
    assert fired_on("aviso_1") == [day(3), datetime.date(2026, 11, 4)]
    assert Alert.objects.filter(kind="new_delinquency").count() == 2


def test_first_run_announces_only_recent_delinquencies(creditor, actor, strategy, write_file, load):
    text = (
        "external_id,debtor_external_id,name,issue_date,due_date,amount\n"
        "OLD,C1,Antigua S.A.S.,2026-01-01,2026-02-01,100\n"
        "NEW,C2,Reciente S.A.S.,2026-09-01,2026-09-28,100\n"
    )
    load("documents", write_file("d.csv", text))
    report = run(creditor, actor, day(0))
    assert report.episodes_opened == 2
    assert report.new_delinquent == 1
    assert Alert.objects.get().debtor.external_id == "C2"


def test_do_not_contact_and_manual_pauses_hold_the_steps(
    creditor, actor, one_invoice, write_file, load
):
    debtor = Debtor.objects.get(external_id="C1")
    ContactPoint.objects.create(debtor=debtor, kind="email", value="x@uno.co", do_not_contact=True)
    paused = run(creditor, actor, day(3))
    assert (paused.accounts_evaluated, paused.accounts_paused) == (1, 1)
    assert paused.actions == Counter()
    assert (
        "not to be contacted" in Account.objects.get().paused_reason
        or "contact" in Account.objects.get().paused_reason
    )

    ContactPoint.objects.update(do_not_contact=False)
    Pause.objects.create(
        creditor=creditor,
        debtor=debtor,
        reason="acuerdo verbal",
        starts_on=day(4),
        ends_on=day(6),
        created_by="t",
    )
    assert run(creditor, actor, day(5)).actions == Counter()
    # When the pause ends, a step still within the window fires.
    resumed = run(creditor, actor, day(7))
    assert resumed.actions == Counter({"llamada_1": 1})
    assert resumed.skipped == Counter({"aviso_1": 1})


def test_preventive_steps_fire_once_per_document_and_count_accounts(
    creditor, actor, strategy, write_file, load
):
    text = (
        "external_id,debtor_external_id,name,issue_date,due_date,amount\n"
        "A,C1,Uno S.A.S.,2026-09-01,2026-10-01,100\n"
        "B,C1,Uno S.A.S.,2026-09-02,2026-10-01,100\n"
        "C,C2,Dos S.A.S.,2026-09-02,2026-10-03,100\n"
    )
    load("documents", write_file("d.csv", text), as_of=datetime.date(2026, 9, 1))
    report = run(creditor, actor, day(-5))
    assert report.actions == Counter({"recordatorio_previo": 1})
    assert Action.objects.filter(step__code="recordatorio_previo").count() == 2
    report = run(creditor, actor, day(-3))
    assert report.actions == Counter({"recordatorio_previo": 1})  # C, of Dos
    run(creditor, actor, day(-2))
    assert Action.objects.filter(step__code="recordatorio_previo").count() == 3


def test_stages_only_move_forward_within_an_episode(creditor, actor, one_invoice, write_file, load):
    run(creditor, actor, day(35))
    assert Account.objects.get().stage.code == "prejuridica"
    load("payments", write_file("p.csv", "debtor_external_id,date,amount\nC1,2026-11-06,900\n"))
    run(creditor, actor, day(37))
    account = Account.objects.get()
    assert account.overdue_minor == 10000
    assert account.stage.code == "prejuridica"


def test_json_report_shape(creditor, actor, one_invoice):
    data = run(creditor, actor, day(3)).as_json()
    assert data == {
        "as_of": "2026-10-04",
        "creditor": "ACME",
        "accounts_evaluated": 1,
        "accounts_paused": 0,
        "new_delinquent": 1,
        "episodes_opened": 1,
        "episodes_cured": 0,
        "actions": {"aviso_1": 1},
        "skipped": {},
        "already_ran": False,
    }


def test_queries_do_not_grow_with_the_number_of_accounts(
    creditor, actor, strategy, write_file, load, django_assert_max_num_queries
):
    def portfolio(prefix: str, size: int) -> str:
        lines = ["external_id,debtor_external_id,name,issue_date,due_date,amount"]
        for i in range(size):
            lines.append(
                f"{prefix}{i},{prefix}C{i},Deudor {i},2026-08-01,2026-{9 + i % 2}-0{1 + i % 5},{100 + i}"
            )
        return "\n".join(lines) + "\n"

    load("documents", write_file("small.csv", portfolio("S", 3)))
    with django_assert_max_num_queries(40) as small:
        run(creditor, actor, day(10))
    load("documents", write_file("big.csv", portfolio("B", 120)))
    with django_assert_max_num_queries(40) as big:
        run(creditor, actor, day(11))
    assert len(big.captured_queries) <= len(small.captured_queries) + 2


def test_a_pending_promise_pauses_and_a_broken_one_alerts_and_resumes(creditor, actor, one_invoice):
    from decimal import Decimal

    from cartera.negotiation.services import promise_create

    run(creditor, actor, day(3))
    promise_create(
        creditor=creditor,
        debtor=Debtor.objects.get(external_id="C1"),
        amount=Decimal("1000"),
        promised_date=day(6),
        as_of=day(4),
        actor=actor,
    )
    held = run(creditor, actor, day(7))
    assert held.accounts_paused == 1 and held.actions == Counter()
    assert (
        "promise" in Account.objects.get().paused_reason
        or "promesa" in Account.objects.get().paused_reason
    )

    broken = run(creditor, actor, day(9))  # deadline day 8 (2 days of grace) has passed
    assert broken.promises == {"kept": 0, "broken": 1}
    assert Alert.objects.filter(kind="broken_promise").count() == 1
    # The strategy resumes: llamada_1 (day 7) is within the window and fires now.
    assert broken.actions == Counter({"llamada_1": 1})
    run(creditor, actor, day(9))
    assert Alert.objects.filter(kind="broken_promise").count() == 1


def test_an_account_whose_overdue_documents_are_all_disputed_is_paused(
    creditor, actor, one_invoice
):
    from cartera.negotiation.services import dispute_open
    from cartera.portfolio.models import Document

    dispute_open(
        creditor=creditor,
        debtor=Debtor.objects.get(external_id="C1"),
        documents=list(Document.objects.all()),
        category="quality",
        note="mercancía dañada",
        as_of=day(2),
        actor=actor,
    )
    report = run(creditor, actor, day(3))
    assert report.accounts_paused == 1 and report.actions == Counter()
    assert Episode.objects.filter(cured_on__isnull=True).count() == 1


def test_a_revised_strategy_acts_from_its_new_version_and_runs_record_it(
    creditor, actor, strategy, one_invoice
):
    from cartera.strategy.defaults import strategy_revise

    run(creditor, actor, day(3))
    steps = [
        {
            "code": s.code,
            "day_offset": s.day_offset + (1 if s.code == "llamada_1" else 0),
            "action": s.action,
            "channels": s.channels,
            "template_code": s.template_code,
        }
        for s in strategy.steps.all()
    ]
    revised = strategy_revise(strategy=strategy, actor=actor, steps=steps)

    assert revised.version == 2
    assert run(creditor, actor, day(7)).actions == Counter()  # llamada_1 is now day 8
    assert run(creditor, actor, day(8)).actions == Counter({"llamada_1": 1})
    assert Run.objects.get(as_of=day(8)).strategy_versions == {"estandar": 2}
    assert Action.objects.get(step__code="aviso_1").step.strategy.version == 1
    assert "v2" in Action.objects.get(step__code="llamada_1").reason


def test_rules_share_overdue_accounts_between_collectors_and_keep_hand_assignments(
    creditor, actor, strategy, write_file, load
):
    from django.contrib.auth.models import User

    from cartera.strategy.models import AssignmentRule

    ana = User.objects.create_user("ana")
    beto = User.objects.create_user("beto")
    rule = AssignmentRule.objects.create(creditor=creditor, order=1, name="Todos")
    rule.collectors.set([ana, beto])
    lines = ["external_id,debtor_external_id,name,issue_date,due_date,amount"] + [
        f"F{i},C{i},Deudor {i},2026-09-01,2026-10-01,{100 * (i + 1)}" for i in range(4)
    ]
    load("documents", write_file("d.csv", "\n".join(lines) + "\n"), as_of=datetime.date(2026, 9, 1))
    run(creditor, actor, day(7))

    per_collector = Counter(Account.objects.values_list("collector__username", flat=True))
    assert per_collector == Counter({"ana": 2, "beto": 2})
    calls = Action.objects.filter(step__code="llamada_1")
    assert {a.assigned_to.username for a in calls} == {"ana", "beto"}

    pinned = Account.objects.filter(collector=ana).first()
    pinned.collector = beto
    pinned.collector_pinned = True
    pinned.save()
    run(creditor, actor, day(8))
    pinned.refresh_from_db()
    assert pinned.collector == beto


def test_a_supervisor_confirms_the_legal_stage_and_writes_off_without_reducing_the_debt(
    creditor, actor, one_invoice
):
    from cartera.portfolio.models import Document
    from cartera.strategy.models import Stage
    from cartera.strategy.services import StageRefused, account_stage_set

    run(creditor, actor, day(95))
    account = Account.objects.get()
    assert account.stage.code == "prejuridica"
    account_stage_set(
        account=account, stage=Stage.objects.get(code="juridica"), as_of=day(96), actor=actor
    )
    run(creditor, actor, day(97))
    assert Account.objects.get().stage.code == "juridica"  # the run keeps the decision
    with pytest.raises(StageRefused, match="forward"):
        account_stage_set(
            account=account, stage=Stage.objects.get(code="prejuridica"), as_of=day(97), actor=actor
        )

    account_stage_set(
        account=account, stage=Stage.objects.get(code="castigada"), as_of=day(98), actor=actor
    )
    document = Document.objects.get()
    assert document.written_off_on == day(98)
    assert document.balance_minor == 100000


def test_the_supervisor_writes_off_from_the_admin(client, creditor, actor, one_invoice):
    from django.contrib.auth.models import User
    from django.urls import reverse

    run(creditor, actor, day(40))
    boss = User.objects.create_superuser("jefa", password="x-secret-1")
    client.force_login(boss)
    account = Account.objects.get()
    response = client.post(
        reverse("admin:strategy_account_changelist"),
        {"action": "write_off", "_selected_action": [account.pk]},
    )
    assert response.status_code == 302
    assert Account.objects.get().stage.code == "castigada"


def test_message_steps_queue_one_message_per_channel_in_the_outbox(creditor, actor, one_invoice):
    from cartera.messaging.models import Message, MessageStatus

    run(creditor, actor, day(-5))
    run(creditor, actor, day(3))
    run(creditor, actor, day(3))  # the same day again queues nothing more

    messages = {m.origin: m for m in Message.objects.all()}
    assert set(messages) == {"recordatorio_previo", "aviso_1"}
    preventive, notice = messages["recordatorio_previo"], messages["aviso_1"]
    assert preventive.channel == "email" and preventive.status == MessageStatus.QUEUED
    assert preventive.document_ids == [
        Action.objects.get(step__code="recordatorio_previo").document_id
    ]
    assert notice.document_ids == [] and notice.template_code == "aviso_1"
    assert notice.reason == Action.objects.get(step__code="aviso_1").reason


def test_a_two_channel_step_queues_two_messages_but_counts_one_account(
    creditor, actor, one_invoice, strategy
):
    from cartera.messaging.models import Message

    strategy.steps.filter(code="aviso_1").update(channels=["email", "sms"])
    report = run(creditor, actor, day(3))
    assert report.actions == Counter({"aviso_1": 1})
    assert sorted(Message.objects.values_list("channel", flat=True)) == ["email", "sms"]


def test_a_pause_on_documents_holds_them_like_a_dispute(creditor, actor, one_invoice):
    from cartera.portfolio.models import Document

    pause = Pause.objects.create(
        creditor=creditor,
        debtor=Debtor.objects.get(external_id="C1"),
        reason="revisión de la factura con el cliente",
        starts_on=day(1),
        created_by="t",
    )
    pause.documents.set(Document.objects.all())
    report = run(creditor, actor, day(3))
    assert report.accounts_paused == 1 and report.actions == Counter()
    assert "en pausa" in Account.objects.get().paused_reason


def test_a_pause_until_paid_ends_at_the_first_run_that_finds_it_paid(
    creditor, actor, one_invoice, write_file, load
):
    from cartera.portfolio.models import Document

    debtor = Debtor.objects.get(external_id="C1")
    text = "external_id,debtor_external_id,issue_date,due_date,amount\nF-2,C1,2026-09-01,2026-10-01,300\n"
    load("documents", write_file("d2.csv", text))
    pause = Pause.objects.create(
        creditor=creditor,
        debtor=debtor,
        reason="cliente gestionando pago de F-2",
        starts_on=day(1),
        ends_when="paid",
        created_by="t",
    )
    pause.documents.set(Document.objects.filter(number="F-2"))
    run(creditor, actor, day(3))
    pause.refresh_from_db()
    assert pause.ended_on is None

    payment = "debtor_external_id,document_external_id,date,amount\nC1,F-2,2026-10-05,300\n"
    load("payments", write_file("p.csv", payment))
    report = run(creditor, actor, day(6))
    pause.refresh_from_db()
    assert pause.ended_on == day(6) and report.pauses_ended == 1


def test_an_account_pause_until_nothing_is_overdue_ends_when_cured(
    creditor, actor, one_invoice, write_file, load
):
    pause = Pause.objects.create(
        creditor=creditor,
        debtor=Debtor.objects.get(external_id="C1"),
        reason="en conversación con tesorería",
        starts_on=day(1),
        ends_when="nothing_overdue",
        created_by="t",
    )
    assert run(creditor, actor, day(3)).accounts_paused == 1
    load("payments", write_file("p.csv", "debtor_external_id,date,amount\nC1,2026-10-05,1000\n"))
    run(creditor, actor, day(6))
    pause.refresh_from_db()
    assert pause.ended_on == day(6)
    assert Account.objects.get().paused_reason == ""


def test_alerts_reach_the_collector_and_every_supervisor_of_the_creditor(
    creditor, actor, one_invoice, django_user_model
):
    from django.contrib.auth.models import Group

    from cartera.portfolio.models import Membership
    from cartera.strategy.queries import alerts_for

    collector = django_user_model.objects.create_user("cobrador", password="x")
    supervisor = django_user_model.objects.create_user("jefa", password="x")
    other = django_user_model.objects.create_user("otro", password="x")
    supervisor.groups.add(Group.objects.get(name="supervisor"))
    for user in (collector, supervisor, other):
        Membership.objects.create(user=user, creditor=creditor)
    run(creditor, actor, day(1))
    Alert.objects.update(collector=collector)

    assert alerts_for(collector).count() == 1
    assert alerts_for(supervisor).count() == 1
    assert alerts_for(other).count() == 0


def test_accounts_in_the_legal_stage_are_held_from_messages(creditor, actor, one_invoice):
    from django.utils import timezone

    from cartera.messaging.gate import gate_check
    from cartera.strategy.models import Stage
    from cartera.strategy.services import account_stage_set

    run(creditor, actor, day(40))
    account = Account.objects.get()
    account_stage_set(
        account=account,
        stage=Stage.objects.get(creditor=creditor, code="juridica"),
        as_of=day(40),
        actor=actor,
    )
    verdict = gate_check(debtor=account.debtor, channel="email", at=timezone.now())
    assert not verdict.allowed and verdict.retry_at is None
    assert "Jurídica" in verdict.reason
