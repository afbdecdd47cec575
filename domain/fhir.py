"""Mapping of the record contract to FHIR R4 (JP Core profiles where they exist).

Pure dict builders for the host's exports. No My Number ever appears: the patient is referenced by the
pseudonymous subject number (予防接種対象者番号) under the municipality's identifier system.
"""

from __future__ import annotations

from typing import Any

from yoshin.domain.catalogue import Catalogue
from yoshin.domain.contract import QuestionnaireResponse, VaccinationRecord

JP_IMMUNIZATION = "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Immunization"
JP_PATIENT_ID = "urn:oid:1.2.392.100495.20.3.51"  # JP Core: 医療機関等の患者ID, one system per organisation
RECORD_ID_SYSTEM = "urn:ietf:rfc:3986"
SUBJECT_SYSTEM = "urn:yoshin:subject:{municipality}"
SITE_CODES = {  # HL7 v3 ActSite
    "left_upper_arm": ("LA", "left arm"),
    "right_upper_arm": ("RA", "right arm"),
    "left_thigh": ("LT", "left thigh"),
    "right_thigh": ("RT", "right thigh"),
}
ROUTE_CODES = {  # HL7 v3 RouteOfAdministration
    "subcutaneous": ("SQ", "subcutaneous"),
    "intramuscular": ("IM", "intramuscular"),
    "oral": ("PO", "oral"),
    "percutaneous": ("TRNSDERMD", "transdermal"),
    "intranasal": ("NASINHLC", "nasal inhalation"),
}


def _patient(municipality_code: str, subject_id: str) -> dict[str, Any]:
    return {"identifier": {"system": SUBJECT_SYSTEM.format(municipality=municipality_code), "value": subject_id}}


def to_fhir_immunization(record: VaccinationRecord, catalogue: Catalogue | None = None) -> dict[str, Any]:
    vaccine = catalogue.vaccine(record.vaccine_code, record.vaccination_date) if catalogue else None
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "meta": {"profile": [JP_IMMUNIZATION]},
        "identifier": [{"system": RECORD_ID_SYSTEM, "value": f"urn:uuid:{record.record_id}"}],
        "status": "completed",
        "vaccineCode": {
            "coding": [{"system": "urn:oid:1.3.160", "code": record.gtin, "display": record.brand_name}],
            "text": vaccine.name.ja if vaccine else record.generic_name,
        },
        "patient": _patient(record.municipality_code, record.subject_id),
        "occurrenceDateTime": record.vaccination_date.isoformat(),
        "recorded": record.created_at.isoformat(),
        "primarySource": not record.vaccinated_abroad,
        "manufacturer": {"display": record.manufacturer},
        "lotNumber": record.lot_number,
        "expirationDate": record.expiry_date.isoformat(),
        "route": _coding("http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration", ROUTE_CODES, record.route),
        "doseQuantity": {
            "value": float(record.dose_amount_ml),
            "unit": "mL",
            "system": "http://unitsofmeasure.org",
            "code": "mL",
        },
        "performer": [{"actor": {"identifier": {"value": record.doctor_id}, "display": record.doctor_name}}],
        "location": {"display": record.place},
        "protocolApplied": [{"doseNumberPositiveInt": record.dose_number, "targetDisease": []}],
        "fundingSource": {"text": record.vaccination_type},
    }
    if record.site in SITE_CODES:
        resource["site"] = _coding("http://terminology.hl7.org/CodeSystem/v3-ActSite", SITE_CODES, record.site)
    notes = [text for text in (record.special_circumstances,) if text]
    if record.caution_flag:
        notes.append("要注意接種")
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    return resource


def to_fhir_questionnaire_response(response: QuestionnaireResponse) -> dict[str, Any]:
    items = []
    for question_id, answer in response.answers.items():
        values = answer if isinstance(answer, list) else [answer]
        item: dict[str, Any] = {"linkId": question_id, "answer": [_answer_value(value) for value in values]}
        if question_id in response.details:
            item["item"] = [
                {
                    "linkId": f"{question_id}.detail",
                    "answer": [{"valueString": response.details[question_id]}],
                }
            ]
        items.append(item)
    return {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"system": RECORD_ID_SYSTEM, "value": f"urn:uuid:{response.record_id}"},
        "questionnaire": f"urn:yoshin:template:{response.template_id}|{response.template_version}",
        "status": "completed",
        "subject": _patient(response.municipality_code, response.subject_id),
        "authored": response.answered_at.isoformat(),
        "source": {"display": "guardian" if response.respondent == "guardian" else "patient"},
        "item": items,
        "extension": [
            {"url": "urn:yoshin:flag", "valueString": f"{flag.question_id}:{flag.flag}"} for flag in response.flags
        ],
    }


def _answer_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int | float):
        return {"valueDecimal": value}
    return {"valueString": str(value)}


def _coding(system: str, table: dict[str, tuple[str, str]], key: str) -> dict[str, Any]:
    code, display = table.get(key, (key, key))
    return {"coding": [{"system": system, "code": code, "display": display}]}
