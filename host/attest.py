"""Staff attestations (seam 5): the host's own signed word that it verified a staff member.

The host hands one out at a staff login (`/staff/login`, `/staff/login/card`) and at a second person's
verification (`/staff/attest`, which opens no session). Decision and vaccination records carry them
back in `proofs`, and intake checks them itself (controls 13 and 16), so a record cannot name a doctor,
an entering or a checking person the host never verified.

A token is `yat1.<payload>.<signature>` (base64url, no padding): the payload is canonical JSON with
staff_id, role, municipality, device_id, issued_at and expires_at; the signature is Ed25519 with the
host's attestation key (`keys/attestation.key`).

Offline policy: an attestation is valid until the end of the JST day it was issued on, so records
sealed while the host is unreachable still carry a valid proof when the queue drains; intake compares
the expiry with the record's own `created_at`, never with the time the record arrives.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from yoshin.domain.clock import JST, today

PREFIX = "yat1"
MAX_TOKEN = 1024
CLOCK_SKEW = timedelta(minutes=5)  # a device clock slightly ahead of the host's


class AttestationError(ValueError):
    """An attestation that does not prove what it should; the message is the reason (English, for audit)."""


@dataclass(frozen=True, slots=True)
class Attestation:
    staff_id: str
    role: str
    municipality_code: str
    device_id: str
    issued_at: datetime
    expires_at: datetime

    def payload(self) -> dict[str, str]:
        return {
            "staff_id": self.staff_id,
            "role": self.role,
            "municipality": self.municipality_code,
            "device_id": self.device_id,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }


def end_of_jst_day(now: datetime) -> datetime:
    """The offline policy's expiry: the next midnight in Japan."""
    return datetime.combine(today(now) + timedelta(days=1), time(0), tzinfo=JST)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(
    key: Ed25519PrivateKey, staff_id: str, role: str, municipality_code: str, device_id: str, now: datetime
) -> tuple[str, Attestation]:
    attestation = Attestation(staff_id, role, municipality_code, device_id, now, end_of_jst_day(now))
    payload = json.dumps(attestation.payload(), sort_keys=True, separators=(",", ":")).encode()
    signature = key.sign(PREFIX.encode() + b"." + payload)
    return f"{PREFIX}.{_b64(payload)}.{_b64(signature)}", attestation


def verify(public_key: Ed25519PublicKey, token: object) -> Attestation:
    """The attestation a token carries, if the host signed it; raises AttestationError otherwise."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 2:
        raise AttestationError("not an attestation token")
    prefix, payload_text, signature_text = token.split(".")
    if prefix != PREFIX:
        raise AttestationError("not an attestation token")
    try:
        payload, signature = _unb64(payload_text), _unb64(signature_text)
        public_key.verify(signature, PREFIX.encode() + b"." + payload)
    except (binascii.Error, ValueError, InvalidSignature):
        raise AttestationError("attestation signature invalid (not issued by this host)") from None
    try:
        fields = json.loads(payload)
        return Attestation(
            str(fields["staff_id"]),
            str(fields["role"]),
            str(fields["municipality"]),
            str(fields["device_id"]),
            datetime.fromisoformat(fields["issued_at"]),
            datetime.fromisoformat(fields["expires_at"]),
        )
    except (KeyError, TypeError, ValueError):
        raise AttestationError("attestation payload malformed") from None


def check_time(attestation: Attestation, created_at: datetime) -> None:
    """The record was made while the attestation was valid (offline policy: the JST day of issue)."""
    if created_at < attestation.issued_at - CLOCK_SKEW:
        raise AttestationError("the record is older than the attestation it carries")
    if created_at >= attestation.expires_at:
        raise AttestationError("the attestation had expired when the record was made")
