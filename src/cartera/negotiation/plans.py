"""Payment-agreement schedules ("acuerdos de pago"): French or German amortization.

Pure arithmetic on Decimal, no database: the calculator behind `cartera plan`, the account page
and agreements. The rate is an effective annual rate ("E.A.") in percent, turned into the
period's effective rate `(1 + R) ** (1 / k) - 1` without rounding; each period's interest is the
balance times that rate, rounded half-up to the currency's minor unit; the last installment
carries every rounding remainder, so the principal parts sum exactly to the financed amount and
the balance ends at zero.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum

from dateutil.relativedelta import relativedelta
from django.utils.translation import gettext as _

from cartera.core.money import exponent, minor_str


class Frequency(StrEnum):
    MONTHLY = "monthly"
    SEMIMONTHLY = "semimonthly"  # "quincenal": the 15th and the month's last day
    BIWEEKLY = "biweekly"  # every 14 days
    WEEKLY = "weekly"


PERIODS_PER_YEAR = {
    Frequency.MONTHLY: 12,
    Frequency.SEMIMONTHLY: 24,
    Frequency.BIWEEKLY: 26,
    Frequency.WEEKLY: 52,
}


class Method(StrEnum):
    FRENCH = "french"  # equal payments
    GERMAN = "german"  # equal principal


class PlanError(ValueError):
    """Parameters that cannot make a schedule; the message says which and why."""


@dataclass(frozen=True)
class Installment:
    n: int
    due_date: datetime.date
    payment: int  # minor units
    interest: int
    principal: int
    balance: int  # what is still owed after this installment


@dataclass(frozen=True)
class Plan:
    currency: str
    principal: int
    down_payment: int
    period_rate: Decimal
    installments: tuple[Installment, ...]

    @property
    def financed(self) -> int:
        return self.principal - self.down_payment

    @property
    def total_interest(self) -> int:
        return sum(i.interest for i in self.installments)

    @property
    def total_paid(self) -> int:
        """Everything the debtor pays: the down payment and every installment."""
        return self.down_payment + sum(i.payment for i in self.installments)

    def as_json(self) -> dict[str, object]:
        c = self.currency
        return {
            "principal": minor_str(self.principal, c),
            "down_payment": minor_str(self.down_payment, c),
            "financed": minor_str(self.financed, c),
            "period_rate": str(self.period_rate.quantize(Decimal("1e-10"), ROUND_HALF_UP)),
            "installments": [
                {
                    "n": i.n,
                    "due_date": i.due_date.isoformat(),
                    "payment": minor_str(i.payment, c),
                    "interest": minor_str(i.interest, c),
                    "principal": minor_str(i.principal, c),
                    "balance": minor_str(i.balance, c),
                }
                for i in self.installments
            ],
            "total_interest": minor_str(self.total_interest, c),
            "total_paid": minor_str(self.total_paid, c),
        }


def period_rate(annual_rate_percent: Decimal, frequency: Frequency) -> Decimal:
    """The period's effective rate (a fraction) equivalent to an effective annual rate."""
    if annual_rate_percent < 0:
        raise PlanError(_("the annual rate cannot be negative"))
    with localcontext() as ctx:
        ctx.prec = 40
        annual = annual_rate_percent / Decimal(100)
        return (1 + annual) ** (Decimal(1) / PERIODS_PER_YEAR[frequency]) - 1


def _month_last_day(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def _semimonthly_on_or_after(day: datetime.date) -> datetime.date:
    if day.day <= 15:
        return day.replace(day=15)
    return _month_last_day(day.year, day.month)


def due_dates(first: datetime.date, count: int, frequency: Frequency) -> list[datetime.date]:
    """The installments' due dates, the first on `first` (semimonthly: the first 15th or
    month's end on or after it). Monthly dates keep the first date's day of the month, the
    month's last day where the month is shorter (31 Jan → 28 Feb → 31 Mar)."""
    if frequency == Frequency.MONTHLY:
        return [first + relativedelta(months=k) for k in range(count)]
    if frequency == Frequency.SEMIMONTHLY:
        dates = [_semimonthly_on_or_after(first)]
        while len(dates) < count:
            last = dates[-1]
            if last.day == 15:
                dates.append(_month_last_day(last.year, last.month))
            else:
                following = last + datetime.timedelta(days=1)
                dates.append(following.replace(day=15))
        return dates
    step = datetime.timedelta(days=14 if frequency == Frequency.BIWEEKLY else 7)
    return [first + step * k for k in range(count)]


def default_first_date(today: datetime.date, frequency: Frequency) -> datetime.date:
    """One period after today."""
    if frequency == Frequency.MONTHLY:
        return today + relativedelta(months=1)
    if frequency == Frequency.SEMIMONTHLY:
        return _semimonthly_on_or_after(today + datetime.timedelta(days=1))
    return today + datetime.timedelta(days=14 if frequency == Frequency.BIWEEKLY else 7)


def _round_minor(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def plan_build(
    *,
    principal: Decimal,
    installments: int,
    currency: str,
    first_date: datetime.date,
    annual_rate_percent: Decimal = Decimal(0),
    frequency: Frequency = Frequency.MONTHLY,
    down_payment: Decimal = Decimal(0),
    method: Method = Method.FRENCH,
) -> Plan:
    """The schedule of a payment agreement; amounts in, minor units out."""
    if installments < 1:
        raise PlanError(_("at least one installment is needed"))
    if installments > 600:
        raise PlanError(_("at most 600 installments"))
    scale = Decimal(10) ** exponent(currency)
    principal_minor = _round_minor(principal * scale)
    down_minor = _round_minor(down_payment * scale)
    if principal_minor <= 0:
        raise PlanError(_("the principal must be more than zero"))
    if down_minor < 0:
        raise PlanError(_("the down payment cannot be negative"))
    if down_minor >= principal_minor:
        raise PlanError(_("the down payment must be less than the principal"))
    rate = period_rate(annual_rate_percent, frequency)
    financed = principal_minor - down_minor
    dates = due_dates(first_date, installments, frequency)
    with localcontext() as ctx:
        ctx.prec = 40
        if method == Method.FRENCH:
            if rate == 0:
                level = Decimal(financed) / installments
            else:
                level = Decimal(financed) * rate / (1 - (1 + rate) ** -installments)
            level_payment = _round_minor(level)
        else:
            level_principal = _round_minor(Decimal(financed) / installments)
        balance = financed
        rows = []
        for n, due in enumerate(dates, start=1):
            interest = _round_minor(Decimal(balance) * rate)
            if n == installments:
                part = balance
            elif method == Method.FRENCH:
                part = min(level_payment - interest, balance)
            else:
                part = min(level_principal, balance)
            balance -= part
            rows.append(
                Installment(
                    n=n,
                    due_date=due,
                    payment=part + interest,
                    interest=interest,
                    principal=part,
                    balance=balance,
                )
            )
    if any(row.principal <= 0 for row in rows):
        # Only with a few minor units per installment: rounding would leave an empty one.
        raise PlanError(
            _("%(amount)s %(currency)s is too little to split into %(count)s installments")
            % {"amount": minor_str(financed, currency), "currency": currency, "count": installments}
        )
    return Plan(
        currency=currency,
        principal=principal_minor,
        down_payment=down_minor,
        period_rate=rate,
        installments=tuple(rows),
    )
