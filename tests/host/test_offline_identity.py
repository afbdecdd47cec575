"""Offline visits: the identity claim (the card's sealed face data) is resolved when the queue drains,
and the visit's records, sent under a provisional subject, are linked to the resident, in either order.
Real host over mutual TLS; the records are sealed as the outbox seals them."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest
from click.testing import CliRunner

from yoshin.devtools.card_emulator import CardImage
from yoshin.devtools.personas import persona, registry_csv
from yoshin.domain import examples
from yoshin.domain.contract import ContractError, new_provisional_subject_id, parse_record
from yoshin.host import exports, intake
from yoshin.host.cli import main as host_cli
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id


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


def test_the_host_keeps_no_card_data_from_a_claim(make_device, host: HostServer, test_pki, storage_files) -> None:
    device = make_device()
    who = persona("elderly")
    provisional = new_provisional_subject_id()
    _, body = the_claim = claim(device, CardImage.for_persona(who, test_pki), provisional)
    assert send(device, the_claim, answers(provisional)) == ["accepted", "accepted"]
    stored = b"".join(path.read_bytes() for path in storage_files(host.service))
    for secret in (who.my_number.encode(), body["ef_my_number"].encode(), base64.b64decode(body["ef_my_number"])):
        assert secret not in stored


def test_a_whole_offline_visit_is_linked_and_exported_under_the_resident(
    make_device, host: HostServer, test_pki, prove
) -> None:
    """Questionnaire, decision and vaccination first, the claim last (the worst order): all three are
    linked, and the municipality's exports name the resident, never the provisional id or card data."""
    device = make_device()
    who = persona("elderly")
    provisional = new_provisional_subject_id()
    q, d, v = new_record_id(), new_record_id(), new_record_id()
    visit = [
        ("questionnaire_response", examples.questionnaire_response(q, provisional)),
        ("doctor_decision", examples.doctor_decision(d, q, subject_id=provisional)),
        ("vaccination_record", examples.vaccination_record(v, q, subject_id=provisional)),
    ]
    visit = [(kind, prove(device, kind, body)) for kind, body in visit]
    assert send(device, *visit) == ["accepted"] * 3
    (waiting,) = intake.unresolved_visits(host.service.db, "141305")
    assert (waiting["outcome"], waiting["records"]) == ("no claim yet", 3)
    _, body = the_claim = claim(device, CardImage.for_persona(who, test_pki), provisional)
    assert send(device, the_claim) == ["accepted"]
    for kind, _ in visit:
        assert subjects(host, kind) == [(who.subject_id, who.subject_id)]
    assert intake.unresolved_visits(host.service.db, "141305") == []
    now = host.service.clock()
    text = exports.export_csv(host.service.db, "141305", "admin01", now)
    bundle = json.dumps(exports.export_fhir(host.service.db, "141305", host.service.catalogue, "admin01", now))
    assert who.subject_id in text and who.subject_id in bundle
    for leaked in (provisional, who.my_number, body["ef_my_number"], body["ef_basic_info"]):
        assert leaked not in text and leaked not in bundle
    outcomes = host.service.db.execute("SELECT outcome FROM audit WHERE action = 'record.identity_claim'").fetchall()
    assert outcomes == [("accepted: resolved",)]


def test_a_restricted_resident_is_referred_and_listed_for_staff(make_device, host: HostServer, test_pki) -> None:
    host.service.registry.import_csv(registry_csv([persona("adult")], {"adult": {"no_auto_answer": "1"}}))
    device = make_device()
    provisional = new_provisional_subject_id()
    the_claim = claim(device, CardImage.for_persona(persona("adult"), test_pki), provisional)
    assert send(device, answers(provisional), the_claim) == ["accepted", "accepted"]
    assert subjects(host) == [(provisional, provisional)]
    stored = json.loads(host.service.db.execute("SELECT body FROM inbox WHERE kind = 'identity_claim'").fetchone()[0])
    assert stored == {"provisional_id": provisional, "outcome": "refer_to_staff", "subject_id": None}
    listed = CliRunner().invoke(
        host_cli, ["provisional", "list", "--data-dir", str(host.service.data_dir), "--municipality", "141305"]
    )
    assert listed.exit_code == 0, listed.output
    (line,) = listed.output.splitlines()
    assert json.loads(line) | {"first_created_at": None} == {
        "provisional_id": provisional, "outcome": "refer_to_staff", "records": 1, "first_created_at": None,
    }  # fmt: skip
    assert persona("adult").my_number not in listed.output
    other = CliRunner().invoke(
        host_cli, ["provisional", "list", "--data-dir", str(host.service.data_dir), "--municipality", "131016"]
    )
    assert other.exit_code == 0 and other.output == ""  # another municipality's staff see nothing of it


def test_a_malformed_claim_is_refused_whole(make_device, host: HostServer, test_pki) -> None:
    device = make_device()
    provisional = new_provisional_subject_id()
    kind, body = claim(device, CardImage.for_persona(persona("elderly"), test_pki), provisional)
    body["ef_basic_info"] = body["ef_basic_info"][:-3] + "!!!"
    assert send(device, (kind, body)) == ["rejected"]
    assert host.service.db.execute("SELECT COUNT(*) FROM provisional_subjects").fetchone()[0] == 0
    assert host.service.db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 0
