"""The resident registry: the municipal extract, with the My Number only encrypted (control 10).

Each municipality's numbers are sealed with AES-256-GCM under its own key and found through an
HMAC-SHA256 index under another (keys derived in `keys.HostKeys`). No export, log or API answer carries
the number. The CSV import validates check digits and dates, reports errors per line, loads the good
lines, and is idempotent on rerun.
"""

from __future__ import annotations

import csv
import functools
import hmac
import io
import itertools
import json
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from yoshin.domain import normalize
from yoshin.domain.codes import is_valid_municipality_code, is_valid_my_number
from yoshin.domain.series import HistoryEntry
from yoshin.host.keys import HostKeys, municipality_key
from yoshin.host.store import Database, Tx

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
BATCH = 5000


@dataclass(frozen=True, slots=True)
class Resident:
    id: int
    municipality_code: str
    subject_id: str
    kana: str
    name: str
    birth_date: date
    sex: str
    address: str
    guardian_name: str | None
    no_auto_answer: bool
    conditions: frozenset[str]
    no_disclosure: bool = False
    viewing_suspended: bool = False

    @property
    def restricted(self) -> bool:
        """Control 19: never answered automatically (DV and support-measure cases, 不開示, 閲覧停止)."""
        return self.no_auto_answer or self.no_disclosure or self.viewing_suspended

    def __repr__(self) -> str:
        return f"Resident({self.municipality_code}/{self.subject_id})"


@dataclass(frozen=True, slots=True)
class ImportReport:
    loaded: int
    errors: list[tuple[int, str]]  # (line number, reason): the reason never quotes the My Number


class Registry:
    def __init__(self, db: Database, keys: HostKeys) -> None:
        self.db = db
        self.keys = keys
        self._numbers = NumberKeys(keys.registry_master)

    def index(self, municipality_code: str, my_number: str) -> bytes:
        return self._numbers.index(municipality_code, my_number)

    def seal_number(self, municipality_code: str, atena: str, my_number: str) -> bytes:
        return self._numbers.seal(municipality_code, atena, my_number)

    def subject_id_for(self, municipality_code: str, my_number: str) -> str:
        """A stable pseudonymous 予防接種対象者番号 derived from the index (not reversible)."""
        return _subject_id(self.index(municipality_code, my_number))

    def find(self, municipality_code: str, my_number: str) -> Resident | None:
        return self._one(
            municipality_code,
            "SELECT * FROM residents WHERE municipality_code = ? AND my_number_index = ?",
            [municipality_code, self.index(municipality_code, my_number)],
        )

    def by_subject(self, municipality_code: str, subject_id: str) -> Resident | None:
        return self._one(
            municipality_code,
            "SELECT * FROM residents WHERE municipality_code = ? AND subject_id = ?",
            [municipality_code, subject_id],
        )

    def _one(self, municipality_code: str, sql: str, params: list[object]) -> Resident | None:
        rows, columns = self.db.query(sql, params, municipality_code)  # one statement: one round trip
        return _resident(columns, rows[0]) if rows else None

    def history(self, resident_id: int) -> list[HistoryEntry]:
        with self.db.read() as tx:
            rows = tx.execute(
                "SELECT vaccine_code, dose_number, date FROM history WHERE resident_id = ? ORDER BY date", [resident_id]
            ).fetchall()
            recorded = tx.execute(
                "SELECT body FROM inbox WHERE kind = 'vaccination_record' AND subject_id = "
                "(SELECT subject_id FROM residents WHERE id = ?) AND municipality_code = "
                "(SELECT municipality_code FROM residents WHERE id = ?)",
                [resident_id, resident_id],
            ).fetchall()
        history = [HistoryEntry(code, dose, date.fromisoformat(when)) for code, dose, when in rows]
        for (body,) in recorded:
            record = json.loads(body)
            history.append(
                HistoryEntry(
                    record["vaccine_code"],
                    record["dose_number"],
                    date.fromisoformat(record["vaccination_date"]),
                    record.get("gtin"),  # the series count the product's kind (5種混合, ロタ 1価/5価, ...)
                )
            )
        return sorted(set(history), key=lambda entry: entry.date)

    def import_csv(self, text: str | Iterable[str], workers: int | None = None) -> ImportReport:
        """Load a municipal extract. Good lines are upserted in batches; bad lines are reported.

        Parsing, checking and sealing (the HMAC index and AES-GCM of each My Number) are the cost, so an
        extract longer than one chunk is prepared by `workers` processes (default: one per core, at most
        4) while this process stores the chunks in order, one transaction each, with one prepared
        statement (SQLite) or COPY into a staging table (PostgreSQL). A short extract is prepared here.
        """
        lines = iter(io.StringIO(text) if isinstance(text, str) else text)
        header = next(csv.reader([next(lines, "")]), [])
        missing = [name for name in COLUMNS if name not in header and name not in OPTIONAL]
        if missing:
            return ImportReport(0, [(1, f"missing columns: {', '.join(missing)}")])
        errors: list[tuple[int, str]] = []
        loaded = 0
        chunks = _text_chunks(lines, CHUNK)
        first = next(chunks, None)
        if first is None:
            return ImportReport(0, [])
        # One writer thread (its own connection) stores chunk n while chunk n + 1 is prepared: both
        # drivers release the GIL while the database works, so the two overlap.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="registry-import") as writer:
            pending: Future[None] | None = None
            for prepared, bad in self._prepared(header, first, chunks, workers):
                errors += bad
                if pending is not None:
                    pending.result()
                pending = writer.submit(self._store_chunk, prepared)
                loaded += len(prepared)
            if pending is not None:
                pending.result()
        return ImportReport(loaded, sorted(errors))

    def _prepared(
        self, header: list[str], first: tuple[int, str], rest: Iterator[tuple[int, str]], workers: int | None,
    ) -> Iterator[tuple[list[Prepared], list[tuple[int, str]]]]:  # fmt: skip
        second = next(rest, None)
        if second is None:  # one chunk: not worth starting processes
            yield prepare_rows(self._numbers, header, *first)
            return
        count = workers or min(4, len(os.sched_getaffinity(0)))
        # forkserver: the host process has threads (the server's), which fork must not copy
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(count, mp_context=context) as pool:
            queue: deque[Future[tuple[list[Prepared], list[tuple[int, str]]]]] = deque()
            for chunk in itertools.chain((first, second), rest):
                queue.append(pool.submit(prepare_rows, self._numbers, header, *chunk))
                if len(queue) > 2 * count:  # bounded: a 1.5-million-line extract is never all in memory
                    yield queue.popleft().result()
            while queue:
                yield queue.popleft().result()

    def _store_chunk(self, chunk: list[Prepared]) -> None:
        for start in range(0, len(chunk), BATCH):
            self._store_batch(chunk[start : start + BATCH])

    def _store_batch(self, batch: list[Prepared]) -> None:
        with self.db.transaction() as tx:
            self._upsert_batch(tx, batch)

    def _upsert_batch(self, tx: Tx, batch: list[Prepared]) -> None:
        if tx.postgresql:
            _copy_batch(tx, batch)
            return
        # the registry's indexes outgrow SQLite's default 2 MiB page cache long before 1.5 million rows
        tx.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
        columns = ", ".join(_COPY_COLUMNS)
        updates = ", ".join(f"{name} = excluded.{name}" for name in _COPY_COLUMNS if name != "municipality_code")
        tx.executemany(
            f"INSERT INTO residents ({columns}) VALUES ({', '.join('?' for _ in _COPY_COLUMNS)}) "  # noqa: S608 (our names)
            f"ON CONFLICT (municipality_code, my_number_index) DO UPDATE SET {updates}",
            [row for row, _ in batch],
        )
        history = [(vaccine, dose, when, row[0], row[3]) for row, entries in batch for vaccine, dose, when in entries]
        if history:
            tx.executemany(
                "INSERT INTO history (resident_id, vaccine_code, dose_number, date) "
                "SELECT id, ?, ?, ? FROM residents WHERE municipality_code = ? AND my_number_index = ? "
                "ON CONFLICT DO NOTHING",
                history,
            )


_COPY_COLUMNS = (
    "municipality_code", "subject_id", "atena_number", "my_number_index", "my_number_sealed", "kana", "name",
    "birth_date", "sex", "address", "guardian_name", *FLAGS, "conditions",
)  # fmt: skip


def _copy_batch(tx: Tx, batch: list[Prepared]) -> None:
    """PostgreSQL: COPY the batch into session-local staging tables, then one upsert statement each.

    A resident listed twice in one batch keeps its last line, as the row-by-row path does.
    """
    columns = ", ".join(_COPY_COLUMNS)
    tx.execute(
        f"CREATE TEMP TABLE residents_staging ON COMMIT DROP AS SELECT 0 AS line, {columns} "  # noqa: S608
        "FROM residents WITH NO DATA"
    )
    tx.execute(
        "CREATE TEMP TABLE history_staging (municipality_code TEXT, my_number_index BYTEA, vaccine_code TEXT, "
        "dose_number INTEGER, date TEXT) ON COMMIT DROP"
    )
    cursor = tx.connection.cursor()
    with cursor.copy(f"COPY residents_staging (line, {columns}) FROM STDIN") as copy:
        for line, (row, _) in enumerate(batch):
            copy.write_row((line, *row))
    with cursor.copy("COPY history_staging FROM STDIN") as copy:
        for row, entries in batch:
            for vaccine, dose, when in entries:
                copy.write_row((row[0], row[3], vaccine, dose, when))
    updates = ", ".join(f"{name} = excluded.{name}" for name in _COPY_COLUMNS if name != "municipality_code")
    tx.execute("ANALYZE residents_staging")  # so the planner joins the batch by index, not the whole registry
    tx.execute("ANALYZE history_staging")
    tx.execute(
        f"INSERT INTO residents ({columns}) SELECT {columns} FROM ("  # noqa: S608 (fixed column names)
        f"SELECT DISTINCT ON (municipality_code, my_number_index) * FROM residents_staging "
        f"ORDER BY municipality_code, my_number_index, line DESC) AS latest "
        f"ON CONFLICT (municipality_code, my_number_index) DO UPDATE SET {updates}"
    )
    tx.execute(
        "INSERT INTO history (resident_id, vaccine_code, dose_number, date) "
        "SELECT r.id, h.vaccine_code, h.dose_number, h.date FROM history_staging h "
        "JOIN residents r ON r.municipality_code = h.municipality_code AND r.my_number_index = h.my_number_index "
        "ON CONFLICT DO NOTHING"
    )


class NumberKeys:
    """The My Number's keys per municipality: the HMAC index key and the AES-256-GCM sealing key.

    Picklable (the import's worker processes get a copy): only the master key travels, over the
    pool's pipe to a child of this process; the derived keys are made again on the other side.
    """

    def __init__(self, registry_master: bytes) -> None:
        self._master = registry_master
        self._index: dict[str, bytes] = {}
        self._seal: dict[str, AESGCM] = {}

    def __getstate__(self) -> bytes:
        return self._master

    def __setstate__(self, master: bytes) -> None:
        self.__init__(master)  # type: ignore[misc]

    def index(self, municipality_code: str, my_number: str) -> bytes:
        key = self._index.get(municipality_code)
        if key is None:
            key = self._index[municipality_code] = municipality_key(self._master, municipality_code, "index")
        return hmac.digest(key, my_number.encode(), "sha256")

    def seal(self, municipality_code: str, atena: str, my_number: str) -> bytes:
        sealer = self._seal.get(municipality_code)
        if sealer is None:
            sealer = self._seal[municipality_code] = AESGCM(
                municipality_key(self._master, municipality_code, "encrypt")
            )
        nonce = os.urandom(12)
        return nonce + sealer.encrypt(nonce, my_number.encode(), f"{municipality_code}|{atena}".encode())


# a row to store, in _COPY_COLUMNS order (tuples: the cheapest to hand between processes), and its history
Prepared = tuple[tuple[object, ...], list[tuple[str, int, str]]]
IMPORT_CACHE_KIB = 131_072  # SQLite page cache of the importing connection (128 MiB)
CHUNK = 10_000  # lines prepared per task (and stored per chunk, in transactions of BATCH)


def prepare_rows(
    keys: NumberKeys, header: list[str], first_line: int, text: str
) -> tuple[list[Prepared], list[tuple[int, str]]]:
    """Parse, check and seal CSV lines (a worker process's task): the rows to store, and the errors by
    line number (the record's first line in the file; line 1 is the header)."""
    prepared: list[Prepared] = []
    errors: list[tuple[int, str]] = []
    reader = csv.reader(io.StringIO(text))
    line_number = first_line
    for values in reader:
        try:
            row, history = _parse_line(dict(zip(header, values, strict=False)))
        except ValueError as error:
            errors.append((line_number, str(error)))
        else:
            code, number = str(row["municipality_code"]), str(row.pop("my_number"))
            row["my_number_index"] = index = keys.index(code, number)
            row["my_number_sealed"] = keys.seal(code, str(row["atena_number"]), number)
            row["subject_id"] = row.get("subject_id") or _subject_id(index)
            prepared.append((tuple(row[name] for name in _COPY_COLUMNS), history))
        line_number = first_line + reader.line_num
    return prepared, errors


def _text_chunks(lines: Iterator[str], size: int) -> Iterator[tuple[int, str]]:
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


def _subject_id(index: bytes) -> str:
    return "S" + index.hex()[:15].upper()


_valid_municipality_code = functools.lru_cache(maxsize=4096)(is_valid_municipality_code)  # a few codes per extract


def _parse_line(raw: dict[str, str]) -> tuple[dict[str, object], list[tuple[str, int, str]]]:
    number = normalize.digits(raw.get("my_number") or "")
    if not is_valid_my_number(number):
        raise ValueError("my_number: not 12 digits with a valid check digit")
    code = normalize.digits(raw.get("municipality_code") or "")
    if not _valid_municipality_code(code):
        raise ValueError("municipality_code: not a valid 6-digit code")
    try:
        birth = date.fromisoformat(normalize.digits(raw.get("birth_date") or ""))
    except ValueError:
        raise ValueError("birth_date: not a real date") from None
    sex = SEXES.get((raw.get("sex") or "").strip())
    if sex is None:
        raise ValueError("sex: male, female, not_applicable (or 1, 2, 9)")
    name, kana, address = (normalize.nfkc(raw.get(key) or "").strip() for key in ("name", "kana", "address"))
    atena = normalize.digits(raw.get("atena_number") or "")
    if not (name and kana and address and atena):
        raise ValueError("name, kana, address and atena_number are required")
    history = []
    for item in filter(None, (raw.get("history") or "").split(";")):
        try:
            vaccine, dose, when = item.split(":")
            history.append((vaccine.strip(), int(dose), date.fromisoformat(when.strip()).isoformat()))
        except ValueError:
            raise ValueError("history: entries are vaccine:dose:YYYY-MM-DD separated by ;") from None
    flags = {}
    for flag_name in FLAGS:
        flag = (raw.get(flag_name) or "0").strip().lower()
        if flag not in ("0", "1", "true", "false", ""):
            raise ValueError(f"{flag_name}: 0 or 1")
        flags[flag_name] = int(flag in ("1", "true"))
    row: dict[str, object] = {
        "my_number": number,
        "municipality_code": code,
        "atena_number": atena,
        "kana": kana,
        "name": name,
        "birth_date": birth.isoformat(),
        "sex": sex,
        "address": address,
        "guardian_name": normalize.nfkc(raw.get("guardian_name") or "").strip() or None,
        **flags,
        "conditions": ";".join(sorted(filter(None, (raw.get("conditions") or "").split(";")))),
    }
    if raw.get("subject_id"):
        row["subject_id"] = raw["subject_id"].strip()
    return row, history


def _resident(columns: list[str], row: tuple[object, ...]) -> Resident:
    data = dict(zip(columns, row, strict=True))
    return Resident(
        id=int(str(data["id"])),
        municipality_code=str(data["municipality_code"]),
        subject_id=str(data["subject_id"]),
        kana=str(data["kana"]),
        name=str(data["name"]),
        birth_date=date.fromisoformat(str(data["birth_date"])),
        sex=str(data["sex"]),
        address=str(data["address"]),
        guardian_name=data["guardian_name"] and str(data["guardian_name"]),  # type: ignore[arg-type]
        no_auto_answer=bool(data["no_auto_answer"]),
        conditions=frozenset(filter(None, str(data["conditions"]).split(";"))),
        no_disclosure=bool(data["no_disclosure"]),
        viewing_suspended=bool(data["viewing_suspended"]),
    )
