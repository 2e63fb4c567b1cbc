"""Writes of cash application: import a statement, apply or ignore a line, reverse a line.

`statement_import` is one transaction per file: the bank account is locked, the lines are
stored once (`dedupe_key`), credit lines are matched in one pass (see matching.py) and the
confident ones recorded and applied with a fixed number of queries; one audit event records the
file, its SHA-256 and the counts.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cartera.cash.matching import LineToMatch, Matcher, Proposal
from cartera.cash.models import (
    APPLIED_STATUSES,
    PENDING_STATUSES,
    BankAccount,
    ImportStatus,
    KnownAccount,
    LineStatus,
    StatementImport,
    StatementLine,
)
from cartera.cash.parsers import (
    ParsedLine,
    ParsedSection,
    ParsedStatement,
    ProfileError,
    StatementRefused,
    account_key,
    profile_named,
    read_statement,
)
from cartera.cash.sqlsets import fetch, in_set
from cartera.core.audit import Actor, audit_record
from cartera.core.bulk import ids_reserve, rows_insert, rows_update
from cartera.core.money import validate_currency
from cartera.portfolio.models import BalanceMode, Creditor, Debtor, Document
from cartera.portfolio.payments import (
    PaymentOrder,
    payment_apply,
    payment_debtor_change,
    payment_record,
    payment_reverse,
    payments_record_bulk,
)
from cartera.portfolio.services import PortfolioError

__all__ = [
    "CashError",
    "CashUsageError",
    "StatementImportResult",
    "bank_account_create",
    "statement_import",
    "statement_line_apply",
    "statement_line_ignore",
    "statement_line_reverse",
    "statement_lines_rematch",
]

EXIT_OK = 0
EXIT_SOME_UNREADABLE = 3
EXIT_REFUSED = 4
PAYMENT_METHOD = "bank statement"  # stored with each payment: not translated


class CashError(ValueError):
    """A request cash application refuses; the message is meant for the user."""


class CashUsageError(CashError):
    """The request itself is wrong (an unknown profile, a missing --bank-account)."""


@dataclass
class StatementImportResult:
    file: str
    format: str = ""
    profile: str = ""
    lines: int = 0
    credits: int = 0
    debits: int = 0
    applied: int = 0
    waiting: int = 0
    duplicates: int = 0
    unreadable: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    message: str = ""
    # (name, number, created) of each bank account the file's lines went to
    bank_accounts: list[tuple[str, str, bool]] = field(default_factory=list)
    import_id: int | None = None

    @property
    def refused(self) -> bool:
        return bool(self.message)

    @property
    def exit_code(self) -> int:
        if self.refused or (self.unreadable and not self.lines):
            return EXIT_REFUSED
        if self.unreadable:
            return EXIT_SOME_UNREADABLE
        return EXIT_OK

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format or None,
            "lines": self.lines,
            "credits": self.credits,
            "debits": self.debits,
            "applied": self.applied,
            "waiting": self.waiting,
            "duplicates": self.duplicates,
            "unreadable": self.unreadable,
            "dry_run": self.dry_run,
            "profile": self.profile or None,
            "bank_accounts": [
                {"name": name, "number": number, "created": created}
                for name, number, created in self.bank_accounts
            ],
            "message": self.message or None,
        }


class _Rollback(Exception):
    pass


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
    except OSError:
        return "", 0
    return digest.hexdigest(), size


# ---------------------------------------------------------------------------------------------
# Bank accounts


@transaction.atomic
def bank_account_create(
    *,
    creditor: Creditor,
    name: str,
    actor: Actor,
    number: str = "",
    bank: str = "",
    currency: str | None = None,
) -> BankAccount:
    name = " ".join((name or "").split())
    if not name:
        raise CashError(_("a bank account needs a name"))
    key = account_key(number)
    if BankAccount.objects.filter(creditor=creditor, name=name).exists():
        raise CashError(
            _("%(creditor)s already has a bank account named %(name)s")
            % {"creditor": creditor.code, "name": name}
        )
    if key and BankAccount.objects.filter(creditor=creditor, number_key=key).exists():
        raise CashError(
            _("%(creditor)s already has a bank account numbered %(number)s")
            % {"creditor": creditor.code, "number": number}
        )
    try:
        code = validate_currency(currency or creditor.currency)
    except ValueError as exc:
        raise CashError(str(exc)) from None
    account = BankAccount.objects.create(
        creditor=creditor,
        name=name[:100],
        number=number.strip()[:60],
        number_key=key[:60],
        bank=bank[:100],
        currency=code,
    )
    audit_record(
        actor=actor,
        action="bank_account.create",
        obj=account,
        creditor_id=creditor.pk,
        changes={"name": account.name, "number": account.number, "currency": code},
    )
    return account


def _looks_like_number(text: str) -> bool:
    """An account number or IBAN rather than a name ("BBVA 0123" is a name)."""
    key = account_key(text)
    digits = sum(ch.isdigit() for ch in key)
    return digits >= 6 and digits * 10 >= len(key) * 7


class _Accounts:
    """Finds (or creates) the bank account of each section of a file."""

    def __init__(self, creditor: Creditor, named: str | None, actor: Actor):
        self.creditor = creditor
        self.named = " ".join(named.split()) if named else None
        self.actor = actor
        self.created: set[int] = set()
        self.used: dict[int, BankAccount] = {}

    def _find(self, text: str) -> BankAccount | None:
        key = account_key(text)
        found = BankAccount.objects.filter(creditor=self.creditor, name=text).first()
        if found is None and key:
            found = BankAccount.objects.filter(creditor=self.creditor, number_key=key).first()
        return found

    def for_section(self, section: ParsedSection) -> BankAccount:
        file_key = account_key(section.account)
        if self.named:
            account = self._find(self.named)
            if account is None:
                number = section.account or (self.named if _looks_like_number(self.named) else "")
                account = self._create(self.named, number, section)
            elif file_key and account.number_key and file_key != account.number_key:
                raise StatementRefused(
                    _(
                        "the file is a statement of account %(account)s, but --bank-account "
                        "%(named)s is account %(number)s"
                    )
                    % {"account": section.account, "named": self.named, "number": account.number}
                )
            elif file_key and not account.number_key:
                # The account was created without its number: the file tells it.
                clash = BankAccount.objects.filter(creditor=self.creditor, number_key=file_key)
                if not clash.exists():
                    account.number, account.number_key = section.account[:60], file_key[:60]
                    account.save(update_fields=["number", "number_key"])
        elif file_key:
            account = self._find(section.account) or self._create(
                section.account, section.account, section
            )
        else:
            accounts = list(BankAccount.objects.filter(creditor=self.creditor)[:2])
            if len(accounts) != 1:
                known = ", ".join(
                    BankAccount.objects.filter(creditor=self.creditor).values_list(
                        "name", flat=True
                    )[:20]
                )
                raise CashUsageError(
                    _(
                        "this file does not say which bank account it is from: pass "
                        "--bank-account NAME (known: %(known)s)"
                    )
                    % {"known": known or _("none yet; it will be created")}
                )
            account = accounts[0]
        # Concurrent imports of the same account queue here; different accounts do not wait.
        account = BankAccount.objects.select_for_update().get(pk=account.pk)
        self.used[account.pk] = account
        return account

    def _create(self, name: str, number: str, section: ParsedSection) -> BankAccount:
        currency = section.currency or (
            section.lines[0].currency if section.lines else self.creditor.currency
        )
        unique = name[:100]
        suffix = 2
        while BankAccount.objects.filter(creditor=self.creditor, name=unique).exists():
            unique = f"{name[:94]} ({suffix})"
            suffix += 1
        account = bank_account_create(
            creditor=self.creditor,
            name=unique,
            number=number,
            bank=section.bank,
            currency=currency,
            actor=self.actor,
        )
        self.created.add(account.pk)
        return account


def _default_currency(creditor: Creditor, named: str | None) -> str:
    """The currency of files that do not say theirs (most CSV exports)."""
    accounts = BankAccount.objects.filter(creditor=creditor)
    if named:
        found = (
            accounts.filter(name=" ".join(named.split())).first()
            or accounts.filter(number_key=account_key(named)).exclude(number_key="").first()
        )
        if found is not None:
            return found.currency
    only = list(accounts[:2])
    if len(only) == 1:
        return only[0].currency
    return creditor.currency


# ---------------------------------------------------------------------------------------------
# Import


def _content_key(account: BankAccount, line: ParsedLine) -> str:
    parts = [
        account.number_key or str(account.pk),
        line.booking_date.isoformat(),
        line.value_date.isoformat() if line.value_date else "",
        "C" if line.is_credit else "D",
        str(line.amount_minor),
        line.currency,
        " ".join(line.text.split()).casefold(),
        line.counterparty_name.casefold(),
        line.counterparty_account,
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def dedupe_keys(account: BankAccount, lines: Sequence[ParsedLine]) -> list[str]:
    """One key per line, unique within the account and the same on every import.

    The bank's own reference where the format has one; otherwise a hash of what the line
    says plus its occurrence among identical lines of this file: the second of two identical
    payments is "…:2" in every file that has both, so re-importing a file (or one that
    overlaps it) finds both again, while they stay two lines.
    """
    references = Counter(line.bank_reference for line in lines if line.bank_reference)
    seen_reference: Counter[str] = Counter()
    seen_content: Counter[str] = Counter()
    keys = []
    for line in lines:
        if line.bank_reference:
            reference = line.bank_reference
            seen_reference[reference] += 1
            if references[reference] == 1:
                keys.append(f"ref:{reference}"[:160])
            else:
                keys.append(f"ref:{reference[:140]}#{seen_reference[reference]}")
        else:
            content = _content_key(account, line)
            seen_content[content] += 1
            keys.append(f"sum:{content}:{seen_content[content]}")
    return keys


_LINE_ROW = (
    "id",
    "creditor_id",
    "bank_account_id",
    "statement_import_id",
    "position",
    "booking_date",
    "value_date",
    "amount_minor",
    "currency",
    "is_credit",
    "bank_reference",
    "text",
    "counterparty_name",
    "counterparty_account",
    "dedupe_key",
    "status",
    "debtor_id",
    "payment_id",
    "confidence",
    "evidence",
    "proposals",
    "note",
    "decided_by",
    "decided_at",
    "reversals",
    "created_at",
)
_MATCH_UPDATE = [
    "status",
    "debtor_id",
    "payment_id",
    "confidence",
    "evidence",
    "proposals",
    "decided_by",
    "decided_at",
]


def statement_import(
    *,
    creditor: Creditor,
    path: str | Path,
    actor: Actor,
    bank_account: str | None = None,
    profile: str | None = None,
    dry_run: bool = False,
) -> StatementImportResult:
    """Read a statement file, store its new lines, match the credits, apply the confident ones.

    Raises CashUsageError for wrong usage (unknown profile, a file that names no account
    when the creditor has several); a file that cannot be read at all comes back with
    `message` set (and is recorded as a refused import unless `dry_run`). The refusal and the
    reasons of unreadable lines are in the active language, and are stored as written.
    """
    path = Path(path)
    result = StatementImportResult(file=str(path), dry_run=dry_run)
    try:
        forced = profile_named(profile) if profile else None
    except ProfileError as exc:
        raise CashUsageError(str(exc)) from None
    try:
        if creditor.balance_mode == BalanceMode.ERP:
            raise StatementRefused(
                _(
                    "creditor %(creditor)s keeps its balances in the ERP (balance mode 'erp'): "
                    "payments are not recorded in Cartera"
                )
                % {"creditor": creditor.code}
            )
        statement = read_statement(
            path,
            profile=forced,
            default_currency=_default_currency(creditor, bank_account),
            locale=creditor.locale,
        )
        result.format = statement.format
        result.profile = statement.profile
        try:
            with transaction.atomic():
                _import(creditor, path, statement, actor, bank_account, result)
                if dry_run:
                    raise _Rollback
        except _Rollback:
            result.import_id = None
    except StatementRefused as exc:
        result.message = str(exc)
        result.lines = result.credits = result.debits = 0
        result.applied = result.waiting = result.duplicates = 0
        result.bank_accounts = []
        if not dry_run:
            _record_refusal(creditor, path, actor, result)
    return result


def _import(
    creditor: Creditor,
    path: Path,
    statement: ParsedStatement,
    actor: Actor,
    named: str | None,
    result: StatementImportResult,
) -> None:
    sha256, size = _digest(path)
    record = StatementImport.objects.create(
        creditor=creditor,
        file_name=path.name,
        file_sha256=sha256,
        file_size=size,
        format=statement.format + (f" ({statement.profile})" if statement.profile else ""),
        status=ImportStatus.DONE,
        actor=actor.label,
        user=actor.user if actor.user is not None and actor.user.pk else None,
    )
    accounts = _Accounts(creditor, named, actor)
    # (account, line) in file order, accounts resolved per section
    placed: list[tuple[BankAccount, ParsedLine]] = []
    for section in statement.sections:
        if not section.lines and not section.account:
            continue
        account = accounts.for_section(section)
        placed.extend((account, line) for line in section.lines)
    keys: dict[int, list[str]] = {}
    by_account: dict[int, list[ParsedLine]] = {}
    for account, line in placed:
        by_account.setdefault(account.pk, []).append(line)
    for account_id, lines in by_account.items():
        keys[account_id] = dedupe_keys(accounts.used[account_id], lines)
    existing: set[tuple[int, str]] = set()
    for account_id, account_keys in keys.items():
        if not account_keys:
            continue
        condition, param = in_set("dedupe_key", set(account_keys))
        for (key,) in fetch(
            f"SELECT dedupe_key FROM cash_statementline WHERE bank_account_id = %s AND {condition}",
            [account_id, param],
        ):
            existing.add((account_id, key))
    now = timezone.now()
    fresh: list[tuple[BankAccount, ParsedLine, str]] = []
    position_of_key: dict[int, int] = {}
    for account, line in placed:
        key = keys[account.pk][position_of_key.get(account.pk, 0)]
        position_of_key[account.pk] = position_of_key.get(account.pk, 0) + 1
        result.lines += 1
        if line.is_credit:
            result.credits += 1
        else:
            result.debits += 1
        if (account.pk, key) in existing:
            result.duplicates += 1
            continue
        fresh.append((account, line, key))
    ids = ids_reserve(StatementLine, len(fresh))
    # Matched (and the confident ones paid) before the lines are written, so each line is
    # inserted once with its outcome: no update of thousands of rows afterwards.
    decided = _decide(
        creditor,
        [
            _Pending(pk, line)
            for pk, (_account, line, _key) in zip(ids, fresh, strict=True)
            if line.is_credit
        ],
        actor,
        auto=True,
    )
    undecided: _Decided = (LineStatus.DEBIT, None, None, None, "[]", "[]", "", None)
    rows = []
    for pk, (account, line, key) in zip(ids, fresh, strict=True):
        outcome = decided.get(pk, undecided)
        rows.append(
            (
                pk,
                creditor.pk,
                account.pk,
                record.pk,
                line.position,
                line.booking_date,
                line.value_date,
                line.amount_minor,
                line.currency,
                line.is_credit,
                line.bank_reference,
                line.text,
                line.counterparty_name,
                line.counterparty_account,
                key,
                *outcome[:6],
                "",
                *outcome[6:],
                0,
                now,
            )
        )
    rows_insert(StatementLine, _LINE_ROW, rows)
    applied = _applied(decided)
    waiting = len(decided) - applied
    result.applied, result.waiting = applied, waiting
    result.unreadable = [{"line": u.position, "reason": u.reason} for u in statement.unreadable]
    result.bank_accounts = [
        (account.name, account.number, account.pk in accounts.created)
        for account in accounts.used.values()
    ]
    record.lines, record.credits, record.debits = result.lines, result.credits, result.debits
    record.applied, record.waiting, record.duplicates = applied, waiting, result.duplicates
    record.unreadable = result.unreadable
    record.status = ImportStatus.PARTIAL if statement.unreadable else ImportStatus.DONE
    record.finished_at = timezone.now()
    record.save()
    result.import_id = record.pk
    audit_record(
        actor=actor,
        action="statement.import",
        obj=record,
        creditor_id=creditor.pk,
        changes={
            "file": path.name,
            "sha256": sha256,
            "format": record.format,
            "lines": result.lines,
            "credits": result.credits,
            "debits": result.debits,
            "applied": applied,
            "waiting": waiting,
            "duplicates": result.duplicates,
            "unreadable": len(result.unreadable),
            "bank_accounts_created": [
                name for name, _number, created in result.bank_accounts if created
            ],
        },
    )


def _record_refusal(
    creditor: Creditor, path: Path, actor: Actor, result: StatementImportResult
) -> None:
    sha256, size = _digest(path) if path.is_file() else ("", 0)
    with transaction.atomic():
        record = StatementImport.objects.create(
            creditor=creditor,
            file_name=path.name,
            file_sha256=sha256,
            file_size=size,
            format=result.format,
            status=ImportStatus.REFUSED,
            message=result.message,
            actor=actor.label,
            user=actor.user if actor.user is not None and actor.user.pk else None,
            finished_at=timezone.now(),
        )
        result.import_id = record.pk
        audit_record(
            actor=actor,
            action="statement.import.refused",
            obj=record,
            creditor_id=creditor.pk,
            changes={"file": path.name, "sha256": sha256, "reason": result.message},
        )


@dataclass(frozen=True)
class _Pending:
    """A credit line to match: its id and what the file said."""

    id: int
    line: ParsedLine | StatementLine

    def to_match(self) -> LineToMatch:
        line = self.line
        return LineToMatch(
            key=self.id,
            amount_minor=line.amount_minor,
            currency=line.currency,
            booking_date=line.booking_date,
            text=line.text,
            counterparty_account=line.counterparty_account,
        )


_Decided = tuple[str, int | None, int | None, int | None, str, str, str, Any]
"""(status, debtor, payment, confidence, evidence JSON, proposals JSON, decided by, at)"""


def _decide(
    creditor: Creditor, pending: Sequence[_Pending], actor: Actor, *, auto: bool
) -> dict[int, _Decided]:
    """Match lines (oldest first) and record and apply the confident ones (when `auto`).

    Returns, per line id, the values of `_MATCH_UPDATE`; the caller writes them, either with
    the new lines themselves (an import: one bulk insert) or as an update (matching again).
    """
    if not pending:
        return {}
    ordered = sorted(
        pending, key=lambda p: (p.line.booking_date, getattr(p.line, "position", 0), p.id)
    )
    matcher = Matcher(creditor)
    items = [p.to_match() for p in ordered]
    matcher.load(items)
    threshold = settings.CARTERA_CASH_AUTO_CONFIDENCE
    orders: list[PaymentOrder] = []
    ordered_lines: list[int] = []
    found: dict[int, tuple[Proposal | None, list[Proposal]]] = {}
    for item in items:
        proposals = matcher.propose(item)
        best = proposals[0] if proposals else None
        found[item.key] = (best, proposals)
        if auto and best is not None and best.confidence >= threshold:
            matcher.consume(best, item)
            orders.append(
                PaymentOrder(
                    debtor_id=best.debtor_id,
                    external_id=f"stmt-{item.key}",
                    date=item.booking_date,
                    currency=item.currency,
                    amount_minor=item.amount_minor,
                    reference=item.text[:120],
                    method=PAYMENT_METHOD,
                    documents=best.document_ids,
                )
            )
            ordered_lines.append(item.key)
    payments = payments_record_bulk(creditor=creditor, orders=orders, actor=actor)
    payment_of = {
        line_id: payment_id
        for line_id, (payment_id, _) in zip(ordered_lines, payments, strict=True)
    }
    now = timezone.now()
    decided: dict[int, _Decided] = {}
    for line_id, (best, proposals) in found.items():
        payment_id = payment_of.get(line_id)
        decided[line_id] = (
            LineStatus.APPLIED_AUTO if payment_id else LineStatus.WAITING,
            best.debtor_id if best else None,
            payment_id,
            best.confidence if best else None,
            json.dumps([e.as_json() for e in best.evidence]) if best else "[]",
            json.dumps([p.as_json() for p in proposals]),
            "matching" if payment_id else "",
            now if payment_id else None,
        )
    return decided


def _applied(decided: dict[int, _Decided]) -> int:
    return sum(1 for values in decided.values() if values[0] == LineStatus.APPLIED_AUTO)


# ---------------------------------------------------------------------------------------------
# One line at a time (the unmatched queue)


def _line_locked(line: StatementLine) -> StatementLine:
    # Only the line is locked: its payment may be missing (an outer join cannot be locked).
    return (
        StatementLine.objects.select_for_update(of=("self",))
        .select_related("creditor", "payment", "bank_account")
        .get(pk=line.pk)
    )


@transaction.atomic
def statement_line_apply(
    *,
    line: StatementLine,
    debtor: Debtor,
    allocations: Sequence[tuple[Document, int]] | None = None,
    actor: Actor,
) -> StatementLine:
    """A person applies a waiting credit line to `debtor`: to the chosen (document, amount)
    pairs, or oldest due first when `allocations` is None; the rest is the debtor's credit.

    The paying account is remembered for the debtor, so the next payment from it matches.
    """
    line = _line_locked(line)
    if not line.is_credit:
        raise CashError(_("a debit line is money out, not a payment"))
    if line.status not in PENDING_STATUSES:
        raise CashError(
            _("this line is %(status)s, not waiting")
            % {"status": line.get_status_display().lower()}
        )
    if debtor.creditor_id != line.creditor_id:
        raise CashError(_("the debtor belongs to another creditor"))
    try:
        if line.payment is not None:
            payment = payment_debtor_change(payment=line.payment, debtor=debtor, actor=actor)
        else:
            payment = payment_record(
                creditor=line.creditor,
                debtor=debtor,
                amount_minor=line.amount_minor,
                currency=line.currency,
                date=line.booking_date,
                external_id=f"stmt-{line.pk}",
                reference=line.text[:120],
                method=PAYMENT_METHOD,
                actor=actor,
            )
        # An empty list keeps the whole payment as the debtor's credit.
        if allocations is None or allocations:
            payment_apply(payment=payment, allocations=allocations, actor=actor)
    except PortfolioError as exc:
        raise CashError(str(exc)) from None
    line.status = LineStatus.APPLIED_MANUAL
    line.debtor = debtor
    line.payment = payment
    line.decided_by = actor.label
    line.decided_at = timezone.now()
    line.save(update_fields=["status", "debtor", "payment", "decided_by", "decided_at"])
    learned = False
    if line.counterparty_account:
        _known, learned = KnownAccount.objects.get_or_create(
            creditor_id=line.creditor_id,
            account=line.counterparty_account,
            debtor=debtor,
            defaults={
                "name": line.counterparty_name,
                "learned_from": line,
                "created_by": actor.label,
            },
        )
    audit_record(
        actor=actor,
        action="statement_line.apply",
        obj=line,
        creditor_id=line.creditor_id,
        changes={
            "debtor": debtor.external_id,
            "payment": payment.external_id,
            "allocations": [
                {"document": doc.number, "amount_minor": amount}
                for doc, amount in (allocations or [])
            ],
            "rule": "chosen documents" if allocations else "oldest due first",
            "account_learned": line.counterparty_account if learned else "",
        },
    )
    return line


@transaction.atomic
def statement_line_ignore(*, line: StatementLine, reason: str, actor: Actor) -> StatementLine:
    """Set a waiting credit aside: not a debtor's payment (a transfer between own accounts,
    a loan disbursement, a refund from a supplier)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise CashError(_("say why the line is ignored"))
    line = _line_locked(line)
    if line.status not in PENDING_STATUSES:
        raise CashError(
            _("this line is %(status)s, not waiting")
            % {"status": line.get_status_display().lower()}
        )
    if line.payment is not None:
        raise CashError(
            _(
                "this line's payment %(payment)s is recorded (it was applied before): apply it "
                "to the right debtor instead"
            )
            % {"payment": line.payment.external_id}
        )
    line.status = LineStatus.IGNORED
    line.note = reason[:300]
    line.decided_by = actor.label
    line.decided_at = timezone.now()
    line.save(update_fields=["status", "note", "decided_by", "decided_at"])
    audit_record(
        actor=actor,
        action="statement_line.ignore",
        obj=line,
        creditor_id=line.creditor_id,
        changes={"reason": reason},
    )
    return line


@transaction.atomic
def statement_line_reverse(*, line: StatementLine, reason: str, actor: Actor) -> StatementLine:
    """A misapplied line: its payment's allocations are reversed in the ledger and the line
    waits again (status `reversed`) to be applied by hand, to the same debtor or another."""
    line = _line_locked(line)
    if line.status not in APPLIED_STATUSES or line.payment is None:
        raise CashError(
            _("this line is %(status)s, not applied")
            % {"status": line.get_status_display().lower()}
        )
    try:
        if line.payment.unapplied_minor < line.payment.amount_minor:
            payment_reverse(payment=line.payment, reason=reason, actor=actor)
        elif not " ".join((reason or "").split()):
            raise CashError(_("say why the payment is reversed"))
    except PortfolioError as exc:
        raise CashError(str(exc)) from None
    line.status = LineStatus.REVERSED
    line.reversals += 1
    line.note = " ".join(reason.split())[:300]
    line.decided_by = actor.label
    line.decided_at = timezone.now()
    line.save(update_fields=["status", "reversals", "note", "decided_by", "decided_at"])
    audit_record(
        actor=actor,
        action="statement_line.reverse",
        obj=line,
        creditor_id=line.creditor_id,
        changes={"reason": line.note, "payment": line.payment.external_id},
    )
    return line


def statement_lines_rematch(
    *, creditor: Creditor, actor: Actor, lines: Sequence[StatementLine] | None = None
) -> tuple[int, int]:
    """Match waiting lines again (new documents or debtors may have arrived since they were
    imported); the confident ones are applied. Reversed lines get fresh proposals but are
    left to a person. Returns (applied, still waiting)."""
    with transaction.atomic():
        queryset = StatementLine.objects.select_for_update().filter(
            creditor=creditor, status__in=PENDING_STATUSES, is_credit=True
        )
        if lines is not None:
            queryset = queryset.filter(pk__in=[line.pk for line in lines])
        found = list(queryset.order_by("booking_date", "position", "pk"))
        waiting = [_Pending(line.pk, line) for line in found if line.payment_id is None]
        reversed_ = [_Pending(line.pk, line) for line in found if line.payment_id is not None]
        decided = _decide(creditor, waiting, actor, auto=True)
        applied = _applied(decided)
        left = len(decided) - applied
        rows_update(StatementLine, _MATCH_UPDATE, [(pk, *values) for pk, values in decided.items()])
        # Reversed lines get fresh proposals only: a person took them back, a person decides.
        fresh = _decide(creditor, reversed_, actor, auto=False)
        rows_update(
            StatementLine,
            ["debtor_id", "confidence", "evidence", "proposals"],
            [(pk, values[1], values[3], values[4], values[5]) for pk, values in fresh.items()],
        )
        if applied:
            audit_record(
                actor=actor,
                action="statement_lines.rematch",
                obj=None,
                creditor_id=creditor.pk,
                changes={"lines": len(found), "applied": applied},
            )
    return applied, left + len(reversed_)
