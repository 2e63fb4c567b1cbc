"""Steps the browser tests share."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from cartera.portfolio.models import Creditor
from tests.workdesk_support import PASSWORD, person, portfolio_build


def log_in(page: Any, username: str) -> None:
    """Log in through the login form (Spanish or English labels) and land on the worklist."""
    page.goto("/login/")
    page.get_by_label(re.compile("user name|usuario", re.I)).fill(username)
    page.get_by_label(re.compile("password|contraseña", re.I)).fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def office_build(
    creditor: Creditor,
    load: Any,
    write_file: Any,
    *,
    debtors: int,
    collectors: tuple[str, ...] = ("cobradora",),
) -> dict[str, User]:
    """The creditor's collectors and `supervisora`, and `debtors` debtors shared between the
    collectors by today's run (done)."""
    team = {name: person(name, "collector", creditor) for name in collectors}
    team["supervisora"] = person("supervisora", "supervisor", creditor)
    portfolio_build(
        creditor=creditor,
        load=load,
        write_file=write_file,
        debtors=debtors,
        collectors=[team[name] for name in collectors],
        as_of=timezone.localdate(),
    )
    return team
