# Frame codec shared by the board and (as a copy-free reference) the host tests.
# Frame on the wire: COBS(length u16 ‖ payload ‖ CRC-32 over both, big-endian) ‖ 0x00.
# The length is checked as well as the CRC: a bit flip that turns a COBS code byte into 0x00 cuts
# a frame short, and the shortened data may carry a matching CRC; it never matches the length.
# CRC-32 rather than CRC-16: a flipped code byte moves zeros inside the decoded data, which a
# 16-bit check misses once in 65536 (a search found such a flip). Payloads shorter than a message
# header (type + request id) are refused.
# MicroPython-compatible: no f-strings with '=' specifiers, no match, no dataclasses.
try:
    from binascii import crc32 as _crc32_c
except ImportError:  # a port built without MICROPY_PY_BINASCII_CRC32
    _crc32_c = None

MAX_PAYLOAD = 512
# Every payload has a type byte and a 2-byte request id (protocol.py).
MIN_PAYLOAD = 3
# Length (2) + CRC (4) around the payload.
OVERHEAD = 6


def max_encoded(max_payload=MAX_PAYLOAD):
    # COBS adds at most one byte per 254, plus the overhead byte.
    body = max_payload + OVERHEAD
    return body + body // 254 + 1


MAX_ENCODED = max_encoded()


def crc32_py(data):
    # Bitwise CRC-32 (reflected poly 0xEDB88320, init and xorout 0xFFFFFFFF), the fallback.
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            if crc & 1:
                crc = (crc >> 1) ^ 0xEDB88320
            else:
                crc >>= 1
    return crc ^ 0xFFFFFFFF


def crc32(data):
    # check value crc32(b"123456789") = 0xCBF43926
    if _crc32_c is None:
        return crc32_py(data)
    return _crc32_c(data) & 0xFFFFFFFF


def cobs_encode(data):
    out = bytearray(b"\x00")
    code_at = 0
    code = 1
    for b in data:
        if b == 0:
            out[code_at] = code
            code_at = len(out)
            out.append(0)
            code = 1
        else:
            out.append(b)
            code += 1
            if code == 0xFF:
                # A full 254-byte block: start a new block. If the data ends here no extra
                # block is emitted (the classic trailing-0x01 bug is avoided below).
                out[code_at] = code
                code_at = len(out)
                out.append(0)
                code = 1
    out[code_at] = code
    # A block opened right after a full block at the very end of the data holds nothing:
    # drop it, it would decode as a spurious trailing zero-less 0x01 block.
    if code == 1 and code_at == len(out) - 1 and len(out) > 1 and _ends_full_block(data):
        out = out[:-1]
    return bytes(out)


def _ends_full_block(data):
    # True when the data ends with a run of non-zero bytes whose length is a multiple of 254.
    n = 0
    for i in range(len(data) - 1, -1, -1):
        if data[i] == 0:
            break
        n += 1
    return n > 0 and n % 254 == 0


class CobsError(ValueError):
    pass


def cobs_decode(data):
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise CobsError("zero byte in COBS data")
        end = i + code
        if end > n:
            raise CobsError("COBS block runs past the end")
        for j in range(i + 1, end):
            b = data[j]
            if b == 0:
                raise CobsError("zero byte in COBS data")
            out.append(b)
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


def encode_frame(payload):
    n = len(payload)
    if n > MAX_PAYLOAD:
        raise ValueError("payload too long")
    if n < MIN_PAYLOAD:
        raise ValueError("payload shorter than a message header")
    body = bytes(((n >> 8) & 0xFF, n & 0xFF)) + bytes(payload)
    c = crc32(body)
    return cobs_encode(body + bytes(((c >> 24) & 0xFF, (c >> 16) & 0xFF, (c >> 8) & 0xFF, c & 0xFF))) + b"\x00"


class Deframer:
    """Feed bytes, get payloads. Garbage, overlong or corrupt frames are counted and skipped:
    the decoder resynchronises at the next 0x00 and never raises on input."""

    def __init__(self, max_payload=MAX_PAYLOAD):
        self.max_payload = max_payload
        self.max_encoded = max_encoded(max_payload)
        self.buf = bytearray()
        self.overflow = False
        self.errors = 0
        self.frames = 0

    def feed(self, data):
        out = []
        for b in data:
            if b != 0:
                if self.overflow:
                    continue
                if len(self.buf) >= self.max_encoded:
                    self.overflow = True
                    self.buf = bytearray()
                    continue
                self.buf.append(b)
                continue
            # End of frame.
            if self.overflow:
                self.errors += 1
                self.overflow = False
            elif self.buf:
                p = self._decode(self.buf)
                if p is None:
                    self.errors += 1
                else:
                    self.frames += 1
                    out.append(p)
            self.buf = bytearray()
        return out

    def _decode(self, raw):
        try:
            d = cobs_decode(raw)
        except CobsError:
            return None
        n = len(d)
        if n < OVERHEAD + MIN_PAYLOAD:
            return None
        length = (d[0] << 8) | d[1]
        if length != n - OVERHEAD or length > self.max_payload:
            return None
        body = d[:-4]
        if crc32(body) != (d[-4] << 24) | (d[-3] << 16) | (d[-2] << 8) | d[-1]:
            return None
        return body[2:]
