"""The host's own keys, created on first run in the data directory (files 0600).

- sealing key (X25519): opens the envelopes appliances seal to the host (HPKE);
- template key (Ed25519): signs the published templates and catalogue;
- registry master key (256 bits): per-municipality keys for the My Number at rest and its HMAC index
  are derived from it with HKDF, so each municipality's numbers are encrypted under their own key;
- attestation key (Ed25519): signs the staff attestations the host hands out at login and at a second
  person's verification (`yoshin.host.attest`), which decision and vaccination records carry back;
- audit key (256 bits, `audit.key`): keys the audit chain (`yoshin.host.audit`), never in the database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@dataclass(frozen=True)
class HostKeys:
    sealing: X25519PrivateKey
    template: Ed25519PrivateKey
    registry_master: bytes
    attestation: Ed25519PrivateKey

    @classmethod
    def load_or_create(cls, directory: Path) -> HostKeys:
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)
        sealing = _private(directory / "sealing.key", X25519PrivateKey.generate)
        template = _private(directory / "template.key", Ed25519PrivateKey.generate)
        attestation = _private(directory / "attestation.key", Ed25519PrivateKey.generate)
        for name in ("registry-master.key", "audit.key"):
            if not (directory / name).exists():
                _write_secret(directory / name, os.urandom(32))
        assert isinstance(sealing, X25519PrivateKey) and isinstance(template, Ed25519PrivateKey)
        assert isinstance(attestation, Ed25519PrivateKey)
        return cls(sealing, template, (directory / "registry-master.key").read_bytes(), attestation)

    def municipality_key(self, municipality_code: str, purpose: str) -> bytes:
        """A 256-bit key for one municipality and one purpose ("encrypt" or "index")."""
        return municipality_key(self.registry_master, municipality_code, purpose)


def municipality_key(registry_master: bytes, municipality_code: str, purpose: str) -> bytes:
    """HKDF-SHA256 of the registry master key for one municipality and purpose (the import's workers
    derive the same keys from the master they are handed)."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"yoshin-registry-v1",
        info=f"{purpose}|{municipality_code}".encode(),
    ).derive(registry_master)


def public_pem(key: X25519PrivateKey | Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _private(path: Path, generate: object) -> object:
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    key = generate()  # type: ignore[operator]
    _write_secret(
        path,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    return key


def _write_secret(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
