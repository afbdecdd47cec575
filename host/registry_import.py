"""The registry import: a municipal extract of up to millions of lines, stored whole or not at all.

Two phases, on both backends:

1. **Staging.** The extract is cut into chunks of CHUNK lines (only between CSV records). Each chunk
   is parsed, checked (check digits, dates, codes) and sealed (the HMAC index and AES-GCM of each My
   Number) by a worker process, which writes the good rows straight into the import's staging: on
   PostgreSQL an UNLOGGED table that every worker COPYs into over its own connection (the server's work
   spread over cores), on SQLite a scratch file of the worker's own (no index, no journal). Nothing the
   host serves from is touched yet, and no write lock is held, so intake goes on meanwhile. An extract
   of one chunk is staged in this process (starting processes would cost more).
2. **Merging.** One transaction moves the staged rows into `residents` and `history` in index order,
   each resident's last line winning (a resident listed twice keeps the later line): an upsert, or on
   PostgreSQL into an empty registry (a first import) a plain insert with the unique indexes rebuilt
   after it. The staging goes with it. A failure anywhere leaves the registry as it was.

The staging holds what the registry holds (the My Number only as its index and sealed), and is removed
when the import ends, whatever happened; one left by an import that was killed is removed by the next.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import itertools
import multiprocessing
import os
import re
import secrets
import shutil
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yoshin.domain import normalize
from yoshin.domain.codes import is_valid_municipality_code, is_valid_my_number
from yoshin.domain.i18n import Bilingual, BilingualError
from yoshin.host.store import Database, Tx

if TYPE_CHECKING:
    from yoshin.host.registry import NumberKeys

COLUMNS = (
    "my_number", "atena_number", "kana", "name", "birth_date", "sex", "address", "guardian_name",
    "municipality_code", "no_auto_answer", "history", "conditions",
)  # fmt: skip
OPTIONAL = {
    "guardian_name",
    "history",
    "conditions",
    "no_auto_answer",
    "no_disclosure",
    "viewing_suspended",
    "subject_id",
}
FLAGS = ("no_auto_answer", "no_disclosure", "viewing_suspended")  # 自動応答不可, 不開示, 閲覧停止
SEXES = {
    "male": "male",
    "female": "female",
    "not_applicable": "not_applicable",
    "1": "male",
    "2": "female",
    "9": "not_applicable",
}
# the columns of `residents` the import writes, in the order of a prepared row (after its line number)
STORED = (
    "municipality_code", "subject_id", "atena_number", "my_number_index", "my_number_sealed", "kana", "name",
    "birth_date", "sex", "address", "guardian_name", *FLAGS, "conditions",
)  # fmt: skip
CHUNK = 10_000  # lines per worker task
IMPORT_CACHE_KIB = 131_072  # SQLite page cache of the merging connection (128 MiB): the indexes outgrow 2 MiB
MAX_WORKERS = 4

# A row to stage: (line, *STORED values) — tuples, the cheapest to write — and its history entries
# (line, municipality code, My Number index, vaccine, dose, date).
Row = tuple[Any, ...]
HistoryRow = tuple[int, str, bytes, str, int, str]


# called inside the merge's transaction with the residents loaded or updated per municipality code
OnMerged = Callable[[Tx, dict[str, int]], None]


def import_csv(
    db: Database, keys: NumberKeys, lines: Iterator[str], workers: int | None = None,
    timings: dict[str, float] | None = None, on_merged: OnMerged | None = None,
) -> tuple[int, list[tuple[int, str]]]:  # fmt: skip
    """Stage and merge an extract (its lines, header first): the good lines loaded, and the errors by line
    number (line 1 is the header; a reason never quotes the My Number). `timings` gets the wall seconds
    of each phase (`stage_seconds`, `merge_seconds`); `on_merged` writes in the merge's transaction (the
    import's audit lines commit with it, or neither does)."""
    header = next(csv.reader([next(lines, "")]), [])
    missing = [name for name in COLUMNS if name not in header and name not in OPTIONAL]
    if missing:
        return 0, [(1, f"missing columns: {', '.join(missing)}")]
    chunks = text_chunks(lines, CHUNK)
    first = next(chunks, None)
    if first is None:
        return 0, []
    staging = Staging.create(db)
    timings = {} if timings is None else timings
    try:
        started = time.perf_counter()
        loaded, errors = _stage_all(db, staging, keys, header, first, chunks, workers)
        staged = time.perf_counter()
        if loaded:
            staging.merge(db, on_merged or (lambda tx, counts: None))
        timings |= {"stage_seconds": staged - started, "merge_seconds": time.perf_counter() - staged}
    except BaseException:
        with contextlib.suppress(Exception):  # the import's own error is the one to report
            staging.drop(db)
        raise
    staging.drop(db)
    return loaded, sorted(errors)


def _stage_all(
    db: Database, staging: Staging, keys: NumberKeys, header: list[str], first: tuple[int, str],
    rest: Iterator[tuple[int, str]], workers: int | None,
) -> tuple[int, list[tuple[int, str]]]:  # fmt: skip
    loaded, errors = 0, []
    second = next(rest, None)
    if second is None:  # one chunk: staged here, on this thread's connection
        stager = Stager(staging, keys, header, db)
        try:
            return stager.stage(*first)
        finally:
            stager.close()
    count = workers or min(MAX_WORKERS, len(os.sched_getaffinity(0)))
    # forkserver: the host process has threads (the server's), which fork must not copy
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(count, context, initializer=_start_worker, initargs=(staging, keys, header)) as pool:
        queue: deque[Future[tuple[int, list[tuple[int, str]]]]] = deque()

        def collect() -> None:
            nonlocal loaded
            staged, bad = queue.popleft().result()
            loaded += staged
            errors.extend(bad)

        for chunk in itertools.chain((first, second), rest):
            queue.append(pool.submit(_stage_task, *chunk))
            if len(queue) > 2 * count:  # bounded: a 1.5-million-line extract is never all in memory
                collect()
        while queue:
            collect()
    return loaded, errors


# -- staging -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staging:
    """Where one import's rows wait (picklable: the worker processes get a copy): two UNLOGGED tables
    (PostgreSQL), or a private directory of scratch files, one per process that stages (SQLite)."""

    url: str
    name: str  # registry_import_<random>: the tables' names, or the scratch directory's

    @classmethod
    def create(cls, db: Database) -> Staging:
        """A new staging, named after its owner (this process, or on PostgreSQL this thread's backend),
        after removing what an import whose owner has gone (killed, crashed) left behind."""
        owner = int(db.query("SELECT pg_backend_pid()")[0][0][0]) if db.postgresql else os.getpid()
        staging = cls(db.url, f"registry_import_{owner}_{secrets.token_hex(6)}")
        _drop_stale(db)
        if db.postgresql:
            columns = ", ".join(STORED)
            with db.transaction() as tx:
                tx.execute(
                    f"CREATE UNLOGGED TABLE {staging.name} AS SELECT 0::BIGINT AS line, {columns} "  # noqa: S608 (our names)
                    "FROM residents WITH NO DATA"
                )
                tx.execute(
                    f"CREATE UNLOGGED TABLE {staging.name}_history (line BIGINT, municipality_code TEXT, "
                    "my_number_index BYTEA, vaccine_code TEXT, dose_number INTEGER, date TEXT)"
                )
        else:
            staging.directory.mkdir(mode=0o700)
        return staging

    @property
    def directory(self) -> Path:
        assert self.url and not self.url.startswith(("postgresql://", "postgres://"))
        return Path(self.url.removeprefix("sqlite:///")).parent / f".{self.name}"

    @property
    def postgresql(self) -> bool:
        return self.url.startswith(("postgresql://", "postgres://"))

    def drop(self, db: Database) -> None:
        if db.postgresql:
            with db.transaction() as tx:
                tx.execute(f"DROP TABLE IF EXISTS {self.name}, {self.name}_history")
        else:
            shutil.rmtree(self.directory, ignore_errors=True)

    def merge(self, db: Database, on_merged: OnMerged) -> None:
        """One transaction: the staged rows into the registry, in index order, the last line winning."""
        try:
            if db.postgresql:
                _merge_postgresql(db, self.name, on_merged)
            else:
                _merge_sqlite(db, sorted(self.directory.glob("stage-*.db")), on_merged)
        except Exception as error:
            sqlstate = str(getattr(error, "sqlstate", "") or "")
            if isinstance(error, sqlite3.IntegrityError) or sqlstate.startswith("23"):  # integrity violation
                raise ImportRefused() from None
            raise


class ImportRefused(BilingualError):
    """The merge broke a constraint: the extract's data, not the host. Nothing was loaded."""

    def __init__(self) -> None:
        super().__init__(
            Bilingual(
                ja="取り込みを中止しました (何も登録していません): "
                "個人番号の異なる住民に同じ対象者番号 (subject_id) があります",
                en="The import was stopped and nothing was loaded: residents with different My Numbers share a "
                "subject_id",
            )
        )


_STAGING_NAME = re.compile(r"registry_import_(\d+)_[0-9a-f]{12}")


def _drop_stale(db: Database) -> None:
    """Remove stagings whose owner is gone: they hold registry rows (names, addresses; the My Number only
    sealed) that nothing will merge or remove. A live owner's (an import running now) is left alone."""
    if db.postgresql:
        with db.transaction() as tx:
            tables = [str(row[0]) for row in tx.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename LIKE 'registry\\_import\\_%'"
            ).fetchall()]  # fmt: skip
            live = {int(row[0]) for row in tx.execute("SELECT pid FROM pg_stat_activity").fetchall()}
            for table in tables:
                match = _STAGING_NAME.fullmatch(table.removesuffix("_history"))
                if match and int(match[1]) not in live:
                    tx.execute(f"DROP TABLE IF EXISTS {table}")
        return
    parent = Path(db.url.removeprefix("sqlite:///")).parent
    for directory in parent.glob(".registry_import_*"):
        match = _STAGING_NAME.fullmatch(directory.name.removeprefix("."))
        if match and not _alive(int(match[1])):
            shutil.rmtree(directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


class Stager:
    """Prepares chunks and writes their good rows into the staging: in a worker process (its own
    connection or scratch file), or in the importing process for a one-chunk extract."""

    def __init__(self, staging: Staging, keys: NumberKeys, header: list[str], db: Database | None = None) -> None:
        self.staging = staging
        self.keys = keys
        self.columns = Columns.of(header)
        self._own_db = db is None
        self.db: Database | None = None
        self.scratch: sqlite3.Connection | None = None
        if staging.postgresql:
            self.db = db or Database(staging.url)  # no migration: the importing process has run them
        else:
            self.scratch = sqlite3.connect(staging.directory / f"stage-{os.getpid()}.db", isolation_level=None)
            self.scratch.execute("PRAGMA journal_mode=OFF")  # scratch: thrown away if anything fails
            self.scratch.execute("PRAGMA synchronous=OFF")
            self.scratch.execute(f"CREATE TABLE IF NOT EXISTS rows (line, {', '.join(STORED)})")
            self.scratch.execute(
                "CREATE TABLE IF NOT EXISTS history (line, municipality_code, my_number_index, vaccine_code, "
                "dose_number, date)"
            )

    def stage(self, first_line: int, text: str) -> tuple[int, list[tuple[int, str]]]:
        rows, history, errors = prepare_rows(self.keys, self.columns, first_line, text)
        if self.scratch is not None:
            marks = ", ".join("?" for _ in range(len(STORED) + 1))
            self.scratch.execute("BEGIN")
            self.scratch.executemany(f"INSERT INTO rows VALUES ({marks})", rows)  # noqa: S608 (placeholders)
            self.scratch.executemany("INSERT INTO history VALUES (?, ?, ?, ?, ?, ?)", history)
            self.scratch.execute("COMMIT")
        else:
            assert self.db is not None
            with self.db.transaction() as tx:
                cursor = tx.connection.cursor()
                with cursor.copy(f"COPY {self.staging.name} (line, {', '.join(STORED)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                if history:
                    with cursor.copy(f"COPY {self.staging.name}_history FROM STDIN") as copy:
                        for entry in history:
                            copy.write_row(entry)
        return len(rows), errors

    def close(self) -> None:
        if self.scratch is not None:
            self.scratch.close()
        if self.db is not None and self._own_db:
            self.db.close()


_WORKER: Stager | None = None


def _start_worker(staging: Staging, keys: NumberKeys, header: list[str]) -> None:
    global _WORKER
    _WORKER = Stager(staging, keys, header)  # closed when the process ends (everything staged is committed)


def _stage_task(first_line: int, text: str) -> tuple[int, list[tuple[int, str]]]:
    assert _WORKER is not None
    return _WORKER.stage(first_line, text)


# -- merging -------------------------------------------------------------------------------------------

_UPDATES = ", ".join(f"{name} = excluded.{name}" for name in STORED if name != "municipality_code")
_IDENTIFIER = re.compile(r"\w+")


def _counts(tx: Tx, rows: str) -> dict[str, int]:
    """The residents (each My Number once) staged per municipality code."""
    query = f"SELECT municipality_code, count(DISTINCT my_number_index) FROM ({rows}) AS staged GROUP BY 1"  # noqa: S608
    return {str(code): int(count) for code, count in tx.execute(query).fetchall()}


def _merge_sqlite(db: Database, files: list[Path], on_merged: OnMerged) -> None:
    """ATTACH the scratch files and insert their rows ordered by (municipality, index): the registry's
    B-trees are then filled in key order (the subject id is derived from the index, so its index too),
    not at random places, which is what made the row-by-row upsert slow. One transaction, committed with
    the connection's synchronous=FULL."""
    names = [f"stage{n}" for n in range(len(files))]
    for path, name in zip(files, names, strict=True):
        db.execute(f"ATTACH DATABASE ? AS {name}", [str(path)])
    try:
        rows = " UNION ALL ".join(f"SELECT * FROM {name}.rows" for name in names)  # noqa: S608 (our names)
        history = " UNION ALL ".join(f"SELECT * FROM {name}.history" for name in names)  # noqa: S608
        columns = ", ".join(STORED)
        db.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
        with db.transaction() as tx:
            first = tx.one("SELECT NOT EXISTS (SELECT 1 FROM residents)")[0]  # the write lock is held: it stays so
            if not first:
                keys = " UNION ALL ".join(  # the two key columns only: a narrower sort than whole rows
                    f"SELECT municipality_code, my_number_index FROM {name}.rows"  # noqa: S608 (our names)
                    for name in names
                )
                on_merged(tx, _counts(tx, keys))
            tx.execute(
                f"INSERT INTO residents ({columns}) SELECT {columns} FROM ({rows}) WHERE true "  # noqa: S608 (our names)
                f"ORDER BY municipality_code, my_number_index, line "
                f"ON CONFLICT (municipality_code, my_number_index) DO UPDATE SET {_UPDATES}"
            )
            if first:  # every resident in the registry is one staged: counted on its unique index, not by a sort
                counted = tx.execute("SELECT municipality_code, count(*) FROM residents GROUP BY 1").fetchall()
                on_merged(tx, {str(code): int(count) for code, count in counted})
            tx.execute(
                "INSERT INTO history (resident_id, vaccine_code, dose_number, date) "  # noqa: S608 (our names)
                f"SELECT r.id, h.vaccine_code, h.dose_number, h.date FROM ({history}) AS h JOIN residents r "
                "ON r.municipality_code = h.municipality_code AND r.my_number_index = h.my_number_index "
                "WHERE true ORDER BY r.id ON CONFLICT DO NOTHING"
            )
    finally:
        db.execute("PRAGMA cache_size = -2000")  # SQLite's default again for this thread's connection
        for name in names:
            db.execute(f"DETACH DATABASE {name}")


def _merge_postgresql(db: Database, table: str, on_merged: OnMerged) -> None:
    columns = ", ".join(STORED)
    history = (
        f"SELECT r.id, h.vaccine_code, h.dose_number, h.date FROM {table}_history h JOIN residents r "  # noqa: S608
        "ON r.municipality_code = h.municipality_code AND r.my_number_index = h.my_number_index"
    )
    with db.transaction() as tx:
        tx.lock("yoshin.registry-import")  # one import at a time (the empty-registry check below)
        on_merged(tx, _counts(tx, f"SELECT * FROM {table}"))  # noqa: S608 (our names)
        tx.execute("SET LOCAL work_mem = '128MB'")  # the de-duplication's hash or sort in memory
        tx.execute("SET LOCAL maintenance_work_mem = '256MB'")  # the index builds of a first import
        rebuilt = _constraints_to_rebuild(tx)
        if rebuilt:  # a first import: no per-row index, unique or foreign-key work; all built once at the end
            for name, relation, _ in rebuilt:
                tx.execute(f'ALTER TABLE {relation} DROP CONSTRAINT "{name}"')
            try:  # as staged: an extract lists each resident once, which the unique index built after checks
                with tx.savepoint():
                    tx.execute(f"INSERT INTO residents ({columns}) SELECT {columns} FROM {table}")  # noqa: S608
                    _add_back(tx, [entry for entry in rebuilt if entry[1] == "residents"])
                deduplicate = ""
            except Exception as error:
                if getattr(error, "sqlstate", None) != "23505":  # unique_violation
                    raise
                # a resident listed twice: each one's last line (and history entries once each)
                tx.execute(
                    f"INSERT INTO residents ({columns}) SELECT {columns} FROM {table} JOIN ("  # noqa: S608 (our names)
                    f"SELECT municipality_code, my_number_index, max(line) AS line FROM {table} GROUP BY 1, 2"
                    ") AS last USING (municipality_code, my_number_index, line)"
                )
                _add_back(tx, [entry for entry in rebuilt if entry[1] == "residents"])
                deduplicate = "DISTINCT"
            tx.execute(
                "INSERT INTO history (resident_id, vaccine_code, dose_number, date) "  # noqa: S608 (our names)
                f"SELECT {deduplicate} * FROM ({history}) AS h"
            )
            _add_back(tx, [entry for entry in rebuilt if entry[1] != "residents"])
        else:  # an upsert in index order (the registry's B-trees are visited in order, not at random)
            tx.execute(
                f"INSERT INTO residents ({columns}) SELECT {columns} FROM ("  # noqa: S608 (our names)
                f"SELECT DISTINCT ON (municipality_code, my_number_index) * FROM {table} "
                "ORDER BY municipality_code, my_number_index, line DESC) AS latest "
                f"ON CONFLICT (municipality_code, my_number_index) DO UPDATE SET {_UPDATES}"
            )
            tx.execute(
                f"INSERT INTO history (resident_id, vaccine_code, dose_number, date) {history} "
                "ORDER BY r.id ON CONFLICT DO NOTHING"
            )
        tx.execute(f"DROP TABLE {table}, {table}_history")  # with the merge: committed together
        tx.execute("ANALYZE residents")  # the look-up's plan: an index scan, not what an empty table gave
        tx.execute("ANALYZE history")


def _add_back(tx: Tx, constraints: list[tuple[str, str, str]]) -> None:
    for name, relation, definition in reversed(constraints):
        tx.execute(f'ALTER TABLE {relation} ADD CONSTRAINT "{name}" {definition}')


def _constraints_to_rebuild(tx: Tx) -> list[tuple[str, str, str]]:
    """(name, table, definition) of the constraints a first import drops and adds back, in dropping
    order (history's foreign key and unique, then the registry's unique ones), when the registry is empty
    and this role owns both tables; else none (the upsert path)."""
    empty = tx.one(
        "SELECT NOT EXISTS (SELECT 1 FROM residents) AND NOT EXISTS (SELECT 1 FROM history) "
        "AND bool_and(pg_has_role(relowner, 'USAGE')) FROM pg_class WHERE oid IN ('residents'::regclass, "
        "'history'::regclass)"
    )
    if not (empty and empty[0]):
        return []
    found = tx.execute(
        "SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE (conrelid = 'history'::regclass AND contype IN ('f', 'u')) "
        "OR (conrelid = 'residents'::regclass AND contype = 'u') "
        "ORDER BY conrelid = 'residents'::regclass, contype, conname"
    ).fetchall()
    return [
        (str(name), str(relation), str(definition))
        for name, relation, definition in found
        if _IDENTIFIER.fullmatch(str(name)) and _IDENTIFIER.fullmatch(str(relation))
    ]


# -- preparing -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Columns:
    """Where each known column is in the extract's lines, looked up once per extract. An absent column
    points one past the header's last: every line is padded to that width with empty fields."""

    my_number: int
    atena_number: int
    kana: int
    name: int
    birth_date: int
    sex: int
    address: int
    guardian_name: int
    municipality_code: int
    history: int
    conditions: int
    subject_id: int
    flags: tuple[tuple[str, int], ...]  # the FLAGS columns present
    width: int  # len(header) + 1

    @classmethod
    def of(cls, header: list[str]) -> Columns:
        where = {name: n for n, name in enumerate(header)}  # a repeated name: its last column, as before
        absent = len(header)
        known = {name: where.get(name, absent) for name in cls.__dataclass_fields__ if name not in ("flags", "width")}
        flags = tuple((flag, where[flag]) for flag in FLAGS if flag in where)
        return cls(**known, flags=flags, width=absent + 1)  # type: ignore[arg-type]


def prepare_rows(
    keys: NumberKeys, columns: Columns, first_line: int, text: str
) -> tuple[list[Row], list[HistoryRow], list[tuple[int, str]]]:
    """Parse, check and seal CSV lines: the rows to stage, their history entries, and the errors by line
    number (a record's first line in the file)."""
    rows: list[Row] = []
    history: list[HistoryRow] = []
    errors: list[tuple[int, str]] = []
    reader = csv.reader(io.StringIO(text))
    line, width, index, seal = first_line, columns.width, keys.index, keys.seal
    for values in reader:
        if len(values) == width - 1:
            values.append("")  # what an absent column reads
        elif len(values) < width:
            values.extend([""] * (width - len(values)))
        try:
            number, code, atena, fields, entries = _parse(values, columns)
        except ValueError as error:
            errors.append((line, str(error)))
        else:
            hashed = index(code, number)
            subject = fields.pop() or subject_id(hashed)
            rows.append((line, code, subject, atena, hashed, seal(code, atena, number), *fields))
            for vaccine, dose, when in entries:
                history.append((line, code, hashed, vaccine, dose, when))
        line = first_line + reader.line_num
    return rows, history, errors


def subject_id(index: bytes) -> str:
    """A stable pseudonymous 予防接種対象者番号 derived from the index (not reversible)."""
    return "S" + index.hex()[:15].upper()


_valid_municipality_code = functools.lru_cache(maxsize=4096)(is_valid_municipality_code)  # a few codes per extract
_TRUE, _FALSE = ("1", "true"), ("0", "false", "")
_digits, _nfkc = normalize.digits, normalize.nfkc


def _iso_date(text: str) -> str:
    """YYYY-MM-DD of a date written so (full-width digits and spaces allowed), or ValueError."""
    try:
        return date.fromisoformat(text).isoformat()  # the usual case, without normalising first
    except ValueError:
        return date.fromisoformat(_digits(text)).isoformat()


def _parse(values: list[str], c: Columns) -> tuple[str, str, str, list[Any], list[tuple[str, int, str]]]:
    """(My Number, municipality code, atena number, the other STORED fields from kana on followed by the
    subject id given in the extract or "", history entries), or ValueError with a reason. `values` is
    padded to `c.width`."""
    number = _digits(values[c.my_number])
    if not is_valid_my_number(number):
        raise ValueError("my_number: not 12 digits with a valid check digit")
    code = _digits(values[c.municipality_code])
    if not _valid_municipality_code(code):
        raise ValueError("municipality_code: not a valid 6-digit code")
    try:
        birth = _iso_date(values[c.birth_date])
    except ValueError:
        raise ValueError("birth_date: not a real date") from None
    sex = SEXES.get(values[c.sex].strip())
    if sex is None:
        raise ValueError("sex: male, female, not_applicable (or 1, 2, 9)")
    name = _nfkc(values[c.name]).strip()
    kana = _nfkc(values[c.kana]).strip()
    address = _nfkc(values[c.address]).strip()
    atena = _digits(values[c.atena_number])
    if not (name and kana and address and atena):
        raise ValueError("name, kana, address and atena_number are required")
    entries = []
    for item in filter(None, values[c.history].split(";")):
        try:
            vaccine, dose, when = item.split(":")
            entry = (vaccine.strip(), int(dose), date.fromisoformat(when.strip()).isoformat())
        except ValueError:
            raise ValueError("history: entries are vaccine:dose:YYYY-MM-DD separated by ;") from None
        if entry not in entries:  # once: history is unique per resident
            entries.append(entry)
    flags = [0, 0, 0]
    for flag_name, at in c.flags:
        flag = values[at].strip().lower()
        if flag in _TRUE:
            flags[FLAGS.index(flag_name)] = 1
        elif flag not in _FALSE:
            raise ValueError(f"{flag_name}: 0 or 1")
    guardian = _nfkc(values[c.guardian_name]).strip() or None
    conditions = values[c.conditions]
    if conditions:
        conditions = ";".join(sorted(filter(None, conditions.split(";"))))
    return number, code, atena, [kana, name, birth, sex, address, guardian, *flags, conditions,
                                 values[c.subject_id].strip()], entries  # fmt: skip


def text_chunks(lines: Iterator[str], size: int) -> Iterator[tuple[int, str]]:
    """(first line number, text) of about `size` lines each, cut only between CSV records (where the
    quotes seen so far are balanced: a quoted field may hold a line break)."""
    line, buffer, open_quote = 2, [], False
    for text in lines:
        buffer.append(text if text.endswith("\n") else text + "\n")
        open_quote ^= text.count('"') % 2 == 1
        if len(buffer) >= size and not open_quote:
            yield line, "".join(buffer)
            line += len(buffer)
            buffer = []
    if buffer:
        yield line, "".join(buffer)
