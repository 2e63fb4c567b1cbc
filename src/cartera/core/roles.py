"""The four roles as groups with model permissions, kept in step after every migrate."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

# Role -> (app label, permission codename prefixes) pairs; "*" is every model of the app.
ROLE_PERMISSIONS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "admin": [
        ("portfolio", ("view_", "add_", "change_", "delete_")),
        # Terms, legal maximum rates, fee caps, approval limits, dispute categories; approvals.
        ("negotiation", ("view_", "add_", "change_", "delete_", "approve_")),
        ("strategy", ("view_", "add_", "change_", "delete_")),
        ("messaging", ("view_", "add_", "change_", "delete_")),
        ("cash", ("view_", "add_", "change_", "delete_", "reverse_")),
        ("core", ("view_",)),
        ("auth", ("view_", "add_", "change_")),
        ("workdesk", ("view_", "add_", "change_", "delete_", "work_accounts", "manage_team")),
    ],
    "supervisor": [
        ("portfolio", ("view_",)),
        # The approvals queue: approve or reject agreements beyond a collector's limits.
        ("negotiation", ("view_", "change_", "approve_")),
        ("strategy", ("view_", "change_account", "add_pause", "change_pause")),
        ("portfolio", ("change_debtor", "change_contactpoint", "add_contactpoint")),
        # The outbox: retry or cancel messages that wait for a person.
        ("messaging", ("view_", "change_message")),
        # Cash application: apply, ignore and reverse statement lines; bank accounts.
        (
            "cash",
            (
                "view_",
                "change_statementline",
                "reverse_statementline",
                "add_bankaccount",
                "change_bankaccount",
            ),
        ),
        ("core", ("view_",)),
        ("workdesk", ("view_", "add_", "change_", "work_accounts", "manage_team")),
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
        ("messaging", ("view_message",)),
        # The unmatched queue: collectors apply the payments they recognise.
        ("cash", ("view_statementline", "view_bankaccount", "change_statementline")),
        ("workdesk", ("view_outcomecode", "view_callback", "work_accounts")),
    ],
    "auditor": [
        ("portfolio", ("view_",)),
        ("negotiation", ("view_",)),
        ("strategy", ("view_",)),
        ("messaging", ("view_",)),
        ("cash", ("view_",)),
        ("core", ("view_",)),
        # Every workdesk page (view_team included) and none of its writing permissions.
        ("workdesk", ("view_",)),
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
