"""Payments: money received, applied to the document it names or oldest-due-first."""

from __future__ import annotations

import datetime
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from cartera.core.bulk import ids_reserve, rows_insert, rows_update, select_in
from cartera.core.money import from_minor
from cartera.portfolio.identity import compact_reference, is_valid_payment_reference
from cartera.portfolio.importing import fields
from cartera.portfolio.importing.columns import PAYMENT_COLUMNS
from cartera.portfolio.importing.debtors import DebtorDirectory, parse_tax_id
from cartera.portfolio.importing.pipeline import (
    ChunkOutcome,
    ImportContext,
    Importer,
    ImportOptions,
    Prepared,
    RowError,
)
from cartera.portfolio.importing.reader import Row
from cartera.portfolio.models import (
    Allocation,
    BalanceMode,
    Creditor,
    Document,
    DocumentStatus,
    EntryKind,
    LedgerEntry,
    Payment,
)
from cartera.portfolio.payments import PAYMENT_ROW, applied_late_on

_DIGIT_RUNS = re.compile(r"\d[\d -]*\d")


_ENTRY_ROW = (
    "id",
    "creditor_id",
    "document_id",
    "kind",
    "amount_minor",
    "currency",
    "effective_date",
    "payment_id",
    "reverses_id",
    "batch_id",
    "memo",
    "recorded_by",
    "recorded_at",
)
_ALLOCATION_ROW = ("payment_id", "document_id", "amount_minor", "entry_id", "created_at")


def quoted_in(reference: str) -> str | None:
    """The payment reference quoted in a payment's reference text, when it is one of ours
    (check digit valid).

    Banks wrap it in text ("Ref 0000000123-4 pago factura"), so every run of digits is tried.
    """
    if not reference:
        return None
    for candidate in _DIGIT_RUNS.findall(reference):
        if is_valid_payment_reference(candidate):
            return compact_reference(candidate)
    return None


class _Doc:
    """A document a chunk of payments may apply to, as much of it as that needs (and changes)."""

    __slots__ = (
        "balance_minor",
        "currency",
        "debtor_id",
        "due_date",
        "external_id",
        "issue_date",
        "number",
        "payment_reference",
        "pk",
        "prior_net_minor",
        "status",
        "unmatched_prior_minor",
    )
    columns = (
        "id",
        "external_id",
        "number",
        "payment_reference",
        "debtor_id",
        "currency",
        "issue_date",
        "due_date",
        "balance_minor",
        "unmatched_prior_minor",
        "prior_net_minor",
        "status",
    )
    pk: int
    external_id: str
    number: str
    payment_reference: str
    debtor_id: int
    currency: str
    issue_date: datetime.date | None
    due_date: datetime.date
    balance_minor: int
    unmatched_prior_minor: int
    prior_net_minor: int
    status: str

    def __init__(self, record: tuple[Any, ...]) -> None:
        (
            self.pk,
            self.external_id,
            self.number,
            self.payment_reference,
            self.debtor_id,
            self.currency,
            self.issue_date,
            self.due_date,
            self.balance_minor,
            self.unmatched_prior_minor,
            self.prior_net_minor,
            self.status,
        ) = record


class _Debtor:
    """A debtor a payment may belong to."""

    __slots__ = ("external_id", "payment_reference", "pk", "tax_id")

    def __init__(self, record: tuple[Any, ...]) -> None:
        self.pk, self.external_id, self.tax_id, self.payment_reference = record


class _Recorded:
    """A payment already recorded, as a re-import compares it."""

    __slots__ = ("amount_minor", "currency", "date", "debtor_external_id", "external_id")

    def __init__(self, record: tuple[Any, ...]) -> None:
        (
            self.external_id,
            self.date,
            self.amount_minor,
            self.currency,
            self.debtor_external_id,
        ) = record

    @property
    def amount(self) -> object:
        return from_minor(self.amount_minor, self.currency)


@dataclass
class PaymentData:
    row: Row
    external_id: str | None
    debtor_external_id: str | None
    debtor_tax_id: str | None
    date: datetime.date
    currency: str
    amount_minor: int
    document_external_id: str | None
    document_number: str | None
    reference: str
    method: str

    # The payment reference the debtor quoted, when it is one of ours: see `quoted_in`.
    quoted_reference: str | None = field(init=False)

    def __post_init__(self) -> None:
        self.quoted_reference = quoted_in(self.reference)

    def content_key(self) -> str:
        parts = [
            self.debtor_external_id or self.debtor_tax_id or "",
            self.date.isoformat(),
            str(self.amount_minor),
            self.currency,
            self.document_external_id or self.document_number or "",
            self.reference,
            self.method,
        ]
        return hashlib.sha1("|".join(parts).encode()).hexdigest()[:20]


class PaymentImporter(Importer):
    kind = "payments"
    columns = PAYMENT_COLUMNS
    required = [("date",), ("amount",)]
    amount_fields = ("amount",)
    date_fields = ("date",)

    @classmethod
    def refuse_for(cls, creditor: Creditor, options: ImportOptions) -> str | None:
        if creditor.balance_mode == BalanceMode.ERP:
            return _(
                "creditor %(creditor)s keeps its balances in the ERP (balance mode 'erp'): "
                "load the ERP's open items with 'cartera import documents' instead of payments"
            ) % {"creditor": creditor.code}
        return None

    def __init__(self, ctx: ImportContext):
        super().__init__(ctx)
        self.debtors = DebtorDirectory(ctx)
        # Identical rows without an id are told apart by their order in the file.
        self.occurrences: dict[str, int] = defaultdict(int)

    def parse(self, row: Row) -> PaymentData:
        values = row.values
        if "__extra__" in values:
            raise RowError("", values["__extra__"], _("more cells than column headers"))
        external_id = fields.text(values, "external_id", max_length=80)
        if external_id:
            first = self.ctx.first_line_of.get(external_id)
            if first is not None and first != row.line:
                raise RowError(
                    "external_id",
                    external_id,
                    _("appears twice in this file (first at line %(line)s)") % {"line": first},
                )
        date = fields.date(self.ctx, values, "date")
        if date is None:
            raise RowError("date", None, _("payment date is empty"))
        currency = fields.currency(values, "currency", self.ctx.creditor.currency)
        amount = fields.amount_minor(self.ctx, values, "amount", currency)
        if amount is None:
            raise RowError("amount", None, _("amount is empty"))
        amount_minor, sign = amount
        if sign <= 0:
            raise RowError(
                "amount",
                values.get("amount"),
                _("a payment must be positive (a refund or correction is a reversal in Cartera)"),
            )
        if amount_minor == 0:
            raise RowError("amount", values.get("amount"), _("amount rounds to zero"))
        raw_tax = fields.text(values, "debtor_tax_id", max_length=40)
        tax = parse_tax_id(raw_tax, "debtor_tax_id", self.ctx.creditor.country, None)
        return PaymentData(
            row=row,
            external_id=external_id,
            debtor_external_id=fields.text(values, "debtor_external_id", max_length=80),
            debtor_tax_id=tax.number if tax else None,
            date=date,
            currency=currency,
            amount_minor=amount_minor,
            document_external_id=fields.text(values, "document_external_id", max_length=80),
            document_number=fields.text(values, "document_number", max_length=80),
            reference=fields.text(values, "reference", max_length=120) or "",
            method=fields.text(values, "method", max_length=40) or "",
        )

    def prepare(self, rows: list[Row]) -> Prepared[PaymentData]:
        prepared: Prepared[PaymentData] = Prepared([])
        for row in rows:
            try:
                data = self.parse(row)
            except RowError as error:
                prepared.reject(row, error)
                continue
            if data.external_id is None:
                key = data.content_key()
                self.occurrences[key] += 1
                data.external_id = f"auto-{key}-{self.occurrences[key]}"
            prepared.items.append(data)
        return prepared

    def write(self, prepared: Prepared[PaymentData]) -> ChunkOutcome:
        outcome = prepared.outcome()
        parsed = prepared.items
        if not parsed:
            return outcome
        existing = self._recorded({d.external_id for d in parsed if d.external_id})
        fresh = [d for d in parsed if d.external_id not in existing]
        for data in parsed:
            if data.external_id in existing:
                conflict = self._same_payment(existing[data.external_id], data)
                if conflict:
                    outcome.reject(data.row, conflict)
                else:
                    outcome.unchanged += 1
        if not fresh:
            return outcome
        documents = self._documents_named(fresh)
        debtors = self._debtors_named(fresh, documents)
        targets: list[tuple[PaymentData, _Debtor, _Doc | None]] = []
        for data in fresh:
            try:
                debtor, document = self._resolve(data, debtors, documents)
            except RowError as error:
                outcome.reject(data.row, error)
                continue
            targets.append((data, debtor, document))
        self._apply(targets, documents)
        outcome.created += len(targets)
        return outcome

    def _recorded(self, external_ids: set[str]) -> dict[str, _Recorded]:
        """The chunk's payments that are already recorded."""
        sql, params = select_in(
            "SELECT p.external_id, p.date, p.amount_minor, p.currency, "
            "d.external_id AS debtor_external_id "
            "FROM portfolio_payment p JOIN portfolio_debtor d ON d.id = p.debtor_id",
            "p.external_id",
            external_ids,
            "p.creditor_id = %s",
            [self.ctx.creditor.pk],
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {record[0]: _Recorded(record) for record in cursor.fetchall()}

    def _same_payment(self, payment: _Recorded, data: PaymentData) -> RowError | None:
        mismatches = []
        if payment.date != data.date:
            mismatches.append(_("date %(date)s") % {"date": payment.date})
        if payment.amount_minor != data.amount_minor or payment.currency != data.currency:
            mismatches.append(
                _("amount %(amount)s %(currency)s")
                % {"amount": payment.amount, "currency": payment.currency}
            )
        if data.debtor_external_id and payment.debtor_external_id != data.debtor_external_id:
            mismatches.append(_("debtor %(debtor)s") % {"debtor": payment.debtor_external_id})
        if not mismatches:
            return None
        return RowError(
            "external_id",
            data.external_id,
            _(
                "payment already recorded with %(differences)s; a recorded payment is corrected "
                "by a reversal, not by a new file"
            )
            % {"differences": ", ".join(mismatches)},
        )

    def _select(
        self, select: str, conditions: list[tuple[str, set[Any]]], *, lock: bool
    ) -> list[tuple[Any, ...]]:
        """Rows of `select` (whose first column is the id) of the creditor meeting any of the
        conditions (column, values), each row once."""
        found: dict[Any, tuple[Any, ...]] = {}
        for column, values in conditions:
            if not values:
                continue
            sql, params = select_in(
                select, column, values, "creditor_id = %s", [self.ctx.creditor.pk], lock=lock
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                for record in cursor.fetchall():
                    found.setdefault(record[0], record)
        return list(found.values())

    def _documents_named(self, fresh: list[PaymentData]) -> dict[str, list[_Doc]]:
        """Documents the rows name, keyed 'id:…', 'no:…' and 'ref:…'; locked for this chunk."""
        ids = {d.document_external_id for d in fresh if d.document_external_id}
        numbers = {d.document_number for d in fresh if d.document_number}
        references = {d.quoted_reference for d in fresh if d.quoted_reference}
        found: dict[str, list[_Doc]] = defaultdict(list)
        records = self._select(
            f"SELECT {', '.join(_Doc.columns)} FROM portfolio_document",
            [("external_id", ids), ("number", numbers), ("payment_reference", references)],
            lock=True,
        )
        for record in records:
            document = _Doc(record)
            if document.external_id in ids:
                found[f"id:{document.external_id}"].append(document)
            if document.number in numbers:
                found[f"no:{document.number}"].append(document)
            if document.payment_reference in references:
                found[f"ref:{document.payment_reference}"].append(document)
        return found

    def _debtors_named(
        self, fresh: list[PaymentData], documents: dict[str, list[_Doc]]
    ) -> dict[str, list[_Debtor]]:
        external_ids = {d.debtor_external_id for d in fresh if d.debtor_external_id}
        tax_ids = {d.debtor_tax_id for d in fresh if d.debtor_tax_id}
        references = {d.quoted_reference for d in fresh if d.quoted_reference}
        document_debtors = {doc.debtor_id for docs in documents.values() for doc in docs}
        found: dict[str, list[_Debtor]] = defaultdict(list)
        records = self._select(
            "SELECT id, external_id, tax_id, payment_reference FROM portfolio_debtor",
            [
                ("external_id", external_ids),
                ("tax_id", tax_ids),
                ("payment_reference", references),
                ("id", document_debtors),
            ],
            lock=False,
        )
        for record in records:
            debtor = _Debtor(record)
            found[f"id:{debtor.external_id}"].append(debtor)
            found[f"pk:{debtor.pk}"].append(debtor)
            if debtor.tax_id:
                found[f"tax:{debtor.tax_id}"].append(debtor)
            found[f"ref:{debtor.payment_reference}"].append(debtor)
        return found

    def _resolve(
        self,
        data: PaymentData,
        debtors: dict[str, list[_Debtor]],
        documents: dict[str, list[_Doc]],
    ) -> tuple[_Debtor, _Doc | None]:
        debtor: _Debtor | None = None
        if data.debtor_external_id:
            matches = debtors.get(f"id:{data.debtor_external_id}", [])
            if not matches:
                raise RowError("debtor_external_id", data.debtor_external_id, _("no such debtor"))
            debtor = matches[0]
        elif data.debtor_tax_id:
            matches = debtors.get(f"tax:{data.debtor_tax_id}", [])
            if len(matches) != 1:
                raise RowError(
                    "debtor_tax_id",
                    data.debtor_tax_id,
                    _("no debtor has this tax id")
                    if not matches
                    else _("%(count)s debtors share this tax id; use debtor_external_id")
                    % {"count": len(matches)},
                )
            debtor = matches[0]
        document = self._named_document(data, debtor, documents)
        if document is None and data.quoted_reference:
            by_reference = debtors.get(f"ref:{data.quoted_reference}", [])
            if by_reference and debtor is None:
                debtor = by_reference[0]
        if document is not None:
            owner = debtors[f"pk:{document.debtor_id}"][0]
            if debtor is not None and owner.pk != debtor.pk:
                raise RowError(
                    "document_number",
                    document.number,
                    _("document %(document)s belongs to debtor %(owner)s, not %(debtor)s")
                    % {
                        "document": document.number,
                        "owner": owner.external_id,
                        "debtor": debtor.external_id,
                    },
                )
            debtor = owner
            if document.currency != data.currency:
                raise RowError(
                    "currency",
                    data.currency,
                    _("document %(document)s is in %(currency)s")
                    % {"document": document.number, "currency": document.currency},
                )
        if debtor is None:
            raise RowError(
                "debtor_external_id",
                None,
                _(
                    "cannot tell whose payment this is: give the debtor, a document or a "
                    "payment reference"
                ),
            )
        return debtor, document

    def _named_document(
        self, data: PaymentData, debtor: _Debtor | None, documents: dict[str, list[_Doc]]
    ) -> _Doc | None:
        if data.document_external_id:
            matches = documents.get(f"id:{data.document_external_id}", [])
            if not matches:
                raise RowError(
                    "document_external_id", data.document_external_id, _("no such document")
                )
            return matches[0]
        if data.document_number:
            numbered = documents.get(f"no:{data.document_number}", [])
            matches = numbered
            if debtor is not None:
                matches = [doc for doc in numbered if doc.debtor_id == debtor.pk]
            if not matches:
                reason = _("no such document")
                if numbered:
                    reason = _(
                        "document %(document)s belongs to another debtor, not to %(debtor)s"
                    ) % {
                        "document": data.document_number,
                        "debtor": debtor.external_id if debtor else "",
                    }
                raise RowError("document_number", data.document_number, reason)
            if len(matches) > 1:
                raise RowError(
                    "document_number",
                    data.document_number,
                    _("%(count)s documents have this number; give the debtor too")
                    % {"count": len(matches)},
                )
            return matches[0]
        if data.quoted_reference:
            matches = documents.get(f"ref:{data.quoted_reference}", [])
            return matches[0] if matches else None
        return None

    def _apply(
        self,
        targets: list[tuple[PaymentData, _Debtor, _Doc | None]],
        named: dict[str, list[_Doc]],
    ) -> None:
        """Create the payments and allocate them; balances follow within the chunk."""
        creditor = self.ctx.creditor
        now = timezone.now()
        open_documents = self._open_documents(
            {debtor.pk for _, debtor, doc in targets if doc is None}
        )
        by_pk: dict[int, _Doc] = {doc.pk: doc for docs in named.values() for doc in docs} | {
            doc.pk: doc for docs in open_documents.values() for doc in docs
        }
        ordered = sorted(targets, key=lambda t: (t[0].date, t[0].row.line))
        priors = self._prior_entries([pk for pk, doc in by_pk.items() if doc.unmatched_prior_minor])
        payment_ids = iter(ids_reserve(Payment, len(ordered)))
        payments: list[list[object]] = []
        # (payment id, document, amount, effective date, prior entry it explains or None)
        shares: list[tuple[int, _Doc, int, datetime.date, tuple[int, datetime.date] | None]]
        shares = []
        touched: dict[int, _Doc] = {}
        external_of: dict[int, str] = {}
        for data, debtor, document in ordered:
            payment_id = next(payment_ids)
            external_of[payment_id] = data.external_id or ""
            unapplied = data.amount_minor
            first_share = len(shares)
            if document is not None:
                candidates = [by_pk[document.pk]]
            else:
                candidates = [
                    doc
                    for doc in open_documents.get(debtor.pk, [])
                    if doc.currency == data.currency
                    and (doc.issue_date is None or doc.issue_date <= data.date)
                ]
            # First explain prior payments that a later balance snapshot already counted,
            # then lower what is still owed.
            for doc in candidates:
                prior = priors.get(doc.pk)
                if unapplied == 0 or prior is None or data.date > prior[1]:
                    continue
                share = min(unapplied, doc.unmatched_prior_minor)
                if share <= 0:
                    continue
                effective = max(data.date, doc.issue_date or data.date)
                shares.append((payment_id, doc, share, effective, prior))
                unapplied -= share
                doc.unmatched_prior_minor -= share
                doc.prior_net_minor += share  # the prior_identified entry below
                touched[doc.pk] = doc
            for doc in candidates:
                if unapplied == 0:
                    break
                share = min(unapplied, doc.balance_minor)
                if share <= 0:
                    continue
                effective = max(data.date, doc.issue_date or data.date)
                shares.append((payment_id, doc, share, effective, None))
                unapplied -= share
                doc.balance_minor -= share
                doc.status = DocumentStatus.OPEN if doc.balance_minor else DocumentStatus.CLOSED
                touched[doc.pk] = doc
            payments.append(
                [
                    payment_id,
                    creditor.pk,
                    debtor.pk,
                    data.external_id,
                    data.date,
                    data.currency,
                    data.amount_minor,
                    unapplied,
                    data.reference,
                    data.method,
                    self.ctx.batch.pk,
                    now,
                    applied_late_on(data.date, (share[3] for share in shares[first_share:])),
                ]
            )
        reversals = sum(1 for share in shares if share[4] is not None)
        entry_ids = iter(ids_reserve(LedgerEntry, len(shares) + reversals))
        entries: list[tuple[object, ...]] = []
        allocations = []
        label = self.ctx.actor.label
        batch = self.ctx.batch.pk
        for payment_id, doc, share, effective, prior in shares:
            entry_id = next(entry_ids)
            entries.append(
                (
                    entry_id,
                    creditor.pk,
                    doc.pk,
                    EntryKind.PAYMENT,
                    -share,
                    doc.currency,
                    effective,
                    payment_id,
                    None,
                    batch,
                    "",
                    label,
                    now,
                )
            )
            allocations.append((payment_id, doc.pk, share, entry_id, now))
            if prior is not None:
                # The prior payment is now explained by this one: take it back on its own
                # date, so the balance after the snapshot stays what the file said.
                entries.append(
                    (
                        next(entry_ids),
                        creditor.pk,
                        doc.pk,
                        EntryKind.PRIOR_IDENTIFIED,
                        share,
                        doc.currency,
                        prior[1],
                        payment_id,
                        prior[0],
                        batch,
                        f"identified by payment {external_of[payment_id]}",
                        label,
                        now,
                    )
                )
        rows_insert(Payment, PAYMENT_ROW, payments)
        rows_insert(LedgerEntry, _ENTRY_ROW, entries)
        rows_insert(Allocation, _ALLOCATION_ROW, allocations)
        rows_update(
            Document,
            ["balance_minor", "unmatched_prior_minor", "prior_net_minor", "status", "updated_at"],
            [
                (
                    doc.pk,
                    doc.balance_minor,
                    doc.unmatched_prior_minor,
                    doc.prior_net_minor,
                    doc.status,
                    now,
                )
                for doc in touched.values()
            ],
        )

    def _prior_entries(self, document_ids: list[int]) -> dict[int, tuple[int, datetime.date]]:
        """{document: (id, date) of its prior-payment entry} for documents with one unmatched."""
        if not document_ids:
            return {}
        sql, params = select_in(
            "SELECT document_id, id, effective_date FROM portfolio_ledgerentry",
            "document_id",
            document_ids,
            "kind = %s",
            [EntryKind.PRIOR_PAYMENT.value],
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {
                document_id: (pk, effective_date)
                for document_id, pk, effective_date in cursor.fetchall()
            }

    def _open_documents(self, debtor_ids: set[int]) -> dict[int, list[_Doc]]:
        """Each debtor's documents with something owed, oldest due first."""
        found: dict[int, list[_Doc]] = defaultdict(list)
        if not debtor_ids:
            return found
        sql, params = select_in(
            f"SELECT {', '.join(_Doc.columns)} FROM portfolio_document",
            "debtor_id",
            debtor_ids,
            "(balance_minor > 0 OR unmatched_prior_minor > 0) AND creditor_id = %s",
            [self.ctx.creditor.pk],
            lock=True,
            order_by="due_date, id",
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for record in cursor.fetchall():
                document = _Doc(record)
                found[document.debtor_id].append(document)
        return found
