"""The index of open documents carries what a balance needs (PostgreSQL: a covering index).

Every aging, today's or a past date's, starts from the documents open today: their balance,
debtor, currency, due date and write-off date are now read from this (small, partial) index
instead of the table's pages. SQLite keeps a plain partial index.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0008_entry_cover_without_priors"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="document",
            name="document_open_due_idx",
        ),
        migrations.AddIndex(
            model_name="document",
            index=models.Index(
                condition=models.Q(("balance_minor", 0), _negated=True),
                fields=["creditor", "due_date"],
                include=("id", "debtor", "currency", "written_off_on", "balance_minor"),
                name="document_open_due_idx",
            ),
        ),
    ]
