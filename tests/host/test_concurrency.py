"""The host under concurrent load, on each backend: nothing acknowledged is lost or stored twice, every
stored record has exactly one audit line, the chain verifies, the lockout counter counts every checked
attempt, and a database busy past its bound is answered 503 with Retry-After, never 500.

Real parts only: the served host on 127.0.0.1, enrolled devices with their own certificates, one TLS
connection per request (the appliance's client), threads as the concurrent appliances.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from yoshin.domain import examples
from yoshin.host import audit, intake, staff, store
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.protocol.api import new_record_id

DEVICES = 20
RECORDS = 200
BATCH = 50


def _batches(device: Any, count: int, prove: Any) -> list[list[dict[str, Any]]]:
    envelopes = []
    for _ in range(count):
        body = prove(device, "vaccination_record", examples.vaccination_record(new_record_id(), new_record_id()))
        envelopes.append(device.seal("vaccination_record", body, body["record_id"]).to_json())
    return [envelopes[i : i + BATCH] for i in range(0, count, BATCH)]


def _post(device: Any, host: HostServer, envelopes: list[dict[str, Any]]) -> tuple[int, dict[str, Any], str | None]:
    """One request on its own TLS connection; the status, answer and Retry-After as the wire has them."""
    connection = http.client.HTTPSConnection("127.0.0.1", host.port, context=device.client.context(), timeout=120)
    try:
        body = json.dumps({"envelopes": envelopes}).encode()
        connection.request("POST", api.RECORDS, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw.startswith(b"{") else {}, response.getheader("Retry-After")
    finally:
        connection.close()


@pytest.mark.timeout(900)  # a load test on a shared 2-core machine: bounded, but slow
def test_twenty_devices_at_once_lose_nothing_and_store_nothing_twice(make_device, host: HostServer, prove) -> None:
    devices = [make_device(serial=f"LOAD{n:02d}") for n in range(DEVICES)]
    work = [(device, batch) for device in devices for batch in _batches(device, RECORDS, prove)]
    sent = {envelope["header"]["record_id"] for _, batch in work for envelope in batch}

    def forward(device: Any) -> list[tuple[int, dict[str, Any]]]:
        return [_post(device, host, batch)[:2] for owner, batch in work if owner is device]

    with ThreadPoolExecutor(max_workers=DEVICES) as pool:
        answers = [answer for per_device in pool.map(forward, devices) for answer in per_device]

    assert sorted({status for status, _ in answers}) == [200]  # no 5xx, no 4xx
    results = [result for _, answer in answers for result in answer["results"]]
    assert len(results) == DEVICES * RECORDS
    assert {result["status"] for result in results} == {"accepted"}
    db = host.service.db
    stored = db.execute("SELECT record_id FROM inbox").fetchall()
    assert len(stored) == len({row[0] for row in stored}) == len(sent)  # 0 duplicated
    assert {row[0] for row in stored} == sent  # 0 lost
    lines = db.execute(
        "SELECT target, count(*) FROM audit WHERE action = 'record.vaccination_record' GROUP BY target"
    ).fetchall()
    assert dict(lines) == dict.fromkeys(sent, 1)  # exactly one audit line per stored record
    assert audit.verify(db).intact


def test_the_same_batch_sent_at_once_is_accepted_exactly_once(make_device, host: HostServer, prove) -> None:
    device = make_device()
    (batch,) = _batches(device, BATCH, prove)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: _post(device, host, batch), range(6)))
    assert {status for status, _, _ in answers} == {200}
    by_record: dict[str, list[str]] = {}
    for _, answer, _ in answers:
        for result in answer["results"]:
            by_record.setdefault(result["record_id"], []).append(result["status"])
    assert all(sorted(statuses) == ["accepted"] + ["duplicate"] * 5 for statuses in by_record.values())
    db = host.service.db
    assert db.execute("SELECT count(*), count(DISTINCT record_id) FROM inbox").fetchone() == (BATCH, BATCH)
    assert db.execute("SELECT count(*) FROM audit WHERE action = 'record.vaccination_record'").fetchone() == (BATCH,)
    assert audit.verify(db).intact


def test_duplicate_only_for_the_same_body_from_the_same_device(make_device, host: HostServer, prove) -> None:
    first, second = make_device(serial="K1"), make_device(serial="K2")
    elsewhere = make_device(municipality="141003", serial="K3")
    body = prove(first, "vaccination_record", examples.vaccination_record(new_record_id(), new_record_id()))
    record_id = body["record_id"]

    def send(device: Any, record: dict[str, Any]) -> dict[str, Any]:
        status, answer, _ = _post(device, host, [device.seal("vaccination_record", record, record_id).to_json()])
        assert status == 200
        return dict(answer["results"][0])

    assert send(first, body)["status"] == "accepted"
    assert send(first, body)["status"] == "duplicate"  # the device's retry: it may delete its copy
    changed = send(first, {**body, "lot_number": "OTHER01"})
    assert (changed["status"], changed["reason"]) == ("rejected", intake.DIFFERENT)
    other_device = send(second, body)
    assert (other_device["status"], other_device["reason"]) == ("rejected", intake.ELSEWHERE)
    other_town = send(elsewhere, {**body, "municipality_code": "141003"})
    assert (other_town["status"], other_town["reason"]) == ("rejected", intake.ELSEWHERE)
    db = host.service.db
    ((device_id, stored),) = db.execute("SELECT device_id, body FROM inbox").fetchall()
    assert device_id == first.device_id and json.loads(stored)["lot_number"] == body["lot_number"] != "OTHER01"
    refusals = db.execute(
        "SELECT terminal, outcome FROM audit WHERE action = 'record.intake' AND target = ? ORDER BY seq", [record_id]
    ).fetchall()
    assert refusals == [
        (first.device_id, f"rejected: {intake.DIFFERENT}"),
        (second.device_id, f"rejected: {intake.ELSEWHERE}"),
        (elsewhere.device_id, f"rejected: {intake.ELSEWHERE}"),
    ]


def test_provisional_ids_are_scoped_by_municipality(host: HostServer) -> None:
    db, now = host.service.db, host.service.clock()
    provisional = "P-" + new_record_id()
    for municipality in ("141305", "141003"):
        with db.transaction(municipality) as tx:
            tx.insert(
                "inbox",
                {
                    "record_id": new_record_id(), "device_id": "d", "municipality_code": municipality,
                    "subject_id": provisional, "kind": "vaccination_record", "received_at": now.isoformat(),
                    "created_at": now.isoformat(), "body": json.dumps({"subject_id": provisional}),
                },
            )  # fmt: skip
    outcome = {"provisional_id": provisional, "subject_id": "S000000000000001", "outcome": "resolved"}
    with db.transaction("141305") as tx:
        intake._link(tx, "141305", outcome, now)
    with db.transaction("141003") as tx:
        intake._link(tx, "141003", {**outcome, "subject_id": None, "outcome": "not_found"}, now)
    rows = db.execute("SELECT municipality_code, subject_id FROM inbox ORDER BY municipality_code").fetchall()
    assert rows == [("141003", provisional), ("141305", "S000000000000001")]
    claims = db.execute(
        "SELECT municipality_code, outcome FROM provisional_subjects WHERE provisional_id = ? ORDER BY 1", [provisional]
    ).fetchall()
    assert claims == [("141003", "not_found"), ("141305", "resolved")]


def test_sixty_concurrent_wrong_passwords_are_each_counted_once(make_device, host: HostServer) -> None:
    service = host.service
    staff.add(service.db, "N0060", "看護 六十", "nurse", "141305", "the right password", service.clock())
    device = make_device()

    def attempt(n: int) -> int:
        connection = http.client.HTTPSConnection("127.0.0.1", host.port, context=device.client.context(), timeout=120)
        try:
            body = json.dumps({"staff_id": "N0060", "password": f"wrong password {n}"}).encode()
            connection.request("POST", api.STAFF_LOGIN, body=body, headers={"Content-Type": "application/json"})
            return connection.getresponse().status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(attempt, range(60)))
    assert set(statuses) <= {401, 429}  # 429: the per-device and per-ID login rate limits (finding 8)
    (counter, locked) = service.db.execute("SELECT failed_attempts, locked FROM staff WHERE staff_id = 'N0060'")[0]
    (checked,) = service.db.execute(
        "SELECT count(*) FROM audit WHERE action = 'staff.login' AND target = 'N0060' AND outcome = 'refused: password'"
    )[0]
    assert counter == checked == staff.MAX_FAILURES  # every checked attempt counted, none checked once locked
    assert locked == 1
    assert audit.verify(service.db).intact


def test_a_database_locked_past_the_bound_is_503_with_retry_after(
    make_device, host: HostServer, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, prove
) -> None:
    device = make_device()
    (batch,) = _batches(device, 3, prove)
    monkeypatch.setattr(store, "BUSY_SECONDS", 0.5)
    db = host.service.db
    if db.postgresql:  # another session holds the inbox table
        cluster = request.getfixturevalue("pg_cluster")
        holder: Any = cluster.admin(db.url.rsplit("/", 1)[1])
        holder.autocommit = False
        holder.execute("LOCK TABLE inbox IN ACCESS EXCLUSIVE MODE")
    else:  # another process's writer holds the file
        holder = sqlite3.connect(db.path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    try:
        status, answer, retry_after = _post(device, host, batch)
    finally:
        holder.rollback() if db.postgresql else holder.execute("ROLLBACK")
        holder.close()
    assert (status, answer["error"], retry_after) == (503, "busy", str(store.RETRY_AFTER_SECONDS))
    assert answer["message_ja"] and answer["message_en"]
    status, answer, _ = _post(device, host, batch)  # the device's retry once the lock is gone
    assert status == 200 and {result["status"] for result in answer["results"]} == {"accepted"}
    assert db.execute("SELECT count(*) FROM inbox").fetchone() == (3,)
