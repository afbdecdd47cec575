"""Finding 3: the audit log cannot be cut or rewritten undetected.

A real host is served over mutual TLS and used (records, identity refusals, logins); then each copy of
its data directory is tampered with in one way, through SQLite directly, as someone with write access
to the database file (but not to the key) would, and the real `yoshin-host audit verify` must say so.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from yoshin.domain import examples
from yoshin.host import audit
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id

SCRIPT = str(Path(sys.executable).parent / "yoshin-host")
FIELDS = ("seq", "at", "municipality_code", "actor", "terminal", "action", "target", "outcome")


def _unkeyed(prev: str, row: dict[str, object]) -> str:
    """The hash an attacker without the key computes (the former, unkeyed chain)."""
    fields = {name: row[name] for name in FIELDS}
    return hashlib.sha256((prev + json.dumps(fields, sort_keys=True, ensure_ascii=False)).encode()).hexdigest()


def _rows(db: sqlite3.Connection) -> list[dict[str, object]]:
    db.row_factory = sqlite3.Row
    return [dict(row) for row in db.execute("SELECT * FROM audit ORDER BY seq")]


def _delete_last(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)")


def _delete_last_50(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM audit WHERE seq > (SELECT max(seq) - 50 FROM audit)")


def _delete_all(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM audit")


def _rewrite_chain(db: sqlite3.Connection) -> None:
    prev = audit.GENESIS
    for row in _rows(db):
        row["actor"] = "someone-else" if row["seq"] == 3 else row["actor"]
        row["prev_hash"], row["hash"] = prev, _unkeyed(prev, row)
        db.execute(
            "UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            [row["actor"], row["prev_hash"], row["hash"], row["seq"]],
        )
        prev = str(row["hash"])


def _move_anchor(db: sqlite3.Connection) -> None:
    tenth = _rows(db)[9]
    db.execute("DELETE FROM audit WHERE seq <= ?", [tenth["seq"]])
    db.executemany(
        "INSERT OR REPLACE INTO audit_anchor (name, value) VALUES (?, ?)",
        [("prev", tenth["hash"]), ("seq", str(tenth["seq"]))],
    )


def _append_forged(db: sqlite3.Connection) -> None:
    last = _rows(db)[-1]
    row: dict[str, object] = {**last, "seq": int(last["seq"]) + 1, "action": "staff.add", "target": "X0001"}  # type: ignore[call-overload]
    row["prev_hash"] = last["hash"]
    row["hash"] = _unkeyed(str(last["hash"]), row)
    db.execute(f"INSERT INTO audit ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))


def _verify(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, "audit", "verify", "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=60
    )


_BUILT: dict[str, Path] = {}


@pytest.fixture
def database_url() -> None:
    """SQLite only: the copy of a real database file is tampered with. (On PostgreSQL the host's role
    cannot UPDATE or DELETE audit rows at all: tests/host/test_admin.py `tamper`.)"""
    return None


@pytest.fixture
def used_host(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real host's data directory after real traffic, stopped, with more than 60 audit lines (built once)."""
    if "dir" not in _BUILT:
        _BUILT["dir"] = request.getfixturevalue("_served_and_used")
    return _BUILT["dir"]


@pytest.fixture
def _served_and_used(host: HostServer, make_device, tmp_path_factory: pytest.TempPathFactory) -> Path:
    device = make_device()
    for _ in range(6):
        q = new_record_id()
        bodies = [examples.questionnaire_response(q)]
        envelopes = [device.seal("questionnaire_response", bodies[0], bodies[0]["record_id"]).to_json()]
        device.client.call("POST", api.RECORDS, {"envelopes": envelopes})
    for n in range(60):  # refused identity look-ups and logins are audited too
        body = {"ef_my_number": "AA==", "ef_basic_info": "AA==", "ef_signature": "AA=="}
        device.client.call("POST", api.IDENTITY, {"envelope": device.seal("identity", body).to_json()})
        if n % 10 == 0:
            with pytest.raises(Exception, match="wrong staff ID or password"):
                device.client.call("POST", api.STAFF_LOGIN, {"staff_id": f"U{n}", "password": "x" * 12})
    host.service.clock.now += timedelta(minutes=1)  # type: ignore[attr-defined]
    host.stop()
    kept = tmp_path_factory.mktemp("used-host") / "host"
    shutil.copytree(host.service.data_dir, kept)
    return kept


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (_delete_last, "1 line(s) deleted from the end"),
        (_delete_last_50, "50 line(s) deleted from the end"),
        (_delete_all, "deleted from the end"),
        (_rewrite_chain, "not written by the host"),
        (_move_anchor, "the start anchor was moved"),
        (_append_forged, "not written by the host"),
    ],
    ids=["last-line", "last-50", "every-line", "recomputed-chain", "moved-anchor", "forged-line"],
)
def test_each_kind_of_tampering_is_detected_by_audit_verify(
    used_host: Path, tmp_path: Path, tamper: Callable[[sqlite3.Connection], None], says: str
) -> None:
    intact = _verify(used_host)
    assert intact.returncode == 0, intact.stderr
    assert "audit log intact" in intact.stdout
    assert "checked key" in intact.stdout and "checked anchor" in intact.stdout and "checked start" in intact.stdout
    lines = sqlite3.connect(used_host / "host.db").execute("SELECT count(*) FROM audit").fetchone()[0]
    assert lines > 60

    copy = tmp_path / "tampered"
    shutil.copytree(used_host, copy)
    db = sqlite3.connect(copy / "host.db", isolation_level=None)
    tamper(db)
    db.close()
    broken = _verify(copy)
    assert broken.returncode == 1
    assert says in broken.stderr, broken.stderr
    assert "NOT intact" in broken.stdout


def test_a_forged_anchor_file_line_is_detected(used_host: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tampered"
    shutil.copytree(used_host, copy)
    db = sqlite3.connect(copy / "host.db", isolation_level=None)
    _delete_last(db)
    last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    db.close()
    with (copy / audit.ANCHOR_FILE).open("a") as anchor:  # try to pull the head back without the key
        anchor.write(json.dumps({"seq": last[0], "hash": last[1], "mac": "0" * 64}) + "\n")
    broken = _verify(copy)
    assert broken.returncode == 1
    assert "anchor file line" in broken.stderr and "deleted from the end" in broken.stderr
