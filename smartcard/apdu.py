"""ISO 7816-4 short APDUs for the My Number card, and status words with names.

PIN bytes never appear in a repr, log line or exception: a VERIFY command masks its data everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

AID_JPKI = bytes.fromhex("D392F000260100000001")  # 公的個人認証 AP
AID_KENHOJO = bytes.fromhex("D3921000310001010408")  # 券面事項入力補助AP
INS_VERIFY = 0x20
INS_CHANGE = 0x24
MAX_READ = 256  # short APDU: Le 00 means 256

# JPKI-AP files
EF_SIGN_CERT = 0x0001  # readable only after VERIFY of EF 001B; absent on a child's card
EF_SIGN_CA_CERT = 0x0002
EF_JPKI_TOKEN = 0x0006
EF_AUTH_CERT = 0x000A
EF_AUTH_CA_CERT = 0x000B
EF_AUTH_KEY = 0x0017
EF_AUTH_PIN = 0x0018
EF_SIGN_KEY = 0x001A
EF_SIGN_PIN = 0x001B
# 券面事項入力補助AP files
EF_MY_NUMBER = 0x0001
EF_BASIC_INFO = 0x0002
EF_FACE_SIGNATURE = 0x0003
EF_FACE_PIN = 0x0011

# SHA-256 DigestInfo prefix (mynumber-card.md §10.2): the host builds it, the card pads and signs.
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")

STATUS_NAMES = {
    0x9000: "success",
    0x6282: "end of file reached before reading Le bytes",
    0x6700: "wrong length",
    0x6982: "security status not satisfied",
    0x6983: "authentication method blocked",
    0x6984: "reference data not usable",
    0x6A82: "file or application not found",
    0x6A86: "incorrect P1-P2",
    0x6B00: "wrong parameters (offset outside the EF)",
    0x6D00: "instruction not supported",
    0x6E00: "class not supported",
}


def status_name(sw: int) -> str:
    if sw & 0xFFF0 == 0x63C0:
        return f"verification failed, {sw & 0x0F} tries left"
    if sw & 0xFF00 == 0x6100:
        return f"{sw & 0xFF} more bytes available"
    if sw & 0xFF00 == 0x6C00:
        return f"wrong Le, exact length {sw & 0xFF}"
    return STATUS_NAMES.get(sw, "unknown status")


@dataclass(frozen=True, slots=True)
class Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None  # None: no Le; 1..256 (256 is sent as 00)

    def __post_init__(self) -> None:
        if len(self.data) > 255:
            raise ValueError("short APDUs carry at most 255 bytes")
        if self.le is not None and not 1 <= self.le <= MAX_READ:
            raise ValueError("Le must be 1..256")

    @property
    def is_secret(self) -> bool:
        return self.ins in (INS_VERIFY, INS_CHANGE) and bool(self.data)

    def to_bytes(self) -> bytes:
        out = bytes([self.cla, self.ins, self.p1, self.p2])
        if self.data:
            out += bytes([len(self.data)]) + self.data
        if self.le is not None:
            out += bytes([self.le & 0xFF])
        return out

    def __repr__(self) -> str:
        data = "*" * (2 * len(self.data)) if self.is_secret else self.data.hex().upper()
        header = f"{self.cla:02X} {self.ins:02X} {self.p1:02X} {self.p2:02X}"
        length = f" {len(self.data):02X} {data}" if self.data else ""
        le = f" Le={self.le}" if self.le is not None else ""
        return f"Command({header}{length}{le})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Response:
    data: bytes
    sw: int

    @property
    def ok(self) -> bool:
        return self.sw == 0x9000

    @classmethod
    def from_bytes(cls, raw: bytes) -> Response:
        if len(raw) < 2:
            raise ValueError("a response needs at least SW1 SW2")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))

    def __repr__(self) -> str:
        return f"Response({len(self.data)} bytes, {self.sw:04X} {status_name(self.sw)})"


def select_df(aid: bytes) -> Command:
    return Command(0x00, 0xA4, 0x04, 0x0C, aid)


def select_ef(fid: int) -> Command:
    return Command(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big"))


def verify_query() -> Command:
    """VERIFY without data: asks the retry counter and uses no try (case 1)."""
    return Command(0x00, INS_VERIFY, 0x00, 0x80)


def verify(pin: bytes) -> Command:
    if not pin:
        raise ValueError("an empty VERIFY is a counter query, never a PIN")  # OpenSC 23fead8e7
    return Command(0x00, INS_VERIFY, 0x00, 0x80, pin)


def read_binary(offset: int, length: int) -> Command:
    if not 0 <= offset <= 0x7FFF:
        raise ValueError("READ BINARY offsets are 15 bits")
    return Command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=length)


def jpki_sign(digest_info: bytes) -> Command:
    return Command(0x80, 0x2A, 0x00, 0x80, digest_info, le=MAX_READ)


def sha256_digest_info(digest: bytes) -> bytes:
    if len(digest) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes")
    return SHA256_DIGEST_INFO_PREFIX + digest
