"""Sealed envelopes: confidentiality to the host, binding of the header, device origin."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from yoshin.protocol.api import new_record_id
from yoshin.protocol.sealing import (
    EnvelopeHeader,
    SealedEnvelope,
    SealError,
    open_sealed,
    seal,
    verify_envelope,
)

HOST = X25519PrivateKey.generate()
DEVICE = Ed25519PrivateKey.generate()
PAYLOAD = '{"kind":"identity","body":{"name":"山田 花子"}}'.encode()


def _header(**changes: str) -> EnvelopeHeader:
    fields = {
        "record_id": new_record_id(),
        "device_id": "dev-131008-0001",
        "kind": "identity",
        "created_at": "2026-11-22T09:00:00+09:00",
    }
    fields.update(changes)
    return EnvelopeHeader(**fields)


def _sealed() -> SealedEnvelope:
    return seal(PAYLOAD, _header(), HOST.public_key(), DEVICE)


def test_round_trip_through_json_and_bytes() -> None:
    envelope = _sealed()
    for copy in (
        SealedEnvelope.from_json(envelope.to_json()),
        SealedEnvelope.from_bytes(envelope.to_bytes()),
    ):
        assert copy == envelope
        assert open_sealed(copy, HOST, DEVICE.public_key()) == PAYLOAD


def test_ciphertext_does_not_contain_the_plaintext() -> None:
    envelope = _sealed()
    assert "山田".encode() not in envelope.to_bytes()
    assert b"identity" in envelope.to_bytes()  # the kind is metadata, readable on purpose


def test_only_the_host_key_opens_it() -> None:
    with pytest.raises(SealError):
        open_sealed(_sealed(), X25519PrivateKey.generate(), DEVICE.public_key())


def test_a_flipped_ciphertext_byte_fails_the_signature_check() -> None:
    envelope = _sealed()
    flipped = bytearray(envelope.ciphertext)
    flipped[40] ^= 0x01
    tampered = dataclasses.replace(envelope, ciphertext=bytes(flipped))
    with pytest.raises(SealError, match="signature"):
        verify_envelope(tampered, DEVICE.public_key())


def test_ciphertext_moved_under_another_header_does_not_open_even_if_re_signed() -> None:
    envelope = _sealed()
    other = _header(kind="vaccination_record")
    resigned = SealedEnvelope(other, envelope.ciphertext, b"")
    resigned = dataclasses.replace(
        resigned,
        signature=DEVICE.sign(b"yoshin-envelope-v1\x00" + other.canonical() + b"\x00" + envelope.ciphertext),
    )
    verify_envelope(resigned, DEVICE.public_key())  # the signature is fine ...
    with pytest.raises(SealError, match="decrypt"):  # ... but HPKE info binds the original header
        open_sealed(resigned, HOST, DEVICE.public_key())


def test_another_device_key_is_refused() -> None:
    with pytest.raises(SealError):
        open_sealed(_sealed(), HOST, Ed25519PrivateKey.generate().public_key())


@pytest.mark.parametrize(
    "changes",
    [
        {"record_id": str(uuid.uuid4())},
        {"record_id": "not-a-uuid"},
        {"kind": "pizza"},
        {"device_id": ""},
        {"device_id": "x" * 129},
        {"created_at": "2026-11-22T09:00:00"},
        {"created_at": "yesterday"},
    ],
)
def test_bad_headers_are_refused(changes: dict[str, str]) -> None:
    with pytest.raises(SealError):
        _header(**changes)


def test_record_ids_are_uuid7_and_sort_by_time() -> None:
    first, second = new_record_id(now_ms=1_700_000_000_000), new_record_id(now_ms=1_700_000_000_001)
    assert uuid.UUID(first).version == 7
    assert first < second


@given(st.binary(max_size=400))
def test_from_bytes_parses_or_raises_seal_error(blob: bytes) -> None:
    with contextlib.suppress(SealError):
        SealedEnvelope.from_bytes(blob)


@given(st.recursive(st.none() | st.text() | st.integers(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)))
def test_from_json_parses_or_raises_seal_error(data: object) -> None:
    with contextlib.suppress(SealError):
        SealedEnvelope.from_json(data)


def test_truncated_bytes_are_refused() -> None:
    blob = _sealed().to_bytes()
    for cut in (3, 10, len(blob) - len(_sealed().ciphertext) - 1):
        with pytest.raises(SealError):
            SealedEnvelope.from_bytes(blob[:cut])
