"""Spanish is the default language: every text of the interface has its translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

import cartera

CATALOG = Path(cartera.__file__).parent / "locale" / "es" / "LC_MESSAGES" / "django.po"


def test_every_message_is_translated_to_spanish():
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="es")
    missing = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert missing == []
    assert fuzzy == []


def test_the_compiled_catalog_is_current():
    compiled = CATALOG.with_suffix(".mo")
    assert compiled.exists(), "run make messages"
    assert compiled.stat().st_mtime >= CATALOG.stat().st_mtime - 1
