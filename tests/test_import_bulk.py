"""`core.bulk.rows_update`, which imports use to write balances chunk after chunk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction

from cartera.core.bulk import rows_update
from cartera.portfolio.models import Creditor, ImportBatch


@pytest.fixture
def batches(creditor: Creditor) -> list[ImportBatch]:
    return ImportBatch.objects.bulk_create(
        ImportBatch(
            creditor=creditor,
            kind="documents",
            file_name=f"file-{n}.csv",
            file_sha256="0" * 64,
            actor="tests",
        )
        for n in range(80)
    )


def test_rows_update_sets_each_row_and_a_repeated_pk_ends_with_its_last_values(
    batches: list[ImportBatch],
) -> None:
    first, second, untouched = batches[0], batches[1], batches[2]
    with transaction.atomic():
        rows_update(
            ImportBatch,
            ["rows_read", "message"],
            [(first.pk, 5, 'a\\b "quoted"'), (second.pk, 7, "x"), (first.pk, 6, "last")],
        )
    values = dict(
        ImportBatch.objects.filter(pk__in=[first.pk, second.pk, untouched.pk]).values_list(
            "pk", "rows_read"
        )
    )
    assert values == {first.pk: 6, second.pk: 7, untouched.pk: 0}
    assert ImportBatch.objects.get(pk=first.pk).message == "last"


@pytest.fixture
def update_plans() -> Iterator[list[str]]:
    """The plan PostgreSQL chooses for each UPDATE, explained just before it runs."""
    plans: list[str] = []

    def explain(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith("UPDATE"):
            cursor = context["cursor"]
            cursor.execute(f"EXPLAIN {sql}", params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        yield plans


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_rows_update_looks_each_row_up_by_its_key_instead_of_reading_the_whole_table(
    batches: list[ImportBatch], update_plans: list[str]
) -> None:
    # Most rows of a small table: left to itself the planner hashes the whole table, which
    # for a table of a million documents costs seconds per chunk.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE portfolio_importbatch")
    with transaction.atomic():
        rows_update(ImportBatch, ["rows_read"], [(batch.pk, 1) for batch in batches[:60]])
    assert len(update_plans) == 1
    assert "Seq Scan on portfolio_importbatch" not in update_plans[0]
    assert "Index Scan" in update_plans[0]
    assert ImportBatch.objects.filter(rows_read=1).count() == 60


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's settings")
def test_rows_update_gives_the_planner_settings_back(batches: list[ImportBatch]) -> None:
    def settings(cursor: Any) -> tuple[str, str]:
        cursor.execute(
            "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin')"
        )
        return tuple(cursor.fetchone())  # type: ignore[return-value]

    # The test runs in a transaction: what it set with SET LOCAL is what must come back.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_mergejoin = off")
        rows_update(ImportBatch, ["rows_read"], [(batches[0].pk, 3)])
        assert settings(cursor) == ("on", "off")
