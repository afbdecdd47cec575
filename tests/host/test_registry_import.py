"""The registry import at scale (issue 14): staged by worker processes, merged in one transaction, on both
backends. Small extracts with small chunks drive the same path a 1.5-million-line extract takes."""

from __future__ import annotations

import hmac
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from yoshin.domain.codes import my_number_check_digit
from yoshin.host import registry_import
from yoshin.host.keys import municipality_key
from yoshin.host.registry import NumberKeys
from yoshin.host.registry_import import ImportRefused
from yoshin.host.server import HostService

NOW = datetime(2026, 10, 15, 1, 0, tzinfo=UTC)
HEADER = "my_number,atena_number,kana,name,birth_date,sex,address,municipality_code,history,subject_id\n"


def number(n: int) -> str:
    body = f"{20_000_000_000 + n:011d}"
    return body + str(my_number_check_digit(body))


def line(n: int, name: str | None = None, history: str = "", code: str = "141305", subject: str = "") -> str:
    return (
        f"{number(n)},{n:010d},テスト タロウ,{name or f'試験 太郎{n}'},1950-01-0{1 + n % 9},male,"
        f"川崎市中原区{n}番地,{code},{history},{subject}\n"
    )


@pytest.fixture
def service(tmp_path: Path, open_service) -> Iterator[HostService]:
    service = open_service(tmp_path / "host", lambda: NOW)
    yield service
    service.db.close()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 3 lines: an extract of a dozen lines goes through the worker processes."""
    monkeypatch.setattr(registry_import, "CHUNK", 3)


def names(service: HostService, code: str = "141305") -> dict[str, str]:
    rows, _ = service.db.query(
        "SELECT atena_number, name FROM residents WHERE municipality_code = ? ORDER BY atena_number", [code], code
    )
    return {str(atena): str(name) for atena, name in rows}


def leftovers(service: HostService) -> list[str]:
    """What an import's staging left behind: tables (PostgreSQL) or scratch directories (SQLite)."""
    if service.db.postgresql:
        rows = service.db.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'registry_import_%'")
        return [str(row[0]) for row in rows]
    return [path.name for path in service.data_dir.glob(".registry_import_*")]


@pytest.mark.usefixtures("small_chunks")
def test_a_resident_listed_twice_keeps_the_later_line_within_and_across_chunks(service: HostService) -> None:
    text = HEADER + "".join(line(n) for n in range(10))
    text += line(1, name="後 一郎")  # line 12: a later chunk than resident 1's first line (line 3)
    text += line(4, name="前 四郎") + line(4, name="後 四郎")  # lines 13 and 14: the same chunk
    report = service.registry.import_csv(text, workers=2)
    assert report.loaded == 13 and not report.errors
    stored = names(service)
    assert len(stored) == 10
    assert stored[f"{1:010d}"] == "後 一郎" and stored[f"{4:010d}"] == "後 四郎"
    assert stored[f"{5:010d}"] == "試験 太郎5"
    assert leftovers(service) == []


@pytest.mark.usefixtures("small_chunks")
def test_bad_lines_are_reported_by_number_and_the_good_ones_loaded_through_the_workers(service: HostService) -> None:
    lines = [line(n) for n in range(8)]
    lines[2] = lines[2].replace(number(2), number(2)[:-1] + str((int(number(2)[-1]) + 1) % 10))  # check digit
    lines[6] = lines[6].replace("1950-01-0", "1950-02-3")  # 1950-02-3x: no such date
    report = service.registry.import_csv(HEADER + "".join(lines), workers=2)
    assert report.loaded == 6
    assert [where for where, _ in report.errors] == [4, 8]
    assert "check digit" in report.errors[0][1] and number(2)[:-1] not in report.errors[0][1]
    assert "birth_date" in report.errors[1][1]
    assert len(names(service)) == 6 and f"{2:010d}" not in names(service)


@pytest.mark.usefixtures("small_chunks")
def test_history_joins_its_resident_across_chunks_and_reruns_add_nothing(service: HostService) -> None:
    text = HEADER + "".join(line(n, history=f"flu_elderly:1:2025-10-{10 + n}") for n in range(9))
    text += line(0, history="flu_elderly:1:2025-10-10;pcv_elderly:1:2024-11-01")  # again, with one more
    for _ in range(2):  # the second run: an update of every resident, no history twice
        assert service.registry.import_csv(text, workers=2).loaded == 10
        rows, _ = service.db.query(
            "SELECT r.atena_number, h.vaccine_code, h.date FROM history h JOIN residents r ON r.id = h.resident_id "
            "ORDER BY r.atena_number, h.date"
        )
        assert len(rows) == 10
        assert [tuple(row) for row in rows[:2]] == [
            (f"{0:010d}", "pcv_elderly", "2024-11-01"),
            (f"{0:010d}", "flu_elderly", "2025-10-10"),
        ]
        assert all(str(when) == f"2025-10-{10 + int(str(atena))}" for atena, _, when in rows[2:])
    resident = service.registry.find("141305", number(3))
    assert resident is not None
    assert [(entry.vaccine_code, entry.date.isoformat()) for entry in service.registry.history(resident.id)] == [
        ("flu_elderly", "2025-10-13")
    ]


@pytest.mark.parametrize("chunk", [3, 10_000], ids=["workers", "in_process"])
def test_an_import_that_fails_leaves_the_registry_as_it_was(
    service: HostService, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    service.registry.import_csv(HEADER + "".join(line(n) for n in range(4)))
    before = names(service)
    monkeypatch.setattr(registry_import, "CHUNK", chunk)
    # resident 1 updated and two new ones, but the new ones share a subject id: the merge breaks a constraint
    text = HEADER + line(1, name="変更 一郎") + line(20, subject="S0DUPLICATE") + line(21, subject="S0DUPLICATE")
    text += "".join(line(n) for n in range(30, 36))
    with pytest.raises(ImportRefused) as refused:
        service.registry.import_csv(text, workers=2)
    assert "nothing was loaded" in str(refused.value) and "何も登録していません" in str(refused.value)
    assert names(service) == before  # not the update, not one new resident
    assert leftovers(service) == []
    # the refused merge's own audit line went with it; the refusal is audited on its own
    assert imports_audited(service) == [
        ("141305", "cli", "ok, 4 residents loaded"),
        ("*", "cli", "refused: " + refused.value.message.en),
    ]


def imports_audited(service: HostService) -> list[tuple[str, str, str]]:
    rows = service.db.execute("SELECT municipality_code, actor, outcome FROM audit WHERE action = 'registry.import' "
                              "ORDER BY seq")  # fmt: skip
    return [(str(code), str(actor), str(outcome)) for code, actor, outcome in rows]


@pytest.mark.usefixtures("small_chunks")
def test_an_import_is_audited_per_municipality_in_its_own_transaction(service: HostService, tmp_path: Path) -> None:
    """Loading residents' personal data is an administrative act: each municipality of the extract gets one
    line naming who loaded it and how many residents (each listed once), and the chain still verifies."""
    from yoshin.host import audit

    text = HEADER + "".join(line(n) for n in range(5)) + line(2, name="後 二郎")
    text += "".join(line(n, code="131016") for n in range(10, 13))
    extract = tmp_path / "extract.csv"
    extract.write_text(text, encoding="utf-8")
    script = str(Path(sys.executable).parent / "yoshin-host")
    result = subprocess.run(
        [script, "residents", "import", "--by", "A0001", "--data-dir", str(service.data_dir), str(extract)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert imports_audited(service) == [
        ("131016", "A0001", "ok, 3 residents loaded"),
        ("141305", "A0001", "ok, 5 residents loaded"),
    ]
    (terminal,) = {
        str(row[0]) for row in service.db.execute("SELECT terminal FROM audit WHERE action = 'registry.import'")
    }
    assert terminal.startswith("cli:")  # the operating-system user who ran it
    assert audit.verify(service.db).intact


def test_the_cli_says_why_an_import_was_refused(service: HostService, tmp_path: Path) -> None:
    extract = tmp_path / "extract.csv"
    extract.write_text(HEADER + line(1, subject="S0SAME") + line(2, subject="S0SAME"), encoding="utf-8")
    script = str(Path(sys.executable).parent / "yoshin-host")
    result = subprocess.run(
        [script, "residents", "import", "--data-dir", str(service.data_dir), str(extract)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "nothing was loaded" in result.stderr and "Traceback" not in result.stderr
    assert names(service) == {}


@pytest.mark.usefixtures("small_chunks")
def test_a_first_import_rebuilds_the_constraints_and_later_ones_upsert(service: HostService) -> None:
    def unique_indexes() -> set[str]:
        if service.db.postgresql:
            rows = service.db.execute(
                "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid IN ('residents'::regclass, 'history'::regclass) AND contype IN ('u', 'p', 'f')"
            )
        else:
            rows = service.db.execute(
                "SELECT name || ' ' || \"unique\" FROM pragma_index_list('residents') "
                "UNION ALL SELECT name || ' ' || \"unique\" FROM pragma_index_list('history')"
            )
        return {str(row[0]) for row in rows}

    made = unique_indexes()
    assert len(made) >= 3
    text = HEADER + "".join(line(n) for n in range(7))
    assert service.registry.import_csv(text, workers=2).loaded == 7  # into the empty registry
    assert unique_indexes() == made
    again = HEADER + line(2, name="更新 二郎") + "".join(line(n) for n in range(7, 12)) + line(9, name="後 九郎")
    assert service.registry.import_csv(again, workers=2).loaded == 7  # an upsert into a registry with rows
    assert len(names(service)) == 12 and names(service)[f"{2:010d}"] == "更新 二郎"
    assert names(service)[f"{9:010d}"] == "後 九郎"
    # each resident counted once in the audit, whether first (counted in the registry) or later (in the staging)
    outcomes = [outcome for _, _, outcome in imports_audited(service)]
    assert outcomes == ["ok, 7 residents loaded", "ok, 6 residents loaded"]
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), service.db.transaction() as tx:  # it holds
        row = tx.one("SELECT subject_id FROM residents WHERE atena_number = ?", [f"{3:010d}"])
        tx.execute("UPDATE residents SET subject_id = ? WHERE atena_number = ?", [row[0], f"{4:010d}"])


@pytest.mark.usefixtures("small_chunks")
def test_each_municipality_sees_only_its_own_imported_residents(service: HostService) -> None:
    text = HEADER + "".join(line(n, history="flu_elderly:1:2025-10-10") for n in range(5))
    text += "".join(line(n, code="141003", history="flu_elderly:1:2025-10-11") for n in range(5, 9))
    assert service.registry.import_csv(text, workers=2).loaded == 9
    assert len(names(service, "141305")) == 5 and len(names(service, "141003")) == 4
    assert service.registry.find("141003", number(1)) is None
    if service.db.postgresql:  # row-level security: a session bound to one municipality sees only its rows
        rows, _ = service.db.query("SELECT count(*) FROM residents", [], "141003")
        history, _ = service.db.query("SELECT count(*), min(date) FROM history", [], "141003")
        assert rows[0][0] == 4 and tuple(history[0]) == (4, "2025-10-11")


def test_the_number_index_is_hmac_sha256_under_the_municipality_s_key() -> None:
    master = os.urandom(32)
    keys = NumberKeys(master)
    for code in ("141305", "141003"):
        key = municipality_key(master, code, "index")
        for n in range(50):
            assert keys.index(code, number(n)) == hmac.digest(key, number(n).encode(), "sha256")


def test_an_import_removes_what_a_killed_import_left_and_keeps_a_running_one_s(service: HostService) -> None:
    """Staging holds registry rows; one whose owner has gone (a killed import) is removed by the next
    import, one whose owner is alive (an import running now) is not."""
    if service.db.postgresql:
        with psycopg.connect(service.db.url) as gone:
            dead = int(gone.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
        for _ in range(1000):  # its backend ends just after the connection closes
            if not service.db.execute("SELECT 1 FROM pg_stat_activity WHERE pid = ?", [dead]):
                break
        alive = int(service.db.query("SELECT pg_backend_pid()")[0][0][0])
        for owner in (dead, alive):
            service.db.execute(f"CREATE UNLOGGED TABLE registry_import_{owner}_0123456789ab (line BIGINT)")
    else:
        finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
        dead, alive = int(finished.stdout), os.getpid()
        for owner in (dead, alive):
            scratch = service.data_dir / f".registry_import_{owner}_0123456789ab"
            scratch.mkdir()
            (scratch / "stage-1.db").write_bytes(b"rows")
    service.registry.import_csv(HEADER + line(1))
    assert leftovers(service) == [f"{'' if service.db.postgresql else '.'}registry_import_{alive}_0123456789ab"]


def schema(service: HostService) -> list[tuple[str, ...]]:
    """What the migrations made of the registry's tables: their SQL (SQLite), or their constraints, indexes,
    row-level-security policies and grants (PostgreSQL)."""
    if service.db.postgresql:
        rows = service.db.execute(
            "SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid IN ('residents'::regclass, 'history'::regclass) "
            "UNION ALL SELECT 'index', indexname, indexdef FROM pg_indexes WHERE tablename IN ('residents', 'history') "
            "UNION ALL SELECT 'policy', tablename || '.' || policyname, coalesce(qual, '') || ' / ' "
            "|| coalesce(with_check, '') FROM pg_policies WHERE tablename IN ('residents', 'history') "
            "UNION ALL SELECT 'table', relname, relrowsecurity::text || relforcerowsecurity::text "
            "|| coalesce(relacl::text, '') FROM pg_class WHERE oid IN ('residents'::regclass, 'history'::regclass) "
            "ORDER BY 1, 2"
        )
    else:
        rows = service.db.execute(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE tbl_name IN ('residents', 'history') "
            "ORDER BY name"
        )
    return sorted(tuple(str(value) for value in row) for row in rows)


@pytest.mark.usefixtures("small_chunks")
def test_a_first_import_and_a_refused_one_leave_the_schema_as_migrated(service: HostService) -> None:
    migrated = schema(service)
    assert any("my_number_index" in " ".join(row) for row in migrated)
    # into the empty registry, refused: two residents share a subject id (each listed once, the rest fine)
    refused = HEADER + "".join(line(n) for n in range(6)) + line(40, subject="S0SAME") + line(41, subject="S0SAME")
    with pytest.raises(ImportRefused):
        service.registry.import_csv(refused, workers=2)
    assert names(service) == {} and schema(service) == migrated and leftovers(service) == []
    # into the empty registry, with a resident listed twice (the later line kept) and history
    text = HEADER + "".join(line(n, history="flu_elderly:1:2025-10-10") for n in range(6)) + line(3, name="後 三郎")
    assert service.registry.import_csv(text, workers=2).loaded == 7
    assert schema(service) == migrated
    assert len(names(service)) == 6 and names(service)[f"{3:010d}"] == "後 三郎"
    rows, _ = service.db.query("SELECT count(*) FROM history")
    assert rows[0][0] == 6
