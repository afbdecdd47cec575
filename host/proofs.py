"""The host's own check of who decided, entered and checked a record (controls 13 and 16, seam 5).

A doctor's decision must carry `proofs.decided_by`, and a vaccination record `proofs.entered_by` and
`proofs.checked_by`: attestations this host signed when it verified those people
(`yoshin.host.attest`). Intake refuses the record, with the reason, unless each proof

- is signed by this host, names the sending device and its municipality, and was valid when the
  record was made (`created_at`; offline policy: the JST day of issue);
- names the staff ID the record names (exactly), of a staff member still active, with the role the
  act needs (a decision: doctor; entering and checking: doctor or nurse), under the name the record
  gives;
- and, for the second person, names somebody else: another staff record, whose ID differs in more
  than letter case, with another name, and not the same registered card.

A questionnaire response may carry reception's identity check (control 4, `reception` and
`proofs.identity_confirmed_by`): the same checks, for a member of the clinic's reception roles
(`RECEPTION_ROLES`: clerk, nurse, doctor), and a check made while that attestation was valid. Where the
municipality requires the check (host/policy.py), a questionnaire without it is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from yoshin.domain import normalize
from yoshin.domain.contract import (
    RECEPTION_ROLES,
    DoctorDecision,
    QuestionnaireResponse,
    Record,
    VaccinationRecord,
)
from yoshin.host import attest, staff
from yoshin.host.devices import Device
from yoshin.host.store import Database

CLINICAL = ("doctor", "nurse")


class ProofError(ValueError):
    """A record whose proofs do not hold; the message is the reason given to the device and audited."""


def _proved(
    db: Database,
    key: Ed25519PublicKey,
    device: Device,
    record: Record,
    proofs: Mapping[str, str],
    slot: str,
    staff_id: str,
    roles: tuple[str, ...],
    memo: dict[str, Any],
) -> staff.Member:
    token = proofs.get(slot)
    if token is None:
        raise ProofError(f"proofs.{slot}: missing (the host must have verified {staff_id})")
    try:
        claim = memo.get(f"token:{token}") if isinstance(token, str) else None
        if claim is None:
            claim = attest.verify(key, token)
            memo[f"token:{token}"] = claim  # only a token whose signature held
        attest.check_time(claim, record.created_at)
    except attest.AttestationError as error:
        raise ProofError(f"proofs.{slot}: {error}") from None
    if claim.device_id != device.device_id or claim.municipality_code != device.municipality_code:
        raise ProofError(f"proofs.{slot}: issued to another device")
    if claim.staff_id != staff_id:
        raise ProofError(f"proofs.{slot}: proves {claim.staff_id}, not {staff_id}")
    member = _member(db, staff_id, memo)
    if member is None or member.municipality_code != device.municipality_code:
        raise ProofError(f"proofs.{slot}: {staff_id} is not an active staff member")
    if member.role not in roles or claim.role not in roles:
        raise ProofError(f"proofs.{slot}: {staff_id} is a {member.role}; this needs a {' or '.join(roles)}")
    return member


def _member(db: Database, staff_id: str, memo: dict[str, Any]) -> staff.Member | None:
    """The staff record, read once per batch (one request's records name the same few staff)."""
    if f"staff:{staff_id}" not in memo:
        memo[f"staff:{staff_id}"] = staff.member(db, staff_id)
    member: staff.Member | None = memo[f"staff:{staff_id}"]
    return member


def _same_name(name: str, other: str) -> bool:
    return normalize.name_key(name).casefold() == normalize.name_key(other).casefold()


def check(
    db: Database,
    key: Ed25519PublicKey,
    device: Device,
    record: Record,
    memo: dict[str, Any] | None = None,
    reception_required: bool = False,
) -> None:
    """Raises ProofError with the reason unless the record's proofs hold; other kinds need none.

    `memo` (one batch's) keeps verified tokens and staff records for the batch's other records."""
    memo = {} if memo is None else memo
    if isinstance(record, QuestionnaireResponse):
        reception = record.reception
        if reception is None:
            if reception_required:
                raise ProofError(
                    "reception: missing (this municipality requires reception's identity check, control 4)"
                )
            return
        slot, clerk = "identity_confirmed_by", reception.confirmed_by
        _proved(db, key, device, record, record.proofs, slot, clerk, RECEPTION_ROLES, memo)
        try:
            attest.check_time(attest.verify(key, record.proofs[slot]), reception.confirmed_at)
        except attest.AttestationError as error:
            raise ProofError(f"reception.confirmed_at: {error}") from None
    elif isinstance(record, DoctorDecision):
        doctor = _proved(db, key, device, record, record.proofs, "decided_by", record.doctor_id, ("doctor",), memo)
        if not _same_name(doctor.name, record.doctor_name):
            raise ProofError("doctor_name: not the name of the doctor who decided")
    elif isinstance(record, VaccinationRecord):
        entered = _proved(db, key, device, record, record.proofs, "entered_by", record.entered_by, CLINICAL, memo)
        checked = _proved(db, key, device, record, record.proofs, "checked_by", record.checked_by, CLINICAL, memo)
        deciding = _member(db, record.doctor_id, memo)
        if deciding is None or deciding.role != "doctor" or not _same_name(deciding.name, record.doctor_name):
            raise ProofError(f"doctor_id: {record.doctor_id} is not an active doctor of that name")
        if (
            entered.staff_id.casefold() == checked.staff_id.casefold()
            or _same_name(entered.name, checked.name)
            or (entered.card_fingerprint is not None and entered.card_fingerprint == checked.card_fingerprint)
        ):
            raise ProofError("checked_by: the second check must be by another person (ID, name and card)")
