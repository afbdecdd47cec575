"""Exports for the municipality (control 10: never the My Number): CSV for 健康管理システム and FHIR R4.

Each export is recorded as a provision record (kept 7 years) and in the audit log.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from yoshin.domain.catalogue import Catalogue
from yoshin.domain.contract import parse_record
from yoshin.domain.fhir import to_fhir_immunization, to_fhir_questionnaire_response
from yoshin.host import audit
from yoshin.host.store import Database

CSV_COLUMNS = (
    "record_id", "subject_id", "vaccination_date", "vaccine_code", "dose_number", "clinic_code", "doctor_name",
    "place", "implementation_type", "vaccination_type", "gtin", "manufacturer", "brand_name", "generic_name",
    "lot_number", "dose_amount_ml", "site", "route", "expiry_date", "caution_flag", "special_circumstances",
    "vaccinated_abroad", "consent",
)  # fmt: skip


def _records(db: Database, municipality_code: str, kind: str) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT body FROM inbox WHERE municipality_code = ? AND kind = ? ORDER BY received_at, record_id",
        [municipality_code, kind],
        municipality_code,
    )
    return [json.loads(body) for (body,) in rows]


def _record_provision(db: Database, municipality_code: str, kind: str, count: int, actor: str, now: datetime) -> None:
    with db.transaction(municipality_code) as tx:
        tx.insert(
            "provisions",
            {
                "municipality_code": municipality_code,
                "at": now.isoformat(),
                "actor": actor,
                "kind": kind,
                "records": count,
            },
        )
        audit.append(tx, now, municipality_code, actor, "cli", f"export.{kind}", "-", f"records={count}")


# A spreadsheet runs a cell that starts with one of these as a formula (finding 5); the full-width forms
# too, since spreadsheets and NFKC turn ＝ into =. Such a cell is written with a leading apostrophe.
FORMULA_STARTS = tuple("=+-@\t\r") + tuple("＝＋－＠")


def csv_cell(value: Any) -> Any:
    """A cell as written to the municipal CSV: text that a spreadsheet would run is escaped."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_csv(db: Database, municipality_code: str, actor: str, now: datetime) -> str:
    records = _records(db, municipality_code, "vaccination_record")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({name: csv_cell(value) for name, value in record.items()} for record in records)
    _record_provision(db, municipality_code, "csv", len(records), actor, now)
    return out.getvalue()


def export_fhir(
    db: Database, municipality_code: str, catalogue: Catalogue, actor: str, now: datetime
) -> dict[str, Any]:
    entries = [
        {"resource": to_fhir_immunization(parse_record("vaccination_record", body), catalogue)}  # type: ignore[arg-type]
        for body in _records(db, municipality_code, "vaccination_record")
    ]
    entries += [
        {"resource": to_fhir_questionnaire_response(parse_record("questionnaire_response", body))}  # type: ignore[arg-type]
        for body in _records(db, municipality_code, "questionnaire_response")
    ]
    _record_provision(db, municipality_code, "fhir", len(entries), actor, now)
    return {"resourceType": "Bundle", "type": "collection", "timestamp": now.isoformat(), "entry": entries}
