# Frame codec shared by the board and (as a copy-free reference) the host tests.
# Frame on the wire: COBS(payload + CRC-16/CCITT-FALSE big-endian) + 0x00.
# MicroPython-compatible: no f-strings with '=' specifiers, no match, no dataclasses.

MAX_PAYLOAD = 512
# COBS adds at most one byte per 254, plus the overhead byte; +2 for the CRC.
MAX_ENCODED = MAX_PAYLOAD + 2 + (MAX_PAYLOAD + 2) // 254 + 1


def crc16(data, crc=0xFFFF):
    # CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection; check("123456789") = 0x29B1
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc


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
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload too long")
    c = crc16(payload)
    return cobs_encode(bytes(payload) + bytes(((c >> 8) & 0xFF, c & 0xFF))) + b"\x00"


class Deframer:
    """Feed bytes, get payloads. Garbage, overlong or corrupt frames are counted and skipped:
    the decoder resynchronises at the next 0x00 and never raises on input."""

    def __init__(self, max_payload=MAX_PAYLOAD):
        self.max_encoded = max_payload + 2 + (max_payload + 2) // 254 + 1
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
        if len(d) < 2:
            return None
        body = d[:-2]
        if crc16(body) != (d[-2] << 8) | d[-1]:
            return None
        return body
