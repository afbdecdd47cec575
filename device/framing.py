"""Host side of the I/O board frame codec: COBS(payload + CRC-16/CCITT-FALSE) + 0x00.

The board has its own MicroPython copy (device/firmware/framing.py); tests check both against
each other and against PyPI `cobs` and `crcmod`. CRC comes from the standard library
(`binascii.crc_hqx` with init 0xFFFF is CRC-16/CCITT-FALSE); COBS is ten lines, so no dependency.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field

MAX_PAYLOAD = 512


class FrameError(ValueError):
    """A frame that cannot be decoded (bad COBS, CRC mismatch, too long)."""


def crc16(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)


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


def encode_frame(payload: bytes, max_payload: int = MAX_PAYLOAD) -> bytes:
    if len(payload) > max_payload:
        raise FrameError(f"payload of {len(payload)} bytes exceeds {max_payload}")
    return cobs_encode(payload + crc16(payload).to_bytes(2, "big")) + b"\x00"


def decode_frame(raw: bytes) -> bytes:
    """Decode one frame without its 0x00 delimiter."""
    data = cobs_decode(raw)
    if len(data) < 2:
        raise FrameError("frame too short")
    payload, crc = data[:-2], int.from_bytes(data[-2:], "big")
    if crc16(payload) != crc:
        raise FrameError("CRC mismatch")
    return payload


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
        return self.max_payload + 2 + (self.max_payload + 2) // 254 + 1

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
                    out.append(decode_frame(bytes(self._buf)))
                    self.frames += 1
                except FrameError:
                    self.errors += 1
            self._buf.clear()
        return out
