"""Record intake: batches of sealed, device-signed records, each answered on its own.

One record is one transaction: it is stored whole or not at all, so a host killed mid-batch leaves no
partial record, and the device's retry of the whole batch is accepted exactly once (the record UUID is
the primary key: a replay is a `duplicate`). One bad record never blocks the rest (control 9: only the
contract's items are accepted; control 11: a device writes only its own municipality's records).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from datetime import datetime
from typing import Any

import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from yoshin.domain.contract import RECORD_KINDS, ContractError, parse_record, record_to_json
from yoshin.host import audit
from yoshin.host.devices import Device
from yoshin.host.store import Transaction
from yoshin.protocol.api import RecordResult
from yoshin.protocol.sealing import SealedEnvelope, SealError, open_sealed


def open_payload(envelope: SealedEnvelope, device: Device, host_key: X25519PrivateKey) -> dict[str, Any]:
    """Verify, decrypt and check the plaintext's frame. Raises SealError or ValueError."""
    if envelope.header.device_id != device.device_id:
        raise SealError("the envelope names another device")
    payload = json.loads(open_sealed(envelope, host_key, device.signing_key))
    if not isinstance(payload, dict) or set(payload) != {"contract_version", "kind", "body"}:
        raise ValueError("the payload must have exactly contract_version, kind and body")
    if payload["kind"] != envelope.header.kind:
        raise ValueError("the payload kind differs from the envelope's")
    if payload["contract_version"] != "1":
        raise ValueError(f"unsupported contract version {payload['contract_version']!r}")
    return payload


# Crash test hook (tests/host/test_intake.py): die by SIGKILL after this many records committed, to prove
# that a host killed mid-batch leaves no partial record and the retried batch lands exactly once.
_KILL_AFTER = int(os.environ.get("YOSHIN_TEST_KILL_AFTER_RECORDS", "0"))


def accept_batch(
    db: sqlite_utils.Database, device: Device, envelopes: list[Any], host_key: X25519PrivateKey, now: datetime
) -> list[RecordResult]:
    results = []
    for item in envelopes:
        results.append(_accept_one(db, device, item, host_key, now))
        if _KILL_AFTER and len(results) == _KILL_AFTER:
            os.kill(os.getpid(), signal.SIGKILL)
    return results


def _accept_one(
    db: sqlite_utils.Database, device: Device, item: Any, host_key: X25519PrivateKey, now: datetime
) -> RecordResult:
    record_id = str(item.get("header", {}).get("record_id", "?")) if isinstance(item, dict) else "?"
    try:
        envelope = SealedEnvelope.from_json(item)
        record_id = envelope.header.record_id
        if envelope.header.kind not in (*RECORD_KINDS, "audit_event"):
            raise ValueError(f"kind {envelope.header.kind!r} is not accepted here")
        payload = open_payload(envelope, device, host_key)
        if envelope.header.kind == "audit_event":
            body = _audit_event(payload["body"])
            subject_id, municipality = "-", device.municipality_code
        else:
            record = parse_record(envelope.header.kind, payload["body"])
            if record.record_id != record_id:
                raise ValueError("the record id differs from the envelope's")
            body, subject_id, municipality = record_to_json(record), record.subject_id, record.municipality_code
            if municipality != device.municipality_code:
                raise ValueError("a device may only send records of its own municipality")
    except (SealError, ContractError, ValueError, TypeError, KeyError) as error:
        reason = str(error.message.en) if isinstance(error, SealError | ContractError) else str(error)
        with Transaction(db):
            audit.append(
                db,
                now,
                device.municipality_code,
                device.device_id,
                device.device_id,
                "record.intake",
                record_id,
                f"rejected: {reason}",
            )
        return RecordResult(record_id, "rejected", reason)
    try:
        with Transaction(db):
            db["inbox"].insert(
                {
                    "record_id": record_id,
                    "device_id": device.device_id,
                    "municipality_code": municipality,
                    "subject_id": subject_id,
                    "kind": envelope.header.kind,
                    "received_at": now.isoformat(),
                    "created_at": envelope.header.created_at,
                    "body": json.dumps(body, ensure_ascii=False, sort_keys=True),
                }
            )
            audit.append(
                db,
                now,
                municipality,
                device.device_id,
                device.device_id,
                f"record.{envelope.header.kind}",
                record_id,
                "accepted",
            )
    except sqlite3.IntegrityError:
        return RecordResult(record_id, "duplicate")
    return RecordResult(record_id, "accepted")


def _audit_event(body: Any) -> dict[str, Any]:
    """Appliance audit events (logins, purges, tamper alarms): small, fixed fields, no personal data."""
    allowed = {"at", "actor", "action", "target", "outcome"}
    if (
        not isinstance(body, dict)
        or not set(body) <= allowed
        or not all(isinstance(v, str) and len(v) <= 200 for v in body.values())
    ):
        raise ValueError("an audit event has only short text fields at, actor, action, target, outcome")
    return body
