"""Sealed envelopes: how every payload travels from an appliance to its host.

One safe call each way: `seal()` on the appliance, `open_sealed()` on the host. The construction is
chosen here and only here:

- **Confidentiality**: HPKE base mode (RFC 9180) with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
  AES-256-GCM, to the host's public sealing key. The appliance keeps no private key that opens it,
  so it cannot decrypt its own outbox.
- **Binding**: the header (record id, device id, kind, created-at) is the HPKE `info`, so a ciphertext
  moved under another header fails to open.
- **Origin**: an Ed25519 signature by the device key over the header and the ciphertext. It can be
  checked without decrypting: the host rejects a forged envelope before opening it, and the appliance
  can check its own queue rows for tampering without being able to read them.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from yoshin.domain.contract import RecordKind
from yoshin.domain.i18n import Bilingual, BilingualError


class PayloadKind(StrEnum):
    """The envelope kinds that are not contract records (those are `RecordKind`)."""

    IDENTITY = "identity"  # the card's face data for an online identity look-up
    AUDIT_EVENT = "audit_event"
    ERASURE_CERTIFICATE = "erasure_certificate"


# every kind an envelope may carry: the contract's records and the other payloads, each named once
KINDS: frozenset[str] = frozenset({*RecordKind, *PayloadKind})

_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_DOMAIN = b"yoshin-envelope-v1\x00"
_MAGIC = b"YSE1"
_SIGNATURE_LENGTH = 64
_MAX_DEVICE_ID = 128
MAX_PAYLOAD = 1 << 20  # 1 MiB: no questionnaire or record comes near it


class SealError(BilingualError):
    """An envelope that is malformed, forged, or does not open."""

    def __init__(self, en: str, ja: str = "封筒データが不正です") -> None:
        super().__init__(Bilingual(ja=ja, en=en))


@dataclass(frozen=True, slots=True)
class EnvelopeHeader:
    """The envelope's clear-text metadata. It holds no personal data by construction."""

    record_id: str
    device_id: str
    kind: str
    created_at: str

    def __post_init__(self) -> None:
        try:
            parsed = uuid.UUID(self.record_id)
        except (ValueError, AttributeError, TypeError):
            raise SealError(f"record_id is not a UUID: {self.record_id!r}") from None
        if parsed.version != 7 or str(parsed) != self.record_id:
            raise SealError("record_id must be a UUIDv7 in canonical form")
        if not isinstance(self.device_id, str) or not (0 < len(self.device_id) <= _MAX_DEVICE_ID):
            raise SealError("device_id must be 1-128 characters")
        if not self.device_id.isprintable():
            raise SealError("device_id must be printable")
        if self.kind not in KINDS:
            raise SealError(f"unknown kind {self.kind!r}")
        try:
            stamp = datetime.fromisoformat(self.created_at)
        except (ValueError, TypeError):
            raise SealError(f"created_at is not an ISO 8601 time: {self.created_at!r}") from None
        if stamp.utcoffset() is None:
            raise SealError("created_at must carry a time zone")

    def canonical(self) -> bytes:
        """Stable bytes of the header: sorted keys, no spaces, UTF-8."""
        fields = {
            "created_at": self.created_at,
            "device_id": self.device_id,
            "kind": self.kind,
            "record_id": self.record_id,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: Any) -> EnvelopeHeader:
        if not isinstance(data, dict) or set(data) != {"record_id", "device_id", "kind", "created_at"}:
            raise SealError("header must have exactly record_id, device_id, kind, created_at")
        if not all(isinstance(value, str) for value in data.values()):
            raise SealError("header fields must be strings")
        return cls(**data)


@dataclass(frozen=True, slots=True)
class SealedEnvelope:
    """A sealed, signed payload. `ciphertext` is HPKE's enc ‖ AEAD ciphertext ‖ tag."""

    header: EnvelopeHeader
    ciphertext: bytes
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "header": json.loads(self.header.canonical()),
            "ciphertext": base64.b64encode(self.ciphertext).decode(),
            "signature": base64.b64encode(self.signature).decode(),
        }

    @classmethod
    def from_json(cls, data: Any) -> SealedEnvelope:
        if not isinstance(data, dict) or set(data) != {"header", "ciphertext", "signature"}:
            raise SealError("envelope must have exactly header, ciphertext, signature")
        header = EnvelopeHeader.from_json(data["header"])
        return cls(header, _b64(data["ciphertext"], "ciphertext"), _b64(data["signature"], "signature"))

    def to_bytes(self) -> bytes:
        """Compact form for the appliance's queue: magic, header, signature, ciphertext."""
        header = self.header.canonical()
        return _MAGIC + struct.pack(">H", len(header)) + header + self.signature + self.ciphertext

    @classmethod
    def from_bytes(cls, blob: bytes) -> SealedEnvelope:
        if len(blob) < len(_MAGIC) + 2 or not blob.startswith(_MAGIC):
            raise SealError("not a sealed envelope (bad magic)")
        (header_length,) = struct.unpack_from(">H", blob, len(_MAGIC))
        start = len(_MAGIC) + 2
        header_end = start + header_length
        signature_end = header_end + _SIGNATURE_LENGTH
        if len(blob) <= signature_end:
            raise SealError("sealed envelope is truncated")
        try:
            header = EnvelopeHeader.from_json(json.loads(blob[start:header_end]))
        except (ValueError, UnicodeDecodeError):
            raise SealError("sealed envelope header is not JSON") from None
        return cls(header, blob[signature_end:], blob[header_end:signature_end])


def seal(
    payload: bytes,
    header: EnvelopeHeader,
    host_public_key: X25519PublicKey,
    device_key: Ed25519PrivateKey,
) -> SealedEnvelope:
    """Encrypt `payload` to the host and sign it with the device key."""
    if len(payload) > MAX_PAYLOAD:
        raise SealError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    info = _DOMAIN + header.canonical()
    ciphertext = _SUITE.encrypt(payload, host_public_key, info=info)
    return SealedEnvelope(header, ciphertext, device_key.sign(_signed_bytes(header, ciphertext)))


def verify_envelope(envelope: SealedEnvelope, device_public_key: Ed25519PublicKey) -> None:
    """Check the device signature over header and ciphertext; raises SealError on any mismatch."""
    try:
        device_public_key.verify(envelope.signature, _signed_bytes(envelope.header, envelope.ciphertext))
    except InvalidSignature:
        raise SealError("device signature does not verify", ja="端末の署名を検証できません") from None


def open_sealed(
    envelope: SealedEnvelope,
    host_private_key: X25519PrivateKey,
    device_public_key: Ed25519PublicKey,
) -> bytes:
    """Verify the signature, then decrypt. Only the host holds `host_private_key`."""
    verify_envelope(envelope, device_public_key)
    try:
        return _SUITE.decrypt(envelope.ciphertext, host_private_key, info=_DOMAIN + envelope.header.canonical())
    except (InvalidTag, ValueError):
        raise SealError("envelope does not decrypt", ja="封筒データを復号できません") from None


def _signed_bytes(header: EnvelopeHeader, ciphertext: bytes) -> bytes:
    return _DOMAIN + header.canonical() + b"\x00" + ciphertext


def _b64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise SealError(f"{name} must be base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SealError(f"{name} is not valid base64") from None
