"""Signed template bundles: the municipality's templates and catalogue as the host publishes them.

The host signs the bundle with its Ed25519 template key; the device verifies it against the public key
it received at enrollment before using any template or rule (a tampered bundle is refused).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from yoshin.domain.catalogue import Catalogue, catalogue_files, load_catalogue
from yoshin.domain.i18n import Bilingual, BilingualError
from yoshin.domain.templates import TemplateSet, load_templates, template_files

# cryptography only to sign and verify: the kiosk loads rules the appliance agent has verified, without it.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

BUNDLE_FORMAT = "yoshin-bundle-1"


class BundleError(BilingualError):
    def __init__(self, en: str) -> None:
        super().__init__(Bilingual(ja="予診票・ワクチン情報の署名を確認できません", en=en))


@dataclass(frozen=True, slots=True)
class Rules:
    """What a verified bundle gives the device: the catalogue and the templates."""

    catalogue: Catalogue
    templates: TemplateSet


def build_bundle(published_at: datetime | None = None) -> dict[str, Any]:
    """The bundle of the shipped data files (a municipality publishes its own the same way)."""
    stamp = (published_at or datetime.now(UTC)).isoformat()
    files = {f"catalogue/{name}": text for name, text in catalogue_files().items()}
    files |= {f"templates/{name}": text for name, text in template_files().items()}
    return {"format": BUNDLE_FORMAT, "published_at": stamp, "files": files}


def key_id(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_bundle(bundle: dict[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    signature = private_key.sign(_canonical(bundle))
    return {
        "bundle": bundle,
        "key_id": key_id(private_key.public_key()),
        "signature": base64.b64encode(signature).decode(),
    }


def verify_bundle(signed: Any, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The bundle if the signature verifies with `public_key`; BundleError otherwise."""
    from cryptography.exceptions import InvalidSignature

    if not isinstance(signed, dict) or set(signed) != {"bundle", "key_id", "signature"}:
        raise BundleError("not a signed bundle")
    bundle = signed["bundle"]
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise BundleError("unknown bundle format")
    if signed["key_id"] != key_id(public_key):
        raise BundleError("bundle signed by another key")
    try:
        public_key.verify(base64.b64decode(signed["signature"], validate=True), _canonical(bundle))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        raise BundleError("bundle signature does not verify") from None
    return bundle


def load_rules(bundle: dict[str, Any]) -> Rules:
    """Catalogue and templates from a verified bundle."""
    files = bundle["files"]
    return Rules(
        catalogue=load_catalogue(text for name, text in sorted(files.items()) if name.startswith("catalogue/")),
        templates=load_templates(text for name, text in sorted(files.items()) if name.startswith("templates/")),
    )


def _canonical(bundle: dict[str, Any]) -> bytes:
    return json.dumps(bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
