"""Findings 5, 7 and 9: hostile input through the served host over mutual TLS, and what the real CLI
exports afterwards. Every refusal is a clear answer for that record alone, never a 500."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from yoshin.devtools.card_emulator import CardImage
from yoshin.devtools.personas import persona
from yoshin.domain import examples
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id
from yoshin.protocol.sealing import EnvelopeHeader, seal

SCRIPT = str(Path(sys.executable).parent / "yoshin-host")


def _raw(host: HostServer, device: Any, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPSConnection("127.0.0.1", host.port, context=device.client.context(), timeout=60)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw.startswith(b"{") else {}
    finally:
        connection.close()


def _sealed_text(device: Any, kind: str, payload: str, record_id: str | None = None) -> dict[str, Any]:
    """An envelope whose plaintext is `payload` exactly (what a hostile device can send)."""
    header = EnvelopeHeader(record_id or new_record_id(), device.device_id, kind, datetime.now(UTC).isoformat())
    keys = (device.keystore.host_sealing_key(), device.keystore.signing_key())
    return seal(payload.encode(), header, *keys).to_json()


def _results(host: HostServer, device: Any, envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    status, answer = _raw(host, device, api.RECORDS, json.dumps({"envelopes": envelopes}).encode())
    assert status == 200, answer
    return answer["results"]


def _vaccination(prove: Any, device: Any, questionnaire: str | None = None, **changes: Any) -> dict[str, Any]:
    body = examples.vaccination_record(new_record_id(), questionnaire or new_record_id(), **changes)
    return prove(device, "vaccination_record", body)


def _envelope(device: Any, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    payload = json.dumps({"contract_version": "1", "kind": kind, "body": body}, ensure_ascii=False)  # NaN as sent
    return _sealed_text(device, kind, payload, body["record_id"])


def test_deep_json_is_a_400_and_a_poison_envelope_fails_only_itself(make_device, host: HostServer, prove) -> None:
    device = make_device()
    deep = b'{"envelopes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    status, answer = _raw(host, device, api.RECORDS, deep)
    assert status == 400 and "nested deeper" in answer["message_en"] and answer["message_ja"]
    status, answer = _raw(host, device, api.STAFF_LOGIN, b'{"staff_id": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    assert status == 400
    poison = _sealed_text(device, "vaccination_record", "[" * 100_000 + "]" * 100_000)
    good = _vaccination(prove, device)
    results = _results(host, device, [poison, _envelope(device, "vaccination_record", good)])
    assert [r["status"] for r in results] == ["rejected", "accepted"]
    assert "nested deeper" in results[0]["reason"]


def test_non_finite_numbers_are_refused_and_the_fhir_export_stays_valid(
    make_device, host: HostServer, prove, tmp_path: Path
) -> None:
    device = make_device()
    nan_dose = _vaccination(prove, device, dose_amount_ml=float("nan"))
    q = new_record_id()
    for value in (float("nan"), float("inf"), -float("inf")):
        answers = examples.questionnaire_response(new_record_id(), answers={"temperature": value, "q1": "no"})
        results = _results(host, device, [_envelope(device, "questionnaire_response", answers)])
        assert results[0]["status"] == "rejected" and "finite" in results[0]["reason"]
    results = _results(host, device, [_envelope(device, "vaccination_record", nan_dose)])
    assert results[0]["status"] == "rejected" and "finite" in results[0]["reason"]
    fine = [
        ("questionnaire_response", examples.questionnaire_response(q, answers={"temperature": 36.5, "q1": "no"})),
        ("vaccination_record", _vaccination(prove, device, q)),
    ]
    assert [r["status"] for r in _results(host, device, [_envelope(device, k, b) for k, b in fine])] == ["accepted"] * 2
    host.stop()
    export = subprocess.run(
        [SCRIPT, "export", "fhir", "--data-dir", str(host.service.data_dir), "--municipality", "141305", "--by", "a1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr

    def refuse(name: str) -> None:
        raise ValueError(name)

    bundle = json.loads(export.stdout, parse_constant=refuse)  # strictly valid JSON
    models = {"Immunization": Immunization, "QuestionnaireResponse": QuestionnaireResponse}
    kinds = [models[entry["resource"]["resourceType"]].model_validate(entry["resource"]) for entry in bundle["entry"]]
    assert sorted(type(k).__name__ for k in kinds) == ["Immunization", "QuestionnaireResponse"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"vaccination_date": "9999-12-31", "expiry_date": "9999-12-31"}, "year must be"),
        ({"vaccination_date": "2026-10-16", "expiry_date": "2027-06-30"}, "after today (JST)"),
        ({"vaccination_date": "1950-01-01", "expiry_date": "1950-06-30"}, "before the resident's birth date"),
        ({"vaccination_date": "0001-01-01", "expiry_date": "0001-06-30"}, "year must be"),
        ({"expiry_date": "2099-01-01"}, "not plausible"),
        ({"clinic_code": "1410000002"}, "own clinic"),
        ({"subject_id": "S999999"}, "no such resident"),
        ({"subject_id": "P-not-one-we-make"}, "not a provisional id"),
        ({"special_circumstances": "左腕\u202eに接種"}, "U+202E"),
        ({"special_circumstances": "ゼロ\u200b幅"}, "U+200B"),
        ({"special_circumstances": "\ufeff本文"}, "U+FEFF"),
        ({"special_circumstances": "タグ\U000e0041"}, "U+E0041"),
    ],
)
def test_implausible_or_invisible_values_are_refused_per_record(
    make_device, host: HostServer, prove, test_pki, changes: dict[str, str], reason: str
) -> None:
    device = make_device()
    bad, good = _vaccination(prove, device, **changes), _vaccination(prove, device)
    results = _results(host, device, [_envelope(device, "vaccination_record", b) for b in (bad, good)])
    assert [r["status"] for r in results] == ["rejected", "accepted"]
    assert reason in results[0]["reason"], results[0]["reason"]
    body = device.identity_body(CardImage.for_persona(persona("elderly"), test_pki))  # look-ups still answer
    answer = device.client.call("POST", api.IDENTITY, {"envelope": device.seal("identity", body).to_json()})
    assert answer["status"] == "ok"


def test_japanese_free_text_is_kept_and_formulas_are_escaped_in_the_csv(make_device, host: HostServer, prove) -> None:
    device = make_device()
    texts = ['=HYPERLINK("http://x","y")', "＝1+2", "+81-3", "-1", "@SUM(A1)", "接種後に発赤あり（軽度）"]
    bodies = [_vaccination(prove, device, special_circumstances=text) for text in texts]
    results = _results(host, device, [_envelope(device, "vaccination_record", b) for b in bodies])
    assert [r["status"] for r in results] == ["accepted"] * len(texts)
    host.stop()
    export = subprocess.run(
        [SCRIPT, "export", "csv", "--data-dir", str(host.service.data_dir), "--municipality", "141305", "--by", "a1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    import csv
    import io

    cells = [row["special_circumstances"] for row in csv.DictReader(io.StringIO(export.stdout))]
    assert sorted(cells) == sorted(
        ['\'=HYPERLINK("http://x","y")', "'=1+2", "'+81-3", "'-1", "'@SUM(A1)", "接種後に発赤あり(軽度)"]
    )
    assert not any(
        cell.startswith(("=", "+", "-", "@", "＝")) for row in csv.reader(io.StringIO(export.stdout)) for cell in row
    )
