"""The resident's history re-read at the vaccination entry (issue 13, the guard): POST /history.

Between the card read and the needle (an hour at a busy clinic) another appliance may have recorded a
dose. The staff screen asks the host again, for the visit's subject id, just before the guard runs. What
the host answers is what the identity call's history holds (`Registry.history`: the registry's doses and
every vaccination record accepted from the municipality's appliances since), and the condition codes as
they are now; never a name, an address or the My Number.

Who may ask: the device's certificate (mutual TLS, its municipality only) and a staff proof, the host's
own attestation of the clinician logged in on that device, checked as intake checks a record's proofs
(`yoshin.host.attest`: signed by this host, issued to this device and municipality, valid now, an active
doctor or nurse). A stolen kiosk without a clinician's proof of today lists nothing. The path is rate-
limited per device like the identity call, and every answer and refusal is one audit line.

A subject id that is not the municipality's (unknown, another municipality's, a restricted resident's) is
refused with one code, so the answer does not say which; a provisional id (an offline visit whose claim
the host has not resolved) is refused with its own code: the host has no history under it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from yoshin.domain.contract import is_provisional
from yoshin.domain.i18n import Bilingual, BilingualError
from yoshin.host import attest, audit, staff
from yoshin.host.devices import Device
from yoshin.host.registry import Registry
from yoshin.host.store import Database
from yoshin.protocol.api import HistoryAnswer, HistoryItem

ACTION = "history.read"
CLINICAL = ("doctor", "nurse")  # who gives and enters a vaccination (as intake's proofs)
MAX_SUBJECT_ID = 32


class HistoryRefused(BilingualError):
    """A history request the host does not answer: the HTTP status, a closed code and a bilingual message
    for the staff screen; the English reason is what the audit line keeps."""

    def __init__(self, status: int, code: str, ja: str, en: str) -> None:
        super().__init__(Bilingual(ja=ja, en=en))
        self.status = status
        self.code = code


def _schema() -> HistoryRefused:
    return HistoryRefused(
        400, "wrong_schema", "要求の形式が正しくありません", "the body is {'subject_id': text, 'proof': text}"
    )


def _proof_refused(reason: str) -> HistoryRefused:
    return HistoryRefused(
        403,
        "staff_proof_refused",
        "履歴の照会には、この端末でログインした医師・看護師の確認が必要です",
        f"a history needs the proof of a doctor or nurse logged in on this device: {reason}",
    )


PROVISIONAL = HistoryRefused(
    409,
    "provisional_subject",
    "オフライン受付の仮番号です。ホストにはまだ履歴がありません",
    "a provisional subject id (an offline visit): the host has no history under it yet",
)
UNKNOWN = HistoryRefused(
    404,
    "unknown_subject",
    "この自治体の対象者ではありません",
    "no resident of this municipality has this subject id",
)


def _clinician(db: Database, key: Ed25519PublicKey, device: Device, proof: object, now: datetime) -> str:
    """The staff ID the proof attests, if it holds now for this device; raises HistoryRefused otherwise."""
    try:
        claim = attest.verify(key, proof)
        attest.check_time(claim, now)
    except attest.AttestationError as error:
        raise _proof_refused(str(error)) from None
    if claim.device_id != device.device_id or claim.municipality_code != device.municipality_code:
        raise _proof_refused("issued to another device")
    member = staff.member(db, claim.staff_id)
    if member is None or member.municipality_code != device.municipality_code:
        raise _proof_refused(f"{claim.staff_id} is not an active staff member")
    if member.role not in CLINICAL or claim.role not in CLINICAL:
        raise _proof_refused(f"{claim.staff_id} is a {member.role}; this needs a doctor or nurse")
    return claim.staff_id


def read_history(
    db: Database, registry: Registry, key: Ed25519PublicKey, device: Device, body: Any, now: datetime
) -> HistoryAnswer:
    """The subject's current history for `device`'s clinician, or HistoryRefused; audited either way."""
    code = device.municipality_code
    actor, target = "device", "-"
    try:
        if not isinstance(body, dict) or set(body) != {"subject_id", "proof"}:
            raise _schema()
        subject_id = body["subject_id"]
        if not isinstance(subject_id, str):
            raise _schema()
        if not 0 < len(subject_id) <= MAX_SUBJECT_ID or not subject_id.isascii() or not subject_id.isprintable():
            raise _schema()
        actor = _clinician(db, key, device, body["proof"], now)
        target = subject_id
        if is_provisional(subject_id):
            raise PROVISIONAL
        resident = registry.by_subject(code, subject_id)
        if resident is None or resident.restricted:  # 自動応答不可 etc.: never answered by a machine
            raise UNKNOWN
    except HistoryRefused as refused:
        with db.transaction(code) as tx:
            audit.append(tx, now, code, actor, device.device_id, ACTION, target, f"refused: {refused.message.en}")
        raise
    history = registry.history(resident.id)
    answer = HistoryAnswer(
        subject_id,
        tuple(HistoryItem(item.vaccine_code, item.dose_number, item.date, item.product) for item in history),
        tuple(sorted(resident.conditions)),
        now.isoformat(timespec="seconds"),
    )
    with db.transaction(code) as tx:
        audit.append(tx, now, code, actor, device.device_id, ACTION, subject_id, f"ok ({len(history)} doses)")
    return answer
