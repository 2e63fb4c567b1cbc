"""What every page's header needs to know about the user, read lazily (one query at most)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from cartera.workdesk.access import roles_of

TEAM_ROLES = frozenset({"admin", "supervisor", "auditor"})


def navigation(request: HttpRequest) -> dict[str, Any]:
    """`nav_team`: show the Team menu (the pages themselves check `workdesk.view_team`)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_team": False}
    return {"nav_team": SimpleLazyObject(lambda: bool(roles_of(user) & TEAM_ROLES))}
