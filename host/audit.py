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

from yoshin.host.store import Database, Tx

GENESIS = "0" * 64
CHAIN_LOCK = "yoshin.audit.chain"


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
    tx: Tx,
    at: datetime,
    municipality_code: str,
    actor: str,
    terminal: str,
    action: str,
    target: str,
    outcome: str,
) -> None:
    """One line, inside the transaction of the change it records, so both land or neither does.

    The chain's head is locked until that transaction ends, so concurrent workers append in turn.
    """
    tx.lock(CHAIN_LOCK)
    last = tx.one("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
    anchor = tx.one("SELECT value FROM audit_anchor WHERE name = 'prev'") if last is None else None
    seq, prev = (last[0] + 1, last[1]) if last else (_anchor_seq(tx) + 1, anchor[0] if anchor else GENESIS)
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
    tx.insert("audit", row)


def verify(db: Database) -> list[AuditProblem]:
    """Every break in the chain: an edited line, a deleted line (a gap), lines out of order."""
    problems = []
    with db.read() as tx:
        anchor = tx.one("SELECT value FROM audit_anchor WHERE name = 'prev'")
        prev = anchor[0] if anchor else GENESIS
        expected = _anchor_seq(tx) + 1
        columns = "seq, at, municipality_code, actor, terminal, action, target, outcome, prev_hash, hash"
        for values in tx.execute(f"SELECT {columns} FROM audit ORDER BY seq"):  # noqa: S608 (fixed text)
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


def purge_before(tx: Tx, cutoff: datetime) -> int:
    """Delete lines older than `cutoff` (inside the caller's transaction) and move the anchor."""
    tx.lock(CHAIN_LOCK)
    last = tx.one("SELECT seq, hash FROM audit WHERE at < ? ORDER BY seq DESC LIMIT 1", [cutoff.isoformat()])
    if last is None:
        return 0
    count: int = tx.execute("DELETE FROM audit WHERE seq <= ?", [last[0]]).rowcount
    for name, value in (("prev", last[1]), ("seq", str(last[0]))):
        tx.execute(
            "INSERT INTO audit_anchor (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [name, value],
        )
    return count


def _anchor_seq(tx: Tx) -> int:
    row = tx.one("SELECT value FROM audit_anchor WHERE name = 'seq'")
    return int(row[0]) if row else 0
