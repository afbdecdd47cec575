"""Test key material for development and tests only: a J-LIS-style key and JPKI auth and sign test CAs.

Written to a directory at run time (never committed), so verifiers can be pointed at it. Real J-LIS and
JPKI anchors are pinned separately (mynumber-card.md §10.3); nothing here is trusted in production.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from yoshin.smartcard.verify import RevocationStatus

VALID_FROM = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
VALID_TO = dt.datetime(2035, 1, 1, tzinfo=dt.UTC)
# A signing certificate that expired before any date the tests and the demo use.
EXPIRED_AT = dt.datetime(2025, 6, 30, tzinfo=dt.UTC)
REVOKED_LIST = "sign-revoked-serials.txt"


@dataclass(frozen=True)
class TestPki:
    __test__ = False  # not a pytest test class

    directory: Path
    jlis_key: rsa.RSAPrivateKey
    ca_key: rsa.RSAPrivateKey
    ca_cert: x509.Certificate

    @property
    def jlis_public_pem(self) -> Path:
        return self.directory / "jlis-test-public.pem"

    @property
    def ca_cert_pem(self) -> Path:
        return self.directory / "jpki-auth-test-ca.pem"

    @classmethod
    def load_or_create(cls, directory: Path) -> TestPki:
        directory.mkdir(parents=True, exist_ok=True)
        jlis = _key(directory / "jlis-test-key.pem")
        ca_key = _key(directory / "jpki-auth-test-ca-key.pem")
        ca_path = directory / "jpki-auth-test-ca.pem"
        if ca_path.exists():
            ca_cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
        else:
            ca_cert = _ca_certificate(ca_key)
            ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        public = directory / "jlis-test-public.pem"
        if not public.exists():
            public.write_bytes(
                jlis.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
        return cls(directory, jlis, ca_key, ca_cert)

    def sign_ca(self) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        """The signing test CA (OU=JPKI for digital signature), separate from the auth CA like the real ones."""
        key = _key(self.directory / "jpki-sign-test-ca-key.pem")
        path = self.directory / "jpki-sign-test-ca.pem"
        if path.exists():
            return key, x509.load_pem_x509_certificate(path.read_bytes())
        certificate = _ca_certificate(key, "JPKI for digital signature")
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return key, certificate

    def sign_certificate(self, persona_id: str, state: str) -> x509.Certificate:
        """The persona's signing certificate (JPKI EF 0001): state "valid", "expired" or "revoked".

        A revoked certificate is listed in this PKI's revocation list (`revocation()`); its card is
        otherwise unchanged, as after an address change. Made once per persona and state, then cached.
        """
        if state not in ("valid", "expired", "revoked"):
            raise ValueError(f"unknown signing certificate state {state!r}")
        path = self.directory / f"sign-{persona_id}-{state}.pem"
        if path.exists():
            return x509.load_pem_x509_certificate(path.read_bytes())
        ca_key, ca_cert = self.sign_ca()
        key = _key(self.directory / f"sign-{persona_id}-key.pem")
        not_after = EXPIRED_AT if state == "expired" else VALID_TO
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "JP")]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(VALID_FROM)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(ca_key, hashes.SHA256())
        )
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        if state == "revoked":
            with (self.directory / REVOKED_LIST).open("a") as listed:
                listed.write(f"{certificate.serial_number}\n")
        return certificate

    def revocation(self) -> TestRevocationList:
        """A revocation checker over the certificates this PKI revoked (smartcard.verify.RevocationChecker)."""
        path = self.directory / REVOKED_LIST
        serials = {int(line) for line in path.read_text().split()} if path.exists() else set()
        return TestRevocationList(frozenset(serials))

    def auth_credentials(self, persona_id: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        """The persona's card key (EF 0017) and user-auth certificate (EF 000A), made once and cached."""
        key = _key(self.directory / f"auth-{persona_id}-key.pem")
        path = self.directory / f"auth-{persona_id}.pem"
        if path.exists():
            return key, x509.load_pem_x509_certificate(path.read_bytes())
        # Like the real auth certificate, no personal data: a 20-digit id only (mynumber-card.md §6.5).
        serial_id = f"{int(hashlib.sha256(persona_id.encode()).hexdigest(), 16) % 10**20:020d}"
        certificate = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COMMON_NAME, serial_id),
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                    ]
                )
            )
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(VALID_FROM)
            .not_valid_after(VALID_TO)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(self.ca_key, hashes.SHA256())
        )
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return key, certificate


@dataclass(frozen=True)
class TestRevocationList:
    """The test PKI's own revocation source: GOOD unless listed (never used in production)."""

    __test__ = False
    revoked: frozenset[int]

    def status(self, certificate: x509.Certificate) -> RevocationStatus:
        return RevocationStatus.REVOKED if certificate.serial_number in self.revoked else RevocationStatus.GOOD


def _key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        return loaded
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return key


def _key_usage(**enabled: bool) -> x509.KeyUsage:
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    flags.update(enabled)
    return x509.KeyUsage(**flags)


def _ca_certificate(key: rsa.RSAPrivateKey, unit: str = "JPKI for user authentication") -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI TEST (yoshin development, not trusted)"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_TO)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
