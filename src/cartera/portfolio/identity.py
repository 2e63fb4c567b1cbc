"""Tax ids, phone numbers and payment references as debtors and ERPs really write them.

Tax ids are checked with python-stdnum where it knows the country. Colombia gets its own
rules because its spreadsheets mix NITs with and without check digit and cédulas of any age
(old ones have as few as 3 digits) in the same column. Phones become E.164 via phonenumbers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import phonenumbers
from django.utils.translation import gettext as _
from phonenumbers import PhoneNumberType
from stdnum import luhn
from stdnum.ar import cuit as ar_cuit
from stdnum.ar import dni as ar_dni
from stdnum.cl import rut as cl_rut
from stdnum.co import nit as co_nit
from stdnum.cr import cpf as cr_cpf
from stdnum.cr import cpj as cr_cpj
from stdnum.do import cedula as do_cedula
from stdnum.do import rnc as do_rnc
from stdnum.ec import ci as ec_ci
from stdnum.ec import ruc as ec_ruc
from stdnum.es import cif as es_cif
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.es import nif as es_nif
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.gt import nit as gt_nit
from stdnum.mx import curp as mx_curp
from stdnum.mx import rfc as mx_rfc
from stdnum.pe import cui as pe_cui
from stdnum.pe import ruc as pe_ruc
from stdnum.py import ruc as py_ruc
from stdnum.sv import nit as sv_nit
from stdnum.us import ein as us_ein
from stdnum.us import ssn as us_ssn
from stdnum.uy import rut as uy_rut
from stdnum.ve import rif as ve_rif

__all__ = [
    "TAX_ID_TYPES",
    "InvalidPhone",
    "InvalidTaxId",
    "TaxId",
    "compact_reference",
    "guess_is_company",
    "is_valid_payment_reference",
    "normalize_phone",
    "payment_reference",
    "validate_tax_id",
]


class InvalidTaxId(ValueError):
    """The text is not a valid tax id of the country; the message says why, in the active
    language."""


class InvalidPhone(ValueError):
    """The text is not a valid phone number; the message says why, in the active language."""


@dataclass(frozen=True)
class TaxId:
    number: str
    type: str
    display: str
    is_company: bool | None


# The spec's list plus the names of ids that countries only have under their own name (RIF,
# RNC, CPJ, EIN, SSN): calling a Venezuelan RIF "NIT" would confuse the people who read it.
TAX_ID_TYPES = (
    "NIT", "CC", "CE", "PA", "RFC", "CURP", "NIF", "NIE", "CIF", "RUT", "RUC", "DNI",
    "CUIT", "CUIL", "CI", "RIF", "RNC", "CPJ", "EIN", "SSN", "OTHER",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Type hints: the words people put in a "tipo de documento" column.


def _key(text: str) -> str:
    """Only lowercase ASCII letters and digits: 'Cédula de Ciudadanía' -> 'ceduladeciudadania'."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^a-z0-9]", "", bare)


_HINTS: dict[str, str] = {
    **{word: word.upper() for word in map(str.lower, TAX_ID_TYPES)},
    "numerodeidentificaciontributaria": "NIT",
    "cedula": "CEDULA",  # which type depends on the country, see _resolve_hint
    "ceduladeciudadania": "CC",
    "cedulaciudadania": "CC",
    "ceduladeextranjeria": "CE",
    "cedulaextranjeria": "CE",
    "carnedeextranjeria": "CE",
    "cedulaidentidad": "CI",
    "ceduladeidentidad": "CI",
    "cedulajuridica": "CPJ",
    "ceduladepersonajuridica": "CPJ",
    "ceduladepersonafisica": "CI",
    "pasaporte": "PA",
    "passport": "PA",
    "pas": "PA",
    "pp": "PA",
    "run": "RUT",
    "roluniconacional": "RUT",
    "rolunicotributario": "RUT",
    "registrounicodecontribuyentes": "RUC",
    "documentonacionaldeidentidad": "DNI",
    "otro": "OTHER",
    "otra": "OTHER",
    "otros": "OTHER",
}

# DIAN's own document-type codes, which Colombian ERPs export instead of names.
_CO_CODES = {"13": "CC", "22": "CE", "31": "NIT", "41": "PA"}

# Country-specific names for the same thing: a Colombian RUT *is* the NIT, a Colombian
# "cédula" is the CC while elsewhere it is the national identity card (CI).
_COUNTRY_ALIASES: dict[str, dict[str, str]] = {
    "CO": {"RUT": "NIT", "CEDULA": "CC", "CI": "CC"},
    # a Chilean's cédula carries their RUN, which is their RUT
    "CL": {"CEDULA": "RUT", "CI": "RUT"},
    "ES": {"CEDULA": "DNI"},
    "AR": {"CEDULA": "DNI"},
    "PE": {"CEDULA": "DNI"},
}


def _resolve_hint(hint: str | None, country: str) -> str | None:
    """The canonical type a hint names, or None when it names none we know (then we detect)."""
    if hint is None:
        return None
    key = _key(hint)
    if country == "CO" and key in _CO_CODES:
        return _CO_CODES[key]
    word = _HINTS.get(key)
    if word is None:
        return None
    word = _COUNTRY_ALIASES.get(country, {}).get(word, word)
    if word == "CEDULA":
        # elsewhere "cédula" is the identity card (CI); where there is none (Mexico's "cédula
        # fiscal" shows the RFC) the word says nothing the number does not
        has_ci = any(type_ == "CI" for type_, _validator, _auto in _COUNTRIES.get(country, ()))
        return "CI" if has_ci else None
    return word


# "NIT 900.123.456-7", "C.C. 1.020.345.678", "RFC XAXX010101000": a leading type word.
_LEADING_WORD = re.compile(
    r"^\s*(?P<word>[A-ZÁÉÍÓÚÑ.]+)\s*(?:[:#]|\s)\s*(?:N[O°º]\.?\s*)?(?=\S*[0-9])", re.IGNORECASE
)


def _split_leading_type(text: str, country: str) -> tuple[str, str | None]:
    match = _LEADING_WORD.match(text)
    if match is None:
        return text, None
    word = _resolve_hint(match.group("word"), country)
    if word is None:
        return text, None
    return text[match.end() :], word


# ---------------------------------------------------------------------------------------------
# Reasons


def _reason(exc: ValidationError) -> str:
    if isinstance(exc, InvalidChecksum):
        return _("wrong check digit")
    if isinstance(exc, InvalidLength):
        return _("wrong length")
    if isinstance(exc, InvalidFormat):
        return _("invalid characters or format")
    if isinstance(exc, InvalidComponent):
        return _("a part of it is not valid (prefix, region or date)")
    return _("not valid")


class _Refused(Exception):
    """A validator's refusal, kept apart from InvalidTaxId until the message is composed."""

    def __init__(self, type_: str, reason: str, checksum: bool = False):
        super().__init__(reason)
        self.type = type_
        self.reason = reason
        # a wrong check digit means the shape matched: the most useful thing to report
        self.checksum = checksum


Validator = Callable[[str], TaxId]


def _stdnum(
    type_: str,
    module: ModuleType,
    *,
    display: Callable[[str], str] | None = None,
    company: Callable[[str], bool | None] | None = None,
) -> Validator:
    def run(text: str) -> TaxId:
        # dots are thousands separators for people but not every stdnum module strips them
        cleaned = re.sub(r"[\s.]", "", text)
        try:
            number = module.validate(cleaned)
        except ValidationError as exc:
            raise _Refused(type_, _reason(exc), isinstance(exc, InvalidChecksum)) from exc
        shown = display(number) if display else number
        return TaxId(number, type_, shown, company(number) if company else None)

    return run


def _passport(text: str) -> TaxId:
    compact = re.sub(r"[\s.\-]", "", text).upper()
    if not compact.isascii() or not compact.isalnum():
        raise _Refused("PA", _("a passport number has only letters and digits"))
    if not 5 <= len(compact) <= 15:
        raise _Refused("PA", _("a passport number has 5 to 15 letters and digits"))
    if not any(char.isdigit() for char in compact):
        # A word in the tax id column is a shifted row, not a passport.
        raise _Refused("PA", _("a passport number has digits"))
    return TaxId(compact, "PA", compact, False)


def _other(text: str) -> TaxId:
    compact = re.sub(r"[\s.\-/]", "", text).upper()
    if not compact.isascii() or not compact.isalnum():
        raise _Refused("OTHER", _("only letters and digits are accepted"))
    if not 3 <= len(compact) <= 30:
        raise _Refused("OTHER", _("an id has 3 to 30 letters and digits"))
    return TaxId(compact, "OTHER", text.strip(), None)


# ---------------------------------------------------------------------------------------------
# Colombia

# A check digit is a single digit after a dash, space or dot at the end: "900123456-7",
# "900.123.456-7", "900123456 7". A final group of three ("1.020.345.678") is thousands.
_CO_WITH_DV = re.compile(r"^(?P<base>[0-9][0-9.\s]*?)\s*[-‐–.\s]\s*(?P<dv>[0-9])$")
_CO_DIGITS = re.compile(r"^[0-9][0-9.\s]*$")


def _co_is_company(base: str) -> bool | None:
    # Companies get 9-digit NITs in the 800/900 millions; a person's NIT is their cédula.
    return True if len(base) == 9 and base[0] in "89" else None


def _co_nit_checked(base: str, dv: str) -> TaxId:
    if not 3 <= len(base) <= 15:
        raise _Refused("NIT", _("a NIT has 3 to 15 digits before its check digit"))
    expected = co_nit.calc_check_digit(base)
    if dv != expected:
        reason = _("wrong check digit (expected %(digit)s)") % {"digit": expected}
        raise _Refused("NIT", reason, checksum=True)
    number = base + dv
    return TaxId(number, "NIT", co_nit.format(number), _co_is_company(base))


def _co_nit_unchecked(base: str) -> TaxId:
    # Stored with the digit computed, exactly as a NIT written with its digit is stored, so
    # that "900123456" and "900.123.456-8" find the same debtor.
    if not 3 <= len(base) <= 15:
        raise _Refused("NIT", _("a NIT has 3 to 15 digits"))
    full = base + co_nit.calc_check_digit(base)
    return TaxId(full, "NIT", co_nit.format(full), _co_is_company(base))


def _co_cc(digits: str) -> TaxId:
    if not 3 <= len(digits) <= 10:
        raise _Refused("CC", _("a cédula has 3 to 10 digits"))
    return TaxId(digits, "CC", f"{int(digits):,}".replace(",", "."), False)


def _co_ce(digits: str) -> TaxId:
    if not 6 <= len(digits) <= 7:
        raise _Refused("CE", _("a cédula de extranjería has 6 or 7 digits"))
    return TaxId(digits, "CE", digits, False)


def _colombia(text: str, hint: str | None) -> TaxId:
    if hint == "PA":
        return _passport(text)
    if hint == "OTHER":
        return _other(text)
    if hint is not None and hint not in ("NIT", "CC", "CE"):
        raise _Refused(hint, _not_a_type(hint, "CO", "NIT, CC, CE, PA"))
    text = text.strip()
    with_dv = _CO_WITH_DV.match(text)
    # "1.020.345.678" ends in a thousands group, never in a check digit
    if with_dv and not re.search(r"\.[0-9]{3}$", text) and hint in (None, "NIT"):
        base = re.sub(r"[.\s]", "", with_dv.group("base"))
        return _co_nit_checked(base, with_dv.group("dv"))
    if with_dv and hint in ("CC", "CE") and re.search(r"-\s*[0-9]$", text):
        raise _Refused(hint, _("a cédula has no check digit; write it as NIT if it is one"))
    if not _CO_DIGITS.match(text):
        if hint is None and re.search(r"[A-Za-z]", text):
            return _passport(text)
        raise _Refused(hint or "NIT", _("only digits, dots and a dash before the check digit"))
    digits = re.sub(r"[.\s]", "", text)
    if hint == "CC":
        return _co_cc(digits)
    if hint == "CE":
        return _co_ce(digits)
    if hint == "NIT":
        if len(digits) in (10, 11):
            return _co_nit_checked(digits[:-1], digits[-1])
        if len(digits) > 11:
            raise _Refused("NIT", _("too long for a NIT"))
        return _co_nit_unchecked(digits)
    # No hint: 9 digits is how companies write their NIT without the digit; a 10-digit
    # number is either a NIT with its digit or a modern cédula, and only the digit can tell.
    if len(digits) == 9:
        return _co_nit_unchecked(digits)
    if len(digits) == 10:
        if co_nit.is_valid(digits):
            return _co_nit_checked(digits[:-1], digits[-1])
        return _co_cc(digits)
    if len(digits) == 11:
        return _co_nit_checked(digits[:-1], digits[-1])
    return _co_cc(digits)


# ---------------------------------------------------------------------------------------------
# Other countries: (type, validator) in the order tried when no hint is given.


def _mx_rfc(number: str) -> bool | None:
    return len(number) == 12


def _es_type(number: str) -> str:
    if number[0] in "XYZ":
        return "NIE"
    if number[0].isdigit() or number[0] in "KLM":
        return "NIF"
    return "CIF"


def _es(module: ModuleType, forced: str | None = None) -> Validator:
    def run(text: str) -> TaxId:
        try:
            number = module.validate(re.sub(r"[\s.]", "", text))
        except ValidationError as exc:
            name = forced or "NIF"
            raise _Refused(name, _reason(exc), isinstance(exc, InvalidChecksum)) from exc
        # the same number must come out with the same type whichever hint came with it
        type_ = _es_type(number)
        return TaxId(number, type_, number, type_ == "CIF")

    return run


def _cl_company(number: str) -> bool | None:
    # RUTs from 50 million up are given to legal entities, below that they are people's RUN
    return int(number[:-1]) >= 50_000_000


def _pe_ruc_company(number: str) -> bool | None:
    return {"20": True, "10": False}.get(number[:2])


def _ar_company(number: str) -> bool | None:
    if number[:2] in ("30", "33", "34"):
        return True
    if number[:2] in ("20", "23", "24", "27"):
        return False
    return None


def _ec_ruc_company(number: str) -> bool | None:
    # third digit 9 = private company, 6 = public body, below 6 = a person's CI + establishment
    return number[2] in "69"


def _ve_company(number: str) -> bool | None:
    return number[0] in "JG"


def _ve_display(number: str) -> str:
    return f"{number[0]}-{number[1:-1]}-{number[-1]}"


def _py_company(number: str) -> bool | None:
    return True if int(number[:-1]) >= 80_000_000 else None


_RFC = _stdnum("RFC", mx_rfc, company=_mx_rfc)
_CURP = _stdnum("CURP", mx_curp, company=lambda _: False)
_CUIT = _stdnum("CUIT", ar_cuit, display=ar_cuit.format, company=_ar_company)


def _us_ein(text: str) -> TaxId:
    tax = _EIN(text)
    # a bare 9-digit number is as likely an SSN; only the dash placement says "company"
    company = True if re.fullmatch(r"\s*[0-9]{2}-[0-9]{7}\s*", text) else None
    return TaxId(tax.number, tax.type, tax.display, company)


_EIN = _stdnum("EIN", us_ein, display=us_ein.format)

# Per country: (type, validator, tried without a hint). Types that only narrow another one
# (a DNI is a NIF, a CUIL is a CUIT) are hint-only, so a refusal is reported once.
_COUNTRIES: dict[str, list[tuple[str, Validator, bool]]] = {
    "MX": [("RFC", _RFC, True), ("CURP", _CURP, True)],
    "ES": [
        ("NIF", _es(es_nif), True),
        ("CIF", _es(es_cif, "CIF"), False),
        ("NIE", _es(es_nie, "NIE"), False),
        ("DNI", _es(es_dni, "DNI"), False),
    ],
    "CL": [("RUT", _stdnum("RUT", cl_rut, display=cl_rut.format, company=_cl_company), True)],
    "PE": [
        ("RUC", _stdnum("RUC", pe_ruc, company=_pe_ruc_company), True),
        ("DNI", _stdnum("DNI", pe_cui, company=lambda _: False), True),
    ],
    "AR": [
        ("CUIT", _CUIT, True),
        ("CUIL", _stdnum("CUIL", ar_cuit, display=ar_cuit.format, company=_ar_company), False),
        ("DNI", _stdnum("DNI", ar_dni, display=ar_dni.format, company=lambda _: False), True),
    ],
    "EC": [
        ("RUC", _stdnum("RUC", ec_ruc, company=_ec_ruc_company), True),
        ("CI", _stdnum("CI", ec_ci, company=lambda _: False), True),
    ],
    "UY": [("RUT", _stdnum("RUT", uy_rut, display=uy_rut.format), True)],
    "VE": [("RIF", _stdnum("RIF", ve_rif, display=_ve_display, company=_ve_company), True)],
    "GT": [("NIT", _stdnum("NIT", gt_nit, display=gt_nit.format), True)],
    "CR": [
        ("CPJ", _stdnum("CPJ", cr_cpj, display=cr_cpj.format, company=lambda _: True), True),
        ("CI", _stdnum("CI", cr_cpf, display=cr_cpf.format, company=lambda _: False), True),
    ],
    "DO": [
        ("RNC", _stdnum("RNC", do_rnc, display=do_rnc.format, company=lambda _: True), True),
        (
            "CI",
            _stdnum("CI", do_cedula, display=do_cedula.format, company=lambda _: False),
            True,
        ),
    ],
    "PY": [("RUC", _stdnum("RUC", py_ruc, display=py_ruc.format, company=_py_company), True)],
    "SV": [("NIT", _stdnum("NIT", sv_nit, display=sv_nit.format), True)],
    "US": [
        ("EIN", _us_ein, True),
        ("SSN", _stdnum("SSN", us_ssn, display=us_ssn.format, company=lambda _: False), True),
    ],
}


def validate_tax_id(raw: str, country: str, type_hint: str | None = None) -> TaxId:
    """Check a tax id of `country` and return its canonical form, type and display form.

    With a hint ("NIT", "cédula", "pasaporte", "RFC", DIAN codes like "31"...) only that type
    is tried; without one the country's types are tried in order and the first valid wins.
    An unrecognised hint is ignored rather than refused: it is free text from a spreadsheet.
    """
    country = (country or "").strip().upper()
    text = (raw or "").strip()
    if not text:
        raise InvalidTaxId(_("empty tax id"))
    hint = _resolve_hint(type_hint, country) if type_hint and type_hint.strip() else None
    text, leading = _split_leading_type(text, country)
    hint = hint or leading
    try:
        return _validate(text, country, hint)
    except _Refused as refused:
        raise InvalidTaxId(f"{refused.type} {text.strip()}: {refused.reason}") from None
    except _AllRefused as refused:
        raise InvalidTaxId(f"{text.strip()}: {refused}") from None


class _AllRefused(Exception):
    pass


def _validate(text: str, country: str, hint: str | None) -> TaxId:
    if country == "CO":
        return _colombia(text, hint)
    if hint == "PA":
        return _passport(text)
    if hint == "OTHER" or country not in _COUNTRIES:
        return _other(text)
    options = _COUNTRIES[country]
    if hint is not None:
        for type_, validator, _auto in options:
            if type_ == hint:
                return validator(text)
        names = ", ".join([*(name for name, _validator, _auto in options), "PA"])
        raise _Refused(hint, _not_a_type(hint, country, names))
    refusals: list[_Refused] = []
    for _type, validator, auto in options:
        if not auto:
            continue
        try:
            return validator(text)
        except _Refused as refused:
            refusals.append(refused)
    shaped = [r for r in refusals if r.checksum]
    if shaped:
        raise shaped[0]
    if len(refusals) == 1:
        raise refusals[0]
    detail = "; ".join(f"{r.type}: {r.reason}" for r in refusals)
    raise _AllRefused(
        _("not a valid tax id of %(country)s (%(detail)s)") % {"country": country, "detail": detail}
    )


def _not_a_type(hint: str, country: str, names: str) -> str:
    return _("%(type)s is not a tax id type of %(country)s (%(types)s)") % {
        "type": hint,
        "country": country,
        "types": names,
    }


# ---------------------------------------------------------------------------------------------
# Phones

# Where the numbering plan does not tell mobiles from landlines, phonenumbers answers
# FIXED_LINE_OR_MOBILE; in these countries nearly every such number in a debtor file is a
# mobile (and WhatsApp-reachable), so that is the better guess.
_MOBILE_WHEN_UNSURE = frozenset({"MX", "US", "CA", "PR", "DO", "AR"})


def _phone_kind(number: phonenumbers.PhoneNumber) -> str:
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.MOBILE:
        return "mobile"
    if kind == PhoneNumberType.FIXED_LINE:
        return "landline"
    if kind == PhoneNumberType.FIXED_LINE_OR_MOBILE:
        region = phonenumbers.region_code_for_number(number)
        if region in _MOBILE_WHEN_UNSURE:
            return "mobile"
        # Chile's plan keeps the leading 9 for mobiles even though the metadata lumps them
        if region == "CL" and str(number.national_number).startswith("9"):
            return "mobile"
    return "other"


def normalize_phone(raw: str, country: str) -> tuple[str, str]:
    """(E.164, kind) of a phone written any usual way; kind is mobile, landline or other.

    Extensions ("ext. 12") are dropped: E.164 has no place for them and nobody dials them for
    a collection call. "0057 300…" is taken as +57: in Colombia 005/007/009 are carrier
    prefixes, so phonenumbers alone would misread it.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone(_("empty phone number"))
    region = (country or "").strip().upper() or None
    candidates = [text]
    if re.match(r"^00\s*[1-9]", text):
        candidates.append("+" + text[2:].lstrip())
    parsed: phonenumbers.PhoneNumber | None = None
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            return e164, _phone_kind(number)
        parsed = parsed or number
    if parsed is None:
        if region and region not in phonenumbers.SUPPORTED_REGIONS and not text.startswith("+"):
            raise InvalidPhone(
                _("%(text)s: unknown country %(country)s; write it with +code")
                % {"text": text, "country": repr(region)}
            )
        raise InvalidPhone(_("%(text)s: not a phone number") % {"text": text})
    shown = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    code = parsed.country_code or 0
    where = phonenumbers.region_code_for_country_code(code)
    if where == phonenumbers.UNKNOWN_REGION:
        where = f"+{code}"
    raise InvalidPhone(
        _("%(text)s: %(number)s is not a valid %(country)s phone number")
        % {"text": text, "number": shown, "country": where}
    )


# ---------------------------------------------------------------------------------------------
# Payment references


def payment_reference(number: int) -> str:
    """The number zero-padded to 9 digits plus a Luhn check digit: 42 -> '0000000422'."""
    if not 0 <= number < 10**9:
        raise ValueError(f"payment reference number {number} is outside 0..999999999")
    base = f"{number:09d}"
    return base + luhn.calc_check_digit(base)


def compact_reference(text: str) -> str:
    """A reference without the spaces and dashes people and banks put in it."""
    return re.sub(r"[\s\-]", "", text or "")


def is_valid_payment_reference(text: str) -> bool:
    """True for one of our references: 10 digits whose Luhn check digit is right."""
    compact = compact_reference(text)
    return bool(re.fullmatch(r"[0-9]{10}", compact)) and luhn.is_valid(compact)


# ---------------------------------------------------------------------------------------------
# Company names

# Abbreviations are written "S.A.S.", "S. A. S." or "SAS": letters may be joined by a dot
# (and spaces after it) or by nothing, never by a bare space, so "Luis A. S." is not a form.
_FORMS = [
    "s.a.s.", "s.a.", "s.a. de c.v.", "s. de r.l.", "s. de r.l. de c.v.", "s.a.p.i.",
    "s. en c.", "s. en c.s.", "s.c.a.", "s.c.s.", "ltda.", "limitada", "s.l.", "s.l.u.",
    "s.l.l.", "s.coop.", "s.a.c.", "s.a.a.", "s.r.l.", "e.i.r.l.", "e.u.", "e.s.p.", "spa",
    "y cia.", "& cia.", "cia.", "compania", "sociedad anonima", "inc.",
    "incorporated", "llc", "l.l.c.", "corp.", "corporation", "corporacion", "ltd.",
    "limited", "gmbh", "plc", "s.p.a.", "s.c.",
]  # fmt: skip


def _form_pattern(form: str) -> str:
    words = []
    for word in form.replace("&", " & ").split():
        if word == "&":
            words.append("&")
            continue
        if "." not in word:
            words.append(re.escape(word))
            continue
        letters = [ch for ch in word if ch != "."]
        words.append(r"(?:\.\s*)?".join(re.escape(ch) for ch in letters) + r"\.?")
    return r"[\s,]*".join(words)


_COMPANY_RE = re.compile(
    r"(?<![a-z0-9])(?:"
    + "|".join(_form_pattern(form) for form in sorted(_FORMS, key=len, reverse=True))
    + r")(?![a-z0-9])"
)


def guess_is_company(name: str) -> bool | None:
    """True when the name carries a legal form (S.A.S., SA de CV, Ltda., S.L., SpA, Inc…).

    None otherwise: a name without a form may still be a company ("Almacenes Éxito").
    """
    decomposed = unicodedata.normalize("NFKD", name or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return True if _COMPANY_RE.search(bare) else None
