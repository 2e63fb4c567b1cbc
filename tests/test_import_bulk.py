"""`core.bulk.rows_update`, which imports use to write balances chunk after chunk."""

from __future__ import annotations

import pytest
from django.db import transaction

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
