"""The host's store: one `Database` per service, a transaction per unit of work (seam 4).

    with service.db.transaction(municipality) as tx:   # BEGIN ... COMMIT, or ROLLBACK on any error
        tx.execute("UPDATE ... WHERE x = ?", [x])

Every thread gets its own connection (sqlite3 and libpq connections are never shared between threads);
a unit of work is one transaction on it, so what one request changes commits whole or not at all.
Two backends run the same SQL text (`?` placeholders, standard `ON CONFLICT`, `RETURNING`):

- SQLite (the default, one file in WAL mode, `synchronous=FULL`): one writer at a time. Writers in this
  process queue on a lock (no busy polling); writers in other processes wait on SQLite's busy timeout.
- PostgreSQL (`postgresql://...`, psycopg 3): many worker processes against one database. Each
  transaction binds the session to a municipality (`yoshin.municipality`), which the row-level security
  policies of migration 0002 enforce as a second wall behind the application's own checks.

A database still busy or locked after `BUSY_SECONDS` raises `StoreBusy`; the HTTP layer answers it
503 with Retry-After, and the appliance's forwarder retries with jittered backoff.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
import tomllib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BUSY_SECONDS = 10.0
RETRY_AFTER_SECONDS = 2
ALL_MUNICIPALITIES = "*"  # the admin CLI and cross-municipality host tasks (audit chain, devices)


class StoreBusy(Exception):
    """The database stayed busy or locked past the bound; answer 503 with Retry-After."""

    def __init__(self, detail: str, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class _FairLock:
    """A lock handed over in arrival order, so no writer waits past the bound while later ones pass it."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as the wait ended
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()  # still held: now by the next in line
            else:
                self._held = False


class Rows(list):  # type: ignore[type-arg]
    """Fetched rows of a one-shot `Database.execute`, with the cursor methods callers use."""

    rowcount: int = -1

    def fetchone(self) -> Any:
        return self[0] if self else None

    def fetchall(self) -> list[Any]:
        return list(self)


_PLACEHOLDER = re.compile(r"\?")


def _postgres_sql(sql: str) -> str:
    return _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))


class Tx:
    """One unit of work on one connection. `execute` returns the driver's cursor."""

    def __init__(self, connection: Any, postgresql: bool, database: Database | None = None) -> None:
        self.connection = connection
        self.postgresql = postgresql
        self.database = database
        # run once the transaction has committed, never after a rollback (the audit's external anchor)
        self.after_commit: list[Callable[[], None]] = []
        # what a unit of work may compute once and reuse (the audit chain's head while its lock is held)
        self.memo: dict[str, Any] = {}

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        try:
            if self.postgresql:
                return self.connection.execute(_postgres_sql(sql), params or None)
            return self.connection.execute(sql, params)
        except Exception as error:
            _raise_if_busy(error)
            raise

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            if self.postgresql:
                with self.connection.cursor() as cursor:
                    cursor.executemany(_postgres_sql(sql), list(rows))
            else:
                self.connection.executemany(sql, rows)
        except Exception as error:
            _raise_if_busy(error)
            raise

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.execute(sql, params).fetchone()

    def insert(self, table: str, row: dict[str, Any]) -> None:
        columns = ", ".join(row)
        self.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' for _ in row)})",  # noqa: S608 (our names)
            list(row.values()),
        )

    def lock(self, name: str) -> None:
        """Serialise this transaction with every other that locks `name` (e.g. the audit chain's head).

        SQLite has one writer at a time already (BEGIN IMMEDIATE); PostgreSQL takes a transaction-scoped
        advisory lock, held until COMMIT or ROLLBACK.
        """
        held = self.memo.setdefault("locks", set())
        if self.postgresql and name not in held:  # held until the transaction ends: taken once
            self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [name])
        held.add(name)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the transaction undone alone on error (the rest of the unit goes on)."""
        saved = {key: set(value) if isinstance(value, set) else value for key, value in self.memo.items()}
        lengths = {key: len(value) for key, value in self.memo.items() if isinstance(value, list)}
        self.execute("SAVEPOINT yoshin_part")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK TO SAVEPOINT yoshin_part")
            self.execute("RELEASE SAVEPOINT yoshin_part")
            for key, length in lengths.items():  # what the part queued (an audit anchor entry) goes too
                del self.memo[key][length:]
            self.memo.clear()  # and what it computed (the audit head, locks taken in it)
            self.memo.update(saved)
            raise
        self.execute("RELEASE SAVEPOINT yoshin_part")


def _raise_if_busy(error: Exception) -> None:
    if isinstance(error, sqlite3.OperationalError) and ("locked" in str(error) or "busy" in str(error)):
        raise StoreBusy(str(error)) from error
    if type(error).__module__.startswith("psycopg"):
        import psycopg

        sqlstate = getattr(error, "sqlstate", None) or ""
        # 40001 serialization failure, 40P01 deadlock, 55P03 lock not available, 57014 statement timeout
        if isinstance(error, psycopg.OperationalError) or sqlstate in ("40001", "40P01", "55P03", "57014"):
            raise StoreBusy(str(error)) from error


class Database:
    """The store: SQLite file or PostgreSQL URL; thread-local connections, transactions per unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgresql = url.startswith(("postgresql://", "postgres://"))
        self.path = None if self.postgresql else Path(url.removeprefix("sqlite:///"))
        # the host data directory whose keys/ and audit/ the audit log uses (HostService sets it for PostgreSQL)
        self.data_dir: Path | None = None if self.path is None else self.path.parent
        self._local = threading.local()
        self._write_lock = _FairLock()  # SQLite: this process's writers queue here, in order, not busy polling
        self._connections: list[Any] = []
        self._connections_lock = threading.Lock()

    @property
    def backend(self) -> str:
        return "postgresql" if self.postgresql else "sqlite"

    def __repr__(self) -> str:
        return f"Database({self.backend})"

    # -- connections -------------------------------------------------------------------------------

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
            with self._connections_lock:
                self._connections.append(connection)
        return connection

    def _connect(self) -> Any:
        if self.postgresql:
            import psycopg

            try:
                connection = psycopg.connect(self.url, autocommit=True, connect_timeout=int(BUSY_SECONDS))
            except psycopg.OperationalError as error:
                raise StoreBusy(f"the database cannot be reached: {error}") from error
            role = connection.execute(
                "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            if role and role[0]:
                connection.close()
                raise RuntimeError("the host refuses a superuser or BYPASSRLS role: row-level security would not apply")
            return connection
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lite = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_SECONDS)
        lite.execute("PRAGMA journal_mode=WAL")
        lite.execute("PRAGMA synchronous=FULL")  # per connection, never persisted: nothing acknowledged is lost
        lite.execute("PRAGMA foreign_keys=ON")
        return lite

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._connections_lock:
                if connection in self._connections:
                    self._connections.remove(connection)
            with contextlib.suppress(Exception):  # a broken connection is being discarded anyway
                connection.close()

    def close(self) -> None:
        """Close every connection (at shutdown, when no unit of work runs)."""
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            with contextlib.suppress(Exception):  # another thread's sqlite connection: closed when collected
                connection.close()
        self._local = threading.local()

    # -- units of work -----------------------------------------------------------------------------

    @contextmanager
    def transaction(self, municipality: str | None = None) -> Iterator[Tx]:
        """A read-write unit of work, bound (on PostgreSQL) to one municipality's rows, or all (None)."""
        with self._unit(municipality, write=True) as tx:
            yield tx

    @contextmanager
    def read(self, municipality: str | None = None) -> Iterator[Tx]:
        """A consistent read (one snapshot); never blocks writers on either backend."""
        with self._unit(municipality, write=False) as tx:
            yield tx

    @contextmanager
    def _unit(self, municipality: str | None, write: bool) -> Iterator[Tx]:
        if getattr(self._local, "active", False):
            raise RuntimeError("a unit of work is already open on this thread: pass its `tx` instead")
        self._local.active = True
        try:
            if self.postgresql:
                with self._postgres_unit(municipality) as tx:
                    yield tx
            else:
                with self._sqlite_unit(write) as tx:
                    yield tx
        finally:
            self._local.active = False

    @contextmanager
    def _sqlite_unit(self, write: bool) -> Iterator[Tx]:
        if write and not self._write_lock.acquire(timeout=BUSY_SECONDS):
            raise StoreBusy("the database is busy (writers queued past the bound)")
        try:
            connection = self._connection()
            connection.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")  # other processes' writers
            try:
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.OperationalError as error:
                _raise_if_busy(error)
                raise
            tx = Tx(connection, postgresql=False, database=self)
            try:
                yield tx
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            try:
                connection.execute("COMMIT")
            except sqlite3.OperationalError as error:
                connection.execute("ROLLBACK")
                _raise_if_busy(error)
                raise
            for callback in tx.after_commit:
                callback()
        finally:
            if write:
                self._write_lock.release()

    @contextmanager
    def _postgres_unit(self, municipality: str | None) -> Iterator[Tx]:
        """BEGIN ... COMMIT bound to a municipality, in as few round trips as possible.

        The binding (and the lock wait bound) is a session setting sent with the BEGIN only when it
        differs from the connection's last one: a unit is BEGIN, its statements, COMMIT. A rolled-back
        transaction also undoes a setting made in it, so after ROLLBACK the next unit sends it again.
        """
        import psycopg
        from psycopg import sql

        connection = self._connection()
        wanted = (municipality or ALL_MUNICIPALITIES, f"{int(BUSY_SECONDS * 1000)}ms")
        begin: str | sql.Composed = "BEGIN"
        if getattr(connection, "yoshin_binding", None) != wanted:
            begin = sql.SQL(
                "BEGIN; SELECT set_config('yoshin.municipality', {}, false), set_config('lock_timeout', {}, false)"
            ).format(sql.Literal(wanted[0]), sql.Literal(wanted[1]))
        try:
            try:
                connection.execute(begin)
                connection.yoshin_binding = wanted
                tx = Tx(connection, postgresql=True, database=self)
                yield tx
            except BaseException:
                connection.yoshin_binding = None
                if not connection.closed and not connection.broken:
                    connection.execute("ROLLBACK")
                raise
            try:
                connection.execute("COMMIT")
            except BaseException:
                connection.yoshin_binding = None  # a failed COMMIT rolled the settings back too
                raise
            for callback in tx.after_commit:
                callback()
        except psycopg.OperationalError as error:  # the server went away (restart, failover): reconnect next time
            self._drop_connection()
            raise StoreBusy(str(error)) from error
        except StoreBusy:
            if connection.closed or connection.broken:  # the same, noticed by a statement
                self._drop_connection()
            raise
        except psycopg.Error as error:
            _raise_if_busy(error)
            raise

    def query(self, sql: str, params: Sequence[Any] = (), municipality: str | None = None) -> tuple[Rows, list[str]]:
        """One SELECT outside any transaction (a single statement is its own snapshot): rows and column
        names, in one round trip when the connection's binding is already this municipality's."""
        if getattr(self._local, "active", False):
            raise RuntimeError("a unit of work is already open on this thread: use its `tx`")
        connection = self._connection()
        try:
            if self.postgresql:
                wanted = (municipality or ALL_MUNICIPALITIES, f"{int(BUSY_SECONDS * 1000)}ms")
                if getattr(connection, "yoshin_binding", None) != wanted:
                    connection.execute(
                        "SELECT set_config('yoshin.municipality', %s, false), set_config('lock_timeout', %s, false)",
                        list(wanted),
                    )
                    connection.yoshin_binding = wanted
                cursor = connection.execute(_postgres_sql(sql), params or None)
            else:
                cursor = connection.execute(sql, params)
            rows = Rows(cursor.fetchall())
            return rows, [column[0] for column in cursor.description or []]
        except Exception as error:
            if self.postgresql and (connection.closed or connection.broken):
                self._drop_connection()
                raise StoreBusy(str(error)) from error
            _raise_if_busy(error)
            raise

    def execute(self, sql: str, params: Sequence[Any] = (), municipality: str | None = None) -> Rows:
        """One statement in its own unit of work, rows fetched (the CLI, tests, one-off reads).

        A SELECT runs as a read (never queued behind writers); a SQLite PRAGMA, ATTACH or DETACH on this
        thread's connection outside any transaction (the registry import attaches its scratch files).
        """
        verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if verb in ("PRAGMA", "ATTACH", "DETACH") and not self.postgresql:
            cursor = self._connection().execute(sql, params)
            rows = Rows(cursor.fetchall())
            return rows
        unit = self.read if verb in ("SELECT", "WITH") else self.transaction
        with unit(municipality) as tx:
            cursor = tx.execute(sql, params)
            rows = Rows(cursor.fetchall() if cursor.description else [])
            rows.rowcount = cursor.rowcount
        return rows

    # -- schema ------------------------------------------------------------------------------------

    def migrate(self) -> list[int]:
        """Apply the numbered migrations not yet applied (host/migrations/<backend>/NNNN_name.sql)."""
        return migrate(self)


def migrations(backend: str) -> list[tuple[int, str, str]]:
    """(version, name, SQL text) of every migration for `backend`, in order."""
    folder = Path(__file__).parent / "migrations" / backend
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found)


def _statements(script: str) -> Iterator[str]:
    """Split a SQL script into statements (SQLite: `complete_statement` knows about strings and triggers)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer
            buffer = ""
    if buffer.strip() and not buffer.strip().startswith("--"):
        yield buffer


def migrate(db: Database) -> list[int]:
    """Bring the schema up to date, each migration in one transaction with its schema_version row.

    Safe against concurrent workers: SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock.
    """
    applied_now = []
    create = (
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at TEXT NOT NULL)"
    )
    for version, name, script in migrations(db.backend):
        with db.transaction() as tx:
            tx.lock("yoshin.migrate")
            tx.execute(create)
            if tx.one("SELECT 1 FROM schema_version WHERE version = ?", [version]):
                continue
            if db.postgresql:
                tx.connection.execute(script)  # several statements, no parameters: one simple query
            else:
                for statement in _statements(script):
                    tx.connection.execute(statement)
            tx.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                [version, name, datetime.now(UTC).isoformat()],
            )
            applied_now.append(version)
    return applied_now


def schema_version(db: Database) -> int:
    with db.read() as tx:
        row = tx.one("SELECT max(version) FROM schema_version")
    return int(row[0] or 0)


CONFIG_FILE = "host.toml"


def configured_url(data_dir: Path) -> str:
    """The database the host's configuration file names (`database = "postgresql://..."` in
    `<data dir>/host.toml`), else the embedded SQLite file `<data dir>/host.db`."""
    config = data_dir / CONFIG_FILE
    if config.exists():
        with config.open("rb") as handle:
            url = tomllib.load(handle).get("database")
        if isinstance(url, str) and url:
            return url
    return str(data_dir / "host.db")


def write_config(data_dir: Path, url: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / CONFIG_FILE).write_text(f"database = {json.dumps(url)}\n", encoding="utf-8")


def open_database(url: str | Path) -> Database:
    """Open and migrate. `url` is a path to a SQLite file or a `postgresql://` URL."""
    db = Database(str(url))
    db.migrate()
    return db
