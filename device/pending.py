"""Pending visits: answered questionnaires waiting for the doctor, readable by staff while offline.

Each visit is AES-256-GCM encrypted under the day key (associated data: visit id and day). A completed
visit is deleted at once; at day end every day key is destroyed (crypto-shredding) and the rows deleted,
so nothing of the day can be read again even from a copy of the disk. A tamper event does the same.

Reception slots (control 4) live here too, sealed the same way: reception confirms a resident's identity
on the staff app (`open_reception`), and the next card visit on the resident kiosk takes the oldest open
slot (`take_reception`, once: it is deleted in the same transaction). A slot names the confirming staff
member and the documents seen, nothing of the resident.

The day's cards (`card_today`) let a second visit of the same card on the same day be matched, offline
too (issue 13: each offline visit would otherwise get a new provisional subject id, and a second dose
would pass the guard's same-day check). A row is a keyed digest of the card's face EFs, under a key
derived from the day key (HMAC-SHA256), and the subject ids that card had today, sealed under the day
key. Without the day key the digest cannot be recomputed or tested against a card, so once the day
ends (or a tamper event shreds the keys) nothing links a card to a visit; the rows go with the day's
visits. docs/compliance.md, "Offline same-day doses", gives the reasoning.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from yoshin.device.keystore import KeyStore
from yoshin.device.outbox import connect
from yoshin.domain.clock import today as jst_today

SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    visit_id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sealed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS reception (
    slot_id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sealed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS day_cards (
    digest BLOB PRIMARY KEY,
    day TEXT NOT NULL,
    sealed BLOB NOT NULL
);
"""


class PendingVisits:
    def __init__(
        self, path: Path, keystore: KeyStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.keystore = keystore
        self.clock = clock
        self.connection = connect(path)
        self.connection.executescript(SCHEMA)

    def close(self) -> None:
        self.connection.close()

    def today(self) -> date:
        return jst_today(self.clock())

    def put(self, visit_id: str, visit: dict[str, Any]) -> None:
        day = self.today()
        key = self.keystore.day_key(day, create=True)
        assert key is not None
        nonce = os.urandom(12)
        sealed = nonce + AESGCM(key).encrypt(nonce, json.dumps(visit, ensure_ascii=False).encode(), _aad(visit_id, day))
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute(
            "INSERT OR REPLACE INTO pending (visit_id, day, created_at, sealed) VALUES (?, ?, ?, ?)",
            [visit_id, day.isoformat(), self.clock().isoformat(timespec="seconds"), sealed],
        )
        self.connection.execute("COMMIT")

    def list(self) -> list[tuple[str, dict[str, Any]]]:
        """Today's readable visits, oldest first. Rows under a destroyed key are skipped."""
        out = []
        for visit_id, day, sealed in self.connection.execute(
            "SELECT visit_id, day, sealed FROM pending ORDER BY created_at"
        ):
            visit = self._open(visit_id, date.fromisoformat(day), sealed)
            if visit is not None:
                out.append((visit_id, visit))
        return out

    def get(self, visit_id: str) -> dict[str, Any] | None:
        row = self.connection.execute("SELECT day, sealed FROM pending WHERE visit_id = ?", [visit_id]).fetchone()
        return self._open(visit_id, date.fromisoformat(row[0]), row[1]) if row else None

    def complete(self, visit_id: str) -> None:
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute("DELETE FROM pending WHERE visit_id = ?", [visit_id])
        self.connection.execute("COMMIT")
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def revision(self) -> str:
        """A digest of everything stored (visits and reception slots, sealed as they are): it changes when
        anything is added, replaced or removed, without decrypting anything. The staff list polls it."""
        digest = hashlib.sha256()
        for table, key in (("pending", "visit_id"), ("reception", "slot_id")):
            for row in self.connection.execute(f"SELECT {key}, created_at, sealed FROM {table} ORDER BY {key}"):  # noqa: S608
                digest.update(f"{table}|{row[0]}|{row[1]}|".encode() + hashlib.sha256(row[2]).digest())
        return digest.hexdigest()

    # --- reception slots (control 4) ---------------------------------------------------------------------

    def open_reception(self, slot: dict[str, Any]) -> str:
        """Keep reception's confirmation for the next card visit; returns the slot's id."""
        slot_id, day = uuid.uuid4().hex, self.today()
        key = self.keystore.day_key(day, create=True)
        assert key is not None
        nonce = os.urandom(12)
        plain = json.dumps(slot, ensure_ascii=False).encode()
        sealed = nonce + AESGCM(key).encrypt(nonce, plain, _slot_aad(slot_id, day))
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute(
            "INSERT INTO reception (slot_id, day, created_at, sealed) VALUES (?, ?, ?, ?)",
            [slot_id, day.isoformat(), self.clock().isoformat(timespec="seconds"), sealed],
        )
        self.connection.execute("COMMIT")
        return slot_id

    def receptions(self, valid_for: timedelta) -> builtins.list[tuple[str, dict[str, Any]]]:
        """The open slots younger than `valid_for` and readable, oldest first."""
        return [(slot_id, slot) for slot_id, fresh, slot in self._slots(valid_for) if fresh and slot is not None]

    def take_reception(self, valid_for: timedelta) -> dict[str, Any] | None:
        """The oldest open slot, taken (deleted) in one transaction, so two visits never share one. Slots
        older than `valid_for`, or under a destroyed key, are deleted on the way."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            taken = None
            for slot_id, fresh, slot in self._slots(valid_for):
                usable = fresh and slot is not None
                if usable and taken is not None:
                    continue  # the next visit's
                taken = slot if usable else taken
                self.connection.execute("DELETE FROM reception WHERE slot_id = ?", [slot_id])
            self.connection.execute("COMMIT")
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        return taken

    def cancel_reception(self, slot_id: str) -> bool:
        self.connection.execute("BEGIN IMMEDIATE")
        deleted = self.connection.execute("DELETE FROM reception WHERE slot_id = ?", [slot_id]).rowcount
        self.connection.execute("COMMIT")
        return bool(deleted)

    def _slots(self, valid_for: timedelta) -> builtins.list[tuple[str, bool, dict[str, Any] | None]]:
        """Every slot, oldest first: its id, whether it is younger than `valid_for`, and its content (None
        when its day key is gone)."""
        now, out = self.clock(), builtins.list[tuple[str, bool, dict[str, Any] | None]]()
        rows = self.connection.execute(
            "SELECT slot_id, day, created_at, sealed FROM reception ORDER BY created_at, slot_id"
        ).fetchall()
        for slot_id, day_text, created_at, sealed in rows:
            day = date.fromisoformat(day_text)
            fresh = now - datetime.fromisoformat(created_at) < valid_for
            out.append((str(slot_id), fresh, self._open_sealed(sealed, _slot_aad(slot_id, day), day)))
        return out

    # --- the day's cards (a second visit of one card on one day, offline too) -----------------------------

    def card_today(self, efs: Sequence[bytes], subject_id: str | None = None) -> builtins.list[str]:
        """The subject ids the card with these face EFs had on this appliance today, oldest first, before
        this call; with `subject_id`, that one is added for the card's later visits today."""
        day = self.today()
        key = self.keystore.day_key(day, create=subject_id is not None)
        if key is None:
            return []  # no key today: nothing was kept today
        digest = _card_digest(key, efs)
        aad = _card_aad(digest, day)
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            row = self.connection.execute(
                "SELECT sealed FROM day_cards WHERE digest = ? AND day = ?", [digest, day.isoformat()]
            ).fetchone()
            opened = self._open_sealed(row[0], aad, day) if row else None
            seen = [str(s) for s in opened["subjects"]] if opened else []
            if subject_id is not None and subject_id not in seen:
                nonce = os.urandom(12)
                plain = json.dumps({"subjects": [*seen, subject_id]}).encode()
                self.connection.execute(
                    "INSERT OR REPLACE INTO day_cards (digest, day, sealed) VALUES (?, ?, ?)",
                    [digest, day.isoformat(), nonce + AESGCM(key).encrypt(nonce, plain, aad)],
                )
            self.connection.execute("COMMIT")
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        return seen

    def end_day(self) -> int:
        """Crypto-shred: destroy every day key, then delete the rows and truncate the WAL."""
        destroyed = self.keystore.destroy_day_keys()
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute("DELETE FROM day_cards")
        self.connection.execute("DELETE FROM reception")
        self.connection.execute("DELETE FROM pending")
        self.connection.execute("COMMIT")
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return destroyed

    def _open(self, visit_id: str, day: date, sealed: bytes) -> dict[str, Any] | None:
        return self._open_sealed(sealed, _aad(visit_id, day), day)

    def _open_sealed(self, sealed: bytes, aad: bytes, day: date) -> dict[str, Any] | None:
        key = self.keystore.day_key(day, create=False)
        if key is None:
            return None
        try:
            plain = AESGCM(key).decrypt(sealed[:12], sealed[12:], aad)
        except InvalidTag:
            return None
        return dict(json.loads(plain))


def _aad(visit_id: str, day: date) -> bytes:
    return f"yoshin-pending-v1|{visit_id}|{day.isoformat()}".encode()


def _slot_aad(slot_id: str, day: date) -> bytes:
    return f"yoshin-reception-v1|{slot_id}|{day.isoformat()}".encode()


def _card_digest(day_key: bytes, efs: Sequence[bytes]) -> bytes:
    """HMAC-SHA256 of the face EFs (each length-prefixed) under a key derived from the day key for this use
    only: equal for one card all day, unlinkable to it once the day key is destroyed."""
    key = hmac.new(day_key, b"yoshin-day-card-v1", hashlib.sha256).digest()
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for ef in efs:
        mac.update(len(ef).to_bytes(4, "big") + ef)
    return mac.digest()


def _card_aad(digest: bytes, day: date) -> bytes:
    return b"yoshin-day-card-v1|" + digest.hex().encode() + f"|{day.isoformat()}".encode()
