"""The opt-out link: a signed page without login that records the debtor's choice."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.test import Client

from cartera.core.models import ActorType, AuditEvent
from cartera.messaging.optout import SALT, optout_parse, optout_token, optout_url
from cartera.portfolio.models import Activity, ContactPoint
from cartera.portfolio.services import creditor_create
from tests.test_rendering import make_debtor


@pytest.fixture
def email_point(creditor) -> ContactPoint:
    debtor = make_debtor(creditor, name="Ferretería El Tornillo S.A.S.")
    return ContactPoint.objects.create(
        debtor=debtor, kind="email", value="compras@tornillo.co", consent_email=True
    )


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_the_link_is_absolute_signed_and_names_no_plain_id(email_point, settings):
    url = optout_url(contact_point=email_point, channel="email")
    assert url.startswith("http://127.0.0.1:8000/m/optout/")
    settings.CARTERA_PUBLIC_URL = "https://cobranza.acme.co"
    url = optout_url(contact_point=email_point, channel="email")
    assert url.startswith("https://cobranza.acme.co/m/optout/")
    token = url.rsplit("/", 2)[1]
    assert optout_parse(token).contact_point_id == email_point.pk
    # Signed with a salt of its own: a value signed for anything else does not pass.
    assert signing.Signer(salt=SALT).unsign(token)
    with pytest.raises(signing.BadSignature):
        signing.Signer().unsign(token)


def test_the_debtor_confirms_and_the_consent_is_withdrawn(email_point):
    client = Client(enforce_csrf_checks=True)
    url = path_of(optout_url(contact_point=email_point, channel="email"))
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert page.headers["Content-Language"] == "es"
    assert "Acme Colombia S.A.S." in html
    assert "co•••••@tornillo.co" in html  # enough for its owner to recognize, no more
    assert "compras@tornillo.co" not in html
    assert "cartera/cartera.css" in html and "messaging/optout.css" in html
    token = csrf_token(html)
    done = client.post(url, {"csrfmiddlewaretoken": token})
    assert done.status_code == 200
    email_point.refresh_from_db()
    assert email_point.consent_email is False
    assert email_point.consent_sms is None  # only the channel of the link
    event = AuditEvent.objects.get(action="contactpoint.optout")
    assert event.actor_type == ActorType.DEBTOR
    assert event.actor_label == f"debtor {email_point.debtor.external_id} (opt-out link)"
    assert event.changes == {"consent_email": [True, False], "channel": "email"}
    assert event.creditor_id == email_point.debtor.creditor_id
    assert Activity.objects.filter(debtor=email_point.debtor, outcome="opt_out").count() == 1
    # Coming back says it is done, and confirming again records nothing new.
    again = client.get(url)
    assert again.status_code == 200
    assert "csrfmiddlewaretoken" not in again.content.decode()  # nothing left to confirm
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 200
    assert AuditEvent.objects.filter(action="contactpoint.optout").count() == 1


def test_a_post_without_the_csrf_token_is_refused(email_point):
    client = Client(enforce_csrf_checks=True)
    url = path_of(optout_url(contact_point=email_point, channel="email"))
    assert client.post(url).status_code == 403
    email_point.refresh_from_db()
    assert email_point.consent_email is True
    assert not AuditEvent.objects.filter(action="contactpoint.optout").exists()


def test_a_tampered_link_is_refused_with_a_clear_page(email_point):
    client = Client()
    token = optout_token(contact_point_id=email_point.pk, channel="email")
    forged = str(email_point.pk + 1) + token[len(str(email_point.pk)) :]
    for bad in (forged, token[:-3], "nothing-here", token.replace(":", ":x")):
        response = client.get(f"/m/optout/{bad}/")
        assert response.status_code == 400, bad
        assert "no es válido" in response.content.decode()
        assert client.post(f"/m/optout/{bad}/").status_code == 400
    email_point.refresh_from_db()
    assert email_point.consent_email is True


def test_a_link_to_a_contact_point_that_is_gone_is_404(email_point):
    token = optout_token(contact_point_id=email_point.pk + 1000, channel="email")
    response = Client().get(f"/m/optout/{token}/")
    assert response.status_code == 404
    assert "no es válido" in response.content.decode()


def test_an_sms_link_withdraws_the_sms_consent(creditor):
    debtor = make_debtor(creditor)
    mobile = ContactPoint.objects.create(debtor=debtor, kind="mobile", value="+573001234567")
    client = Client(enforce_csrf_checks=True)
    url = path_of(optout_url(contact_point=mobile, channel="sms"))
    page = client.get(url).content.decode()
    assert "••••••••4567" in page
    client.post(url, {"csrfmiddlewaretoken": csrf_token(page)})
    mobile.refresh_from_db()
    assert (mobile.consent_sms, mobile.consent_email) == (False, None)


def test_the_page_speaks_the_creditors_language(db, actor):
    creditor = creditor_create(
        code="US1", name="Globex Inc.", country="US", currency="USD", actor=actor
    )
    point = ContactPoint.objects.create(
        debtor=make_debtor(creditor, name="Initech"), kind="email", value="ap@initech.com"
    )
    response = Client().get(path_of(optout_url(contact_point=point, channel="email")))
    assert response.headers["Content-Language"] == "en"
    assert "Yes, unsubscribe me" in response.content.decode()
