"""Host side of the I/O board frame codec: COBS(length ‖ payload ‖ CRC-32) ‖ 0x00.

The board has its own MicroPython copy (device/firmware/framing.py); tests check both against
each other and against PyPI `cobs` and `crcmod`. CRC-32 (the zlib one) comes from the standard
library; COBS is ten lines, so no dependency.

The explicit length is checked as well as the CRC: a bit flip that turns a COBS code byte into
0x00 cuts the frame short at a block boundary, and the shortened data can carry a matching CRC
(with the former CRC-16, an empty payload's CRC 0xFFFF matched); a short frame never matches its
own length field. A payload shorter than a message header (type + request id) is refused outright.
The CRC is 32 bits because a flipped code byte moves zeros around inside the decoded data, an
error that no 16-bit check detects with certainty: a search found a single-bit flip that a CRC-16
with a length field accepted (firmware_tests/test_framing_differential.py keeps it as an example).
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field

MAX_PAYLOAD = 512
# Every payload carries at least a type byte and a 2-byte request id (device/firmware/protocol.py).
MIN_PAYLOAD = 3
# Frame body before COBS: length (2) + payload + CRC (4).
OVERHEAD = 6


class FrameError(ValueError):
    """A frame that cannot be decoded (bad COBS, CRC mismatch, too long)."""


def crc32(data: bytes) -> int:
    """CRC-32 as in zlib/PNG: check value crc32(b"123456789") == 0xCBF43926."""
    return binascii.crc32(data) & 0xFFFFFFFF


def cobs_encode(data: bytes) -> bytes:
    out = bytearray()
    for chunk in data.split(b"\x00"):
        # Each zero-delimited chunk becomes blocks of at most 254 bytes.
        while len(chunk) >= 254:
            out += b"\xff" + chunk[:254]
            chunk = chunk[254:]
            if not chunk:
                break
        else:
            out += bytes((len(chunk) + 1,)) + chunk
            continue
        out += b"\x01"  # placeholder for the zero that follows a full block (removed at the end)
    # Every chunk but the last is followed by a zero; a full final block needs no terminator.
    if data.split(b"\x00")[-1] and len(data.split(b"\x00")[-1]) % 254 == 0:
        out = out[:-1]
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        if code == 0 or i + code > len(data):
            raise FrameError("bad COBS block")
        block = data[i + 1 : i + code]
        if 0 in block:
            raise FrameError("zero byte inside COBS data")
        out += block
        i += code
        if code != 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def max_encoded(max_payload: int = MAX_PAYLOAD) -> int:
    """Longest encoded frame (without its delimiter) for payloads up to `max_payload` bytes."""
    body = max_payload + OVERHEAD
    return body + body // 254 + 1


def encode_frame(payload: bytes, max_payload: int = MAX_PAYLOAD) -> bytes:
    if len(payload) > max_payload:
        raise FrameError(f"payload of {len(payload)} bytes exceeds {max_payload}")
    if len(payload) < MIN_PAYLOAD:
        raise FrameError(f"payload of {len(payload)} bytes is shorter than a message header ({MIN_PAYLOAD})")
    body = len(payload).to_bytes(2, "big") + payload
    return cobs_encode(body + crc32(body).to_bytes(4, "big")) + b"\x00"


def decode_frame(raw: bytes, max_payload: int = MAX_PAYLOAD) -> bytes:
    """Decode one frame without its 0x00 delimiter."""
    data = cobs_decode(raw)
    if len(data) < OVERHEAD + MIN_PAYLOAD:
        raise FrameError("frame too short")
    length = int.from_bytes(data[:2], "big")
    if length != len(data) - OVERHEAD:
        raise FrameError("length mismatch")
    if length > max_payload:
        raise FrameError("payload too long")
    body, crc = data[:-4], int.from_bytes(data[-4:], "big")
    if crc32(body) != crc:
        raise FrameError("CRC mismatch")
    return body[2:]


@dataclass
class Deframer:
    """Incremental decoder: feed any bytes, get whole payloads; never raises on input.

    Garbage, overlong and corrupt frames are counted in `errors` and skipped up to the next 0x00.
    """

    max_payload: int = MAX_PAYLOAD
    errors: int = 0
    frames: int = 0
    _buf: bytearray = field(default_factory=bytearray)
    _overflow: bool = False

    @property
    def max_encoded(self) -> int:
        return max_encoded(self.max_payload)

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        parts = data.split(b"\x00")
        for n, part in enumerate(parts):
            if not self._overflow:
                self._buf += part
                if len(self._buf) > self.max_encoded:
                    self._overflow = True
                    self._buf.clear()
            if n == len(parts) - 1:
                break  # no delimiter after the last part yet
            if self._overflow:
                self.errors += 1
                self._overflow = False
            elif self._buf:
                try:
                    out.append(decode_frame(bytes(self._buf), self.max_payload))
                    self.frames += 1
                except FrameError:
                    self.errors += 1
            self._buf.clear()
        return out
