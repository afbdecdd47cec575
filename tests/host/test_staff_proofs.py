"""Finding 2 (controls 13, 16): the host itself checks who decided, entered and checked a record.

Everything goes through the served host over mutual TLS: the attestations come from the staff
endpoints, the records are sealed and posted as a device posts them.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yoshin.device.hostclient import HostRefused
from yoshin.domain import examples
from yoshin.host import attest, staff
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id

PASSWORD = "a long enough password"
STAFF = {
    "D0001": ("医師 一郎", "doctor"),
    "D0002": ("医師 二郎", "doctor"),
    "N0001": ("看護 花子", "nurse"),
    "N0002": ("看護 次郎", "nurse"),
    "n0001": ("看護 三郎", "nurse"),  # the same ID but for letter case
    "N0003": ("看護　花子", "nurse"),  # N0001's name (another space) under another ID
}


@pytest.fixture
def clinic(host: HostServer, make_device) -> Any:
    service = host.service
    for staff_id, (name, role) in STAFF.items():
        staff.add(service.db, staff_id, name, role, "141305", PASSWORD, service.clock())
    return make_device()


def _attest(device: Any, staff_id: str) -> str:
    answer = device.client.call("POST", api.STAFF_ATTEST, {"staff_id": staff_id, "password": PASSWORD})
    assert answer["staff_id"] == staff_id and answer["role"] == STAFF[staff_id][1]
    return answer["attestation"]


def _created(host: HostServer, minutes: int = 0) -> str:
    return (host.service.clock() + timedelta(minutes=minutes)).isoformat()


def _post(device: Any, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    envelope = device.seal(kind, body, body["record_id"]).to_json()
    (result,) = device.client.call("POST", api.RECORDS, {"envelopes": [envelope]})["results"]
    return result


def _decision(host: HostServer, doctor_id: str, proofs: dict[str, str], **changes: Any) -> dict[str, Any]:
    name = STAFF.get(doctor_id, ("医師 一郎",))[0]
    body = examples.doctor_decision(new_record_id(), new_record_id(), doctor_id=doctor_id, doctor_name=name)
    return {**body, "created_at": _created(host, 1), "proofs": proofs, **changes}


def _vaccination(host: HostServer, entered: str, checked: str, proofs: dict[str, str], **changes: Any) -> dict:
    body = examples.vaccination_record(new_record_id(), new_record_id(), entered_by=entered, checked_by=checked)
    return {**body, "created_at": _created(host, 1), "proofs": proofs, **changes}


def _refusals(host: HostServer) -> list[str]:
    rows = host.service.db.execute("SELECT outcome FROM audit WHERE action = 'record.intake'").fetchall()
    return [outcome for (outcome,) in rows]


def test_a_decision_needs_a_doctor_the_host_verified(host: HostServer, clinic: Any) -> None:
    doctor, nurse = _attest(clinic, "D0001"), _attest(clinic, "N0001")
    cases = {
        "nurse's proof under the doctor's ID": (_decision(host, "D0001", {"decided_by": nurse}), "proves N0001"),
        "under the nurse's own ID": (_decision(host, "N0001", {"decided_by": nurse}), "needs a doctor"),
        "no proof": (_decision(host, "D0001", {}), "decided_by: missing"),
        "an invented ID": (_decision(host, "D9999", {"decided_by": doctor}), "proves D0001"),
        "another doctor's name": (_decision(host, "D0001", {"decided_by": doctor}, doctor_name="医師 二郎"), "name"),
    }
    forged, _ = attest.issue(
        Ed25519PrivateKey.generate(), "D0001", "doctor", "141305", clinic.device_id, host.service.clock()
    )
    cases["a token not signed by the host"] = (
        _decision(host, "D0001", {"decided_by": forged}),
        "not issued by this host",
    )
    for what, (body, reason) in cases.items():
        result = _post(clinic, "doctor_decision", body)
        assert result["status"] == "rejected", what
        assert reason in result["reason"], (what, result["reason"])
    assert _post(clinic, "doctor_decision", _decision(host, "D0001", {"decided_by": doctor}))["status"] == "accepted"
    assert sum(outcome.startswith("rejected: proofs") for outcome in _refusals(host)) >= 4  # refusals are audited


def test_a_deactivated_doctor_decides_nothing(host: HostServer, clinic: Any) -> None:
    doctor = _attest(clinic, "D0002")
    staff.deactivate(host.service.db, "D0002", host.service.clock())
    result = _post(clinic, "doctor_decision", _decision(host, "D0002", {"decided_by": doctor}))
    assert result["status"] == "rejected" and "not an active staff member" in result["reason"]
    with pytest.raises(HostRefused) as refused:
        _attest(clinic, "D0002")
    assert refused.value.status == 401 and "wrong staff ID or password" in refused.value.message.en


def test_the_second_person_is_verified_and_is_somebody_else(host: HostServer, clinic: Any, test_pki) -> None:
    entered = _attest(clinic, "N0001")
    der = test_pki.auth_credentials("nurse-card")[1].public_bytes(serialization.Encoding.DER)
    staff.register_card(host.service.db, "N0001", der, "admin01", host.service.clock())
    staff.register_card(host.service.db, "N0002", der, "admin01", host.service.clock())  # one card, two IDs
    cases = {
        "never verified": (_vaccination(host, "N0001", "N0002", {"entered_by": entered}), "checked_by: missing"),
        "letter case only": (
            _vaccination(host, "N0001", "n0001", {"entered_by": entered, "checked_by": _attest(clinic, "n0001")}),
            "another person",
        ),
        "the same name": (
            _vaccination(host, "N0001", "N0003", {"entered_by": entered, "checked_by": _attest(clinic, "N0003")}),
            "another person",
        ),
        "the same registered card": (
            _vaccination(host, "N0001", "N0002", {"entered_by": entered, "checked_by": entered}),
            "proves N0001",
        ),
    }
    for what, (body, reason) in cases.items():
        result = _post(clinic, "vaccination_record", body)
        assert result["status"] == "rejected", what
        assert reason in result["reason"], (what, result["reason"])
    # N0002 verified with the card N0001 also holds: the host verifies them, but they are not a second person
    shared = _card_attest(clinic, "N0002", test_pki)
    result = _post(
        clinic,
        "vaccination_record",
        _vaccination(host, "N0001", "N0002", {"entered_by": entered, "checked_by": shared}),
    )
    assert result["status"] == "rejected" and "another person" in result["reason"]


def _card_attest(device: Any, staff_id: str, test_pki, path: str = api.STAFF_ATTEST) -> str:
    key, certificate = test_pki.auth_credentials("nurse-card")
    challenge = device.client.call("POST", api.JPKI_CHALLENGE)
    signature = key.sign(bytes.fromhex(challenge["challenge"]), padding.PKCS1v15(), hashes.SHA256())
    body = {
        "staff_id": staff_id,
        "challenge_id": challenge["challenge_id"],
        "certificate": base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode(),
        "signature": base64.b64encode(signature).decode(),
    }
    return device.client.call("POST", path, body)["attestation"]


def test_a_checked_vaccination_is_accepted_and_attesting_opens_no_session(host: HostServer, clinic: Any) -> None:
    login = clinic.client.call("POST", api.STAFF_LOGIN, {"staff_id": "N0001", "password": PASSWORD})
    assert login["attestation"].startswith("yat1.")
    checker = _attest(clinic, "N0002")
    body = _vaccination(host, "N0001", "N0002", {"entered_by": login["attestation"], "checked_by": checker})
    assert _post(clinic, "vaccination_record", body)["status"] == "accepted"
    sessions = host.service.db.execute("SELECT staff_id FROM staff_sessions").fetchall()
    assert sessions == [("N0001",)]  # the login's session is open, the check opened none
    again = clinic.client.call("POST", api.STAFF_LOGIN, {"staff_id": "N0002", "password": PASSWORD})
    assert again["role"] == "nurse"


def test_offline_policy_an_attestation_holds_for_its_jst_day(host: HostServer, clinic: Any) -> None:
    doctor = _attest(clinic, "D0001")  # 10:00 JST
    claim = attest.verify(host.service.keys.attestation.public_key(), doctor)
    assert claim.expires_at == datetime.fromisoformat("2026-10-16T00:00:00+09:00")
    evening = _decision(host, "D0001", {"decided_by": doctor}, created_at="2026-10-15T23:59:00+09:00")
    next_day = _decision(host, "D0001", {"decided_by": doctor}, created_at="2026-10-16T00:01:00+09:00")
    before = _decision(host, "D0001", {"decided_by": doctor}, created_at="2026-10-15T08:00:00+09:00")
    host.service.clock.now += timedelta(days=2)  # type: ignore[attr-defined]  # the queue drains later
    assert _post(clinic, "doctor_decision", evening)["status"] == "accepted"
    late = _post(clinic, "doctor_decision", next_day)
    assert late["status"] == "rejected" and "expired" in late["reason"]
    early = _post(clinic, "doctor_decision", before)
    assert early["status"] == "rejected" and "older than the attestation" in early["reason"]


def test_a_proof_from_another_device_is_refused(host: HostServer, clinic: Any, make_device) -> None:
    other = make_device(serial="K2")
    doctor = _attest(other, "D0001")
    result = _post(clinic, "doctor_decision", _decision(host, "D0001", {"decided_by": doctor}))
    assert result["status"] == "rejected" and "another device" in result["reason"]


def test_a_staff_card_logs_in_alone_and_attests(host: HostServer, clinic: Any, test_pki) -> None:
    der = test_pki.auth_credentials("nurse-card")[1].public_bytes(serialization.Encoding.DER)
    staff.register_card(host.service.db, "N0002", der, "admin01", host.service.clock())
    with pytest.raises(HostRefused):
        _card_attest(clinic, "N0001", test_pki, api.STAFF_LOGIN_CARD)  # not N0001's card
    token = _card_attest(clinic, "N0002", test_pki, api.STAFF_LOGIN_CARD)
    assert attest.verify(host.service.keys.attestation.public_key(), token).staff_id == "N0002"
    assert host.service.db.execute("SELECT staff_id FROM staff_sessions").fetchall() == [("N0002",)]
