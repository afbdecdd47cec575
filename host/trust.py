"""The trust anchors the host checks card data against (control 2, finding 1).

- the J-LIS public key, which signs the card's face data (DF33 over the hashes of the My Number and the
  basic 4 information): without it only the hashes are checked, and anyone can compute hashes;
- the JPKI user-authentication CAs, to which a card's auth certificate must chain (JPKI mode, staff
  card logins and attestations).

They come from `yoshin-host serve --jlis-key PEM --jpki-ca PEM...`, or from the `[trust]` table of
`<data dir>/host.toml` (`jlis_key = "path"`, `jpki_cas = ["path", ...]`, relative to the data dir).
Production refuses to start without both. Development loads the card emulator's test anchors and says
so at start-up.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CONFIG_FILE = "host.toml"
# File names the card emulator's test PKI writes (yoshin.devtools.dev_pki), read here without importing it.
TEST_JLIS_PUBLIC = "jlis-test-public.pem"
TEST_JPKI_CA = "jpki-auth-test-ca.pem"


class TrustError(ValueError):
    pass


@dataclass(frozen=True)
class TrustAnchors:
    jlis_key: rsa.RSAPublicKey | None
    jpki_cas: list[x509.Certificate] = field(default_factory=list)
    source: str = "none"
    development: bool = False

    @property
    def complete(self) -> bool:
        return self.jlis_key is not None and bool(self.jpki_cas)

    def describe(self) -> str:
        kind = "DEVELOPMENT test anchors (card emulator keys, never for residents)" if self.development else "anchors"
        jlis = "yes" if self.jlis_key else "NO"
        return f"{kind} from {self.source}: J-LIS key {jlis}, {len(self.jpki_cas)} JPKI CA(s)"


def _jlis(path: Path) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as error:
        raise TrustError(f"cannot read the J-LIS public key {path}: {error}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise TrustError(f"{path} is not an RSA public key (the J-LIS key is RSA)")
    return key


def _cas(paths: list[Path]) -> list[x509.Certificate]:
    out = []
    for path in paths:
        try:
            out += x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError) as error:
            raise TrustError(f"cannot read the JPKI CA certificate {path}: {error}") from None
    return out


def load(jlis_key: Path | None, jpki_cas: list[Path], source: str) -> TrustAnchors:
    return TrustAnchors(_jlis(jlis_key) if jlis_key else None, _cas(jpki_cas), source)


def configured(data_dir: Path) -> tuple[Path | None, list[Path]]:
    """The `[trust]` table of `<data dir>/host.toml`: paths relative to the data directory."""
    config = data_dir / CONFIG_FILE
    if not config.exists():
        return None, []
    try:
        with config.open("rb") as handle:
            table = tomllib.load(handle).get("trust", {})
    except tomllib.TOMLDecodeError as error:
        raise TrustError(f"{config}: {error}") from None
    if not isinstance(table, dict):
        raise TrustError(f"{config}: [trust] must be a table")
    jlis = table.get("jlis_key")
    cas = table.get("jpki_cas", [])
    if (jlis is not None and not isinstance(jlis, str)) or not isinstance(cas, list):
        raise TrustError(f"{config}: jlis_key is a path, jpki_cas a list of paths")
    return (data_dir / jlis if jlis else None), [data_dir / str(path) for path in cas]


def development(test_pki_dir: Path) -> TrustAnchors:
    """The card emulator's test anchors (a J-LIS-style key and the JPKI auth test CA) from its directory."""
    return TrustAnchors(
        _jlis(test_pki_dir / TEST_JLIS_PUBLIC),
        _cas([test_pki_dir / TEST_JPKI_CA]),
        str(test_pki_dir),
        development=True,
    )
