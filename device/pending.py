"""Pending visits: answered questionnaires waiting for the doctor, readable by staff while offline.

Each visit is AES-256-GCM encrypted under the day key (associated data: visit id and day). A completed
visit is deleted at once; at day end every day key is destroyed (crypto-shredding) and the rows deleted,
so nothing of the day can be read again even from a copy of the disk. A tamper event does the same.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, date, datetime
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

    def end_day(self) -> int:
        """Crypto-shred: destroy every day key, then delete the rows and truncate the WAL."""
        destroyed = self.keystore.destroy_day_keys()
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute("DELETE FROM pending")
        self.connection.execute("COMMIT")
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return destroyed

    def _open(self, visit_id: str, day: date, sealed: bytes) -> dict[str, Any] | None:
        key = self.keystore.day_key(day, create=False)
        if key is None:
            return None
        try:
            plain = AESGCM(key).decrypt(sealed[:12], sealed[12:], _aad(visit_id, day))
        except InvalidTag:
            return None
        return dict(json.loads(plain))


def _aad(visit_id: str, day: date) -> bytes:
    return f"yoshin-pending-v1|{visit_id}|{day.isoformat()}".encode()
