"""The host-side JPKI verifier: a user-authentication signature against pinned CA certificates.

RSASSA-PKCS1-v1_5 with SHA-256 over the host's challenge, a certificate directly issued by one of the
pinned auth CAs (never the CA certificate on the card), inside its validity, for digital signatures.
Revocation is a pluggable interface: J-LIS gives revocation data only to registered verifiers
(mynumber-card.md §10.4), so "not configured" is reported to the caller, never treated as good.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from yoshin.domain.i18n import Bilingual, BilingualError


class RevocationStatus(enum.Enum):
    GOOD = "good"
    REVOKED = "revoked"
    NOT_CONFIGURED = "not_configured"


class RevocationChecker(Protocol):
    def status(self, certificate: x509.Certificate) -> RevocationStatus: ...


class NoRevocationChecker:
    """The default: no J-LIS revocation source is configured, and the result says so."""

    def status(self, certificate: x509.Certificate) -> RevocationStatus:
        return RevocationStatus.NOT_CONFIGURED


class JpkiVerificationError(BilingualError):
    def __init__(self, en: str) -> None:
        super().__init__(Bilingual(ja="公的個人認証の署名を確認できませんでした", en=en))
        self.reason = en


@dataclass(frozen=True, slots=True)
class VerifiedAuth:
    subject_id: str  # the certificate's CN: a 20-digit id, no personal data
    issuer: str
    serial_number: int
    fingerprint: str  # SHA-256 of the DER, hex: the key for linking a certificate to a subject
    revocation: RevocationStatus


def load_anchors(pem_bundle: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem_bundle)


def verify_jpki_auth(
    certificate_der: bytes,
    signature: bytes,
    message: bytes,
    anchors: Sequence[x509.Certificate],
    now: datetime,
    revocation: RevocationChecker | None = None,
) -> VerifiedAuth:
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise JpkiVerificationError("the certificate is not DER X.509") from None
    issuer = next((anchor for anchor in anchors if anchor.subject == certificate.issuer), None)
    if issuer is None:
        raise JpkiVerificationError("the certificate is not issued by a pinned JPKI auth CA")
    try:
        certificate.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        raise JpkiVerificationError("the certificate's signature does not verify with the pinned CA") from None
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise JpkiVerificationError("the certificate is outside its validity period")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        raise JpkiVerificationError("the certificate lacks KeyUsage or BasicConstraints") from None
    if not usage.digital_signature or constraints.ca:
        raise JpkiVerificationError("the certificate is not an end-entity signing certificate")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise JpkiVerificationError("the certificate key is not RSA")
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise JpkiVerificationError("the signature over the challenge does not verify") from None
    status = (revocation or NoRevocationChecker()).status(certificate)
    if status is RevocationStatus.REVOKED:
        raise JpkiVerificationError("the certificate is revoked")
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return VerifiedAuth(
        subject_id=str(names[0].value) if names else "",
        issuer=certificate.issuer.rfc4514_string(),
        serial_number=certificate.serial_number,
        fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
        revocation=status,
    )
