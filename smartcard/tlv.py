"""A tolerant BER-TLV parser: 1- or 2-byte tags, short and long (81, 82) lengths.

It either parses, says how many more bytes it needs (for reading an EF of unknown length), or raises
TLVError. Nothing else: the fuzz tests hold it to that.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LENGTH = 0xFFFF


class TLVError(ValueError):
    """Bytes that are not BER-TLV."""


@dataclass(frozen=True, slots=True)
class Header:
    tag: int
    length: int
    header_length: int

    @property
    def total(self) -> int:
        return self.header_length + self.length


class NeedMore(TLVError):
    """The data is a valid prefix; at least `needed` bytes in all are required."""

    def __init__(self, needed: int) -> None:
        super().__init__(f"need {needed} bytes")
        self.needed = needed


def parse_header(data: bytes, offset: int = 0) -> Header:
    """Tag and length at `offset`. Raises NeedMore when the header itself is cut short."""
    position = offset
    if position >= len(data):
        raise NeedMore(position + 1)
    first = data[position]
    position += 1
    tag = first
    if first & 0x1F == 0x1F:  # a multi-byte tag: yoshin's cards use two bytes (DF xx, FF xx, 5F xx, 7F xx)
        if position >= len(data):
            raise NeedMore(position + 1)
        second = data[position]
        if second & 0x80:
            raise TLVError("tags longer than 2 bytes are not used by this card")
        tag = (first << 8) | second
        position += 1
    if position >= len(data):
        raise NeedMore(position + 1)
    length_byte = data[position]
    position += 1
    if length_byte < 0x80:
        length = length_byte
    elif length_byte in (0x81, 0x82):
        count = length_byte & 0x7F
        if position + count > len(data):
            raise NeedMore(position + count)
        length = int.from_bytes(data[position : position + count], "big")
        position += count  # a non-minimal long form (81 05) is tolerated: it is unambiguous
    else:
        raise TLVError(f"unsupported length form {length_byte:02X}")
    if length > MAX_LENGTH:
        raise TLVError("length too large")
    return Header(tag, length, position - offset)


def parse_one(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """(tag, value, next offset). Raises NeedMore when the value is cut short."""
    header = parse_header(data, offset)
    end = offset + header.total
    if end > len(data):
        raise NeedMore(end)
    return header.tag, bytes(data[offset + header.header_length : end]), end


def parse_all(data: bytes) -> list[tuple[int, bytes]]:
    """Consecutive TLVs filling `data`; trailing padding (00 or FF) is ignored."""
    items = []
    offset = 0
    while offset < len(data):
        if all(byte in (0x00, 0xFF) for byte in data[offset:]):
            break
        try:
            tag, value, offset = parse_one(data, offset)
        except NeedMore as error:
            raise TLVError(f"truncated TLV (need {error.needed} bytes, have {len(data)})") from None
        items.append((tag, value))
    return items


def children(value: bytes) -> dict[int, bytes]:
    """The TLVs inside a constructed value, by tag (the first of each tag wins)."""
    found: dict[int, bytes] = {}
    for tag, inner in parse_all(value):
        found.setdefault(tag, inner)
    return found
