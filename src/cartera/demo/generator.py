"""A synthetic, deterministic portfolio in the import formats: debtors, documents, payments.

Everything comes from one `random.Random(seed)`, drawn in a fixed order, so the same
arguments give byte-identical files. Rows are written as they are made: only two small
per-debtor arrays (kind and document weight) are kept, never the documents, so a million
documents take the memory of a few thousand.

Realism that the rest of Cartera relies on: tax ids pass `validate_tax_id`, phones pass
`normalize_phone`, company names carry a legal form `guess_is_company` knows, and each debtor
follows one payment behaviour (punctual, late, partial, never) so that aging reports and
collection strategies have something to show.
"""

from __future__ import annotations

import csv
import datetime
import math
import random
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TextIO, TypeVar

from stdnum.cl import rut as cl_rut
from stdnum.co import nit as co_nit
from stdnum.es import cif as es_cif
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.mx import rfc as mx_rfc
from stdnum.pe import ruc as pe_ruc

from cartera.core.money import exponent, validate_currency
from cartera.demo import names

__all__ = [
    "COUNTRIES",
    "DEBTOR_HEADER",
    "DEFAULT_CURRENCY",
    "DOCUMENT_HEADER",
    "PAYMENT_HEADER",
    "generate_portfolio",
]

COUNTRIES = ("CO", "MX", "ES", "CL", "PE")
DEFAULT_CURRENCY = {"CO": "COP", "MX": "MXN", "ES": "EUR", "CL": "CLP", "PE": "PEN"}

DEBTOR_HEADER = (
    "external_id", "tax_id", "tax_id_type", "name", "kind", "email", "phone", "mobile",
    "address", "city", "country",
)  # fmt: skip
DOCUMENT_HEADER = (
    "external_id", "number", "debtor_external_id", "kind", "issue_date", "due_date", "amount",
    "currency", "balance",
)  # fmt: skip
PAYMENT_HEADER = (
    "external_id", "debtor_external_id", "date", "amount", "currency", "document_external_id",
    "reference", "method",
)  # fmt: skip

# Median invoice in major units. COP ~1.5 M is what a mid-size Colombian B2B seller bills;
# the others are the same order of value in their currency. A currency not listed gets a
# USD-like scale: better a plausible number than a refusal.
_MEDIAN_AMOUNT = {
    "COP": 1_500_000, "MXN": 7_000, "EUR": 350, "USD": 400, "CLP": 350_000, "PEN": 1_400,
    "ARS": 300_000, "UYU": 15_000, "GTQ": 3_000, "CRC": 200_000, "DOP": 23_000,
    "PYG": 3_000_000, "BOB": 2_700, "VES": 15_000,
}  # fmt: skip
_DEFAULT_MEDIAN = 400
# log-normal spread: exp(1.3 * 4) ~ 180 x the median at the far tail (hundreds of millions COP)
_AMOUNT_SIGMA = 1.3

_HISTORY_DAYS = 548  # issue dates cover the ~18 months before --as-of
_TERMS = (30, 45, 60, 90)
_TERM_WEIGHTS = (45, 20, 20, 15)

# Payment behaviour of a debtor, with the share of debtors that follow it.
PUNCTUAL, LATE, PARTIAL, NEVER = range(4)
_PROFILE_WEIGHTS = (60, 20, 12, 8)

_KINDS = ("invoice", "debit_note", "credit_note", "promissory_note")
_KIND_WEIGHTS = (88, 4, 5, 3)

_COMPANY_SHARE = 0.6
_RFC_YEARS = 55  # RFC dates: companies founded 1970-2024, people born 1950-2004

_METHODS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "CO": (("transferencia", "pse", "consignacion", "efectivo", "tarjeta"), (35, 25, 25, 5, 10)),
    "MX": (("spei", "transferencia", "efectivo", "tarjeta"), (50, 25, 10, 15)),
    "ES": (("transferencia", "tarjeta", "efectivo"), (80, 15, 5)),
    "CL": (("transferencia", "tarjeta", "efectivo"), (75, 15, 10)),
    "PE": (("transferencia", "tarjeta", "efectivo"), (65, 20, 15)),
}

# Document numbers as each country's invoicing software prints them.
_NUMBER_FORMATS: dict[str, dict[str, str]] = {
    "CO": {"invoice": "FE{:d}", "debit_note": "ND{:d}", "credit_note": "NC{:d}",
           "promissory_note": "PAG-{:05d}"},
    "MX": {"invoice": "A{:d}", "debit_note": "ND{:d}", "credit_note": "NC{:d}",
           "promissory_note": "PAG-{:05d}"},
    "ES": {"invoice": "F-{:07d}", "debit_note": "FD-{:07d}", "credit_note": "FR-{:07d}",
           "promissory_note": "PAG-{:05d}"},
    "CL": {"invoice": "F-{:d}", "debit_note": "ND-{:d}", "credit_note": "NC-{:d}",
           "promissory_note": "PAG-{:05d}"},
    "PE": {"invoice": "F001-{:08d}", "debit_note": "FD01-{:08d}", "credit_note": "FC01-{:08d}",
           "promissory_note": "PAG-{:05d}"},
}  # fmt: skip

_MOBILE_PREFIXES: dict[str, tuple[str, ...]] = {
    "CO": ("300", "301", "302", "304", "305", "310", "311", "312", "313", "314", "315", "316",
           "317", "318", "319", "320", "321", "322", "323", "350", "351"),
    "ES": ("6", "6", "6", "71", "72", "73", "74"),
    "CL": ("92", "94", "95", "98"),
    "PE": ("9",),
}  # fmt: skip
_NATIONAL_LENGTH = {"CO": 10, "MX": 10, "ES": 9, "CL": 9, "PE": 8}
_CALLING_CODE = {"CO": "57", "MX": "52", "ES": "34", "CL": "56", "PE": "51"}


def generate_portfolio(
    *,
    debtors: int,
    documents: int,
    seed: int,
    out_dir: str | Path,
    country: str = "CO",
    as_of: datetime.date | None = None,
    currency: str | None = None,
) -> dict[str, int]:
    """Write debtors.csv, documents.csv and payments.csv into `out_dir`; return row counts.

    Raises ValueError with a message fit for a person on bad arguments.
    """
    country = (country or "").strip().upper()
    if country not in COUNTRIES:
        raise ValueError(f"country must be one of {', '.join(COUNTRIES)}, not {country!r}")
    for label, value in (("debtors", debtors), ("documents", documents)):
        if value < 0:
            raise ValueError(f"{label} cannot be negative (got {value})")
    if documents and not debtors:
        raise ValueError("documents need at least one debtor")
    currency = validate_currency(currency or DEFAULT_CURRENCY[country])
    as_of = as_of or datetime.date.today()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    generator = _Generator(_Random(seed), country, currency, as_of, debtors, documents)
    with (
        open(out / "debtors.csv", "w", encoding="utf-8", newline="") as debtor_file,
        open(out / "documents.csv", "w", encoding="utf-8", newline="") as document_file,
        open(out / "payments.csv", "w", encoding="utf-8", newline="") as payment_file,
    ):
        return generator.run(debtor_file, document_file, payment_file)


# ---------------------------------------------------------------------------------------------


@cache
def _ascii(text: str) -> str:
    """'Peña Ibáñez' -> 'pena ibanez': for e-mail addresses and RFC letters."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and not unicodedata.combining(ch))


T = TypeVar("T")


class _Writer(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


def _weighted(rng: random.Random, options: Sequence[T], weights: Sequence[int]) -> Callable[[], T]:
    """A fast chooser: random.choices recomputes cumulative weights on every call."""
    table = [option for option, weight in zip(options, weights, strict=True) for _ in range(weight)]
    size = len(table)
    rand = rng.random
    return lambda: table[int(rand() * size)]


class _Random(random.Random):
    """random.Random with cheap small draws: randrange/randint cost ~4x a bare random()."""

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def between(self, lo: int, hi: int) -> int:
        return lo + int(self.random() * (hi - lo + 1))

    def pick(self, options: Sequence[T]) -> T:
        return options[int(self.random() * len(options))]


class _Permutation:
    """i -> lo + (a*i + b) mod span: distinct ids for distinct debtors without keeping a set."""

    def __init__(self, rng: random.Random, lo: int, span: int):
        a = rng.randrange(span // 3, span)
        while math.gcd(a, span) != 1:
            a += 1
        self.a, self.b, self.lo, self.span = a, rng.randrange(span), lo, span

    def __call__(self, i: int) -> int:
        return self.lo + (self.a * i + self.b) % self.span


def _amount_formatter(currency: str) -> Callable[[int], str]:
    digits = exponent(currency)
    if digits == 0:
        return str
    scale = 10**digits
    return lambda minor: f"{minor // scale}.{minor % scale:0{digits}d}"


class _Generator:
    def __init__(
        self,
        rng: _Random,
        country: str,
        currency: str,
        as_of: datetime.date,
        debtors: int,
        documents: int,
    ):
        self.rng = rng
        self.country = country
        self.currency = currency
        self.as_of = as_of.toordinal()
        self.debtors = debtors
        self.documents = documents
        self.fmt_amount = _amount_formatter(currency)
        digits = exponent(currency)
        median = _MEDIAN_AMOUNT.get(currency, _DEFAULT_MEDIAN)
        self.mu = math.log(median * 10**digits)
        # currencies whose unit is worth little are billed in whole units, without cents
        self.round_to = 10**digits if median >= 10_000 else 1
        self.min_amount = max(1, median * 10**digits // 200)
        # every date the files can hold: issues from the history window, dues up to a year on
        first, last = self.as_of - _HISTORY_DAYS - 1, self.as_of + 400
        self._iso = {day: datetime.date.fromordinal(day).isoformat() for day in range(first, last)}
        self.number_formats = {kind: fmt.format for kind, fmt in _NUMBER_FORMATS[country].items()}
        self.pick_form = _weighted(rng, *zip(*names.LEGAL_FORMS[country], strict=True))
        cities = names.CITIES[country]
        self.pick_city = _weighted(rng, cities, [city[1] for city in cities])
        self.pick_profile = _weighted(rng, range(4), _PROFILE_WEIGHTS)
        self.pick_term = _weighted(rng, _TERMS, _TERM_WEIGHTS)
        self.pick_kind = _weighted(rng, _KINDS, _KIND_WEIGHTS)
        self.pick_method = _weighted(rng, *_METHODS[country])
        self.company_ids = _Permutation(rng, *self._company_space())
        self.person_ids = [_Permutation(rng, lo, span) for lo, span in self._person_spaces()]
        self.id_width = max(6, len(str(debtors)))
        self.doc_width = max(7, len(str(documents)))

    # --- the three files ---------------------------------------------------------------------

    def run(
        self, debtor_file: TextIO, document_file: TextIO, payment_file: TextIO
    ) -> dict[str, int]:
        debtor_out = csv.writer(debtor_file, lineterminator="\n")
        document_out = csv.writer(document_file, lineterminator="\n")
        payment_out = csv.writer(payment_file, lineterminator="\n")
        debtor_out.writerow(DEBTOR_HEADER)
        document_out.writerow(DOCUMENT_HEADER)
        payment_out.writerow(PAYMENT_HEADER)
        rng = self.rng
        # First pass, per debtor: kind and a log-normal weight; a few debtors hold many
        # documents, as in any real portfolio. Integer weights keep the split exact.
        companies = bytearray(self.debtors)
        weights = array("q")
        for i in range(self.debtors):
            company = rng.random() < _COMPANY_SHARE
            companies[i] = company
            weights.append(int(rng.lognormvariate(0.0, 1.0) * (3000 if company else 1000)) + 1)
        total = sum(weights)
        base = 1 if self.documents >= self.debtors else 0
        extra = self.documents - base * self.debtors
        self.doc_seq = 0
        self.pay_seq = 0
        self.numbers = dict.fromkeys(_KINDS, 0)
        cumulative = 0
        given = 0
        for i in range(self.debtors):
            cumulative += weights[i]
            share = extra * cumulative // total if total else 0
            count = base + share - given
            given = share
            debtor_id, profile = self._debtor(i, bool(companies[i]), debtor_out)
            self._documents(debtor_id, profile, count, document_out, payment_out)
        return {"debtors": self.debtors, "documents": self.doc_seq, "payments": self.pay_seq}

    def _debtor(self, i: int, company: bool, out: _Writer) -> tuple[str, int]:
        rng = self.rng
        country = self.country
        city_name, _weight, area, first_digits = self.pick_city()
        if company:
            name, letters, form = self._company_name()
            tax_id, tax_type = self._company_tax_id(i, letters, form)
        else:
            name, first, surname1, surname2 = self._person_name()
            tax_id, tax_type = self._person_tax_id(i, first, surname1, surname2)
        email = self._email(name, company) if rng.random() < 0.88 else ""
        landline = rng.random() < (0.55 if company else 0.25)
        phone = self._landline(area, first_digits) if landline else ""
        mobile = self._mobile(area) if rng.random() < (0.6 if company else 0.85) else ""
        external_id = f"CLI-{i + 1:0{self.id_width}d}"
        out.writerow(
            (
                external_id, tax_id, tax_type, name, "company" if company else "person", email,
                phone, mobile, self._address(), city_name, country,
            )
        )  # fmt: skip
        return external_id, self.pick_profile()

    def _documents(
        self,
        debtor_id: str,
        profile: int,
        count: int,
        documents: _Writer,
        payments: _Writer,
    ) -> None:
        # The innermost loop of a million-document run: everything it touches is a local.
        rng = self.rng
        rand = rng.random
        gauss = rng.gauss
        between = rng.between
        exp = math.exp
        as_of = self.as_of
        iso = self._iso
        money = self.fmt_amount
        currency = self.currency
        numbers = self.numbers
        formats = self.number_formats
        mu, min_amount, round_to = self.mu, self.min_amount, self.round_to
        doc_width = self.doc_width
        doc_seq, pay_seq = self.doc_seq, self.pay_seq
        term = self.pick_term()
        method = self.pick_method()
        for _ in range(count):
            doc_seq += 1
            doc_id = f"DOC-{doc_seq:0{doc_width}d}"
            kind = self.pick_kind()
            numbers[kind] += 1
            number = formats[kind](numbers[kind])
            issue = as_of - int(rand() * _HISTORY_DAYS)
            if kind == "promissory_note":
                due = issue + 90 * between(1, 4)
            else:
                due = issue + (term if rand() < 0.85 else self.pick_term())
            amount = int(exp(mu + _AMOUNT_SIGMA * gauss(0.0, 1.0)))
            if kind == "credit_note" or kind == "debit_note":
                amount = amount // between(4, 20)  # adjustments are a fraction of an invoice
            amount = max(min_amount, amount // round_to * round_to)
            paid = 0
            if kind != "credit_note":
                for date, part in self._schedule(profile, issue, due, amount):
                    if date > as_of:
                        break
                    paid += part
                    pay_seq += 1
                    pay_method = method if rand() < 0.8 else self.pick_method()
                    payments.writerow(
                        (
                            f"PAG-{pay_seq:0{doc_width}d}", debtor_id, iso[date], money(part),
                            currency, doc_id, self._bank_reference(pay_method, date), pay_method,
                        )
                    )  # fmt: skip
            documents.writerow(
                (
                    doc_id, number, debtor_id, kind, iso[issue], iso[due], money(amount),
                    currency, money(amount - paid),
                )
            )  # fmt: skip
        self.doc_seq, self.pay_seq = doc_seq, pay_seq

    def _schedule(self, profile: int, issue: int, due: int, amount: int) -> list[tuple[int, int]]:
        """The (date, amount) payments this debtor makes on a document, in date order.

        The caller keeps those up to --as-of; the sum never exceeds the amount.
        """
        rng = self.rng
        if profile == NEVER:
            return []
        # even good payers slip now and then, and slow ones sometimes pay on time
        if profile == PUNCTUAL and rng.random() < 0.07:
            profile = LATE
        elif profile == LATE and rng.random() < 0.2:
            profile = PUNCTUAL
        if profile == PUNCTUAL:
            start = due + rng.between(-15, 3)
            parts = 1 if rng.random() < 0.9 else 2
            total = amount
        elif profile == LATE:
            start = due + 10 + min(300, int(rng.expovariate(1 / 45)))
            roll = rng.random()
            parts = 1 if roll < 0.65 else 2 if roll < 0.9 else 3
            total = amount
        else:
            start = due + rng.between(-5, 60)
            parts = rng.between(1, 3)
            total = max(1, int(amount * rng.uniform(0.15, 0.85)))
        date = max(issue, start)
        if parts == 1 or total < parts:
            return [(date, total)]
        schedule = []
        left = total
        for k in range(parts, 1, -1):
            part = max(1, int(left * rng.uniform(0.3, 0.7) * 2 / k))
            part = min(part, left - (k - 1))
            schedule.append((date, part))
            left -= part
            date += rng.between(15, 40)
        schedule.append((date, left))
        return schedule

    # --- values -------------------------------------------------------------------------------

    def _bank_reference(self, method: str, date: int) -> str:
        # never 10 bare digits, so a bank reference cannot pass for one of our references
        rng = self.rng
        if method == "transferencia":
            return f"TRF{self._iso[date].replace('-', '')}{rng.below(10**6):06d}"
        if method == "spei":
            bank = ("BNET01", "MBAN01", "SANT01", "BBVA01")[rng.below(4)]
            return f"{bank}{self._iso[date][2:].replace('-', '')}{rng.below(10**8):08d}"
        if method == "pse":
            return f"CUS{rng.below(10**12):012d}"
        if method == "consignacion":
            return f"CNS-{rng.below(10**8):08d}"
        if method == "tarjeta":
            return f"AUT-{rng.below(10**6):06d}"
        return f"RC-{rng.below(10**6):06d}"

    def _person_name(self) -> tuple[str, str, str, str]:
        rng = self.rng
        pool = names.FIRST_NAMES_FEMALE if rng.random() < 0.5 else names.FIRST_NAMES_MALE
        first = rng.pick(pool)
        given = first
        if rng.random() < 0.35:
            second = rng.pick(pool)
            if second != first:
                given = f"{first} {second}"
        surname1 = rng.pick(names.SURNAMES)
        surname2 = rng.pick(names.SURNAMES)
        return f"{given} {surname1} {surname2}", first, surname1, surname2

    def _company_name(self) -> tuple[str, list[str], str]:
        """The name, the words the Mexican RFC takes its letters from, and the legal form."""
        rng = self.rng
        form = self.pick_form()
        activity = rng.pick(names.COMPANY_ACTIVITIES)
        word = rng.pick(names.COMPANY_WORDS)
        surname = rng.pick(names.SURNAMES)
        roll = rng.random()
        if roll < 0.45:
            words = [activity, word]
        elif roll < 0.7:
            words = [activity, surname]
        elif roll < 0.85:
            other = rng.pick(names.SURNAMES)
            words = [surname, "&", other] if other != surname else [surname, "Hermanos"]
        else:
            words = ["Grupo", word]
        name = " ".join([*words, form])
        return name, [w for part in words for w in part.split() if w not in _CONNECTORS], form

    def _email(self, name: str, company: bool) -> str:
        rng = self.rng
        # word by word, so the cache only ever holds the finite word lists
        words = [w for w in (_ascii(part).lower() for part in name.split()) if w.isalpha()]
        if company:
            slug = "".join([w for w in words if w not in _CONNECTORS][:2])
            box = rng.pick(names.COMPANY_MAILBOXES)
            return f"{box}@{slug}.{names.COMPANY_TLD[self.country]}"
        domains = names.FREE_MAIL_DOMAINS[self.country]
        domain = rng.pick(domains)
        # people's addresses are first.surname, or an initial and a number
        if rng.random() < 0.6:
            local = f"{words[0]}.{words[-2]}"
        else:
            local = f"{words[0][0]}{words[-2]}{rng.between(1, 99)}"
        return f"{local}@{domain}"

    def _address(self) -> str:
        rng = self.rng
        types = names.STREET_TYPES[self.country]
        street = rng.pick(types)
        if self.country == "CO":
            letter = "ABC"[rng.below(3)] if rng.random() < 0.2 else ""
            plate = f"{rng.between(1, 120)}-{rng.between(1, 99)}"
            text = f"{street} {rng.between(1, 170)}{letter} # {plate}"
            if rng.random() < 0.3:
                unit = ("Of.", "Apto", "Local", "Bodega")[rng.below(4)]
                text += f" {unit} {rng.between(1, 20)}{rng.between(1, 9):02d}"
            return text
        street_names = names.STREET_NAMES[self.country]
        text = f"{street} {rng.pick(street_names)}"
        if self.country == "ES":
            door = "ABCD"[rng.below(4)]
            return f"{text}, {rng.between(1, 250)}, {rng.between(1, 9)}º {door}"
        text += f" {rng.between(1, 9999)}"
        if rng.random() < 0.4:
            unit = {"MX": "Int.", "CL": "Of.", "PE": "Of."}[self.country]
            text += f", {unit} {rng.between(1, 1500)}"
        return text

    # --- phones: as people type them; every variant parses with normalize_phone ---------------

    def _digits(self, count: int) -> str:
        return f"{self.rng.below(10**count):0{count}d}" if count else ""

    def _landline(self, area: str, first_digits: str) -> str:
        rng = self.rng
        country = self.country
        local = rng.pick(first_digits)
        local += self._digits(_NATIONAL_LENGTH[country] - len(area) - 1)
        style = rng.below(3)
        if country == "CO":
            return (f"({area}) {local[:3]} {local[3:]}", f"{area} {local}", f"{area}{local}")[style]
        if country == "MX":
            head, tail = local[: len(local) - 4], local[-4:]
            return (f"({area}) {head}-{tail}", f"{area} {head} {tail}", f"+52 {area} {local}")[
                style
            ]
        if country == "ES":
            number = area + local
            return (f"{number[:3]} {number[3:5]} {number[5:7]} {number[7:]}", number,
                    f"+34 {number}")[style]  # fmt: skip
        if country == "CL":
            return (f"({area}) {local[:4]} {local[4:]}", f"+56 {area} {local}", area + local)[style]
        # Peru dials provinces with a leading 0 inside the country
        return (f"(0{area}) {local[:3]}-{local[3:]}", f"0{area} {local}", f"+51 {area} {local}")[
            style
        ]

    def _mobile(self, area: str) -> str:
        rng = self.rng
        country = self.country
        if country == "MX":
            # Mexican mobiles share the area codes of landlines
            local = self._digits(_NATIONAL_LENGTH[country] - len(area))
            number = area + local
            return (f"{area} {local[:-4]} {local[-4:]}", number, f"+52 {number}")[rng.below(3)]
        prefixes = _MOBILE_PREFIXES[country]
        prefix = rng.pick(prefixes)
        length = 9 if country == "PE" else _NATIONAL_LENGTH[country]
        number = prefix + self._digits(length - len(prefix))
        style = rng.below(3)
        if country == "CO":
            return (f"{number[:3]} {number[3:6]} {number[6:]}", number, f"+57 {number}")[style]
        if country == "CL":
            spaced = f"{number[0]} {number[1:5]} {number[5:]}"
            return (f"+56 {spaced}", spaced, number)[style]
        return (f"{number[:3]} {number[3:6]} {number[6:]}", number,
                f"+{_CALLING_CODE[country]} {number}")[style]  # fmt: skip

    # --- tax ids ------------------------------------------------------------------------------

    def _company_space(self) -> tuple[int, int]:
        return {
            "CO": (800_000_000, 102_000_000),  # NIT bases 800.000.000-901.999.999
            "MX": (0, _RFC_YEARS * 336 * 1_085),  # (date, homoclave) pairs
            "ES": (100_000, 9_900_000),  # province + sequence of the CIF
            "CL": (76_000_000, 2_000_000),
            "PE": (10_000_000, 90_000_000),  # the 8 digits after "20"
        }[self.country]

    def _person_spaces(self) -> list[tuple[int, int]]:
        return {
            # CC: 10-digit (as the first 9 digits; the last is drawn so it is not a NIT
            # check digit), 8-digit and 7-digit series
            "CO": [(100_000_000, 15_000_000), (10_000_000, 90_000_000), (1_000_000, 9_000_000)],
            "MX": [(0, _RFC_YEARS * 336 * 1_085)],
            "ES": [(10_000_000, 80_000_000), (0, 10_000_000)],  # DNI, NIE digits
            "CL": [(5_000_000, 22_000_000)],
            "PE": [(10_000_000, 70_000_000)],
        }[self.country]

    def _company_tax_id(self, i: int, words: list[str], form: str) -> tuple[str, str]:
        value = self.company_ids(i)
        country = self.country
        if country == "CO":
            base = str(value)
            return f"{base}-{co_nit.calc_check_digit(base)}", "NIT"
        if country == "MX":
            letters = _rfc_company_letters(words)
            return self._rfc(letters, value, 1970), "RFC"
        if country == "ES":
            # the CIF's letter is the legal form: A sociedad anónima, B limitada, F cooperativa
            letter = {"S.A.": "A", "S.Coop.": "F"}.get(form, "B")
            body = f"{letter}{value:07d}"
            return body + es_cif.calc_check_digits(body)[0], "CIF"
        if country == "CL":
            return cl_rut.format(f"{value}{cl_rut.calc_check_digit(str(value))}"), "RUT"
        body = f"20{value:08d}"
        return body + pe_ruc.calc_check_digit(body), "RUC"

    def _person_tax_id(self, i: int, first: str, surname1: str, surname2: str) -> tuple[str, str]:
        rng = self.rng
        country = self.country
        if country == "CO":
            roll = rng.random()
            if roll < 0.55:
                base = str(self.person_ids[0](i))
                last = rng.below(10)
                if str(last) == co_nit.calc_check_digit(base):
                    last = (last + 1) % 10  # a 10-digit cédula must not read as a NIT
                number = f"{base}{last}"
            else:
                number = str(self.person_ids[1 if roll < 0.9 else 2](i))
            if rng.random() < 0.15:
                number = f"{int(number):,}".replace(",", ".")
            return number, "CC"
        if country == "MX":
            return self._rfc(
                _rfc_person_letters(first, surname1, surname2), self.person_ids[0](i), 1950
            ), "RFC"
        if country == "ES":
            if rng.random() < 0.08:
                body = f"{'XY'[rng.below(2)]}{self.person_ids[1](i):07d}"
                return body + es_nie.calc_check_digit(body), "NIE"
            digits = f"{self.person_ids[0](i):08d}"
            return digits + es_dni.calc_check_digit(digits), "NIF"
        if country == "CL":
            value = self.person_ids[0](i)
            return cl_rut.format(f"{value}{cl_rut.calc_check_digit(str(value))}"), "RUT"
        dni = f"{self.person_ids[0](i):08d}"
        if rng.random() < 0.5:
            body = f"10{dni}"
            return body + pe_ruc.calc_check_digit(body), "RUC"
        return dni, "DNI"

    def _rfc(self, letters: str, value: int, first_year: int) -> str:
        """An RFC whose date and homoclave come from `value`, with a valid check digit."""
        homoclave, date_index = value % 1_085, value // 1_085
        day = date_index % 28 + 1
        month = date_index // 28 % 12 + 1
        year = (first_year + date_index // 336 % _RFC_YEARS) % 100
        first = "123456789ABCDEFGHIJKLMNOPQRSTUV"[homoclave // 35]
        second = "123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[homoclave % 35]
        body = f"{letters}{year:02d}{month:02d}{day:02d}{first}{second}"
        rfc = body + mx_rfc.calc_check_digit(body)
        if not mx_rfc.is_valid(rfc, validate_check_digits=True):
            # a few 4-letter words are banned; SAT then replaces the last letter with X
            body = f"{letters[:-1]}X{body[len(letters) :]}"
            rfc = body + mx_rfc.calc_check_digit(body)
        return rfc


_CONNECTORS = frozenset({"de", "del", "la", "las", "el", "los", "y", "&", "e", "en"})


def _rfc_company_letters(words: list[str]) -> str:
    # SAT: initials of the first three words; fewer words give more letters of the first
    folded = [w for w in (_ascii(word).upper() for word in words) if w.isalpha()]
    if len(folded) >= 3:
        letters = "".join(w[0] for w in folded[:3])
    elif len(folded) == 2:
        letters = folded[0][0] + folded[1][:2]
    else:
        letters = folded[0][:3]  # padded with X below
    return letters.ljust(3, "X")


def _rfc_person_letters(first: str, surname1: str, surname2: str) -> str:
    # SAT: first letter and first inner vowel of the paternal surname, first letter of the
    # maternal surname, first letter of the given name
    paternal = _ascii(surname1).upper()
    vowel = next((ch for ch in paternal[1:] if ch in "AEIOU"), "X")
    return paternal[0] + vowel + _ascii(surname2).upper()[0] + _ascii(first).upper()[0]
