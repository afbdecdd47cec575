"""Synthetic, valid records of every kind, for the demo, documentation and tests of other components.

All values are invented; nothing here describes a real person.
"""

from __future__ import annotations

import base64
from typing import Any

EXAMPLE_MUNICIPALITY = "141305"  # Kawasaki (valid check digit)
EXAMPLE_CLINIC = "1410000001"


def questionnaire_response(record_id: str, subject_id: str = "S000102", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "record_id": record_id,
        "municipality_code": EXAMPLE_MUNICIPALITY,
        "clinic_code": EXAMPLE_CLINIC,
        "subject_id": subject_id,
        "created_at": "2026-10-15T09:05:00+09:00",
        "template_id": "flu_elderly",
        "template_version": "2026.3",
        "vaccine_code": "flu_elderly",
        "answers": {"read_leaflet": True, "unwell_today": False, "temperature": 36.5},
        "details": {},
        "flags": [],
        "respondent": "self",
        "guardian_name": None,
        "consent": True,
        "eligibility_verified": True,
        "started_at": "2026-10-15T09:00:00+09:00",
        "answered_at": "2026-10-15T09:04:00+09:00",
        "reception": None,
        "proofs": {},
    }
    data.update(changes)
    return data


def doctor_decision(record_id: str, questionnaire_record_id: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "record_id": record_id,
        "municipality_code": EXAMPLE_MUNICIPALITY,
        "clinic_code": EXAMPLE_CLINIC,
        "subject_id": "S000102",
        "created_at": "2026-10-15T09:20:00+09:00",
        "questionnaire_record_id": questionnaire_record_id,
        "decision": "proceed",
        "reason": None,
        "override_reason": None,
        "explanation_given": True,
        "doctor_id": "D0001",
        "doctor_name": "医師 一郎",
        "proofs": {},
    }
    data.update(changes)
    return data


def vaccination_record(record_id: str, questionnaire_record_id: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "record_id": record_id,
        "municipality_code": EXAMPLE_MUNICIPALITY,
        "clinic_code": EXAMPLE_CLINIC,
        "subject_id": "S000102",
        "created_at": "2026-10-15T09:30:00+09:00",
        "questionnaire_record_id": questionnaire_record_id,
        "vaccination_date": "2026-10-15",
        "consent": True,
        "doctor_id": "D0001",
        "doctor_name": "医師 一郎",
        "place": "みなと内科クリニック",
        "implementation_type": "individual",
        "vaccination_type": "routine",
        "vaccine_code": "flu_elderly",
        "dose_number": 1,
        "gtin": "02000000000121",
        "manufacturer": "デンカ (架空)",
        "generic_name": "インフルエンザHAワクチン",
        "brand_name": "インフルエンザHAワクチン相当 (架空)",
        "lot_number": "FLU26A01",
        "dose_amount_ml": "0.5",
        "site": "left_upper_arm",
        "route": "subcutaneous",
        "expiry_date": "2027-06-30",
        "caution_flag": False,
        "special_circumstances": None,
        "vaccinated_abroad": False,
        "entered_by": "N0001",
        "checked_by": "N0002",
        "guard_overrides": [],
        "proofs": {},
    }
    data.update(changes)
    return data


def identity_claim(record_id: str, subject_id: str = "P-" + "0" * 30, **changes: Any) -> dict[str, Any]:
    """An offline visit's identity claim. The EF fields are placeholder bytes, not card data: the tests
    that resolve a claim build real ones from a persona's card image (yoshin.devtools.card_emulator)."""
    data: dict[str, Any] = {
        "record_id": record_id,
        "municipality_code": EXAMPLE_MUNICIPALITY,
        "clinic_code": EXAMPLE_CLINIC,
        "subject_id": subject_id,
        "created_at": "2026-10-15T09:01:00+09:00",
        "ef_my_number": base64.b64encode(b"placeholder EF01").decode(),
        "ef_basic_info": base64.b64encode(b"placeholder EF02").decode(),
        "ef_signature": base64.b64encode(b"placeholder EF03").decode(),
    }
    data.update(changes)
    return data
