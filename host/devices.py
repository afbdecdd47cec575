"""Devices and their lifecycle at the host: one-time enrollment tokens, enrollment, renewal, revocation."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from yoshin.domain.codes import is_valid_municipality_code
from yoshin.host import audit, technicians
from yoshin.host.pki import EnrollmentError, HostPki
from yoshin.host.store import Database, Tx

TOKEN_HOURS = 24


class DeviceState(StrEnum):
    """A device's standing at its host: only an active device is served (a revoked one may still send its
    erasure certificate)."""

    ACTIVE = "active"
    REVOKED = "revoked"
    DECOMMISSIONED = "decommissioned"


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    municipality_code: str
    clinic_code: str
    status: DeviceState
    certificate_serial: str
    certificate_not_after: str
    signing_key: Ed25519PublicKey


def issue_token(
    db: Database,
    municipality_code: str,
    clinic_code: str,
    issued_by: str,
    now: datetime,
    hours: int = TOKEN_HOURS,
) -> str:
    if not is_valid_municipality_code(municipality_code):
        raise EnrollmentError("not a valid municipality code", "自治体コードが正しくありません")
    if not (clinic_code.isascii() and clinic_code.isdigit() and len(clinic_code) == 10):
        raise EnrollmentError("the clinic code is 10 digits", "医療機関コードは10桁です")
    token = secrets.token_urlsafe(24)
    with db.transaction(municipality_code) as tx:
        tx.insert(
            "enrollment_tokens",
            {
                "token_hash": _token_hash(token),
                "municipality_code": municipality_code,
                "clinic_code": clinic_code,
                "issued_by": issued_by,
                "expires_at": (now + timedelta(hours=hours)).isoformat(),
            },
        )
        audit.append(tx, now, municipality_code, issued_by, "cli", "device.token", clinic_code, "issued")
    return token


def enroll(
    db: Database,
    pki: HostPki,
    token: str,
    csr_pem: str,
    signing_public_key_pem: str,
    serial: str,
    now: datetime,
    technician_proof: object,
    attestation_key: Ed25519PublicKey,
) -> tuple[str, str, str, str]:
    """Use a token once: (device_id, certificate PEM, municipality code, clinic code). Only with a valid
    proof of a technician of the token's municipality (control 27), who is the audit line's actor; a
    refusal leaves the token unused."""
    signing = _signing_key(signing_public_key_pem)
    if not serial or not serial.isascii() or not all(c.isalnum() or c in "-_" for c in serial) or len(serial) > 32:
        raise EnrollmentError("the device serial must be 1-32 letters, digits, '-' or '_'")
    with db.transaction() as tx:
        tx.lock(f"enrollment:{_token_hash(token)}")  # a token is used once, even by concurrent requests
        row = tx.one(
            "SELECT municipality_code, clinic_code, expires_at, used_at FROM enrollment_tokens WHERE token_hash = ?",
            [_token_hash(token)],
        )
        technician: technicians.Technician | None = None
        if row is None or row[3] is not None or row[2] <= now.isoformat():
            outcome = "unknown" if row is None else ("reused" if row[3] else "expired")
            audit.append(
                tx, now, row[0] if row else "-", "device", serial, "device.enroll", serial, f"refused: {outcome}"
            )
            refusal = EnrollmentError(
                f"the enrollment token is {outcome}", "登録用トークンが無効です (使用済み・期限切れ)"
            )
        else:
            municipality, clinic = row[0], row[1]
            try:
                technician = technicians.check(tx, attestation_key, technician_proof, municipality, now)
            except technicians.TechnicianError as error:
                audit.append(
                    tx, now, municipality, "device", serial, "device.enroll", serial, f"refused: {error.reason}"
                )
                refusal = EnrollmentError(error.reason, error.message.ja)
        if technician is not None:
            device_id = f"{municipality}-{clinic}-{serial}"
            if tx.one("SELECT 1 FROM devices WHERE device_id = ?", [device_id]):
                raise EnrollmentError("this device is already enrolled; renew or decommission it")
            certificate = pki.issue_device_certificate(csr_pem, device_id, municipality, clinic, now)
            tx.execute(
                "UPDATE enrollment_tokens SET used_at = ?, device_id = ? WHERE token_hash = ?",
                [now.isoformat(), device_id, _token_hash(token)],
            )
            tx.insert(
                "devices",
                {
                    "device_id": device_id,
                    "municipality_code": municipality,
                    "clinic_code": clinic,
                    "serial": serial,
                    "certificate_serial": format(certificate.serial_number, "x"),
                    "certificate_not_after": certificate.not_valid_after_utc.isoformat(),
                    "signing_public_key": signing.public_bytes(
                        serialization.Encoding.Raw, serialization.PublicFormat.Raw
                    ),
                    "status": DeviceState.ACTIVE.value,
                    "enrolled_at": now.isoformat(),
                },
            )
            audit.append(
                tx, now, municipality, technician.staff_id, device_id, "device.enroll", device_id,
                f"ok, {technician.audit_text()}",
            )  # fmt: skip
            return device_id, _pem(certificate), municipality, clinic
    raise refusal


def renew(db: Database, pki: HostPki, device: Device, csr_pem: str, now: datetime) -> str:
    certificate = pki.issue_device_certificate(
        csr_pem, device.device_id, device.municipality_code, device.clinic_code, now
    )
    with db.transaction(device.municipality_code) as tx:
        tx.execute(
            "UPDATE devices SET certificate_serial = ?, certificate_not_after = ? WHERE device_id = ?",
            [format(certificate.serial_number, "x"), certificate.not_valid_after_utc.isoformat(), device.device_id],
        )
        audit.append(
            tx,
            now,
            device.municipality_code,
            device.device_id,
            device.device_id,
            "device.renew",
            device.device_id,
            "ok",
        )
    return _pem(certificate)


def revoke(
    db: Database, device_id: str, reason: str, actor: str, now: datetime, status: str = DeviceState.REVOKED
) -> None:
    with db.transaction() as tx:
        revoke_in(tx, device_id, reason, actor, now, status)


def revoke_in(tx: Tx, device_id: str, reason: str, actor: str, now: datetime, status: str = "revoked") -> None:
    """The revocation inside the caller's transaction (the erasure certificate and the decommission land
    together or not at all)."""
    row = tx.one("SELECT municipality_code FROM devices WHERE device_id = ?", [device_id])
    if row is None:
        raise EnrollmentError(f"no device {device_id}")
    tx.execute(
        "UPDATE devices SET status = ?, revoked_at = ?, revoked_reason = ? WHERE device_id = ?",
        [DeviceState(status).value, now.isoformat(), reason, device_id],
    )
    audit.append(tx, now, row[0], actor, "cli", f"device.{status}", device_id, reason)


def get(db: Database, device_id: str) -> Device | None:
    row = db.execute(
        "SELECT device_id, municipality_code, clinic_code, status, certificate_serial, certificate_not_after, "
        "signing_public_key FROM devices WHERE device_id = ?",
        [device_id],
    ).fetchone()
    if row is None:
        return None
    device_id, municipality_code, clinic_code, status, serial, not_after, key = row
    return Device(
        device_id,
        municipality_code,
        clinic_code,
        DeviceState(status),
        serial,
        not_after,
        Ed25519PublicKey.from_public_bytes(key),
    )


def list_devices(db: Database, municipality_code: str | None = None) -> list[dict[str, object]]:
    where, params = ("WHERE municipality_code = ?", [municipality_code]) if municipality_code else ("", [])
    columns = "device_id, municipality_code, clinic_code, status, certificate_not_after, enrolled_at, revoked_reason"
    return [
        dict(zip(columns.split(", "), row, strict=True))
        for row in db.execute(f"SELECT {columns} FROM devices {where} ORDER BY device_id", params)  # noqa: S608
    ]


def _signing_key(pem: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise EnrollmentError("signing_public_key is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise EnrollmentError("signing_public_key must be Ed25519")
    return key


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _pem(certificate: object) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()  # type: ignore[attr-defined]
