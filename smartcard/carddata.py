"""The data on 券面事項入力補助AP: the My Number, basic 4 info, and the J-LIS signature EF.

Pure parsing and checking (no pyscard): the appliance uses it to show the name and birth date, the host
to open sealed identity blobs. The My Number lives only inside `MyNumber`, whose `str` and `repr` show at
most the last 4 digits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from yoshin.domain.codes import is_valid_my_number
from yoshin.smartcard.errors import CardDataError
from yoshin.smartcard.tlv import TLVError, children, parse_header, parse_one

MY_NUMBER_EF_LENGTH = 17  # every tool reads 17 bytes (mynumber-card.md §6.1)
MAX_BASIC_INFO = 1024
MAX_SIGNATURE_EF = 1024
TAG_MY_NUMBER = (0xDF10, 0xFF10)
TAG_BASIC_INFO = 0xFF20
TAG_NAME, TAG_ADDRESS, TAG_BIRTH, TAG_SEX = 0xDF22, 0xDF23, 0xDF24, 0xDF25
TAG_SIGNATURE_EF = 0xFF30
TAG_HASH_MY_NUMBER, TAG_HASH_BASIC_INFO, TAG_SIGNATURE = 0xDF31, 0xDF32, 0xDF33
# cryptography only for the J-LIS signature check, which needs a configured key: the kiosk reads cards
# without loading it (its process holds no cryptography: docs/ARCHITECTURE.md, "The appliance agent").
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

SEX_CODES = {"1": "male", "2": "female", "9": "not_applicable"}  # ISO 5218 style on the card


class MyNumber:
    """A 12-digit My Number that never shows itself: str and repr give only the last 4 digits."""

    __slots__ = ("_digits",)

    def __init__(self, digits: str) -> None:
        if not is_valid_my_number(digits):
            raise CardDataError("the My Number fails its check digit")
        self._digits = digits

    @property
    def last4(self) -> str:
        return self._digits[-4:]

    def reveal(self) -> str:
        """The full number, for the host's registry look-up only. Never display, log or store it."""
        return self._digits

    def __repr__(self) -> str:
        return f"MyNumber(********{self.last4})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MyNumber) and other._digits == self._digits

    def __hash__(self) -> int:
        return hash(("MyNumber", self._digits))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a MyNumber is never pickled")


@dataclass(frozen=True, slots=True)
class BasicInfo:
    """基本4情報 as on the card. Its repr is redacted so it cannot end up in a log by accident."""

    name: str
    address: str
    birth_date: date
    sex: str  # "male", "female", "not_applicable"

    def __repr__(self) -> str:
        return "BasicInfo(<redacted>)"


@dataclass(frozen=True, slots=True)
class FaceSignature:
    hash_my_number: bytes
    hash_basic_info: bytes
    signature: bytes

    def __repr__(self) -> str:
        return f"FaceSignature(signature={len(self.signature)} bytes)"


def parse_my_number(ef0001: bytes) -> MyNumber:
    """EF 0001: `DF 10 0C <12 ASCII digits>` (or FF 10), then padding."""
    try:
        tag, value, _ = parse_one(ef0001)
    except TLVError as error:
        raise CardDataError(f"My Number EF: {error}") from None
    if tag not in TAG_MY_NUMBER or len(value) != 12 or not value.isascii() or not value.isdigit():
        raise CardDataError("My Number EF does not hold 12 digits")
    return MyNumber(value.decode("ascii"))


def parse_basic_info(ef0002: bytes) -> BasicInfo:
    """EF 0002: `FF 20 { DF21 header, DF22 name, DF23 address, DF24 birth YYYYMMDD, DF25 sex }`."""
    fields = _basic_info_fields(ef0002)
    try:
        name = fields[TAG_NAME].decode("utf-8")
        address = fields[TAG_ADDRESS].decode("utf-8")
        birth = fields[TAG_BIRTH].decode("ascii")
        sex = SEX_CODES[fields[TAG_SEX].decode("ascii")]
    except KeyError:
        raise CardDataError("basic 4 info is incomplete or has an unknown sex code") from None
    except UnicodeDecodeError:
        raise CardDataError("basic 4 info is not valid text") from None
    if len(birth) != 8 or not birth.isdigit():
        raise CardDataError("birth date is not YYYYMMDD")
    try:
        birth_date = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        raise CardDataError("birth date is not a real date") from None
    if not name.strip() or not address.strip():
        raise CardDataError("name or address is empty")
    return BasicInfo(name=name, address=address, birth_date=birth_date, sex=sex)


def parse_signature(ef0003: bytes) -> FaceSignature:
    """EF 0003: `FF 30 { DF31 SHA-256(EF 0001), DF32 SHA-256(DF22..DF25 of EF 0002), DF33 signature }`."""
    try:
        tag, value, _ = parse_one(ef0003)
        if tag != TAG_SIGNATURE_EF:
            raise CardDataError("signature EF has the wrong tag")
        inner = children(value)
    except TLVError as error:
        raise CardDataError(f"signature EF: {error}") from None
    try:
        hashes_ = inner[TAG_HASH_MY_NUMBER], inner[TAG_HASH_BASIC_INFO]
        signature = inner[TAG_SIGNATURE]
    except KeyError:
        raise CardDataError("signature EF is incomplete") from None
    if any(len(digest) != 32 for digest in hashes_) or not signature:
        raise CardDataError("signature EF hashes are not SHA-256")
    return FaceSignature(hashes_[0], hashes_[1], signature)


def basic_info_signed_part(ef0002: bytes) -> bytes:
    """The bytes DF32 covers: the DF22..DF25 TLVs, located by parsing (not by a fixed offset)."""
    try:
        outer = parse_header(ef0002)
        start = outer.header_length
        body = ef0002[start : outer.total]
        offset = 0
        first = last = None
        while offset < len(body):
            tag, _, end = parse_one(body, offset)
            if tag == TAG_NAME and first is None:
                first = offset
            if tag == TAG_SEX:
                last = end
            offset = end
    except TLVError as error:
        raise CardDataError(f"basic 4 info: {error}") from None
    if first is None or last is None or last <= first:
        raise CardDataError("basic 4 info has no DF22..DF25")
    return bytes(body[first:last])


def hashes_match(ef0001: bytes, ef0002: bytes, ef0003: bytes) -> bool:
    """Do the DF31/DF32 hashes in EF 0003 match the EFs as read?"""
    signature = parse_signature(ef0003)
    return (
        hashlib.sha256(ef0001[:MY_NUMBER_EF_LENGTH]).digest() == signature.hash_my_number
        and hashlib.sha256(basic_info_signed_part(ef0002)).digest() == signature.hash_basic_info
    )


def signed_message(signature: FaceSignature) -> bytes:
    """What DF33 signs, as yoshin models it: DF31 value ‖ DF32 value.

    The real card's exact signed structure is unverified (mynumber-card.md §14); the emulator and this
    verifier share this model, and a J-LIS key of documented provenance must confirm it before production.
    """
    return signature.hash_my_number + signature.hash_basic_info


def verify_face_signature(ef0003: bytes, jlis_public_key: rsa.RSAPublicKey) -> bool:
    """RSASSA-PKCS1-v1_5 / SHA-256 of DF33 against the configured J-LIS public key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signature = parse_signature(ef0003)
    try:
        jlis_public_key.verify(signature.signature, signed_message(signature), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _basic_info_fields(ef0002: bytes) -> dict[int, bytes]:
    if len(ef0002) > MAX_BASIC_INFO + 4:
        raise CardDataError("basic 4 info is too large")
    try:
        tag, value, _ = parse_one(ef0002)
        if tag != TAG_BASIC_INFO:
            raise CardDataError("basic 4 info has the wrong tag")
        return children(value)
    except TLVError as error:
        raise CardDataError(f"basic 4 info: {error}") from None
