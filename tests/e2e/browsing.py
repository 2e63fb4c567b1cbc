"""Steps the browser tests share."""

from __future__ import annotations

import re
from typing import Any

from tests.workdesk_support import PASSWORD


def log_in(page: Any, username: str) -> None:
    """Log in through the login form (Spanish or English labels) and land on the worklist."""
    page.goto("/login/")
    page.get_by_label(re.compile("user name|usuario", re.I)).fill(username)
    page.get_by_label(re.compile("password|contraseña", re.I)).fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
