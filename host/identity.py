"""Identity resolution: who is at the kiosk, answered with a pseudonym and never with the My Number.

Face-read mode (controls 1, 2, 18, 19): the host opens the sealed EFs, checks the hashes (and the J-LIS
signature when a key is configured), finds the resident by My Number within the device's municipality,
and cross-checks name, birth date, sex and normalised address. JPKI mode: a signature with the card's
user-auth key over a host challenge, verified against pinned CAs, linked to a subject on an earlier
face-read visit or by an admin. Refusals are non-identifying; only an audit line is kept.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from yoshin.domain import normalize
from yoshin.domain.age import age_in_years
from yoshin.domain.catalogue import Catalogue
from yoshin.domain.i18n import Bilingual
from yoshin.domain.series import Subject, due_list
from yoshin.host import audit
from yoshin.host.devices import Device
from yoshin.host.registry import Registry, Resident
from yoshin.host.store import Database
from yoshin.protocol.api import DueItem, HistoryItem, IdentityAnswer, IdentityStatus, SubjectInfo
from yoshin.protocol.binding import face_bound
from yoshin.smartcard.carddata import hashes_match, parse_basic_info, parse_my_number, verify_face_signature
from yoshin.smartcard.errors import CardDataError
from yoshin.smartcard.verify import JpkiVerificationError, RevocationChecker, verify_jpki_auth

CHALLENGE_SECONDS = 120
NOT_FOUND = IdentityAnswer(
    IdentityStatus.NOT_FOUND,
    message=Bilingual(
        ja="ご本人の確認ができませんでした。受付の職員にお声がけください",
        en="We could not confirm who you are. Please speak to the reception staff",
    ),
)
REFER = IdentityAnswer(
    IdentityStatus.REFER_TO_STAFF,
    message=Bilingual(
        ja="受付の職員がご案内します。職員にお声がけください",
        en="A staff member will help you. Please speak to the reception staff",
    ),
)


def _subject_answer(registry: Registry, resident: Resident, today: date, catalogue: Catalogue) -> IdentityAnswer:
    subject = Subject(resident.birth_date, resident.sex, resident.conditions)
    history = registry.history(resident.id)
    due = due_list(subject, history, today, catalogue)
    age = age_in_years(resident.birth_date, today)
    info = SubjectInfo(
        subject_id=resident.subject_id,
        display_name=resident.name,
        birth_date=resident.birth_date,
        age=age,
        sex=resident.sex,
        is_minor=age < 18,
        guardian_name=resident.guardian_name,
        due=tuple(DueItem(item.vaccine_code, item.dose_number, item.reasons[0].text) for item in due),
        history=tuple(HistoryItem(item.vaccine_code, item.dose_number, item.date, item.product) for item in history),
        conditions=tuple(sorted(resident.conditions)),
    )
    return IdentityAnswer(IdentityStatus.OK, info)


def resolve_face(
    db: Database,
    registry: Registry,
    device: Device,
    body: dict[str, Any],
    now: datetime,
    today: date,
    catalogue: Catalogue,
    jlis_key: rsa.RSAPublicKey | None = None,
    jpki_anchors: Sequence[x509.Certificate] = (),
) -> IdentityAnswer:
    """Answer a face-read identity blob from `device` (only residents of the device's municipality).

    With `ef_auth_certificate`, `auth_challenge_id` and `auth_signature` the card's JPKI certificate is
    linked to the resident for later JPKI-mode visits, but only if that certificate's key signed this
    device's unused host challenge bound to this very read (`yoshin.protocol.binding.face_bound`)."""

    def refuse(answer: IdentityAnswer, outcome: str, target: str = "-") -> IdentityAnswer:
        with db.transaction(device.municipality_code) as tx:
            audit.append(
                tx, now, device.municipality_code, "resident", device.device_id, "identity.face", target, outcome
            )
        return answer

    try:
        ef1, ef2, ef3 = (
            base64.b64decode(body[key], validate=True) for key in ("ef_my_number", "ef_basic_info", "ef_signature")
        )
        number = parse_my_number(ef1)
        card = parse_basic_info(ef2)
        if not hashes_match(ef1, ef2, ef3):
            return refuse(NOT_FOUND, "refused: card hashes do not match")
        if jlis_key is not None and not verify_face_signature(ef3, jlis_key):
            return refuse(NOT_FOUND, "refused: J-LIS signature invalid")
    except (KeyError, TypeError, ValueError, CardDataError):
        return refuse(NOT_FOUND, "refused: malformed card data")
    resident = registry.find(device.municipality_code, number.reveal())
    if resident is None:
        return refuse(NOT_FOUND, "refused: not in this municipality's registry")
    mismatches = [
        name
        for name, same in (
            ("name", normalize.name_key(card.name) == normalize.name_key(resident.name)),
            ("birth_date", card.birth_date == resident.birth_date),
            ("sex", card.sex == resident.sex),
            ("address", normalize.address_key(card.address) == normalize.address_key(resident.address)),
        )
        if not same
    ]
    if mismatches:  # control 18: never the number alone
        return refuse(NOT_FOUND, f"refused: mismatch {','.join(mismatches)}", resident.subject_id)
    if resident.restricted:  # control 19: 自動応答不可, 不開示, 閲覧停止 go to staff
        return refuse(REFER, "referred: no automatic answer", resident.subject_id)
    with db.transaction(device.municipality_code) as tx:
        audit.append(
            tx, now, device.municipality_code, "resident", device.device_id, "identity.face", resident.subject_id, "ok"
        )
    if "ef_auth_certificate" in body:
        fingerprint = _bound_certificate(db, device, body, (ef1, ef2, ef3), jpki_anchors, now)
        if fingerprint:
            link_jpki(db, fingerprint, device.municipality_code, resident.subject_id, now, device.device_id)
        else:
            with db.transaction(device.municipality_code) as tx:
                audit.append(
                    tx, now, device.municipality_code, "resident", device.device_id, "jpki.link",
                    resident.subject_id, "refused: the certificate did not sign a challenge bound to this read",
                )  # fmt: skip
    return _subject_answer(registry, resident, today, catalogue)


def _bound_certificate(
    db: Database,
    device: Device,
    body: dict[str, Any],
    efs: tuple[bytes, bytes, bytes],
    anchors: Sequence[x509.Certificate],
    now: datetime,
) -> str | None:
    message = consume_challenge(db, device, body.get("auth_challenge_id"), now)
    if message is None:
        return None
    try:
        verified = verify_jpki_auth(
            base64.b64decode(str(body.get("ef_auth_certificate")), validate=True),
            base64.b64decode(str(body.get("auth_signature")), validate=True),
            face_bound(message, *efs),
            anchors,
            now,
        )
    except (JpkiVerificationError, ValueError):
        return None
    return verified.fingerprint


def link_jpki(
    db: Database, fingerprint: str, municipality_code: str, subject_id: str, now: datetime, actor: str
) -> None:
    with db.transaction(municipality_code) as tx:
        tx.execute(
            "INSERT INTO jpki_links (fingerprint, municipality_code, subject_id, linked_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (fingerprint, municipality_code) DO UPDATE SET subject_id = excluded.subject_id, "
            "linked_at = excluded.linked_at",
            [fingerprint, municipality_code, subject_id, now.isoformat()],
        )
        audit.append(tx, now, municipality_code, actor, actor, "jpki.link", subject_id, "ok")


def new_challenge(db: Database, device: Device, now: datetime, host_id: str = "yoshin-host") -> dict[str, str]:
    """A single-use, short-lived challenge bound to the device (mynumber-card.md §10.1)."""
    challenge_id = str(uuid.uuid4())
    expires = now + timedelta(seconds=CHALLENGE_SECONDS)
    message = f"JPKI-AUTH|{host_id}|{device.device_id}|{os.urandom(32).hex()}|{now.isoformat()}".encode()
    with db.transaction(device.municipality_code) as tx:
        tx.insert(
            "challenges",
            {
                "challenge_id": challenge_id,
                "device_id": device.device_id,
                "challenge": message,
                "expires_at": expires.isoformat(),
            },
        )
    return {"challenge_id": challenge_id, "challenge": message.hex(), "expires_at": expires.isoformat()}


def consume_challenge(db: Database, device: Device, challenge_id: object, now: datetime) -> bytes | None:
    """The challenge's message if it was issued to this device, unused and unexpired; it is used up now."""
    with db.transaction(device.municipality_code) as tx:
        tx.lock(f"challenge:{challenge_id}")  # used once, even by concurrent requests on several workers
        row = tx.one(
            "SELECT challenge, expires_at, used FROM challenges WHERE challenge_id = ? AND device_id = ?",
            [str(challenge_id), device.device_id],
        )
        if row is not None:
            tx.execute("UPDATE challenges SET used = 1 WHERE challenge_id = ?", [str(challenge_id)])
    if row is None or row[2] or row[1] <= now.isoformat():
        return None
    return bytes(row[0])


def resolve_jpki(
    db: Database,
    registry: Registry,
    device: Device,
    body: dict[str, Any],
    now: datetime,
    today: date,
    catalogue: Catalogue,
    anchors: Sequence[x509.Certificate],
    revocation: RevocationChecker | None = None,
) -> IdentityAnswer:
    def refuse(outcome: str) -> IdentityAnswer:
        with db.transaction(device.municipality_code) as tx:
            audit.append(tx, now, device.municipality_code, "resident", device.device_id, "identity.jpki", "-", outcome)
        return NOT_FOUND

    message = consume_challenge(db, device, body.get("challenge_id"), now)
    if message is None:
        return refuse("refused: unknown, used or expired challenge")
    try:
        verified = verify_jpki_auth(
            base64.b64decode(str(body.get("certificate")), validate=True),
            base64.b64decode(str(body.get("signature")), validate=True),
            message,
            anchors,
            now,
            revocation,
        )
    except (JpkiVerificationError, ValueError) as error:
        return refuse(f"refused: {getattr(error, 'reason', 'malformed')}")
    link = db.execute(
        "SELECT subject_id FROM jpki_links WHERE fingerprint = ? AND municipality_code = ?",
        [verified.fingerprint, device.municipality_code],
        device.municipality_code,
    ).fetchone()
    resident = registry.by_subject(device.municipality_code, link[0]) if link else None
    if resident is None:
        return refuse("refused: certificate not linked to a subject")
    if resident.restricted:
        with db.transaction(device.municipality_code) as tx:
            audit.append(
                tx,
                now,
                device.municipality_code,
                "resident",
                device.device_id,
                "identity.jpki",
                resident.subject_id,
                "referred",
            )
        return REFER
    with db.transaction(device.municipality_code) as tx:
        audit.append(
            tx, now, device.municipality_code, "resident", device.device_id, "identity.jpki", resident.subject_id,
            f"ok (revocation {verified.revocation.value})",
        )  # fmt: skip
    return _subject_answer(registry, resident, today, catalogue).with_revocation(verified.revocation.value)
