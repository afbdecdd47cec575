"""The records a visit produces, built from what the kiosk collected: pure functions, no I/O.

The contract (yoshin.domain.contract) is the judge of every record; these functions only assemble
its fields from the visit, the staff session and the clinic's identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from yoshin.domain.catalogue import Product
from yoshin.domain.templates import RaisedFlag
from yoshin.protocol.sealing import new_record_id


@dataclass(frozen=True, slots=True)
class Clinic:
    municipality_code: str
    clinic_code: str
    place: str


@dataclass(frozen=True, slots=True)
class StaffMember:
    staff_id: str
    name: str
    role: str
    # the host's signed word that it verified this member (seam 5); records carry it back in `proofs`
    attestation: str | None = field(default=None, compare=False, repr=False)


def _proofs(**members: StaffMember) -> dict[str, str]:
    return {slot: member.attestation for slot, member in members.items() if member.attestation}


@dataclass(frozen=True, slots=True)
class Administration:
    """What the nurse enters: which pack (scanned or picked), where and how it was given."""

    product: Product
    lot_number: str
    expiry_date: date
    site: str
    dose_amount_ml: Decimal


def _common(clinic: Clinic, subject_id: str, now: str) -> dict[str, Any]:
    return {
        "record_id": new_record_id(),
        "municipality_code": clinic.municipality_code,
        "clinic_code": clinic.clinic_code,
        "subject_id": subject_id,
        "created_at": now,
    }


def identity_claim(clinic: Clinic, provisional_subject_id: str, now: str) -> dict[str, Any]:
    """The frame of an offline visit's identity claim; the caller adds the card's sealed face data."""
    return _common(clinic, provisional_subject_id, now)


def questionnaire_response(
    clinic: Clinic,
    subject_id: str,
    template: Any,
    answers: dict[str, Any],
    details: dict[str, str],
    flags: list[RaisedFlag],
    guardian_name: str | None,
    eligibility_verified: bool,
    started_at: str,
    now: str,
) -> dict[str, Any]:
    return {
        **_common(clinic, subject_id, now),
        "template_id": template.id,
        "template_version": template.version,
        "vaccine_code": template.vaccine_code,
        "answers": answers,
        "details": details,
        "flags": [{"question_id": f.question_id, "flag": f.flag} for f in flags],
        "respondent": "guardian" if guardian_name else "self",
        "guardian_name": guardian_name,
        "consent": True,
        "eligibility_verified": eligibility_verified,
        "started_at": started_at,
        "answered_at": now,
    }


def doctor_decision(
    clinic: Clinic,
    questionnaire: dict[str, Any],
    doctor: StaffMember,
    decision: str,
    reason: str | None,
    override_reason: str | None,
    now: str,
) -> dict[str, Any]:
    return {
        **_common(clinic, questionnaire["subject_id"], now),
        "questionnaire_record_id": questionnaire["record_id"],
        "decision": decision,
        "reason": reason,
        "override_reason": override_reason,
        "explanation_given": True,
        "doctor_id": doctor.staff_id,
        "doctor_name": doctor.name,
        "proofs": _proofs(decided_by=doctor),
    }


def vaccination_record(
    clinic: Clinic,
    questionnaire: dict[str, Any],
    decision: dict[str, Any],
    dose_number: int,
    given: Administration,
    entered_by: StaffMember,
    checked_by: StaffMember,
    vaccination_date: date,
    now: str,
) -> dict[str, Any]:
    product = given.product
    return {
        **_common(clinic, questionnaire["subject_id"], now),
        "questionnaire_record_id": questionnaire["record_id"],
        "vaccination_date": vaccination_date.isoformat(),
        "consent": True,
        "doctor_id": decision["doctor_id"],
        "doctor_name": decision["doctor_name"],
        "place": clinic.place,
        "implementation_type": "individual",
        "vaccination_type": "routine",
        "vaccine_code": product.vaccine_code,
        "dose_number": dose_number,
        "gtin": product.gtin,
        "manufacturer": product.manufacturer,
        "generic_name": product.generic_name,
        "brand_name": product.brand_name,
        "lot_number": given.lot_number,
        "dose_amount_ml": str(given.dose_amount_ml),
        "site": given.site,
        "route": product.route,
        "expiry_date": given.expiry_date.isoformat(),
        "caution_flag": bool(questionnaire["flags"]),
        "special_circumstances": decision["override_reason"],
        "vaccinated_abroad": False,
        "entered_by": entered_by.staff_id,
        "checked_by": checked_by.staff_id,
        "proofs": _proofs(entered_by=entered_by, checked_by=checked_by),
    }
