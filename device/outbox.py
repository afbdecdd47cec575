"""The sealed outbox: the only thing the appliance keeps, and nothing in it is readable (control 7).

Every payload is sealed to the host (HPKE) and signed by the device before it touches the disk; rows
hold ciphertext and non-personal metadata only. SQLite is set up for durability on every connection
(WAL, synchronous=FULL, BEGIN IMMEDIATE writers, busy timeout) and for erasure (secure_delete, a
TRUNCATE checkpoint after deletes). Two processes may write at once. The queue is bounded, with an alarm
before it fills.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from yoshin.device.keystore import KeyStore
from yoshin.domain.contract import CONTRACT_VERSION, RecordKind, parse_record, record_to_json
from yoshin.domain.i18n import Bilingual, BilingualError
from yoshin.protocol.api import RecordResult, new_record_id
from yoshin.protocol.sealing import EnvelopeHeader, SealedEnvelope, SealError, seal, verify_envelope

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
ALARM_RATIO = 0.8
SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    record_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    envelope BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    record_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    failed_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    envelope BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    record_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    found_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    envelope BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class QueueError(BilingualError):
    pass


class QueueFull(QueueError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            Bilingual(
                ja="送信待ちデータの保存領域がいっぱいです。ネットワークを確認し、技術担当者に連絡してください",
                en=f"The outbox is full ({detail}). Check the network and call the technician",
            )
        )


class QueueCorrupt(QueueError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            Bilingual(
                ja="送信待ちデータベースが壊れています。技術担当者に連絡してください",
                en=f"The outbox is corrupt: {detail}",
            )
        )


@dataclass(frozen=True, slots=True)
class Leased:
    record_id: str
    kind: str
    envelope: SealedEnvelope


@dataclass(frozen=True, slots=True)
class QueueStatus:
    depth: int
    oldest_age_seconds: float | None
    dead_letters: int
    dead_letter_reasons: list[str]
    quarantined: int
    bytes_used: int
    max_bytes: int
    alarm: bool
    last_success: str | None


def seal_payload(
    keys: tuple[X25519PublicKey, Ed25519PrivateKey],
    device_id: str,
    kind: str,
    body: dict[str, Any],
    created_at: str,
    record_id: str | None = None,
) -> SealedEnvelope:
    """The one way a payload leaves the appliance: validated (record kinds), framed, sealed, signed.

    `keys` is (the host's sealing public key, the device signing key) from the key store.
    """
    if kind in set(RecordKind):
        record = parse_record(kind, body)
        body, record_id = record_to_json(record), record.record_id
    header = EnvelopeHeader(record_id or new_record_id(), device_id, kind, created_at)
    payload = json.dumps({"contract_version": CONTRACT_VERSION, "kind": kind, "body": body}, ensure_ascii=False)
    return seal(payload.encode(), header, *keys)


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the queue's durability and erasure settings (per connection: never persisted)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",
        "busy_timeout=30000",
        "secure_delete=ON",
        "temp_store=MEMORY",
    ):
        connection.execute(f"PRAGMA {pragma}")
    return connection


class Outbox:
    def __init__(
        self,
        path: Path,
        keystore: KeyStore,
        device_id: str,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.path = path
        self.device_id = device_id
        self.max_bytes = max_bytes
        self.clock = clock
        self.connection = connect(path)
        try:
            self.connection.executescript(SCHEMA)
            check = self.connection.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise QueueCorrupt(str(error)) from None
        if check != "ok":
            raise QueueCorrupt(check)
        signing = keystore.signing_key()
        self._keys = (keystore.host_sealing_key(), signing)  # read once: enqueue is on the kiosk's path
        self._signing_public = signing.public_key()

    def close(self) -> None:
        self.connection.close()

    # --- writing ----------------------------------------------------------------------------------

    def enqueue(self, kind: str, body: dict[str, Any], record_id: str | None = None) -> str:
        """Validate, seal and store durably. Returns the record id only after the commit."""
        created = self.clock().isoformat(timespec="seconds")
        envelope = seal_payload(self._keys, self.device_id, kind, body, created, record_id)
        record_id = envelope.header.record_id
        blob = envelope.to_bytes()
        try:
            self.connection.execute("BEGIN IMMEDIATE")
            if self._bytes_used() + len(blob) > self.max_bytes:
                raise QueueFull(f"{self.max_bytes} bytes")
            self.connection.execute(
                "INSERT INTO outbox (record_id, kind, created_at, next_attempt_at, envelope) VALUES (?, ?, ?, ?, ?)",
                [record_id, kind, created, created, blob],
            )
            self.connection.execute("COMMIT")
        except BaseException as error:
            if self.connection.in_transaction:  # SQLite has already rolled back after SQLITE_FULL
                self.connection.execute("ROLLBACK")
            if isinstance(error, sqlite3.OperationalError) and ("full" in str(error) or "disk" in str(error)):
                raise QueueFull(str(error)) from None
            raise
        return record_id

    def _bytes_used(self) -> int:
        """What the queue occupies on disk: the database and its WAL."""
        return sum(
            path.stat().st_size for path in (self.path, self.path.with_name(self.path.name + "-wal")) if path.exists()
        )

    # --- forwarding -------------------------------------------------------------------------------

    def lease(self, limit: int) -> list[Leased]:
        """Rows due for sending, oldest first. Rows failing the local integrity check are quarantined."""
        now = self.clock().isoformat(timespec="seconds")
        rows = self.connection.execute(
            "SELECT record_id, kind, envelope FROM outbox WHERE next_attempt_at <= ? "
            "ORDER BY created_at, record_id LIMIT ?",
            [now, limit],
        ).fetchall()
        leased = []
        for record_id, kind, blob in rows:
            try:
                envelope = SealedEnvelope.from_bytes(blob)
                if envelope.header.record_id != record_id or envelope.header.kind != kind:
                    raise SealError("the row's metadata differs from its envelope")
                verify_envelope(envelope, self._signing_public)
            except SealError as error:
                self._quarantine(record_id, kind, blob, error.message.en)
                continue
            leased.append(Leased(record_id, kind, envelope))
        return leased

    def _quarantine(self, record_id: str, kind: str, blob: bytes, reason: str) -> None:
        with self._transaction():
            self.connection.execute(
                "INSERT INTO quarantine (record_id, kind, found_at, reason, envelope) VALUES (?, ?, ?, ?, ?)",
                [record_id, kind, self.clock().isoformat(timespec="seconds"), reason, blob],
            )
            self.connection.execute("DELETE FROM outbox WHERE record_id = ?", [record_id])

    def acknowledge(self, results: Iterable[RecordResult]) -> None:
        """accepted/duplicate: delete; rejected: to the dead letters, still sealed. Then erase the WAL."""
        now = self.clock().isoformat(timespec="seconds")
        with self._transaction():
            for result in results:
                if result.status == "rejected":
                    self.connection.execute(
                        "INSERT OR REPLACE INTO dead_letters "
                        "(record_id, kind, created_at, failed_at, reason, envelope) "
                        "SELECT record_id, kind, created_at, ?, ?, envelope FROM outbox WHERE record_id = ?",
                        [now, result.reason or "rejected", result.record_id],
                    )
                self.connection.execute("DELETE FROM outbox WHERE record_id = ?", [result.record_id])
            self.connection.execute("INSERT OR REPLACE INTO meta VALUES ('last_success', ?)", [now])
        self.checkpoint()

    def postpone(self, record_ids: Iterable[str], delay: timedelta) -> None:
        when = (self.clock() + delay).isoformat(timespec="seconds")
        with self._transaction():
            for record_id in record_ids:
                self.connection.execute(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE record_id = ?",
                    [when, record_id],
                )

    def checkpoint(self) -> None:
        """Deleted rows were overwritten in place (secure_delete); truncate the WAL so no old page remains."""
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # --- health -----------------------------------------------------------------------------------

    def status(self) -> QueueStatus:
        depth, oldest = self.connection.execute("SELECT count(*), min(created_at) FROM outbox").fetchone()
        dead = [reason for (reason,) in self.connection.execute("SELECT reason FROM dead_letters ORDER BY failed_at")]
        quarantined = self.connection.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        last = self.connection.execute("SELECT value FROM meta WHERE key = 'last_success'").fetchone()
        used = self._bytes_used()
        age = (self.clock() - datetime.fromisoformat(oldest)).total_seconds() if oldest else None
        return QueueStatus(
            depth=depth,
            oldest_age_seconds=age,
            dead_letters=len(dead),
            dead_letter_reasons=dead[-5:],
            quarantined=quarantined,
            bytes_used=used,
            max_bytes=self.max_bytes,
            alarm=used >= self.max_bytes * ALARM_RATIO or quarantined > 0,
            last_success=last[0] if last else None,
        )

    def _transaction(self) -> _Immediate:
        return _Immediate(self.connection)


class _Immediate:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")  # waits up to busy_timeout for another writer

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        self.connection.execute("ROLLBACK" if kind else "COMMIT")
