"""Registry import, audit chain, staff accounts, retention and exports: the host's admin side."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from yoshin.devtools.personas import all_personas, persona, registry_csv
from yoshin.domain import examples
from yoshin.host import audit, exports, retention, staff
from yoshin.host.server import HostServer, HostService
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id

NOW = datetime(2026, 10, 15, 1, 0, tzinfo=UTC)
NUMBERS = [who.my_number for who in all_personas().values()]


@pytest.fixture
def service(tmp_path: Path, open_service) -> Iterator[HostService]:
    service = open_service(tmp_path / "host", lambda: NOW)
    yield service
    service.db.close()


def test_import_reports_bad_lines_loads_good_ones_and_reruns_idempotently(service: HostService) -> None:
    text = registry_csv([persona("adult"), persona("elderly")])
    bad = text.splitlines()
    bad.append(bad[1].replace("402135790860", "402135790861"))  # check digit
    bad.append(bad[2].replace("1951-09-03", "1951-02-30"))  # no such date
    report = service.registry.import_csv("\n".join(bad) + "\n")
    assert report.loaded == 2
    assert [line for line, _ in report.errors] == [4, 5]
    assert "check digit" in report.errors[0][1] and "402135790861" not in report.errors[0][1]
    again = service.registry.import_csv(text)
    assert again.loaded == 2 and not again.errors
    assert service.db.execute("SELECT count(*) FROM residents").fetchone()[0] == 2
    assert service.db.execute("SELECT count(*) FROM history").fetchone()[0] == 1


def test_the_my_number_is_stored_only_encrypted(service: HostService, storage_files) -> None:
    service.registry.import_csv(registry_csv(list(all_personas().values())))
    for path in storage_files(service):
        data = path.read_bytes()
        for number in NUMBERS:
            assert number.encode() not in data, path
    resident = service.registry.find("141305", persona("adult").my_number)
    assert resident is not None and resident.name == "川崎 花子"
    assert "402135790860" not in repr(resident)
    assert service.registry.find("141003", persona("adult").my_number) is None  # per municipality


@pytest.fixture
def tamper(service: HostService, request: pytest.FixtureRequest) -> Callable[..., None]:
    """Change audit lines as someone with direct database access would. On PostgreSQL a municipality's
    session cannot (the audit table has no UPDATE policy, DELETE is the host's retention only), so the
    tampering is done as the cluster's superuser."""

    def run(sql: str, params: list[object] | None = None) -> None:
        if not service.db.postgresql:
            service.db.execute(sql, params or [])
            return
        assert service.db.execute(sql, params or [], "141305").rowcount == 0  # refused by the policies
        cluster = request.getfixturevalue("pg_cluster")
        with cluster.admin(service.db.url.rsplit("/", 1)[1]) as admin:
            admin.execute(sql.replace("?", "%s"), params or None)

    return run


def _append(service: HostService, *line: object) -> None:
    with service.db.transaction() as tx:
        audit.append(tx, *line)  # type: ignore[arg-type]


def test_audit_verify_detects_edit_delete_and_reorder(service: HostService, tamper) -> None:
    for n in range(5):
        _append(service, NOW + timedelta(seconds=n), "141305", f"staff{n}", "kiosk", "record.view", f"r{n}", "ok")
    assert audit.verify(service.db).intact
    tamper("UPDATE audit SET target = 'someone-else' WHERE seq = 2")
    assert [p.seq for p in audit.verify(service.db).problems] == [2]


def test_audit_verify_detects_a_deleted_line(service: HostService, tamper) -> None:
    for n in range(5):
        _append(service, NOW, "141305", "s", "k", "a", f"r{n}", "ok")
    tamper("DELETE FROM audit WHERE seq = 3")
    problems = audit.verify(service.db).problems
    assert problems and problems[0].seq == 4


def test_audit_verify_detects_reordering(service: HostService, tamper) -> None:
    for n in range(4):
        _append(service, NOW, "141305", "s", "k", "a", f"r{n}", "ok")
    columns = "at, municipality_code, actor, terminal, action, target, outcome, prev_hash, hash"
    second, third = (
        service.db.execute(f"SELECT {columns} FROM audit WHERE seq = ?", [seq]).fetchone() for seq in (2, 3)
    )
    assignments = ", ".join(f"{name} = ?" for name in columns.split(", "))
    tamper(f"UPDATE audit SET {assignments} WHERE seq = 2", list(third))  # lines 2 and 3 swap places
    tamper(f"UPDATE audit SET {assignments} WHERE seq = 3", list(second))
    assert {p.seq for p in audit.verify(service.db).problems} >= {2, 3}


def test_audit_cli_exit_code(service: HostService, tmp_path: Path, tamper) -> None:
    _append(service, NOW, "141305", "s", "k", "a", "r", "ok")
    script = str(Path(sys.executable).parent / "yoshin-host")
    ok = subprocess.run(
        [script, "audit", "verify", "--data-dir", str(tmp_path / "host")], capture_output=True, text=True
    )
    assert ok.returncode == 0 and "intact" in ok.stdout
    tamper("UPDATE audit SET actor = 'x'")
    broken = subprocess.run(
        [script, "audit", "verify", "--data-dir", str(tmp_path / "host")], capture_output=True, text=True
    )
    assert broken.returncode == 1 and "edited" in broken.stderr


def test_staff_lockout_single_session_deactivation_and_separation(service: HostService) -> None:
    db = service.db
    staff.add(db, "D0001", "医師 一郎", "doctor", "141305", "correct horse battery", NOW)
    with pytest.raises(staff.StaffError):
        staff.add(db, "D0001", "別人", "nurse", "141305", "another password!", NOW)  # no shared or reused IDs
    session = staff.login(db, "D0001", "correct horse battery", "dev1", "141305", NOW)
    assert session.role == "doctor"
    with pytest.raises(staff.StaffError, match="already logged in"):
        staff.login(db, "D0001", "correct horse battery", "dev2", "141305", NOW)
    staff.logout(db, session.token, NOW)
    with pytest.raises(staff.StaffError, match="wrong staff ID or password"):
        staff.login(db, "D0001", "correct horse battery", "dev1", "141003", NOW)  # another municipality
    for _ in range(staff.MAX_FAILURES):
        with pytest.raises(staff.StaffError):
            staff.login(db, "D0001", "wrong", "dev1", "141305", NOW)
    with pytest.raises(staff.StaffError, match="locked"):
        staff.login(db, "D0001", "correct horse battery", "dev1", "141305", NOW)
    staff.deactivate(db, "D0001", NOW)
    rights = staff.rights_table(db, "141305")
    assert rights[0]["staff_id"] == "D0001" and rights[0]["active"] == 0
    assert staff.rights_table(db, "141003") == []
    stored = db.execute("SELECT password_hash FROM staff").fetchone()[0]
    assert b"correct horse" not in stored


def test_staff_login_over_the_api(host: HostServer, make_device) -> None:
    staff.add(host.service.db, "N0001", "看護 花子", "nurse", "141305", "long enough password", NOW)
    device = make_device()
    answer = device.client.call("POST", api.STAFF_LOGIN, {"staff_id": "N0001", "password": "long enough password"})
    assert answer["role"] == "nurse"
    with pytest.raises(Exception, match=r"logged in elsewhere|他の端末"):
        device.client.call("POST", api.STAFF_LOGIN, {"staff_id": "N0001", "password": "long enough password"})


def test_retention_keeps_five_years_and_writes_a_report(service: HostService, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        retention.RetentionPolicy(record_years=4)
    old, new = new_record_id(), new_record_id()
    for record_id, at in ((old, NOW - timedelta(days=365 * 6)), (new, NOW - timedelta(days=365 * 4))):
        row = {"record_id": record_id, "device_id": "d", "municipality_code": "141305", "subject_id": "S"}
        row |= {"kind": "questionnaire_response", "received_at": at.isoformat(), "created_at": at.isoformat()}
        with service.db.transaction() as tx:
            tx.insert("inbox", {**row, "body": "{}"})
    _append(service, NOW - timedelta(days=365 * 4), "141305", "s", "k", "old", "-", "ok")
    _append(service, NOW, "141305", "s", "k", "new", "-", "ok")
    report = retention.purge(service.db, retention.RetentionPolicy(), NOW, tmp_path / "reports")
    assert (report.records_deleted, report.audit_lines_deleted) == (1, 1)
    assert [r for (r,) in service.db.execute("SELECT record_id FROM inbox")] == [new]
    assert audit.verify(service.db).intact  # the anchor moved with the purge
    assert json.loads(next((tmp_path / "reports").glob("*.json")).read_text())["records_deleted"] == 1


def test_exports_never_carry_the_my_number(host: HostServer, make_device, prove) -> None:
    device = make_device()
    q = new_record_id()
    vaccination = prove(device, "vaccination_record", examples.vaccination_record(new_record_id(), q))
    bodies = [examples.questionnaire_response(q), vaccination]
    envelopes = [
        device.seal(kind, body, body["record_id"]).to_json()
        for kind, body in zip(["questionnaire_response", "vaccination_record"], bodies, strict=True)
    ]
    device.client.call("POST", api.RECORDS, {"envelopes": envelopes})
    service = host.service
    text = exports.export_csv(service.db, "141305", "admin01", NOW)
    bundle = exports.export_fhir(service.db, "141305", service.catalogue, "admin01", NOW)
    assert "FLU26A01" in text and len(bundle["entry"]) == 2
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"Immunization", "QuestionnaireResponse"}
    for number in NUMBERS:
        assert number not in text and number not in json.dumps(bundle)
    assert exports.export_csv(service.db, "141003", "admin01", NOW).count("\n") == 1  # header only


def test_a_registered_staff_card_is_a_required_second_factor(host: HostServer, make_device, test_pki) -> None:
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    service = host.service
    staff.add(service.db, "D0009", "医師 九郎", "doctor", "141305", "a long doctor password", NOW)
    key, certificate = test_pki.auth_credentials("staff-d0009")
    der = certificate.public_bytes(serialization.Encoding.DER)
    staff.register_card(service.db, "D0009", der, "admin01", NOW)
    device = make_device()
    password = {"staff_id": "D0009", "password": "a long doctor password"}
    with pytest.raises(Exception, match="registered card"):
        device.client.call("POST", api.STAFF_LOGIN, password)

    def card_login(signing_key) -> dict:
        challenge = device.client.call("POST", api.JPKI_CHALLENGE)
        signature = signing_key.sign(bytes.fromhex(challenge["challenge"]), padding.PKCS1v15(), hashes.SHA256())
        body = {**password, "challenge_id": challenge["challenge_id"], "certificate": base64.b64encode(der).decode()}
        return device.client.call("POST", api.STAFF_LOGIN, {**body, "signature": base64.b64encode(signature).decode()})

    other_key, _ = test_pki.auth_credentials("someone-else")
    with pytest.raises(Exception, match="registered card"):
        card_login(other_key)  # the right certificate, signed by another key
    assert card_login(key)["role"] == "doctor"
