"""Each payment records the latest day one of its allocations takes effect, when that is later
than the payment's own date.

A past date's unapplied credits joined every payment entry after the date to its payment, to
find the few payments received by then but applied later; they are now found by this column
(and a partial index), filled here from the ledger.
"""

from django.db import migrations, models

_FILL = """
    UPDATE portfolio_payment SET applied_late_on = s.day
    FROM (
        SELECT al.payment_id, MAX(e.effective_date) AS day
        FROM portfolio_allocation al
        JOIN portfolio_ledgerentry e ON e.id = al.entry_id
        GROUP BY al.payment_id
    ) AS s
    WHERE portfolio_payment.id = s.payment_id AND s.day > portfolio_payment.date
"""


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0006_same_creditor_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="applied_late_on",
            field=models.DateField(blank=True, null=True, verbose_name="applied late, up to"),
        ),
        migrations.RunSQL(_FILL, migrations.RunSQL.noop),
        # The planner must know at once that the column is mostly empty: without statistics
        # it reads the entries after a date first, the very thing the column avoids.
        migrations.RunSQL("ANALYZE portfolio_payment", migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(
                condition=models.Q(("applied_late_on__isnull", False)),
                fields=["creditor", "applied_late_on"],
                name="payment_applied_late_idx",
            ),
        ),
    ]
