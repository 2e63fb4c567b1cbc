"""Bank statement files → movements: the format is told by the content, not the file name.

`read_statement` returns a `ParsedStatement` (sections of lines, plus the movements it could not
read with their reasons) or raises `StatementRefused` with one line saying why the file as a
whole cannot be read.
"""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from cartera.cash.parsers.base import (
    LineUnreadable,
    ParsedLine,
    ParsedSection,
    ParsedStatement,
    StatementRefused,
    Unreadable,
    account_key,
)
from cartera.cash.parsers.camt import looks_like_camt, parse_camt
from cartera.cash.parsers.norma43 import looks_like_norma43, parse_norma43
from cartera.cash.parsers.profiles import Profile, ProfileError, profile_named, profiles
from cartera.cash.parsers.swift import looks_like_swift, parse_swift
from cartera.cash.parsers.tabular import parse_tabular

__all__ = [
    "FORMATS",
    "LineUnreadable",
    "ParsedLine",
    "ParsedSection",
    "ParsedStatement",
    "Profile",
    "ProfileError",
    "StatementRefused",
    "Unreadable",
    "account_key",
    "profile_named",
    "profiles",
    "read_statement",
]

# English in the command's help (as every help text); translated where a message quotes it.
FORMATS = gettext_noop(
    "CSV or XLSX bank exports, camt.052/053/054 XML (or zipped), MT940/MT942, Norma 43"
)
_ZIP_MAGIC = b"PK\x03\x04"
# A zipped statement is small; refuse archives that would unpack to something absurd.
_MAX_UNZIPPED = 512 * 1024 * 1024


def _text(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # SWIFT files from older systems are Latin-1; every byte decodes.
        return data.decode("latin-1")


def _xml_head(data: bytes) -> bytes | None:
    head = data[:4096].lstrip(codecs.BOM_UTF8).lstrip()
    return head if head.startswith(b"<") else None


def read_statement(
    path: str | Path,
    *,
    profile: Profile | None = None,
    default_currency: str,
    locale: str = "es_CO",
) -> ParsedStatement:
    """Read a statement file of any supported format.

    `profile` forces a CSV/XLSX column profile; `default_currency` is used for movements whose
    file does not say their currency (most CSV exports).
    """
    path = Path(path)
    if not path.exists():
        raise StatementRefused(_("no such file"))
    if path.is_dir():
        raise StatementRefused(_("is a directory, not a file"))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StatementRefused(exc.strerror or str(exc)) from None
    if not data.strip():
        raise StatementRefused(_("the file is empty"))

    if data.startswith(_ZIP_MAGIC):
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            names = archive.namelist()
        except zipfile.BadZipFile as exc:
            raise StatementRefused(_("a damaged zip file (%(error)s)") % {"error": exc}) from None
        if "xl/workbook.xml" in names:
            return parse_tabular(
                path, forced=profile, default_currency=default_currency, locale=locale
            )
        return _zipped(archive, profile)
    if profile is not None:
        return parse_tabular(path, forced=profile, default_currency=default_currency, locale=locale)
    head = _xml_head(data)
    if head is not None:
        if not looks_like_camt(data[:8192]):
            raise StatementRefused(
                _("an XML file that is not an ISO 20022 camt.052/053/054 statement")
            )
        return parse_camt(data)
    if looks_like_norma43(data):
        return parse_norma43(data)
    text = _text(data)
    if looks_like_swift(text):
        return parse_swift(text)
    if data.startswith(b"%PDF"):
        raise StatementRefused(
            _("a PDF document: ask the bank for the statement in a file format (%(formats)s)")
            % {"formats": _(FORMATS)}
        )
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise StatementRefused(_("an old Excel (.xls) workbook: save it as .xlsx or CSV"))
    if b"\0" in data[:8192]:
        raise StatementRefused(
            _("a binary file that is none of the formats Cartera reads (%(formats)s)")
            % {"formats": _(FORMATS)}
        )
    return parse_tabular(path, forced=None, default_currency=default_currency, locale=locale)


def _zipped(archive: zipfile.ZipFile, profile: Profile | None) -> ParsedStatement:
    """camt files delivered zipped, one or several per archive."""
    if profile is not None:
        raise StatementRefused(
            _("--profile is for CSV and XLSX files, not for a zip of statements")
        )
    members = [info for info in archive.infolist() if not info.is_dir()]
    if not members:
        raise StatementRefused(_("an empty zip file"))
    if sum(info.file_size for info in members) > _MAX_UNZIPPED:
        raise StatementRefused(_("the zip file unpacks to more than 512 MB"))
    combined: ParsedStatement | None = None
    for info in sorted(members, key=lambda member: member.filename):
        try:
            data = archive.read(info)
        except (zipfile.BadZipFile, RuntimeError, OSError) as exc:
            raise StatementRefused(
                _("%(file)s in the zip cannot be read (%(error)s)")
                % {"file": info.filename, "error": exc}
            ) from None
        if _xml_head(data) is None or not looks_like_camt(data[:8192]):
            raise StatementRefused(
                _(
                    "%(file)s in the zip is not a camt statement (a zip may hold camt XML "
                    "files only)"
                )
                % {"file": info.filename}
            )
        parsed = parse_camt(data, name=info.filename)
        if combined is None:
            combined = parsed
            combined.format = f"{parsed.format} (zip)"
        else:
            combined.sections.extend(parsed.sections)
            combined.unreadable.extend(parsed.unreadable)
    assert combined is not None
    return combined
