"""The appliance's key store. Private keys are generated here and never leave the device.

What it holds (docs/ARCHITECTURE.md, "Keys"):
- the TLS client key (EC P-256) and the device certificate the host issued for it;
- the signing key (Ed25519) that signs every sealed envelope;
- the host CA certificate (the pin), the host's sealing public key (X25519), the template public key;
- the day key (AES-256) for pending visits, destroyed at day end or on tamper (crypto-shredding).

`KeyStore` is the interface a TPM or systemd-creds backend implements; `FileKeyStore` is the default:
a 0700 directory of 0600 files owned by the service user.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.x509.oid import NameOID

from yoshin.device.errors import KeyStoreError


class KeyStore(Protocol):
    """What the appliance needs from a key store. Every method may raise KeyStoreError."""

    def ensure_device_keys(self) -> None: ...
    def csr(self, municipality_code: str, clinic_code: str, serial: str) -> str: ...
    def signing_key(self) -> Ed25519PrivateKey: ...
    def signing_public_pem(self) -> str: ...
    def store_enrollment(self, answer: dict[str, Any]) -> None: ...
    def identity(self) -> dict[str, str]: ...
    def tls_files(self) -> tuple[Path, Path]: ...
    def host_ca_pem(self) -> str: ...
    def host_sealing_key(self) -> X25519PublicKey: ...
    def template_key(self) -> Ed25519PublicKey: ...
    def certificate(self) -> x509.Certificate: ...
    def day_key(self, day: date, create: bool = True) -> bytes | None: ...
    def destroy_day_keys(self, keep: date | None = None) -> int: ...
    def destroy_all(self) -> list[str]: ...


class FileKeyStore:
    TLS_KEY = "tls.key"
    SIGNING_KEY = "signing.key"
    CERTIFICATE = "device.pem"
    HOST_CA = "host-ca.pem"
    ENROLLMENT = "enrollment.json"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)

    # --- device keys -------------------------------------------------------------------------------

    def ensure_device_keys(self) -> None:
        if not (self.directory / self.TLS_KEY).exists():
            key = ec.generate_private_key(ec.SECP256R1())
            self._write(
                self.TLS_KEY,
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ),
            )
        if not (self.directory / self.SIGNING_KEY).exists():
            signing = Ed25519PrivateKey.generate()
            self._write(
                self.SIGNING_KEY,
                signing.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ),
            )

    def _tls_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self._read(self.TLS_KEY), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyStoreError("the TLS key is not an EC key")
        return key

    def csr(self, municipality_code: str, clinic_code: str, serial: str) -> str:
        """A CSR carrying the municipality code, clinic code and device serial, signed by the device key."""
        self.ensure_device_keys()
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, municipality_code),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, clinic_code),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, serial),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{municipality_code}-{clinic_code}-{serial}"),
            ]
        )
        request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(self._tls_key(), hashes.SHA256())
        return request.public_bytes(serialization.Encoding.PEM).decode()

    def signing_key(self) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(self._read(self.SIGNING_KEY), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyStoreError("the signing key is not Ed25519")
        return key

    def signing_public_pem(self) -> str:
        return (
            self.signing_key()
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    # --- what enrollment brings -----------------------------------------------------------------

    def store_enrollment(self, answer: dict[str, Any]) -> None:
        certificate = x509.load_pem_x509_certificate(answer["certificate"].encode())
        if certificate.public_key().public_numbers() != self._tls_key().public_key().public_numbers():  # type: ignore[union-attr]
            raise KeyStoreError("the certificate is not for this device's key")
        self._write(self.CERTIFICATE, answer["certificate"].encode())
        self._write(self.HOST_CA, "".join(answer["ca_chain"]).encode())
        meta = {
            key: answer[key]
            for key in (
                "device_id",
                "municipality_code",
                "clinic_code",
                "host_sealing_public_key",
                "template_signing_public_key",
            )
        }
        self._write(self.ENROLLMENT, json.dumps(meta, ensure_ascii=False, indent=2).encode())

    def _enrollment(self) -> dict[str, str]:
        try:
            return dict(json.loads(self._read(self.ENROLLMENT)))
        except KeyStoreError:
            raise KeyStoreError("this device is not provisioned yet (yoshin-provision)") from None

    def identity(self) -> dict[str, str]:
        meta = self._enrollment()
        return {key: meta[key] for key in ("device_id", "municipality_code", "clinic_code")}

    def is_enrolled(self) -> bool:
        return (self.directory / self.ENROLLMENT).exists() and (self.directory / self.CERTIFICATE).exists()

    def tls_files(self) -> tuple[Path, Path]:
        return self.directory / self.CERTIFICATE, self.directory / self.TLS_KEY

    def host_ca_pem(self) -> str:
        return self._read(self.HOST_CA).decode()

    def host_sealing_key(self) -> X25519PublicKey:
        key = serialization.load_pem_public_key(self._enrollment()["host_sealing_public_key"].encode())
        if not isinstance(key, X25519PublicKey):
            raise KeyStoreError("the host sealing key is not X25519")
        return key

    def template_key(self) -> Ed25519PublicKey:
        key = serialization.load_pem_public_key(self._enrollment()["template_signing_public_key"].encode())
        if not isinstance(key, Ed25519PublicKey):
            raise KeyStoreError("the template key is not Ed25519")
        return key

    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self._read(self.CERTIFICATE))

    def replace_certificate(self, pem: str) -> None:
        self.store_enrollment({**self._enrollment(), "certificate": pem, "ca_chain": [self.host_ca_pem()]})

    # --- day keys ---------------------------------------------------------------------------------

    def day_key(self, day: date, create: bool = True) -> bytes | None:
        name = f"day-{day.isoformat()}.key"
        path = self.directory / name
        if path.exists():
            return path.read_bytes()
        if not create:
            return None
        self._write(name, os.urandom(32))
        return path.read_bytes()

    def destroy_day_keys(self, keep: date | None = None) -> int:
        """Crypto-shredding: every pending visit under a destroyed day key is unreadable from then on."""
        destroyed = 0
        for path in self.directory.glob("day-*.key"):
            if keep is not None and path.name == f"day-{keep.isoformat()}.key":
                continue
            _shred(path)
            destroyed += 1
        return destroyed

    def destroy_all(self) -> list[str]:
        """Decommission: overwrite and unlink every key file. Returns a SHA-256 of each name for the record.

        On flash storage an overwrite is best effort (wear levelling); the real erasure is that every
        byte the device wrote elsewhere is ciphertext under keys that no longer exist (NIST SP 800-88
        cryptographic erase).
        """
        erased = []
        for path in sorted(self.directory.iterdir()):
            if path.is_file():
                erased.append(hashlib.sha256(path.name.encode()).hexdigest()[:16] + ":" + path.name)
                _shred(path)
        return erased

    # --- files ------------------------------------------------------------------------------------

    def _write(self, name: str, data: bytes) -> None:
        path = self.directory / name
        temporary = path.with_name(f".{name}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    def _read(self, name: str) -> bytes:
        try:
            return (self.directory / name).read_bytes()
        except FileNotFoundError:
            raise KeyStoreError(f"{name} is missing from the key store") from None


def _shred(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.write(os.urandom(size))
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
