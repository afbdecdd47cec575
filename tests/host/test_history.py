"""The history re-read at the vaccination entry (issue 13, POST /history), on both backends, through the
served host over mutual TLS with a scripted client holding a valid device certificate (the appliance's own
`HostClient`): what a clinician of the device is answered (the registry's doses and another appliance's
record of this morning, no My Number), and every hostile request refused with its code and audited."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yoshin.device.hostclient import HostRefused
from yoshin.devtools.personas import persona, registry_csv
from yoshin.domain import examples
from yoshin.domain.contract import new_provisional_subject_id
from yoshin.host import attest, ratelimit, staff
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id

PASSWORD = "a long enough password"
ELDERLY = persona("elderly")  # S000102: one influenza dose in the registry, 2025-10-20


@pytest.fixture
def clinic(host: HostServer, make_device) -> Any:
    service = host.service
    for staff_id, name, role in (("N0001", "看護 花子", "nurse"), ("D0001", "医師 一郎", "doctor")):
        staff.add(service.db, staff_id, name, role, "141305", PASSWORD, service.clock())
    staff.add(service.db, "C0001", "受付 一子", "clerk", "141305", PASSWORD, service.clock())
    return make_device()


def _attest(device: Any, staff_id: str) -> str:
    answer = device.client.call("POST", api.STAFF_ATTEST, {"staff_id": staff_id, "password": PASSWORD})
    return str(answer["attestation"])


def _audit(host: HostServer, action: str = "history.read") -> list[tuple[str, str, str]]:
    rows = host.service.db.execute("SELECT actor, target, outcome FROM audit WHERE action = ? ORDER BY seq", [action])
    return [(str(a), str(t), str(o)) for a, t, o in rows.fetchall()]


def _refused(device: Any, subject_id: str, proof: str | None) -> HostRefused:
    with pytest.raises(HostRefused) as refused:
        device.client.history(subject_id, proof)
    return refused.value


def test_a_clinician_gets_the_current_history_with_another_appliances_dose(
    host: HostServer, clinic: Any, make_device, prove
) -> None:
    """The other appliance's record of this morning is in the answer (with its GTIN), beside the registry's
    dose; the answer names the subject only by its pseudonym; the read is audited under the nurse's ID."""
    before = clinic.client.history(ELDERLY.subject_id, _attest(clinic, "N0001"))
    assert [(i.vaccine_code, i.date.isoformat()) for i in before.history] == [("flu_elderly", "2025-10-20")]
    other = make_device(serial="KIOSK02")  # another appliance of the same municipality
    body = prove(other, "vaccination_record", examples.vaccination_record(new_record_id(), new_record_id()))
    (result,) = other.client.call(
        "POST", api.RECORDS, {"envelopes": [other.seal("vaccination_record", body, body["record_id"]).to_json()]}
    )["results"]
    assert result["status"] == "accepted", result
    answer = clinic.client.history(ELDERLY.subject_id, _attest(clinic, "N0001"))
    assert answer.subject_id == ELDERLY.subject_id
    assert [(i.vaccine_code, i.dose_number, i.date.isoformat(), i.product) for i in answer.history] == [
        ("flu_elderly", 1, "2025-10-20", None),
        ("flu_elderly", 1, "2026-10-15", body["gtin"]),
    ]
    assert answer.as_of == host.service.clock().isoformat(timespec="seconds")
    text = json.dumps(answer.to_json(), ensure_ascii=False)
    for personal in (ELDERLY.my_number, ELDERLY.name, ELDERLY.address, ELDERLY.birth_date.isoformat()):
        assert personal not in text
    assert _audit(host)[-1] == ("N0001", ELDERLY.subject_id, "ok (2 doses)")


def test_the_registrys_current_conditions_come_with_it(host: HostServer, clinic: Any) -> None:
    who = persona("disabled-64")
    assert clinic.client.history(who.subject_id, _attest(clinic, "D0001")).conditions == tuple(sorted(who.conditions))


def test_hostile_requests_are_refused_with_a_code_and_audited(host: HostServer, clinic: Any, make_device) -> None:
    nurse = _attest(clinic, "N0001")
    registry = host.service.registry
    moved = {"municipality_code": "131016", "subject_id": "S900001"}  # a resident of another municipality
    restricted = {"no_auto_answer": "1"}  # control 19: never answered by a machine
    for who, changes in (("adult", moved), ("infant", restricted)):
        assert registry.import_csv(registry_csv([persona(who)], {who: changes})).errors == []
    elsewhere = make_device(municipality="131016", serial="KIOSK09")  # another municipality's appliance
    staff.add(host.service.db, "N9001", "看護 九子", "nurse", "131016", PASSWORD, host.service.clock())
    now, key = host.service.clock(), host.service.keys.attestation
    forged, _ = attest.issue(Ed25519PrivateKey.generate(), "N0001", "nurse", "141305", clinic.device_id, now)
    yesterdays, _ = attest.issue(key, "N0001", "nurse", "141305", clinic.device_id, now - timedelta(days=1))
    staff.add(host.service.db, "N0005", "看護 五子", "nurse", "141305", PASSWORD, now)
    left = _attest(clinic, "N0005")
    staff.deactivate(host.service.db, "N0005", now)  # left the clinic after logging in this morning
    cases = [  # (what, device, subject, proof, status, code)
        ("another municipality's subject", clinic, "S900001", nurse, 404, "unknown_subject"),
        ("this municipality's subject, from another's device", elsewhere, ELDERLY.subject_id,
         _attest(elsewhere, "N9001"), 404, "unknown_subject"),
        ("an unknown id", clinic, "S999999", nurse, 404, "unknown_subject"),
        ("a restricted resident", clinic, persona("infant").subject_id, nurse, 404, "unknown_subject"),
        ("a provisional id", clinic, new_provisional_subject_id(), nurse, 409, "provisional_subject"),
        ("no staff proof", clinic, ELDERLY.subject_id, None, 403, "staff_proof_refused"),
        ("a forged staff proof", clinic, ELDERLY.subject_id, forged, 403, "staff_proof_refused"),
        ("another device's proof", elsewhere, "S000999", nurse, 403, "staff_proof_refused"),
        ("a clerk's proof", clinic, ELDERLY.subject_id, _attest(clinic, "C0001"), 403, "staff_proof_refused"),
        ("yesterday's proof", clinic, ELDERLY.subject_id, yesterdays, 403, "staff_proof_refused"),
        ("a deactivated nurse's proof", clinic, ELDERLY.subject_id, left, 403, "staff_proof_refused"),
    ]  # fmt: skip
    for what, device, subject_id, proof, status, code in cases:
        refused = _refused(device, subject_id, proof)
        assert (refused.status, refused.body.get("error")) == (status, code), what
        assert refused.message.ja and refused.message.en, what  # a message for the staff screen, both languages
    outcomes = [outcome for _, _, outcome in _audit(host)]
    assert len(outcomes) == len(cases) and all(o.startswith("refused: ") for o in outcomes)
    assert ("N0001", "S999999", "refused: no resident of this municipality has this subject id") in _audit(host)
    assert ("device", "-", next(o for o in outcomes if "proof" in o)) in _audit(host)  # who asked is unproved


@pytest.mark.parametrize(
    "body",
    [{}, {"subject_id": ELDERLY.subject_id}, {"subject_id": 7, "proof": ""}, {"subject_id": "x" * 33, "proof": ""},
     {"subject_id": "S000102\n", "proof": ""}, {"subject_id": "S000102", "proof": "", "my_number": "1"}],
)  # fmt: skip
def test_a_malformed_body_is_a_400_not_a_500(host: HostServer, clinic: Any, body: dict[str, Any]) -> None:
    with pytest.raises(HostRefused) as refused:
        clinic.client.call("POST", api.HISTORY, body)
    assert (refused.value.status, refused.value.body["error"]) == (400, "wrong_schema")
    assert _audit(host) == [("device", "-", f"refused: {refused.value.message.en}")]


def test_history_reads_are_rate_limited_per_device_and_the_first_refusal_audited(host: HostServer, clinic: Any) -> None:
    """The host's clock is fixed, so no bucket refills: the bucket's capacity passes, the next is a 429."""
    nurse = _attest(clinic, "N0001")
    for _ in range(int(ratelimit.HISTORY_PER_DEVICE.capacity)):
        clinic.client.history(ELDERLY.subject_id, nurse)
    for _ in range(2):
        refused = _refused(clinic, ELDERLY.subject_id, nurse)
        assert (refused.status, refused.body["error"]) == (429, "rate_limited") and refused.retry_after
    assert len(_audit(host, "ratelimit.history")) == 1  # the run's first refusal
