"""A municipality's policy for its appliances (control 4): whether reception's identity check is required.

When it is, intake refuses a questionnaire record without `proofs.identity_confirmed_by` (host/proofs.py),
and the resident kiosk does not read a card before reception has confirmed (GET /policy tells it; the
appliance keeps the last answer for when the host is unreachable). A change needs two municipal
administrators (control 14: turning the check off weakens control 4) and is audited with both.
"""

from __future__ import annotations

from datetime import datetime

from yoshin.host import audit
from yoshin.host.staff import Approval, StaffError
from yoshin.host.store import Database, Tx


def reception_required_in(tx: Tx, municipality_code: str) -> bool:
    row = tx.one(
        "SELECT reception_check_required FROM municipality_policy WHERE municipality_code = ?", [municipality_code]
    )
    return bool(row[0]) if row else False


def reception_required(db: Database, municipality_code: str) -> bool:
    with db.read(municipality_code) as tx:
        return reception_required_in(tx, municipality_code)


def set_reception_required(
    db: Database, municipality_code: str, required: bool, approval: Approval, now: datetime
) -> None:
    """Require (or not) reception's check, with two administrators of that municipality (`staff.approve`)."""
    if {approval.admin.municipality_code, approval.approver.municipality_code} != {municipality_code}:
        raise StaffError("その自治体の管理者2名の承認が必要です", "this needs two administrators of that municipality")
    actor = approval.admin.staff_id
    with db.transaction(municipality_code) as tx:
        tx.execute(
            "INSERT INTO municipality_policy (municipality_code, reception_check_required, updated_at, updated_by) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (municipality_code) DO UPDATE SET "
            "reception_check_required = excluded.reception_check_required, updated_at = excluded.updated_at, "
            "updated_by = excluded.updated_by",
            [municipality_code, int(required), now.isoformat(), actor],
        )
        audit.append(
            tx, now, municipality_code, actor, "cli", "policy.reception_check", municipality_code,
            f"{'required' if required else 'optional'}, {approval.audit_text()}",
        )  # fmt: skip


def policy_answer(db: Database, municipality_code: str) -> dict[str, str]:
    """GET /policy: what the municipality's appliances must do."""
    return {"reception_check": "required" if reception_required(db, municipality_code) else "optional"}
