"""Who paid, and for what: proposals for statement lines, each with one confidence.

Evidence found for a line is grouped by debtor into a proposal. Each kind of evidence has a
weight: the probability that it alone names the right debtor (and documents). A proposal's
strength combines its kinds as independent witnesses, `1 - Π(1 - weight)` (each kind counted
once, at its strongest). Two debtors with evidence compete: each one's confidence is the chance
that it, and none of the others, is the payer:

    P(i) = p_i · Π_{j≠i} (1 - p_j) / (Σ_k p_k · Π_{j≠k} (1 - p_j) + Π_j (1 - p_j))

so a lone proposal keeps its strength and contradicting evidence sends the line to a person.
Strengths are capped at 99 % so that no evidence is ever beyond doubt.

Everything a statement needs is loaded up front in a fixed number of queries (references,
document numbers, tax ids, known accounts, the candidates' open documents, amounts), whatever
the number of lines; proposing is then pure Python.
"""

from __future__ import annotations

import datetime
import itertools
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from stdnum import luhn
from stdnum.co import nit as co_nit

from cartera.cash.sqlsets import fetch, in_set
from cartera.portfolio.models import Creditor

# The weight of each kind of evidence (see the module docstring and docs/cash-application.md).
WEIGHTS: dict[str, float] = {
    # a document's payment reference, check digit valid
    "document_reference": 0.95,
    # the debtor's payment reference, check digit valid
    "debtor_reference": 0.90,
    # the paying account was applied to this debtor by hand before
    "known_account": 0.85,
    # an open document's number in the text (case, spaces, dashes, leading zeros ignored)
    "document_number": 0.75,
    # the debtor's tax id in the text
    "tax_id": 0.75,
    # the amount equals one open document (or the documents the text names)
    "amount_document": 0.60,
    # the amount equals a small set of the debtor's open documents, or all of them
    "amount_set": 0.50,
    # the amount is short of the above by no more than the bank-fee tolerance
    "amount_fee": 0.40,
    # nothing names a debtor, but exactly one open document has this amount (shared among
    # the documents when up to AMOUNT_ONLY_MAX have it)
    "amount_only": 0.40,
}
IDENTITY_KINDS = frozenset(
    {"document_reference", "debtor_reference", "known_account", "document_number", "tax_id"}
)
AMOUNT_ONLY_MAX = 3
_CAP = 0.99
_PROPOSALS_KEPT = 5

_WORD = re.compile(r"[A-Za-z0-9]+")
_DIGITS = re.compile(r"[0-9]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
_LEADING_ZEROS = re.compile(r"(^|[^0-9])0+([0-9])")
_TAX_TOKEN = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-]{4,18}[0-9A-Za-z]")
# Keys shorter than this are too common in bank texts (days, branch codes) to mean a document.
_MIN_NUMBER_KEY = 3
_MAX_NUMBER_KEY = 60
_NGRAM = 3


def number_key(text: str) -> str:
    """A document number as compared: 'fv-000123' and 'FV 123' both give 'FV123', and
    'FE-2024-0042' gives 'FE202442' (leading zeros go from each group of digits)."""
    unpadded = _LEADING_ZEROS.sub(r"\1\2", text or "")
    return _NOT_ALNUM.sub("", unpadded).upper()


# The same key computed by the database, so documents are found by it without reading them
# all. PostgreSQL has regexp_replace; SQLite gets `number_key` itself as a function.
_PG_NUMBER_KEY = (
    "upper(regexp_replace(regexp_replace({col}, '(^|[^0-9])0+([0-9])', '\\1\\2', 'g'), "
    "'[^0-9A-Za-z]', '', 'g'))"
)


def _number_key_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return _PG_NUMBER_KEY.format(col=column)
    return f"cartera_number_key({column})"


def sqlite_functions_register(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "cartera_number_key", 1, number_key, deterministic=True
        )


def text_number_keys(text: str) -> set[str]:
    """Keys of everything in `text` that could be a document number: runs of up to three
    adjacent words ('FV 000123', 'FE-2024-0042') holding a digit. Each word loses its own
    leading zeros, as `number_key` does for the parts of a document number."""
    words = [
        (number_key(word), any(ch.isdigit() for ch in word)) for word in _WORD.findall(text or "")
    ]
    keys: set[str] = set()
    for start in range(len(words)):
        joined = ""
        digits = False
        for key, has_digit in words[start : start + _NGRAM]:
            joined += key
            digits = digits or has_digit
            if digits and _MIN_NUMBER_KEY <= len(joined) <= _MAX_NUMBER_KEY:
                keys.add(joined)
    return keys


def text_references(text: str) -> set[str]:
    """Our payment references in `text`: ten digits (spaces or dashes between groups allowed)
    whose Luhn check digit is right. A reference with a wrong check digit is no reference."""
    found: set[str] = set()
    groups = list(_DIGITS.finditer(text or ""))
    for start in range(len(groups)):
        compact = ""
        for index in range(start, len(groups)):
            if index > start:
                between = text[groups[index - 1].end() : groups[index].start()]
                if between not in (" ", "-", " - "):
                    break
            compact += groups[index].group()
            if len(compact) >= 10:
                if len(compact) == 10 and luhn.is_valid(compact):
                    found.add(compact)
                break
    return found


def text_tax_ids(text: str, country: str) -> set[str]:
    """Tax ids that may be written in `text`, in the compact form debtors' tax ids are stored
    in (capitals and digits: '900.123.456-8' → '9001234568', 'XAXX-010101-000').

    Only an equal debtor tax id makes this evidence, so nothing needs validating here. In
    Colombia a NIT is often written without its check digit: the digit is added as a second
    candidate, since the NIT is stored with it.
    """
    found: set[str] = set()
    for token in _TAX_TOKEN.findall(text or ""):
        compact = _NOT_ALNUM.sub("", token).upper()
        if sum(ch.isdigit() for ch in compact) < 6:
            continue
        found.add(compact)
        if country == "CO" and compact.isdigit() and len(compact) <= 15:
            found.add(compact + co_nit.calc_check_digit(compact))
    return found


@dataclass(frozen=True)
class LineToMatch:
    key: int
    amount_minor: int
    currency: str
    booking_date: datetime.date
    text: str
    counterparty_account: str = ""


@dataclass
class DocRow:
    id: int
    debtor_id: int
    number: str
    currency: str
    balance: int
    due_date: datetime.date
    issue_date: datetime.date | None = None


@dataclass
class Evidence:
    kind: str
    value: str  # what was found: the reference, the number, the tax id, the account

    @property
    def weight(self) -> float:
        return WEIGHTS[self.kind]

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "weight": _percent(self.weight)}


@dataclass
class Proposal:
    debtor_id: int
    debtor_name: str
    evidence: list[Evidence]
    # Documents to apply to, in order (each up to what it owes); None: oldest due first.
    document_ids: tuple[int, ...] | None
    # (document, number, minor units) as the line would be applied now.
    shares: list[tuple[int, str, int]] = field(default_factory=list)
    strength: float = 0.0
    confidence: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "debtor": self.debtor_id,
            "name": self.debtor_name,
            "confidence": self.confidence,
            "documents": None if self.document_ids is None else list(self.document_ids),
            "shares": [{"document": d, "number": n, "amount_minor": a} for d, n, a in self.shares],
            "evidence": [item.as_json() for item in self.evidence],
        }


def _percent(value: float) -> int:
    # the epsilon keeps 0.9 computed as 0.8999999… at 90 %
    return int(value * 100 + 0.5 + 1e-9)


def _date(value: Any) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def _strength(evidence: Iterable[Evidence]) -> float:
    best: dict[str, float] = {}
    for item in evidence:
        best[item.kind] = max(best.get(item.kind, 0.0), item.weight)
    doubt = 1.0
    for weight in best.values():
        doubt *= 1 - weight
    return min(1 - doubt, _CAP)


def _compete(proposals: list[Proposal]) -> None:
    """Each proposal's confidence given the others (see the module docstring)."""
    if not proposals:
        return
    if len(proposals) == 1:
        proposals[0].confidence = _percent(proposals[0].strength)
        return
    none = 1.0
    for proposal in proposals:
        none *= 1 - proposal.strength
    alone = [proposal.strength * none / (1 - proposal.strength) for proposal in proposals]
    total = sum(alone) + none
    for proposal, weight in zip(proposals, alone, strict=True):
        proposal.confidence = _percent(weight / total)


@dataclass
class _Candidate:
    evidence: list[Evidence] = field(default_factory=list)
    named: dict[int, DocRow] = field(default_factory=dict)


class Matcher:
    """Proposals for the credit lines of one creditor; `load` first, then `propose`."""

    def __init__(self, creditor: Creditor) -> None:
        self.creditor = creditor
        self.fee_percent = Decimal(str(settings.CARTERA_CASH_FEE_TOLERANCE_PERCENT))
        self.subset_max = max(1, settings.CARTERA_CASH_SUBSET_MAX)
        self.subset_pool = max(1, settings.CARTERA_CASH_SUBSET_POOL)
        self.documents: dict[int, DocRow] = {}
        self.debtor_names: dict[int, str] = {}
        self.debtors_by_reference: dict[str, list[int]] = defaultdict(list)
        self.documents_by_reference: dict[str, list[DocRow]] = defaultdict(list)
        self.documents_by_key: dict[str, list[DocRow]] = defaultdict(list)
        self.debtors_by_tax_id: dict[str, list[int]] = defaultdict(list)
        self.debtors_by_account: dict[str, list[int]] = defaultdict(list)
        self.open_by_debtor: dict[int, list[DocRow]] = defaultdict(list)
        # (currency, amount) -> (documents with that balance, how many there are in all)
        self.by_amount: dict[tuple[str, int], tuple[list[DocRow], int]] = {}
        self._found: dict[int, tuple[set[str], set[str], set[str]]] = {}
        self.queries = 0
        self.query_seconds = 0.0  # time spent waiting for the database (benchmarks)

    # -- loading: a fixed number of queries for any number of lines ---------------------------

    def _fetch(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        self.queries += 1
        started = time.perf_counter()
        try:
            return fetch(sql, params)
        finally:
            self.query_seconds += time.perf_counter() - started

    def _doc(self, row: Sequence[Any]) -> DocRow:
        pk = row[0]
        doc = self.documents.get(pk)
        if doc is None:
            doc = DocRow(
                pk,
                row[1],
                row[2],
                row[3],
                int(row[4]),
                _date(row[5]),
                _date(row[6]) if len(row) > 6 and row[6] else None,
            )
            self.documents[pk] = doc
        return doc

    def load(self, lines: Sequence[LineToMatch]) -> None:
        creditor_id = self.creditor.pk
        references: set[str] = set()
        keys: set[str] = set()
        tax_ids: set[str] = set()
        accounts: set[str] = set()
        for line in lines:
            found = (
                text_references(line.text),
                text_number_keys(line.text),
                text_tax_ids(line.text, self.creditor.country),
            )
            self._found[line.key] = found
            references |= found[0]
            keys |= found[1]
            tax_ids |= found[2]
            if line.counterparty_account:
                accounts.add(line.counterparty_account)
        columns = "d.id, d.debtor_id, d.number, d.currency, d.balance_minor, d.due_date"
        if references:
            condition, param = in_set("payment_reference", references)
            for pk, name, reference in self._fetch(
                f"SELECT id, name, payment_reference FROM portfolio_debtor "
                f"WHERE creditor_id = %s AND {condition}",
                [creditor_id, param],
            ):
                self.debtor_names[pk] = name
                self.debtors_by_reference[reference].append(pk)
            condition, param = in_set("d.payment_reference", references)
            for row in self._fetch(
                f"SELECT {columns}, d.issue_date, d.payment_reference FROM portfolio_document d "
                f"WHERE d.creditor_id = %s AND {condition}",
                [creditor_id, param],
            ):
                self.documents_by_reference[row[7]].append(self._doc(row))
        if keys:
            key_sql = _number_key_sql("d.number")
            condition, param = in_set(key_sql, keys)
            for row in self._fetch(
                f"SELECT {columns}, d.issue_date, {key_sql} FROM portfolio_document d "
                f"WHERE d.creditor_id = %s AND d.balance_minor > 0 AND {condition}",
                [creditor_id, param],
            ):
                self.documents_by_key[row[7]].append(self._doc(row))
        if tax_ids:
            condition, param = in_set("tax_id", tax_ids)
            for pk, name, tax_id in self._fetch(
                f"SELECT id, name, tax_id FROM portfolio_debtor "
                f"WHERE creditor_id = %s AND {condition}",
                [creditor_id, param],
            ):
                self.debtor_names[pk] = name
                self.debtors_by_tax_id[tax_id].append(pk)
        if accounts:
            condition, param = in_set("account", accounts)
            for account, debtor_id in self._fetch(
                f"SELECT account, debtor_id FROM cash_knownaccount "
                f"WHERE creditor_id = %s AND {condition}",
                [creditor_id, param],
            ):
                self.debtors_by_account[account].append(debtor_id)
        debtors = (
            {pk for pks in self.debtors_by_reference.values() for pk in pks}
            | {pk for pks in self.debtors_by_tax_id.values() for pk in pks}
            | {pk for pks in self.debtors_by_account.values() for pk in pks}
            | {doc.debtor_id for doc in self.documents.values()}
        )
        if debtors:
            condition, param = in_set("d.debtor_id", debtors)
            for row in self._fetch(
                f"SELECT {columns}, d.issue_date FROM portfolio_document d "
                f"WHERE d.creditor_id = %s AND d.balance_minor > 0 AND {condition} "
                "ORDER BY d.debtor_id, d.due_date, d.id",
                [creditor_id, param],
            ):
                self.open_by_debtor[row[1]].append(self._doc(row))
            missing = debtors - self.debtor_names.keys()
            if missing:
                condition, param = in_set("id", missing)
                for pk, name in self._fetch(
                    f"SELECT id, name FROM portfolio_debtor WHERE {condition}", [param]
                ):
                    self.debtor_names[pk] = name
        unnamed = {
            (line.currency, line.amount_minor) for line in lines if not self._identified(line)
        }
        if unnamed:
            condition, param = in_set("d.balance_minor", {amount for _, amount in unnamed})
            sql = (
                f"SELECT id, debtor_id, number, currency, balance_minor, due_date, issue_date, n "
                f"FROM (SELECT {columns}, d.issue_date, "
                "ROW_NUMBER() OVER (PARTITION BY d.currency, d.balance_minor "
                "ORDER BY d.due_date, d.id) AS rn, "
                "COUNT(*) OVER (PARTITION BY d.currency, d.balance_minor) AS n "
                "FROM portfolio_document d "
                f"WHERE d.creditor_id = %s AND d.balance_minor > 0 AND {condition}) ranked "
                f"WHERE rn <= {AMOUNT_ONLY_MAX}"
            )
            by_slot: dict[tuple[str, int], tuple[list[DocRow], int]] = {}
            for row in self._fetch(sql, [creditor_id, param]):
                slot = (row[3], int(row[4]))
                docs, _count = by_slot.get(slot, ([], 0))
                docs.append(self._doc(row))
                by_slot[slot] = (docs, int(row[7]))
            self.by_amount = {slot: by_slot[slot] for slot in unnamed if slot in by_slot}
            missing = {doc.debtor_id for docs, _ in by_slot.values() for doc in docs}
            missing -= self.debtor_names.keys()
            if missing:
                condition, param = in_set("id", missing)
                for pk, name in self._fetch(
                    f"SELECT id, name FROM portfolio_debtor WHERE {condition}", [param]
                ):
                    self.debtor_names[pk] = name

    def _identified(self, line: LineToMatch) -> bool:
        """Does anything in the line point at a debtor? (Only known after the lookups for
        accounts; references, numbers and tax ids are checked against what was loaded.)"""
        references, keys, tax_ids = self._found[line.key]
        if any(self.debtors_by_reference.get(r) for r in references):
            return True
        if any(self.documents_by_reference.get(r) for r in references):
            return True
        if any(self.documents_by_key.get(k) for k in keys):
            return True
        if any(self.debtors_by_tax_id.get(t) for t in tax_ids):
            return True
        return bool(self.debtors_by_account.get(line.counterparty_account))

    # -- proposing ------------------------------------------------------------------------

    def propose(self, line: LineToMatch) -> list[Proposal]:
        """Proposals for one line, best first (at most five)."""
        references, keys, tax_ids = self._found[line.key]
        candidates: dict[int, _Candidate] = defaultdict(_Candidate)
        for reference in sorted(references):
            for debtor_id in self.debtors_by_reference.get(reference, []):
                candidates[debtor_id].evidence.append(Evidence("debtor_reference", reference))
            for doc in self.documents_by_reference.get(reference, []):
                candidate = candidates[doc.debtor_id]
                candidate.evidence.append(Evidence("document_reference", reference))
                candidate.named[doc.id] = doc
        for key in sorted(keys):
            for doc in self.documents_by_key.get(key, []):
                candidate = candidates[doc.debtor_id]
                candidate.evidence.append(Evidence("document_number", doc.number))
                candidate.named[doc.id] = doc
        for tax_id in sorted(tax_ids):
            for debtor_id in self.debtors_by_tax_id.get(tax_id, []):
                candidates[debtor_id].evidence.append(Evidence("tax_id", tax_id))
        if line.counterparty_account:
            for debtor_id in self.debtors_by_account.get(line.counterparty_account, []):
                candidates[debtor_id].evidence.append(
                    Evidence("known_account", line.counterparty_account)
                )
        proposals: list[Proposal] = []
        for debtor_id, candidate in candidates.items():
            proposals.append(self._proposal(line, debtor_id, candidate))
        if not proposals:
            proposals = self._amount_only(line)
        for proposal in proposals:
            proposal.strength = _strength(proposal.evidence)
        _compete(proposals)
        proposals.sort(key=lambda p: (-p.confidence, -p.strength, p.debtor_id))
        return proposals[:_PROPOSALS_KEPT]

    def _open(self, debtor_id: int, line: LineToMatch) -> list[DocRow]:
        return [
            doc
            for doc in self.open_by_debtor.get(debtor_id, [])
            if doc.balance > 0 and doc.currency == line.currency
        ]

    def _tolerance(self, owed: int) -> int:
        return int(Decimal(owed) * self.fee_percent / 100)

    def _short_by_fee(self, amount: int, owed: int) -> bool:
        return owed - self._tolerance(owed) <= amount < owed

    def _proposal(self, line: LineToMatch, debtor_id: int, candidate: _Candidate) -> Proposal:
        amount = line.amount_minor
        open_docs = self._open(debtor_id, line)
        named = sorted(
            (
                doc
                for doc in candidate.named.values()
                if doc.balance > 0 and doc.currency == line.currency
            ),
            key=lambda doc: (doc.due_date, doc.id),
        )
        evidence = list(candidate.evidence)
        chosen: list[DocRow] | None = None
        if named:
            total = sum(doc.balance for doc in named)
            exact = [doc for doc in named if doc.balance == amount]
            if amount == total:
                chosen = named
                kind = "amount_document" if len(named) == 1 else "amount_set"
                evidence.append(Evidence(kind, str(amount)))
            elif self._short_by_fee(amount, total):
                chosen = named
                evidence.append(Evidence("amount_fee", str(total - amount)))
            elif exact:
                chosen = exact[:1]
                evidence.append(Evidence("amount_document", str(amount)))
            else:
                chosen = named  # a part payment, or more than named: the rest is credit
        else:
            chosen, fit = self._fit(amount, open_docs)
            if fit is not None:
                evidence.append(Evidence(fit, str(amount)))
        ids = None if chosen is None else tuple(doc.id for doc in chosen)
        return Proposal(
            debtor_id=debtor_id,
            debtor_name=self.debtor_names.get(debtor_id, ""),
            evidence=evidence,
            document_ids=ids,
            shares=self._shares(amount, chosen if chosen is not None else open_docs),
        )

    def _fit(self, amount: int, open_docs: list[DocRow]) -> tuple[list[DocRow] | None, str | None]:
        """Which of the debtor's open documents the amount pays, and how well it fits."""
        for doc in open_docs:
            if doc.balance == amount:
                return [doc], "amount_document"
        subset = self._subset(amount, open_docs[: self.subset_pool])
        if subset is not None:
            return subset, "amount_set"
        total = sum(doc.balance for doc in open_docs)
        if len(open_docs) > 1 and total == amount:
            return open_docs, "amount_set"
        for doc in open_docs:
            if self._short_by_fee(amount, doc.balance):
                return [doc], "amount_fee"
        if len(open_docs) > 1 and self._short_by_fee(amount, total):
            return open_docs, "amount_fee"
        return None, None

    def _subset(self, amount: int, pool: list[DocRow]) -> list[DocRow] | None:
        """The smallest set (2 to subset_max documents, oldest first) adding up to `amount`."""
        if self.subset_max < 2 or len(pool) < 2:
            return None
        first_of: dict[int, int] = {}
        for index, doc in enumerate(pool):
            partner = first_of.get(amount - doc.balance)
            if partner is not None:
                return [pool[partner], doc]
            first_of.setdefault(doc.balance, index)
        for size in range(3, min(self.subset_max, len(pool)) + 1):
            for combination in itertools.combinations(pool, size):
                if sum(doc.balance for doc in combination) == amount:
                    return list(combination)
        return None

    def _shares(self, amount: int, docs: Iterable[DocRow]) -> list[tuple[int, str, int]]:
        shares = []
        left = amount
        for doc in docs:
            if left <= 0:
                break
            share = min(left, doc.balance)
            if share > 0:
                shares.append((doc.id, doc.number, share))
                left -= share
        return shares

    def _amount_only(self, line: LineToMatch) -> list[Proposal]:
        found = self.by_amount.get((line.currency, line.amount_minor))
        if found is None:
            return []
        docs, count = found
        docs = [doc for doc in docs if doc.balance == line.amount_minor]
        if not docs or count > AMOUNT_ONLY_MAX:
            return []
        proposals = []
        for doc in docs:
            # When several documents have this amount, the weight is shared among them.
            evidence = _Shared("amount_only", doc.number, count)
            proposals.append(
                Proposal(
                    debtor_id=doc.debtor_id,
                    debtor_name=self.debtor_names.get(doc.debtor_id, ""),
                    evidence=[evidence],
                    document_ids=(doc.id,),
                    shares=[(doc.id, doc.number, line.amount_minor)],
                )
            )
        return proposals

    def consume(self, proposal: Proposal, line: LineToMatch) -> None:
        """The line is applied: later lines of the statement see what is left to pay."""
        if proposal.document_ids is None:
            docs = self._open(proposal.debtor_id, line)
        else:
            docs = [self.documents[pk] for pk in proposal.document_ids if pk in self.documents]
        left = line.amount_minor
        for doc in docs:
            if left <= 0:
                break
            share = min(left, doc.balance)
            if share > 0:
                doc.balance -= share
                left -= share


@dataclass
class _Shared(Evidence):
    """Evidence whose weight is divided among the `among` documents it fits equally."""

    among: int = 1

    @property
    def weight(self) -> float:
        return WEIGHTS[self.kind] / self.among
