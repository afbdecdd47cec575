"""The appliance ↔ host API: paths and the small shared shapes (documented in docs/host-api.md).

Bodies are JSON. Errors are `{"error": code, "message_ja", "message_en"}` with a 4xx status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

API = "/api/v1"
# Enrollment listener (server-authenticated TLS only; the one-time token is the credential)
CACERTS = "/.well-known/est/cacerts"
ENROLL = f"{API}/enroll"
# Main listener (mutual TLS; the device is identified by its certificate)
REENROLL = f"{API}/reenroll"
HEALTH = f"{API}/health"
RECORDS = f"{API}/records"
IDENTITY = f"{API}/identity"
JPKI_CHALLENGE = f"{API}/jpki/challenge"
JPKI_IDENTITY = f"{API}/jpki/identity"
TEMPLATES = f"{API}/templates"
ERASURE = f"{API}/erasure"
STAFF_LOGIN = f"{API}/staff/login"
STAFF_LOGOUT = f"{API}/staff/logout"
STAFF_LOGIN_CARD = f"{API}/staff/login/card"  # seam 5: the staff card alone (JPKI auth + PIN)
STAFF_ATTEST = f"{API}/staff/attest"  # seam 5: a second person, verified without any session

MAX_BODY = 4 * 1024 * 1024  # bytes; a batch of 100 sealed records is far below it
MAX_BATCH = 200

RecordStatus = Literal["accepted", "duplicate", "rejected"]


@dataclass(frozen=True, slots=True)
class RecordResult:
    record_id: str
    status: RecordStatus
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "status": self.status, "reason": self.reason}

    @classmethod
    def from_json(cls, data: Any) -> RecordResult:
        if not isinstance(data, dict) or data.get("status") not in ("accepted", "duplicate", "rejected"):
            raise ValueError("not a record result")
        return cls(str(data["record_id"]), data["status"], data.get("reason"))


def error_body(code: str, ja: str, en: str) -> dict[str, str]:
    return {"error": code, "message_ja": ja, "message_en": en}
