"""The ledger's (creditor, effective date) index carries what reports read of each entry.

Reports rebuild balances at a past date from the entries dated after it, and list sales and
money applied in a period: with the document, amount, kind, currency and payment in the
index, PostgreSQL answers them with index-only scans. The new index is created before the old one
(same keys) is dropped, so queries always have one.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0003_entry_kinds_negotiation"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                fields=["creditor", "effective_date"],
                include=("document", "amount_minor", "kind", "currency", "payment"),
                name="entry_creditor_date_cover_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="ledgerentry",
            name="entry_creditor_date_idx",
        ),
    ]
