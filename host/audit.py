"""The append-only, hash-chained audit log (control 20): who, when, which terminal, what, whose record.

Each line's hash covers its fields and the previous line's hash, so `verify()` finds any edited,
deleted or reordered line. Retention purges (3 years, control 21) move the chain's anchor forward and
record where, so a purge is not mistaken for tampering.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditProblem:
    seq: int
    problem: str


def _hash(prev_hash: str, row: dict[str, object]) -> str:
    fields = {
        key: row[key] for key in ("seq", "at", "municipality_code", "actor", "terminal", "action", "target", "outcome")
    }
    return hashlib.sha256((prev_hash + json.dumps(fields, sort_keys=True, ensure_ascii=False)).encode()).hexdigest()


def append(
    db: sqlite_utils.Database,
    at: datetime,
    municipality_code: str,
    actor: str,
    terminal: str,
    action: str,
    target: str,
    outcome: str,
) -> None:
    """One line; call inside the transaction of the change it records, so both land or neither does."""
    last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    anchor = db.execute("SELECT value FROM audit_anchor WHERE name = 'prev'").fetchone() if last is None else None
    seq, prev = (last[0] + 1, last[1]) if last else (_anchor_seq(db) + 1, anchor[0] if anchor else GENESIS)
    row: dict[str, object] = {
        "seq": seq,
        "at": at.isoformat(),
        "municipality_code": municipality_code,
        "actor": actor,
        "terminal": terminal,
        "action": action,
        "target": target,
        "outcome": outcome,
    }
    row["prev_hash"] = prev
    row["hash"] = _hash(prev, row)
    db["audit"].insert(row)


def verify(db: sqlite_utils.Database) -> list[AuditProblem]:
    """Every break in the chain: an edited line, a deleted line (a gap), lines out of order."""
    problems = []
    anchor = db.execute("SELECT value FROM audit_anchor WHERE name = 'prev'").fetchone()
    prev = anchor[0] if anchor else GENESIS
    expected = _anchor_seq(db) + 1
    columns = "seq, at, municipality_code, actor, terminal, action, target, outcome, prev_hash, hash"
    for values in db.execute(f"SELECT {columns} FROM audit ORDER BY rowid"):  # noqa: S608 (fixed text)
        row = dict(zip(columns.split(", "), values, strict=True))
        seq = int(row["seq"])  # type: ignore[call-overload]
        if seq != expected:
            problems.append(AuditProblem(seq, f"expected line {expected}: lines deleted or reordered"))
        if row["prev_hash"] != prev:
            problems.append(AuditProblem(seq, "does not follow the previous line"))
        if _hash(str(row["prev_hash"]), row) != row["hash"]:
            problems.append(AuditProblem(seq, "edited after it was written"))
        prev = str(row["hash"])
        expected = seq + 1
    return problems


def purge_before(db: sqlite_utils.Database, cutoff: datetime) -> int:
    """Delete lines older than `cutoff` (inside the caller's transaction) and move the anchor."""
    last = db.execute(
        "SELECT seq, hash FROM audit WHERE at < ? ORDER BY seq DESC LIMIT 1", [cutoff.isoformat()]
    ).fetchone()
    if last is None:
        return 0
    count = db.execute("DELETE FROM audit WHERE seq <= ?", [last[0]]).rowcount
    db["audit_anchor"].upsert_all(
        [{"name": "prev", "value": last[1]}, {"name": "seq", "value": str(last[0])}], pk="name"
    )
    return count


def _anchor_seq(db: sqlite_utils.Database) -> int:
    row = db.execute("SELECT value FROM audit_anchor WHERE name = 'seq'").fetchone()
    return int(row[0]) if row else 0
