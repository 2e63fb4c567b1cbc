"""Reads of the strategy's results shared by the admin, the workdesk and reports."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from cartera.portfolio.queries import creditors_visible_to
from cartera.strategy.models import Alert

SUPERVISING_ROLES = ("supervisor", "admin")


def alerts_for(user: User | AnonymousUser, *, unread_only: bool = True) -> QuerySet[Alert]:
    """The alerts a user should see: those of the accounts assigned to them and, for a
    supervisor (or admin), every alert of the creditors they supervise, so that nothing goes
    unseen when an account has no collector."""
    visible = creditors_visible_to(user)
    alerts = Alert.objects.filter(creditor__in=visible)
    if not (user.is_superuser or user.groups.filter(name__in=SUPERVISING_ROLES).exists()):
        alerts = alerts.filter(Q(collector_id=user.pk))
    if unread_only:
        alerts = alerts.filter(read_at__isnull=True)
    return alerts.select_related("debtor").order_by("-created_on", "-id")
