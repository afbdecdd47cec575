"""Unit tests of the pure card layer: APDUs, TLV, card data. No reader involved."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yoshin.smartcard import apdu
from yoshin.smartcard.carddata import (
    MyNumber,
    basic_info_signed_part,
    hashes_match,
    parse_basic_info,
    parse_my_number,
    parse_signature,
    verify_face_signature,
)
from yoshin.smartcard.errors import CardDataError
from yoshin.smartcard.tlv import NeedMore, TLVError, children, parse_all, parse_header, parse_one
from yoshin.tools.card_emulator import CardImage
from yoshin.tools.personas import all_personas, persona
from yoshin.tools.test_pki import TestPki

pytestmark = pytest.mark.unit


def test_apdu_bytes_match_the_reference() -> None:
    assert apdu.select_df(apdu.AID_JPKI).to_bytes().hex().upper() == "00A4040C0AD392F000260100000001"
    assert apdu.select_ef(0x0018).to_bytes().hex().upper() == "00A4020C020018"
    assert apdu.verify_query().to_bytes().hex().upper() == "00200080"
    assert apdu.read_binary(0x0107, 256).to_bytes().hex().upper() == "00B0010700"
    digest_info = apdu.sha256_digest_info(bytes(32))
    assert len(digest_info) == 51
    assert apdu.jpki_sign(digest_info).to_bytes()[:5].hex().upper() == "802A008033"


def test_pin_bytes_never_show(caplog: pytest.LogCaptureFixture) -> None:
    command = apdu.verify(b"1234")
    assert "1234" not in repr(command) and "31323334" not in repr(command).upper()
    assert "31323334" not in str(command).upper()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("t").debug("sending %s", command)
    assert "31323334" not in caplog.text.upper()


def test_an_empty_verify_is_never_a_pin() -> None:
    with pytest.raises(ValueError):
        apdu.verify(b"")


def test_status_words_have_names() -> None:
    assert apdu.status_name(0x63C2) == "verification failed, 2 tries left"
    assert apdu.status_name(0x6982) == "security status not satisfied"
    assert apdu.status_name(0x6A82) == "file or application not found"


@pytest.mark.parametrize(
    ("data", "tag", "length", "header"),
    [
        (bytes.fromhex("DF2203414243"), 0xDF22, 3, 3),
        (bytes.fromhex("FF2081") + bytes([200]) + bytes(200), 0xFF20, 200, 4),
        (bytes.fromhex("308201F4") + bytes(500), 0x30, 500, 4),
        (bytes.fromhex("5F4E0100"), 0x5F4E, 1, 3),
    ],
)
def test_tlv_headers(data: bytes, tag: int, length: int, header: int) -> None:
    parsed = parse_header(data)
    assert (parsed.tag, parsed.length, parsed.header_length) == (tag, length, header)


def test_tlv_needs_more_and_errors() -> None:
    with pytest.raises(NeedMore) as need:
        parse_one(bytes.fromhex("FF2081C8") + bytes(10))
    assert need.value.needed == 4 + 200
    with pytest.raises(TLVError):
        parse_header(bytes.fromhex("DF2284"))
    assert children(bytes.fromhex("DF2201 41 DF2301 42 FFFF".replace(" ", ""))) == {
        0xDF22: b"A",
        0xDF23: b"B",
    }


@given(st.binary(max_size=300))
def test_tlv_parser_parses_or_raises_its_error(data: bytes) -> None:
    with contextlib.suppress(TLVError):
        parse_all(data)


@given(st.binary(max_size=400))
def test_card_data_parsers_parse_or_raise_card_data_error(data: bytes) -> None:
    for parser in (parse_my_number, parse_basic_info, parse_signature, basic_info_signed_part):
        with contextlib.suppress(CardDataError):
            parser(data)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return TestPki.load_or_create(tmp_path_factory.mktemp("pki"))


@pytest.mark.parametrize("persona_id", sorted(all_personas()))
def test_every_persona_card_parses_and_verifies(persona_id: str, pki: TestPki) -> None:
    who = persona(persona_id)
    image = CardImage.for_persona(who, pki)
    files = image.files[apdu.AID_KENHOJO]
    ef1, ef2, ef3 = files[0x0001], files[0x0002], files[0x0003]
    assert len(ef1) == 17
    info = parse_basic_info(ef2)
    assert (info.name, info.address, info.birth_date, info.sex) == (
        who.name,
        who.address,
        who.birth_date,
        who.sex,
    )
    assert parse_my_number(ef1).last4 == who.my_number[-4:]
    assert hashes_match(ef1, ef2, ef3)
    assert verify_face_signature(ef3, pki.jlis_key.public_key())
    assert repr(info) == "BasicInfo(<redacted>)"


def test_long_address_needs_the_long_length_form(pki: TestPki) -> None:
    ef2 = CardImage.for_persona(persona("long-address"), pki).files[apdu.AID_KENHOJO][0x0002]
    assert ef2[:3] == bytes.fromhex("FF2081")


def test_tampered_basic_info_breaks_the_hash_and_a_foreign_key_fails(pki: TestPki) -> None:
    files = CardImage.for_persona(persona("adult"), pki).files[apdu.AID_KENHOJO]
    ef1, ef2, ef3 = files[0x0001], files[0x0002], files[0x0003]
    forged = ef2.replace("川崎 花子".encode(), "川崎 花男".encode())
    assert not hashes_match(ef1, forged, ef3)
    other = TestPki.load_or_create(pki.directory / "other")
    assert not verify_face_signature(ef3, other.jlis_key.public_key())
    assert hashlib.sha256(ef1).digest() == parse_signature(ef3).hash_my_number


def test_my_number_shows_only_its_last_four_digits() -> None:
    number = MyNumber("402135790860")
    for text in (repr(number), str(number), f"{number}", f"{number!s}", f"{number}"):
        assert "40213579" not in text and text.endswith("0860)")
    assert number.reveal() == "402135790860"
    with pytest.raises(TypeError):
        pickle.dumps(number)
    with pytest.raises(CardDataError):
        MyNumber("402135790861")  # wrong check digit
