"""Payment references for rows created by the thousand.

The same references as `services.references_allocate` (one UPDATE reserves the block, so
concurrent imports never hand out the same number; `identity.payment_reference` formats
each), with the Luhn check digit read from two tables instead of computed digit by digit:
an import of a million documents creates a million references.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from cartera.portfolio.models import Creditor

# Luhn over the 9 digits and a trailing check digit: from the right of the 9 digits, the
# digits at even positions (0, 2, …) are doubled (a doubled digit counts its two digits).
_DOUBLED = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]
# A 3-digit group whose first and last digits are doubled, and one whose middle digit is.
_OUTER = [_DOUBLED[n // 100] + (n // 10) % 10 + _DOUBLED[n % 10] for n in range(1000)]
_MIDDLE = [n // 100 + _DOUBLED[(n // 10) % 10] + n % 10 for n in range(1000)]


def reference_of(number: int) -> str:
    """`identity.payment_reference(number)`: 9 digits, zero-padded, and a Luhn check digit."""
    if not 0 <= number < 10**9:
        raise ValueError(f"payment reference number {number} is outside 0..999999999")
    total = _OUTER[number % 1000] + _MIDDLE[(number // 1000) % 1000] + _OUTER[number // 1000000]
    return f"{number:09d}{-total % 10}"


def references_reserve(creditor: Creditor, count: int) -> list[str]:
    """Hand out `count` new payment references of the creditor, like
    `services.references_allocate`."""
    if count <= 0:
        return []
    with transaction.atomic():
        Creditor.objects.filter(pk=creditor.pk).update(
            reference_counter=F("reference_counter") + count
        )
        last = Creditor.objects.values_list("reference_counter", flat=True).get(pk=creditor.pk)
    return [reference_of(number) for number in range(last - count + 1, last + 1)]
