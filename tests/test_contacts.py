"""Contacts made by hand are always logged and flagged when they broke a rule; a supervisor
may send a message the gate refused, with a written justification."""

from __future__ import annotations

import datetime
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import translation

from cartera.core.audit import Actor
from cartera.core.models import AuditEvent
from cartera.messaging.contacts import contact_log, gate_override
from cartera.messaging.models import ContactRule, GateOverride, Message, MessageStatus
from cartera.messaging.services import message_queue
from cartera.portfolio.models import Activity, ContactPoint, Creditor, Debtor, Membership
from cartera.portfolio.services import creditor_create

BOGOTA = ZoneInfo("America/Bogota")
NOW = datetime.datetime(2026, 11, 25, 17, 0, tzinfo=BOGOTA)  # a Wednesday afternoon


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=BOGOTA)


def debtor_of(creditor: Creditor, code: str = "D1") -> Debtor:
    return Debtor.objects.create(
        creditor=creditor,
        external_id=code,
        name=f"Debtor {code}",
        kind="person",
        country=creditor.country,
        payment_reference=f"R-{code}",
    )


@pytest.fixture
def debtor(creditor: Creditor) -> Debtor:
    debtor = debtor_of(creditor)
    ContactPoint.objects.create(
        debtor=debtor, kind="mobile", value="+573001112233", consent_call=True, consent_sms=True
    )
    return debtor


def user_in(group: str | None, creditor: Creditor | None, name: str, **flags: Any) -> User:
    user = User.objects.create_user(username=name, password="x", **flags)
    if group:
        user.groups.add(Group.objects.get(name=group))
    if creditor is not None:
        Membership.objects.create(user=user, creditor=creditor)
    return user


# -- logged contacts ----------------------------------------------------------------------------


def test_a_call_on_sunday_is_logged_and_flagged(debtor, actor):
    activity = contact_log(
        debtor=debtor, kind="call", at=at(22, 10), actor=actor, outcome="no_answer", reached=False
    )
    activity.refresh_from_db()
    assert activity.is_contact and activity.reached is False
    assert activity.outcome == "no_answer"
    name = ContactRule.objects.get(country="CO", active=True).name
    assert activity.rule_breach == f"{name}: no contact on Sundays"
    event = AuditEvent.objects.get(action="activity.log")
    assert event.object_id == str(activity.pk)
    assert event.changes["rule_breach"] == activity.rule_breach


def test_a_call_within_the_rules_is_not_flagged_and_the_next_one_that_day_is(debtor, actor):
    first = contact_log(debtor=debtor, kind="call", at=at(24, 10), actor=actor, reached=True)
    assert first.rule_breach == ""
    second = contact_log(debtor=debtor, kind="call", at=at(24, 16), actor=actor)
    assert "at most 1 contact per day" in second.rule_breach
    assert Activity.objects.filter(debtor=debtor).count() == 2


def test_a_call_without_authorization_is_flagged(creditor, actor):
    silent = debtor_of(creditor, "D9")
    activity = contact_log(debtor=silent, kind="call", at=at(24, 10), actor=actor)
    assert "only channels the debtor authorized" in activity.rule_breach


def test_notes_are_never_contacts(debtor, actor):
    note = contact_log(debtor=debtor, kind="note", at=at(22, 10), actor=actor, note="called back")
    assert not note.is_contact and note.rule_breach == ""


def test_logging_refuses_nonsense(debtor, actor):
    with pytest.raises(ValueError, match="not a kind of activity"):
        contact_log(debtor=debtor, kind="fax", at=at(24, 10), actor=actor)
    with pytest.raises(ValueError, match="before it happens"):
        contact_log(debtor=debtor, kind="call", at=NOW + datetime.timedelta(hours=1), actor=actor)
    with pytest.raises(ValueError, match="time zone"):
        contact_log(debtor=debtor, kind="call", at=datetime.datetime(2026, 11, 24, 10), actor=actor)
    assert not Activity.objects.exists()


def test_the_collector_who_logs_is_on_the_activity(debtor, creditor):
    collector = user_in("collector", creditor, "carla")
    activity = contact_log(
        debtor=debtor, kind="visit", at=at(24, 10), actor=Actor.for_user(collector)
    )
    assert activity.user == collector
    assert "visits" in activity.rule_breach  # Colombia: visits need an authorization


# -- overrides ----------------------------------------------------------------------------------


@pytest.fixture
def refused(debtor: Debtor, actor: Actor) -> Message:
    message = message_queue(
        debtor=debtor, channel="sms", template_code="aviso_1", actor=actor, key="m-1"
    )
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.BLOCKED,
        status_reason="Colombia – Ley 2300 de 2023, art. 3: at most 1 contact per day",
        next_attempt_at=at(26, 7),
    )
    message.refresh_from_db()
    return message


def test_a_supervisor_overrides_with_a_justification(refused, creditor):
    boss = user_in("supervisor", creditor, "sofia")
    override = gate_override(
        message=refused,
        justification="  The debtor asked us to send the payment details today.  ",
        actor=Actor.for_user(boss),
    )
    assert override.user == boss
    assert override.refused_because.endswith("at most 1 contact per day")
    assert override.justification == "The debtor asked us to send the payment details today."
    assert refused.status == MessageStatus.QUEUED
    assert refused.next_attempt_at == NOW
    assert "sofia" in refused.status_reason
    assert refused.overrides.get() == override
    event = AuditEvent.objects.get(action="message.gate_override")
    assert event.user == boss and event.changes["status"] == ["blocked", "queued"]
    note = Activity.objects.get(debtor=refused.debtor, kind="system")
    assert note.message_id == refused.pk and not note.is_contact
    assert "at most 1 contact per day" in note.note


def test_admins_and_superusers_may_override(refused, creditor):
    admin_user = user_in("admin", creditor, "ana")
    gate_override(message=refused, justification="Court order", actor=Actor.for_user(admin_user))
    Message.objects.filter(pk=refused.pk).update(status=MessageStatus.SCHEDULED)
    root = user_in(None, None, "root", is_superuser=True, is_staff=True)
    gate_override(message=refused, justification="Again", actor=Actor.for_user(root))
    assert GateOverride.objects.filter(message=refused).count() == 2


def test_who_may_not_override(refused, creditor, actor):
    other = creditor_create(code="OTRO", name="Otro", country="CO", currency="COP", actor=actor)
    for user in (
        user_in("collector", creditor, "carlos"),
        user_in("auditor", creditor, "aurora"),
        user_in("supervisor", other, "sergio"),  # a supervisor of another creditor
    ):
        with pytest.raises(PermissionDenied):
            gate_override(message=refused, justification="please", actor=Actor.for_user(user))
    with pytest.raises(PermissionDenied):
        gate_override(message=refused, justification="please", actor=actor)  # the system
    assert not GateOverride.objects.exists()
    refused.refresh_from_db()
    assert refused.status == MessageStatus.BLOCKED


def test_an_override_needs_words_and_a_refused_message(refused, creditor):
    boss = Actor.for_user(user_in("supervisor", creditor, "sofia"))
    with pytest.raises(ValueError, match="Write why"):
        gate_override(message=refused, justification="   ", actor=boss)
    Message.objects.filter(pk=refused.pk).update(status=MessageStatus.SENT)
    with pytest.raises(ValueError, match="held back"):
        gate_override(message=refused, justification="send it", actor=boss)
    assert not GateOverride.objects.exists()


# -- admin pages --------------------------------------------------------------------------------


def test_the_rules_admin_shows_counsel_flags_and_explains_mistakes(client, db):
    root = user_in(None, None, "root", is_superuser=True, is_staff=True)
    client.force_login(root)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    listing = client.get(reverse("admin:messaging_contactrule_changelist"))
    assert listing.status_code == 200
    assert b"verify with counsel" in listing.content
    assert "Mon–Fri 07:00–19:00 · Sat 08:00–15:00".encode() in listing.content
    colombia = ContactRule.objects.get(country="CO", active=True)
    url = reverse("admin:messaging_contactrule_change", args=[colombia.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
    data["hours"] = json.dumps({"1": [["19:00", "07:00"]]})
    data["channel_caps"] = json.dumps({"phone": {"week": 1}})
    for name in ("active", "verify_with_counsel", "no_holidays", "one_channel_per_week"):
        data[name] = "on" if data.get(name) else ""
    for name in ("consent_required", "counts_reached_only"):
        data[name] = "on" if data.get(name) else ""
    data = {name: value for name, value in data.items() if value != ""}
    response = client.post(url, data)
    assert response.status_code == 200
    assert b"ends before it starts" in response.content
    assert b"is not a channel class" in response.content
    data["hours"] = json.dumps({"1": [["07:00", "18:00"]]})
    data["channel_caps"] = "{}"
    response = client.post(url, data)
    assert response.status_code == 302
    colombia.refresh_from_db()
    assert colombia.hours == {"1": [["07:00", "18:00"]]}
    assert AuditEvent.objects.filter(action="contactrule.change.admin").exists()
    assert b"edited" in client.get(reverse("admin:messaging_contactrule_changelist")).content
    restored = client.post(
        reverse("admin:messaging_contactrule_changelist"),
        {"action": "restore_shipped", "_selected_action": [colombia.pk]},
    )
    assert restored.status_code == 302
    colombia.refresh_from_db()
    assert colombia.hours["6"] == [["08:00", "15:00"]]
    assert AuditEvent.objects.filter(action="contactrule.restore").exists()


def test_the_overrides_admin_shows_only_the_users_creditors(client, refused, creditor, actor):
    other = creditor_create(code="OTRO", name="Otro", country="CO", currency="COP", actor=actor)
    theirs = message_queue(
        debtor=debtor_of(other, "X1"), channel="sms", template_code="aviso_1", actor=actor, key="x"
    )
    Message.objects.filter(pk=theirs.pk).update(status="blocked", status_reason="their reason")
    root = user_in(None, None, "root", is_superuser=True, is_staff=True)
    gate_override(message=refused, justification="ours justified", actor=Actor.for_user(root))
    gate_override(message=theirs, justification="theirs justified", actor=Actor.for_user(root))
    boss = user_in("supervisor", creditor, "sofia", is_staff=True)
    boss.user_permissions.add(Permission.objects.get(codename="view_gateoverride"))
    client.force_login(boss)
    response = client.get(reverse("admin:messaging_gateoverride_changelist"))
    assert response.status_code == 200
    assert b"ours justified" in response.content
    assert b"theirs justified" not in response.content
    mine = GateOverride.objects.get(message=refused)
    page = client.get(reverse("admin:messaging_gateoverride_change", args=[mine.pk]))
    assert page.status_code == 200 and b"Save" not in page.content
    foreign = GateOverride.objects.get(message=theirs)
    missing = client.get(reverse("admin:messaging_gateoverride_change", args=[foreign.pk]))
    assert missing.status_code == 302  # the admin's "does not exist" redirect
