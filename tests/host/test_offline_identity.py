"""Offline visits: the identity claim (the card's sealed face data) is resolved when the queue drains,
and the visit's records, sent under a provisional subject, are linked to the resident, in either order.
Real host over mutual TLS; the records are sealed as the outbox seals them."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from yoshin.domain import examples
from yoshin.domain.contract import ContractError, new_provisional_subject_id, parse_record
from yoshin.host import intake
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.protocol.sealing import new_record_id
from yoshin.tools.card_emulator import CardImage
from yoshin.tools.personas import persona


def claim(device, image: CardImage, provisional: str, municipality: str = "141305") -> tuple[str, dict]:
    body = {
        "record_id": new_record_id(), "municipality_code": municipality, "clinic_code": "1410000001",
        "subject_id": provisional, "created_at": "2026-10-15T10:00:00+09:00", **device.identity_body(image),
    }  # fmt: skip
    return "identity_claim", body


def answers(provisional: str) -> tuple[str, dict]:
    return "questionnaire_response", examples.questionnaire_response(new_record_id(), provisional)


def send(device, *records: tuple[str, dict]) -> list[str]:
    envelopes = [device.seal(kind, body, body["record_id"]).to_json() for kind, body in records]
    return [r["status"] for r in device.client.call("POST", api.RECORDS, {"envelopes": envelopes})["results"]]


def subjects(host: HostServer, kind: str = "questionnaire_response") -> list[tuple[str, str]]:
    rows = host.service.db.execute("SELECT subject_id, body FROM inbox WHERE kind = ?", [kind]).fetchall()
    return [(column, json.loads(body)["subject_id"]) for column, body in rows]


@pytest.mark.parametrize("claim_first", [True, False])
def test_the_visit_is_linked_to_the_resident_in_either_order(
    make_device, host: HostServer, test_pki, claim_first: bool
) -> None:
    device = make_device()
    provisional = new_provisional_subject_id()
    the_claim = claim(device, CardImage.for_persona(persona("elderly"), test_pki), provisional)
    the_answers = answers(provisional)
    ordered = (the_claim, the_answers) if claim_first else (the_answers, the_claim)
    assert send(device, *ordered) == ["accepted", "accepted"]
    assert subjects(host) == [("S000102", "S000102")]  # column and body both name the resident
    stored = json.loads(host.service.db.execute("SELECT body FROM inbox WHERE kind = 'identity_claim'").fetchone()[0])
    assert stored == {"provisional_id": provisional, "outcome": "resolved", "subject_id": "S000102"}
    assert intake.unresolved_visits(host.service.db, "141305") == []
    assert send(device, the_claim) == ["duplicate"]


def test_an_unresolvable_claim_keeps_the_visit_provisional_for_staff(make_device, host: HostServer, test_pki) -> None:
    device = make_device()
    impostor = dataclasses.replace(persona("adult"), name="別人 太郎")  # the card does not match the registry
    provisional = new_provisional_subject_id()
    assert send(
        device, claim(device, CardImage.for_persona(impostor, test_pki), provisional), answers(provisional)
    ) == [
        "accepted",
        "accepted",
    ]
    assert subjects(host) == [(provisional, provisional)]
    (waiting,) = intake.unresolved_visits(host.service.db, "141305")
    assert (waiting["provisional_id"], waiting["outcome"], waiting["records"]) == (provisional, "not_found", 1)


def test_records_waiting_for_a_claim_are_listed(make_device, host: HostServer) -> None:
    device = make_device()
    provisional = new_provisional_subject_id()
    assert send(device, answers(provisional)) == ["accepted"]
    (waiting,) = intake.unresolved_visits(host.service.db, "141305")
    assert waiting["outcome"] == "no claim yet"


def test_a_claim_for_another_municipality_or_a_real_subject_is_refused(make_device, host: HostServer, test_pki) -> None:
    device = make_device()
    image = CardImage.for_persona(persona("elderly"), test_pki)
    other = claim(device, image, new_provisional_subject_id(), municipality="131016")
    assert send(device, other) == ["rejected"]
    _, body = claim(device, image, "S000102")
    with pytest.raises(ContractError, match="subject_id"):
        parse_record("identity_claim", body)
    body["subject_id"], body["ef_my_number"] = new_provisional_subject_id(), "not base64!"
    with pytest.raises(ContractError, match="ef_my_number"):
        parse_record("identity_claim", body)
    assert host.service.db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 0


def test_the_host_keeps_no_card_data_from_a_claim(make_device, host: HostServer, test_pki) -> None:
    device = make_device()
    who = persona("elderly")
    provisional = new_provisional_subject_id()
    _, body = the_claim = claim(device, CardImage.for_persona(who, test_pki), provisional)
    assert send(device, the_claim, answers(provisional)) == ["accepted", "accepted"]
    host.service.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = b"".join(path.read_bytes() for path in (host.service.data_dir).rglob("*.db*"))
    for secret in (who.my_number.encode(), body["ef_my_number"].encode(), base64.b64decode(body["ef_my_number"])):
        assert secret not in stored
