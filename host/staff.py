"""Staff accounts (controls 12-15): individual IDs only, scrypt-hashed passwords, roles, lockout,
no two simultaneous sessions for one ID, deactivation on transfer, and a rights-table export.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from yoshin.domain.i18n import Bilingual, BilingualError
from yoshin.host import audit
from yoshin.host.store import Database, Tx

ROLES = ("doctor", "nurse", "clerk", "technician", "municipal_admin", "auditor")
MAX_FAILURES = 5
SESSION_MINUTES = 30
MIN_PASSWORD = 10


class StaffError(BilingualError):
    def __init__(self, ja: str, en: str) -> None:
        super().__init__(Bilingual(ja=ja, en=en))
        self.reason = en


def _bad_login() -> StaffError:  # one message for an unknown ID and a wrong password
    return StaffError("職員IDまたはパスワードが違います", "wrong staff ID or password")


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    staff_id: str
    name: str
    role: str
    municipality_code: str
    expires_at: datetime


def _hash(password: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(password.encode())


@dataclass(frozen=True, slots=True)
class Approval:
    """A grant asked by one municipal administrator and approved by a second one (control 14)."""

    admin: Member
    approver: Member

    def audit_text(self) -> str:
        return f"by {self.admin.staff_id}, approved by {self.approver.staff_id}"


def approve(
    db: Database, municipality_code: str, admin_id: str, admin_password: str, approver_id: str,
    approver_password: str, now: datetime,
) -> Approval:  # fmt: skip
    """Both administrators verified by their own passwords, and two different people."""
    admin = authenticate(db, admin_id, admin_password, "cli", municipality_code, now, action="staff.grant.request")
    approver = authenticate(db, approver_id, approver_password, "cli", municipality_code, now, action="staff.approve")
    second_admin(admin, approver)
    return Approval(admin, approver)


def admin_count(db: Database, municipality_code: str) -> int:
    with db.read(municipality_code) as tx:
        row = tx.one(
            "SELECT count(*) FROM staff WHERE municipality_code = ? AND role = 'municipal_admin' AND active = 1",
            [municipality_code],
        )
    return int(row[0])


def set_role(db: Database, staff_id: str, role: str, approval: Approval, now: datetime) -> None:
    """Change a member's rights: only with a second administrator's approval, audited with both."""
    if role not in ROLES:
        raise StaffError("不明な役割です", f"role must be one of {', '.join(ROLES)}")
    municipality = approval.admin.municipality_code
    with db.transaction(municipality) as tx:
        row = tx.one("SELECT role FROM staff WHERE staff_id = ? AND municipality_code = ?", [staff_id, municipality])
        if row is None:
            raise StaffError("その職員IDはありません", "no such staff ID")
        tx.execute("UPDATE staff SET role = ? WHERE staff_id = ?", [role, staff_id])
        audit.append(
            tx, now, municipality, approval.admin.staff_id, "cli", "staff.set_role", staff_id,
            f"{row[0]} -> {role}, {approval.audit_text()}",
        )  # fmt: skip


def add(
    db: Database, staff_id: str, name: str, role: str, municipality_code: str, password: str, now: datetime,
    approval: Approval | None = None,
) -> None:  # fmt: skip
    """Add a member. `yoshin-host staff add` always passes a second administrator's approval (control 14)
    except for a municipality's first administrator; the audit line says which."""
    credentials = new_credentials(password)  # scrypt outside the transaction: the write lock is held briefly
    with db.transaction(municipality_code) as tx:
        insert_member(tx, staff_id, name, role, municipality_code, credentials, now, approval)


def new_credentials(password: str) -> tuple[bytes, bytes]:
    """A fresh salt and the scrypt hash of an acceptable password, for `insert_member`."""
    if len(password) < MIN_PASSWORD:
        raise StaffError(
            f"パスワードは{MIN_PASSWORD}文字以上にしてください", f"passwords need {MIN_PASSWORD}+ characters"
        )
    salt = os.urandom(16)
    return salt, _hash(password, salt)


def insert_member(
    tx: Tx, staff_id: str, name: str, role: str, municipality_code: str, credentials: tuple[bytes, bytes],
    now: datetime, approval: Approval | None,
) -> None:  # fmt: skip
    """The staff row and its audit line, inside the caller's unit of work (a technician's roster row
    commits with it: `technicians.add`)."""
    if role not in ROLES:
        raise StaffError("不明な役割です", f"role must be one of {', '.join(ROLES)}")
    salt, password_hash = credentials
    if tx.one("SELECT 1 FROM staff WHERE staff_id = ?", [staff_id]):
        raise StaffError("その職員IDは既に使われています", "that staff ID exists (IDs are never shared or reused)")
    tx.insert(
        "staff",
        {
            "staff_id": staff_id,
            "municipality_code": municipality_code,
            "name": name,
            "role": role,
            "password_hash": password_hash,
            "salt": salt,
            "created_at": now.isoformat(),
        },
    )
    granted = approval.audit_text() if approval else "without approval (first administrator or library)"
    actor = approval.admin.staff_id if approval else "admin"
    audit.append(tx, now, municipality_code, actor, "cli", "staff.add", staff_id, f"role={role}, {granted}")


def register_card(db: Database, staff_id: str, certificate_der: bytes, actor: str, now: datetime) -> None:
    """Register the staff member's own My Number card (its JPKI user-auth certificate) as a second factor."""
    with db.transaction() as tx:
        row = tx.one("SELECT municipality_code FROM staff WHERE staff_id = ?", [staff_id])
        if row is None:
            raise StaffError("その職員IDはありません", "no such staff ID")
        fingerprint = hashlib.sha256(certificate_der).hexdigest()
        tx.execute("UPDATE staff SET card_fingerprint = ? WHERE staff_id = ?", [fingerprint, staff_id])
        audit.append(tx, now, row[0], actor, "cli", "staff.register_card", staff_id, "ok")


@dataclass(frozen=True, slots=True)
class Member:
    """A staff member the host has just verified (password, registered card, or both)."""

    staff_id: str
    name: str
    role: str
    municipality_code: str
    card_fingerprint: str | None


_DUMMY_SALT = os.urandom(16)
_DUMMY_HASH = _hash("not a password of anyone", _DUMMY_SALT)


def _locked() -> StaffError:
    return StaffError(
        "ログイン失敗が続いたため一時的にロックされています。しばらく待つか管理者に連絡してください",
        "locked for a while after repeated failures: wait, or ask an administrator to unlock it",
    )


LOCKOUT_BASE = timedelta(minutes=1)
LOCKOUT_MAX = timedelta(hours=24)


def lockout_delay(failures: int) -> timedelta:
    """1 minute at the MAX_FAILURES-th failure, then doubling with each further failure, at most a day:
    guessing stays slow, and no device can lock a colleague out for good (finding 6)."""
    return min(LOCKOUT_BASE * 2 ** max(0, failures - MAX_FAILURES), LOCKOUT_MAX)


def unlock(
    db: Database, staff_id: str, admin_id: str, admin_password: str, approver_id: str, approver_password: str,
    now: datetime,
) -> None:  # fmt: skip
    """Unlock an ID at once: an administrator asks, a second administrator approves, both verified by
    their own passwords, two different people (control 14); audited with both names."""
    with db.read() as tx:
        row = tx.one("SELECT municipality_code FROM staff WHERE staff_id = ?", [staff_id])
    if row is None:
        raise StaffError("その職員IDはありません", "no such staff ID")
    municipality = row[0]
    approve(db, municipality, admin_id, admin_password, approver_id, approver_password, now)
    with db.transaction(municipality) as tx:
        tx.execute(
            "UPDATE staff SET failed_attempts = 0, locked = 0, locked_until = NULL WHERE staff_id = ?", [staff_id]
        )
        audit.append(tx, now, municipality, admin_id, "cli", "staff.unlock", staff_id, f"ok, approved by {approver_id}")


def second_admin(admin: Member, approver: Member) -> None:
    """Both municipal administrators, and two people (another record, name and card)."""
    if admin.role != "municipal_admin" or approver.role != "municipal_admin":
        raise StaffError("管理者2名の承認が必要です", "this needs two municipal administrators")
    if (
        admin.staff_id.casefold() == approver.staff_id.casefold()
        or admin.name.replace(" ", "").replace("　", "") == approver.name.replace(" ", "").replace("　", "")
        or (admin.card_fingerprint is not None and admin.card_fingerprint == approver.card_fingerprint)
    ):
        raise StaffError("承認は別の管理者が行う必要があります", "the approval must come from another administrator")


def authenticate(
    db: Database,
    staff_id: str,
    password: str | None,
    device_id: str,
    municipality_code: str,
    now: datetime,
    card_fingerprint: str | None = None,
    action: str = "staff.login",
) -> Member:
    """Check the credentials; open no session. `password=None` is a card-only check (the card must be
    the registered one). Unknown, deactivated and wrong all get one message after the same scrypt work,
    so neither the answer nor its timing tells which IDs exist (finding 8); "locked" is said only to
    someone who gave the right password.

    `card_fingerprint` is the SHA-256 of a JPKI certificate whose signature over a host challenge the
    caller has already verified. The lockout counter is incremented in the database (`failed_attempts + 1`)
    in the same transaction that re-reads the lock, so concurrent attempts on several workers are each
    counted once.
    """
    with db.read(municipality_code) as tx:
        row = tx.one(
            "SELECT name, role, municipality_code, password_hash, salt, card_fingerprint FROM staff WHERE staff_id = ?",
            [staff_id],
        )
    if row is None or row[2] != municipality_code:
        if password is not None:
            hmac.compare_digest(_hash(password, _DUMMY_SALT), _DUMMY_HASH)  # the same work as a known ID
        with db.transaction(municipality_code) as tx:
            audit.append(tx, now, municipality_code, staff_id, device_id, action, staff_id, "refused: unknown")
        raise _bad_login()
    name, role, _, stored, salt, registered_card = row
    if password is None:
        right = bool(registered_card) and card_fingerprint == registered_card
    else:
        right = hmac.compare_digest(_hash(password, bytes(salt)), bytes(stored))  # outside the tx
    error: StaffError | None = None
    with db.transaction(municipality_code) as tx:  # the count and the audit line commit; raised after
        tx.lock(f"staff:{staff_id}")  # PostgreSQL: concurrent attempts on one ID take turns (SQLite always does)
        state = tx.one("SELECT locked, active, locked_until FROM staff WHERE staff_id = ?", [staff_id])
        locked = state is not None and bool(state[0]) and (state[2] is None or now.isoformat() < str(state[2]))
        if state is None or not state[1]:
            outcome, error = "refused: deactivated", _bad_login()
        elif locked:  # (here or by a concurrent attempt): not counted; said only to the right password
            outcome, error = "refused: locked", _locked() if right else _bad_login()
        elif not right:
            (failures,) = tx.one(
                "UPDATE staff SET failed_attempts = failed_attempts + 1 WHERE staff_id = ? RETURNING failed_attempts",
                [staff_id],
            )
            if failures >= MAX_FAILURES:  # locked for a delay that doubles with every lock after the first
                until = now + lockout_delay(failures)
                tx.execute(
                    "UPDATE staff SET locked = 1, locked_until = ? WHERE staff_id = ?", [until.isoformat(), staff_id]
                )
            outcome, error = f"refused: {'card' if password is None else 'password'}", _bad_login()
        elif password is not None and registered_card and card_fingerprint != registered_card:
            outcome = "refused: card"
            error = StaffError(
                "職員のマイナンバーカードでの認証が必要です", "this staff ID needs its registered card as well"
            )
        else:
            outcome = "ok"
            tx.execute(
                "UPDATE staff SET failed_attempts = 0, locked = 0, locked_until = NULL WHERE staff_id = ?", [staff_id]
            )
        if error is not None or action != "staff.login":  # a login's "ok" is written with its session
            audit.append(tx, now, municipality_code, staff_id, device_id, action, staff_id, outcome)
    if error is not None:
        raise error
    return Member(staff_id, name, role, municipality_code, registered_card)


def login(
    db: Database,
    staff_id: str,
    password: str | None,
    device_id: str,
    municipality_code: str,
    now: datetime,
    card_fingerprint: str | None = None,
) -> Session:
    """Password, and the registered card when one is registered (control 13: two factors); or the
    registered card alone (`password=None`, the card's PIN being the knowledge factor)."""
    member = authenticate(db, staff_id, password, device_id, municipality_code, now, card_fingerprint)
    with db.transaction(municipality_code) as tx:
        tx.execute("DELETE FROM staff_sessions WHERE staff_id = ? AND expires_at <= ?", [staff_id, now.isoformat()])
        if tx.one("SELECT 1 FROM staff_sessions WHERE staff_id = ?", [staff_id]):
            audit.append(tx, now, municipality_code, staff_id, device_id, "staff.login", staff_id, "refused: in use")
            error = StaffError("このIDは他の端末でログイン中です", "this staff ID is already logged in elsewhere")
        else:
            token = secrets.token_urlsafe(32)
            expires = now + timedelta(minutes=SESSION_MINUTES)
            tx.insert(
                "staff_sessions",
                {
                    "token_hash": hashlib.sha256(token.encode()).hexdigest(),
                    "staff_id": staff_id,
                    "device_id": device_id,
                    "started_at": now.isoformat(),
                    "expires_at": expires.isoformat(),
                },
            )
            audit.append(tx, now, municipality_code, staff_id, device_id, "staff.login", staff_id, "ok")
            return Session(token, staff_id, member.name, member.role, municipality_code, expires)
    raise error


def member(db: Database, staff_id: str) -> Member | None:
    """The staff record as it is now (intake checks active status and identity against it)."""
    with db.read() as tx:
        row = tx.one(
            "SELECT name, role, municipality_code, card_fingerprint, active FROM staff WHERE staff_id = ?", [staff_id]
        )
    if row is None or not row[4]:
        return None
    return Member(staff_id, row[0], row[1], row[2], row[3])


def logout(db: Database, token: str, now: datetime) -> None:
    with db.transaction() as tx:
        tx.execute("DELETE FROM staff_sessions WHERE token_hash = ?", [hashlib.sha256(token.encode()).hexdigest()])


def deactivate(db: Database, staff_id: str, now: datetime) -> None:
    with db.transaction() as tx:
        row = tx.one("SELECT municipality_code FROM staff WHERE staff_id = ?", [staff_id])
        if row is None:
            raise StaffError("その職員IDはありません", "no such staff ID")
        tx.execute("UPDATE staff SET active = 0, deactivated_at = ? WHERE staff_id = ?", [now.isoformat(), staff_id])
        tx.execute("DELETE FROM staff_sessions WHERE staff_id = ?", [staff_id])
        audit.append(tx, now, row[0], "admin", "cli", "staff.deactivate", staff_id, "ok")


def rights_table(db: Database, municipality_code: str) -> list[dict[str, object]]:
    """The ID list to reconcile with the paper rights table (control 15)."""
    return [
        dict(zip(("staff_id", "name", "role", "active", "locked", "created_at", "deactivated_at"), row, strict=True))
        for row in db.execute(
            "SELECT staff_id, name, role, active, locked, created_at, deactivated_at FROM staff "
            "WHERE municipality_code = ? ORDER BY staff_id",
            [municipality_code],
            municipality_code,
        )
    ]
