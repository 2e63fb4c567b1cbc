"""The portfolio the report tests share (its files and its figures worked by hand); the fixture
that loads it is in `tests.reports_fixtures`."""

from __future__ import annotations

import datetime

D = datetime.date

# --- a portfolio built day by day --------------------------------------------------------------
#
# ACME (COP, 2 decimals), period of 30 days ending t = 2026-03-31, so start = 2026-03-01.
# Documents:                        issue       due         amount
#   INV-A  D1 invoice               2026-01-10  2026-02-09  1,000.00
#   INV-B  D1 invoice               2026-02-20  2026-03-22    600.00
#   PN-G   D3 promissory note       2026-02-01  2026-02-28    500.00   (not sales)
#   INV-C  D2 invoice               2026-03-05  2026-04-04    800.00
#   INV-D  D2 invoice               2026-03-20  2026-03-25    400.00
#   CN-E   D1 credit note           2026-03-10  2026-03-10   -100.00   (negative AR)
#   INS-F  D3 installment           2026-03-15  2026-05-15    300.00
#   INV-H  D1 invoice               2026-04-02  2026-05-02    900.00   (after t)
# Payments: P3 D3 2026-02-15 200 → PN-G; P1 D1 2026-03-12 700 → INV-A; P4 D3 2026-03-05
# 100 → PN-G; P2 D2 2026-03-28 400 → INV-D; P5 D2 2026-03-30 50 unapplied;
# P6 D1 2026-04-05 100 → INV-B (after t).
#
# End of 2026-03-31: INV-A 300, INV-B 600, INV-C 800, INV-D 0, CN-E -100, INS-F 300, PN-G 200,
# unapplied -50 → AR 2,050; current (due on or after t) INV-C + INS-F = 1,100.
# End of 2026-03-01: INV-A 1,000 (overdue), INV-B 600 (current), PN-G 300 (overdue) → AR 1,900,
# overdue 1,300. Sales in (03-01, 03-31]: INV-C + INV-D + INS-F = 1,500.
# DSO 2,050 / 1,500 × 30 = 41.00; best possible 1,100 / 1,500 × 30 = 22.00; ADD 19.00;
# CEI (1,900 + 1,500 − 2,050) / (1,900 + 1,500 − 1,100) = 58.70 %;
# recovery (700 + 100) / 1,300 = 61.54 %.
# Countback (real months): March sold 1,500 ≤ 2,050 → 550 left, 31 days; February sold 600
# (INV-B; PN-G is not sales) > 550 → 31 + 550 / 600 × 28 = 56.67.

HEADER = "external_id,debtor_external_id,name,kind,issue_date,due_date,amount,currency\n"
FIRST_DOCUMENTS = (
    HEADER
    + "INV-A,D1,Uno,invoice,2026-01-10,2026-02-09,1000.00,COP\n"
    + "INV-B,D1,Uno,invoice,2026-02-20,2026-03-22,600.00,COP\n"
    + "PN-G,D3,Tres,pagare,2026-02-01,2026-02-28,500.00,COP\n"
)
SECOND_DOCUMENTS = (
    HEADER
    + "INV-C,D2,Dos,invoice,2026-03-05,2026-04-04,800.00,COP\n"
    + "INV-D,D2,Dos,invoice,2026-03-20,2026-03-25,400.00,COP\n"
    + "CN-E,D1,Uno,nota credito,2026-03-10,2026-03-10,-100.00,COP\n"
    + "INS-F,D3,Tres,cuota,2026-03-15,2026-05-15,300.00,COP\n"
)
THIRD_DOCUMENTS = HEADER + "INV-H,D1,Uno,invoice,2026-04-02,2026-05-02,900.00,COP\n"
PAYMENTS_HEADER = "external_id,debtor_external_id,date,amount,currency,document_external_id\n"


EXPECTED = {
    "currency": "COP",
    "as_of": "2026-03-31",
    "days": 30,
    "ar_start": "1900.00",
    "ar_end": "2050.00",
    "current_end": "1100.00",
    "sales": "1500.00",
    "dso": "41.00",
    "dso_countback": "56.67",
    "best_possible_dso": "22.00",
    "average_days_delinquent": "19.00",
    "cei": "58.70",
    "recovery_rate": "61.54",
}
