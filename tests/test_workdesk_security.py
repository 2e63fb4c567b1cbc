"""Who may do what: tenancy on every URL, roles on every action, the login page with its
throttling, the idle timeout and CSRF."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import URLPattern, reverse

from cartera.core.audit import Actor
from cartera.messaging.models import Message, MessageStatus
from cartera.negotiation.services import dispute_open
from cartera.portfolio.models import ContactPoint, Debtor
from cartera.portfolio.services import creditor_create
from cartera.strategy.models import Account, Run
from cartera.workdesk import urls as workdesk_urls
from cartera.workdesk.models import Callback, Target
from cartera.workdesk.services import callback_schedule
from tests.workdesk_support import NOW, PASSWORD, accounts_of, person

# The workdesk fixtures: clock, team, portfolio.
pytest_plugins = ["tests.workdesk_fixtures"]


@pytest.fixture
def acme_objects(portfolio, team, settings, tmp_path):
    """One of every kind of object a workdesk URL names, all of Acme's."""
    settings.CARTERA_HOME = tmp_path  # the dispute's file
    debtor = accounts_of(team["cobradora"])[0].debtor
    callback = callback_schedule(
        debtor=debtor, due_at=NOW + datetime.timedelta(hours=1), actor=Actor.system("t")
    )
    message = Message.objects.create(
        creditor=portfolio,
        debtor=debtor,
        channel="sms",
        template_code="aviso_1",
        idempotency_key="sec-1",
        origin="t",
        status=MessageStatus.BLOCKED,
        status_reason="rule",
    )
    dispute = dispute_open(
        creditor=portfolio,
        debtor=debtor,
        documents=list(debtor.documents.all()[:1]),
        category="other",
        note="",
        as_of=NOW.date(),
        actor=Actor.system("t"),
        attachments=[("nota.txt", b"entregado incompleto")],
    )
    return {
        "debtor_id": debtor.pk,
        "callback_id": callback.pk,
        "point_id": ContactPoint.objects.filter(debtor=debtor).first().pk,
        "message_id": message.pk,
        "run_id": Run.objects.get(creditor=portfolio).pk,
        "dispute_id": dispute.pk,
        "attachment_id": dispute.attachments.get().pk,
    }


@pytest.fixture
def outsider(portfolio, actor):
    """A supervisor of another creditor: every permission, none of Acme's data."""
    other = creditor_create(
        code="OTRO", name="Otro S.A.", country="MX", currency="MXN", actor=actor
    )
    return person("ajena", "supervisor", other)


def workdesk_routes():
    return [p for p in workdesk_urls.urlpatterns if isinstance(p, URLPattern)]


def test_every_workdesk_url_refuses_another_creditors_objects(client, acme_objects, outsider):
    client.force_login(outsider)
    tried = 0
    for pattern in workdesk_routes():
        names = list(pattern.pattern.converters)
        if not names:
            continue
        url = reverse(f"workdesk:{pattern.name}", kwargs={n: acme_objects[n] for n in names})
        answer = client.get(url)
        if answer.status_code == 405:
            answer = client.post(url, {"note": "x", "justification": "x", "decision": "cancel"})
        assert answer.status_code in (403, 404), (pattern.name, answer.status_code)
        tried += 1
    assert tried >= 12
    message = Message.objects.get(pk=acme_objects["message_id"])
    assert message.status == MessageStatus.BLOCKED
    assert Callback.objects.get(pk=acme_objects["callback_id"]).done_at is None


def test_lists_show_nothing_of_another_creditor(client, portfolio, team, outsider):
    acme_name = accounts_of(team["cobradora"])[0].debtor.name
    client.force_login(outsider)
    for name in ("worklist", "team", "delinquents", "runs", "waiting", "approvals"):
        response = client.get(reverse(f"workdesk:{name}"), {"collector": "all"})
        assert response.status_code == 200, name
        assert acme_name not in response.content.decode(), name
    found = client.get(reverse("workdesk:worklist"), {"q": acme_name})
    assert found.context["results"] == []
    for name in ("team", "targets", "assignment", "runs"):
        response = client.get(reverse(f"workdesk:{name}"), {"creditor": portfolio.pk})
        assert response.status_code == 404, name
    assert client.post(reverse("workdesk:rebalance"), {"creditor": portfolio.pk}).status_code == 404


def pages(objects):
    return [
        reverse("home"),
        reverse("workdesk:worklist"),
        reverse("workdesk:account", args=[objects["debtor_id"]]),
        reverse("workdesk:team"),
        reverse("workdesk:targets"),
        reverse("workdesk:delinquents"),
        reverse("workdesk:runs"),
        reverse("workdesk:run", args=[objects["run_id"]]),
        reverse("workdesk:waiting"),
        reverse("workdesk:assignment"),
        reverse("workdesk:approvals"),
    ]


def writes(objects, portfolio, team):
    debtor = objects["debtor_id"]
    return [
        (reverse("workdesk:contact", args=[debtor]), {"contact-channel": "call"}),
        (reverse("workdesk:promise", args=[debtor]), {"promise-amount": "1"}),
        (reverse("workdesk:callback", args=[debtor]), {"callback-due_at": "2026-11-25T10:00"}),
        (reverse("workdesk:callback_done", args=[debtor, objects["callback_id"]]), {}),
        (reverse("workdesk:message_preview", args=[debtor]), {}),
        (reverse("workdesk:message_send", args=[debtor]), {}),
        (reverse("workdesk:dispute", args=[debtor]), {}),
        (reverse("workdesk:contact_point_add", args=[debtor]), {"point-value": "x"}),
        (
            reverse("workdesk:contact_point_correct", args=[debtor, objects["point_id"]]),
            {},
        ),
        (
            reverse("workdesk:targets"),
            {"creditor": portfolio.pk, "month": "2026-11-01", "t_team_promises_made": "9"},
        ),
        (
            reverse("workdesk:assignment"),
            {
                "creditor": portfolio.pk,
                "from_collector": "any",
                "count": "5",
                "to_collector": str(team["cobradora"].pk),
                "confirm": "1",
            },
        ),
        (reverse("workdesk:rebalance"), {"creditor": portfolio.pk}),
        (reverse("workdesk:override", args=[objects["message_id"]]), {"justification": "x"}),
        (reverse("workdesk:decide", args=[objects["message_id"]]), {"decision": "cancel"}),
    ]


def test_an_auditor_reads_everything_and_changes_nothing(client, acme_objects, portfolio, team):
    client.force_login(team["auditora"])
    for url in pages(acme_objects):
        assert client.get(url).status_code == 200, url
    collectors_before = dict(Account.objects.values_list("pk", "collector_id"))
    for url, data in writes(acme_objects, portfolio, team):
        assert client.post(url, data).status_code == 403, url
    assert dict(Account.objects.values_list("pk", "collector_id")) == collectors_before
    assert not Target.objects.exists()
    assert Message.objects.get(pk=acme_objects["message_id"]).status == MessageStatus.BLOCKED


def test_a_collector_cannot_manage_the_team(client, acme_objects, portfolio, team):
    client.force_login(team["cobradora"])
    for name in ("team", "targets", "delinquents", "runs", "waiting", "assignment", "approvals"):
        assert client.get(reverse(f"workdesk:{name}")).status_code == 403, name
    managing = writes(acme_objects, portfolio, team)[9:]
    before = dict(Account.objects.values_list("pk", "collector_id"))
    for url, data in managing:
        assert client.post(url, data).status_code == 403, url
    assert dict(Account.objects.values_list("pk", "collector_id")) == before


def test_a_user_without_a_role_or_a_session_is_refused(client, portfolio, acme_objects):
    url = reverse("workdesk:account", args=[acme_objects["debtor_id"]])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/?next=")
    assert (
        client.post(reverse("workdesk:contact", args=[acme_objects["debtor_id"]])).status_code
        == 302
    )
    nobody = person("sin_rol", "collector", portfolio)
    nobody.groups.clear()
    client.force_login(nobody)
    assert client.get(url).status_code == 403


def test_an_in_page_action_after_the_session_ended_goes_to_the_login_page(
    client, portfolio, acme_objects
):
    debtor = acme_objects["debtor_id"]
    response = client.post(
        reverse("workdesk:callback", args=[debtor]),
        {},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver/a/{debtor}/?wl=reason%3Dtask",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/login/?next=%2Fa%2F{debtor}%2F%3Fwl%3Dreason%253Dtask"


def test_login_page_and_throttling(client, portfolio, team, settings):
    login = reverse("workdesk:login")
    assert client.get(login).templates[0].name == "workdesk/login.html"
    ok = client.post(login, {"username": "cobradora", "password": PASSWORD})
    assert ok.status_code == 302 and ok["Location"] == "/"
    client.logout()

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = client.post(login, {"username": "cobrador", "password": "wrong"})
        assert wrong.status_code == 200  # the form again, with the error
    locked = client.post(login, {"username": "cobrador", "password": "wrong"})
    assert locked.status_code == 429
    assert "workdesk/locked.html" in [t.name for t in locked.templates]
    # Locked: even the right password is refused now…
    assert client.post(login, {"username": "cobrador", "password": PASSWORD}).status_code == 429
    # …but only for that user: a colleague at the same desk still logs in.
    assert client.post(login, {"username": "cobradora", "password": PASSWORD}).status_code == 302
    client.logout()
    # After the cool-off the user may try again.
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=16)
    with time_machine.travel(later, tick=False):
        again = client.post(login, {"username": "cobrador", "password": PASSWORD})
    assert again.status_code == 302


def test_an_idle_session_ends(client, portfolio, team):
    client.force_login(team["cobradora"])
    assert client.get(reverse("workdesk:worklist")).status_code == 200
    with time_machine.travel(NOW + datetime.timedelta(minutes=29), tick=False):
        assert client.get(reverse("workdesk:worklist")).status_code == 200
    with time_machine.travel(NOW + datetime.timedelta(minutes=29 + 31), tick=False):
        response = client.get(reverse("workdesk:worklist"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_every_form_needs_the_csrf_token_which_htmx_sends_as_a_header(
    portfolio, team, acme_objects
):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(team["cobradora"])
    url = reverse(
        "workdesk:callback_done", args=[acme_objects["debtor_id"], acme_objects["callback_id"]]
    )
    assert browser.post(url).status_code == 403
    page = browser.get(reverse("workdesk:account", args=[acme_objects["debtor_id"]]))
    token = page.context["csrf_token"]
    assert f'"X-CSRFToken": "{token}"' in page.content.decode()  # hx-headers on <body>
    done = browser.post(url, HTTP_X_CSRFTOKEN=str(token), HTTP_HX_REQUEST="true")
    assert done.status_code == 200
    assert Callback.objects.get(pk=acme_objects["callback_id"]).done_at is not None


def test_a_debtor_id_of_no_one_is_404(client, portfolio, team):
    client.force_login(team["supervisora"])
    missing = (Debtor.objects.order_by("-pk").first().pk or 0) + 1000
    assert client.get(reverse("workdesk:account", args=[missing])).status_code == 404
