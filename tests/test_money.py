"""Amounts as decimal strings: what the JSON of every report carries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartera.core.money import exponent, from_minor, minor_str


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (123456, "COP", "1234.56"),
        (-5, "USD", "-0.05"),
        (0, "USD", "0.00"),
        (-100, "EUR", "-1.00"),
        (1234567, "CLP", "1234567"),
        (-7, "CLP", "-7"),
        (1, "KWD", "0.001"),
        (-123456789012, "KWD", "-123456789.012"),
    ],
)
def test_minor_units_are_written_with_the_currencys_decimals(minor, currency, text):
    assert minor_str(minor, currency) == text


@given(
    minor=st.integers(min_value=-(10**18), max_value=10**18),
    currency=st.sampled_from(["COP", "USD", "CLP", "KWD", "JPY", "MXN", "BHD"]),
)
def test_minor_str_is_the_exact_decimal_with_the_currencys_places(minor, currency):
    text = minor_str(minor, currency)
    assert Decimal(text) == from_minor(minor, currency)
    places = exponent(currency)
    assert len(text.partition(".")[2]) == places
