"""The strategy in the admin: edits after it acted become a new version; mistakes are
explained in words."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from cartera.messaging.models import Template
from cartera.strategy.defaults import strategy_defaults_ensure
from cartera.strategy.models import Pause, Segment, Stage, Step, Strategy
from cartera.strategy.run import run_execute


@pytest.fixture(autouse=True)
def english():
    """The admin's explanations are asserted as written in the code (English)."""
    with translation.override("en"):
        yield


@pytest.fixture
def strategy(creditor, actor):
    return strategy_defaults_ensure(creditor=creditor, actor=actor)


@pytest.fixture
def boss(db, client):
    user = User.objects.create_superuser("jefa", password="x-secret-1")
    client.force_login(user)
    return user


def form_data(response: Any) -> dict[str, Any]:
    """What the browser would post back unchanged: the main form and every inline formset."""
    data: dict[str, Any] = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is not None:
            data[name] = value.pk if hasattr(value, "pk") else value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for step_form in formset.forms:
            for name, field in step_form.fields.items():
                value = step_form.initial.get(name, field.initial)
                if value is None:
                    continue
                if hasattr(value, "pk"):
                    value = value.pk
                data[step_form.add_prefix(name)] = value
    return data


def test_editing_a_strategy_that_acted_saves_a_new_version(
    client, boss, creditor, actor, strategy, write_file, load
):
    text = "external_id,debtor_external_id,name,issue_date,due_date,amount\nF-1,C1,Uno,2026-09-01,2026-10-01,1000\n"
    load("documents", write_file("d.csv", text), as_of=datetime.date(2026, 9, 1))
    run_execute(creditor=creditor, as_of=datetime.date(2026, 10, 4), actor=actor)
    url = reverse("admin:strategy_strategy_change", args=[strategy.pk])
    data = form_data(client.get(url))
    index = next(
        key.split("-")[1]
        for key, value in data.items()
        if key.endswith("-code") and value == "aviso_2"
    )
    data[f"steps-{index}-day_offset"] = 12

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    old, new = Strategy.objects.filter(code="estandar").order_by("version")
    assert (old.version, old.active, new.version, new.active) == (1, False, 2, True)
    assert old.steps.get(code="aviso_2").day_offset == 15
    assert new.steps.get(code="aviso_2").day_offset == 12
    assert new.steps.count() == old.steps.count()
    assert response["Location"].endswith(f"/{new.pk}/change/")


def test_a_strategy_that_never_acted_is_edited_in_place(client, boss, strategy):
    url = reverse("admin:strategy_strategy_change", args=[strategy.pk])
    data = form_data(client.get(url))
    data["name"] = "Estrategia comercial"
    assert client.post(url, data).status_code == 302
    assert Strategy.objects.get().name == "Estrategia comercial"


def step(strategy: Strategy, **fields: Any) -> Step:
    values: dict[str, Any] = {"code": "paso", "day_offset": 5, "action": "message"}
    values.update(fields)
    return Step(strategy=strategy, **values)


def messages_of(error: ValidationError) -> str:
    return " ".join(m for ms in error.message_dict.values() for m in ms)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"channels": []}, "needs at least one channel"),
        ({"channels": ["fax"]}, "Choose channels among"),
        ({"channels": ["email"], "template_code": "no_existe"}, "no message template no_existe"),
        ({"action": "call", "channels": ["sms"]}, "Only message steps have channels"),
        ({"action": "stage", "channels": []}, "Choose the stage"),
        ({"action": "call", "day_offset": 9000}, "between -365"),
    ],
)
def test_step_mistakes_are_explained(strategy, fields, expected):
    with pytest.raises(ValidationError) as caught:
        step(strategy, **fields).full_clean(exclude=["strategy"])
    assert expected in messages_of(caught.value)


def test_a_message_step_with_its_template_is_accepted(creditor, strategy):
    Template.objects.get_or_create(
        creditor=creditor,
        code="aviso_especial",
        channel="sms",
        language="es",
        defaults={"body_text": "Hola {{ debtor.name }}"},
    )
    step(strategy, channels=["sms"], template_code="aviso_especial").full_clean()


def test_segment_and_stage_mistakes_are_explained(creditor, strategy):
    segment = Segment(
        creditor=creditor, code="altos", name="Altos", order=1, min_dpd=60, max_dpd=30
    )
    with pytest.raises(ValidationError, match="upper limit is below"):
        segment.full_clean()
    stage = Stage(creditor=creditor, code="temprana", name="Temprana", order=9, min_dpd=5)
    with pytest.raises(ValidationError, match="must start later"):
        stage.full_clean()


def test_a_pause_cannot_end_before_it_starts(creditor, strategy, write_file, load):
    from cartera.portfolio.models import Debtor

    load("debtors", write_file("d.csv", "external_id,name\nC1,Uno\n"))
    pause = Pause(
        creditor=creditor,
        debtor=Debtor.objects.get(),
        reason="x",
        starts_on=datetime.date(2026, 11, 10),
        ends_on=datetime.date(2026, 11, 1),
        created_by="t",
    )
    with pytest.raises(ValidationError, match="cannot end before it starts"):
        pause.full_clean()
