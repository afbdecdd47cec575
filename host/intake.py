"""Record intake: batches of sealed, device-signed records, each answered on its own.

One record is one transaction: its inbox row, its audit line and its identity links are stored whole or
not at all, so a host killed mid-batch leaves no partial record, and the device's retry of the whole
batch is accepted exactly once. The record UUID is the primary key; a replay is answered `duplicate`
only when the same device stored the same body under it. A different body under a stored id, or an id
stored by another device or municipality, is refused and audited (never `duplicate`, which would let
the device delete a record the host does not hold). One bad record never blocks the rest (control 9:
only the contract's items are accepted; control 11: a device writes only its own municipality's
records). A database busy past its bound raises `StoreBusy` out of the batch (503, the device retries).

Offline visits: the device queues an `identity_claim` (the card's face data, sealed) before the visit's
records, which name a provisional subject ("P-..."). The claim is resolved here exactly as the online
identity call would be; its outcome, never its card data, is stored, and every record of the visit is
linked to the resident, whichever arrives first. An unresolved claim leaves the records provisional for
staff (`yoshin-host provisional list`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from yoshin.domain.clock import today as jst_today
from yoshin.domain.contract import (
    ContractError,
    DoctorDecision,
    IdentityClaim,
    QuestionnaireResponse,
    RecordKind,
    VaccinationRecord,
    is_provisional,
    parse_record,
    record_to_json,
)
from yoshin.host import audit, policy, proofs
from yoshin.host.devices import Device
from yoshin.host.store import Database, StoreBusy, Tx
from yoshin.protocol import safejson
from yoshin.protocol.api import IdentityAnswer, RecordResult
from yoshin.protocol.sealing import PayloadKind, SealedEnvelope, SealError, open_sealed


def open_payload(envelope: SealedEnvelope, device: Device, host_key: X25519PrivateKey) -> dict[str, Any]:
    """Verify, decrypt and check the plaintext's frame. Raises SealError or ValueError."""
    if envelope.header.device_id != device.device_id:
        raise SealError("the envelope names another device")
    payload = safejson.loads(open_sealed(envelope, host_key, device.signing_key))
    if not isinstance(payload, dict) or set(payload) != {"contract_version", "kind", "body"}:
        raise ValueError("the payload must have exactly contract_version, kind and body")
    if payload["kind"] != envelope.header.kind:
        raise ValueError("the payload kind differs from the envelope's")
    if payload["contract_version"] != "1":
        raise ValueError(f"unsupported contract version {payload['contract_version']!r}")
    return payload


log = logging.getLogger("yoshin.host")
PROVISIONAL_ID = re.compile(r"P-[0-9a-f]{30}")
CLOCK_SKEW = timedelta(minutes=5)  # a device clock slightly ahead of the host's


# What the online identity call answers for a card's face data (yoshin.host.identity.resolve_face).
ResolveFace = Callable[[Device, dict[str, Any]], IdentityAnswer]


def accept_batch(
    db: Database,
    device: Device,
    envelopes: list[Any],
    host_key: X25519PrivateKey,
    now: datetime,
    resolve_face: ResolveFace,
    attestation_key: Ed25519PublicKey | None = None,
) -> list[RecordResult]:
    """`attestation_key` checks decision and vaccination proofs (yoshin.host.proofs); without it such
    records are refused (a host that cannot check who decided accepts no decision)."""
    results = []
    for item in envelopes:
        try:
            results.append(_accept_one(db, device, item, host_key, now, resolve_face, attestation_key))
        except StoreBusy:
            raise  # the whole request is answered 503 and retried
        except Exception:  # one poison envelope never fails the batch: it alone is refused
            log.exception("record could not be processed")
            record_id = str(item.get("header", {}).get("record_id", "?"))[:64] if isinstance(item, dict) else "?"
            results.append(RecordResult(record_id, "rejected", "the record could not be processed"))
    return results


def _accept_one(
    db: Database,
    device: Device,
    item: Any,
    host_key: X25519PrivateKey,
    now: datetime,
    resolve_face: ResolveFace,
    attestation_key: Ed25519PublicKey | None = None,
) -> RecordResult:
    record_id = str(item.get("header", {}).get("record_id", "?")) if isinstance(item, dict) else "?"
    try:
        envelope = SealedEnvelope.from_json(item)
        record_id = envelope.header.record_id
        kind = envelope.header.kind
        if kind not in {*RecordKind, PayloadKind.AUDIT_EVENT}:
            raise ValueError(f"kind {kind!r} is not accepted here")
        payload = open_payload(envelope, device, host_key)
        record = None
        if kind == PayloadKind.AUDIT_EVENT:
            body = _audit_event(payload["body"])
            subject_id, municipality = "-", device.municipality_code
        else:
            record = parse_record(kind, payload["body"])
            if record.record_id != record_id:
                raise ValueError("the record id differs from the envelope's")
            body, subject_id, municipality = record_to_json(record), record.subject_id, record.municipality_code
            if municipality != device.municipality_code:
                raise ValueError("a device may only send records of its own municipality")
        digest = body_digest(body)  # of the body as received, before a claim is resolved or a subject linked
        with db.read(municipality) as tx:  # a resend is answered before its claim is resolved a second time
            known = _known(tx, record_id, device, digest)
        if known is not None:
            return _answer_known(db, known, device, record_id, now)
        # refused only once the insert below shows the id is not another's (that answer comes first)
        refusal = None if record is None else _host_refusal(db, device, record, now, attestation_key)
        if isinstance(record, IdentityClaim) and refusal is None:
            body = _resolve_claim(record, device, resolve_face)
    except (SealError, ContractError, ValueError, TypeError, KeyError) as error:
        reason = str(error.message.en) if isinstance(error, SealError | ContractError) else str(error)
        _refuse(db, device, record_id, reason, now)
        return RecordResult(record_id, "rejected", reason)
    try:
        return _store(db, device, envelope, record_id, kind, municipality, subject_id, body, digest, now, refusal)
    except _Refused as refused:  # the insert was rolled back
        _refuse(db, device, record_id, refused.reason, now)
        return RecordResult(record_id, "rejected", refused.reason)


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _host_refusal(
    db: Database, device: Device, record: Any, now: datetime, attestation_key: Ed25519PublicKey | None
) -> str | None:
    """What only the host can check (finding 2, 7): the device's own clinic, a subject that exists (or a
    well-formed provisional id), dates against today in Japan and the birth date, and the staff proofs."""
    if record.clinic_code != device.clinic_code:
        return "clinic_code: a device may only send records of its own clinic"
    birth = None
    if is_provisional(record.subject_id):
        if not PROVISIONAL_ID.fullmatch(record.subject_id):
            return "subject_id: not a provisional id this system makes (P- and 30 hex digits)"
    elif not isinstance(record, IdentityClaim):
        with db.read(device.municipality_code) as tx:
            row = tx.one(
                "SELECT birth_date FROM residents WHERE municipality_code = ? AND subject_id = ?",
                [device.municipality_code, record.subject_id],
            )
        if row is None:
            return "subject_id: no such resident in this municipality"
        birth = date.fromisoformat(str(row[0]))
    if record.created_at > now + CLOCK_SKEW:
        return "created_at: in the future"
    if isinstance(record, VaccinationRecord):
        if record.vaccination_date > jst_today(now):
            return "vaccination_date: after today (JST)"
        if birth is not None and record.vaccination_date < birth:
            return "vaccination_date: before the resident's birth date"
    if isinstance(record, DoctorDecision | VaccinationRecord):
        if attestation_key is None:
            return "this host checks no proofs, so it accepts no decision or vaccination"
        try:
            proofs.check(db, attestation_key, device, record)
        except proofs.ProofError as error:
            return str(error)
    if isinstance(record, QuestionnaireResponse):
        required = policy.reception_required(db, device.municipality_code)
        if record.reception is None and not required:
            return None
        if attestation_key is None:
            return "this host checks no proofs, so it accepts no reception check"
        try:
            proofs.check(db, attestation_key, device, record, reception_required=required)
        except proofs.ProofError as error:
            return str(error)
    return None


def _store(
    db: Database,
    device: Device,
    envelope: SealedEnvelope,
    record_id: str,
    kind: str,
    municipality: str,
    subject_id: str,
    body: dict[str, Any],
    digest: str,
    now: datetime,
    refusal: str | None,
) -> RecordResult:
    with db.transaction(municipality) as tx:
        if kind != RecordKind.IDENTITY_CLAIM and is_provisional(subject_id):
            # looked up inside the transaction, so a claim resolved meanwhile cannot be missed
            subject_id = _resolved(tx, municipality, subject_id) or subject_id
            body["subject_id"] = subject_id
        inserted = tx.execute(
            "INSERT INTO inbox (record_id, device_id, municipality_code, subject_id, kind, received_at, created_at, "
            "body, body_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (record_id) DO NOTHING",
            [
                record_id, device.device_id, municipality, subject_id, kind, now.isoformat(),
                envelope.header.created_at, json.dumps(body, ensure_ascii=False, sort_keys=True), digest,
            ],
        ).rowcount  # fmt: skip
        if inserted != 1:  # stored meanwhile by a concurrent request: decided on what is stored
            known = _known(tx, record_id, device, digest) or RecordResult(record_id, "rejected", ELSEWHERE)
            if known.status == "rejected":
                _audit_refusal(tx, device, record_id, known.reason or "", now)
            return known
        if refusal is not None:
            raise _Refused(refusal)
        if kind == RecordKind.IDENTITY_CLAIM:
            _link(tx, municipality, body, now)
        audit.append(
            tx,
            now,
            municipality,
            device.device_id,
            device.device_id,
            f"record.{kind}",
            record_id,
            _accepted(kind, body),
        )
    return RecordResult(record_id, "accepted")


def _accepted(kind: str, body: dict[str, Any]) -> str:
    """The audit line of an accepted record: a claim's outcome; who confirmed a resident at reception."""
    if kind == RecordKind.IDENTITY_CLAIM:
        return f"accepted: {body['outcome']}"
    reception = body.get("reception") if kind == RecordKind.QUESTIONNAIRE_RESPONSE else None
    if reception:
        documents = "+".join(reception["documents"])
        return f"accepted: identity confirmed by {reception['confirmed_by']} ({reception['presenter']}, {documents})"
    return "accepted"


ELSEWHERE = "this record id is already stored for another device or municipality"
DIFFERENT = "a different record is already stored under this record id"


def body_digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _known(tx: Tx, record_id: str, device: Device, digest: str) -> RecordResult | None:
    """How a record id already stored is answered, or None when it is not stored (or not visible)."""
    row = tx.one("SELECT device_id, municipality_code, body_sha256 FROM inbox WHERE record_id = ?", [record_id])
    if row is None:
        return None
    stored_device, stored_municipality, stored_digest = row
    if stored_device != device.device_id or stored_municipality != device.municipality_code:
        return RecordResult(record_id, "rejected", ELSEWHERE)
    if stored_digest is not None and stored_digest != digest:
        return RecordResult(record_id, "rejected", DIFFERENT)
    return RecordResult(record_id, "duplicate")


def _answer_known(db: Database, known: RecordResult, device: Device, record_id: str, now: datetime) -> RecordResult:
    if known.status == "rejected":
        _refuse(db, device, record_id, known.reason or "", now)
    return known


def _refuse(db: Database, device: Device, record_id: str, reason: str, now: datetime) -> None:
    with db.transaction(device.municipality_code) as tx:
        _audit_refusal(tx, device, record_id, reason, now)


def _audit_refusal(tx: Tx, device: Device, record_id: str, reason: str, now: datetime) -> None:
    audit.append(
        tx,
        now,
        device.municipality_code,
        device.device_id,
        device.device_id,
        "record.intake",
        record_id,
        f"rejected: {reason}",
    )


def _resolve_claim(claim: IdentityClaim, device: Device, resolve_face: ResolveFace) -> dict[str, Any]:
    """The claim's outcome as stored in the inbox: the provisional id and the resident, never the card data."""
    answer = resolve_face(
        device,
        {"ef_my_number": claim.ef_my_number, "ef_basic_info": claim.ef_basic_info, "ef_signature": claim.ef_signature},
    )
    return {
        "provisional_id": claim.subject_id,
        "outcome": "resolved" if answer.subject is not None else answer.status.value,
        "subject_id": answer.subject.subject_id if answer.subject is not None else None,
    }


def _resolved(tx: Tx, municipality_code: str, provisional_id: str) -> str | None:
    row = tx.one(
        "SELECT subject_id FROM provisional_subjects WHERE provisional_id = ? AND municipality_code = ?",
        [provisional_id, municipality_code],
    )
    return row[0] if row else None


def _link(tx: Tx, municipality_code: str, outcome: dict[str, Any], now: datetime) -> None:
    """Record the claim's outcome and link the visit's records that arrived before it (same transaction)."""
    provisional_id, subject_id = outcome["provisional_id"], outcome["subject_id"]
    tx.execute(
        "INSERT INTO provisional_subjects (provisional_id, municipality_code, subject_id, outcome, resolved_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (municipality_code, provisional_id) DO UPDATE SET "
        "subject_id = excluded.subject_id, outcome = excluded.outcome, resolved_at = excluded.resolved_at",
        [provisional_id, municipality_code, subject_id, outcome["outcome"], now.isoformat()],
    )
    if subject_id is None:
        return
    waiting = tx.execute(
        "SELECT record_id, body FROM inbox WHERE municipality_code = ? AND subject_id = ? AND kind != 'identity_claim'",
        [municipality_code, provisional_id],
    ).fetchall()
    for record_id, text in waiting:
        body = json.loads(text)
        body["subject_id"] = subject_id
        tx.execute(
            "UPDATE inbox SET subject_id = ?, body = ? WHERE record_id = ?",
            [subject_id, json.dumps(body, ensure_ascii=False, sort_keys=True), record_id],
        )


def unresolved_visits(db: Database, municipality_code: str) -> list[dict[str, Any]]:
    """Offline visits whose records are still provisional, for staff: the claim's outcome (or "no claim
    yet") and how many records wait. Never the card data."""
    rows = db.execute(
        "SELECT i.subject_id, COALESCE(MIN(p.outcome), 'no claim yet'), COUNT(*), MIN(i.created_at) FROM inbox i "
        "LEFT JOIN provisional_subjects p "
        "ON p.provisional_id = i.subject_id AND p.municipality_code = i.municipality_code "
        "WHERE i.municipality_code = ? AND i.subject_id LIKE 'P-%' AND i.kind != 'identity_claim' "
        "GROUP BY i.subject_id ORDER BY MIN(i.created_at)",
        [municipality_code],
        municipality_code,
    )
    keys = ("provisional_id", "outcome", "records", "first_created_at")
    return [dict(zip(keys, row, strict=True)) for row in rows]


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
