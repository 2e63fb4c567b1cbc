"""The four roles as groups with model permissions, kept in step after every migrate."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

# Role -> (app label, permission codename prefixes) pairs; "*" is every model of the app.
ROLE_PERMISSIONS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "admin": [
        ("portfolio", ("view_", "add_", "change_", "delete_")),
        ("negotiation", ("view_", "change_")),
        ("strategy", ("view_", "add_", "change_", "delete_")),
        ("core", ("view_",)),
        ("auth", ("view_", "add_", "change_")),
    ],
    "supervisor": [
        ("portfolio", ("view_",)),
        ("negotiation", ("view_", "change_")),
        ("strategy", ("view_", "change_account", "add_pause", "change_pause")),
        ("portfolio", ("change_debtor", "change_contactpoint", "add_contactpoint")),
        ("core", ("view_",)),
    ],
    "collector": [
        ("negotiation", ("view_",)),
        ("strategy", ("view_account", "view_action", "view_alert", "view_episode")),
        (
            "portfolio",
            (
                "view_creditor",
                "view_debtor",
                "view_contactpoint",
                "view_document",
                "view_ledgerentry",
                "view_payment",
                "view_allocation",
            ),
        ),
        ("portfolio", ("change_contactpoint", "add_contactpoint")),
    ],
    "auditor": [
        ("portfolio", ("view_",)),
        ("negotiation", ("view_",)),
        ("strategy", ("view_",)),
        ("core", ("view_",)),
    ],
}


def roles_ensure(**_: Any) -> None:
    for role, grants in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        query = Q(pk__in=[])
        for app_label, prefixes in grants:
            for prefix in prefixes:
                query |= Q(content_type__app_label=app_label, codename__startswith=prefix)
        group.permissions.set(Permission.objects.filter(query))
