"""Disputes in the workdesk: opening one from the account page with the creditor's own
categories, an owner, an amount and a file; the dispute's page (documents, files, history)
and its actions (add a file, change the owner, resolve); the supervisors' list of open
disputes, overdue first; who may do what, and another creditor's disputes."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cartera.core.audit import Actor
from cartera.core.models import AuditEvent
from cartera.negotiation.models import (
    Dispute,
    DisputeAttachment,
    DisputeCategoryOption,
    DisputeDocument,
)
from cartera.negotiation.services import dispute_open
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import Debtor, Document, EntryKind
from cartera.portfolio.services import creditor_create
from cartera.strategy.models import Account
from cartera.strategy.run import run_execute
from tests.workdesk_support import AS_OF, NOW, accounts_of, person

# The workdesk fixtures: clock, team, portfolio.
pytest_plugins = ["tests.workdesk_fixtures"]

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def home(settings, tmp_path: Path) -> Path:
    """Attachments go under a fresh CARTERA_HOME."""
    settings.CARTERA_HOME = tmp_path
    return tmp_path


@pytest.fixture
def debtor(portfolio, team) -> Debtor:
    """One of cobradora's accounts: an invoice overdue, another not yet due."""
    return accounts_of(team["cobradora"])[0].debtor


def overdue(debtor: Debtor) -> Document:
    return debtor.documents.order_by("due_date").first()


def english(client, user):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def opened(debtor, *documents, owner=None, as_of=AS_OF, category="price", **kwargs) -> Dispute:
    return dispute_open(
        creditor=debtor.creditor,
        debtor=debtor,
        documents=list(documents) or [overdue(debtor)],
        category=category,
        note=kwargs.pop("note", "dice que el precio no es el pactado"),
        as_of=as_of,
        actor=Actor.system("tests"),
        owner=owner,
        **kwargs,
    )


def page(client, dispute):
    return client.get(reverse("workdesk:dispute_detail", args=[dispute.pk]))


def resolve(client, dispute, **data):
    return client.post(
        reverse("workdesk:dispute_resolve", args=[dispute.pk]),
        {f"resolve-{k}": v for k, v in data.items()},
    )


# -- opening a dispute from the account page ------------------------------------------------------


def test_a_collector_opens_a_dispute_in_a_configurable_category_with_a_file(
    client, debtor, team, home
):
    creditor = debtor.creditor
    DisputeCategoryOption.objects.create(
        creditor=creditor, code="wrong_customer", label="Wrong customer", sla_days=5
    )
    DisputeCategoryOption.objects.create(code="duplicate", label="Duplicate", active=False)
    english(client, team["cobradora"])
    form = client.get(reverse("workdesk:account", args=[debtor.pk])).context["forms"]["dispute"]
    offered = dict(form.fields["category"].choices)
    assert offered["wrong_customer"] == "Wrong customer" and "duplicate" not in offered
    assert team["supervisora"].pk in dict(form.fields["owner"].choices)
    document = overdue(debtor)

    response = client.post(
        reverse("workdesk:dispute", args=[debtor.pk]),
        {
            "dispute-documents": [document.pk],
            "dispute-category": "wrong_customer",
            "dispute-amount": "500,00",
            "dispute-owner": team["supervisora"].pk,
            "dispute-note": "la factura es de otra sede",
            "dispute-attachment": SimpleUploadedFile("remision.pdf", PDF, "application/pdf"),
        },
    )

    assert response.status_code == 302
    dispute = Dispute.objects.get(debtor=debtor)
    assert (dispute.category, dispute.owner, dispute.amount_minor) == (
        "wrong_customer",
        team["supervisora"],
        50_000,
    )
    assert dispute.sla_due_on == AS_OF + datetime.timedelta(days=5)  # the category's days
    assert dispute.opened_by == team["cobradora"]
    assert list(dispute.documents.all()) == [document]
    # The file is kept where every dispute attachment is, under CARTERA_HOME/attachments.
    attachment = DisputeAttachment.objects.get(dispute=dispute)
    stored = Path(attachment.file.path)
    assert stored.is_relative_to(home / "attachments" / "disputes" / str(creditor.pk))
    assert stored.read_bytes() == PDF and attachment.name == "remision.pdf"
    # The account page names the dispute by its category and links to its page.
    account = client.get(response["Location"]).content.decode()
    assert reverse("workdesk:dispute_detail", args=[dispute.pk]) in account
    assert "Wrong customer" in account
    assert "Dispute opened: Wrong customer" in account  # the timeline, too
    shown = page(client, dispute).content.decode()
    for text in ("Wrong customer", document.number, "remision.pdf", "la factura es de otra sede"):
        assert text in shown, text


def test_a_deadline_can_be_set_and_the_old_fields_alone_still_open_one(client, debtor, team):
    english(client, team["cobradora"])
    first, later = list(debtor.documents.order_by("due_date"))
    due = AS_OF + datetime.timedelta(days=3)
    with_date = client.post(
        reverse("workdesk:dispute", args=[debtor.pk]),
        {"dispute-documents": [first.pk], "dispute-category": "quality", "dispute-due_on": due},
    )
    assert with_date.status_code == 302
    assert Dispute.objects.get(links__document=first).sla_due_on == due
    before = client.post(
        reverse("workdesk:dispute", args=[debtor.pk]),
        {
            "dispute-documents": [later.pk],
            "dispute-category": "quality",
            "dispute-due_on": AS_OF - datetime.timedelta(days=1),
        },
    )
    assert before.status_code == 422
    assert "before it is opened" in before.content.decode()
    assert not Dispute.objects.filter(links__document=later).exists()


@pytest.mark.parametrize(
    ("name", "content", "limit", "says"),
    [
        ("big.pdf", PDF + b"x" * 2000, 1000, "is too big"),
        ("virus.exe", b"MZ\x90\x00", None, "files of this type are not accepted"),
        ("fake.pdf", b"not a pdf at all", None, "its content does not match its name"),
    ],
)
def test_a_refused_file_says_why_and_opens_nothing(
    client, debtor, team, settings, home, name, content, limit, says
):
    if limit is not None:
        settings.CARTERA_ATTACHMENT_MAX_BYTES = limit
    english(client, team["cobradora"])

    response = client.post(
        reverse("workdesk:dispute", args=[debtor.pk]),
        {
            "dispute-documents": [overdue(debtor).pk],
            "dispute-category": "quality",
            "dispute-attachment": SimpleUploadedFile(name, content),
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 422
    text = response.content.decode()
    assert says in text and name in text
    assert 'id="panel-dispute" open' in text
    assert not Dispute.objects.exists() and not DisputeAttachment.objects.exists()
    assert not (home / "attachments").exists()


# -- the dispute's page and its actions ---------------------------------------------------------


def test_a_supervisor_resolves_valid_the_document_is_credited_and_the_books_hold(
    client, debtor, team
):
    document = overdue(debtor)
    owed = document.balance_minor
    dispute = opened(debtor, owner=team["cobradora"])
    english(client, team["supervisora"])
    assert 'id="resolve-form"' in page(client, dispute).content.decode()

    response = resolve(client, dispute, resolution="valid", note="Se facturó dos veces")

    assert response.status_code == 302
    shown = client.get(response["Location"]).content.decode()
    assert "Dispute resolved: Valid." in shown and "Se facturó dos veces" in shown
    dispute.refresh_from_db()
    assert (dispute.status, dispute.resolution, dispute.credited_minor) == (
        "resolved",
        "valid",
        owed,
    )
    assert dispute.resolved_by == team["supervisora"] and dispute.resolved_on == AS_OF
    document.refresh_from_db()
    assert (document.balance_minor, document.status) == (0, "closed")
    credit = document.entries.get(kind=EntryKind.CREDIT)
    assert (credit.amount_minor, credit.effective_date) == (-owed, AS_OF)
    assert not DisputeDocument.objects.filter(dispute=dispute, is_open=True).exists()
    assert integrity_problems() == []  # what `cartera check` proves
    # Resolved: no more actions on the page, the history tells the story.
    assert 'id="resolve-form"' not in shown and 'id="attach-form"' not in shown
    assert "Dispute opened" in shown and "Credited" in shown


def test_the_owner_rejects_it_and_collection_resumes(client, debtor, team):
    document = overdue(debtor)
    owed = document.balance_minor
    dispute = opened(debtor, owner=team["cobradora"])
    creditor = debtor.creditor
    actor = Actor.system("tests")
    run_execute(creditor=creditor, as_of=AS_OF + datetime.timedelta(days=1), actor=actor)
    assert Account.objects.get(debtor=debtor).paused_reason  # every overdue document disputed
    english(client, team["cobradora"])

    missing_note = resolve(client, dispute, resolution="rejected")
    assert missing_note.status_code == 422
    with time_machine.travel(NOW + datetime.timedelta(days=1), tick=False):
        english(client, team["cobradora"])  # the next morning
        response = resolve(client, dispute, resolution="rejected", note="La entrega consta")

    assert response.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.resolution, dispute.credited_minor) == ("rejected", 0)
    assert dispute.resolved_on == AS_OF + datetime.timedelta(days=1)
    document.refresh_from_db()
    assert document.balance_minor == owed
    assert not document.entries.filter(kind=EntryKind.CREDIT).exists()
    run_execute(creditor=creditor, as_of=AS_OF + datetime.timedelta(days=2), actor=actor)
    assert Account.objects.get(debtor=debtor).paused_reason == ""
    assert integrity_problems() == []


def test_a_partially_valid_resolution_credits_the_amount_written(client, debtor, team):
    document = overdue(debtor)
    owed = document.balance_minor
    dispute = opened(debtor)
    english(client, team["supervisora"])

    no_amount = resolve(client, dispute, resolution="partially_valid", note="parte")
    assert no_amount.status_code == 422
    assert "Write the amount a partially valid dispute credits" in no_amount.content.decode()
    too_much = resolve(
        client, dispute, resolution="partially_valid", credit=f"{owed // 100}", note="parte"
    )
    assert too_much.status_code == 422
    assert "resolve it as valid" in too_much.content.decode()
    response = resolve(client, dispute, resolution="partially_valid", credit="1,50", note="parte")

    assert response.status_code == 302
    document.refresh_from_db()
    assert document.balance_minor == owed - 150
    assert Dispute.objects.get(pk=dispute.pk).credited_minor == 150
    assert integrity_problems() == []


def test_files_are_added_and_downloaded_and_the_owner_changes(client, debtor, team):
    dispute = opened(debtor)
    english(client, team["cobradora"])
    added = client.post(
        reverse("workdesk:dispute_attach", args=[dispute.pk]),
        {"attach-file": SimpleUploadedFile("carta del cliente.txt", b"no recibimos nada")},
    )
    assert added.status_code == 302
    attachment = DisputeAttachment.objects.get(dispute=dispute)
    refused = client.post(
        reverse("workdesk:dispute_attach", args=[dispute.pk]),
        {"attach-file": SimpleUploadedFile("foto.png", b"GIF89a not a png")},
    )
    assert refused.status_code == 422
    assert "its content does not match its name" in refused.content.decode()

    download = client.get(reverse("workdesk:dispute_file", args=[dispute.pk, attachment.pk]))
    assert download.status_code == 200
    assert download.content == b"no recibimos nada"
    assert download["Content-Disposition"].startswith("attachment;")
    assert attachment.name in download["Content-Disposition"]

    # A collector who does not own it may not hand it on; a supervisor may.
    to_her = {"owner-owner": team["cobradora"].pk}
    url = reverse("workdesk:dispute_assign", args=[dispute.pk])
    assert client.post(url, to_her).status_code == 403
    english(client, team["supervisora"])
    assert client.post(url, to_her).status_code == 302
    assert Dispute.objects.get(pk=dispute.pk).owner == team["cobradora"]
    event = AuditEvent.objects.get(action="dispute.assign")
    assert event.changes["owner"] == [None, "cobradora"]
    history = page(client, dispute).content.decode()
    assert "Owner changed" in history and "File added" in history


# -- who may do what --------------------------------------------------------------------------------


def test_only_supervisors_and_the_owner_resolve_and_auditors_only_read(client, debtor, team):
    dispute = opened(debtor, owner=team["cobrador"])
    valid = {"resolution": "valid", "note": "x"}
    attach = {"attach-file": SimpleUploadedFile("a.txt", b"a")}

    english(client, team["cobradora"])  # works the account, does not own the dispute
    assert 'id="resolve-form"' not in page(client, dispute).content.decode()
    assert resolve(client, dispute, **valid).status_code == 403

    english(client, team["auditora"])
    shown = page(client, dispute)
    assert shown.status_code == 200
    assert 'id="resolve-form"' not in shown.content.decode()
    assert 'id="attach-form"' not in shown.content.decode()
    assert resolve(client, dispute, **valid).status_code == 403
    assert (
        client.post(reverse("workdesk:dispute_attach", args=[dispute.pk]), attach).status_code
        == 403
    )
    assert (
        client.post(
            reverse("workdesk:dispute_assign", args=[dispute.pk]), {"owner-owner": ""}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("workdesk:dispute", args=[debtor.pk]),
            {"dispute-documents": [overdue(debtor).pk], "dispute-category": "price"},
        ).status_code
        == 403
    )
    assert Dispute.objects.get(pk=dispute.pk).status == "open"

    english(client, team["cobrador"])  # the owner, a collector
    assert resolve(client, dispute, **valid).status_code == 302
    assert Dispute.objects.get(pk=dispute.pk).resolved_by == team["cobrador"]


def test_another_creditors_dispute_and_its_files_are_not_found(client, debtor, team, actor):
    dispute = opened(debtor, attachments=[("nota.txt", b"secreta")])
    attachment = dispute.attachments.get()
    other = creditor_create(
        code="OTRO", name="Otro S.A.", country="MX", currency="MXN", actor=actor
    )
    outsider = person("ajena", "supervisor", other)
    client.force_login(outsider)

    assert page(client, dispute).status_code == 404
    assert (
        client.get(reverse("workdesk:dispute_file", args=[dispute.pk, attachment.pk])).status_code
        == 404
    )
    for name, data in (
        ("dispute_resolve", {"resolve-resolution": "valid", "resolve-note": "x"}),
        ("dispute_assign", {"owner-owner": ""}),
        ("dispute_attach", {"attach-file": SimpleUploadedFile("a.txt", b"a")}),
    ):
        assert client.post(reverse(f"workdesk:{name}", args=[dispute.pk]), data).status_code == 404
    assert Dispute.objects.get(pk=dispute.pk).status == "open"
    assert "secreta" not in client.get(reverse("workdesk:team_disputes")).content.decode()

    # A file is reached only through its own dispute, even within the creditor.
    english(client, team["cobradora"])
    second = opened(debtor, list(debtor.documents.order_by("due_date"))[1])
    wrong = reverse("workdesk:dispute_file", args=[second.pk, attachment.pk])
    assert client.get(wrong).status_code == 404


# -- the supervisors' list ----------------------------------------------------------------------------


def _disputes(portfolio, team, debtors, *, first: int) -> None:
    """On `debtors`: every other one a dispute opened 20 days ago (15 to resolve: 5 days
    overdue), the others opened today; owners alternate."""
    owners = [team["cobradora"], team["cobrador"], None]
    for n, debtor in enumerate(debtors):
        late = (first + n) % 2 == 0
        opened(
            debtor,
            owner=owners[n % 3],
            category="quality",
            as_of=AS_OF - datetime.timedelta(days=20 if late else 0),
        )


def test_the_supervisor_sees_open_disputes_overdue_first_in_fixed_queries(client, portfolio, team):
    debtors = [a.debtor for a in Account.objects.filter(creditor=portfolio).order_by("pk")]
    _disputes(portfolio, team, debtors[:3], first=0)
    resolved = opened(debtors[3])
    resolve_as = english(client, team["supervisora"])
    assert resolve(resolve_as, resolved, resolution="rejected", note="x").status_code == 302
    url = reverse("workdesk:team_disputes")

    response = client.get(url)

    assert response.status_code == 200
    lines = response.context["lines"]
    assert [line["dispute"].debtor for line in lines] == [debtors[0], debtors[2], debtors[1]]
    assert [line["overdue_days"] > 0 for line in lines] == [True, True, False]
    assert [line["age_days"] for line in lines] == [20, 20, 0]
    assert (response.context["open_total"], response.context["overdue_total"]) == (3, 2)
    content = response.content.decode()
    assert "5 days late" in content and "cobradora" in content
    assert reverse("workdesk:dispute_detail", args=[lines[0]["dispute"].pk]) in content
    assert (
        reverse("workdesk:team_disputes") in client.get(reverse("workdesk:team")).content.decode()
    )
    only = client.get(url, {"overdue": "1"}).context["lines"]
    assert [line["dispute"].debtor for line in only] == [debtors[0], debtors[2]]

    def counted(**params):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, params).status_code == 200
        return len(queries.captured_queries)

    few = counted()
    few_one = counted(creditor=portfolio.pk)
    _disputes(portfolio, team, debtors[4:10], first=3)
    assert counted() == few
    assert counted(creditor=portfolio.pk) == few_one
    assert few <= 12


def test_the_list_is_for_those_who_see_the_team(client, portfolio, team):
    url = reverse("workdesk:team_disputes")
    client.force_login(team["cobradora"])
    assert client.get(url).status_code == 403
    client.force_login(team["auditora"])
    assert client.get(url).status_code == 200
