"""PostgreSQL: a document's debtor and a ledger entry's document belong to the same creditor.

Two composite foreign keys replace four single ones: (debtor, creditor) of a document points at
(id, creditor) of a debtor, and (document, creditor) of an entry at (id, creditor) of a
document. The database now refuses a document filed under another creditor's debtor, or an
entry booked under another creditor than its document's, which before only `cartera check`
noticed; and an import checks two keys per row instead of four (foreign-key checks were most
of the server's work when a million documents are loaded: BENCHMARKS.md).

The creditor still must exist: the debtor's own key to its creditor proves it. Django keeps
describing the single keys (it has no composite foreign keys); a later migration that alters
`Document.creditor`, `Document.debtor`, `LedgerEntry.creditor` or `LedgerEntry.document` must
keep this in mind. SQLite keeps the single keys.
"""

from django.db import migrations

_KEYS = (
    # (table, columns, referenced table, unique key name, foreign key name)
    ("portfolio_document", "debtor_id, creditor_id", "portfolio_debtor", "debtor_creditor_key"),
    (
        "portfolio_ledgerentry",
        "document_id, creditor_id",
        "portfolio_document",
        "document_creditor_key",
    ),
)
_SINGLE = (
    ("portfolio_document", "creditor_id", "portfolio_creditor"),
    ("portfolio_document", "debtor_id", "portfolio_debtor"),
    ("portfolio_ledgerentry", "creditor_id", "portfolio_creditor"),
    ("portfolio_ledgerentry", "document_id", "portfolio_document"),
)


def _single_key(cursor, table: str, column: str) -> str | None:
    cursor.execute(
        """
        SELECT c.conname FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.conrelid = %s::regclass AND c.contype = 'f'
          AND array_length(c.conkey, 1) = 1 AND a.attname = %s
        """,
        [table, column],
    )
    row = cursor.fetchone()
    return row[0] if row else None


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, columns, target, unique in _KEYS:
            cursor.execute(f"ALTER TABLE {target} ADD CONSTRAINT {unique} UNIQUE (id, creditor_id)")
            name = f"{table.removeprefix('portfolio_')}_same_creditor_fk"
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({columns}) "
                f"REFERENCES {target} (id, creditor_id) DEFERRABLE INITIALLY DEFERRED"
            )
        for table, column, _target in _SINGLE:
            single = _single_key(cursor, table, column)
            if single is not None:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {single}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, column, target in _SINGLE:
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_fk FOREIGN KEY ({column}) "
                f"REFERENCES {target} (id) DEFERRABLE INITIALLY DEFERRED"
            )
        for table, _columns, target, unique in _KEYS:
            name = f"{table.removeprefix('portfolio_')}_same_creditor_fk"
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            cursor.execute(f"ALTER TABLE {target} DROP CONSTRAINT {unique}")


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0005_document_prior_net"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
