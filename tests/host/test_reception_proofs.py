"""Control 4 at the host: reception's identity check (本人確認, a proxy's 委任状) in a questionnaire record.

Through the served host over mutual TLS, on both backends: the clerk's attestation comes from the staff
endpoint, the records are sealed and posted as a device posts them. Where the municipality requires the
check (`yoshin-host policy reception-check required`), a questionnaire without it is refused, with the
reason, audited; a check that is there is always verified (signature, device, role, active, day).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yoshin.domain import examples
from yoshin.domain.clock import now_jst
from yoshin.host import attest, policy, staff
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id

PASSWORD = "a long enough password"
STAFF = {"C0001": ("受付 一子", "clerk"), "N0001": ("看護 花子", "nurse"), "T0001": ("技術 太郎", "technician")}


@pytest.fixture
def clinic(host: HostServer, make_device) -> Any:
    for staff_id, (name, role) in STAFF.items():
        staff.add(host.service.db, staff_id, name, role, "141305", PASSWORD, host.service.clock())
    return make_device()


def _attest(device: Any, staff_id: str) -> str:
    answer = device.client.call("POST", api.STAFF_ATTEST, {"staff_id": staff_id, "password": PASSWORD})
    return str(answer["attestation"])


def _stamp(host: HostServer, minutes: int) -> str:
    return now_jst(host.service.clock() + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def _questionnaire(host: HostServer, reception: dict[str, Any] | None, proof: str | None) -> dict[str, Any]:
    body = examples.questionnaire_response(
        new_record_id(), created_at=_stamp(host, 5), started_at=_stamp(host, 1), answered_at=_stamp(host, 4)
    )
    return {**body, "reception": reception, "proofs": {"identity_confirmed_by": proof} if proof else {}}


def _check(host: HostServer, staff_id: str = "C0001", presenter: str = "self", *documents: str) -> dict[str, Any]:
    return {
        "confirmed_by": staff_id,
        "confirmed_at": _stamp(host, 0),
        "presenter": presenter,
        "documents": list(documents or ("my_number_card",)),
    }


def _post(device: Any, body: dict[str, Any]) -> dict[str, Any]:
    envelope = device.seal("questionnaire_response", body, body["record_id"]).to_json()
    (result,) = device.client.call("POST", api.RECORDS, {"envelopes": [envelope]})["results"]
    return dict(result)


def _audit(host: HostServer, action: str) -> list[str]:
    rows = host.service.db.execute("SELECT outcome FROM audit WHERE action = ?", [action]).fetchall()
    return [outcome for (outcome,) in rows]


def test_where_required_a_questionnaire_needs_reception_s_check(host: HostServer, clinic: Any, admin_approval) -> None:
    assert clinic.client.call("GET", api.POLICY) == {"reception_check": "optional"}
    assert _post(clinic, _questionnaire(host, None, None))["status"] == "accepted"  # not required yet

    policy.set_reception_required(host.service.db, "141305", True, admin_approval(host.service), host.service.clock())
    assert clinic.client.call("GET", api.POLICY) == {"reception_check": "required"}
    assert "policy.reception_check" in {r[0] for r in host.service.db.execute("SELECT action FROM audit")}
    refused = _post(clinic, _questionnaire(host, None, None))
    assert refused["status"] == "rejected" and "reception: missing" in refused["reason"]
    assert any("reception: missing" in outcome for outcome in _audit(host, "record.intake"))  # audited

    clerk = _attest(clinic, "C0001")
    body = _questionnaire(host, _check(host, "C0001", "proxy", "drivers_license", "power_of_attorney"), clerk)
    assert _post(clinic, body)["status"] == "accepted"
    # who confirmed shows in the stored record and in the audit line of its intake
    (stored,) = host.service.db.execute("SELECT body FROM inbox WHERE record_id = ?", [body["record_id"]]).fetchone()
    assert '"confirmed_by": "C0001"' in stored
    assert any(
        "identity confirmed by C0001 (proxy, drivers_license+power_of_attorney)" in line
        for line in _audit(host, "record.questionnaire_response")
    )


def test_reception_s_proof_is_checked_like_every_staff_proof(host: HostServer, clinic: Any) -> None:
    clerk, nurse, technician = (_attest(clinic, staff_id) for staff_id in ("C0001", "N0001", "T0001"))
    forged, _ = attest.issue(
        Ed25519PrivateKey.generate(), "C0001", "clerk", "141305", clinic.device_id, host.service.clock()
    )
    early = _check(host)
    early["confirmed_at"] = _stamp(host, -60)  # before the clerk was verified at all
    cases = {
        "no proof": (_questionnaire(host, _check(host), None), "identity_confirmed_by: missing"),
        "another's proof": (_questionnaire(host, _check(host, "C0001"), nurse), "proves N0001"),
        "a technician": (_questionnaire(host, _check(host, "T0001"), technician), "this needs a clerk or nurse"),
        "a forged token": (_questionnaire(host, _check(host), forged), "not issued by this host"),
        "confirmed before the proof": (_questionnaire(host, early, clerk), "reception.confirmed_at"),
        "a proxy without 委任状": (
            _questionnaire(host, _check(host, "C0001", "proxy", "drivers_license"), clerk),
            "written mandate",
        ),
    }
    for what, (body, reason) in cases.items():
        result = _post(clinic, body)
        assert result["status"] == "rejected", what
        assert reason in result["reason"], (what, result["reason"])
    assert _post(clinic, _questionnaire(host, _check(host, "N0001"), nurse))["status"] == "accepted"  # a nurse may
    staff.deactivate(host.service.db, "C0001", host.service.clock())
    result = _post(clinic, _questionnaire(host, _check(host), clerk))
    assert result["status"] == "rejected" and "not an active staff member" in result["reason"]


def test_a_proof_from_another_appliance_is_refused(host: HostServer, clinic: Any, make_device) -> None:
    other = make_device(serial="KIOSK02")
    clerk_elsewhere = _attest(other, "C0001")
    result = _post(clinic, _questionnaire(host, _check(host), clerk_elsewhere))
    assert result["status"] == "rejected" and "issued to another device" in result["reason"]


def test_changing_the_policy_through_yoshin_host_needs_two_administrators(
    host: HostServer, clinic: Any, admin_approval
) -> None:
    """Control 14 for control 4: turning reception's check on or off is a change of what protects the
    resident, so it needs two administrators of the municipality, verified, and the audit names both."""
    admin_approval(host.service)  # A1141305 and A2141305, password admin-password-1
    host_cli = str(Path(sys.executable).parent / "yoshin-host")

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        command = [host_cli, "policy", "reception-check", *args, "--municipality", "141305"]
        command += ["--data-dir", str(host.service.data_dir)]
        return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120)

    passwords = "admin-password-1\nadmin-password-1\n"
    unapproved = run("required")
    assert unapproved.returncode == 1 and "--approved-by" in unapproved.stderr and "管理者2名" in unapproved.stderr
    alone = run("required", "--by", "A1141305", "--approved-by", "A1141305", stdin=passwords)
    assert alone.returncode == 1 and "別の管理者" in alone.stderr
    wrong = run("required", "--by", "A1141305", "--approved-by", "A2141305", stdin="admin-password-1\nnot it\n")
    assert wrong.returncode == 1
    assert clinic.client.call("GET", api.POLICY) == {"reception_check": "optional"}  # nothing changed

    done = run("required", "--by", "A1141305", "--approved-by", "A2141305", stdin=passwords)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"municipality": "141305", "reception_check": "required"}
    assert clinic.client.call("GET", api.POLICY) == {"reception_check": "required"}
    assert _audit(host, "policy.reception_check") == ["required, by A1141305, approved by A2141305"]
    shown = run()  # `show` needs no one
    assert shown.returncode == 0 and json.loads(shown.stdout)["reception_check"] == "required"

    other = admin_approval(host.service, "131016")  # two administrators, of another municipality
    with pytest.raises(staff.StaffError):
        policy.set_reception_required(host.service.db, "141305", False, other, host.service.clock())
    assert clinic.client.call("GET", api.POLICY) == {"reception_check": "required"}
