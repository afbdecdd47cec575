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
from yoshin.host.store import Database

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


def add(
    db: Database, staff_id: str, name: str, role: str, municipality_code: str, password: str, now: datetime
) -> None:
    if role not in ROLES:
        raise StaffError("不明な役割です", f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise StaffError(
            f"パスワードは{MIN_PASSWORD}文字以上にしてください", f"passwords need {MIN_PASSWORD}+ characters"
        )
    salt = os.urandom(16)
    password_hash = _hash(password, salt)  # scrypt outside the transaction: the write lock is held briefly
    with db.transaction(municipality_code) as tx:
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
        audit.append(tx, now, municipality_code, "admin", "cli", "staff.add", staff_id, f"role={role}")


def register_card(db: Database, staff_id: str, certificate_der: bytes, actor: str, now: datetime) -> None:
    """Register the staff member's own My Number card (its JPKI user-auth certificate) as a second factor."""
    with db.transaction() as tx:
        row = tx.one("SELECT municipality_code FROM staff WHERE staff_id = ?", [staff_id])
        if row is None:
            raise StaffError("その職員IDはありません", "no such staff ID")
        fingerprint = hashlib.sha256(certificate_der).hexdigest()
        tx.execute("UPDATE staff SET card_fingerprint = ? WHERE staff_id = ?", [fingerprint, staff_id])
        audit.append(tx, now, row[0], actor, "cli", "staff.register_card", staff_id, "ok")


def login(
    db: Database,
    staff_id: str,
    password: str,
    device_id: str,
    municipality_code: str,
    now: datetime,
    card_fingerprint: str | None = None,
) -> Session:
    """Password, and the registered card when one is registered (control 13: two factors).

    `card_fingerprint` is the SHA-256 of a JPKI certificate whose signature over a host challenge the
    caller has already verified. The lockout counter is incremented in the database (`failed_attempts + 1`)
    in the same transaction that re-reads the lock, so concurrent attempts on several workers are each
    counted once and none is checked after the lock.
    """
    with db.read(municipality_code) as tx:
        row = tx.one(
            "SELECT name, role, municipality_code, password_hash, salt, locked, active, card_fingerprint "
            "FROM staff WHERE staff_id = ?",
            [staff_id],
        )
    if row is None or row[2] != municipality_code:
        with db.transaction(municipality_code) as tx:
            audit.append(tx, now, municipality_code, staff_id, device_id, "staff.login", staff_id, "refused: unknown")
        raise _bad_login()
    name, role, _, stored, salt, locked, active, registered_card = row
    if not active:
        raise StaffError("このIDは無効化されています", "this staff ID has been deactivated")
    if locked:
        raise _locked()
    password_ok = hmac.compare_digest(_hash(password, bytes(salt)), bytes(stored))  # outside the tx
    with db.transaction(municipality_code) as tx:
        tx.lock(f"staff:{staff_id}")  # PostgreSQL: concurrent attempts on one ID take turns (SQLite always does)
        state = tx.one("SELECT locked, active FROM staff WHERE staff_id = ?", [staff_id])
        if state is None or not state[1]:
            raise StaffError("このIDは無効化されています", "this staff ID has been deactivated")
        if state[0]:
            raise _locked()  # locked by a concurrent attempt meanwhile: this one is not checked
        if not password_ok:
            tx.execute(
                "UPDATE staff SET failed_attempts = failed_attempts + 1, "
                "locked = CASE WHEN failed_attempts + 1 >= ? THEN 1 ELSE 0 END WHERE staff_id = ?",
                [MAX_FAILURES, staff_id],
            )
            audit.append(tx, now, municipality_code, staff_id, device_id, "staff.login", staff_id, "refused: password")
            error = _bad_login()
        elif registered_card and card_fingerprint != registered_card:
            audit.append(tx, now, municipality_code, staff_id, device_id, "staff.login", staff_id, "refused: card")
            error = StaffError(
                "職員のマイナンバーカードでの認証が必要です", "this staff ID needs its registered card as well"
            )
        else:
            tx.execute("DELETE FROM staff_sessions WHERE staff_id = ? AND expires_at <= ?", [staff_id, now.isoformat()])
            if tx.one("SELECT 1 FROM staff_sessions WHERE staff_id = ?", [staff_id]):
                audit.append(
                    tx, now, municipality_code, staff_id, device_id, "staff.login", staff_id, "refused: in use"
                )
                error = StaffError("このIDは他の端末でログイン中です", "this staff ID is already logged in elsewhere")
            else:
                token = secrets.token_urlsafe(32)
                expires = now + timedelta(minutes=SESSION_MINUTES)
                tx.execute("UPDATE staff SET failed_attempts = 0 WHERE staff_id = ?", [staff_id])
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
                return Session(token, staff_id, name, role, municipality_code, expires)
    raise error


def _locked() -> StaffError:
    return StaffError(
        "ログイン失敗が続いたためロックされています。管理者に連絡してください", "locked after repeated failures"
    )


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
