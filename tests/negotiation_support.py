"""Helpers and figures of the agreements, promises, disputes and interest tests (their
fixtures are in `tests.negotiation_fixtures`)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib.auth.models import Group, User

from cartera.core.roles import roles_ensure
from cartera.portfolio.models import Creditor, Document, Membership

AS_OF = datetime.date(2026, 11, 23)
LEGAL_MAX = Decimal("25.5")

DOCUMENTS = (
    "external_id,number,debtor_external_id,name,issue_date,due_date,amount\n"
    "D-1,FV-1,C1,Uno S.A.S.,2026-08-01,2026-09-01,1000000.00\n"
    "D-2,FV-2,C1,Uno S.A.S.,2026-09-01,2026-10-01,500000.00\n"
    "D-3,FV-3,C2,Dos Ltda.,2026-09-15,2026-10-15,300000.00\n"
)


def person(username: str, role: str, *creditors: Creditor) -> User:
    roles_ensure()
    user = User.objects.create_user(username, password="x-secret-1")
    user.groups.add(Group.objects.get(name=role))
    for creditor in creditors:
        Membership.objects.create(user=user, creditor=creditor)
    return user


def doc(number: str) -> Document:
    return Document.objects.get(number=number)
