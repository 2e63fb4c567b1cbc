"""The unmatched queue: a person applies, ignores, reverses; matching learns from them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils.translation import override

from cartera.cash.models import KnownAccount, LineStatus, StatementLine
from cartera.cash.queries import evidence_label, line_open_documents, unmatched_lines
from cartera.cash.services import (
    CashError,
    statement_import,
    statement_line_apply,
    statement_line_ignore,
    statement_line_reverse,
    statement_lines_rematch,
)
from cartera.core.audit import Actor
from cartera.core.models import AuditEvent
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import Creditor, Debtor, Document, Membership, Payment
from cartera.portfolio.services import creditor_create
from tests.test_cash_matching import DOCUMENTS

ACCOUNT = "CO12BANCO000111222333"


@pytest.fixture
def portfolio(write_file, load):
    assert load("documents", write_file("documents.csv", DOCUMENTS)).created == 6


@pytest.fixture
def receive(creditor, actor, write_file):
    counter = iter(range(1, 1000))

    def run(*rows: tuple[str, ...], target: Creditor | None = None):
        lines = ["fecha,concepto,importe,cuenta ordenante"]
        for day, text, amount, *account in rows:
            lines.append(f'{day},"{text}",{amount},{account[0] if account else ""}')
        path = write_file(f"extracto-{next(counter)}.csv", "\n".join(lines) + "\n")
        result = statement_import(
            creditor=target or creditor, path=path, actor=actor, bank_account="BC"
        )
        assert result.exit_code == 0, result.unreadable or result.message
        return result

    return run


@pytest.fixture
def laura(db, creditor) -> User:
    user = User.objects.create_user("laura", password="x")
    Membership.objects.create(user=user, creditor=creditor)
    return user


@pytest.fixture
def as_laura(laura) -> Actor:
    return Actor.for_user(laura)


def debtor(external_id: str) -> Debtor:
    return Debtor.objects.get(external_id=external_id)


def balance(external_id: str) -> int:
    return Document.objects.get(external_id=external_id).balance_minor


def line(text: str) -> StatementLine:
    return StatementLine.objects.get(text__contains=text)


def test_applied_by_hand_the_paying_account_is_learnt_and_the_next_payment_matches(
    portfolio, receive, as_laura
):
    receive(("2026-11-02", "TRANSFERENCIA RECIBIDA", "750000.00", ACCOUNT))
    waiting = line("TRANSFERENCIA")
    # the amount alone fits two of Dos's documents: a weak proposal, not applied
    assert waiting.status == LineStatus.WAITING

    statement_line_apply(line=waiting, debtor=debtor("C2"), actor=as_laura)

    waiting.refresh_from_db()
    assert waiting.status == LineStatus.APPLIED_MANUAL
    assert waiting.decided_by == "laura"
    assert (balance("D-4"), balance("D-5")) == (0, 75000000)
    known = KnownAccount.objects.get()
    assert (known.account, known.debtor.external_id, known.learned_from) == (ACCOUNT, "C2", waiting)

    receive(("2026-12-02", "TRANSFERENCIA DICIEMBRE", "750000.00", ACCOUNT))

    following = line("DICIEMBRE")
    assert following.status == LineStatus.APPLIED_AUTO
    assert sorted(e["kind"] for e in following.evidence) == ["amount_document", "known_account"]
    assert balance("D-5") == 0
    assert integrity_problems() == []


def test_applying_by_hand_to_chosen_documents(portfolio, receive, as_laura):
    receive(("2026-11-02", "CONSIGNACION", "1200000.00"))
    uno = debtor("C1")
    open_documents = list(line_open_documents(line=line("CONSIGNACION"), debtor=uno))
    assert [d.number for d in open_documents] == ["FV-000123", "FV-000124", "FV-000125"]

    statement_line_apply(
        line=line("CONSIGNACION"),
        debtor=uno,
        allocations=[(open_documents[2], 500000_00), (open_documents[1], 700000_00)],
        actor=as_laura,
    )

    assert (balance("D-1"), balance("D-2"), balance("D-3")) == (100000000, 130000000, 0)
    assert Payment.objects.get().unapplied_minor == 0
    assert AuditEvent.objects.filter(action="statement_line.apply").count() == 1
    assert integrity_problems() == []


def test_a_misapplied_line_is_reversed_and_applied_again_to_the_right_debtor(
    portfolio, receive, as_laura
):
    reference = debtor("C2").payment_reference
    receive(("2026-11-02", f"PAGO {reference}", "750000.00"))
    applied = line("PAGO")
    assert applied.status == LineStatus.APPLIED_AUTO and balance("D-4") == 0

    statement_line_reverse(line=applied, reason="Dos paid on behalf of Tres", actor=as_laura)

    applied.refresh_from_db()
    assert applied.status == LineStatus.REVERSED and applied.reversals == 1
    assert balance("D-4") == 75000000
    assert applied.payment.unapplied_minor == 75000000
    assert applied in unmatched_lines(creditors=[applied.creditor])
    assert integrity_problems() == []

    statement_line_apply(line=applied, debtor=debtor("C3"), actor=as_laura)

    applied.refresh_from_db()
    assert applied.status == LineStatus.APPLIED_MANUAL
    assert applied.payment.debtor.external_id == "C3"
    assert balance("D-6") == 0
    # 750,000 for 333,333.33 owed: the rest is Tres's credit
    assert applied.payment.unapplied_minor == 75000000 - 33333333
    assert Payment.objects.count() == 1
    assert integrity_problems() == []


def test_only_applied_lines_can_be_reversed_and_only_waiting_ones_applied(
    portfolio, receive, as_laura
):
    receive(("2026-11-02", "SIN NADA", "12.00"))
    waiting = line("SIN NADA")

    with override("en"), pytest.raises(CashError, match="not applied"):
        statement_line_reverse(line=waiting, reason="x", actor=as_laura)
    statement_line_apply(line=waiting, debtor=debtor("C1"), actor=as_laura)
    with override("en"), pytest.raises(CashError, match="not waiting"):
        statement_line_apply(line=waiting, debtor=debtor("C1"), actor=as_laura)
    with override("en"), pytest.raises(CashError, match="say why"):
        statement_line_reverse(line=waiting, reason=" ", actor=as_laura)


def test_ignoring_a_line_takes_it_out_of_the_queue(portfolio, receive, as_laura):
    receive(("2026-11-02", "TRASLADO ENTRE CUENTAS PROPIAS", "5000000.00"))
    transfer = line("TRASLADO")

    with override("en"), pytest.raises(CashError, match="say why"):
        statement_line_ignore(line=transfer, reason="", actor=as_laura)
    statement_line_ignore(line=transfer, reason="our own savings account", actor=as_laura)

    transfer.refresh_from_db()
    assert (transfer.status, transfer.note) == (LineStatus.IGNORED, "our own savings account")
    assert not unmatched_lines(creditors=[transfer.creditor]).exists()
    assert Payment.objects.count() == 0


def test_a_reversed_line_with_its_payment_cannot_be_ignored(portfolio, receive, as_laura):
    reference = debtor("C2").payment_reference
    receive(("2026-11-02", f"PAGO {reference}", "750000.00"))
    statement_line_reverse(line=line("PAGO"), reason="wrong", actor=as_laura)

    with override("en"), pytest.raises(CashError, match="apply it to the right debtor"):
        statement_line_ignore(line=line("PAGO"), reason="x", actor=as_laura)


def test_matching_again_applies_lines_whose_invoices_arrived_later(
    creditor, receive, as_laura, write_file, load, actor
):
    receive(("2026-11-02", "PAGO FACTURA FV-777", "125000.00"))
    assert line("FV-777").status == LineStatus.WAITING
    load(
        "documents",
        write_file(
            "later.csv",
            "external_id,number,debtor_external_id,name,issue_date,due_date,amount\n"
            "D-7,FV-777,C7,Siete,2026-10-01,2026-11-01,125000.00\n",
        ),
    )

    applied, waiting = statement_lines_rematch(creditor=creditor, actor=actor)

    assert (applied, waiting) == (1, 0)
    assert line("FV-777").status == LineStatus.APPLIED_AUTO
    assert balance("D-7") == 0
    assert integrity_problems() == []


def test_the_queue_is_searched_by_amount_text_and_debtor(portfolio, receive, creditor):
    receive(
        ("2026-11-02", "ABONO TIENDA CENTRO", "1234567.89"),
        ("2026-11-03", "PAGO FE-2024-0043 parcial", "100000.00"),
        ("2026-11-04", "CONSIGNACION NACIONAL", "55000.00"),
    )
    creditors = [creditor]

    assert [
        found.text for found in unmatched_lines(creditors=creditors, amount="1.234.567,89")
    ] == ["ABONO TIENDA CENTRO"]
    assert [found.text for found in unmatched_lines(creditors=creditors, amount="55000")] == [
        "CONSIGNACION NACIONAL"
    ]
    assert [
        found.text for found in unmatched_lines(creditors=creditors, search="tienda centro")
    ] == ["ABONO TIENDA CENTRO"]
    assert [found.text for found in unmatched_lines(creditors=creditors, debtor=debtor("C2"))] == [
        "PAGO FE-2024-0043 parcial"
    ]
    assert unmatched_lines(creditors=creditors).count() == 3
    with override("en"):
        labels = [evidence_label(item) for item in line("parcial").evidence]
    assert labels == ["document number FE-2024-0043 in the text (75 %)"]


def test_one_creditors_queue_is_not_anothers(portfolio, receive, creditor, actor):
    other = creditor_create(code="OTRA", name="Otra", country="CO", currency="COP", actor=actor)
    receive(("2026-11-02", "DE OTRA", "10.00"), target=other)
    receive(("2026-11-02", "DE ACME", "10.00"))

    assert [found.text for found in unmatched_lines(creditors=[creditor])] == ["DE ACME"]
    with override("en"), pytest.raises(CashError, match="another creditor"):
        statement_line_apply(line=line("DE OTRA"), debtor=debtor("C1"), actor=actor)


# --- the admin ------------------------------------------------------------------------------


def test_the_admin_lists_lines_of_the_users_creditors_and_reverses_with_a_reason(
    portfolio, receive, creditor, actor, client
):
    other = creditor_create(code="OTRA", name="Otra", country="CO", currency="COP", actor=actor)
    receive(("2026-11-02", "LINEA DE OTRA", "10.00"), target=other)
    reference = debtor("C2").payment_reference
    receive(("2026-11-02", f"PAGO {reference}", "750000.00"))
    supervisor = User.objects.create_user("sonia", password="x", is_staff=True)
    supervisor.groups.add(Group.objects.get(name="supervisor"))
    Membership.objects.create(user=supervisor, creditor=creditor)
    client.force_login(supervisor)
    changelist = reverse("admin:cash_statementline_changelist")

    page = client.get(changelist, {"status__exact": "applied_auto"})
    assert page.status_code == 200
    assert "LINEA DE OTRA" not in page.content.decode()
    applied = line("PAGO")

    ask = client.post(changelist, {"action": "reverse_selected", "_selected_action": [applied.pk]})
    assert ask.status_code == 200 and b'name="reason"' in ask.content
    done = client.post(
        changelist,
        {
            "action": "reverse_selected",
            "_selected_action": [applied.pk],
            "confirm": "yes",
            "reason": "paid for another company",
        },
    )

    assert done.status_code == 302
    applied.refresh_from_db()
    assert applied.status == LineStatus.REVERSED and applied.note == "paid for another company"
    assert balance("D-4") == 75000000
    assert integrity_problems() == []
    detail = client.get(reverse("admin:cash_statementline_change", args=[applied.pk]))
    assert detail.status_code == 200


def test_an_auditor_sees_the_lines_but_cannot_reverse_them(portfolio, receive, creditor, client):
    reference = debtor("C2").payment_reference
    receive(("2026-11-02", f"PAGO {reference}", "750000.00"))
    auditor = User.objects.create_user("ana", password="x", is_staff=True)
    auditor.groups.add(Group.objects.get(name="auditor"))
    Membership.objects.create(user=auditor, creditor=creditor)
    client.force_login(auditor)
    changelist = reverse("admin:cash_statementline_changelist")

    page = client.get(changelist)
    assert page.status_code == 200 and "PAGO" in page.content.decode()
    assert "reverse_selected" not in page.content.decode()
    refused = client.post(
        changelist,
        {
            "action": "reverse_selected",
            "_selected_action": [line("PAGO").pk],
            "confirm": "yes",
            "reason": "x",
        },
    )

    assert refused.status_code in (200, 302, 403)
    assert line("PAGO").status == LineStatus.APPLIED_AUTO
    assert not auditor.has_perm("cash.change_statementline")
    assert auditor.has_perm("cash.view_statementline")


@pytest.mark.parametrize(
    ("role", "apply", "reverse"),
    [
        ("admin", True, True),
        ("supervisor", True, True),
        ("collector", True, False),
        ("auditor", False, False),
    ],
)
def test_what_each_role_may_do_with_statement_lines(db, role, apply, reverse):
    user = User.objects.create_user(f"{role}-user", password="x")
    user.groups.add(Group.objects.get(name=role))

    assert user.has_perm("cash.view_statementline")
    assert user.has_perm("cash.change_statementline") is apply
    assert user.has_perm("cash.reverse_statementline") is reverse
