"""The shape every import shares: read, check columns, infer formats, process in chunks.

Each kind of file (debtors, documents, payments) is an `Importer` that turns a chunk of rows
into writes. The pipeline keeps the batch row, the rejected-rows file, the counts, the
transactions (`--dry-run` and `--all-or-nothing` roll back) and the audit event.
"""

from __future__ import annotations

import abc
import contextlib
import csv
import datetime
import hashlib
import queue
import re
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone, translation
from django.utils.text import get_text_list
from django.utils.translation import gettext as _

from cartera.core.audit import Actor, audit_record
from cartera.core.csvsafe import safe_cell
from cartera.core.gcpause import gc_relaxed
from cartera.portfolio.importing.reader import FileUnreadable, Row, TabularFile, clean_cell
from cartera.portfolio.importing.values import ColumnContradiction, ColumnFormat
from cartera.portfolio.models import BatchStatus, Creditor, ImportBatch

T = TypeVar("T")

EXIT_OK = 0
EXIT_SOME_REJECTED = 3
EXIT_NOTHING_LANDED = 4


class RowError(Exception):
    """A row cannot land: which column (its code, never translated), which value, and why (in
    the active language)."""

    def __init__(self, column: str, value: object, reason: str):
        super().__init__(reason)
        self.column = column
        self.value = _cell(value)
        self.reason = reason


class FileRefused(Exception):
    """The whole file is refused before any row is written."""


@dataclass(frozen=True)
class ImportOptions:
    locale: str | None = None
    as_of: datetime.date | None = None
    mapping: dict[str, str] | None = None
    dry_run: bool = False
    all_or_nothing: bool = False
    full_snapshot: bool = False


@dataclass
class ImportResult:
    kind: str
    file: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rows_read: int = 0
    rejected_file: str | None = None
    batch_id: int | None = None
    dry_run: bool = False
    message: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    closed: int = 0
    # Debtors a documents file created or changed through its debtor columns.
    debtors: Counter[str] = field(default_factory=Counter)

    @property
    def landed(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def exit_code(self) -> int:
        if not self.landed and (self.message or self.rejected):
            return EXIT_NOTHING_LANDED
        if self.rejected:
            return EXIT_SOME_REJECTED
        return EXIT_OK

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rejected_file": self.rejected_file,
            "rows": self.rows_read,
            "batch": self.batch_id,
            "dry_run": self.dry_run,
            "message": self.message or None,
            **({"closed": self.closed} if self.closed else {}),
            **({"debtors": dict(self.debtors)} if self.debtors else {}),
        }


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


def clean_text(raw: object) -> str | None:
    """A cell as the text an importer keeps (control characters dropped, spaces folded, an
    Excel 1234.0 read as "1234"), or None when nothing is left; `fields.text` without its
    length check, so that a row's key in the pre-scan is the one the importer looks up."""
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str) and raw.isprintable() and "  " not in raw:
        cleaned = raw.strip()
    else:
        cleaned = _SPACES.sub(" ", _CONTROL.sub("", str(raw))).strip()
    return cleaned or None


class KeyLines:
    """Which line first holds each key that appears more than once in the file.

    Memory stays small whatever the file's size: the pre-scan keeps 4 bytes per row (40 bits
    of each key's hash, in 256 arrays), and only keys whose hash turns up more than once
    (the duplicates, and a few innocent collisions) are then followed by name, in file
    order, during the processing pass: `register` every row's key before the rows of its
    chunk are processed, and `get` answers like the dict of every key's first line would.
    With `keep_all`, the set of every key is kept too (`listed`).
    """

    def __init__(self, *, keep_all: bool = False) -> None:
        self._hashes: list[array[int]] | None = [array("I") for _ in range(256)]
        self._suspects: set[int] = set()
        self._first: dict[str, int] = {}
        self.listed: set[str] | None = set() if keep_all else None

    def observe(self, key: str) -> None:
        """Pre-scan: one more row with this key."""
        assert self._hashes is not None, "observe() after close()"
        code = hash(key)
        self._hashes[(code >> 32) & 255].append(code & 0xFFFFFFFF)

    def close(self) -> None:
        """End of the pre-scan: keep the hashes seen more than once, drop the rest."""
        assert self._hashes is not None
        for bucket, codes in enumerate(self._hashes):
            previous = -1
            for code in sorted(codes):
                if code == previous:
                    self._suspects.add(bucket << 32 | code)
                previous = code
        self._hashes = None

    def register(self, key: str, line: int) -> None:
        """Processing pass, in file order: a row with this key is at this line."""
        code = hash(key)
        if (code >> 32 & 255) << 32 | (code & 0xFFFFFFFF) in self._suspects:
            self._first.setdefault(key, line)
        if self.listed is not None:
            self.listed.add(key)

    def get(self, key: str, default: int | None = None) -> int | None:
        """The first line holding `key` when the file holds it more than once, else `default`
        (a key held once is only ever looked up from its own row)."""
        return self._first.get(key, default)


@dataclass
class ImportContext:
    creditor: Creditor
    batch: ImportBatch
    options: ImportOptions
    actor: Actor
    locale: str
    as_of: datetime.date
    formats: dict[str, ColumnFormat]
    fields: set[str]
    first_line_of: KeyLines
    # Runs a write of rows nothing else in the chunk depends on: at once, or (PostgreSQL, see
    # `_BackgroundWriter`) in a transaction of its own once the chunk has committed.
    write_later: Callable[[Callable[[], None]], None] = field(default=lambda write: write())


@dataclass
class ChunkOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[tuple[Row, RowError]] = field(default_factory=list)
    debtors: Counter[str] = field(default_factory=Counter)

    def reject(self, row: Row, error: RowError) -> None:
        self.rejections.append((row, _detached(error)))


@dataclass
class Prepared(Generic[T]):
    """A chunk as `Importer.prepare` leaves it: what is left to write, and the rows rejected."""

    items: list[T]
    rejections: list[tuple[Row, RowError]] = field(default_factory=list)

    def reject(self, row: Row, error: RowError) -> None:
        self.rejections.append((row, _detached(error)))

    def outcome(self) -> ChunkOutcome:
        return ChunkOutcome(rejections=list(self.rejections))


def _detached(error: RowError) -> RowError:
    """The error without its traceback: kept, the traceback's frames would hold the list that
    holds the error, a cycle per rejected row that only a (rare, see `gc_relaxed`) full
    collection frees. Only the column, value and reason are ever read."""
    error.__traceback__ = None
    return error


class Importer(abc.ABC):
    kind: ClassVar[str]
    columns: ClassVar[dict[str, list[str]]]
    # Each tuple: at least one of these columns must be in the file.
    required: ClassVar[list[tuple[str, ...]]]
    amount_fields: ClassVar[tuple[str, ...]] = ()
    date_fields: ClassVar[tuple[str, ...]] = ()
    # The column whose value identifies a row, and its fallback when the file lacks it.
    key_fields: ClassVar[tuple[str, ...]] = ("external_id",)

    def __init__(self, ctx: ImportContext):
        self.ctx = ctx

    @classmethod
    def refuse_for(cls, creditor: Creditor, options: ImportOptions) -> str | None:
        """A reason to refuse the whole file before reading it, or None."""
        return None

    @classmethod
    def row_key(cls, row: Row) -> str | None:
        return cls.key_of(row.values)

    @classmethod
    def key_of(cls, values: dict[str, object]) -> str | None:
        """The key that identifies a row within its file (duplicates are rejected), exactly as
        the importer computes it when it looks the row up."""
        for name in cls.key_fields:
            key = clean_text(values.get(name))
            if key is not None:
                return key
        return None

    @classmethod
    def keep_all_keys(cls, options: ImportOptions) -> bool:
        """Whether `finish` needs the set of every key in the file (`KeyLines.listed`)."""
        return False

    def prepare(self, rows: list[Row]) -> Prepared[Any]:
        """The work on a chunk that needs no database: reading and checking its cells.

        The pipeline runs it a chunk ahead of `write`, in another thread, so the next chunk is
        read while the database writes this one: it must not touch the database, nor
        anything `write` changes.
        """
        return Prepared(list(rows))

    @abc.abstractmethod
    def write(self, prepared: Prepared[Any]) -> ChunkOutcome:
        """Look up and write one chunk that `prepare` read, in the chunk's transaction; the
        outcome starts with the rows `prepare` rejected."""

    def process(self, rows: list[Row]) -> ChunkOutcome:
        """Validate and write one chunk of rows."""
        return self.write(self.prepare(rows))

    def finish(self, result: ImportResult) -> None:  # noqa: B027 - optional hook
        """Work after the last chunk (e.g. closing what a full snapshot no longer lists)."""


class _Rollback(Exception):
    pass


def file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


class RejectedWriter:
    """Writes rejected rows, with line, column, value and reason, next to the input file."""

    def __init__(self, source: Path, headers: list[str]):
        self.path = source.with_name(source.name + ".rejected.csv")
        self.headers = headers
        self._handle: Any = None
        self._writer: Any = None
        self.count = 0

    def write(self, row: Row, error: RowError) -> None:
        if self._writer is None:
            self._handle = self.path.open("w", newline="", encoding="utf-8-sig")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "column", "value", "reason", *self.headers])
        original = [safe_cell(_cell(row.raw.get(header))) for header in self.headers]
        self._writer.writerow(
            [row.line, error.column, safe_cell(error.value), error.reason, *original]
        )
        self.count += 1

    def close(self) -> str | None:
        if self._handle is not None:
            self._handle.close()
            return str(self.path)
        # A file left by an earlier run would now describe rows that landed.
        self.path.unlink(missing_ok=True)
        return None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        # A spreadsheet date is a datetime at midnight: write it as the date people typed.
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, list | tuple):
        return " | ".join(_cell(item) for item in value)
    return str(value)


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _check_columns(importer: type[Importer], table: TabularFile) -> None:
    present = set(table.fields)
    for group in importer.required:
        if not present.intersection(group):
            aliases = ", ".join(importer.columns[group[0]][:8])
            raise FileRefused(
                _(
                    "%(file)s: missing column %(column)s (accepted headers include: "
                    "%(aliases)s; or pass --map 'Header=%(field)s')"
                )
                % {
                    "file": table.path.name,
                    "column": get_text_list(list(group)),
                    "aliases": aliases,
                    "field": group[0],
                }
            )


def _prescan(
    importer: type[Importer], table: TabularFile, locale: str, options: ImportOptions
) -> tuple[dict[str, ColumnFormat], KeyLines]:
    """One cheap pass over the few columns that matter before any row is processed: evidence
    for the amount and date formats, and which keys appear more than once."""
    formats = {
        name: ColumnFormat(name, "amount")
        for name in importer.amount_fields
        if name in table.fields
    }
    formats.update(
        {name: ColumnFormat(name, "date") for name in importer.date_fields if name in table.fields}
    )
    keys = KeyLines(keep_all=importer.keep_all_keys(options))
    observed = [
        (fmt.observe, index)
        for name, fmt in formats.items()
        if (index := table.field_index(name)) is not None
    ]
    # `Importer.key_of` read straight from the cells, without a dict per row.
    key_indexes = [
        index for name in importer.key_fields if (index := table.field_index(name)) is not None
    ]
    observe_key = keys.observe
    for line, cells in table.records():
        count = len(cells)
        for observe, index in observed:
            if index < count:
                observe(line, cells[index])
        for index in key_indexes:
            if index < count and (key := clean_text(clean_cell(cells[index]))) is not None:
                observe_key(key)
                break
    for fmt in formats.values():
        fmt.resolve(locale)
    keys.close()
    return formats, keys


def run_import(
    importer_class: type[Importer],
    *,
    creditor: Creditor,
    path: str | Path,
    actor: Actor,
    options: ImportOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import one file (see the module docstring); the result says what landed and why not."""
    with gc_relaxed():  # millions of short-lived tuples, no cycles worth a pass each 700
        return _run_import(importer_class, creditor, path, actor, options, progress)


def _run_import(
    importer_class: type[Importer],
    creditor: Creditor,
    path: str | Path,
    actor: Actor,
    options: ImportOptions | None,
    progress: Callable[[int], None] | None,
) -> ImportResult:
    options = options or ImportOptions()
    path = Path(path)
    result = ImportResult(kind=importer_class.kind, file=str(path), dry_run=options.dry_run)
    locale = options.locale or creditor.locale
    as_of = options.as_of or timezone.localdate()
    try:
        refusal = importer_class.refuse_for(creditor, options)
        if refusal:
            raise FileRefused(refusal)
        table = TabularFile(path, columns=importer_class.columns, mapping=options.mapping)
        _check_columns(importer_class, table)
        formats, first_line_of = _prescan(importer_class, table, locale, options)
    except (FileUnreadable, FileRefused, ColumnContradiction) as exc:
        result.message = str(exc)
        if not options.dry_run:
            _record_refusal(importer_class.kind, creditor, path, actor, options, result)
        return result
    result.ignored_columns = list(table.ignored_headers)
    sha256, size = file_digest(path)
    batch = ImportBatch(
        creditor=creditor,
        kind=importer_class.kind,
        file_name=path.name,
        file_sha256=sha256,
        file_size=size,
        actor=actor.label,
        user=actor.user if actor.user is not None and actor.user.pk else None,
        options=_options_json(options, locale, as_of),
    )
    ctx = ImportContext(
        creditor=creditor,
        batch=batch,
        options=options,
        actor=actor,
        locale=locale,
        as_of=as_of,
        formats=formats,
        fields=set(table.fields),
        first_line_of=first_line_of,
    )
    rejected = RejectedWriter(path, table.headers)
    single_transaction = options.dry_run or options.all_or_nothing
    try:
        if single_transaction:
            try:
                with transaction.atomic():
                    batch.save()
                    _process_all(importer_class, ctx, table, rejected, result, progress)
                    if options.dry_run or result.rejected:
                        raise _Rollback
            except _Rollback:
                pass
            if not options.dry_run and result.rejected:
                result.message = _(
                    "nothing landed: %(count)s row(s) rejected and --all-or-nothing was given"
                ) % {"count": result.rejected}
                result.created = result.updated = result.unchanged = 0
        else:
            batch.save()
            _process_all(importer_class, ctx, table, rejected, result, progress)
    except Exception:
        rejected.close()
        if batch.pk and not single_transaction:
            ImportBatch.objects.filter(pk=batch.pk).update(
                status=BatchStatus.FAILED, finished_at=timezone.now()
            )
        raise
    result.rejected_file = rejected.close()
    if result.rejected and not result.landed and not result.message:
        result.message = _("every row was rejected; the reasons are in %(path)s") % {
            "path": result.rejected_file
        }
    if options.dry_run:
        return result
    if single_transaction and result.rejected:
        batch.pk = None
        _record_refusal(importer_class.kind, creditor, path, actor, options, result)
        return result
    _finish_batch(batch, result, actor)
    if result.created + result.updated >= settings.CARTERA_ANALYZE_AFTER_ROWS:
        _refresh_statistics()
    return result


def _refresh_statistics() -> None:
    """A bulk load changes the tables faster than autovacuum notices (and some servers run
    without it): fresh statistics keep the next chunk's and the reports' plans on the indexes."""
    from django.db import connection

    tables = [
        "portfolio_debtor",
        "portfolio_contactpoint",
        "portfolio_document",
        "portfolio_ledgerentry",
        "portfolio_payment",
        "portfolio_allocation",
    ]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def _prepared(
    importer: Importer, ctx: ImportContext, table: TabularFile
) -> Iterator[tuple[int, Prepared[Any]]]:
    """(rows read, prepared chunk) for each chunk of the file, in order."""
    key_of, register = importer.key_of, ctx.first_line_of.register
    for chunk in _chunks(table.rows(), settings.CARTERA_IMPORT_CHUNK):
        for row in chunk:
            key = key_of(row.values)
            if key is not None:
                register(key, row.line)
        yield len(chunk), importer.prepare(chunk)


_DONE = object()


@contextlib.contextmanager
def _read_ahead(items: Iterator[Any]) -> Iterator[Iterator[Any]]:
    """`items`, produced in a thread one item ahead of the consumer.

    Reading and checking the next chunk (Python) then overlaps with writing this one (the
    database), on another core. At most two items wait, so memory stays bounded; an error
    in the producer reaches the consumer where the item would have been. The producer speaks
    the consumer's language: a new thread starts with none active, so the rejection reasons
    it writes would otherwise ignore `translation.override`.
    """
    ready: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()
    language = translation.get_language()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            with translation.override(language):
                for item in items:
                    if not put((item, None)):
                        return
                put((_DONE, None))
        except BaseException as exc:
            put((None, exc))
        finally:
            connections.close_all()  # none is expected: this thread must not use the database

    def consume() -> Iterator[Any]:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item

    worker = threading.Thread(target=produce, name="cartera-import-reader", daemon=True)
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        worker.join()
        close = getattr(items, "close", None)
        if close is not None:
            close()  # the file, when the consumer stopped early


class _BackgroundWriter:
    """Writes chunks' independent rows in threads, while the next chunk is prepared.

    A chunk of new documents is mostly the server's work (COPY, indexes, and the foreign-key
    checks at COMMIT) and the rest Python's (looking up, formatting): done in turn, each waits
    for the other. Here `threads` threads, each with a connection of its own, COPY and commit
    earlier chunks while the caller works on the next one, so the server's work and Python's
    overlap and the server's spreads over the cores. A write is handed over only once its
    chunk has committed (`transaction.on_commit`), so the debtors it points at are visible to
    the other connections; each write is one transaction, so a chunk's new rows land whole or
    not at all. An error in a thread is raised to the caller at its next hand-over or at
    `close`, and every write not yet started is dropped.
    """

    def __init__(self, threads: int) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._slots = threading.BoundedSemaphore(threads)
        self._error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._run, name="cartera-import-writer", daemon=True)
            for _ in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, write: Callable[[], None]) -> None:
        """Queue `write`; the caller waits while every thread is busy."""
        self._slots.acquire()
        if self._error is not None:
            self._slots.release()
            raise self._error
        self._jobs.put(write)

    def close(self) -> None:
        """Wait for the writes handed over; raise an error of theirs, if any."""
        for _thread in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            while (write := self._jobs.get()) is not None:
                try:
                    if self._error is None:
                        with transaction.atomic():
                            _commit_without_waiting()
                            write()
                except BaseException as exc:
                    self._error = exc
                finally:
                    self._slots.release()
        finally:
            connections.close_all()  # this thread's own connection


@contextlib.contextmanager
def _writes_later(ctx: ImportContext, options: ImportOptions) -> Iterator[None]:
    """Let the importer's independent writes overlap the next chunk (PostgreSQL), unless the
    whole file is one transaction: --dry-run, --all-or-nothing, or a caller's own."""
    if connection.vendor != "postgresql" or options.dry_run or options.all_or_nothing:
        yield
        return
    if connection.in_atomic_block:
        yield
        return
    writer = _BackgroundWriter(settings.CARTERA_IMPORT_WRITERS)
    inline = ctx.write_later
    ctx.write_later = lambda write: transaction.on_commit(lambda: writer.submit(write))
    try:
        yield
    except BaseException:
        with contextlib.suppress(BaseException):
            writer.close()  # the error the caller already has wins
        raise
    finally:
        ctx.write_later = inline
    writer.close()


def _process_all(
    importer_class: type[Importer],
    ctx: ImportContext,
    table: TabularFile,
    rejected: RejectedWriter,
    result: ImportResult,
    progress: Callable[[int], None] | None,
) -> None:
    importer = importer_class(ctx)
    with _writes_later(ctx, ctx.options), _read_ahead(_prepared(importer, ctx, table)) as chunks:
        for count, prepared in chunks:
            with transaction.atomic():
                _commit_without_waiting()
                outcome = importer.write(prepared)
            result.rows_read += count
            result.created += outcome.created
            result.updated += outcome.updated
            result.unchanged += outcome.unchanged
            result.debtors.update(outcome.debtors)
            for row, error in sorted(outcome.rejections, key=lambda item: item[0].line):
                rejected.write(row, error)
            result.rejected += len(outcome.rejections)
            if progress is not None:
                progress(result.rows_read)
    with transaction.atomic():
        importer.finish(result)


def _commit_without_waiting() -> None:
    """Let this transaction's commit return before its WAL reaches the disk (PostgreSQL).

    A chunk's commit then costs no disk flush. Nothing is lost that matters: a crash keeps or
    drops whole transactions, never half of one, and the batch's own final save commits
    synchronously, which flushes every chunk written before it, so an import that reports
    its counts is on disk. (With writer threads a chunk's new documents are a transaction of
    their own, apart from its debtors and its changes to stored documents: after a crash,
    importing the file again adds what is missing, and creates nothing twice.)
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _options_json(options: ImportOptions, locale: str, as_of: datetime.date) -> dict[str, Any]:
    return {
        "locale": locale,
        "as_of": as_of.isoformat(),
        "mapping": options.mapping or {},
        "all_or_nothing": options.all_or_nothing,
        "full_snapshot": options.full_snapshot,
    }


def _finish_batch(batch: ImportBatch, result: ImportResult, actor: Actor) -> None:
    batch.rows_read = result.rows_read
    batch.created = result.created
    batch.updated = result.updated
    batch.unchanged = result.unchanged
    batch.rejected = result.rejected
    batch.rejected_file = result.rejected_file or ""
    batch.status = BatchStatus.PARTIAL if result.rejected else BatchStatus.DONE
    batch.finished_at = timezone.now()
    if result.closed:
        batch.message = _("%(count)s document(s) closed: missing from the full snapshot") % {
            "count": result.closed
        }
    batch.save()
    result.batch_id = batch.pk
    audit_record(
        actor=actor,
        action=f"import.{batch.kind}",
        obj=batch,
        creditor_id=batch.creditor_id,
        changes={
            "file": batch.file_name,
            "sha256": batch.file_sha256,
            "rows": result.rows_read,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "rejected": result.rejected,
            "closed": result.closed,
        },
    )


def _record_refusal(
    kind: str,
    creditor: Creditor,
    path: Path,
    actor: Actor,
    options: ImportOptions,
    result: ImportResult,
) -> None:
    """A refused file is still a batch: who tried to load what, and why it was refused."""
    sha256, size = file_digest(path) if path.is_file() else ("", 0)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            creditor=creditor,
            kind=kind,
            file_name=path.name,
            file_sha256=sha256,
            file_size=size,
            actor=actor.label,
            user=actor.user if actor.user is not None and actor.user.pk else None,
            options=_options_json(
                options, options.locale or creditor.locale, options.as_of or timezone.localdate()
            ),
            status=BatchStatus.REFUSED,
            rows_read=result.rows_read,
            rejected=result.rejected,
            rejected_file=result.rejected_file or "",
            message=result.message,
            finished_at=timezone.now(),
        )
        result.batch_id = batch.pk
        audit_record(
            actor=actor,
            action=f"import.{kind}.refused",
            obj=batch,
            creditor_id=creditor.pk,
            changes={"file": path.name, "sha256": sha256, "reason": result.message},
        )
