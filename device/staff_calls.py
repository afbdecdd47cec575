"""Staff calls (職員を呼ぶ): a resident's screen asks for help, the staff screen shows it until someone goes.

The resident kiosk calls `raise_call` (and sounds the I/O board); the staff app lists `pending()` and
`acknowledge`s a call when someone goes to the kiosk. A call holds the screen's name and the time only:
no personal data, so it needs no sealing. Both apps open the same file, each per use (two processes).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from yoshin.device.outbox import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_calls (
    call_id TEXT PRIMARY KEY,
    screen TEXT NOT NULL,
    raised_at TEXT NOT NULL
);
"""
MAX_SCREEN_NAME = 64


@dataclass(frozen=True, slots=True)
class StaffCall:
    call_id: str
    screen: str
    raised_at: datetime


class StaffCalls:
    def __init__(self, appliance_data_dir: Path) -> None:
        self.path = appliance_data_dir / "calls.db"

    def _run(self, sql: str, values: list[object]) -> list[tuple[object, ...]]:
        connection = connect(self.path)
        try:
            connection.executescript(SCHEMA)
            connection.execute("BEGIN IMMEDIATE")
            rows = connection.execute(sql, values).fetchall()
            connection.execute("COMMIT")
            return rows
        finally:
            connection.close()

    def raise_call(self, screen: str, at: datetime) -> str:
        """Record a call from `screen` (a screen's name, never what it shows); returns the call's id."""
        if at.tzinfo is None:
            raise ValueError("a call's time must be timezone-aware")
        call_id = uuid.uuid4().hex
        self._run(
            "INSERT INTO staff_calls (call_id, screen, raised_at) VALUES (?, ?, ?)",
            [call_id, screen[:MAX_SCREEN_NAME], at.isoformat(timespec="seconds")],
        )
        return call_id

    def pending(self) -> list[StaffCall]:
        """The calls nobody has acknowledged yet, oldest first."""
        rows = self._run("SELECT call_id, screen, raised_at FROM staff_calls ORDER BY raised_at, call_id", [])
        return [StaffCall(str(c), str(s), datetime.fromisoformat(str(r))) for c, s, r in rows]

    def acknowledge(self, call_id: str) -> bool:
        """Answer a call: it is deleted at once (nothing about it is needed later). False when it was
        unknown or already answered (two staff members pressing at once)."""
        rows = self._run("DELETE FROM staff_calls WHERE call_id = ? RETURNING call_id", [call_id])
        return bool(rows)
