"""The technician roster and technician proofs (control 27).

Technicians are staff members with the role `technician` (individual IDs, scrypt passwords, lockout and
deactivation as for all staff, host/staff.py), each also on the roster the contractor submitted in advance:
the `technicians` table records their company (委託先) and work location (業務執行場所), and who approved
the grant. Both are needed: a staff row alone (say, a role changed by hand) is no technician.

A technician logs in at the host (`login`, over the enrollment listener, so a fresh appliance can reach
it) and gets a host-signed attestation (host/attest.py, role `technician`, the day's validity). Enrollment
and decommissioning carry it; the host checks it (`check`) against the roster as it is at that moment and
writes the technician's ID as the actor of the audit line. A staff-app session of a technician carries
the same kind of attestation, so the technician screen's decommissioning uses that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from yoshin.domain.i18n import Bilingual, BilingualError
from yoshin.host import attest, audit, staff
from yoshin.host.store import Database, Tx

ROLE = "technician"
LOGIN_TERMINAL = "enrollment"  # the attestation's device_id for a login before the device has one
MAX_TEXT = 100


class TechnicianError(BilingualError):
    """A technician proof or roster change refused; `reason` is the English text for the audit line."""

    def __init__(self, ja: str, en: str) -> None:
        super().__init__(Bilingual(ja=ja, en=en))
        self.reason = en


@dataclass(frozen=True, slots=True)
class Technician:
    staff_id: str
    name: str
    municipality_code: str
    company: str
    work_location: str

    def audit_text(self) -> str:
        return f"technician {self.staff_id} ({self.company}, {self.work_location})"


def _text(value: str, ja: str, en: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_TEXT:
        raise TechnicianError(f"{ja}を1〜{MAX_TEXT}文字で入力してください", f"{en} must be 1-{MAX_TEXT} characters")
    return value


def add(
    db: Database, staff_id: str, name: str, municipality_code: str, password: str, company: str,
    work_location: str, now: datetime, approval: staff.Approval | None = None,
) -> None:  # fmt: skip
    """Put a technician on the roster: their staff ID (role technician) and the roster row. `yoshin-host
    technician add` always passes a second administrator's approval (control 14); only the library (the
    demo, tests) adds without one, and the audit line says so."""
    company = _text(company, "会社名", "the company")
    work_location = _text(work_location, "作業場所", "the work location")
    credentials = staff.new_credentials(password)
    approved = approval.audit_text() if approval else "without approval (library)"
    with db.transaction(municipality_code) as tx:  # the staff row and the roster row, or neither
        staff.insert_member(tx, staff_id, name, ROLE, municipality_code, credentials, now, approval)
        tx.insert(
            "technicians",
            {
                "staff_id": staff_id,
                "municipality_code": municipality_code,
                "company": company,
                "work_location": work_location,
                "approved_by": approved,
                "added_at": now.isoformat(),
            },
        )
        actor = approval.admin.staff_id if approval else "admin"
        audit.append(
            tx, now, municipality_code, actor, "cli", "technician.add", staff_id,
            f"company={company}, location={work_location}, {approved}",
        )  # fmt: skip


def roster(db: Database, municipality_code: str) -> list[dict[str, object]]:
    """The roster to reconcile with the contractor's paper one (active and deactivated technicians)."""
    columns = ("staff_id", "name", "company", "work_location", "active", "approved_by", "added_at")
    return [
        dict(zip(columns, row, strict=True))
        for row in db.execute(
            "SELECT s.staff_id, s.name, t.company, t.work_location, s.active, t.approved_by, t.added_at "
            "FROM technicians t JOIN staff s ON s.staff_id = t.staff_id "
            "WHERE t.municipality_code = ? ORDER BY s.staff_id",
            [municipality_code],
            municipality_code,
        )
    ]


def _on_roster(tx: Tx, staff_id: str, municipality_code: str) -> Technician | None:
    row = tx.one(
        "SELECT s.name, s.role, s.active, t.company, t.work_location FROM technicians t "
        "JOIN staff s ON s.staff_id = t.staff_id WHERE t.staff_id = ? AND t.municipality_code = ? "
        "AND s.municipality_code = ?",
        [staff_id, municipality_code, municipality_code],
    )
    if row is None or row[1] != ROLE or not row[2]:
        return None
    return Technician(staff_id, row[0], municipality_code, row[3], row[4])


def _not_on_roster() -> TechnicianError:
    return TechnicianError(
        "名簿に登録された技術担当者ではありません", "this ID is not an active technician on the municipality's roster"
    )


def login(
    db: Database, key: Ed25519PrivateKey, staff_id: str, password: str, municipality_code: str, now: datetime,
    terminal: str = LOGIN_TERMINAL,
) -> tuple[str, attest.Attestation, Technician]:  # fmt: skip
    """Verify a technician's password (staff lockout applies; audited as `technician.password`) and the
    roster; audited as `technician.login`, ok or refused. Returns the host's attestation."""
    member = staff.authenticate(db, staff_id, password, terminal, municipality_code, now, action="technician.password")
    with db.transaction(municipality_code) as tx:
        technician = _on_roster(tx, member.staff_id, municipality_code) if member.role == ROLE else None
        outcome = "ok" if technician else "refused: not an active technician on the roster"
        audit.append(tx, now, municipality_code, staff_id, terminal, "technician.login", staff_id, outcome)
    if technician is None:
        raise _not_on_roster()
    token, claim = attest.issue(key, staff_id, ROLE, municipality_code, terminal, now)
    return token, claim, technician


def check(tx: Tx, public_key: Ed25519PublicKey, proof: object, municipality_code: str, now: datetime) -> Technician:
    """The technician a proof names, if the host signed it for a technician of `municipality_code`, it is
    valid now, and they are still on the roster and active. Raises TechnicianError saying why not."""
    if proof is None or proof == "":
        raise TechnicianError("技術担当者のログインが必要です", "a technician login is required")
    try:
        claim = attest.verify(public_key, proof)
        attest.check_time(claim, now)
    except attest.AttestationError as error:
        expired = "expired" in str(error)
        raise TechnicianError(
            "技術担当者のログインの有効期限が切れています。もう一度ログインしてください"
            if expired
            else "技術担当者の証明が無効です。もう一度ログインしてください",
            f"the technician proof is not valid: {error}",
        ) from None
    if claim.role != ROLE:
        raise TechnicianError(
            "技術担当者としてのログインが必要です", f"the proof is a {claim.role}'s, not a technician's"
        )
    if claim.municipality_code != municipality_code:
        raise TechnicianError(
            "この自治体の技術担当者ではありません", "the technician belongs to another municipality's roster"
        )
    technician = _on_roster(tx, claim.staff_id, municipality_code)
    if technician is None:
        raise _not_on_roster()
    return technician
