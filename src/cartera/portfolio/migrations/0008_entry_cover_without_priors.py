"""The ledger's covering index leaves out the prior payments and their identifications.

A balance-column import books one per document, and detailed payments loaded later one more:
on a loaded portfolio they are most of the ledger, all dated the import's day, so every
report reading "the entries after a date" went through them. Each document carries their net
and day (`prior_net_minor`, `prior_on`, migration 0005), and the reports read them there.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0007_payment_applied_late_on"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="ledgerentry",
            name="entry_creditor_date_cover_idx",
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                condition=models.Q(
                    ("kind__in", ["prior_payment", "prior_identified"]), _negated=True
                ),
                fields=["creditor", "effective_date"],
                include=("document", "amount_minor", "kind", "currency", "payment"),
                name="entry_creditor_date_cover_idx",
            ),
        ),
    ]
