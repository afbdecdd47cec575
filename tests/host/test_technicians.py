"""Control 27 through the served host (mutual TLS, both backends): the technician roster, technician login,
and enrollment and decommissioning refused without a valid technician proof, audited with the technician."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yoshin.device import provisioning
from yoshin.device.hostclient import HostAddress, HostRefused, enroll, fetch_ca, technician_login
from yoshin.device.keystore import FileKeyStore
from yoshin.domain.clock import JST
from yoshin.host import attest, audit, devices, staff, store, technicians
from yoshin.host.server import HostServer

HOST_CLI = str(Path(sys.executable).parent / "yoshin-host")
PASSWORD = "nurse-password-1"
CLOCK_NOW = datetime(2026, 12, 1, 10, 0, tzinfo=JST)


def _address(host: HostServer) -> HostAddress:
    return HostAddress("127.0.0.1", host.port, host.enroll_port)


def _audit(host: HostServer, action: str) -> list[tuple[str, str, str]]:
    return [
        (row[0], row[1], row[2])
        for row in host.service.db.execute(
            "SELECT actor, target, outcome FROM audit WHERE action = ? ORDER BY seq", [action]
        )
    ]


def _other_proofs(host: HostServer, technician_proof) -> dict[str, str]:
    """Proofs the host must refuse: none, a nurse's (host-signed, as a staff login gives, but the wrong
    role), another municipality's technician's, and one this host never signed."""
    service = host.service
    now = service.clock()
    staff.add(service.db, "N7001", "看護 七子", "nurse", "141305", PASSWORD, now)
    nurse, _ = attest.issue(service.keys.attestation, "N7001", "nurse", "141305", "141305-1410000001-X", now)
    forged, _ = attest.issue(Ed25519PrivateKey.generate(), "T9141305", "technician", "141305", "enrollment", now)
    return {
        "none": "",
        "wrong role": nurse,
        "another municipality": technician_proof(service, "131016"),
        "not this host's": forged,
    }


def test_enrollment_needs_a_valid_technician_proof_and_the_audit_names_the_technician(
    host: HostServer, tmp_path: Path, technician_proof
) -> None:
    service = host.service
    token = devices.issue_token(service.db, "141305", "1410000001", "admin01", service.clock())
    ca = fetch_ca(_address(host), service.pki.ca_fingerprint)
    refused = _other_proofs(host, technician_proof)
    expected = {
        "none": ("技術担当者のログインが必要です", "a technician login is required"),
        "wrong role": ("技術担当者としてのログインが必要です", "not a technician's"),
        "another municipality": ("この自治体の技術担当者ではありません", "another municipality"),
        "not this host's": ("技術担当者の証明が無効です", "not issued by this host"),
    }
    for case, proof in refused.items():
        with pytest.raises(HostRefused) as refusal:
            enroll(_address(host), ca, FileKeyStore(tmp_path / case), token, "141305", "1410000001", "E1", proof)
        assert refusal.value.status == 403, case
        assert expected[case][0] in refusal.value.message.ja and expected[case][1] in refusal.value.message.en
    assert devices.get(service.db, "141305-1410000001-E1") is None
    refusals = _audit(host, "device.enroll")
    assert len(refusals) == 4 and all(outcome.startswith("refused: ") for _, _, outcome in refusals)
    # the same token is still unused: a valid technician enrolls with it, and is named in the audit
    answer = enroll(
        _address(host), ca, FileKeyStore(tmp_path / "ok"), token, "141305", "1410000001", "E1",
        technician_proof(service),
    )  # fmt: skip
    assert answer["device_id"] == "141305-1410000001-E1"
    actor, target, outcome = _audit(host, "device.enroll")[-1]
    assert (actor, target) == ("T9141305", "141305-1410000001-E1")
    assert outcome == "ok, technician T9141305 (保守株式会社, the clinic)"


def test_technician_login_checks_the_password_and_the_roster(host: HostServer, technician_proof) -> None:
    service = host.service
    ca = fetch_ca(_address(host), service.pki.ca_fingerprint)
    technician_proof(service)  # T9141305 on the roster
    staff.add(service.db, "N7001", "看護 七子", "nurse", "141305", PASSWORD, service.clock())
    answer = technician_login(_address(host), ca, "T9141305", "technician-password-1", "141305")
    assert answer["staff_id"] == "T9141305" and answer["attestation"].startswith("yat1.")
    assert attest.verify(service.keys.attestation.public_key(), answer["attestation"]).role == "technician"
    with pytest.raises(HostRefused) as nurse:
        technician_login(_address(host), ca, "N7001", PASSWORD, "141305")  # right password, not a technician
    assert nurse.value.status == 401 and "名簿" in nurse.value.message.ja
    with pytest.raises(HostRefused) as wrong:
        technician_login(_address(host), ca, "T9141305", "not-the-password", "141305")
    assert "パスワード" in wrong.value.message.ja and "password" in wrong.value.message.en
    with pytest.raises(HostRefused):  # the right technician, the wrong municipality
        technician_login(_address(host), ca, "T9141305", "technician-password-1", "131016")
    logins = [(actor, outcome) for actor, _, outcome in _audit(host, "technician.login")]
    assert logins.count(("T9141305", "ok")) == 2  # the fixture's and the one over HTTPS
    assert ("N7001", "refused: not an active technician on the roster") in logins
    assert ("N7001", "ok") not in logins
    passwords = [(actor, outcome) for actor, _, outcome in _audit(host, "technician.password")]
    assert ("T9141305", "refused: password") in passwords
    assert ("T9141305", "refused: unknown") in passwords  # in 131016 the ID does not exist


def test_password_spraying_across_technician_ids_from_one_address_is_rate_limited_and_audited(
    host: HostServer, technician_proof
) -> None:
    """One address trying a password across many IDs: each ID's own bucket and lockout never fill, so the
    listener counts refused logins per address (10, then 429 whatever is sent; a success never counts)."""
    from datetime import timedelta

    service = host.service
    ca = fetch_ca(_address(host), service.pki.ca_fingerprint)
    technician_proof(service)  # T9141305 on the roster, with technician-password-1

    def attempt(staff_id: str, password: str) -> int:
        try:
            technician_login(_address(host), ca, staff_id, password, "141305")
        except HostRefused as refused:
            return refused.status
        return 200

    assert attempt("T9141305", "technician-password-1") == 200  # a success takes nothing from the bucket
    statuses = [attempt(f"T{n:07d}", "Password123") for n in range(12)]
    assert statuses == [401] * 10 + [429, 429]
    assert attempt("T9141305", "technician-password-1") == 429  # this address waits, whatever it sends
    audited = [outcome for _, _, outcome in _audit(host, "ratelimit.technician_login")]
    assert audited == ["refused: more than 10 refused attempts"]
    service.clock.now += timedelta(seconds=60)  # type: ignore[attr-defined]  # the injected clock refills one
    assert attempt("T9141305", "technician-password-1") == 200


def test_decommission_needs_a_valid_technician_proof_and_the_audit_names_the_technician(
    host: HostServer, make_device, technician_proof
) -> None:
    service = host.service
    device = make_device()  # enrolled by T9141305
    appliance = device.appliance
    refused = _other_proofs(host, technician_proof)
    refused["deactivated since"] = technician_proof(service)  # valid when issued; the member leaves after
    staff.deactivate(service.db, "T9141305", service.clock())
    for case, proof in refused.items():
        with pytest.raises(provisioning.ProvisioningError) as refusal:
            provisioning.decommission(appliance, proof)
        assert refusal.value.message.ja and refusal.value.message.en, case
        assert appliance.keystore.is_enrolled(), case  # nothing erased
        assert devices.get(service.db, device.device_id).status == "active", case
    refusals = _audit(host, "device.decommission")
    assert len(refusals) == 5 and all(outcome.startswith("refused: ") for _, _, outcome in refusals)
    assert "not an active technician" in refusals[-1][2]
    # another technician of 141305, on the roster and active, decommissions it
    technicians.add(
        service.db, "T0200", "技術 二百", "141305", "technician-password-2", "別保守", "区内", service.clock()
    )
    proof, _, _ = technicians.login(
        service.db, service.keys.attestation, "T0200", "technician-password-2", "141305", service.clock()
    )
    certificate = provisioning.decommission(appliance, proof)
    assert certificate["recorded_at_host"] and not appliance.keystore.is_enrolled()
    assert devices.get(service.db, device.device_id).status == "decommissioned"
    actor, target, outcome = _audit(host, "device.decommissioned")[-1]
    assert (actor, target) == ("T0200", device.device_id) and "technician T0200 (別保守, 区内)" in outcome
    detail = service.db.execute("SELECT detail FROM erasures WHERE device_id = ?", [device.device_id]).fetchone()[0]
    assert json.loads(detail)["technician"] == "T0200"


def test_the_roster_through_yoshin_host_needs_two_administrators(host: HostServer) -> None:
    data = str(host.service.data_dir)

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [HOST_CLI, *args, "--data-dir", data], input=stdin, capture_output=True, text=True, timeout=120
        )

    for admin in ("A0001", "A0002"):
        first = run("staff", "add", admin, "--name", f"管理 {admin}", "--role", "municipal_admin",
                    "--municipality", "141305", "--first-admin", stdin="admin-password-1\n")  # fmt: skip
        assert first.returncode == 0, first.stderr
    add = ["technician", "add", "T0300", "--name", "技術 三百", "--municipality", "141305", "--company", "保守株式会社",
           "--location", "中区の診療所"]  # fmt: skip
    alone = run(
        *add, "--by", "A0001", "--approved-by", "A0001", stdin="tech-password-1\nadmin-password-1\nadmin-password-1\n"
    )
    assert alone.returncode == 1 and "別の管理者" in alone.stderr
    as_staff = run("staff", "add", "T0301", "--name", "x", "--role", "technician", "--municipality", "141305",
                   "--by", "A0001", "--approved-by", "A0002", stdin="tech-password-1\n")  # fmt: skip
    assert as_staff.returncode == 1 and "technician add" in as_staff.stderr
    ok = run(*add, "--by", "A0001", "--approved-by", "A0002",
             stdin="tech-password-1\nadmin-password-1\nadmin-password-1\n")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    roster = json.loads(run("technician", "list", "--municipality", "141305").stdout)
    assert [(row["staff_id"], row["company"], row["work_location"], row["active"]) for row in roster] == [
        ("T0300", "保守株式会社", "中区の診療所", 1)
    ]
    assert roster[0]["approved_by"] == "by A0001, approved by A0002"
    assert _audit(host, "technician.add")[-1][:2] == ("A0001", "T0300")


def test_a_technician_is_added_whole_or_not_at_all(tmp_path: Path) -> None:
    """The staff row and the roster row are one unit of work: when the roster row cannot be written, no
    technician ID is left behind without it."""
    audit.create_key(tmp_path)
    db = store.open_database(tmp_path / "host.db")
    try:
        db.execute(
            "CREATE TRIGGER roster_full BEFORE INSERT ON technicians BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
        with pytest.raises(sqlite3.DatabaseError, match="disk full"):
            technicians.add(db, "T0042", "技術 四二", "141305", PASSWORD, "保守株式会社", "本庁舎", CLOCK_NOW)
        assert db.execute("SELECT count(*) FROM staff WHERE staff_id = 'T0042'").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM audit").fetchone() == (0,)
    finally:
        db.close()
