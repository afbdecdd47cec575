"""The card flows through the real PC/SC stack: pcscd + vpcd + our emulator, via pyscard.

The functional proof of the card layer: readers, presence, exclusive sessions, resets, removal, and the
flows end to end. Their logic in detail (PIN rules, card kinds, minimal sequences) is unit-tested over the
in-process loopback in test_card_logic.py; the parity test below shows both send the same APDUs.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography import x509

from yoshin.smartcard import apdu
from yoshin.smartcard.card import open_card
from yoshin.smartcard.errors import (
    CardRemovedError,
    NoCardError,
    VirtualReaderRefused,
    WrongPinError,
)
from yoshin.smartcard.loopback import open_loopback
from yoshin.smartcard.transport import PcscContext
from yoshin.smartcard.verify import JpkiVerificationError, RevocationStatus, verify_jpki_auth
from yoshin.tools.card_emulator import CardImage, CardState, Emulator
from yoshin.tools.personas import persona
from yoshin.tools.test_pki import TestPki
from yoshin.tools.virtual_reader import VirtualReader

pytestmark = pytest.mark.pcsc
SLOT0 = "Test Virtual PCD 00 00"
SLOT1 = "Test Virtual PCD 00 01"


def _verifies(emulator: Emulator) -> int:
    """VERIFY commands that carried a PIN (the emulator logs them masked)."""
    return sum(1 for c in emulator.state.log if c[1] == 0x20 and len(c) > 4)


def test_readers_and_presence(virtual_reader: VirtualReader, insert_card) -> None:
    with PcscContext() as context:
        before = {r.name: r.card_present for r in context.list_readers()}
    assert before == {SLOT0: False, SLOT1: False}
    insert_card("adult", slot=1)
    with PcscContext() as context:
        assert {r.name: r.card_present for r in context.list_readers()} == {SLOT0: False, SLOT1: True}
        assert context.choose_reader() == SLOT1


def test_face_read(insert_card, test_pki: TestPki) -> None:
    insert_card("adult")
    with open_card(SLOT0) as card:
        read = card.read_face("1234", jlis_key=test_pki.jlis_key.public_key())
    assert read.basic_info.name == "川崎 花子"
    assert read.basic_info.birth_date.isoformat() == "1988-06-12"
    assert read.my_number.last4 == "0860"
    assert read.hashes_match and read.signature_valid is True
    assert "402135790860" not in repr(read)


def test_loopback_and_pcsc_send_the_same_apdus(insert_card, test_pki: TestPki) -> None:
    emulator = insert_card("long-address")
    with open_card(SLOT0) as card:
        card.pin_status()
    with open_card(SLOT0) as card:
        card.read_face("0000")
    twin = CardState(CardImage.for_persona(persona("long-address"), test_pki))
    with open_loopback(twin) as card:
        card.pin_status()
    with open_loopback(twin) as card:
        card.read_face("0000")
    assert emulator.state.log == twin.log and len(twin.log) == 8 + 13


def test_face_read_is_the_minimal_apdu_sequence(insert_card) -> None:
    emulator = insert_card("long-address")
    with open_card(SLOT0) as card:
        card.read_face("0000")
        sent = card.channel.apdus_sent
    files = emulator.state.image.files[apdu.AID_KENHOJO]

    def reads(size: int) -> int:  # mynumber-card.md §4.3: 1 + ceil((N - 7) / 256) READ BINARY
        return 1 + -(-(size - 7) // 256)

    # SELECT AP, SELECT 0011, counter, VERIFY; SELECT + reads of 0002; SELECT 0001 + READ 17; 0003
    minimal = 4 + (1 + reads(len(files[0x0002]))) + 2 + (1 + reads(len(files[0x0003])))
    assert sent == minimal == 13
    assert emulator.state.verified == set()  # the reset on close cleared the verified PIN


def test_wrong_pin_counts_down_and_a_right_pin_resets(insert_card) -> None:
    emulator = insert_card("adult")
    with open_card(SLOT0) as card, pytest.raises(WrongPinError) as error:
        card.read_face("9999")
    assert error.value.tries_left == 2
    assert "残り2回" in error.value.message.ja and "2 tries left" in error.value.message.en
    with open_card(SLOT0) as card:
        assert card.pin_status().face == 2
        card.read_face("1234")
        assert card.pin_status().face == 3
        assert card.pin_status().auth == 3  # separate counters
    assert _verifies(emulator) == 2


@pytest.mark.parametrize("pull_after", [2, 5, 7, 10])
def test_card_pulled_mid_read(insert_card, pull_after: int) -> None:
    emulator = insert_card("adult")
    with PcscContext() as context:
        inserted = context.event_count(SLOT0)
    emulator.pull_after = pull_after
    with pytest.raises((CardRemovedError, NoCardError)), open_card(SLOT0) as card:
        card.read_face("1234")
    with PcscContext() as context:
        assert context.wait_for_removal(SLOT0, timeout=10, after_event=inserted)


def test_two_slots_hold_two_cards(insert_card) -> None:
    insert_card("adult", slot=0)
    insert_card("elderly", slot=1)
    with open_card(SLOT1) as card:
        assert card.read_face("2580").basic_info.name == "多摩 一郎"
    with open_card(SLOT0) as card:
        assert card.read_face("1234").basic_info.name == "川崎 花子"


def test_reinsert_starts_with_no_verified_state(insert_card) -> None:
    emulator = insert_card("adult")
    with open_card(SLOT0) as card:
        card.read_face("1234")
    with PcscContext() as context:
        inserted = context.event_count(SLOT0)
    emulator.remove()
    with PcscContext() as context:
        assert context.wait_for_removal(SLOT0, timeout=10, after_event=inserted)
    emulator.insert()
    with PcscContext() as context:
        assert context.wait_for_card(SLOT0, timeout=10)
    with open_card(SLOT0) as card:
        card.channel.transmit(apdu.select_df(apdu.AID_KENHOJO))
        card.channel.transmit(apdu.select_ef(apdu.EF_BASIC_INFO))
        assert card.channel.transmit(apdu.read_binary(0, 7)).sw == 0x6982


def test_exclusive_access_keeps_others_out(insert_card) -> None:
    insert_card("adult")
    with open_card(SLOT0), PcscContext() as other:
        from yoshin.smartcard.errors import ReaderBusyError

        with pytest.raises(ReaderBusyError):
            other.connect(SLOT0)


def test_jpki_authentication_verifies_against_the_pinned_test_ca(insert_card, test_pki: TestPki) -> None:
    insert_card("adult")
    challenge = b"JPKI-AUTH|host|kiosk-1|" + bytes(range(32))
    with open_card(SLOT0) as card:
        signed = card.jpki_authenticate("1234", challenge)
        assert card.channel.apdus_sent <= 14
    result = verify_jpki_auth(signed.certificate, signed.signature, challenge, [test_pki.ca_cert], datetime.now(UTC))
    assert result.revocation is RevocationStatus.NOT_CONFIGURED
    assert len(result.subject_id) == 20 and result.subject_id.isdigit()
    assert x509.load_der_x509_certificate(signed.certificate).issuer == test_pki.ca_cert.subject
    with pytest.raises(JpkiVerificationError, match="challenge"):
        verify_jpki_auth(signed.certificate, signed.signature, challenge + b"x", [test_pki.ca_cert], datetime.now(UTC))
    other = TestPki.load_or_create(test_pki.directory / "other-ca")
    with pytest.raises(JpkiVerificationError, match="pinned"):
        verify_jpki_auth(signed.certificate, signed.signature, challenge, [other.ca_cert], datetime.now(UTC))

    class Revoked:
        def status(self, certificate: x509.Certificate) -> RevocationStatus:
            return RevocationStatus.REVOKED

    with pytest.raises(JpkiVerificationError, match="revoked"):
        verify_jpki_auth(
            signed.certificate, signed.signature, challenge, [test_pki.ca_cert], datetime.now(UTC), Revoked()
        )


def test_production_mode_refuses_the_virtual_reader(insert_card) -> None:
    insert_card("adult")
    with pytest.raises(VirtualReaderRefused), open_card(SLOT0, production=True):
        pass


def test_no_card_in_the_named_reader(virtual_reader: VirtualReader) -> None:
    with pytest.raises(NoCardError), open_card(SLOT0):
        pass
    with PcscContext() as context, pytest.raises(NoCardError):
        context.choose_reader()
