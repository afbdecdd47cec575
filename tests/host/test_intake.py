"""Record intake: idempotent, per-record results, nothing partial, strict, per municipality."""

from __future__ import annotations

import base64
import http.client
import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yoshin.device.appliance import Appliance
from yoshin.device.forwarder import Forwarder
from yoshin.device.hostclient import HostAddress, enroll, fetch_ca
from yoshin.devtools.personas import all_personas, registry_csv
from yoshin.domain import examples
from yoshin.host import audit, devices, store
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id


def _records(n: int) -> list[dict]:
    q = new_record_id()
    out = [examples.questionnaire_response(q)]
    out += [examples.vaccination_record(new_record_id(), q) for _ in range(n - 1)]
    return out


def _send(device: Any, bodies: list[dict], prove: Any = None) -> list[dict]:
    kinds = ["questionnaire_response"] + ["vaccination_record"] * (len(bodies) - 1)
    if prove is not None:
        bodies = [prove(device, kind, body) for kind, body in zip(kinds, bodies, strict=True)]
    envelopes = [device.seal(kind, body, body["record_id"]).to_json() for kind, body in zip(kinds, bodies, strict=True)]
    return device.client.call("POST", api.RECORDS, {"envelopes": envelopes})["results"]


def _inbox(host: HostServer) -> int:
    return host.service.db.execute("SELECT count(*) FROM inbox").fetchone()[0]


def test_accepted_then_duplicate(make_device, host: HostServer, prove) -> None:
    device = make_device()
    bodies = _records(3)
    assert [r["status"] for r in _send(device, bodies, prove)] == ["accepted"] * 3
    assert [r["status"] for r in _send(device, bodies, prove)] == ["duplicate"] * 3
    assert _inbox(host) == 3


def test_one_bad_record_never_blocks_the_rest(make_device, host: HostServer, prove) -> None:
    device = make_device()
    bodies = _records(3)
    bodies[1] = {**bodies[1], "lot_number": "BAD LOT!"}
    results = _send(device, bodies, prove)
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert "lot_number" in results[1]["reason"]
    assert _inbox(host) == 2


def test_one_batch_is_one_transaction_with_one_audit_line_per_record(make_device, host: HostServer, prove) -> None:
    """The batched store (one INSERT for the plain records, the others in savepoints of the same
    transaction): a copy of a record in the same batch, a different body under its id, a refused record
    and a bad one each get their own answer and audit line, and the chain and anchor still verify."""
    device = make_device()
    bodies = _records(4)
    stranger = {**bodies[3], "record_id": new_record_id(), "subject_id": "S999999"}  # refused after the insert
    kinds = ["questionnaire_response"] + ["vaccination_record"] * 4
    sent = [bodies[0], bodies[1], bodies[2], bodies[3], stranger]
    proved = [prove(device, kind, body) for kind, body in zip(kinds, sent, strict=True)]
    envelopes = [device.seal(k, b, b["record_id"]).to_json() for k, b in zip(kinds, proved, strict=True)]
    changed = prove(device, "vaccination_record", {**bodies[1], "lot_number": "OTHER01"})
    envelopes += [envelopes[1], device.seal("vaccination_record", changed, bodies[1]["record_id"]).to_json()]
    results = device.client.call("POST", api.RECORDS, {"envelopes": envelopes})["results"]
    statuses = [r["status"] for r in results]
    assert statuses == ["accepted"] * 4 + ["rejected", "duplicate", "rejected"]
    assert "no such resident" in results[4]["reason"] and "different record" in results[6]["reason"]
    assert _inbox(host) == 4
    lines = host.service.db.execute("SELECT target, outcome FROM audit WHERE actor = ?", [device.device_id])
    per_record = {}
    for target, outcome in lines:
        per_record.setdefault(target, []).append(outcome.split(":")[0])
    assert all(per_record[b["record_id"]].count("accepted") == 1 for b in bodies)
    assert per_record[stranger["record_id"]] == ["rejected"]
    assert per_record[bodies[1]["record_id"]] == ["accepted", "rejected"]
    assert audit.verify(host.service.db).intact
    again = device.client.call("POST", api.RECORDS, {"envelopes": envelopes})["results"]
    assert [r["status"] for r in again] == ["duplicate"] * 4 + ["rejected", "duplicate", "rejected"]
    assert _inbox(host) == 4 and audit.verify(host.service.db).intact


def test_unknown_fields_and_other_municipalities_are_rejected(make_device, host: HostServer) -> None:
    device = make_device()
    q = new_record_id()
    extra = {**examples.questionnaire_response(q), "my_number": "402135790860"}
    other = examples.questionnaire_response(new_record_id(), municipality_code="141003")
    results = _send(device, [extra]) + _send(device, [other])
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    assert "my_number" in results[0]["reason"] and "own municipality" in results[1]["reason"]
    assert _inbox(host) == 0


def test_a_tampered_envelope_is_rejected_alone(make_device, host: HostServer, prove) -> None:
    device = make_device()
    bodies = _records(2)
    bodies[1] = prove(device, "vaccination_record", bodies[1])
    envelopes = [
        device.seal(k, b, b["record_id"]).to_json()
        for k, b in zip(["questionnaire_response", "vaccination_record"], bodies, strict=True)
    ]
    ciphertext = bytearray(base64.b64decode(envelopes[0]["ciphertext"]))
    ciphertext[50] ^= 1
    envelopes[0]["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    results = device.client.call("POST", api.RECORDS, {"envelopes": envelopes})["results"]
    assert [r["status"] for r in results] == ["rejected", "accepted"]
    assert "signature" in results[0]["reason"]


def test_a_device_cannot_send_under_another_devices_name(make_device, host: HostServer) -> None:
    first, second = make_device(serial="K1"), make_device(serial="K2")
    body = examples.questionnaire_response(new_record_id())
    envelope = first.seal("questionnaire_response", body, body["record_id"]).to_json()
    results = second.client.call("POST", api.RECORDS, {"envelopes": [envelope]})["results"]
    assert results[0]["status"] == "rejected"


def _raw_post(host: HostServer, device: Any, body: bytes) -> tuple[int, dict]:
    connection = http.client.HTTPSConnection("127.0.0.1", host.port, context=device.client.context(), timeout=10)
    connection.request("POST", api.RECORDS, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    status, raw = response.status, response.read()
    connection.close()
    return status, json.loads(raw) if raw.startswith(b"{") else {}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"envelopes": []}', 400),
        (b'{"envelopes": "x"}', 400),
        (b'{"envelopes": [], "more": 1}', 400),
        (b'{"envelopes": [' + b'{"a":1},' * 300 + b'{"a":1}]}', 400),
        (b'{"envelopes": ["' + b"x" * (api.MAX_BODY + 10) + b'"]}', 413),
    ],
)
def test_bad_bodies_get_a_clear_4xx_and_nothing_is_stored(
    make_device, host: HostServer, body: bytes, status: int
) -> None:
    device = make_device()
    got, answer = _raw_post(host, device, body)
    assert got == status
    if status == 400:
        assert answer["message_en"] and answer["message_ja"]
    assert _inbox(host) == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
        max_leaves=20,
    )
)
def test_fuzzed_envelopes_are_answered_per_record(make_device, host: HostServer, junk: object) -> None:
    cached = getattr(test_fuzzed_envelopes_are_answered_per_record, "device", None)  # one per host (backend)
    device = cached[1] if cached and cached[0] is host else make_device(serial="FUZZ")
    test_fuzzed_envelopes_are_answered_per_record.device = (host, device)  # type: ignore[attr-defined]
    status, answer = _raw_post(host, device, json.dumps({"envelopes": [junk]}).encode())
    assert status == 200 and answer["results"][0]["status"] == "rejected"
    assert _inbox(host) == 0


def test_sigkill_mid_batch_then_retry_lands_exactly_once(
    tmp_path: Path, clock, open_service, prove_with, technician_proof
) -> None:
    data = tmp_path / "host"
    service = open_service(data, lambda: datetime.now(UTC))  # as `serve` sees it; host.toml names the backend
    service.registry.import_csv(registry_csv(list(all_personas().values())))  # the records' resident

    def start(kill_after: int) -> tuple[subprocess.Popen[bytes], HostAddress]:
        if kill_after:  # a host whose store kills it after that many committed batches (tests/host/crashing_host.py)
            command = [sys.executable, str(Path(__file__).with_name("crashing_host.py")), str(data), str(kill_after)]
        else:
            command = [Path(sys.executable).parent / "yoshin-host", "serve", "--data-dir", str(data)]
            command += ["--port", "0", "--enroll-port", "0"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE)
        assert process.stdout is not None
        process.stdout.readline()  # printed once both listeners are up
        ports = json.loads((data / "serve.json").read_text())
        return process, HostAddress("127.0.0.1", ports["port"], ports["enroll_port"])

    process, address = start(kill_after=1)  # a batch is one transaction: killed once the first of 4 commits
    token = devices.issue_token(service.db, "141305", "1410000001", "admin01", service.clock())
    appliance = Appliance(tmp_path / "device", clock=clock)
    enroll(
        address,
        fetch_ca(address, service.pki.ca_fingerprint),
        appliance.keystore,
        token,
        "141305",
        "1410000001",
        "K1",
        technician_proof(service),
    )
    appliance.save_host(address)
    outbox = appliance.outbox()
    for body in _records(10):
        kind = "vaccination_record" if "lot_number" in body else "questionnaire_response"
        outbox.enqueue(kind, prove_with(service, appliance.keystore.identity()["device_id"], kind, body))
    forwarder = Forwarder(outbox, appliance.client(), batch=4)
    assert forwarder.run_once().error  # the host died after committing, before answering
    assert process.wait(timeout=30) == -signal.SIGKILL
    db = store.open_database(store.configured_url(data))
    assert db.execute("SELECT count(*) FROM inbox").fetchone()[0] == 4
    if not db.postgresql:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert outbox.status().depth == 10

    process, address = start(kill_after=0)
    try:
        appliance.save_host(address)
        forwarder = Forwarder(outbox, appliance.client(), batch=10)
        clock.now += timedelta(hours=1)  # past the backoff
        rounds = forwarder.drain()
        assert (rounds[0].duplicate, rounds[0].accepted) == (4, 6)
        assert outbox.status().depth == 0
        assert db.execute("SELECT count(*), count(DISTINCT record_id) FROM inbox").fetchone() == (10, 10)
    finally:
        process.terminate()
        process.wait(timeout=30)
