"""The demo installation: a creditor, a generated portfolio loaded through the real importers,
and the demo users. Every step is skipped when already done, so `cartera demo` can be rerun."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.functions import Mod

from cartera.core.audit import Actor, audit_record
from cartera.demo.generator import generate_portfolio
from cartera.portfolio.importing.debtors import DebtorImporter
from cartera.portfolio.importing.documents import DocumentImporter
from cartera.portfolio.importing.payments import PaymentImporter
from cartera.portfolio.importing.pipeline import ImportOptions, ImportResult, run_import
from cartera.portfolio.models import (
    ContactKind,
    ContactPoint,
    Creditor,
    Debtor,
    Document,
    Membership,
)
from cartera.portfolio.services import creditor_create

DEMO_CODE = "DEMO"
DEMO_PASSWORD = "demo"
# username -> (role, superuser)
DEMO_USERS = {
    "admin": ("admin", True),
    "supervisora": ("supervisor", False),
    "cobrador1": ("collector", False),
    "cobrador2": ("collector", False),
}


def demo_creditor(actor: Actor) -> Creditor:
    creditor = Creditor.objects.filter(code=DEMO_CODE).first()
    if creditor is None:
        creditor = creditor_create(
            code=DEMO_CODE,
            name="Distribuidora Andina S.A.S.",
            country="CO",
            currency="COP",
            locale="es_CO",
            timezone="America/Bogota",
            tax_id="900123456-8",
            actor=actor,
        )
    return creditor


def demo_portfolio_load(
    *,
    creditor: Creditor,
    actor: Actor,
    debtors: int,
    documents: int,
    seed: int,
    as_of: datetime.date,
    say: Callable[[str], None],
) -> list[ImportResult] | None:
    """Generate the demo files and load them; None when the creditor already has documents."""
    if Document.objects.filter(creditor=creditor).exists():
        return None
    folder = Path(settings.CARTERA_HOME) / "demo"
    counts = generate_portfolio(
        debtors=debtors,
        documents=documents,
        seed=seed,
        out_dir=folder,
        country=creditor.country,
        as_of=as_of,
        currency=creditor.currency,
    )
    say(f"generated {', '.join(f'{n:,} {k}' for k, n in counts.items())} in {folder}")
    results = []
    options = ImportOptions(as_of=as_of)
    for importer, name in (
        (DebtorImporter, "debtors.csv"),
        (DocumentImporter, "documents.csv"),
        (PaymentImporter, "payments.csv"),
    ):
        result = run_import(
            importer, creditor=creditor, path=folder / name, actor=actor, options=options
        )
        say(
            f"imported {name}: created {result.created:,}, updated {result.updated:,}, "
            f"unchanged {result.unchanged:,}, rejected {result.rejected:,}"
        )
        results.append(result)
    return results


PHONES = (ContactKind.MOBILE, ContactKind.PHONE, ContactKind.WHATSAPP)
# (contact kinds, consent field, whether the debtors who keep their phone to themselves give it)
DEMO_CONSENTS = (
    ((ContactKind.EMAIL,), "consent_email", True),
    ((ContactKind.ADDRESS,), "consent_letter", True),
    ((*PHONES, ContactKind.LANDLINE), "consent_call", True),
    (PHONES, "consent_sms", False),
    (PHONES, "consent_whatsapp", False),
)


@transaction.atomic
def demo_consents_ensure(creditor: Creditor, actor: Actor) -> int:
    """Record the channels the demo debtors authorized, as a creditor's contracts would: in
    Colombia only authorized channels may be used. Nine debtors in ten authorized every channel;
    the tenth authorized email, letters and calls but not SMS or WhatsApp, so the demo also shows
    the gate refusing. Consents already stated (an opt-out, an edit) are left alone. Returns how
    many consents were recorded."""
    points = ContactPoint.objects.filter(debtor__creditor=creditor)
    reserved = (
        Debtor.objects.filter(creditor=creditor).alias(tenth=Mod("pk", 10)).filter(tenth=0)
    ).values("pk")
    recorded = 0
    for kinds, field, everyone in DEMO_CONSENTS:
        chosen = points.filter(kind__in=kinds, **{f"{field}__isnull": True})
        if not everyone:
            chosen = chosen.exclude(debtor_id__in=reserved)
        recorded += chosen.update(**{field: True})
    if recorded:
        audit_record(
            actor=actor,
            action="demo.consents",
            changes={"consents": recorded},
            creditor_id=creditor.pk,
        )
    return recorded


@transaction.atomic
def demo_users_ensure(creditor: Creditor) -> list[str]:
    """Create the demo users (password 'demo') that do not exist yet; returns the new names."""
    user_model = get_user_model()
    created = []
    for username, (role, superuser) in DEMO_USERS.items():
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model(username=username, is_staff=True, is_superuser=superuser)
            user.set_password(DEMO_PASSWORD)
            user.save()
            created.append(username)
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
        Membership.objects.get_or_create(user=user, creditor=creditor)
    demo_assignment_ensure(creditor)
    return created


def demo_assignment_ensure(creditor: Creditor) -> None:
    """Share the overdue accounts between the demo collectors, so that each opens the app on a
    worklist of their own: a rule with both (unless the creditor has rules), applied now."""
    from cartera.strategy.models import AssignmentRule
    from cartera.workdesk.services import accounts_rebalance

    if AssignmentRule.objects.filter(creditor=creditor).exists():
        return
    collectors = get_user_model().objects.filter(
        username__in=[name for name, (role, _su) in DEMO_USERS.items() if role == "collector"]
    )
    rule = AssignmentRule.objects.create(creditor=creditor, order=1, name="Cartera general")
    rule.collectors.set(collectors)
    accounts_rebalance(creditor=creditor, actor=Actor.system("demo"))
