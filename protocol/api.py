"""The appliance ↔ host API: paths and the small shared shapes (documented in docs/host-api.md).

Bodies are JSON. Errors are `{"error": code, "message_ja", "message_en"}` with a 4xx status.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from yoshin.domain.i18n import Bilingual

API = "/api/v1"
# Enrollment listener (server-authenticated TLS only; the one-time token is the credential)
CACERTS = "/.well-known/est/cacerts"
ENROLL = f"{API}/enroll"
TECHNICIAN_LOGIN = f"{API}/technician/login"  # enrollment listener: a technician's proof (control 27)
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
POLICY = f"{API}/policy"  # the municipality's policy for its appliances (control 4: reception's check)
HISTORY = f"{API}/history"  # issue 13: the resident's history re-read at the vaccination entry (staff proof)

MAX_BODY = 4 * 1024 * 1024  # bytes; a full batch (MAX_BATCH sealed records) is far below it
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


# --- identity answers (POST /identity, POST /jpki/identity): produced by host/identity.py, read by the kiosk --


class IdentityStatus(StrEnum):
    OK = "ok"
    NOT_FOUND = "not_found"  # non-identifying: no match, a mismatch, bad card data
    REFER_TO_STAFF = "refer_to_staff"  # 自動応答不可, 不開示, 閲覧停止


def _text(data: Any, name: str) -> str:
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    return value


@dataclass(frozen=True, slots=True)
class DueItem:
    """One vaccination due today, with why (the rules engine's first reason)."""

    vaccine_code: str
    dose_number: int | None
    reason: Bilingual

    def to_json(self) -> dict[str, Any]:
        return {
            "vaccine_code": self.vaccine_code,
            "dose_number": self.dose_number,
            "reason_ja": self.reason.ja,
            "reason_en": self.reason.en,
        }

    @classmethod
    def from_json(cls, data: Any) -> DueItem:
        dose = data.get("dose_number") if isinstance(data, dict) else None
        if dose is not None and (isinstance(dose, bool) or not isinstance(dose, int)):
            raise ValueError("dose_number must be a whole number or null")
        reason = Bilingual(ja=_text(data, "reason_ja"), en=_text(data, "reason_en"))
        return cls(_text(data, "vaccine_code"), dose, reason)


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One earlier dose, as the rules guard at the kiosk needs it (a code of the rules vocabulary)."""

    vaccine_code: str
    dose_number: int
    date: date
    product: str | None = None  # the pack's GTIN when recorded: its kind wins (RotaTeq vs Rotarix, 5種混合)

    def to_json(self) -> dict[str, Any]:
        item = {"vaccine_code": self.vaccine_code, "dose_number": self.dose_number, "date": self.date.isoformat()}
        return item | ({"product": self.product} if self.product is not None else {})

    @classmethod
    def from_json(cls, data: Any) -> HistoryItem:
        dose = data.get("dose_number") if isinstance(data, dict) else None
        if isinstance(dose, bool) or not isinstance(dose, int):
            raise ValueError("dose_number must be a whole number")
        product = data.get("product")
        if product is not None and not isinstance(product, str):
            raise ValueError("product must be a GTIN or absent")
        return cls(_text(data, "vaccine_code"), dose, date.fromisoformat(_text(data, "date")), product)


@dataclass(frozen=True, slots=True)
class SubjectInfo:
    """Who is at the kiosk, as the host answers: a pseudonymous subject id, never the My Number."""

    subject_id: str
    display_name: str
    birth_date: date
    age: int
    sex: str
    is_minor: bool
    guardian_name: str | None
    due: tuple[DueItem, ...]
    history: tuple[HistoryItem, ...] = ()  # earlier doses, for the kiosk's vaccination-error guard
    # the registry's condition codes (B類 disabilities at 60-64, ...): the guard judges the same target the
    # host's due list did, rather than call an eligible 60-64-year-old "not a target"
    conditions: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"SubjectInfo({self.subject_id}, <redacted>)"

    def to_json(self) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id,
            "display_name": self.display_name,
            "birth_date": self.birth_date.isoformat(),
            "age": self.age,
            "sex": self.sex,
            "is_minor": self.is_minor,
            "guardian_name": self.guardian_name,
            "due": [item.to_json() for item in self.due],
            "history": [item.to_json() for item in self.history],
            "conditions": list(self.conditions),
        }

    @classmethod
    def from_json(cls, data: Any) -> SubjectInfo:
        if not isinstance(data, dict):
            raise ValueError("subject must be an object")
        age, minor, guardian, due = data.get("age"), data.get("is_minor"), data.get("guardian_name"), data.get("due")
        if isinstance(age, bool) or not isinstance(age, int) or not isinstance(minor, bool):
            raise ValueError("age must be a whole number and is_minor true or false")
        if guardian is not None and not isinstance(guardian, str):
            raise ValueError("guardian_name must be text or null")
        history, conditions = data.get("history", []), data.get("conditions", [])
        if not isinstance(due, list) or not isinstance(history, list):
            raise ValueError("due and history must be lists")
        if not isinstance(conditions, list) or not all(isinstance(c, str) for c in conditions):
            raise ValueError("conditions must be a list of codes")
        return cls(
            subject_id=_text(data, "subject_id"),
            display_name=_text(data, "display_name"),
            birth_date=date.fromisoformat(_text(data, "birth_date")),
            age=age,
            sex=_text(data, "sex"),
            is_minor=minor,
            guardian_name=guardian,
            due=tuple(DueItem.from_json(item) for item in due),
            history=tuple(HistoryItem.from_json(item) for item in history),
            conditions=tuple(conditions),
        )


@dataclass(frozen=True, slots=True)
class IdentityAnswer:
    """The host's answer for a card: a subject when `status` is ok, else a message for the resident."""

    status: IdentityStatus
    subject: SubjectInfo | None = None
    message: Bilingual | None = None
    revocation: str | None = None  # JPKI mode: "not_configured" | "good"

    @property
    def ok(self) -> bool:
        return self.status is IdentityStatus.OK and self.subject is not None

    def with_revocation(self, revocation: str) -> IdentityAnswer:
        return replace(self, revocation=revocation)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status.value}
        if self.subject is not None:
            out["subject"] = self.subject.to_json()
        if self.message is not None:
            out |= {"message_ja": self.message.ja, "message_en": self.message.en}
        if self.revocation is not None:
            out["revocation"] = self.revocation
        return out

    @classmethod
    def from_json(cls, data: Any) -> IdentityAnswer:
        """Strict: a malformed answer raises ValueError (the kiosk then treats the host as not answering)."""
        if not isinstance(data, dict):
            raise ValueError("an identity answer is an object")
        status = IdentityStatus(_text(data, "status"))
        subject = SubjectInfo.from_json(data.get("subject")) if status is IdentityStatus.OK else None
        message = None
        if "message_ja" in data or "message_en" in data:
            message = Bilingual(ja=_text(data, "message_ja"), en=_text(data, "message_en"))
        revocation = data.get("revocation")
        if revocation is not None and not isinstance(revocation, str):
            raise ValueError("revocation must be text")
        return cls(status, subject, message, revocation)


# --- the history at the entry (POST /history): produced by host/history.py, read by the staff screen ------


@dataclass(frozen=True, slots=True)
class HistoryAnswer:
    """The host's current record of a subject's doses, asked again at the vaccination entry: the registry's
    history, the records accepted from every appliance of the municipality since (another clinic's dose of
    this morning), and the registry's condition codes as they are now. No name, no My Number."""

    subject_id: str
    history: tuple[HistoryItem, ...]
    conditions: tuple[str, ...]
    as_of: str  # when the host read it (ISO 8601), for the screen and the audit trail

    def to_json(self) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id,
            "history": [item.to_json() for item in self.history],
            "conditions": list(self.conditions),
            "as_of": self.as_of,
        }

    @classmethod
    def from_json(cls, data: Any) -> HistoryAnswer:
        """Strict: a malformed answer raises ValueError (the entry then keeps the history it had)."""
        if not isinstance(data, dict):
            raise ValueError("a history answer is an object")
        history, conditions = data.get("history"), data.get("conditions")
        if not isinstance(history, list):
            raise ValueError("history must be a list")
        if not isinstance(conditions, list) or not all(isinstance(c, str) for c in conditions):
            raise ValueError("conditions must be a list of codes")
        return cls(
            _text(data, "subject_id"),
            tuple(HistoryItem.from_json(item) for item in history),
            tuple(conditions),
            _text(data, "as_of"),
        )


def new_record_id(now_ms: int | None = None) -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then randomness, so ids sort by creation time."""
    millis = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    value = (millis & (2**48 - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))
