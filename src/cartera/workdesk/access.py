"""Who may do what in the workdesk, checked on the server for every view and action.

Tenancy first: every object is fetched through the creditors the user may see, so another
creditor's account answers 404 whatever the URL. Roles second: each action needs a permission
that the roles (`cartera.core.roles`) hand out; an auditor holds none of the writing ones.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, resolve_url
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from cartera.portfolio.models import Creditor, Debtor
from cartera.portfolio.queries import creditors_visible_to

WORK = "workdesk.work_accounts"
VIEW_TEAM = "workdesk.view_team"
MANAGE_TEAM = "workdesk.manage_team"
ROLES = ("admin", "supervisor", "collector", "auditor")

View = TypeVar("View", bound=Callable[..., HttpResponse])


def roles_of(user: User | AnonymousUser) -> set[str]:
    """The user's roles; cached on the user object for the request."""
    cached = getattr(user, "_cartera_roles", None)
    if cached is not None:
        return cast(set[str], cached)
    if not user.is_authenticated:
        roles: set[str] = set()
    else:
        roles = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            roles.add("admin")
    user._cartera_roles = roles  # type: ignore[union-attr]
    return roles


def is_supervising(user: User | AnonymousUser) -> bool:
    return user.has_perm(VIEW_TEAM)


def visible_creditors(request: HttpRequest) -> list[Creditor]:
    """The creditors the request's user may see, read once per request."""
    cached = getattr(request, "_cartera_creditors", None)
    if cached is None:
        cached = list(creditors_visible_to(request.user).order_by("code"))
        request._cartera_creditors = cached  # type: ignore[attr-defined]
    return cast(list[Creditor], cached)


def debtor_for(
    request: HttpRequest, debtor_id: int, queryset: QuerySet[Debtor] | None = None
) -> Debtor:
    """The debtor if one of the user's creditors owns it; 404 otherwise (never 403, so that
    another creditor's ids reveal nothing)."""
    base = queryset if queryset is not None else Debtor.objects.all()
    # The user's creditors as a subquery: one query for the debtor and its tenancy.
    return get_object_or_404(base, pk=debtor_id, creditor__in=creditors_visible_to(request.user))


def creditor_for(request: HttpRequest, creditor_id: Any) -> Creditor:
    try:
        wanted = int(creditor_id)
    except (TypeError, ValueError) as exc:
        raise Http404(_("No such creditor")) from exc
    for creditor in visible_creditors(request):
        if creditor.pk == wanted:
            return creditor
    raise Http404(_("No such creditor"))


def member_required(view: View) -> View:
    """Logged in and holding one of the four roles (a user without a role sees nothing).

    An in-page (htmx) request whose session ended is sent to the login page as a whole page,
    coming back to the page it was made from."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if getattr(request, "htmx", False):
                current = urlsplit(request.headers.get("HX-Current-URL") or "")
                back = (
                    current.path + (f"?{current.query}" if current.query else "")
                    if current.path
                    else request.get_full_path()
                )
                return HttpResponseClientRedirect(
                    f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}"
                )
            return redirect_to_login(request.get_full_path())
        if not roles_of(request.user):
            raise PermissionDenied(_("Your user has no role yet: ask an administrator."))
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def permission_required(*perms: str) -> Callable[[View], View]:
    """Logged in, a role, and every one of `perms`; 403 otherwise (auditors get 403 on
    every write)."""

    def decorate(view: View) -> View:
        @member_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perms(perms):
                raise PermissionDenied(_("Your role does not allow this."))
            return view(request, *args, **kwargs)

        return cast(View, wrapper)

    return decorate
