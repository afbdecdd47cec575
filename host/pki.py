"""The host's PKI: the device CA, the TLS server certificate, device certificates from CSRs.

On first run with embedded defaults a development CA is created, marked DEVELOPMENT in its name, so it
can never pass for a production CA (production mode refuses it). Certificates are minted strictly (SKI,
AKI, critical BasicConstraints and KeyUsage, EKU), as Python 3.13's VERIFY_X509_STRICT demands
(test-stack.md §6).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from yoshin.domain.i18n import Bilingual, BilingualError

DEVELOPMENT_MARK = "DEVELOPMENT"
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!SHA1:!SHA256:!SHA384"  # AEAD with ECDHE only
DEVICE_CERT_DAYS = 90


class EnrollmentError(BilingualError):
    def __init__(self, en: str, ja: str = "端末の登録に失敗しました") -> None:
        super().__init__(Bilingual(ja=ja, en=en))
        self.reason = en


def _key_usage(**enabled: bool) -> x509.KeyUsage:
    names = (
        "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
        "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
    )  # fmt: skip
    return x509.KeyUsage(**{name: enabled.get(name, False) for name in names})


@dataclass(frozen=True)
class HostPki:
    ca_key: ec.EllipticCurvePrivateKey
    ca_cert: x509.Certificate
    server_key: ec.EllipticCurvePrivateKey
    server_cert: x509.Certificate
    directory: Path

    @property
    def development(self) -> bool:
        return any(DEVELOPMENT_MARK in str(attribute.value) for attribute in self.ca_cert.subject)

    @property
    def ca_fingerprint(self) -> str:
        """SHA-256 of the CA certificate (DER), hex: the pin a technician types when enrolling."""
        return self.ca_cert.fingerprint(hashes.SHA256()).hex()

    @property
    def ca_pem(self) -> str:
        return self.ca_cert.public_bytes(serialization.Encoding.PEM).decode()

    @classmethod
    def load_or_create_development(cls, directory: Path, now: dt.datetime | None = None) -> HostPki:
        directory.mkdir(parents=True, exist_ok=True)
        paths = [directory / name for name in ("ca.key", "ca.pem", "server.key", "server.pem")]
        if all(path.exists() for path in paths):
            return cls.load(*paths)
        now = now or dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"yoshin {DEVELOPMENT_MARK} (not for production)"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"yoshin {DEVELOPMENT_MARK} device CA"),
            ]
        )
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"yoshin host {DEVELOPMENT_MARK}")]))
            .issuer_name(name)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        for path, blob in zip(
            paths,
            (_key_pem(ca_key), _cert_pem(ca_cert), _key_pem(server_key), _cert_pem(server_cert)),
            strict=True,
        ):
            path.write_bytes(blob)
            if path.suffix == ".key":
                path.chmod(0o600)
        return cls(ca_key, ca_cert, server_key, server_cert, directory)

    @classmethod
    def load(cls, ca_key: Path, ca_cert: Path, server_key: Path, server_cert: Path) -> HostPki:
        keys = [serialization.load_pem_private_key(path.read_bytes(), password=None) for path in (ca_key, server_key)]
        if not all(isinstance(key, ec.EllipticCurvePrivateKey) for key in keys):
            raise ValueError("the host CA and server keys must be EC keys")
        return cls(
            keys[0],  # type: ignore[arg-type]
            x509.load_pem_x509_certificate(ca_cert.read_bytes()),
            keys[1],  # type: ignore[arg-type]
            x509.load_pem_x509_certificate(server_cert.read_bytes()),
            ca_key.parent,
        )

    def issue_device_certificate(
        self,
        csr_pem: str,
        device_id: str,
        municipality_code: str,
        clinic_code: str,
        now: dt.datetime,
        days: int = DEVICE_CERT_DAYS,
    ) -> x509.Certificate:
        """A client certificate for a device's own key (the CSR proves possession; keys never leave it)."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode())
        except ValueError:
            raise EnrollmentError("the CSR is not a PEM certificate request") from None
        if not csr.is_signature_valid:
            raise EnrollmentError("the CSR signature does not verify")
        key = csr.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise EnrollmentError("the device key must be EC P-256")
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, municipality_code),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, clinic_code),
                x509.NameAttribute(NameOID.COMMON_NAME, device_id),
            ]
        )
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.ca_cert.subject)
            .public_key(key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), False)
            .sign(self.ca_key, hashes.SHA256())
        )

    def mutual_tls_context(self) -> ssl.SSLContext:
        """The main listener: TLS >= 1.2 and a client certificate from the device CA on every request."""
        context = self._server_context()
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=self.ca_pem)
        return context

    def enrollment_context(self) -> ssl.SSLContext:
        """The enrollment listener: server-authenticated TLS; a one-time token stands in for a certificate."""
        return self._server_context()

    def _server_context(self) -> ssl.SSLContext:
        """TLS 1.3 preferred (the highest both sides speak); TLS 1.2 only with forward-secret AEAD suites,
        no compression, no renegotiation."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(TLS12_CIPHERS)  # TLS 1.3 suites are all AEAD and not affected by this
        context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_RENEGOTIATION
        cert_path = self.directory / "server-chain.pem"
        key_path = self.directory / "server.key"
        if not cert_path.exists():
            cert_path.write_bytes(_cert_pem(self.server_cert))
        context.load_cert_chain(cert_path, key_path)
        return context


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)
