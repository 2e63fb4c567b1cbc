"""Documents (invoices, notes, installments), in ledger or ERP balance mode."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from cartera.core.bulk import ids_reserve, rows_insert, rows_update
from cartera.core.money import minor_str, to_minor
from cartera.portfolio.importing import fields
from cartera.portfolio.importing.columns import DOCUMENT_COLUMNS
from cartera.portfolio.importing.debtors import (
    DebtorData,
    DebtorDirectory,
    DebtorRef,
    parse_debtor,
    parse_tax_id,
)
from cartera.portfolio.importing.pipeline import (
    ChunkOutcome,
    ImportContext,
    Importer,
    ImportOptions,
    ImportResult,
    RowError,
)
from cartera.portfolio.importing.reader import Row
from cartera.portfolio.models import (
    BalanceMode,
    Creditor,
    Debtor,
    Document,
    DocumentKind,
    DocumentStatus,
    EntryKind,
    LedgerEntry,
)
from cartera.portfolio.services import references_allocate

# Columns that describe the debtor rather than point at it: their presence makes the
# documents file create and update debtors too.
DEBTOR_DETAIL_COLUMNS = {
    "debtor_name",
    "debtor_kind",
    "debtor_email",
    "debtor_phone",
    "debtor_mobile",
    "debtor_address",
    "debtor_city",
    "debtor_country",
}
_UPDATABLE = ("number", "kind", "issue_date", "due_date", "amount_minor")
_DOCUMENT_ROW = (
    "id",
    "creditor_id",
    "debtor_id",
    "kind",
    "number",
    "external_id",
    "issue_date",
    "due_date",
    "currency",
    "amount_minor",
    "balance_minor",
    "status",
    "payment_reference",
    "unmatched_prior_minor",
    "batch_id",
    "created_at",
    "updated_at",
)
_ENTRY_ROW = (
    "creditor_id",
    "document_id",
    "kind",
    "amount_minor",
    "currency",
    "effective_date",
    "batch_id",
    "memo",
    "recorded_by",
    "recorded_at",
)


@dataclass
class DocumentData:
    row: Row
    external_id: str
    number: str
    kind: str
    currency: str
    amount_minor: int
    balance_minor: int | None
    issue_date: datetime.date | None
    due_date: datetime.date
    debtor: DebtorData

    @property
    def sign(self) -> int:
        return -1 if self.kind == DocumentKind.CREDIT_NOTE else 1


def parse_document(ctx: ImportContext, row: Row) -> DocumentData:
    values = row.values
    if "__extra__" in values:
        raise RowError("", values["__extra__"], "more cells than column headers")
    number = fields.text(values, "number", max_length=80)
    external_id = fields.text(values, "external_id", max_length=80) or number
    if external_id is None:
        raise RowError("number", None, "the document has neither external_id nor number")
    first = ctx.first_line_of.get(external_id)
    if first is not None and first != row.line:
        raise RowError(
            "external_id", external_id, f"appears twice in this file (first at line {first})"
        )
    if "debtor_external_id" not in values and "debtor_tax_id" not in values:
        raise RowError("debtor_external_id", None, "no debtor column")
    if ctx.fields & DEBTOR_DETAIL_COLUMNS:
        debtor = parse_debtor(ctx, values, prefix="debtor_")
    else:
        debtor = DebtorData(
            external_id=fields.text(values, "debtor_external_id", max_length=80),
            tax=None,
            name=None,
            kind=None,
            country=ctx.creditor.country,
        )
        raw_tax = fields.text(values, "debtor_tax_id", max_length=40)
        if raw_tax:
            debtor.tax = parse_tax_id(raw_tax, "debtor_tax_id", ctx.creditor.country, None)
    if not debtor.external_id and not debtor.tax:
        raise RowError("debtor_external_id", None, "the debtor is not given")
    kind = fields.document_kind(values, "kind")
    currency = fields.currency(values, "currency", ctx.creditor.currency)
    amount = fields.amount(ctx, values, "amount")
    if amount is None:
        raise RowError("amount", None, "amount is empty")
    if amount < 0:
        # ERP exports often list credit notes as negative invoices.
        if kind not in (None, DocumentKind.CREDIT_NOTE):
            raise RowError("amount", values.get("amount"), f"negative amount on a {kind}")
        kind = DocumentKind.CREDIT_NOTE
        amount = -amount
    amount_minor = to_minor(amount, currency)
    if amount_minor == 0:
        raise RowError("amount", values.get("amount"), "amount is zero")
    kind = kind or DocumentKind.INVOICE
    balance = fields.amount(ctx, values, "balance")
    balance_minor = None
    if balance is not None:
        if balance < 0 and kind != DocumentKind.CREDIT_NOTE:
            raise RowError("balance", values.get("balance"), "negative balance on a document")
        balance_minor = to_minor(abs(balance), currency)
        if balance_minor > amount_minor:
            raise RowError(
                "balance", values.get("balance"), f"balance is larger than the amount {amount}"
            )
    due_date = fields.date(ctx, values, "due_date")
    issue_date = fields.date(ctx, values, "issue_date")
    if due_date is None:
        raise RowError("due_date", None, "due date is empty")
    if issue_date and due_date < issue_date:
        raise RowError(
            "due_date", values.get("due_date"), f"due date is before the issue date {issue_date}"
        )
    return DocumentData(
        row=row,
        external_id=external_id,
        number=number or external_id,
        kind=kind,
        currency=currency,
        amount_minor=amount_minor,
        balance_minor=balance_minor,
        issue_date=issue_date,
        due_date=due_date,
        debtor=debtor,
    )


class DocumentImporter(Importer):
    kind = "documents"
    columns = DOCUMENT_COLUMNS
    required = [
        ("external_id", "number"),
        ("debtor_external_id", "debtor_tax_id"),
        ("due_date",),
        ("amount",),
    ]
    amount_fields = ("amount", "balance")
    date_fields = ("issue_date", "due_date")
    key_fields = ("external_id", "number")

    @classmethod
    def refuse_for(cls, creditor: Creditor, options: ImportOptions) -> str | None:
        if options.full_snapshot and creditor.balance_mode != BalanceMode.ERP:
            return (
                f"--full-snapshot needs balance mode 'erp'; creditor {creditor.code} keeps its "
                "balances in Cartera's ledger"
            )
        return None

    def __init__(self, ctx: ImportContext):
        super().__init__(ctx)
        self.erp = ctx.creditor.balance_mode == BalanceMode.ERP
        self.debtors = DebtorDirectory(ctx)
        self.recorded_by = ctx.actor.label

    def process(self, rows: list[Row]) -> ChunkOutcome:
        outcome = ChunkOutcome()
        parsed: list[DocumentData] = []
        for row in rows:
            try:
                parsed.append(parse_document(self.ctx, row))
            except RowError as error:
                outcome.reject(row, error)
        debtor_of = self._resolve_debtors(parsed, outcome)
        parsed = [data for data in parsed if data.row.line in debtor_of]
        existing = {
            document.external_id: document
            for document in Document.objects.select_for_update().filter(
                creditor=self.ctx.creditor, external_id__in=[d.external_id for d in parsed]
            )
        }
        now = timezone.now()
        fresh: list[tuple[DocumentData, Debtor | DebtorRef]] = []
        entries: list[tuple[object, ...]] = []
        changed: list[Document] = []
        for data in parsed:
            debtor = debtor_of[data.row.line]
            document = existing.get(data.external_id)
            if document is None:
                fresh.append((data, debtor))
                continue
            try:
                if self._update(document, data, debtor, now, entries):
                    changed.append(document)
                    outcome.updated += 1
                else:
                    outcome.unchanged += 1
            except RowError as error:
                outcome.reject(data.row, error)
        rows_insert(Document, _DOCUMENT_ROW, self._new_rows(fresh, now, entries))
        outcome.created += len(fresh)
        rows_insert(LedgerEntry, _ENTRY_ROW, entries)
        rows_update(
            Document,
            [*_UPDATABLE, "balance_minor", "status", "updated_at", "batch_id"],
            [
                (
                    d.pk,
                    *(getattr(d, name) for name in _UPDATABLE),
                    d.balance_minor,
                    d.status,
                    d.updated_at,
                    self.ctx.batch.pk,
                )
                for d in changed
            ],
        )
        return outcome

    def _new_rows(
        self,
        fresh: list[tuple[DocumentData, Debtor | DebtorRef]],
        now: datetime.datetime,
        entries: list[tuple[object, ...]],
    ) -> list[tuple[object, ...]]:
        """Rows for the new documents, their charge and any balance already paid."""
        ids = ids_reserve(Document, len(fresh))
        references = references_allocate(creditor=self.ctx.creditor, count=len(fresh))
        rows: list[tuple[object, ...]] = []
        for (data, debtor), pk, reference in zip(fresh, ids, references, strict=True):
            signed_amount = data.sign * data.amount_minor
            balance = signed_amount
            entries.append(
                self._entry(
                    pk,
                    data.currency,
                    EntryKind.CREDIT if data.sign < 0 else EntryKind.CHARGE,
                    signed_amount,
                    # Without an issue date the document exists at least from the day it was
                    # loaded.
                    data.issue_date or min(data.due_date, self.ctx.as_of),
                    now,
                )
            )
            if data.balance_minor is not None and data.balance_minor != data.amount_minor:
                paid = data.sign * (data.balance_minor - data.amount_minor)
                booked = max(self.ctx.as_of, data.issue_date) if data.issue_date else self.ctx.as_of
                entries.append(
                    self._entry(pk, data.currency, EntryKind.PRIOR_PAYMENT, paid, booked, now)
                )
                balance += paid
            rows.append(
                (
                    pk,
                    self.ctx.creditor.pk,
                    debtor.pk,
                    data.kind,
                    data.number,
                    data.external_id,
                    data.issue_date,
                    data.due_date,
                    data.currency,
                    data.amount_minor,
                    balance,
                    DocumentStatus.OPEN if balance else DocumentStatus.CLOSED,
                    reference,
                    # Detailed payments loaded later may explain this prior payment.
                    signed_amount - balance if data.sign > 0 else 0,
                    self.ctx.batch.pk,
                    now,
                    now,
                )
            )
        return rows

    def _resolve_debtors(
        self, parsed: list[DocumentData], outcome: ChunkOutcome
    ) -> dict[int, Debtor | DebtorRef]:
        """{row line: debtor}; rows whose debtor cannot be found or created are rejected."""
        if self.ctx.fields & DEBTOR_DETAIL_COLUMNS:
            results = self.debtors.upsert([(d.row, d.debtor) for d in parsed], outcome)
            # Count each debtor once per chunk, however many of its documents the chunk has.
            states = {debtor.pk: state for debtor, state in results.values()}
            outcome.debtors.update(state for state in states.values() if state != "unchanged")
            return {line: debtor for line, (debtor, _) in results.items()}
        external_ids = {d.debtor.external_id for d in parsed if d.debtor.external_id}
        tax_ids = {d.debtor.tax.number for d in parsed if d.debtor.tax and not d.debtor.external_id}
        by_external, by_tax = self.debtors.refs(external_ids, tax_ids)
        debtor_of: dict[int, Debtor | DebtorRef] = {}
        for data in parsed:
            if data.debtor.external_id:
                debtor = by_external.get(data.debtor.external_id)
                if debtor is None:
                    outcome.reject(
                        data.row,
                        RowError(
                            "debtor_external_id",
                            data.debtor.external_id,
                            "no such debtor: import the debtors first, or add the debtor's "
                            "name column so this file creates it",
                        ),
                    )
                    continue
            else:
                assert data.debtor.tax is not None
                matches = by_tax.get(data.debtor.tax.number, [])
                if len(matches) != 1:
                    reason = (
                        "no debtor has this tax id"
                        if not matches
                        else f"{len(matches)} debtors share this tax id; use debtor_external_id"
                    )
                    outcome.reject(
                        data.row, RowError("debtor_tax_id", data.debtor.tax.display, reason)
                    )
                    continue
                debtor = matches[0]
            debtor_of[data.row.line] = debtor
        return debtor_of

    def _entry(
        self,
        document_id: int,
        currency: str,
        kind: str,
        amount_minor: int,
        effective_date: datetime.date,
        now: datetime.datetime,
        memo: str = "",
    ) -> tuple[object, ...]:
        return (
            self.ctx.creditor.pk,
            document_id,
            kind,
            amount_minor,
            currency,
            effective_date,
            self.ctx.batch.pk,
            memo,
            self.recorded_by,
            now,
        )

    def _booking_date(self, document: Document) -> datetime.date:
        """Balance changes learnt from a file are dated --as-of, never before the issue."""
        return max(self.ctx.as_of, document.issue_date) if document.issue_date else self.ctx.as_of

    def _update(
        self,
        document: Document,
        data: DocumentData,
        debtor: Debtor | DebtorRef,
        now: datetime.datetime,
        entries: list[tuple[object, ...]],
    ) -> bool:
        if document.debtor_id != debtor.pk:
            raise RowError(
                "debtor_external_id",
                debtor.external_id,
                f"document {document.external_id} belongs to another debtor",
            )
        if document.currency != data.currency:
            raise RowError(
                "currency",
                data.currency,
                f"the document is in {document.currency}; it cannot change",
            )
        old_sign = -1 if document.kind == DocumentKind.CREDIT_NOTE else 1
        if old_sign != data.sign:
            raise RowError("kind", data.kind, f"a {document.kind} cannot become a {data.kind}")
        changed = False
        for name in ("number", "kind", "issue_date", "due_date"):
            if getattr(document, name) != getattr(data, name):
                setattr(document, name, getattr(data, name))
                changed = True
        if document.amount_minor != data.amount_minor:
            delta = data.sign * (data.amount_minor - document.amount_minor)
            if data.sign * (document.balance_minor + delta) < 0:
                raise RowError(
                    "amount",
                    data.row.values.get("amount"),
                    "the new amount is below what was already paid on this document",
                )
            entries.append(
                self._entry(
                    document.pk,
                    document.currency,
                    EntryKind.ADJUSTMENT,
                    delta,
                    self._booking_date(document),
                    now,
                    memo=(
                        f"amount changed from {minor_str(document.amount_minor, document.currency)}"
                        f" to {minor_str(data.amount_minor, document.currency)}"
                    ),
                )
            )
            document.amount_minor = data.amount_minor
            document.balance_minor += delta
            changed = True
        if self.erp and data.balance_minor is not None:
            target = data.sign * data.balance_minor
            difference = target - document.balance_minor
            if difference:
                reduces = data.sign * difference < 0
                entries.append(
                    self._entry(
                        document.pk,
                        document.currency,
                        EntryKind.EXTERNAL_PAYMENT if reduces else EntryKind.ADJUSTMENT,
                        difference,
                        self._booking_date(document),
                        now,
                        memo="balance set by the ERP",
                    )
                )
                document.balance_minor = target
                changed = True
        if changed:
            document.status = (
                DocumentStatus.OPEN if document.balance_minor else DocumentStatus.CLOSED
            )
            document.updated_at = now
            document.batch = self.ctx.batch
        return changed

    def finish(self, result: ImportResult) -> None:
        """A full ERP snapshot closes the open documents it no longer lists."""
        if not (self.erp and self.ctx.options.full_snapshot):
            return
        listed = self.ctx.first_line_of
        now = timezone.now()
        missing = [
            document
            for document in Document.objects.select_for_update()
            .filter(creditor=self.ctx.creditor)
            .exclude(balance_minor=0)
            .only("id", "external_id", "balance_minor", "currency", "issue_date", "due_date")
            .iterator(chunk_size=5000)
            if document.external_id not in listed
        ]
        entries = []
        for document in missing:
            entries.append(
                self._entry(
                    document.pk,
                    document.currency,
                    EntryKind.EXTERNAL_PAYMENT,
                    -document.balance_minor,
                    self._booking_date(document),
                    now,
                    memo="closed: missing from the ERP's full snapshot",
                )
            )
        rows_insert(LedgerEntry, _ENTRY_ROW, entries)
        rows_update(
            Document,
            ["balance_minor", "status", "updated_at", "batch_id"],
            [(d.pk, 0, DocumentStatus.CLOSED, now, self.ctx.batch.pk) for d in missing],
        )
        result.closed = len(missing)
