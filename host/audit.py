"""The append-only, keyed audit log (control 20): who, when, which terminal, what, whose record.

Tamper evidence has two parts, neither of which lives in the database:

- **a keyed chain.** Each line's `hash` is an HMAC-SHA256, under the host's audit key
  (`keys/audit.key`, beside the other host keys, never in the database), over its fields and the
  previous line's hash. Someone who can write the database but not read the key can neither edit a
  line, nor append a forged one, nor rewrite the chain with recomputed hashes.
- **an external anchor.** Every committed line's `(seq, hash)` is appended to `audit/anchor.jsonl`
  (each entry MACed too), outside the database. Deleting the last line, the last fifty or every line,
  or moving the purge anchor, leaves the database behind its anchor, which `verify` reports. Put that
  file on append-only storage (`chattr +a`) or ship `yoshin-host audit anchor` to another party.

Anchor entries are written when the line's transaction commits (the store's after-commit hook),
never for a rolled-back line. Retention purges (3 years, control 21) record the new start
of the chain in the anchor file as well, so a purge is not mistaken for tampering and a forged "purge"
in the database is.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import pwd
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from yoshin.host.store import Database, Tx

GENESIS = "0" * 64
CHAIN_LOCK = "yoshin.audit.chain"
KEY_FILE = Path("keys") / "audit.key"
ANCHOR_FILE = Path("audit") / "anchor.jsonl"
_FIELDS = ("seq", "at", "municipality_code", "actor", "terminal", "action", "target", "outcome")


@dataclass(frozen=True, slots=True)
class AuditProblem:
    seq: int
    problem: str


@dataclass
class AuditReport:
    """What `verify` checked, and what it found."""

    problems: list[AuditProblem] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


class AuditKeyMissing(RuntimeError):
    pass


def data_dir_of(db: Database | Tx) -> Path:
    """The host data directory whose keys/audit.key and audit/anchor.jsonl this database's log uses."""
    database = db if isinstance(db, Database) else getattr(db, "database", None)  # a Tx, or a wrapper of one
    if database is None or database.data_dir is None:
        raise AuditKeyMissing("the audit log needs the host data directory (its key and anchor file)")
    return database.data_dir


def os_user() -> str:
    """The effective user of this process (what the kernel says, not an environment variable)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid{os.geteuid()}"


def create_key(data_dir: Path) -> None:
    """Make the audit key (once, at `yoshin-host init` or first open); 0600 in the key directory."""
    path = data_dir / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(os.urandom(32))


def _key(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE
    if not path.exists():
        raise AuditKeyMissing(f"the audit key {path} is missing")
    return path.read_bytes()


def _mac(key: bytes, prev_hash: str, row: dict[str, object]) -> str:
    fields = {name: row[name] for name in _FIELDS}
    message = prev_hash + json.dumps(fields, sort_keys=True, ensure_ascii=False)
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _entry_mac(key: bytes, entry: dict[str, object]) -> str:
    text = json.dumps({k: v for k, v in entry.items() if k != "mac"}, sort_keys=True)
    return hmac.new(key, b"anchor|" + text.encode(), hashlib.sha256).hexdigest()


# --- the external anchor ----------------------------------------------------------------------------


def _write_entries(data_dir: Path, key: bytes, entries: list[dict[str, object]]) -> None:
    if not entries:
        return
    path = data_dir / ANCHOR_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps({**e, "mac": _entry_mac(key, e)}, sort_keys=True) + "\n" for e in entries)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.write(descriptor, lines.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)  # closing releases the lock


def _anchor_at_commit(tx: Tx, data_dir: Path, key: bytes, entry: dict[str, object]) -> None:
    """Queue the entry for the anchor file; a transaction's entries are written (and synced) at once."""
    entries = tx.memo.get("audit.anchor")
    if entries is None:
        entries = tx.memo["audit.anchor"] = []
        tx.after_commit.append(lambda: _write_entries(data_dir, key, entries))
    entries.append(entry)


def _read_anchor(data_dir: Path, key: bytes, report: AuditReport) -> list[dict[str, Any]]:
    path = data_dir / ANCHOR_FILE
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            entry = json.loads(line)
            valid = isinstance(entry, dict) and hmac.compare_digest(str(entry.get("mac")), _entry_mac(key, entry))
        except json.JSONDecodeError:
            valid = False
        if not valid:
            report.problems.append(AuditProblem(0, f"anchor file line {number} is not the host's (forged or edited)"))
            continue
        entries.append(entry)
    return entries


# --- the log --------------------------------------------------------------------------------------


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

    The chain's head is locked until that transaction ends, so concurrent workers append in turn; while
    it is held, the head and the key are read once per transaction (a batch of records appends many).
    """
    append_many(tx, [(at, municipality_code, actor, terminal, action, target, outcome)])


Line = tuple[datetime, str, str, str, str, str, str]  # at, municipality, actor, terminal, action, target, outcome


def append_many(tx: Tx, lines: list[Line]) -> None:
    """Several lines in order, in one statement (a batch of records: one round trip, not one per line)."""
    if not lines:
        return
    data_dir = data_dir_of(tx)
    key = tx.memo.get("audit.key")
    if key is None:
        key = tx.memo["audit.key"] = _key(data_dir)
    tx.lock(CHAIN_LOCK)
    head = tx.memo.get("audit.head")
    if head is None:
        last = tx.one("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        head = (int(last[0]), str(last[1])) if last else _start(tx)
    seq, prev = head
    rows = []
    for at, municipality_code, actor, terminal, action, target, outcome in lines:
        if terminal == "cli":  # an admin command: the operating-system user who ran it, not only the name typed
            terminal = f"cli:{os_user()}"
        seq += 1
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
        row["hash"] = prev = _mac(key, prev, row)
        rows.append(row)
    columns = ", ".join(rows[0])
    tx.executemany(
        f"INSERT INTO audit ({columns}) VALUES ({', '.join('?' for _ in rows[0])})",  # noqa: S608 (fixed names)
        [tuple(row.values()) for row in rows],
    )
    tx.memo["audit.head"] = (seq, prev)
    for row in rows:
        _anchor_at_commit(tx, data_dir, key, {"seq": row["seq"], "hash": row["hash"]})


def verify(db: Database) -> AuditReport:
    """Every break: an edited, forged or recomputed line, a gap, reordering, a cut tail, a moved anchor."""
    report = AuditReport()
    data_dir = data_dir_of(db)
    try:
        key = _key(data_dir)
    except AuditKeyMissing as error:
        report.problems.append(AuditProblem(0, str(error)))
        return report
    report.checked.append(f"key: every line's HMAC-SHA256 under {data_dir / KEY_FILE}")
    anchor = _read_anchor(data_dir, key, report)
    purges = [e for e in anchor if "purged_through" in e]
    heads = [e for e in anchor if "purged_through" not in e]

    with db.read() as tx:
        start_seq, start_hash = _start(tx)
        columns = ", ".join((*_FIELDS, "prev_hash", "hash"))
        rows = tx.execute(f"SELECT {columns} FROM audit ORDER BY seq").fetchall()  # noqa: S608 (fixed text)
    expected_start = (int(purges[-1]["purged_through"]), str(purges[-1]["hash"])) if purges else (0, GENESIS)
    if (start_seq, start_hash) != expected_start:
        report.problems.append(
            AuditProblem(
                start_seq,
                f"the chain starts after line {start_seq}, but the anchor file's last purge was through line "
                f"{expected_start[0]}: the start anchor was moved",
            )
        )
    report.checked.append(f"start: after line {start_seq}, as the anchor file's purge record says")

    prev, expected, count, last_seq = start_hash, start_seq + 1, 0, start_seq
    stored: dict[int, str] = {}
    for values in rows:
        row = dict(zip((*_FIELDS, "prev_hash", "hash"), values, strict=True))
        seq = int(row["seq"])  # type: ignore[call-overload]
        if seq != expected:
            report.problems.append(AuditProblem(seq, f"expected line {expected}: lines deleted or reordered"))
        if row["prev_hash"] != prev:
            report.problems.append(AuditProblem(seq, "does not follow the previous line"))
        if not hmac.compare_digest(_mac(key, str(row["prev_hash"]), row), str(row["hash"])):
            report.problems.append(AuditProblem(seq, "edited after it was written, or not written by the host"))
        prev, expected, last_seq, count = str(row["hash"]), seq + 1, seq, count + 1
        stored[seq] = str(row["hash"])
    report.checked.append(f"chain: {count} line(s), {start_seq + 1}..{last_seq}, each following the one before")

    anchored: dict[int, str] = {}
    for entry in heads:
        anchored[int(entry["seq"])] = str(entry["hash"])  # the latest entry for a seq wins
    head = max((s for s in anchored if s > start_seq), default=start_seq)
    if head > last_seq:
        report.problems.append(
            AuditProblem(
                head,
                f"the anchor file records line {head}, the database ends at line {last_seq}: "
                f"{head - last_seq} line(s) deleted from the end",
            )
        )
    for seq, digest in anchored.items():
        if seq in stored and stored[seq] != digest:
            report.problems.append(AuditProblem(seq, "differs from the hash recorded in the anchor file"))
    for seq in stored:
        if seq > head:
            report.problems.append(AuditProblem(seq, "not in the anchor file: appended outside the host"))
    report.checked.append(
        f"anchor: {data_dir / ANCHOR_FILE} ({len(anchor)} entr{'y' if len(anchor) == 1 else 'ies'}), "
        f"head line {head}; every anchored line matches, nothing beyond it"
    )
    report.problems.sort(key=lambda p: p.seq)
    return report


def head(db: Database) -> dict[str, object]:
    """The latest line's seq and hash, to hand to a separate party (a second external anchor)."""
    with db.read() as tx:
        last = tx.one("SELECT seq, hash, at FROM audit ORDER BY seq DESC LIMIT 1")
        start_seq, start_hash = _start(tx)
    return {"seq": last[0], "hash": last[1], "at": last[2]} if last else {"seq": start_seq, "hash": start_hash}


def purge_before(tx: Tx, cutoff: datetime) -> int:
    """Delete lines older than `cutoff` (inside the caller's transaction) and move the anchor, in the
    database and in the anchor file."""
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
    data_dir = data_dir_of(tx)
    _anchor_at_commit(tx, data_dir, _key(data_dir), {"purged_through": last[0], "hash": last[1]})
    return count


def _start(tx: Tx) -> tuple[int, str]:
    values = {name: value for name, value in tx.execute("SELECT name, value FROM audit_anchor").fetchall()}
    return int(values.get("seq", 0)), str(values.get("prev", GENESIS))
