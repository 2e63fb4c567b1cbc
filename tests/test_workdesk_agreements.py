"""Payment agreements in the workdesk: the calculator and the proposal on the account page
(with and without htmx), the approvals queue (approve, reject, the approver's limits), the
agreements panel and timeline of the account page, tenancy and roles, and a fixed number of
queries on the queue and the account page.

The portfolio is the workdesk tests' (`tests.workdesk_support`): Acme (COP, list rate 0 %), a
collector's limits of 6 installments, a supervisor's of 36; 24 Nov 2026 at 10:00 in Bogotá.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from cartera.core.audit import Actor
from cartera.negotiation.agreements import agreement_propose, agreement_reject
from cartera.negotiation.models import (
    Agreement,
    AgreementInstallment,
    AgreementStatus,
)
from cartera.negotiation.services import NegotiationError
from cartera.portfolio.models import Debtor, Document, DocumentKind
from cartera.portfolio.payments import payment_apply, payment_record
from cartera.portfolio.services import creditor_create
from tests.workdesk_support import AS_OF, accounts_of, person

# The workdesk fixtures: clock, team, portfolio.
pytest_plugins = ["tests.workdesk_fixtures"]


@pytest.fixture(autouse=True)
def home(settings, tmp_path):
    """Agreement PDFs go under a fresh CARTERA_HOME."""
    settings.CARTERA_HOME = tmp_path
    return tmp_path


@pytest.fixture
def debtor(portfolio, team) -> Debtor:
    """cobradora's first account: an invoice 10 or 40 days late and one due in three weeks."""
    return accounts_of(team["cobradora"])[0].debtor


def url(name, debtor, **query):
    path = reverse(f"workdesk:{name}", args=[debtor.pk])
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def terms(**values):
    data = {"agreement-installments": "3", "agreement-frequency": "monthly"}
    data.update({f"agreement-{k}": v for k, v in values.items()})
    data.setdefault("agreement-method", "french")
    return data


def fingerprint(response) -> str:
    found = re.search(r'name="agreement-quote" value="([0-9a-f]+)"', response.content.decode())
    assert found, "no schedule was calculated"
    return found.group(1)


def calculate_and_propose(client, debtor, **values):
    """What a collector does: Calculate, look at the schedule, Propose."""
    data = terms(**values)
    shown = client.post(url("agreement_calculate", debtor), data)
    assert shown.status_code == 200, shown.content.decode()[:2000]
    data["agreement-quote"] = fingerprint(shown)
    return shown, client.post(url("agreement_propose", debtor), data)


def english(client):
    client.cookies["django_language"] = "en"


# -- the calculator and the proposal ---------------------------------------------------------------


def test_the_account_page_opens_the_calculator_with_and_without_javascript(client, debtor, team):
    client.force_login(team["cobradora"])
    english(client)
    page = client.get(reverse("workdesk:account", args=[debtor.pk])).content.decode()
    assert f'href="{url("agreement", debtor)}"' in page
    assert 'id="agreement-form"' not in page

    full = client.get(url("agreement", debtor))
    assert full.status_code == 200
    content = full.content.decode()
    assert "<html" in content and 'id="agreement-form"' in content
    assert re.search(r'<details class="panel" id="panel-agreement" open', content)
    # Every open, undisputed document is offered; none chosen means the whole account.
    for document in debtor.documents.all():
        assert f'value="{document.pk}"' in content

    partial = client.get(url("agreement", debtor), HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert "<html" not in partial.content.decode()
    assert 'id="agreement-form"' in partial.content.decode()


def test_calculate_shows_the_schedule_and_writes_nothing(client, debtor, team):
    client.force_login(team["cobradora"])
    english(client)
    response = client.post(url("agreement_calculate", debtor), terms(installments="3"))

    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="agreement-schedule"' in content and 'data-approval="none"' in content
    schedule = content.split('class="compact agreement-schedule"')[1].split("</table>")[0]
    assert schedule.count("<tr>") == 4  # the head and three installments
    assert 'id="agreement-propose"' in content
    assert not Agreement.objects.exists()


def test_within_the_limit_the_proposal_is_active_at_once(client, debtor, team):
    client.force_login(team["cobradora"])
    english(client)  # the confirmation is worded in the language of the proposing request
    owed = sum(d.balance_minor for d in debtor.documents.all())

    _shown, response = calculate_and_propose(client, debtor, installments="3")

    assert response.status_code == 302
    assert response["Location"] == reverse("workdesk:account", args=[debtor.pk])
    agreement = Agreement.objects.get()
    assert agreement.status == AgreementStatus.ACTIVE
    assert agreement.proposed_by == team["cobradora"] == agreement.decided_by
    assert agreement.whole_account and agreement.owed_minor == owed
    installments = Document.objects.filter(debtor=debtor, kind=DocumentKind.INSTALLMENT)
    assert installments.count() == 3
    assert sum(d.balance_minor for d in installments) == owed
    assert not debtor.documents.exclude(kind=DocumentKind.INSTALLMENT).filter(balance_minor__gt=0)

    page = client.get(reverse("workdesk:account", args=[debtor.pk])).content.decode()
    assert f"Payment agreement {agreement.number} is active" in page
    panel = page.split('id="agreements"')[1].split("</section>")[0]
    assert agreement.number in panel and panel.count('data-state="due"') == 3
    assert f"Payment agreement {agreement.number} proposed" in page
    assert f"Payment agreement {agreement.number} approved" in page
    pdf = client.get(url("agreement_pdf", debtor, agreement=agreement.pk))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_agreement_items_on_the_timeline_have_their_own_icon(client, debtor, team):
    client.force_login(team["cobradora"])
    calculate_and_propose(client, debtor, installments="3")
    page = client.get(reverse("workdesk:account", args=[debtor.pk])).content.decode()
    timeline = page.split('class="timeline"')[1].split("</ol>")[0]
    items = re.findall(
        r'<li class="k-agreement">\s*<span class="icon" aria-hidden="true">([^<]*)<', timeline
    )
    # Proposed and approved; the stylesheet draws the icon, so no stray glyph ("•").
    assert items == ["", ""]
    # Drawn from the app's own static files, tinted like the other kinds.
    css = b"".join(client.get("/static/cartera/cartera.css").streaming_content).decode()
    rule = css.split(".timeline .k-agreement .icon::before")[1].split("}")[0]
    assert 'url("../workdesk/icons/agreement.svg")' in rule
    icon = client.get("/static/workdesk/icons/agreement.svg")
    assert icon.status_code == 200 and icon["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in b"".join(icon.streaming_content)


def test_with_htmx_the_proposal_answers_the_account_section(client, debtor, team):
    client.force_login(team["cobradora"])
    english(client)
    data = terms(installments="2")
    shown = client.post(url("agreement_calculate", debtor), data, HTTP_HX_REQUEST="true")
    assert shown.status_code == 200 and "<html" not in shown.content.decode()
    data["agreement-quote"] = fingerprint(shown)

    done = client.post(url("agreement_propose", debtor), data, HTTP_HX_REQUEST="true")

    assert done.status_code == 200
    content = done.content.decode()
    assert 'id="account-main"' in content and "<html" not in content
    assert 'id="notice"' in content and "is active" in content
    assert Agreement.objects.get().status == AgreementStatus.ACTIVE


def test_changed_figures_show_the_new_schedule_instead_of_proposing(client, debtor, team):
    client.force_login(team["cobradora"])
    english(client)
    data = terms(installments="3")
    data["agreement-quote"] = fingerprint(client.post(url("agreement_calculate", debtor), data))
    data["agreement-installments"] = "4"

    response = client.post(url("agreement_propose", debtor), data)

    assert response.status_code == 422
    content = response.content.decode()
    assert "The figures changed since the schedule was calculated" in content
    schedule = content.split('class="compact agreement-schedule"')[1].split("</table>")[0]
    assert schedule.count("<tr>") == 5
    assert not Agreement.objects.exists()
    # Never calculated at all: the same.
    del data["agreement-quote"]
    assert client.post(url("agreement_propose", debtor), data).status_code == 422
    assert not Agreement.objects.exists()


def test_service_errors_are_form_errors_in_spanish(client, debtor, team):
    client.force_login(team["cobradora"])  # the interface's default language: Spanish

    # A rate above 0 % needs the month's legal maximum on file (none is).
    response = client.post(url("agreement_calculate", debtor), terms(annual_rate="24,5"))
    assert response.status_code == 422
    content = response.content.decode()
    assert "la tasa máxima legal de CO para 2026-11 no está registrada" in content
    assert 'id="agreement-schedule"' not in content

    # What the form itself refuses, in Spanish too.
    response = client.post(url("agreement_calculate", debtor), terms(installments="0"))
    assert response.status_code == 422
    # Waiving interest and fees the documents do not carry.
    response = client.post(url("agreement_propose", debtor), terms(waive="100"))
    assert response.status_code == 422
    assert "de intereses y gastos condonados, pero los documentos solo tienen" in (
        response.content.decode()
    )
    assert not Agreement.objects.exists()


def test_a_document_in_another_agreement_is_not_offered_again(client, debtor, team):
    client.force_login(team["cobradora"])
    first, second = debtor.documents.order_by("due_date")
    _shown, response = calculate_and_propose(client, debtor, documents=str(first.pk))
    assert response.status_code == 302
    assert list(Agreement.objects.get().bundled.values_list("document_id", flat=True)) == [first.pk]

    page = client.get(url("agreement", debtor)).content.decode()
    assert f'name="agreement-documents" value="{second.pk}"' in page
    assert f'name="agreement-documents" value="{first.pk}"' not in page
    # Posting it anyway: the service refuses (the form does not offer it).
    answer = client.post(url("agreement_calculate", debtor), terms(documents=str(first.pk)))
    assert answer.status_code == 422


def test_an_active_agreements_installments_are_not_bundled_again(client, debtor, team):
    """Refinancing them would close them, and the run would call the old agreement kept."""
    client.force_login(team["cobradora"])
    english(client)
    calculate_and_propose(client, debtor, installments="3")
    agreement = Agreement.objects.get()
    installment = Document.objects.filter(debtor=debtor, kind=DocumentKind.INSTALLMENT).first()

    page = client.get(url("agreement", debtor)).content.decode()
    assert f'name="agreement-documents" value="{installment.pk}"' not in page
    whole = client.post(url("agreement_calculate", debtor), terms())
    assert whole.status_code == 422
    assert "owes nothing that an agreement could bundle" in whole.content.decode()
    refused = pytest.raises(NegotiationError, match=f"already in agreement {agreement.number}")
    with translation.override("en"), refused:
        agreement_propose(
            creditor=debtor.creditor,
            debtor=debtor,
            documents=[installment],
            installments=2,
            as_of=AS_OF,
            actor=Actor.for_user(team["supervisora"]),
        )
    assert Agreement.objects.count() == 1


def test_a_supervisor_declares_an_agreement_broken_and_a_new_one_may_follow(client, debtor, team):
    client.force_login(team["cobradora"])
    calculate_and_propose(client, debtor, installments="3")
    agreement = Agreement.objects.get()
    page = client.get(reverse("workdesk:account", args=[debtor.pk])).content.decode()
    assert url("agreement_break", debtor) not in page  # a collector does not break agreements
    refused = client.post(url("agreement_break", debtor), {"agreement": agreement.pk, "note": "x"})
    assert refused.status_code == 403

    client.force_login(team["supervisora"])
    english(client)
    page = client.get(reverse("workdesk:account", args=[debtor.pk])).content.decode()
    assert url("agreement_break", debtor) in page
    response = client.post(
        url("agreement_break", debtor), {"agreement": agreement.pk, "note": "dice que no paga"}
    )

    assert response.status_code == 302
    agreement.refresh_from_db()
    assert (agreement.status, agreement.closed_reason) == (
        AgreementStatus.BROKEN,
        "dice que no paga",
    )
    page = client.get(reverse("workdesk:account", args=[debtor.pk])).content.decode()
    assert f"Payment agreement {agreement.number} broken" in page
    # Its installments are owed as they are, and may go into a new agreement.
    _shown, again = calculate_and_propose(client, debtor, installments="6")
    assert again.status_code == 302
    renewed = Agreement.objects.get(status=AgreementStatus.ACTIVE)
    assert set(renewed.bundled.values_list("document__kind", flat=True)) == {
        DocumentKind.INSTALLMENT
    }


# -- over the limit: the approvals queue -----------------------------------------------------------


def test_over_the_limit_it_waits_then_a_supervisor_approves_it(client, debtor, team):
    client.force_login(team["cobradora"])
    english(client)
    shown, response = calculate_and_propose(client, debtor, installments="12")
    assert 'data-approval="needed"' in shown.content.decode()
    assert "12 installments (at most 6)" in shown.content.decode()
    assert response.status_code == 302
    agreement = Agreement.objects.get()
    assert agreement.status == AgreementStatus.PENDING_APPROVAL
    assert not Document.objects.filter(kind=DocumentKind.INSTALLMENT).exists()
    page = client.get(reverse("workdesk:account", args=[debtor.pk])).content.decode()
    assert "waits for a supervisor" in page
    panel = page.split('id="agreements"')[1].split("</section>")[0]
    assert panel.count('data-state="planned"') == 12

    client.force_login(team["supervisora"])
    queue = client.get(reverse("workdesk:approvals"))
    assert queue.status_code == 200
    content = queue.content.decode()
    assert f'id="pending-{agreement.pk}"' in content and debtor.name in content
    assert "12 installments (at most 6)" in content

    decided = client.post(
        reverse("workdesk:agreement_approve"), {"agreement": agreement.pk, "note": "ok, cliente"}
    )

    assert decided.status_code == 302
    assert decided["Location"] == reverse("workdesk:approvals") + f"?creditor={debtor.creditor_id}"
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ACTIVE
    assert (agreement.decided_by, agreement.decision_note) == (team["supervisora"], "ok, cliente")
    installments = AgreementInstallment.objects.filter(agreement=agreement, document__isnull=False)
    assert installments.count() == 12
    assert "Nothing waits for your approval." in (
        client.get(reverse("workdesk:approvals")).content.decode()
    )
    page = client.get(reverse("workdesk:account", args=[debtor.pk])).content.decode()
    panel = page.split('id="agreements"')[1].split("</section>")[0]
    assert panel.count('data-state="due"') == 12


def test_an_approver_over_their_own_limits_is_refused(client, debtor, team):
    client.force_login(team["cobradora"])
    english(client)
    calculate_and_propose(client, debtor, installments="40")
    agreement = Agreement.objects.get()
    client.force_login(team["supervisora"])

    queue = client.get(reverse("workdesk:approvals")).content.decode()
    assert "Beyond your own limits" in queue and "40 installments (at most 36)" in queue

    refused = client.post(reverse("workdesk:agreement_approve"), {"agreement": agreement.pk})

    assert refused.status_code == 422
    assert "beyond your approval limits" in refused.content.decode()
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.PENDING_APPROVAL
    admin = person("jefa", "admin", debtor.creditor)
    client.force_login(admin)
    assert (
        client.post(reverse("workdesk:agreement_approve"), {"agreement": agreement.pk}).status_code
        == 302
    )
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ACTIVE


def test_a_rejection_needs_a_reason_and_frees_the_documents(client, debtor, team):
    client.force_login(team["cobradora"])
    english(client)
    calculate_and_propose(client, debtor, installments="12")
    agreement = Agreement.objects.get()
    client.force_login(team["supervisora"])

    without = client.post(reverse("workdesk:agreement_reject"), {"agreement": agreement.pk})
    assert without.status_code == 422
    row = without.content.decode().split(f'id="pending-{agreement.pk}"')[1]
    assert '<ul class="errorlist" role="alert"><li>say why the agreement is rejected' in row
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.PENDING_APPROVAL

    rejected = client.post(
        reverse("workdesk:agreement_reject"),
        {"agreement": agreement.pk, "note": "<b>cuotas muy largas</b>"},
    )

    assert rejected.status_code == 302
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.REJECTED
    assert agreement.decision_note == "<b>cuotas muy largas</b>"
    assert not Document.objects.filter(kind=DocumentKind.INSTALLMENT).exists()
    page = client.get(reverse("workdesk:account", args=[debtor.pk])).content.decode()
    assert f"Payment agreement {agreement.number} rejected" in page
    assert "&lt;b&gt;cuotas muy largas&lt;/b&gt;" in page and "<b>cuotas" not in page
    # The documents are free again: a new proposal may bundle them.
    client.force_login(team["cobradora"])
    _shown, again = calculate_and_propose(client, debtor, installments="3")
    assert again.status_code == 302
    assert Agreement.objects.filter(status=AgreementStatus.ACTIVE).count() == 1


def test_a_collector_withdraws_a_proposal_waiting_for_approval(client, debtor, team):
    client.force_login(team["cobradora"])
    calculate_and_propose(client, debtor, installments="12")
    agreement = Agreement.objects.get()

    response = client.post(
        url("agreement_cancel", debtor), {"agreement": agreement.pk, "note": "cambió de idea"}
    )

    assert response.status_code == 302
    agreement.refresh_from_db()
    assert (agreement.status, agreement.closed_reason) == (
        AgreementStatus.CANCELLED,
        "cambió de idea",
    )
    # An active agreement cannot be withdrawn: the service says why.
    _shown, _done = calculate_and_propose(client, debtor, installments="3")
    active = Agreement.objects.get(status=AgreementStatus.ACTIVE)
    english(client)
    refused = client.post(
        url("agreement_cancel", debtor), {"agreement": active.pk}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 422
    assert f"agreement {active.number} is active: that cannot be done now" in (
        refused.content.decode()
    )
    active.refresh_from_db()
    assert active.status == AgreementStatus.ACTIVE


# -- who may do what -------------------------------------------------------------------------------


def test_collectors_and_auditors_cannot_decide(client, debtor, team):
    client.force_login(team["cobradora"])
    calculate_and_propose(client, debtor, installments="12")
    agreement = Agreement.objects.get()

    for who in ("cobradora", "cobrador", "auditora"):
        client.force_login(team[who])
        for name in ("agreement_approve", "agreement_reject"):
            answer = client.post(
                reverse(f"workdesk:{name}"), {"agreement": agreement.pk, "note": "x"}
            )
            assert answer.status_code == 403, (who, name)
    # The auditor reads the queue, without the decision forms; nor may she propose.
    client.force_login(team["auditora"])
    queue = client.get(reverse("workdesk:approvals"))
    assert queue.status_code == 200
    assert f'id="pending-{agreement.pk}"' in queue.content.decode()
    assert 'id="approve-' not in queue.content.decode()
    assert client.get(url("agreement", debtor)).status_code == 403
    assert client.post(url("agreement_calculate", debtor), terms()).status_code == 403
    assert client.post(url("agreement_propose", debtor), terms()).status_code == 403
    assert (
        client.post(url("agreement_cancel", debtor), {"agreement": agreement.pk}).status_code == 403
    )
    assert client.get(reverse("workdesk:approvals")).status_code == 200
    # A collector does not even see the queue.
    client.force_login(team["cobradora"])
    assert client.get(reverse("workdesk:approvals")).status_code == 403
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.PENDING_APPROVAL


def test_another_creditors_agreement_is_404(client, debtor, team, actor):
    client.force_login(team["cobradora"])
    calculate_and_propose(client, debtor, installments="12")
    agreement = Agreement.objects.get()
    other = creditor_create(
        code="OTRO", name="Otro S.A.", country="MX", currency="MXN", actor=actor
    )
    outsider = person("ajena", "supervisor", other)
    client = Client()  # nothing of cobradora's session (its messages) left behind
    client.force_login(outsider)

    for name in ("agreement_approve", "agreement_reject"):
        answer = client.post(reverse(f"workdesk:{name}"), {"agreement": agreement.pk, "note": "x"})
        assert answer.status_code == 404, name
    assert (
        client.post(url("agreement_cancel", debtor), {"agreement": agreement.pk}).status_code == 404
    )
    assert client.get(url("agreement_pdf", debtor, agreement=agreement.pk)).status_code == 404
    assert client.get(url("agreement", debtor)).status_code == 404
    assert client.post(url("agreement_calculate", debtor), terms()).status_code == 404
    queue = client.get(reverse("workdesk:approvals")).content.decode()
    assert debtor.name not in queue and agreement.number not in queue
    assert (
        client.get(reverse("workdesk:approvals"), {"creditor": debtor.creditor_id}).status_code
        == 404
    )
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.PENDING_APPROVAL


def test_an_agreement_of_another_debtor_cannot_be_withdrawn_from_this_page(client, debtor, team):
    client.force_login(team["cobradora"])
    calculate_and_propose(client, debtor, installments="12")
    agreement = Agreement.objects.get()
    neighbour = accounts_of(team["cobradora"])[1].debtor
    answer = client.post(url("agreement_cancel", neighbour), {"agreement": agreement.pk})
    assert answer.status_code == 404


# -- a fixed number of queries ---------------------------------------------------------------------


def pending_for(debtors, user):
    actor = Actor.for_user(user)
    for debtor in debtors:
        agreement_propose(
            creditor=debtor.creditor, debtor=debtor, installments=12, as_of=AS_OF, actor=actor
        )


def count_queries(client, path, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
        assert response.status_code == 200
    return len(queries.captured_queries), response


def test_the_approvals_queue_reads_a_fixed_number_of_queries(
    client, debtor, team, django_assert_max_num_queries
):
    debtors = [a.debtor for a in accounts_of(team["cobradora"]) + accounts_of(team["cobrador"])]
    pending_for(debtors[:1], team["cobradora"])
    client.force_login(team["supervisora"])
    path = reverse("workdesk:approvals")
    client.get(path)
    one, response = count_queries(client, path)
    assert len(response.context["items"]) == 1

    pending_for(debtors[1:9], team["cobrador"])
    many, response = count_queries(client, path)

    assert len(response.context["items"]) == 9
    assert many == one
    with django_assert_max_num_queries(12):
        client.get(path)


def test_the_account_page_reads_a_fixed_number_of_queries_with_agreements(client, debtor, team):
    actor = Actor.for_user(team["cobradora"])
    boss = Actor.for_user(team["supervisora"])
    first, second = debtor.documents.order_by("due_date")
    client.force_login(team["cobradora"])
    path = reverse("workdesk:account", args=[debtor.pk])
    agreement_propose(
        creditor=debtor.creditor,
        debtor=debtor,
        documents=[first],
        installments=12,
        as_of=AS_OF,
        actor=actor,
    )
    client.get(path)
    short, response = count_queries(client, path)
    assert len(response.context["view"].agreements) == 1

    rejected = Agreement.objects.get()
    agreement_reject(agreement=rejected, as_of=AS_OF, actor=boss, note="no")
    for documents, installments in (([first], 24), ([second], 3)):
        agreement_propose(
            creditor=debtor.creditor,
            debtor=debtor,
            documents=documents,
            installments=installments,
            as_of=AS_OF,
            actor=actor,
        )
    long, response = count_queries(client, path)

    assert len(response.context["view"].agreements) == 3
    assert long == short
    assert short <= 26


# -- payments reach the installments ---------------------------------------------------------------


def test_a_payment_shows_the_first_installment_paid(client, debtor, team):
    client.force_login(team["cobradora"])
    english(client)
    calculate_and_propose(client, debtor, installments="3")
    first = (
        AgreementInstallment.objects.filter(agreement__debtor=debtor)
        .select_related("document")
        .order_by("n")
        .first()
    )
    payment = payment_record(
        creditor=debtor.creditor,
        debtor=debtor,
        amount_minor=first.payment_minor,
        currency="COP",
        date=AS_OF,
        external_id="PAGO-1",
        actor=Actor.system("tests"),
    )
    payment_apply(payment=payment, actor=Actor.system("tests"))

    page = client.get(reverse("workdesk:account", args=[debtor.pk])).content.decode()

    panel = page.split('id="agreements"')[1].split("</section>")[0]
    rows = re.findall(r'<tr data-n="(\d+)" data-state="(\w+)">', panel)
    assert rows == [("1", "paid"), ("2", "due"), ("3", "due")]
    assert '<span class="badge ok">paid in full</span>' in panel
