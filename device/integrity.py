"""App integrity (control 25): the installed files against a signed manifest, checked before the kiosk starts.

A release signs the manifest (SHA-256 of every installed yoshin source and data file) with an Ed25519
release key; the appliance holds the public key and refuses to start on any missing, added or changed
file.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from yoshin.domain.i18n import Bilingual, BilingualError

COMPONENTS = ("domain", "protocol", "smartcard", "device", "host", "tui")  # tools are not installed on a kiosk
SUFFIXES = {".py", ".toml", ".tcss", ".json", ".csv"}


class IntegrityError(BilingualError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            Bilingual(
                ja="アプリケーションの改ざんを検知したため起動できません。技術担当者に連絡してください",
                en=f"The application was modified and will not start: {'; '.join(problems[:5])}",
            )
        )


def installed_files() -> dict[str, Path]:
    """Every file of the installed yoshin components, keyed `component/relative/path`."""
    files: dict[str, Path] = {}
    for component in COMPONENTS:
        try:
            module = importlib.import_module(f"yoshin.{component}")
        except ImportError:
            continue
        for root in (Path(entry) for entry in module.__path__):
            if not root.is_dir():
                continue
            for path in sorted(root.rglob("*")):
                if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts:
                    files[f"{component}/{path.relative_to(root).as_posix()}"] = path
    return files


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_manifest(key: Ed25519PrivateKey, version: str) -> dict[str, Any]:
    body = {"version": version, "files": {name: _digest(path) for name, path in installed_files().items()}}
    signature = key.sign(json.dumps(body, sort_keys=True).encode())
    return {"manifest": body, "signature": base64.b64encode(signature).decode()}


def verify_installation(signed: dict[str, Any], public_key: Ed25519PublicKey) -> None:
    """Raises IntegrityError naming what differs; returns quietly when every file matches."""
    try:
        body = signed["manifest"]
        public_key.verify(base64.b64decode(signed["signature"]), json.dumps(body, sort_keys=True).encode())
    except (KeyError, TypeError, ValueError, InvalidSignature):
        raise IntegrityError(["the manifest's signature does not verify"]) from None
    expected: dict[str, str] = body["files"]
    present = installed_files()
    problems = [f"missing {name}" for name in sorted(set(expected) - set(present))]
    problems += [f"unexpected {name}" for name in sorted(set(present) - set(expected))]
    problems += [
        f"changed {name}" for name in sorted(set(expected) & set(present)) if _digest(present[name]) != expected[name]
    ]
    if problems:
        raise IntegrityError(problems)


def verify_files(manifest_path: Path, public_key_path: Path) -> None:
    """The check at start: the manifest and release key files as installed. Raises IntegrityError."""
    try:
        signed = json.loads(manifest_path.read_text())
        public = serialization.load_pem_public_key(public_key_path.read_bytes())
    except (OSError, ValueError) as error:
        raise IntegrityError([f"cannot read the manifest or release key: {error}"]) from None
    if not isinstance(public, Ed25519PublicKey):
        raise IntegrityError(["the release key is not an Ed25519 public key"])
    verify_installation(signed, public)
