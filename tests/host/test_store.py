"""The store itself: versioned migrations on both backends, an old database adopted, and PostgreSQL's
row-level security as a second wall that holds even when the SQL asks for another municipality's rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from yoshin.devtools.pg_cluster import PostgresCluster
from yoshin.host import store

A, B = "141305", "141003"


def test_both_backends_have_the_same_numbered_migrations() -> None:
    sqlite, postgresql = store.migrations("sqlite"), store.migrations("postgresql")
    assert [(v, n) for v, n, _ in sqlite] == [(v, n) for v, n, _ in postgresql]
    versions = [v for v, _, _ in sqlite]
    # unique and increasing; a gap is a number reserved for a branch not merged yet
    assert versions == sorted(set(versions)) and versions[0] == 1


def test_migrations_run_once_and_record_their_version(tmp_path: Path, database_url: str | None) -> None:
    url = database_url or str(tmp_path / "host.db")
    first = store.open_database(url)
    latest = store.migrations(first.backend)[-1][0]
    assert store.schema_version(first) == latest
    assert first.migrate() == []  # a second run (another worker starting) applies nothing
    rows = first.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [row[0] for row in rows] == [v for v, _, _ in store.migrations(first.backend)]
    first.close()


def test_a_database_made_before_versioned_migrations_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(store.migrations("sqlite")[0][2])  # what the host's CREATE ... IF NOT EXISTS made
    old.execute(
        "INSERT INTO provisional_subjects VALUES ('P-1', ?, 'S1', 'resolved', '2026-10-15T00:00:00+00:00')", [A]
    )
    old.commit()
    old.close()
    db = store.open_database(path)
    assert store.schema_version(db) == store.migrations("sqlite")[-1][0]
    assert db.execute("SELECT provisional_id, municipality_code FROM provisional_subjects").fetchall() == [("P-1", A)]
    with db.transaction() as tx:  # the same provisional id in another municipality is now a different row
        tx.execute("INSERT INTO provisional_subjects VALUES ('P-1', ?, NULL, 'not_found', 'x')", [B])
    assert db.execute("SELECT count(*) FROM provisional_subjects").fetchone() == (2,)


@pytest.fixture
def two_municipalities(pg_cluster: PostgresCluster) -> store.Database:
    db = store.open_database(pg_cluster.create_database("rls_" + A))
    for code in (A, B):
        with db.transaction(code) as tx:
            tx.insert("staff", {"staff_id": f"S{code}", "municipality_code": code, "name": "n", "role": "nurse",
                                "password_hash": b"h", "salt": b"s", "created_at": "x"})  # fmt: skip
    yield db
    db.close()
    pg_cluster.drop_database("rls_" + A)


def test_a_session_of_one_municipality_cannot_see_or_change_anothers_rows(two_municipalities) -> None:
    db = two_municipalities
    with db.transaction(A) as tx:  # the SQL asks for B's rows outright
        assert tx.execute("SELECT staff_id FROM staff WHERE municipality_code = ?", [B]).fetchall() == []
        assert tx.execute("SELECT staff_id FROM staff").fetchall() == [(f"S{A}",)]
        assert tx.execute("UPDATE staff SET name = 'x' WHERE municipality_code = ?", [B]).rowcount == 0
        assert tx.execute("DELETE FROM staff WHERE municipality_code = ?", [B]).rowcount == 0
        assert tx.execute("UPDATE staff SET municipality_code = ? WHERE staff_id = ?", [A, f"S{B}"]).rowcount == 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.transaction(A) as tx:
        tx.insert("staff", {"staff_id": "intruder", "municipality_code": B, "name": "n", "role": "nurse",
                            "password_hash": b"h", "salt": b"s", "created_at": "x"})  # fmt: skip
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.transaction(A) as tx:  # nor move a row out
        tx.execute("UPDATE staff SET municipality_code = ? WHERE staff_id = ?", [B, f"S{A}"])
    assert sorted(db.execute("SELECT staff_id, name FROM staff").fetchall()) == [(f"S{B}", "n"), (f"S{A}", "n")]


def test_a_session_bound_to_no_municipality_sees_nothing(two_municipalities) -> None:
    db = two_municipalities
    with psycopg.connect(db.url, autocommit=True) as raw:  # no yoshin.municipality set at all
        assert raw.execute("SELECT count(*) FROM staff").fetchone() == (0,)


def test_the_host_refuses_a_role_that_bypasses_row_level_security(pg_cluster: PostgresCluster) -> None:
    superuser = f"postgresql://{pg_cluster.user}@127.0.0.1:{pg_cluster.port}/postgres"
    with pytest.raises(RuntimeError, match="superuser or BYPASSRLS"):
        store.Database(superuser).execute("SELECT 1")
