"""Tenancy: a user of one creditor never reaches another's data; the home page shows aging."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from cartera.core.roles import roles_ensure
from cartera.portfolio.models import Debtor, Document, Membership, Payment
from cartera.portfolio.services import creditor_create

DOCUMENTS = (
    "external_id,debtor_external_id,name,due_date,amount\n{p}-1,{p}C,Deudor {p},2026-10-01,100\n"
)


@pytest.fixture
def two_creditors(db, actor, write_file, load, creditor):
    other = creditor_create(
        code="OTRO", name="Otro S.A.", country="MX", currency="MXN", actor=actor
    )
    load("documents", write_file("acme.csv", DOCUMENTS.format(p="ACME")))
    load("documents", write_file("otro.csv", DOCUMENTS.format(p="OTRO")), target=other)
    load(
        "payments",
        write_file("pay.csv", "debtor_external_id,date,amount\nOTROC,2026-11-01,10\n"),
        target=other,
    )
    return creditor, other


@pytest.fixture
def collector_of_acme(two_creditors):
    """A collector who belongs to ACME only."""
    roles_ensure()
    user = User.objects.create_user("cobradora", password="x-secret-1", is_staff=True)
    user.groups.add(Group.objects.get(name="collector"))
    Membership.objects.create(user=user, creditor=two_creditors[0])
    return user


def test_the_admin_lists_only_the_users_creditors(client, collector_of_acme, two_creditors):
    client.force_login(collector_of_acme)
    for name in ("debtor", "document", "payment", "creditor"):
        response = client.get(reverse(f"admin:portfolio_{name}_changelist"))
        assert response.status_code == 200, name
        assert b"OTRO" not in response.content, name


def test_another_creditors_objects_cannot_be_opened_by_url(
    client, collector_of_acme, two_creditors
):
    client.force_login(collector_of_acme)
    other = two_creditors[1]
    targets = {
        "debtor": Debtor.objects.get(creditor=other).pk,
        "document": Document.objects.get(creditor=other).pk,
        "payment": Payment.objects.get(creditor=other).pk,
        "creditor": other.pk,
    }
    for name, pk in targets.items():
        response = client.get(reverse(f"admin:portfolio_{name}_change", args=[pk]))
        # The admin answers a missing object with a redirect to its index and a message.
        assert response.status_code in (302, 404), name
        assert b"OTRO" not in response.content
    own = Document.objects.get(creditor=two_creditors[0]).pk
    assert client.get(reverse("admin:portfolio_document_change", args=[own])).status_code == 200


def test_a_collector_cannot_change_documents(client, collector_of_acme, two_creditors):
    client.force_login(collector_of_acme)
    own = Document.objects.get(creditor=two_creditors[0])
    response = client.post(
        reverse("admin:portfolio_document_change", args=[own.pk]), {"number": "HACKED"}
    )
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.number == "ACME-1"


def test_aging_shows_the_creditors_format_and_only_its_creditors(
    client, collector_of_acme, two_creditors
):
    client.force_login(collector_of_acme)
    # Spanish even when the browser prefers English: the team chooses, not the browser.
    response = client.get("/aging/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    content = response.content.decode()
    assert response.status_code == 200
    assert "Acme Colombia S.A.S." in content
    assert "Otro S.A." not in content
    assert "$ 100,00" in content or "$100,00" in content
    assert "Al día" in content
    assert response["Content-Language"] == "es"


def test_aging_in_english(client, collector_of_acme, two_creditors):
    client.force_login(collector_of_acme)
    client.cookies["django_language"] = "en"
    content = client.get("/aging/").content.decode()
    assert "Current" in content and "Log out" in content


def test_the_language_selector_switches_to_english_and_back(client, collector_of_acme):
    client.force_login(collector_of_acme)
    client.post("/i18n/setlang/", {"language": "en", "next": "/aging/"})
    assert "Current" in client.get("/aging/").content.decode()
    client.post("/i18n/setlang/", {"language": "es", "next": "/aging/"})
    assert "Al día" in client.get("/aging/").content.decode()


def test_the_stylesheet_is_served_by_the_app(client, db):
    response = client.get("/static/cartera/cartera.css")
    assert response.status_code == 200
    assert b"--accent" in b"".join(response.streaming_content)


def test_home_requires_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_names_with_markup_are_escaped(client, db, actor, write_file, load, creditor):
    admin = User.objects.create_superuser("root", password="x-secret-1")
    load(
        "documents",
        write_file(
            "x.csv",
            "external_id,debtor_external_id,name,due_date,amount\nX,XC,<script>alert(1)</script>,2026-10-01,5\n",
        ),
    )
    client.force_login(admin)
    content = client.get(reverse("admin:portfolio_debtor_changelist")).content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;" in content


def test_aging_page_queries_do_not_grow_with_the_portfolio(
    client, collector_of_acme, write_file, load, django_assert_max_num_queries
):
    client.force_login(collector_of_acme)
    lines = ["external_id,debtor_external_id,name,due_date,amount"] + [
        f"Z{i},Z{i % 50},Deudor {i},2026-{1 + i % 11:02d}-10,{i + 1}" for i in range(300)
    ]
    with django_assert_max_num_queries(8):
        client.get("/aging/")
    load("documents", write_file("many.csv", "\n".join(lines) + "\n"))
    with django_assert_max_num_queries(8):
        client.get("/aging/")


def test_a_contact_point_edited_in_the_admin_is_audited(client, collector_of_acme, two_creditors):
    from cartera.core.models import AuditEvent
    from cartera.portfolio.models import ContactPoint

    debtor = Debtor.objects.get(creditor=two_creditors[0])
    contact = ContactPoint.objects.create(debtor=debtor, kind="email", value="old@acme.co")
    client.force_login(collector_of_acme)
    url = reverse("admin:portfolio_contactpoint_change", args=[contact.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({"debtor": debtor.pk, "value": "new@acme.co", "do_not_contact": "on"})
    response = client.post(url, data)

    assert response.status_code == 302, response.content[:2000]
    event = AuditEvent.objects.get(action="contactpoint.change.admin")
    assert event.user == collector_of_acme
    assert event.changes["value"] == ["old@acme.co", "new@acme.co"]
    assert event.changes["do_not_contact"] == [False, True]
    assert event.creditor_id == two_creditors[0].pk


def test_a_contact_point_cannot_be_moved_to_another_creditors_debtor(
    client, collector_of_acme, two_creditors
):
    from cartera.portfolio.models import ContactPoint

    own = Debtor.objects.get(creditor=two_creditors[0])
    foreign = Debtor.objects.get(creditor=two_creditors[1])
    contact = ContactPoint.objects.create(debtor=own, kind="email", value="a@acme.co")
    client.force_login(collector_of_acme)
    url = reverse("admin:portfolio_contactpoint_change", args=[contact.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data["debtor"] = foreign.pk

    response = client.post(url, data)

    assert response.status_code == 200  # the form comes back with an error
    contact.refresh_from_db()
    assert contact.debtor == own
