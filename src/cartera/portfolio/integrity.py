"""`cartera check`: proofs that the caches agree with the ledger and payments are not overspent.

An allocation whose ledger entry has been reversed (`payment_reverse`) no longer counts against
its payment, and an identified prior payment whose identification was reversed is unexplained
again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class Problem:
    kind: str
    creditor: str
    object: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.creditor} {self.object}: {self.detail}"


_CHECKS = {
    "balance": """
        SELECT c.code, d.external_id, d.balance_minor, COALESCE(s.total, 0)
        FROM portfolio_document d
        JOIN portfolio_creditor c ON c.id = d.creditor_id
        LEFT JOIN (SELECT document_id, SUM(amount_minor) AS total
                   FROM portfolio_ledgerentry GROUP BY document_id) s ON s.document_id = d.id
        WHERE d.balance_minor <> COALESCE(s.total, 0)
    """,
    "status": """
        SELECT c.code, d.external_id, d.status, d.balance_minor
        FROM portfolio_document d JOIN portfolio_creditor c ON c.id = d.creditor_id
        WHERE (d.status = 'open') <> (d.balance_minor <> 0)
    """,
    "allocation": """
        SELECT c.code, p.external_id, p.amount_minor, COALESCE(a.total, 0), p.unapplied_minor
        FROM portfolio_payment p
        JOIN portfolio_creditor c ON c.id = p.creditor_id
        LEFT JOIN (SELECT al.payment_id, SUM(al.amount_minor) AS total
                   FROM portfolio_allocation al
                   WHERE NOT EXISTS (SELECT 1 FROM portfolio_ledgerentry r
                                     WHERE r.reverses_id = al.entry_id)
                   GROUP BY al.payment_id) a ON a.payment_id = p.id
        WHERE COALESCE(a.total, 0) > p.amount_minor
           OR p.unapplied_minor <> p.amount_minor - COALESCE(a.total, 0)
    """,
    "entry": """
        SELECT c.code, CAST(al.id AS VARCHAR(20)), al.amount_minor, e.amount_minor, e.kind
        FROM portfolio_allocation al
        JOIN portfolio_ledgerentry e ON e.id = al.entry_id
        JOIN portfolio_payment p ON p.id = al.payment_id
        JOIN portfolio_creditor c ON c.id = p.creditor_id
        WHERE e.amount_minor <> -al.amount_minor OR e.document_id <> al.document_id
           OR e.payment_id IS NULL OR e.payment_id <> al.payment_id OR e.kind <> 'payment'
    """,
    "prior": """
        SELECT c.code, d.external_id, d.unmatched_prior_minor, COALESCE(s.total, 0)
        FROM portfolio_document d
        JOIN portfolio_creditor c ON c.id = d.creditor_id
        LEFT JOIN (
            SELECT p.document_id, -SUM(p.amount_minor) - COALESCE(SUM(r.explained), 0) AS total
            FROM portfolio_ledgerentry p
            LEFT JOIN (SELECT i.reverses_id, SUM(i.amount_minor + COALESCE(u.undone, 0))
                              AS explained
                       FROM portfolio_ledgerentry i
                       LEFT JOIN (SELECT reverses_id, SUM(amount_minor) AS undone
                                  FROM portfolio_ledgerentry WHERE reverses_id IS NOT NULL
                                  GROUP BY reverses_id) u ON u.reverses_id = i.id
                       WHERE i.reverses_id IS NOT NULL
                       GROUP BY i.reverses_id) r ON r.reverses_id = p.id
            WHERE p.kind = 'prior_payment' AND p.amount_minor < 0
            GROUP BY p.document_id
        ) s ON s.document_id = d.id
        WHERE d.unmatched_prior_minor <> COALESCE(s.total, 0)
    """,
    # Past balances read these two columns instead of the entries (`reports.balances`), which
    # is exact only if every prior entry of a document is dated its `prior_on`.
    "prior_net": """
        SELECT c.code, d.external_id, d.prior_net_minor, COALESCE(s.total, 0), d.prior_on,
               s.first_day, s.last_day
        FROM portfolio_document d
        JOIN portfolio_creditor c ON c.id = d.creditor_id
        LEFT JOIN (
            SELECT document_id, SUM(amount_minor) AS total, MIN(effective_date) AS first_day,
                   MAX(effective_date) AS last_day
            FROM portfolio_ledgerentry
            WHERE kind IN ('prior_payment', 'prior_identified')
            GROUP BY document_id
        ) s ON s.document_id = d.id
        WHERE d.prior_net_minor <> COALESCE(s.total, 0)
           OR (s.document_id IS NOT NULL
               AND (s.first_day <> s.last_day OR d.prior_on IS NULL OR d.prior_on <> s.first_day))
    """,
    # Past unapplied credits look only at payments applied after their date
    # (`reports.balances.unapplied_cte`), which is exact only if this bound holds.
    "applied_late": """
        SELECT c.code, p.external_id, p.date, p.applied_late_on, s.last_day
        FROM portfolio_payment p
        JOIN portfolio_creditor c ON c.id = p.creditor_id
        JOIN (
            SELECT al.payment_id, MAX(e.effective_date) AS last_day
            FROM portfolio_allocation al JOIN portfolio_ledgerentry e ON e.id = al.entry_id
            GROUP BY al.payment_id
        ) s ON s.payment_id = p.id
        WHERE s.last_day > p.date
          AND (p.applied_late_on IS NULL OR p.applied_late_on < s.last_day)
    """,
    "currency": """
        SELECT c.code, d.external_id, d.currency, e.currency
        FROM portfolio_ledgerentry e
        JOIN portfolio_document d ON d.id = e.document_id
        JOIN portfolio_creditor c ON c.id = d.creditor_id
        WHERE e.currency <> d.currency OR e.creditor_id <> d.creditor_id
    """,
}

_DESCRIBE = {
    "balance": lambda r: f"cached balance {r[2]} but the ledger sums to {r[3]} (minor units)",
    "status": lambda r: f"status {r[2]} with balance {r[3]}",
    "allocation": lambda r: (
        f"amount {r[2]}, allocated {r[3]}, unapplied {r[4]} (minor units): over-allocated "
        "or unapplied out of step"
    ),
    "entry": lambda r: f"allocation {r[2]} does not match its ledger entry {r[3]} ({r[4]})",
    "prior": lambda r: f"unmatched prior payments {r[2]} but the ledger leaves {r[3]} unexplained",
    "prior_net": lambda r: (
        f"prior entries net {r[3]} dated {r[5]}..{r[6]}, but the document says {r[2]} on {r[4]}"
    ),
    "applied_late": lambda r: (
        f"received {r[2]}, applied up to {r[4]}, but the payment says applied late up to {r[3]}"
    ),
    "currency": lambda r: f"document in {r[2]} has a ledger entry in {r[3]} or of another creditor",
}


def integrity_problems(limit: int = 1000) -> list[Problem]:
    """Every broken invariant (at most `limit` of each kind), empty when all hold."""
    problems: list[Problem] = []
    with connection.cursor() as cursor:
        for kind, sql in _CHECKS.items():
            cursor.execute(f"{sql} LIMIT {int(limit)}")
            for record in cursor.fetchall():
                problems.append(Problem(kind, record[0], str(record[1]), _DESCRIBE[kind](record)))
    return problems
