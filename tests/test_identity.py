"""Tax ids, phones, payment references and company names as people really write them."""

from __future__ import annotations

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st
from stdnum.co import nit as co_nit

from cartera.portfolio.identity import (
    InvalidPhone,
    InvalidTaxId,
    TaxId,
    compact_reference,
    guess_is_company,
    is_valid_payment_reference,
    normalize_phone,
    payment_reference,
    validate_tax_id,
)


@pytest.fixture(autouse=True, scope="module")
def english():
    """The reasons are asserted as written in the code (English, the msgids); the Spanish
    the product shows by default is checked in test_import_language.py."""
    with translation.override("en"):
        yield


# A NIT base and its real check digit, computed once so the tests read as examples.
NIT_BASE = "900123456"
NIT_DV = co_nit.calc_check_digit(NIT_BASE)
WRONG_DV = str((int(NIT_DV) + 1) % 10)


# --- Colombia ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        f"{NIT_BASE}-{NIT_DV}",
        f"900.123.456-{NIT_DV}",
        f"{NIT_BASE} {NIT_DV}",
        f"{NIT_BASE} - {NIT_DV}",
        f"NIT 900.123.456-{NIT_DV}",
        f"Nit: {NIT_BASE}-{NIT_DV}",
    ],
)
def test_co_nit_with_check_digit_after_a_separator(raw: str) -> None:
    tax = validate_tax_id(raw, "CO")
    assert tax == TaxId(NIT_BASE + NIT_DV, "NIT", f"900.123.456-{NIT_DV}", True)


def test_co_nit_wrong_check_digit_is_refused_with_the_expected_digit() -> None:
    with pytest.raises(InvalidTaxId) as info:
        validate_tax_id(f"{NIT_BASE}-{WRONG_DV}", "CO")
    message = str(info.value)
    assert "wrong check digit" in message
    assert f"expected {NIT_DV}" in message
    assert message.startswith(f"NIT {NIT_BASE}-{WRONG_DV}")


def test_co_stdnum_docstring_example() -> None:
    tax = validate_tax_id("213.123.432-1", "CO")
    assert (tax.number, tax.type, tax.display) == ("2131234321", "NIT", "213.123.432-1")
    with pytest.raises(InvalidTaxId):
        validate_tax_id("213123432-5", "CO")


def test_co_nine_digits_is_a_nit_without_check_digit() -> None:
    tax = validate_tax_id(NIT_BASE, "CO")
    # stored and shown with the digit computed: both ways of writing it are the same debtor
    assert tax == TaxId(NIT_BASE + NIT_DV, "NIT", f"900.123.456-{NIT_DV}", True)
    assert validate_tax_id(f"900.123.456-{NIT_DV}", "CO").number == tax.number


def test_co_ten_digits_valid_as_nit_is_a_nit() -> None:
    tax = validate_tax_id(NIT_BASE + NIT_DV, "CO")
    assert (tax.number, tax.type, tax.is_company) == (NIT_BASE + NIT_DV, "NIT", True)


def test_co_ten_digits_not_valid_as_nit_is_a_cedula() -> None:
    tax = validate_tax_id(NIT_BASE + WRONG_DV, "CO")
    assert (tax.number, tax.type, tax.is_company) == (NIT_BASE + WRONG_DV, "CC", False)


def test_co_ten_digits_with_nit_hint_must_have_a_valid_check_digit() -> None:
    assert validate_tax_id(NIT_BASE + NIT_DV, "CO", "NIT").type == "NIT"
    with pytest.raises(InvalidTaxId, match="wrong check digit"):
        validate_tax_id(NIT_BASE + WRONG_DV, "CO", "NIT")


def test_co_nine_digits_with_nit_hint_is_without_check_digit() -> None:
    assert validate_tax_id(NIT_BASE, "CO", "NIT").number == NIT_BASE + NIT_DV


@pytest.mark.parametrize(
    ("raw", "number", "display"),
    [
        ("1.020.345.678", "1020345678", "1.020.345.678"),
        ("79.123.456", "79123456", "79.123.456"),
        ("52123456", "52123456", "52.123.456"),
        ("4123456", "4123456", "4.123.456"),
        ("123", "123", "123"),  # very old cédulas are this short
        ("C.C. 1.020.345.678", "1020345678", "1.020.345.678"),
    ],
)
def test_co_cedula_is_valid_by_its_length(raw: str, number: str, display: str) -> None:
    tax = validate_tax_id(raw, "CO")
    assert tax == TaxId(number, "CC", display, False)


@pytest.mark.parametrize("raw", ["12", "12345678901"])
def test_co_cedula_of_wrong_length_is_refused(raw: str) -> None:
    with pytest.raises(InvalidTaxId):
        validate_tax_id(raw, "CO", "CC")


@pytest.mark.parametrize(
    "hint", ["CC", "cc", "C.C.", "cédula", "Cedula de Ciudadanía", "CEDULA DE CIUDADANIA", "13"]
)
def test_co_cedula_hints_in_spanish(hint: str) -> None:
    # 9 digits would be a NIT without a hint; the hint makes it a cédula
    assert validate_tax_id("123456789", "CO", hint).type == "CC"


def test_co_cedula_hint_refuses_a_check_digit() -> None:
    with pytest.raises(InvalidTaxId, match="no check digit"):
        validate_tax_id("52123456-7", "CO", "cédula")


@pytest.mark.parametrize("hint", ["NIT", "nit", "N.I.T.", "RUT", "31"])
def test_co_nit_hints(hint: str) -> None:
    assert validate_tax_id(f"{NIT_BASE}-{NIT_DV}", "CO", hint).type == "NIT"


@pytest.mark.parametrize("hint", ["CE", "cédula de extranjería", "Cedula Extranjeria", "22"])
def test_co_cedula_de_extranjeria(hint: str) -> None:
    tax = validate_tax_id("1234567", "CO", hint)
    assert (tax.number, tax.type, tax.is_company) == ("1234567", "CE", False)
    with pytest.raises(InvalidTaxId):
        validate_tax_id("1234", "CO", hint)


@pytest.mark.parametrize("hint", ["PA", "pasaporte", "Passport", None])
def test_co_passport(hint: str | None) -> None:
    tax = validate_tax_id("ab 123456", "CO", hint)
    assert (tax.number, tax.type) == ("AB123456", "PA")


def test_co_passport_too_short() -> None:
    with pytest.raises(InvalidTaxId):
        validate_tax_id("AB1", "CO", "pasaporte")


def test_co_hint_of_another_country_is_refused() -> None:
    with pytest.raises(InvalidTaxId, match="not a tax id type of CO"):
        validate_tax_id(NIT_BASE, "CO", "RFC")


def test_co_unknown_hint_words_are_ignored() -> None:
    assert validate_tax_id(NIT_BASE, "CO", "Persona Jurídica").type == "NIT"


def test_co_company_inference() -> None:
    assert validate_tax_id("800123456", "CO").is_company is True
    # a person's NIT is their cédula with a digit: nothing says "company"
    assert validate_tax_id("213.123.432-1", "CO").is_company is None


def test_empty_tax_id_is_refused() -> None:
    with pytest.raises(InvalidTaxId, match="empty"):
        validate_tax_id("  ", "CO")


# --- other countries: stdnum's documented examples ----------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "hint", "number", "type_", "company"),
    [
        ("GODE 561231 GR8", "MX", None, "GODE561231GR8", "RFC", False),
        ("MAB-930714-8T4", "MX", None, "MAB9307148T4", "RFC", True),
        ("COMG-600703", "MX", None, "COMG600703", "RFC", False),
        ("XAXX010101000", "MX", "RFC", "XAXX010101000", "RFC", False),
        ("RFC XAXX010101000", "MX", None, "XAXX010101000", "RFC", False),
        ("BOXW310820HNERXN09", "MX", None, "BOXW310820HNERXN09", "CURP", False),
        ("B64717838", "ES", None, "B64717838", "CIF", True),
        ("ES B-58378431", "ES", None, "B58378431", "CIF", True),
        ("54362315K", "ES", None, "54362315K", "NIF", False),
        ("54362315-K", "ES", "DNI", "54362315K", "NIF", False),
        ("X-5253868-R", "ES", None, "X5253868R", "NIE", False),
        ("x-2482300w", "ES", "NIE", "X2482300W", "NIE", False),
        ("J99216582", "ES", "CIF", "J99216582", "CIF", True),
        ("M-1234567-L", "ES", "NIF", "M1234567L", "NIF", False),
        ("76086428-5", "CL", None, "760864285", "RUT", True),
        ("CL 12531909-2", "CL", None, "125319092", "RUT", False),
        ("20512333797", "PE", None, "20512333797", "RUC", True),
        ("10054148289", "PE", "RUC", "10054148289", "RUC", False),
        ("10117410", "PE", None, "10117410", "DNI", False),
        ("10117410-2", "PE", "DNI", "101174102", "DNI", False),
        ("20-05536168-2", "AR", None, "20055361682", "CUIT", False),
        ("20-05536168-2", "AR", "CUIL", "20055361682", "CUIL", False),
        ("20.123.456", "AR", None, "20123456", "DNI", False),
        ("1792060346-001", "EC", None, "1792060346001", "RUC", True),
        ("171430710-3", "EC", "cédula", "1714307103", "CI", False),
        ("21-100342-001-7", "UY", None, "211003420017", "RUT", None),
        ("V-11470283-4", "VE", None, "V114702834", "RIF", False),
        ("576937-K", "GT", None, "576937K", "NIT", None),
        ("3-101-999999", "CR", None, "3101999999", "CPJ", True),
        ("3-0455-0175", "CR", None, "0304550175", "CI", False),
        ("1-01-85004-3", "DO", None, "101850043", "RNC", True),
        ("00113918205", "DO", None, "00113918205", "CI", False),
        ("80028061-0", "PY", None, "800280610", "RUC", True),
        ("0614-050707-104-8", "SV", None, "06140507071048", "NIT", None),
        ("91-1144442", "US", None, "911144442", "EIN", True),
        ("536-90-4399", "US", "SSN", "536904399", "SSN", False),
    ],
)
def test_valid_ids_per_country(
    raw: str, country: str, hint: str | None, number: str, type_: str, company: bool | None
) -> None:
    tax = validate_tax_id(raw, country, hint)
    assert (tax.number, tax.type, tax.is_company) == (number, type_, company)


@pytest.mark.parametrize(
    ("raw", "display"),
    [("125319092", "12.531.909-2"), ("20267565393", "20-26756539-3")],
)
def test_display_forms(raw: str, display: str) -> None:
    country = "CL" if len(raw) == 9 else "AR"
    assert validate_tax_id(raw, country).display == display


@pytest.mark.parametrize(
    ("raw", "country", "hint"),
    [
        ("BOXW310820HNERXN08", "MX", None),
        ("12345", "MX", None),
        ("B64717839", "ES", None),
        ("x-2482300a", "ES", None),
        ("X2482300", "ES", "NIE"),
        ("J992165831", "ES", "CIF"),
        ("54362315Z", "ES", "DNI"),
        ("12531909-3", "CL", None),
        ("76086A28-5", "CL", None),
        ("20512333798", "PE", None),
        ("10117410-3", "PE", "DNI"),
        ("20267565392", "AR", None),
        ("2012345699", "AR", "DNI"),
        ("1763154690001", "EC", None),
        ("1714307104", "EC", None),
        ("210303670014", "UY", None),
        ("V-11470283-3", "VE", None),
        ("8977112-0", "GT", None),
        ("3-534-123559", "CR", None),
        ("101850042", "DO", None),
        ("800532492", "PY", None),
        ("0614-050707-104-0", "SV", None),
        ("07-1144442", "US", "EIN"),
        ("666-00-0000", "US", "SSN"),
    ],
)
def test_invalid_ids_per_country(raw: str, country: str, hint: str | None) -> None:
    with pytest.raises(InvalidTaxId) as info:
        validate_tax_id(raw, country, hint)
    assert str(info.value)  # always says why


def test_reason_is_in_english_and_names_the_problem() -> None:
    with pytest.raises(InvalidTaxId, match="RUT 12531909-3: wrong check digit"):
        validate_tax_id("12531909-3", "CL")
    with pytest.raises(InvalidTaxId, match=r"not a valid tax id of MX \(RFC: wrong length"):
        validate_tax_id("12345", "MX")


def test_hint_limits_validation_to_that_type() -> None:
    # a valid RFC is not a CURP
    with pytest.raises(InvalidTaxId):
        validate_tax_id("MAB-930714-8T4", "MX", "CURP")
    with pytest.raises(InvalidTaxId):
        validate_tax_id("B64717838", "ES", "NIE")


def test_passport_is_accepted_in_any_country() -> None:
    assert validate_tax_id("G12345678", "MX", "pasaporte").type == "PA"


@pytest.mark.parametrize(
    ("raw", "number"), [("AB 123-456", "AB123456"), ("123", "123"), ("a" * 30, "A" * 30)]
)
def test_country_unknown_to_stdnum_is_other(raw: str, number: str) -> None:
    tax = validate_tax_id(raw, "BO")
    assert (tax.number, tax.type, tax.is_company) == (number, "OTHER", None)


@pytest.mark.parametrize("raw", ["12", "a" * 31, "12#45"])
def test_other_needs_3_to_30_alphanumerics(raw: str) -> None:
    with pytest.raises(InvalidTaxId):
        validate_tax_id(raw, "BO")


# --- phones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "e164", "kind"),
    [
        ("300 123 4567", "CO", "+573001234567", "mobile"),
        ("(601) 555 1234", "CO", "+576015551234", "landline"),
        ("+57 300-123-4567", "CO", "+573001234567", "mobile"),
        ("0057 3001234567", "CO", "+573001234567", "mobile"),
        ("573001234567", "CO", "+573001234567", "mobile"),
        ("300 123 4567 ext. 12", "CO", "+573001234567", "mobile"),
        ("601 555 1234 extensión 3", "CO", "+576015551234", "landline"),
        ("55 1234 5678", "MX", "+525512345678", "mobile"),
        ("+52 33 1234 5678", "MX", "+523312345678", "mobile"),
        ("612 345 678", "ES", "+34612345678", "mobile"),
        ("91 123 45 67", "ES", "+34911234567", "landline"),
        ("9 8765 4321", "CL", "+56987654321", "mobile"),
        ("2 2345 6789", "CL", "+56223456789", "other"),
        ("987 654 321", "PE", "+51987654321", "mobile"),
        ("(01) 412-3456", "PE", "+5114123456", "landline"),
        ("201-555-0123", "US", "+12015550123", "mobile"),
        # a foreign number in a Colombian file keeps its own country
        ("+34 612 345 678", "CO", "+34612345678", "mobile"),
    ],
)
def test_normalize_phone(raw: str, country: str, e164: str, kind: str) -> None:
    assert normalize_phone(raw, country) == (e164, kind)


@pytest.mark.parametrize(
    ("raw", "country", "reason"),
    [
        ("123", "CO", "not a valid CO phone number"),
        ("300 123 45", "CO", "not a valid"),
        ("abc", "CO", "not a phone number"),
        ("", "CO", "empty"),
        ("555 1234", "MX", "not a valid"),
        ("612 345 678", "", "not a phone number"),
        ("612 345 678", "XX", "unknown country"),
    ],
)
def test_invalid_phones_are_refused_with_a_reason(raw: str, country: str, reason: str) -> None:
    with pytest.raises(InvalidPhone, match=reason):
        normalize_phone(raw, country)


# --- payment references -------------------------------------------------------------------


def test_payment_reference_format() -> None:
    reference = payment_reference(42)
    assert len(reference) == 10
    assert reference.startswith("000000042")
    assert is_valid_payment_reference(reference)
    assert is_valid_payment_reference(f"{reference[:3]} {reference[3:6]}-{reference[6:]}")


@pytest.mark.parametrize("number", [-1, 10**9])
def test_payment_reference_range(number: int) -> None:
    with pytest.raises(ValueError):
        payment_reference(number)


@pytest.mark.parametrize("text", ["", "12345", "00000004220", "000000042a", "٠٠٠٠٠٠٠٤٢٢"])
def test_not_payment_references(text: str) -> None:
    assert not is_valid_payment_reference(text)


def test_compact_reference() -> None:
    assert compact_reference(" 000 000-042 2 ") == "0000000422"


@given(st.integers(min_value=0, max_value=10**9 - 1))
def test_payment_reference_round_trip(number: int) -> None:
    reference = payment_reference(number)
    assert is_valid_payment_reference(reference)
    assert int(compact_reference(reference)[:9]) == number


@given(
    st.integers(min_value=0, max_value=10**9 - 1),
    st.integers(min_value=0, max_value=9),
    st.integers(min_value=1, max_value=9),
)
def test_single_digit_typo_is_detected(number: int, position: int, shift: int) -> None:
    reference = payment_reference(number)
    typo = str((int(reference[position]) + shift) % 10)
    mistyped = reference[:position] + typo + reference[position + 1 :]
    assert not is_valid_payment_reference(mistyped)


# --- company names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Inversiones Andina S.A.S.",
        "INVERSIONES ANDINA SAS",
        "Inversiones Andina S. A. S.",
        "Comercial del Norte, S.A. de C.V.",
        "Grupo Bimbo SA de CV",
        "López Hermanos S. de R.L. de C.V.",
        "Pérez y Cía. Ltda.",
        "Transportes Rincón LTDA",
        "Talleres Ruiz S.L.",
        "Talleres Ruiz S.L.U.",
        "Minera del Sur SpA",
        "Servicios Quispe S.A.C.",
        "Bodega Huamán E.I.R.L.",
        "Acme Inc.",
        "Acme, LLC",
        "Acme Corp",
        "Empresa de Energía S.A. E.S.P.",
    ],
)
def test_guess_is_company(name: str) -> None:
    assert guess_is_company(name) is True


@pytest.mark.parametrize(
    "name",
    [
        "María Fernanda Gómez Rincón",
        "Luis A. S. Pérez",  # initials are not a legal form
        "Rosa Sánchez",
        "Isabel Casas",
        "Almacenes Éxito",  # a company, but the name does not say so
        "",
    ],
)
def test_guess_is_company_without_a_form(name: str) -> None:
    assert guess_is_company(name) is None
