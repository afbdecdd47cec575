"""Identity resolution: who is at the kiosk, answered with a pseudonym and never with the My Number.

Face-read mode (controls 1, 2, 18, 19): the host opens the sealed EFs, checks the hashes (and the J-LIS
signature when a key is configured), finds the resident by My Number within the device's municipality,
and cross-checks name, birth date, sex and normalised address. JPKI mode: a signature with the card's
user-auth key over a host challenge, verified against pinned CAs, linked to a subject on an earlier
face-read visit or by an admin. Refusals are non-identifying; only an audit line is kept.

Look-ups do the same work whether or not the subject exists (finding 8): an unregistered number, or an
unlinked certificate, is looked up as `DECOY`, compared in constant time, and answered with the one
refusal a mismatch gets. Only an authentic read of a registered resident differs, by its answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
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
from yoshin.host.store import Database, Tx
from yoshin.protocol.api import DueItem, HistoryItem, IdentityAnswer, IdentityStatus, SubjectInfo
from yoshin.protocol.binding import face_bound
from yoshin.smartcard.carddata import hashes_match, parse_basic_info, parse_my_number, verify_face_signature
from yoshin.smartcard.errors import CardDataError
from yoshin.smartcard.verify import JpkiVerificationError, RevocationChecker, verify_jpki_auth

CHALLENGE_SECONDS = 120
BINDING_SECONDS = 30  # a face-read binding must use a challenge issued at most this long before (finding 4)
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
# Finding 8: whoever is not in the registry is looked up as this stand-in, so an unregistered number costs
# the same work as a registered one (the same queries, comparisons, due list and audit line) and gets the
# very answer a registered one with a mismatch gets. Its id matches no row; its fields match no card.
DECOY = Resident(
    id=-1, municipality_code="000000", subject_id="S000000000000000", kana="-", name="-", address="-",
    birth_date=date(2000, 1, 1), sex="female", guardian_name=None, no_auto_answer=False, conditions=frozenset(),
)  # fmt: skip
BINDING_SKIPS = frozenset({"no_auth_pin", "auth_pin_tries_not_full", "auth_pin_differs", "no_challenge"})


def _same(left: str, right: str) -> bool:
    """Equal, in time that depends on neither text (digests of one length, compared in constant time)."""
    return hmac.compare_digest(hashlib.sha256(left.encode()).digest(), hashlib.sha256(right.encode()).digest())


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

    Finding 8: once the card data is well formed and authentic, the work done and the answer's shape do not
    depend on whether the number is registered: one registry query, four constant-time comparisons, the
    history and due list (of the resident, or of `DECOY`), the binding's checks, and one transaction with
    the audit line. A registered number with a mismatch and an unregistered one get byte-identical answers.

    With `ef_auth_certificate`, `auth_challenge_id` and `auth_signature` the card's JPKI certificate is
    linked to the resident for later JPKI-mode visits, but only if that certificate's key signed this
    device's unused host challenge, issued at most `BINDING_SECONDS` before, bound to this very read
    (`yoshin.protocol.binding.face_bound`), and the certificate is not linked to another subject."""
    code = device.municipality_code
    try:
        ef1, ef2, ef3 = (
            base64.b64decode(body[key], validate=True) for key in ("ef_my_number", "ef_basic_info", "ef_signature")
        )
        number = parse_my_number(ef1)
        card = parse_basic_info(ef2)
        refused = None
        if not hashes_match(ef1, ef2, ef3):
            refused = "refused: card hashes do not match"
        elif jlis_key is not None and not verify_face_signature(ef3, jlis_key):
            refused = "refused: J-LIS signature invalid"
    except (KeyError, TypeError, ValueError, CardDataError):
        refused = "refused: malformed card data"
    if refused is not None:  # not authentic card data: nothing about any resident is looked at
        with db.transaction(code) as tx:
            audit.append(tx, now, code, "resident", device.device_id, "identity.face", "-", refused)
        return NOT_FOUND
    resident = registry.find(code, number.reveal())
    candidate = resident or DECOY
    checks = (  # every comparison is made, none short-circuits (control 18: never the number alone)
        ("name", _same(normalize.name_key(card.name), normalize.name_key(candidate.name))),
        ("birth_date", _same(card.birth_date.isoformat(), candidate.birth_date.isoformat())),
        ("sex", _same(card.sex, candidate.sex)),
        ("address", _same(normalize.address_key(card.address), normalize.address_key(candidate.address))),
    )
    mismatches = [name for name, same in checks if not same]
    matched = resident is not None and not mismatches
    subject = resident if matched and resident is not None else DECOY
    answer = _subject_answer(registry, subject, today, catalogue)  # for the decoy too: the same work
    binding = _Binding.of(db, device, body, (ef1, ef2, ef3), jpki_anchors, now)
    if resident is None:
        target, outcome, answer = "-", "refused: not in this municipality's registry", NOT_FOUND
    elif mismatches:
        target, outcome, answer = resident.subject_id, f"refused: mismatch {','.join(mismatches)}", NOT_FOUND
    elif resident.restricted:  # control 19: 自動応答不可, 不開示, 閲覧停止 go to staff
        target, outcome, answer = resident.subject_id, "referred: no automatic answer", REFER
    else:
        target, outcome = resident.subject_id, "ok"
    with db.transaction(code) as tx:
        audit.append(tx, now, code, "resident", device.device_id, "identity.face", target, outcome)
        binding.record(tx, code, target if answer.ok else None, now, device.device_id)
    return answer


class _Binding:
    """What a face read says about the card's JPKI certificate (finding 4), checked before the look-up's
    outcome is known and recorded in the look-up's own transaction."""

    def __init__(self, sent: bool, fingerprint: str | None, reason: str) -> None:
        self.sent = sent
        self.fingerprint = fingerprint
        self.reason = reason

    @classmethod
    def of(
        cls,
        db: Database,
        device: Device,
        body: dict[str, Any],
        efs: tuple[bytes, bytes, bytes],
        anchors: Sequence[x509.Certificate],
        now: datetime,
    ) -> _Binding:
        skipped = body.get("auth_binding_skipped")
        if "ef_auth_certificate" not in body:
            known = isinstance(skipped, str) and skipped in BINDING_SKIPS  # any JSON value may come
            reason = f"skipped: {skipped}" if known else "skipped: none sent"
            return cls(isinstance(skipped, str), None, reason)
        message = consume_challenge(db, device, body.get("auth_challenge_id"), now, within=BINDING_SECONDS)
        if message is None:
            return cls(True, None, "refused: unknown, used or expired challenge")
        try:
            verified = verify_jpki_auth(
                base64.b64decode(str(body.get("ef_auth_certificate")), validate=True),
                base64.b64decode(str(body.get("auth_signature")), validate=True),
                face_bound(message, *efs),
                anchors,
                now,
            )
        except (JpkiVerificationError, ValueError):
            return cls(True, None, "refused: the certificate did not sign a challenge bound to this read")
        return cls(True, verified.fingerprint, "ok")

    def record(self, tx: Tx, code: str, subject_id: str | None, now: datetime, terminal: str) -> None:
        """Link (the same statements whether or not it links), and one audit line, when a binding was sent
        or its absence explained; nothing otherwise."""
        if not self.sent:
            return
        outcome = self.reason
        if self.fingerprint is not None:
            row = tx.one(
                "SELECT subject_id FROM jpki_links WHERE fingerprint = ? AND municipality_code = ?",
                [self.fingerprint, code],
            )
            elsewhere = row is not None and not hmac.compare_digest(str(row[0]), subject_id or "")
            linked = subject_id is not None and not elsewhere
            tx.execute(
                "INSERT INTO jpki_links (fingerprint, municipality_code, subject_id, linked_at) "
                "SELECT ?, ?, ?, ? WHERE ? = 1 "
                "ON CONFLICT (fingerprint, municipality_code) DO UPDATE SET linked_at = excluded.linked_at",
                [self.fingerprint, code, subject_id or "-", now.isoformat(), int(linked)],
            )
            if subject_id is None:
                outcome = "refused: the face read was not answered"
            elif elsewhere:
                outcome = "refused: the certificate is linked to another subject"
        audit.append(tx, now, code, "resident", terminal, "jpki.link", subject_id or "-", outcome)


def link_jpki(
    db: Database, fingerprint: str, municipality_code: str, subject_id: str, now: datetime, actor: str
) -> None:
    """An administrator's link (or re-link, e.g. after the card was renewed) of a certificate to a subject."""
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


def consume_challenge(
    db: Database, device: Device, challenge_id: object, now: datetime, within: int = CHALLENGE_SECONDS
) -> bytes | None:
    """The challenge's message if it was issued to this device, unused, unexpired and at most `within`
    seconds ago; it is used up now, whatever the answer."""
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
    issued = datetime.fromisoformat(row[1]) - timedelta(seconds=CHALLENGE_SECONDS)
    if now - issued > timedelta(seconds=within):
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
    # finding 8: a linked and an unlinked certificate cost the same queries and the same due-list work
    resident = registry.by_subject(device.municipality_code, str(link[0]) if link else DECOY.subject_id)
    answer = _subject_answer(registry, resident or DECOY, today, catalogue).with_revocation(verified.revocation.value)
    if resident is None:
        return refuse("refused: certificate not linked to a subject")
    if resident.restricted:
        with db.transaction(device.municipality_code) as tx:
            audit.append(
                tx, now, device.municipality_code, "resident", device.device_id, "identity.jpki", resident.subject_id,
                "referred",
            )  # fmt: skip
        return REFER
    with db.transaction(device.municipality_code) as tx:
        audit.append(
            tx, now, device.municipality_code, "resident", device.device_id, "identity.jpki", resident.subject_id,
            f"ok (revocation {verified.revocation.value})",
        )  # fmt: skip
    return answer
