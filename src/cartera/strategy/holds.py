"""Which accounts the outbox must not write to because of their stage.

Registered with the compliance gate (which sits below the strategy and cannot ask it
directly): once an account is in legal proceedings (`juridica`) the creditor's lawyers speak
for it, and once it is handed to an agency (`agencia`) the agency does; automated messages from
Cartera would contradict them.
"""

from __future__ import annotations

from collections.abc import Collection

from django.utils.translation import gettext as _

from cartera.strategy.models import Account

HOLDING_STAGES = ("juridica", "agencia")


def accounts_held_by_stage(creditor_id: int, debtor_ids: Collection[int]) -> dict[int, str]:
    """{debtor id: reason} for the given debtors whose account is in a holding stage.

    One query for the whole creditor: accounts in these stages are few, the batches asking
    can be a hundred thousand debtors long.
    """
    wanted = debtor_ids if isinstance(debtor_ids, set | frozenset) else set(debtor_ids)
    return {
        debtor_id: _("the account is in the %(stage)s stage: contact goes through it")
        % {"stage": stage}
        for debtor_id, stage in Account.objects.filter(
            creditor_id=creditor_id, stage__code__in=HOLDING_STAGES
        ).values_list("debtor_id", "stage__name")
        if debtor_id in wanted
    }
