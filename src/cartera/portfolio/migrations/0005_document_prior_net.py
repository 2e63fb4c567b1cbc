"""Each document carries the net of its prior-payment entries and the day they are dated.

A balance-column import books a prior payment per document on its as-of day, and detailed
payments loaded later take it back on that same day (`prior_identified`): millions of entries
that mostly cancel per document. A balance at a past date summed them all; it now reads the
net from the document (`cartera.reports.balances`). The columns are filled from the ledger.
"""

from django.db import migrations, models

_FILL = """
    UPDATE portfolio_document SET prior_net_minor = s.total, prior_on = s.day
    FROM (
        SELECT document_id, SUM(amount_minor) AS total, MIN(effective_date) AS day
        FROM portfolio_ledgerentry
        WHERE kind IN ('prior_payment', 'prior_identified')
        GROUP BY document_id
    ) AS s
    WHERE portfolio_document.id = s.document_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0004_entry_creditor_date_cover_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="prior_net_minor",
            field=models.BigIntegerField(
                default=0,
                verbose_name="net of the prior payments and their identifications (minor units)",
            ),
        ),
        migrations.AddField(
            model_name="document",
            name="prior_on",
            field=models.DateField(blank=True, null=True, verbose_name="prior payments booked on"),
        ),
        migrations.RunSQL(_FILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="document",
            index=models.Index(
                condition=models.Q(("prior_net_minor", 0), _negated=True),
                fields=["creditor", "prior_on"],
                name="document_prior_idx",
            ),
        ),
    ]
