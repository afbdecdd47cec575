"""Backup and restore of the host's database, on either backend, while the host runs.

- SQLite: the online backup API (`sqlite3.Connection.backup`) copies a consistent snapshot page by page
  without stopping writers; restore copies a backup file back the same way.
- PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean`. Both run with
  `yoshin.municipality=*` and `--enable-row-security`, so the host's own role (never a superuser) dumps
  and restores every municipality's rows through the row-level security policies.

The keys (`<data dir>/keys`) and the CA (`<data dir>/pki`) are files: back them up with the data
directory's other files, separately from the database (the backup alone cannot open the My Numbers).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from yoshin.host.store import ALL_MUNICIPALITIES, Database

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class BackupError(Exception):
    pass


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    if (PG_BIN / name).exists():
        return str(PG_BIN / name)
    raise BackupError(f"{name} is not installed (Debian package postgresql-client)")


def _pg_env() -> dict[str, str]:
    return {**os.environ, "PGOPTIONS": f"-c yoshin.municipality={ALL_MUNICIPALITIES}"}


def backup(db: Database, target: Path) -> Path:
    """Write a consistent copy of the whole database to `target` (a file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if db.postgresql:
        command = [_tool("pg_dump"), "--format=custom", "--enable-row-security", f"--file={target}", db.url]
        _run(command)
        return target
    assert db.path is not None
    source = sqlite3.connect(db.path)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)  # online: a consistent snapshot while the host keeps writing
    finally:
        destination.close()
        source.close()
    return target


def restore(db: Database, source: Path) -> None:
    """Replace the database's contents with the backup in `source` (stop the host's workers first)."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    db.close()
    if db.postgresql:
        command = [
            _tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--enable-row-security",
            "--single-transaction", "--exit-on-error", f"--dbname={db.url}", str(source),
        ]  # fmt: skip
        _run(command)
        return
    assert db.path is not None
    backup_file = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    destination = sqlite3.connect(db.path)
    try:
        try:
            intact = backup_file.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError:
            intact = False
        if not intact:
            raise BackupError(f"{source} is not an intact SQLite database backup")
        backup_file.backup(destination)
    finally:
        destination.close()
        backup_file.close()


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=_pg_env(), timeout=3600)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")
