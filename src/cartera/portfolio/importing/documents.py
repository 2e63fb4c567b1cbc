"""Documents (invoices, notes, installments), in ledger or ERP balance mode."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from cartera.core.bulk import (
    copy_text,
    copy_write,
    ids_reserve,
    rows_insert,
    rows_update,
    select_in,
)
from cartera.core.money import minor_str
from cartera.portfolio.identity import TaxId
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
    Prepared,
    RowError,
)
from cartera.portfolio.importing.reader import EXTRA, Row
from cartera.portfolio.importing.references import references_reserve
from cartera.portfolio.importing.values import parse_amount
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
    "prior_net_minor",
    "prior_on",
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


class DocumentData:
    """One document row, read and checked."""

    __slots__ = (
        "amount_minor",
        "balance_minor",
        "currency",
        "debtor",
        "debtor_external_id",
        "debtor_tax",
        "due_date",
        "external_id",
        "issue_date",
        "kind",
        "number",
        "row",
        "sign",
    )

    def __init__(
        self,
        row: Row,
        external_id: str,
        number: str,
        kind: str,
        currency: str,
        amount_minor: int,
        balance_minor: int | None,
        issue_date: datetime.date | None,
        due_date: datetime.date,
        debtor_external_id: str | None,
        debtor_tax: TaxId | None,
        debtor: DebtorData | None,
    ) -> None:
        self.row = row
        self.external_id = external_id
        self.number = number
        self.kind = kind
        self.currency = currency
        self.amount_minor = amount_minor
        self.balance_minor = balance_minor
        self.issue_date = issue_date
        self.due_date = due_date
        # Who the row names; with the debtor's own columns, `debtor` has all of them.
        self.debtor_external_id = debtor_external_id
        self.debtor_tax = debtor_tax
        self.debtor = debtor
        self.sign = -1 if kind == DocumentKind.CREDIT_NOTE else 1


def parse_document(ctx: ImportContext, row: Row) -> DocumentData:
    values = row.values
    if EXTRA in values:
        raise RowError("", values[EXTRA], _("more cells than column headers"))
    number = fields.text(values, "number", max_length=80)
    external_id = fields.text(values, "external_id", max_length=80) or number
    if external_id is None:
        raise RowError("number", None, _("the document has neither external_id nor number"))
    first = ctx.first_line_of.get(external_id)
    if first is not None and first != row.line:
        raise RowError(
            "external_id",
            external_id,
            _("appears twice in this file (first at line %(line)s)") % {"line": first},
        )
    if "debtor_external_id" not in values and "debtor_tax_id" not in values:
        raise RowError("debtor_external_id", None, _("no debtor column"))
    debtor: DebtorData | None = None
    if ctx.fields & DEBTOR_DETAIL_COLUMNS:
        debtor = parse_debtor(ctx, values, prefix="debtor_")
        debtor_external_id, tax = debtor.external_id, debtor.tax
    else:
        debtor_external_id = fields.text(values, "debtor_external_id", max_length=80)
        raw_tax = fields.text(values, "debtor_tax_id", max_length=40)
        tax = (
            parse_tax_id(raw_tax, "debtor_tax_id", ctx.creditor.country, None) if raw_tax else None
        )
    if not debtor_external_id and not tax:
        raise RowError("debtor_external_id", None, _("the debtor is not given"))
    kind = fields.document_kind(values, "kind")
    currency = fields.currency(values, "currency", ctx.creditor.currency)
    amount = fields.amount_minor(ctx, values, "amount", currency)
    if amount is None:
        raise RowError("amount", None, _("amount is empty"))
    amount_minor, sign = amount
    if sign < 0:
        # ERP exports often list credit notes as negative invoices.
        if kind not in (None, DocumentKind.CREDIT_NOTE):
            raise RowError(
                "amount",
                values.get("amount"),
                _("negative amount on a %(kind)s") % {"kind": kind},
            )
        kind = DocumentKind.CREDIT_NOTE
    if amount_minor == 0:
        raise RowError("amount", values.get("amount"), _("amount is zero"))
    kind = kind or DocumentKind.INVOICE
    balance = fields.amount_minor(ctx, values, "balance", currency)
    balance_minor = None
    if balance is not None:
        balance_minor, balance_sign = balance
        if balance_sign < 0 and kind != DocumentKind.CREDIT_NOTE:
            raise RowError("balance", values.get("balance"), _("negative balance on a document"))
        if balance_minor > amount_minor:
            raise RowError(
                "balance",
                values.get("balance"),
                _("balance is larger than the amount %(amount)s")
                % {"amount": _amount_text(ctx, values)},
            )
    due_date = fields.date(ctx, values, "due_date")
    issue_date = fields.date(ctx, values, "issue_date")
    if due_date is None:
        raise RowError("due_date", None, _("due date is empty"))
    if issue_date and due_date < issue_date:
        raise RowError(
            "due_date",
            values.get("due_date"),
            _("due date is before the issue date %(date)s") % {"date": issue_date},
        )
    return DocumentData(
        row,
        external_id,
        number or external_id,
        kind,
        currency,
        amount_minor,
        balance_minor,
        issue_date,
        due_date,
        debtor_external_id,
        tax,
        debtor,
    )


def _amount_text(ctx: ImportContext, values: dict[str, object]) -> str:
    """The row's amount as a message quotes it: the cell read exactly, without its sign."""
    fmt = ctx.formats.get("amount")
    return str(abs(parse_amount(values.get("amount"), fmt.decimal if fmt and fmt.decimal else ".")))


def _insert_later(
    model: type[Document | LedgerEntry], columns: tuple[str, ...], rows: list[Any]
) -> Callable[[], None]:
    """The write of `rows`: `rows_insert`, or on PostgreSQL a COPY whose text is formatted now
    (by hand: a million documents make nearly three million rows), so that a writer thread
    (`ImportContext.write_later`) only has to send it."""
    if not rows:
        return lambda: None
    if connection.vendor != "postgresql":
        return partial(rows_insert, model, columns, rows)
    lines = _document_lines(rows) if columns is _DOCUMENT_ROW else _entry_lines(rows)
    return partial(copy_write, model, columns, lines)


def _insert(model: type[Document | LedgerEntry], columns: tuple[str, ...], rows: list[Any]) -> None:
    _insert_later(model, columns, rows)()


def _field(text: str) -> str:
    return text if text.isprintable() and "\\" not in text else copy_text(text)


def _document_lines(rows: list[tuple[Any, ...]]) -> list[str]:
    """_DOCUMENT_ROW rows as COPY text; kind, currency, status and reference need no escaping."""
    iso: dict[Any, str] = {None: "\\N"}
    lines = []
    for (
        pk,
        creditor_id,
        debtor_id,
        kind,
        number,
        external_id,
        issue_date,
        due_date,
        currency,
        amount,
        balance,
        status,
        reference,
        unmatched,
        prior_net,
        prior_on,
        batch_id,
        created_at,
        updated_at,
    ) in rows:
        issued = iso.get(issue_date) or iso.setdefault(issue_date, issue_date.isoformat())
        prior = iso.get(prior_on) or iso.setdefault(prior_on, prior_on.isoformat())
        due = iso.get(due_date) or iso.setdefault(due_date, due_date.isoformat())
        created = iso.get(created_at) or iso.setdefault(created_at, created_at.isoformat())
        updated = iso.get(updated_at) or iso.setdefault(updated_at, updated_at.isoformat())
        batch = "\\N" if batch_id is None else batch_id
        lines.append(
            f"{pk}\t{creditor_id}\t{debtor_id}\t{kind!s}\t{_field(number)}\t"
            f"{_field(external_id)}\t{issued}\t{due}\t{currency}\t{amount}\t{balance}\t"
            f"{status!s}\t{reference}\t{unmatched}\t{prior_net}\t{prior}\t{batch}\t{created}\t"
            f"{updated}\n"
        )
    return lines


def _entry_lines(rows: list[tuple[Any, ...]]) -> list[str]:
    """_ENTRY_ROW rows as COPY text."""
    iso: dict[Any, str] = {}
    texts: dict[str, str] = {}
    lines = []
    for (
        creditor_id,
        document_id,
        kind,
        amount,
        currency,
        effective_date,
        batch_id,
        memo,
        recorded_by,
        recorded_at,
    ) in rows:
        effective = iso.get(effective_date) or iso.setdefault(
            effective_date, effective_date.isoformat()
        )
        recorded = iso.get(recorded_at) or iso.setdefault(recorded_at, recorded_at.isoformat())
        by = texts.get(recorded_by) or texts.setdefault(recorded_by, _field(recorded_by))
        batch = "\\N" if batch_id is None else batch_id
        lines.append(
            f"{creditor_id}\t{document_id}\t{kind!s}\t{amount}\t{currency}\t{effective}\t"
            f"{batch}\t{_field(memo)}\t{by}\t{recorded}\n"
        )
    return lines


class _Stored:
    """A document already in the database, as much of it as a re-import reads and changes."""

    __slots__ = (
        "amount_minor",
        "balance_minor",
        "currency",
        "debtor_id",
        "due_date",
        "external_id",
        "issue_date",
        "kind",
        "number",
        "pk",
        "status",
        "updated_at",
    )
    columns = (
        "id",
        "external_id",
        "debtor_id",
        "kind",
        "number",
        "issue_date",
        "due_date",
        "currency",
        "amount_minor",
        "balance_minor",
        "status",
    )

    pk: int
    external_id: str
    debtor_id: int
    kind: str
    number: str
    issue_date: datetime.date | None
    due_date: datetime.date
    currency: str
    amount_minor: int
    balance_minor: int
    status: str

    def __init__(self, record: tuple[Any, ...]) -> None:
        (
            self.pk,
            self.external_id,
            self.debtor_id,
            self.kind,
            self.number,
            self.issue_date,
            self.due_date,
            self.currency,
            self.amount_minor,
            self.balance_minor,
            self.status,
        ) = record
        self.updated_at: datetime.datetime | None = None


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
            return _(
                "--full-snapshot needs balance mode 'erp'; creditor %(creditor)s keeps its "
                "balances in Cartera's ledger"
            ) % {"creditor": creditor.code}
        return None

    def __init__(self, ctx: ImportContext):
        super().__init__(ctx)
        self.erp = ctx.creditor.balance_mode == BalanceMode.ERP
        self.debtors = DebtorDirectory(ctx)
        self.recorded_by = ctx.actor.label

    @classmethod
    def keep_all_keys(cls, options: ImportOptions) -> bool:
        return options.full_snapshot  # finish() closes what the file does not list

    def prepare(self, rows: list[Row]) -> Prepared[DocumentData]:
        prepared: Prepared[DocumentData] = Prepared([])
        ctx = self.ctx
        for row in rows:
            try:
                prepared.items.append(parse_document(ctx, row))
            except RowError as error:
                prepared.reject(row, error)
        return prepared

    def write(self, prepared: Prepared[DocumentData]) -> ChunkOutcome:
        outcome = prepared.outcome()
        parsed = prepared.items
        ctx = self.ctx
        debtor_of = self._resolve_debtors(parsed, outcome)
        parsed = [data for data in parsed if data.row.line in debtor_of]
        existing = self._stored({data.external_id for data in parsed})
        now = timezone.now()
        fresh: list[tuple[DocumentData, Debtor | DebtorRef]] = []
        entries: list[tuple[object, ...]] = []
        changed: list[_Stored] = []
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
        # New documents and their entries: nothing else in the chunk reads them, so they may be
        # written after it commits, while the next chunk is prepared.
        new_entries: list[tuple[object, ...]] = []
        documents = _insert_later(Document, _DOCUMENT_ROW, self._new_rows(fresh, now, new_entries))
        their_entries = _insert_later(LedgerEntry, _ENTRY_ROW, new_entries)
        outcome.created += len(fresh)
        # What changes documents already stored commits with the chunk: their balances and the
        # entries that explain them are never apart.
        _insert(LedgerEntry, _ENTRY_ROW, entries)
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
                    ctx.batch.pk,
                )
                for d in changed
            ],
        )

        def write_new() -> None:
            documents()
            their_entries()

        ctx.write_later(write_new)
        return outcome

    def _stored(self, external_ids: set[str]) -> dict[str, _Stored]:
        """The chunk's documents that already exist, locked until the chunk commits."""
        if not external_ids:
            return {}
        sql, params = select_in(
            f"SELECT {', '.join(_Stored.columns)} FROM portfolio_document",
            "external_id",
            external_ids,
            "creditor_id = %s",
            [self.ctx.creditor.pk],
            lock=True,
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {record[1]: _Stored(record) for record in cursor.fetchall()}

    def _new_rows(
        self,
        fresh: list[tuple[DocumentData, Debtor | DebtorRef]],
        now: datetime.datetime,
        entries: list[tuple[object, ...]],
    ) -> list[tuple[object, ...]]:
        """Rows for the new documents, their charge and any balance already paid."""
        ids = ids_reserve(Document, len(fresh))
        references = references_reserve(self.ctx.creditor, len(fresh))
        creditor_id, batch_id, as_of = self.ctx.creditor.pk, self.ctx.batch.pk, self.ctx.as_of
        recorded_by = self.recorded_by
        charge, credit, prior = EntryKind.CHARGE, EntryKind.CREDIT, EntryKind.PRIOR_PAYMENT
        opened, closed = DocumentStatus.OPEN, DocumentStatus.CLOSED
        rows: list[tuple[object, ...]] = []
        add_row, add_entry = rows.append, entries.append
        for (data, debtor), pk, reference in zip(fresh, ids, references, strict=True):
            sign, currency, issue_date = data.sign, data.currency, data.issue_date
            signed_amount = sign * data.amount_minor
            balance = signed_amount
            # Without an issue date the document exists at least from the day it was loaded.
            add_entry(
                (
                    creditor_id,
                    pk,
                    credit if sign < 0 else charge,
                    signed_amount,
                    currency,
                    issue_date or min(data.due_date, as_of),
                    batch_id,
                    "",
                    recorded_by,
                    now,
                )
            )
            paid, booked = 0, None
            if data.balance_minor is not None and data.balance_minor != data.amount_minor:
                paid = sign * (data.balance_minor - data.amount_minor)
                booked = max(as_of, issue_date) if issue_date else as_of
                add_entry(
                    (creditor_id, pk, prior, paid, currency, booked, batch_id, "", recorded_by, now)
                )
                balance += paid
            add_row(
                (
                    pk,
                    creditor_id,
                    debtor.pk,
                    data.kind,
                    data.number,
                    data.external_id,
                    issue_date,
                    data.due_date,
                    currency,
                    data.amount_minor,
                    balance,
                    opened if balance else closed,
                    reference,
                    # Detailed payments loaded later may explain this prior payment.
                    signed_amount - balance if sign > 0 else 0,
                    paid,
                    booked,
                    batch_id,
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
            results = self.debtors.upsert(
                [(d.row, d.debtor) for d in parsed if d.debtor is not None], outcome
            )
            # Count each debtor once per chunk, however many of its documents the chunk has.
            states = {debtor.pk: state for debtor, state in results.values()}
            outcome.debtors.update(state for state in states.values() if state != "unchanged")
            return {line: debtor for line, (debtor, _) in results.items()}
        external_ids = {d.debtor_external_id for d in parsed if d.debtor_external_id}
        tax_ids = {d.debtor_tax.number for d in parsed if d.debtor_tax and not d.debtor_external_id}
        by_external, by_tax = self.debtors.refs(external_ids, tax_ids)
        debtor_of: dict[int, Debtor | DebtorRef] = {}
        for data in parsed:
            if data.debtor_external_id:
                debtor = by_external.get(data.debtor_external_id)
                if debtor is None:
                    outcome.reject(
                        data.row,
                        RowError(
                            "debtor_external_id",
                            data.debtor_external_id,
                            _(
                                "no such debtor: import the debtors first, or add the "
                                "debtor's name column so this file creates it"
                            ),
                        ),
                    )
                    continue
            else:
                assert data.debtor_tax is not None
                matches = by_tax.get(data.debtor_tax.number, [])
                if len(matches) != 1:
                    reason = (
                        _("no debtor has this tax id")
                        if not matches
                        else _("%(count)s debtors share this tax id; use debtor_external_id")
                        % {"count": len(matches)}
                    )
                    outcome.reject(
                        data.row, RowError("debtor_tax_id", data.debtor_tax.display, reason)
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

    def _booking_date(self, document: _Stored | Document) -> datetime.date:
        """Balance changes learnt from a file are dated --as-of, never before the issue."""
        return max(self.ctx.as_of, document.issue_date) if document.issue_date else self.ctx.as_of

    def _update(
        self,
        document: _Stored,
        data: DocumentData,
        debtor: Debtor | DebtorRef,
        now: datetime.datetime,
        entries: list[tuple[object, ...]],
    ) -> bool:
        if document.debtor_id != debtor.pk:
            raise RowError(
                "debtor_external_id",
                debtor.external_id,
                _("document %(document)s belongs to another debtor")
                % {"document": document.external_id},
            )
        if document.currency != data.currency:
            raise RowError(
                "currency",
                data.currency,
                _("the document is in %(currency)s; it cannot change")
                % {"currency": document.currency},
            )
        old_sign = -1 if document.kind == DocumentKind.CREDIT_NOTE else 1
        if old_sign != data.sign:
            raise RowError(
                "kind",
                data.kind,
                _("a %(old)s cannot become a %(new)s") % {"old": document.kind, "new": data.kind},
            )
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
                    _("the new amount is below what was already paid on this document"),
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
        return changed

    def finish(self, result: ImportResult) -> None:
        """A full ERP snapshot closes the open documents it no longer lists."""
        if not (self.erp and self.ctx.options.full_snapshot):
            return
        listed = self.ctx.first_line_of.listed
        assert listed is not None  # kept for a full snapshot (keep_all_keys)
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
        _insert(LedgerEntry, _ENTRY_ROW, entries)
        rows_update(
            Document,
            ["balance_minor", "status", "updated_at", "batch_id"],
            [(d.pk, 0, DocumentStatus.CLOSED, now, self.ctx.batch.pk) for d in missing],
        )
        result.closed = len(missing)
