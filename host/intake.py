"""Record intake: batches of sealed, device-signed records, each answered on its own.

A batch is one transaction: every record's inbox row, audit line and identity links are stored whole or
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
from dataclasses import dataclass
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
    records are refused (a host that cannot check who decided accepts no decision).

    Each record is checked on its own first (signature, decryption, contract, proofs: no write lock held,
    so workers do this in parallel); then the whole batch is stored in one transaction, with the audit
    chain's head taken once. Should that transaction fail for a reason other than a busy store, each
    record is stored in a transaction of its own instead, so one poison record still fails alone.
    """
    memo: dict[str, Any] = {}  # staff and proof checks repeat within a batch (one session's staff)
    opened: list[RecordResult | _Answered | _Opened] = []
    for item in envelopes:
        try:
            opened.append(_open_one(device, item, host_key))
        except Exception:  # one poison envelope never fails the batch: it alone is refused
            opened.append(RecordResult(_record_id(item, 64), "rejected", "the record could not be processed"))
            log.exception("record could not be processed")
    candidates = [o for o in opened if isinstance(o, _Opened)]
    known = _known_many(db, device, candidates)  # a resend is answered before its claim is resolved again
    memo["births"] = _births(db, device, candidates)
    checked: list[RecordResult | _Answered | _Pending] = []
    for outcome in opened:
        try:
            checked.append(
                _check_one(db, device, outcome, known, now, resolve_face, attestation_key, memo)
                if isinstance(outcome, _Opened)
                else outcome
            )
        except StoreBusy:
            raise  # the whole request is answered 503 and retried
        except Exception:
            assert isinstance(outcome, _Opened)
            checked.append(RecordResult(outcome.record_id, "rejected", "the record could not be processed"))
            log.exception("record could not be processed")
    try:
        with db.transaction(device.municipality_code) as tx:
            return _store_batch(tx, device, checked, now)
    except StoreBusy:
        raise
    except Exception:
        log.exception("the batch could not be stored in one transaction: storing record by record")
    return [_store_alone(db, device, outcome, now) for outcome in checked]


def _record_id(item: Any, limit: int | None = None) -> str:
    return str(item.get("header", {}).get("record_id", "?"))[:limit] if isinstance(item, dict) else "?"


@dataclass(slots=True)
class _Pending:
    """A record that passed every check that needs no write: stored (or refused) in the batch's transaction."""

    envelope: SealedEnvelope
    record_id: str
    kind: str
    municipality: str
    subject_id: str
    body: dict[str, Any]
    digest: str
    refusal: str | None


@dataclass(frozen=True, slots=True)
class _Answered:
    """A record answered without storing it; `audit` is the refusal to audit, if any."""

    result: RecordResult
    audit: str | None


@dataclass(slots=True)
class _Opened:
    """A record whose envelope, signature, decryption and contract hold (no database read yet)."""

    envelope: SealedEnvelope
    record_id: str
    kind: str
    record: Any  # the parsed record, or None for an appliance audit event
    municipality: str
    subject_id: str
    body: dict[str, Any]
    digest: str


def _open_one(device: Device, item: Any, host_key: X25519PrivateKey) -> RecordResult | _Answered | _Opened:
    record_id = _record_id(item)
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
    except (SealError, ContractError, ValueError, TypeError, KeyError) as error:
        reason = str(error.message.en) if isinstance(error, SealError | ContractError) else str(error)
        return _Answered(RecordResult(record_id, "rejected", reason), reason)
    # the digest is of the body as received, before a claim is resolved or a subject linked
    return _Opened(envelope, record_id, kind, record, municipality, subject_id, body, body_digest(body))


def _known_many(db: Database, device: Device, opened: list[_Opened]) -> dict[str, tuple[str, str, str | None]]:
    """The stored (device, municipality, body digest) of each of the batch's record ids already stored
    (one query for the batch); each record is then answered against its own digest (see `_known`)."""
    ids = sorted({o.record_id for o in opened})
    stored: dict[str, tuple[str, str, str | None]] = {}
    if not ids:
        return stored
    with db.read(device.municipality_code) as tx:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = tx.execute(
                "SELECT record_id, device_id, municipality_code, body_sha256 FROM inbox "  # noqa: S608 (placeholders)
                f"WHERE record_id IN ({', '.join('?' for _ in chunk)})",
                chunk,
            ).fetchall()
            stored.update({row[0]: (row[1], row[2], row[3]) for row in rows})
    return stored


def _births(db: Database, device: Device, opened: list[_Opened]) -> dict[str, str | None]:
    """The birth dates of the residents the batch's records name (one query; None: no such resident)."""
    subjects = sorted(
        {o.subject_id for o in opened if o.record is not None and not isinstance(o.record, IdentityClaim)}
        - {o.subject_id for o in opened if is_provisional(o.subject_id)}
    )
    births: dict[str, str | None] = dict.fromkeys(subjects)
    with db.read(device.municipality_code) as tx:
        for start in range(0, len(subjects), 500):
            chunk = subjects[start : start + 500]
            rows = tx.execute(
                "SELECT subject_id, birth_date FROM residents WHERE municipality_code = ? "  # noqa: S608
                f"AND subject_id IN ({', '.join('?' for _ in chunk)})",
                [device.municipality_code, *chunk],
            ).fetchall()
            births.update({subject: str(birth) for subject, birth in rows})
    return births


def _check_one(
    db: Database,
    device: Device,
    opened: _Opened,
    known: dict[str, tuple[str, str, str | None]],
    now: datetime,
    resolve_face: ResolveFace,
    attestation_key: Ed25519PublicKey | None,
    memo: dict[str, Any],
) -> _Answered | _Pending:
    stored = known.get(opened.record_id)
    if stored is not None:
        answer = _answer(opened.record_id, device, opened.digest, *stored)
        return _Answered(answer, answer.reason if answer.status == "rejected" else None)
    record, body = opened.record, opened.body
    try:
        # refused only once the insert shows the id is not another's (that answer comes first)
        refusal = None if record is None else _host_refusal(db, device, record, now, attestation_key, memo)
        if isinstance(record, IdentityClaim) and refusal is None:
            body = _resolve_claim(record, device, resolve_face)
    except (SealError, ContractError, ValueError, TypeError, KeyError) as error:
        reason = str(error.message.en) if isinstance(error, SealError | ContractError) else str(error)
        return _Answered(RecordResult(opened.record_id, "rejected", reason), reason)
    return _Pending(
        opened.envelope, opened.record_id, opened.kind, opened.municipality, opened.subject_id, body,
        opened.digest, refusal,
    )  # fmt: skip


def _store_batch(
    tx: Tx, device: Device, checked: list[RecordResult | _Answered | _Pending], now: datetime
) -> list[RecordResult]:
    """The batch in its transaction. Plain records (a resident's, no refusal to roll back, no claim to
    link) go in with one INSERT and their audit lines with one more; the others one by one."""
    plain = [
        n for n, o in enumerate(checked)
        if isinstance(o, _Pending) and o.refusal is None and o.kind != RecordKind.IDENTITY_CLAIM
        and not is_provisional(o.subject_id)
    ]  # fmt: skip
    results: dict[int, RecordResult] = {}
    lines: list[audit.Line] = []
    if plain:
        pending = [checked[n] for n in plain]
        inserted = _insert_many(tx, device, pending, now)  # type: ignore[arg-type]
        for n, item in zip(plain, pending, strict=True):
            assert isinstance(item, _Pending)
            if item.record_id in inserted:
                inserted.discard(item.record_id)  # a second copy in this batch is answered as stored
                results[n] = RecordResult(item.record_id, "accepted")
                lines.append(_accepted_line(device, item, now))
            else:
                results[n] = _known(tx, item.record_id, device, item.digest) or RecordResult(
                    item.record_id, "rejected", ELSEWHERE
                )
                if results[n].status == "rejected":
                    lines.append(_refusal_line(device, item.record_id, results[n].reason or "", now))
        audit.append_many(tx, lines)
    for n, outcome in enumerate(checked):
        if n not in results:
            results[n] = _store_checked(tx, device, outcome, now)
    return [results[n] for n in range(len(checked))]


_INBOX = "record_id, device_id, municipality_code, subject_id, kind, received_at, created_at, body, body_sha256"


def _inbox_row(device: Device, pending: _Pending, now: datetime) -> list[object]:
    return [
        pending.record_id, device.device_id, pending.municipality, pending.subject_id, pending.kind,
        now.isoformat(), pending.envelope.header.created_at,
        json.dumps(pending.body, ensure_ascii=False, sort_keys=True), pending.digest,
    ]  # fmt: skip


def _insert_many(tx: Tx, device: Device, pending: list[_Pending], now: datetime) -> set[str]:
    """Insert the rows whose id is free; the ids inserted (a taken id is skipped, decided after)."""
    inserted: set[str] = set()
    for start in range(0, len(pending), 100):
        chunk = pending[start : start + 100]
        values = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in chunk)
        rows = tx.execute(
            f"INSERT INTO inbox ({_INBOX}) VALUES {values} ON CONFLICT (record_id) DO NOTHING RETURNING record_id",  # noqa: S608
            [value for item in chunk for value in _inbox_row(device, item, now)],
        ).fetchall()
        inserted.update(row[0] for row in rows)
    return inserted


def _accepted_line(device: Device, pending: _Pending, now: datetime) -> audit.Line:
    return (
        now, pending.municipality, device.device_id, device.device_id, f"record.{pending.kind}", pending.record_id,
        _accepted(pending.kind, pending.body),
    )  # fmt: skip


def _refusal_line(device: Device, record_id: str, reason: str, now: datetime) -> audit.Line:
    return (
        now, device.municipality_code, device.device_id, device.device_id, "record.intake", record_id,
        f"rejected: {reason}",
    )  # fmt: skip


def _store_checked(tx: Tx, device: Device, outcome: RecordResult | _Answered | _Pending, now: datetime) -> RecordResult:
    """Inside the batch's transaction: store a checked record, or audit the refusal already decided."""
    if isinstance(outcome, RecordResult):  # could not be processed at all: answered, nothing to audit
        return outcome
    if isinstance(outcome, _Answered):
        if outcome.audit is not None:
            _audit_refusal(tx, device, outcome.result.record_id, outcome.audit, now)
        return outcome.result
    try:
        with tx.savepoint():
            return _store(tx, device, outcome, now)
    except _Refused as refused:  # the insert was rolled back to the savepoint
        _audit_refusal(tx, device, outcome.record_id, refused.reason, now)
        return RecordResult(outcome.record_id, "rejected", refused.reason)


def _store_alone(
    db: Database, device: Device, outcome: RecordResult | _Answered | _Pending, now: datetime
) -> RecordResult:
    """The fallback: one transaction for this record only; a record that fails is refused alone."""
    try:
        with db.transaction(device.municipality_code) as tx:
            return _store_checked(tx, device, outcome, now)
    except StoreBusy:
        raise
    except Exception:
        log.exception("record could not be processed")
        record_id = outcome.record_id if isinstance(outcome, RecordResult | _Pending) else outcome.result.record_id
        return RecordResult(record_id, "rejected", "the record could not be processed")


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _host_refusal(
    db: Database,
    device: Device,
    record: Any,
    now: datetime,
    attestation_key: Ed25519PublicKey | None,
    memo: dict[str, Any] | None = None,
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
        births = (memo or {}).get("births", {})
        if record.subject_id in births:  # read for the whole batch at once
            found = births[record.subject_id]
        else:
            with db.read(device.municipality_code) as tx:
                row = tx.one(
                    "SELECT birth_date FROM residents WHERE municipality_code = ? AND subject_id = ?",
                    [device.municipality_code, record.subject_id],
                )
            found = None if row is None else str(row[0])
        if found is None:
            return "subject_id: no such resident in this municipality"
        birth = date.fromisoformat(found)
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
            proofs.check(db, attestation_key, device, record, memo)
        except proofs.ProofError as error:
            return str(error)
    if isinstance(record, QuestionnaireResponse):
        memo = {} if memo is None else memo
        if "reception_required" not in memo:  # the municipality's policy, read once per batch
            memo["reception_required"] = policy.reception_required(db, device.municipality_code)
        required = bool(memo["reception_required"])
        if record.reception is None and not required:
            return None
        if attestation_key is None:
            return "this host checks no proofs, so it accepts no reception check"
        try:
            proofs.check(db, attestation_key, device, record, memo, reception_required=required)
        except proofs.ProofError as error:
            return str(error)
    return None


def _store(tx: Tx, device: Device, pending: _Pending, now: datetime) -> RecordResult:
    record_id, kind, municipality, body = pending.record_id, pending.kind, pending.municipality, pending.body
    subject_id = pending.subject_id
    if kind != RecordKind.IDENTITY_CLAIM and is_provisional(subject_id):
        # looked up inside the transaction, so a claim resolved meanwhile cannot be missed
        subject_id = _resolved(tx, municipality, subject_id) or subject_id
        body["subject_id"] = subject_id
    pending.subject_id = subject_id
    inserted = tx.execute(
        f"INSERT INTO inbox ({_INBOX}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (record_id) DO NOTHING",  # noqa: S608
        _inbox_row(device, pending, now),
    ).rowcount
    if inserted != 1:  # stored meanwhile (a concurrent request, or earlier in this batch): decided on what is stored
        known = _known(tx, record_id, device, pending.digest) or RecordResult(record_id, "rejected", ELSEWHERE)
        if known.status == "rejected":
            _audit_refusal(tx, device, record_id, known.reason or "", now)
        return known
    if pending.refusal is not None:
        raise _Refused(pending.refusal)
    if kind == RecordKind.IDENTITY_CLAIM:
        _link(tx, municipality, body, now)
    audit.append_many(tx, [_accepted_line(device, pending, now)])
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
    return None if row is None else _answer(record_id, device, digest, *row)


def _answer(
    record_id: str, device: Device, digest: str, stored_device: str, stored_municipality: str, stored_digest: str | None
) -> RecordResult:
    if stored_device != device.device_id or stored_municipality != device.municipality_code:
        return RecordResult(record_id, "rejected", ELSEWHERE)
    if stored_digest is not None and stored_digest != digest:
        return RecordResult(record_id, "rejected", DIFFERENT)
    return RecordResult(record_id, "duplicate")


def _audit_refusal(tx: Tx, device: Device, record_id: str, reason: str, now: datetime) -> None:
    audit.append_many(tx, [_refusal_line(device, record_id, reason, now)])


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
