"""Debtors: the debtors file, and the debtor columns that a documents file may carry."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cartera.core.bulk import ids_reserve, rows_insert, select_in
from cartera.core.locales import default_timezone
from cartera.portfolio.identity import (
    InvalidPhone,
    InvalidTaxId,
    TaxId,
    guess_is_company,
    normalize_phone,
    validate_tax_id,
)
from cartera.portfolio.importing import fields
from cartera.portfolio.importing.columns import DEBTOR_COLUMNS
from cartera.portfolio.importing.pipeline import (
    ChunkOutcome,
    ImportContext,
    Importer,
    Prepared,
    RowError,
)
from cartera.portfolio.importing.reader import Row
from cartera.portfolio.importing.references import references_reserve
from cartera.portfolio.models import ContactKind, ContactPoint, Debtor, DebtorKind

# The fields of a debtor that a file may set; compared to decide updated or unchanged.
_DEBTOR_FIELDS = ("tax_id", "tax_id_type", "kind", "name", "country", "region", "city", "timezone")
_DEBTOR_ROW = (
    "id",
    "creditor_id",
    "external_id",
    *_DEBTOR_FIELDS,
    "payment_reference",
    "created_at",
    "updated_at",
)
_CONTACT_ROW = (
    "debtor_id",
    "kind",
    "value",
    "label",
    "is_primary",
    "source",
    "created_at",
    "verified",
    "valid",
    "do_not_contact",
)


@dataclass
class DebtorData:
    external_id: str | None
    tax: TaxId | None
    name: str | None
    kind: str | None
    country: str
    region: str | None = None
    city: str | None = None
    timezone: str | None = None
    tags: list[str] | None = None
    contacts: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.external_id or (self.tax.number if self.tax else "")

    def new_values(self) -> dict[str, object]:
        """The fields this row states (empty cells never erase what is known)."""
        stated: dict[str, object] = {
            "tax_id": self.tax.number if self.tax else None,
            "tax_id_type": self.tax.type if self.tax else None,
            "kind": self.kind,
            "name": self.name,
            "country": self.country,
            "region": self.region,
            "city": self.city,
            "timezone": self.timezone,
        }
        if self.tags is not None:
            stated["tags"] = self.tags
        return {key: value for key, value in stated.items() if value is not None}


def parse_tax_id(raw: str | None, column: str, country: str, hint: str | None) -> TaxId | None:
    if raw is None:
        return None
    try:
        return validate_tax_id(raw, country, hint)
    except InvalidTaxId as exc:
        raise RowError(column, raw, str(exc)) from exc


def parse_debtor(ctx: ImportContext, values: dict[str, object], prefix: str = "") -> DebtorData:
    """Read a debtor from a row; `prefix` is "debtor_" for the columns of a documents file."""

    def col(name: str) -> str:
        return prefix + name

    country = fields.country(values, col("country"), ctx.creditor.country)
    external_id = fields.text(values, col("external_id"), max_length=80)
    tax = parse_tax_id(
        fields.text(values, col("tax_id"), max_length=40),
        col("tax_id"),
        country,
        fields.text(values, "tax_id_type", max_length=40) if not prefix else None,
    )
    name = fields.text(values, col("name"))
    kind = fields.debtor_kind(values, col("kind"))
    if kind is None and (name or tax):
        company = (tax.is_company if tax else None) or (guess_is_company(name) if name else None)
        if company is not None:
            kind = DebtorKind.COMPANY if company else DebtorKind.PERSON
    data = DebtorData(
        external_id=external_id,
        tax=tax,
        name=name,
        kind=kind,
        country=country,
        city=fields.text(values, col("city"), max_length=100),
        region=fields.text(values, col("region"), max_length=100) if not prefix else None,
        timezone=fields.text(values, "timezone", max_length=64) if not prefix else None,
    )
    if not prefix and values.get("tags") is not None:
        raw_tags = fields.text(values, "tags", max_length=500) or ""
        data.tags = sorted(
            {tag.strip() for tag in raw_tags.replace(";", ",").split(",") if tag.strip()}
        )
    for address in fields.emails(values, col("email")):
        data.contacts.append((ContactKind.EMAIL, address, address))
    for name_ in ("phone", "mobile"):
        raw = fields.text(values, col(name_), max_length=60)
        if raw is None:
            continue
        try:
            number, kind_ = normalize_phone(raw, country)
        except InvalidPhone as exc:
            raise RowError(col(name_), raw, str(exc)) from exc
        contact_kind = {"mobile": ContactKind.MOBILE, "landline": ContactKind.LANDLINE}.get(
            kind_, ContactKind.PHONE
        )
        data.contacts.append((contact_kind, number, raw))
    postal = fields.text(values, col("address"), max_length=300)
    if postal:
        data.contacts.append((ContactKind.ADDRESS, postal, postal))
    return data


# Debtor references an import keeps between chunks (about 150 bytes each).
_KNOWN_LIMIT = 100_000


class DebtorRef(NamedTuple):
    """What a document or payment row needs of its debtor."""

    pk: int
    external_id: str


class DebtorDirectory:
    """Finds and writes debtors for one chunk: a fixed number of queries per chunk."""

    def __init__(self, ctx: ImportContext):
        self.ctx = ctx
        # Debtors found by earlier chunks of the same file: a documents file names the same
        # debtors over and over, and they cannot disappear during the import. Forgotten when
        # it grows past _KNOWN_LIMIT, so memory stays bounded however many debtors there are.
        self._known: dict[str, DebtorRef] = {}
        self._known_tax: dict[str, list[DebtorRef]] = {}

    def refs(
        self, external_ids: set[str], tax_ids: set[str]
    ) -> tuple[dict[str, DebtorRef], dict[str, list[DebtorRef]]]:
        """Light references by external id and by tax id, read once per import."""
        if len(self._known) + len(self._known_tax) > _KNOWN_LIMIT:
            self._known, self._known_tax = {}, {}
        missing_ids = external_ids - self._known.keys()
        missing_tax = tax_ids - self._known_tax.keys()
        if missing_ids or missing_tax:
            found: dict[int, tuple[int, str, str]] = {}
            for column, wanted in (("external_id", missing_ids), ("tax_id", missing_tax)):
                if not wanted:
                    continue
                sql, params = select_in(
                    "SELECT id, external_id, tax_id FROM portfolio_debtor",
                    column,
                    wanted,
                    "creditor_id = %s",
                    [self.ctx.creditor.pk],
                )
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    found.update((record[0], record) for record in cursor.fetchall())
            for pk, external_id, tax_id in found.values():
                ref = DebtorRef(pk, external_id)
                self._known[external_id] = ref
                if tax_id in missing_tax:
                    self._known_tax.setdefault(tax_id, []).append(ref)
            for tax_id in missing_tax:
                self._known_tax.setdefault(tax_id, [])
        return self._known, self._known_tax

    def fetch(
        self, external_ids: set[str], tax_ids: set[str]
    ) -> tuple[dict[str, Debtor], dict[str, list[Debtor]]]:
        found: dict[str, Debtor] = {}
        by_tax: dict[str, list[Debtor]] = {}
        if not external_ids and not tax_ids:
            return found, by_tax
        query = Q(external_id__in=external_ids) | Q(tax_id__in=tax_ids)
        for debtor in Debtor.objects.filter(query, creditor=self.ctx.creditor):
            found[debtor.external_id] = debtor
            if debtor.tax_id:
                by_tax.setdefault(debtor.tax_id, []).append(debtor)
        return found, by_tax

    def upsert(
        self, items: list[tuple[Row, DebtorData]], outcome: ChunkOutcome | None
    ) -> dict[int, tuple[Debtor, str]]:
        """Create or update the debtors of `items`; returns {row line: (debtor, result)}.

        `result` is "created", "updated" or "unchanged"; a row that cannot land is rejected
        into `outcome` (or raises when `outcome` is None).
        """
        ctx = self.ctx
        external_ids = {data.external_id for _, data in items if data.external_id}
        tax_ids = {data.tax.number for _, data in items if data.tax and not data.external_id}
        existing, by_tax = self.fetch(external_ids, tax_ids)
        now = timezone.now()
        results: dict[int, tuple[Debtor, str]] = {}
        new: list[tuple[Row, DebtorData, Debtor]] = []
        changed: dict[int, Debtor] = {}
        for row, data in items:
            debtor = existing.get(data.external_id) if data.external_id else None
            if debtor is None and not data.external_id and data.tax:
                matches = by_tax.get(data.tax.number, [])
                if len(matches) > 1:
                    error = RowError(
                        "tax_id",
                        data.tax.display,
                        _("%(count)s debtors share this tax id; give their external_id")
                        % {"count": len(matches)},
                    )
                    if outcome is None:
                        raise error
                    outcome.reject(row, error)
                    continue
                debtor = matches[0] if matches else None
            if debtor is None:
                if not data.name:
                    error = RowError(
                        "name",
                        None,
                        _("debtor %(debtor)s does not exist yet and has no name")
                        % {"debtor": data.key},
                    )
                    if outcome is None:
                        raise error
                    outcome.reject(row, error)
                    continue
                debtor = Debtor(
                    creditor=ctx.creditor,
                    external_id=data.key,
                    name=data.name,
                    country=data.country,
                    timezone=data.timezone or default_timezone(data.country) or "",
                    created_at=now,
                    updated_at=now,
                )
                for key, value in data.new_values().items():
                    setattr(debtor, key, value)
                if data.kind is None:
                    # Without a company form in the name or a company tax id, a debtor is
                    # taken for a person (companies in ERP files carry one or the other).
                    company = data.tax is not None and data.tax.is_company is True
                    debtor.kind = DebtorKind.COMPANY if company else DebtorKind.PERSON
                existing[debtor.external_id] = debtor
                new.append((row, data, debtor))
                results[row.line] = (debtor, "created")
                continue
            before = {key: getattr(debtor, key) for key in data.new_values()}
            changes = {k: v for k, v in data.new_values().items() if before.get(k) != v}
            if changes:
                for key, value in changes.items():
                    setattr(debtor, key, value)
                debtor.updated_at = now
                changed[id(debtor)] = debtor
            state = "created" if debtor.pk is None else ("updated" if changes else "unchanged")
            results[row.line] = (debtor, state)
            if debtor.pk is None:
                new.append((row, data, debtor))
        if new:
            unique_new = list({id(debtor): debtor for _, _, debtor in new}.values())
            for debtor, reference in zip(
                unique_new,
                references_reserve(ctx.creditor, len(unique_new)),
                strict=True,
            ):
                debtor.payment_reference = reference
            for debtor, pk in zip(unique_new, ids_reserve(Debtor, len(unique_new)), strict=True):
                debtor.pk = pk
            rows_insert(
                Debtor,
                [*_DEBTOR_ROW, "tags"],
                [
                    [*(getattr(debtor, name) for name in _DEBTOR_ROW), json.dumps(debtor.tags)]
                    for debtor in unique_new
                ],
            )
        pending_updates = [d for d in changed.values() if d.pk is not None]
        if pending_updates:
            Debtor.objects.bulk_update(pending_updates, [*_DEBTOR_FIELDS, "tags", "updated_at"])
        self._add_contacts(items, results)
        return results

    def _add_contacts(
        self, items: list[tuple[Row, DebtorData]], results: dict[int, tuple[Debtor, str]]
    ) -> None:
        """New contact points are added; existing ones (maybe edited by a person) are kept."""
        wanted: dict[tuple[int, str, str], str] = {}  # (debtor, kind, value) -> as written
        brand_new: set[int] = set()
        for row, data in items:
            if row.line not in results:
                continue
            debtor, state = results[row.line]
            if state == "created":
                brand_new.add(debtor.pk)
            for kind, value, label in data.contacts:
                wanted.setdefault((debtor.pk, kind, value), label)
        if not wanted:
            return
        # Only debtors that existed before this chunk can already have contact points.
        older = {key[0] for key in wanted} - brand_new
        known: set[tuple[int, str, str]] = set()
        has_primary: set[tuple[int, str]] = set()
        if older:
            for debtor_id, kind, value, primary in ContactPoint.objects.filter(
                debtor_id__in=older
            ).values_list("debtor_id", "kind", "value", "is_primary"):
                known.add((debtor_id, kind, value))
                if primary:
                    has_primary.add((debtor_id, kind))
        source = f"import:{self.ctx.batch.pk}"
        now = timezone.now()
        fresh = []
        for (debtor_id, kind, value), label in wanted.items():
            if (debtor_id, kind, value) in known:
                continue
            primary = (debtor_id, kind) not in has_primary
            has_primary.add((debtor_id, kind))
            fresh.append((debtor_id, kind, value, label, primary, source, now, False, True, False))
        # Nobody else can see the debtors this transaction created; for the older ones a
        # concurrent import may have added the same point meanwhile: keep theirs.
        rows_insert(ContactPoint, _CONTACT_ROW, [row for row in fresh if row[0] in brand_new])
        rows_insert(
            ContactPoint,
            _CONTACT_ROW,
            [row for row in fresh if row[0] not in brand_new],
            ignore_conflicts=True,
        )
        # A debtor whose only change is a new contact point was still updated.
        added = {row[0] for row in fresh}
        for line, (debtor, state) in results.items():
            if state == "unchanged" and debtor.pk in added:
                results[line] = (debtor, "updated")


class DebtorImporter(Importer):
    kind = "debtors"
    columns = DEBTOR_COLUMNS
    required = [("external_id", "tax_id"), ("name",)]
    key_fields = ("external_id", "tax_id")

    def prepare(self, rows: list[Row]) -> Prepared[tuple[Row, DebtorData]]:
        prepared: Prepared[tuple[Row, DebtorData]] = Prepared([])
        for row in rows:
            try:
                if "__extra__" in row.values:
                    raise RowError("", row.values["__extra__"], _("more cells than column headers"))
                data = parse_debtor(self.ctx, row.values)
                if not data.external_id and not data.tax:
                    raise RowError("external_id", None, _("neither external_id nor tax_id given"))
                first = self.ctx.first_line_of.get(self.row_key(row) or "")
                if first is not None and first != row.line:
                    raise RowError(
                        "external_id",
                        data.key,
                        _("appears twice in this file (first at line %(line)s)") % {"line": first},
                    )
            except RowError as error:
                prepared.reject(row, error)
                continue
            prepared.items.append((row, data))
        return prepared

    def write(self, prepared: Prepared[tuple[Row, DebtorData]]) -> ChunkOutcome:
        outcome = prepared.outcome()
        results = DebtorDirectory(self.ctx).upsert(prepared.items, outcome)
        for _line, (_debtor, state) in results.items():
            setattr(outcome, state, getattr(outcome, state) + 1)
        return outcome
