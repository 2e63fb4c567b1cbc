"""A small collections team and its portfolio, for the workdesk tests.

Acme (the `creditor` fixture, Colombia) has debtors with invoices overdue by 10 days (the
default strategy's `llamada_1` fires at 7), a few by 40 days, and one not yet due each; every
debtor has a mobile phone. The team: two collectors (cobradora, cobrador), a supervisor and an
auditor. An assignment rule shares the overdue accounts between the two collectors, and the
daily run of `AS_OF` has run.
"""

from __future__ import annotations

import datetime
import zoneinfo
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group, User

from cartera.core.audit import Actor
from cartera.core.roles import roles_ensure
from cartera.messaging.jurisdictions import contact_rules_ensure
from cartera.portfolio.models import Creditor, Membership
from cartera.strategy.defaults import strategy_defaults_ensure
from cartera.strategy.models import Account, AssignmentRule
from cartera.strategy.run import run_execute
from cartera.workdesk.defaults import outcome_defaults_ensure

BOGOTA = zoneinfo.ZoneInfo("America/Bogota")
AS_OF = datetime.date(2026, 11, 24)
# A Tuesday at 10:00 in Bogotá: inside Colombia's contact hours.
NOW = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)
PASSWORD = "a-Long-secret-42"


def person(username: str, role: str, *creditors: Creditor, staff: bool = False) -> User:
    roles_ensure()
    user = User.objects.create_user(username, password=PASSWORD, is_staff=staff)
    user.groups.add(Group.objects.get(name=role))
    for creditor in creditors:
        Membership.objects.create(user=user, creditor=creditor)
    return user


def documents_csv(debtors: int, *, prefix: str = "D", as_of: datetime.date = AS_OF) -> str:
    """Two invoices per debtor: one overdue (10 days, or 40 for every fifth debtor) and one
    due in three weeks; amounts grow with the debtor's number so the order is predictable."""
    lines = [
        "external_id,debtor_external_id,debtor_name,debtor_tax_id,debtor_mobile,due_date,amount"
    ]
    for n in range(debtors):
        late = 40 if n % 5 == 0 else 10
        overdue_on = as_of - datetime.timedelta(days=late)
        later = as_of + datetime.timedelta(days=21)
        phone = f"+57 310 {1000000 + n:07d}"
        name = f"Deudor {prefix} {n:04d}"
        tax_id = f"{80000000 + n}"
        lines.append(
            f"{prefix}{n}-1,{prefix}{n},{name},{tax_id},{phone},{overdue_on},{1000 + 10 * n}"
        )
        lines.append(f"{prefix}{n}-2,{prefix}{n},{name},{tax_id},{phone},{later},{500 + n}")
    return "\n".join(lines) + "\n"


def portfolio_build(
    *,
    creditor: Creditor,
    load: Any,
    write_file: Any,
    debtors: int,
    collectors: list[User],
    prefix: str = "D",
    as_of: datetime.date = AS_OF,
) -> None:
    """Load the documents, give the creditor the default strategy and a rule sharing its
    accounts between `collectors`, and run the day."""
    contact_rules_ensure()
    outcome_defaults_ensure()
    actor = Actor.system("tests")
    path: Path = write_file(f"{prefix}.csv", documents_csv(debtors, prefix=prefix, as_of=as_of))
    result = load("documents", path, target=creditor, as_of=as_of)
    assert result.rejected == 0, result
    strategy_defaults_ensure(creditor=creditor, actor=actor)
    if collectors:
        rule = AssignmentRule.objects.create(creditor=creditor, order=1, name="Todos")
        rule.collectors.set(collectors)
    run_execute(creditor=creditor, as_of=as_of, actor=actor)


def accounts_of(user: User) -> list[Account]:
    return list(
        Account.objects.filter(collector=user).select_related("debtor").order_by("debtor__name")
    )
