"""SQL for the balances at the end of any day, rebuilt from the ledger (one place for all reports).

A document's balance at the end of day D is its cached balance minus the net of its ledger
entries dated after D, so a recent date reads few entries. Two things keep an older date
affordable on a large ledger:

- a balance-column import books a prior payment per document and, as detailed payments
  explain it, entries that take it back (`prior_identified`), all on one day per document:
  millions of entries that mostly cancel per document. `late` reads none of them: the document
  carries their net and their day (`prior_net_minor`, `prior_on`; `cartera check` proves
  both), so only the documents whose prior entries do not cancel, and are dated after D, add
  their net (a partial index finds them).
- `late` keeps only the documents whose later entries do not net to zero: joining the others
  to the documents would be wasted work.
- the ledger's covering index on (creditor, effective date) carries the document, amount,
  kind, currency and payment, so the entries after D are read from the index alone
  (PostgreSQL; SQLite reads the table through the same index).

The unapplied part of a payment at the end of D is its cached unapplied amount plus what was
allocated from it by entries dated after D. Such an allocation takes effect after the payment's
own date, which few do (a payment applied to a document issued after it), and those payments
record how late (`Payment.applied_late_on`): today's report touches only the (few) unapplied
payments, a past one those and the (few) payments applied late.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from cartera.portfolio.models import EntryKind

# Entries summed per document in `Document.prior_net_minor` (see the module's docstring).
_PRIOR_KINDS = f"'{EntryKind.PRIOR_PAYMENT}', '{EntryKind.PRIOR_IDENTIFIED}'"


def not_prior(entry: str = "e") -> str:
    """SQL: the entry is not a prior payment nor its identification. The ledger's covering
    index holds only such entries; a statement reading entries by date must say so in these
    very words (SQLite uses a partial index only for a condition written like its own)."""
    return f"{entry}.kind NOT IN ({_PRIOR_KINDS})"


def marks(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def netted_entries(
    creditor_ids: Sequence[int],
    dates: str,
    date_params: Sequence[Any],
    *,
    entries_where: str = "",
    entries_params: Sequence[Any] = (),
    documents_where: str = "",
    documents_params: Sequence[Any] = (),
) -> tuple[str, list[Any]]:
    """SQL of (document_id, amount) rows: the creditors' ledger entries whose date meets
    `dates` (a condition on `{date}`), except the prior-payment ones, which each document gives
    as one row, their net (all its prior entries are dated `prior_on`). Summed per document,
    both give the same; the second reads a row per document whose prior entries do not cancel
    instead of two or more entries per document. Entries are `e`, documents `d` in the extra
    conditions."""
    in_list = marks(creditor_ids)
    sql = f"""
        SELECT e.document_id, e.amount_minor AS amount
        FROM portfolio_ledgerentry e
        WHERE e.creditor_id IN ({in_list}) AND {dates.format(date="e.effective_date")}
          AND {not_prior()} {entries_where}
        UNION ALL
        SELECT d.id, d.prior_net_minor
        FROM portfolio_document d
        WHERE d.creditor_id IN ({in_list}) AND {dates.format(date="d.prior_on")}
          AND d.prior_net_minor <> 0 {documents_where}
    """
    params = [
        *creditor_ids,
        *date_params,
        *entries_params,
        *creditor_ids,
        *date_params,
        *documents_params,
    ]
    return sql, params


def balances_cte(creditor_ids: Sequence[int], as_of: datetime.date) -> tuple[str, list[Any]]:
    """`late` and `balances` CTEs (without WITH): each document's balance at the end of `as_of`.

    `balances` has id, creditor_id, debtor_id, currency, due_date, written_off_on, balance
    (it may hold zero balances: filter on balance). Sums are cast back to BIGINT: PostgreSQL
    would otherwise carry `numeric` through every row.
    """
    in_list = marks(creditor_ids)
    later, later_params = netted_entries(creditor_ids, "{date} > %s", [as_of])
    sql = f"""
        late AS (
            SELECT document_id, CAST(SUM(amount) AS BIGINT) AS amount
            FROM ({later}) entries
            GROUP BY document_id
            HAVING SUM(amount) <> 0
        ),
        balances AS (
            SELECT d.id, d.creditor_id, d.debtor_id, d.currency, d.due_date, d.written_off_on,
                   d.balance_minor - COALESCE(l.amount, 0) AS balance
            FROM portfolio_document d LEFT JOIN late l ON l.document_id = d.id
            WHERE d.creditor_id IN ({in_list}) AND d.balance_minor <> 0
            UNION ALL
            SELECT d.id, d.creditor_id, d.debtor_id, d.currency, d.due_date, d.written_off_on,
                   -l.amount AS balance
            FROM late l JOIN portfolio_document d ON d.id = l.document_id
            WHERE d.balance_minor = 0
        )
    """
    return sql, [*later_params, *creditor_ids]


def unapplied_cte(creditor_ids: Sequence[int], as_of: datetime.date) -> tuple[str, list[Any]]:
    """`later` and `unapplied` CTEs: each payment's unapplied part at the end of `as_of`
    (`unapplied` has id, creditor_id, debtor_id, currency, unapplied; filter on unapplied)."""
    in_list = marks(creditor_ids)
    sql = f"""
        later AS (
            -- Only a payment received by the date and applied after it can have been partly
            -- unapplied then, and such a payment says how late it was applied
            -- (`applied_late_on`, a partial index; `cartera check` proves the bound).
            SELECT al.payment_id, CAST(SUM(al.amount_minor) AS BIGINT) AS amount
            FROM portfolio_payment pl
            JOIN portfolio_allocation al ON al.payment_id = pl.id
            JOIN portfolio_ledgerentry e ON e.id = al.entry_id
            WHERE pl.creditor_id IN ({in_list}) AND pl.applied_late_on > %s AND pl.date <= %s
              AND e.effective_date > %s
              -- a reversed allocation (dated like its entry) never happened as of any date
              AND NOT EXISTS (SELECT 1 FROM portfolio_ledgerentry r WHERE r.reverses_id = e.id)
            GROUP BY al.payment_id
        ),
        unapplied AS (
            -- Unapplied today (few: a partial index), less what was applied after the date.
            SELECT p.id, p.creditor_id, p.debtor_id, p.currency,
                   p.unapplied_minor + COALESCE(l.amount, 0) AS unapplied
            FROM portfolio_payment p LEFT JOIN later l ON l.payment_id = p.id
            WHERE p.creditor_id IN ({in_list}) AND p.date <= %s AND p.unapplied_minor > 0
            UNION ALL
            -- Fully applied today, but only after the date.
            SELECT p.id, p.creditor_id, p.debtor_id, p.currency, l.amount AS unapplied
            FROM later l JOIN portfolio_payment p ON p.id = l.payment_id
            WHERE p.creditor_id IN ({in_list}) AND p.date <= %s AND p.unapplied_minor = 0
        )
    """
    return sql, [*creditor_ids, as_of, as_of, as_of, *creditor_ids, as_of, *creditor_ids, as_of]
