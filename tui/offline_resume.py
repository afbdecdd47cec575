"""Resuming a locked staff session while the host is unreachable (offline staff policy).

A login always needs the host (it checks the password or the card, the lockout, the one session per ID,
and issues the day's attestation). Once logged in, a session keeps working when the host goes away:
decisions and vaccinations need no host call, the second person confirms on their own logged-in screen,
and every record sealed meanwhile carries the attestation issued at login (valid for the JST day), which
the host checks when the queue drains.

What an outage must not do is strand a member whose session locked. So at login the staff app keeps, in
memory only and for that JST day, a salted scrypt digest of the password just accepted by the host. If the
host cannot be reached when that same member unlocks, the password is checked against the digest and the
session (with its attestation) resumes. Nothing is written to disk; the digest goes with the process, at
logout, and at the end of the JST day. Anyone else, or a first login, is refused until the host answers.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from datetime import date, datetime

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from yoshin.domain.clock import today


def _digest(secret: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(secret.encode())


@dataclass(frozen=True, slots=True)
class ResumeKey:
    staff_id: str
    day: date
    salt: bytes
    digest: bytes

    def __repr__(self) -> str:
        return f"ResumeKey({self.staff_id}, {self.day}, <redacted>)"

    @classmethod
    def of(cls, staff_id: str, password: str, now: datetime) -> ResumeKey:
        salt = os.urandom(16)
        return cls(staff_id, today(now), salt, _digest(password, salt))

    def matches(self, staff_id: str, password: str, now: datetime) -> bool:
        """The same member, the same JST day, the same password as at the login the host accepted."""
        if staff_id != self.staff_id or today(now) != self.day or not password:
            return False
        return hmac.compare_digest(_digest(password, self.salt), self.digest)
