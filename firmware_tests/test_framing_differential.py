"""Host and firmware frame codecs against each other and against PyPI `cobs` / `crcmod`, plus fuzzing."""

from __future__ import annotations

import crcmod
import framing as fw  # device/firmware/framing.py (path set up by conftest)
from cobs import cobs
from hypothesis import given, settings
from hypothesis import strategies as st

from yoshin.device import framing as host

crc_ref = crcmod.mkCrcFun(0x11021, initCrc=0xFFFF, rev=False, xorOut=0)


def test_crc_check_value_both_sides() -> None:
    assert host.crc16(b"123456789") == fw.crc16(b"123456789") == crc_ref(b"123456789") == 0x29B1


@given(st.binary(max_size=1200))
@settings(max_examples=300, deadline=None)
def test_cobs_matches_reference(data: bytes) -> None:
    ref = cobs.encode(data)
    assert host.cobs_encode(data) == ref
    assert fw.cobs_encode(data) == ref
    assert host.cobs_decode(ref) == data == fw.cobs_decode(ref)


@given(st.integers(min_value=1, max_value=4).flatmap(lambda k: st.binary(min_size=254 * k, max_size=254 * k)))
@settings(max_examples=50, deadline=None)
def test_cobs_full_block_boundary(data: bytes) -> None:
    data = data.replace(b"\x00", b"\x01")
    assert host.cobs_encode(data) == fw.cobs_encode(data) == cobs.encode(data)


@given(st.binary(max_size=600))
@settings(max_examples=200, deadline=None)
def test_crc_matches_crcmod(data: bytes) -> None:
    assert host.crc16(data) == fw.crc16(data) == crc_ref(data)


@given(st.binary(max_size=512))
@settings(max_examples=200, deadline=None)
def test_frames_interoperate(payload: bytes) -> None:
    assert host.encode_frame(payload) == fw.encode_frame(payload)
    assert fw.Deframer().feed(host.encode_frame(payload)) == [payload]
    assert host.Deframer().feed(fw.encode_frame(payload)) == [payload]


@given(garbage=st.binary(max_size=2000), payload=st.binary(max_size=512), chunk=st.integers(1, 64))
@settings(max_examples=300, deadline=None)
def test_decoders_never_crash_and_always_resync(garbage: bytes, payload: bytes, chunk: int) -> None:
    stream = garbage + b"\x00" + host.encode_frame(payload)
    for d in (host.Deframer(), fw.Deframer()):
        got: list[bytes] = []
        for i in range(0, len(stream), chunk):
            got += d.feed(stream[i : i + chunk])
        assert got and got[-1] == payload


@given(st.binary(min_size=1, max_size=300), st.integers(0, 2000), st.integers(0, 7))
@settings(max_examples=200, deadline=None)
def test_single_bit_flip_is_never_accepted_as_other_data(payload: bytes, pos: int, bit: int) -> None:
    frame = bytearray(host.encode_frame(payload))
    i = pos % (len(frame) - 1)
    frame[i] ^= 1 << bit
    for d in (host.Deframer(), fw.Deframer()):
        out = d.feed(bytes(frame) + b"\x00")
        assert all(p == payload for p in out)  # CRC-16 catches every single-bit error


def test_overlong_frame_is_dropped_and_counted() -> None:
    d = host.Deframer(max_payload=32)
    assert d.feed(b"\x01" * 5000 + b"\x00" + host.encode_frame(b"ok")) == [b"ok"]
    assert d.errors == 1
    try:
        host.encode_frame(b"x" * 513)
    except host.FrameError:
        pass
    else:
        raise AssertionError("oversized payload encoded")
