"""`cartera demo` sets everything up through the real importers, and reruns reuse it."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.management import call_command

from cartera.core.models import AuditEvent
from cartera.portfolio.integrity import integrity_problems
from cartera.portfolio.models import Creditor, Debtor, Document, ImportBatch, Payment
from cartera.reports.models import DailyBalance
from cartera.strategy.models import Account


def test_demo_loads_a_portfolio_and_users_once(db, tmp_path, settings, capsys):
    settings.CARTERA_HOME = tmp_path
    settings.STATIC_ROOT = tmp_path / "static"

    call_command("demo", no_serve=True, debtors=60, documents=300, seed=3)
    first = capsys.readouterr().out

    creditor = Creditor.objects.get(code="DEMO")
    assert Debtor.objects.filter(creditor=creditor).count() == 60
    assert Document.objects.filter(creditor=creditor).count() == 300
    assert Payment.objects.filter(creditor=creditor).exists()
    assert ImportBatch.objects.filter(creditor=creditor).count() == 3
    assert set(User.objects.values_list("username", flat=True)) == {
        "admin",
        "supervisora",
        "cobrador1",
        "cobrador2",
    }
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("demo")
    collector = User.objects.get(username="cobrador1")
    assert not collector.is_superuser
    assert list(collector.groups.values_list("name", flat=True)) == ["collector"]
    assert collector.memberships.get().creditor == creditor
    assert integrity_problems() == []
    assert "password 'demo'" in first and "http://127.0.0.1:8000/" in first

    call_command("demo", no_serve=True, debtors=60, documents=300, seed=3)
    second = capsys.readouterr().out

    assert "already loaded" in second
    assert Document.objects.count() == 300
    assert ImportBatch.objects.count() == 3
    assert AuditEvent.objects.filter(action="creditor.create").count() == 1


def test_the_days_snapshot_knows_the_demo_collectors(transactional_db, tmp_path, settings):
    """The run hands the overdue accounts to both collectors, and its snapshot of the day,
    taken once the run is committed, records who holds them (the reports by collector)."""
    settings.CARTERA_HOME = tmp_path
    settings.STATIC_ROOT = tmp_path / "static"

    call_command("demo", no_serve=True, debtors=60, documents=300, seed=3)

    holders = Account.objects.exclude(collector=None).values_list("collector__username", flat=True)
    assert set(holders) == {"cobrador1", "cobrador2"}
    held = DailyBalance.objects.exclude(collector=None).values_list(
        "collector__username", flat=True
    )
    assert set(held) == {"cobrador1", "cobrador2"}
