"""The card services' logic over the in-process loopback (no pcscd, no root): the emulator's card behind
`LoopbackChannel`. The same flows run through pcscd + vpcd in test_pcsc.py and test_personas.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from yoshin.smartcard import apdu
from yoshin.smartcard.card import Pin
from yoshin.smartcard.errors import (
    CardRemovedError,
    LastTryConfirmationRequired,
    NotMyNumberCardError,
    PinBlockedError,
    PinFormatError,
    WrongPinError,
)
from yoshin.smartcard.loopback import open_loopback
from yoshin.smartcard.verify import JpkiVerificationError, RevocationStatus, verify_jpki_auth
from yoshin.tools.card_emulator import CardImage, CardState
from yoshin.tools.personas import persona
from yoshin.tools.test_pki import TestPki

pytestmark = pytest.mark.unit
NOW = datetime(2026, 10, 15, 1, 0, tzinfo=UTC)
MakeCard = Callable[..., CardState]


@pytest.fixture
def make_card(test_pki: TestPki) -> MakeCard:
    def make(persona_id: str = "adult", kind: str = "mynumber") -> CardState:
        return CardState(CardImage.for_persona(persona(persona_id), test_pki, kind))

    return make


def _verifies(state: CardState) -> int:
    """VERIFY commands that carried a PIN (the emulator logs them masked)."""
    return sum(1 for c in state.log if c[1] == 0x20 and len(c) > 4)


def test_identify_by_token_not_atr(make_card: MakeCard) -> None:
    with open_loopback(make_card()) as card:
        assert card.identify() == "mynumber"
        assert card.channel.apdus_sent == 3  # SELECT JPKI-AP, SELECT 0006, READ 32


@pytest.mark.parametrize(("kind", "reported"), [("juki", "juki"), ("foreign", "unknown")])
def test_other_cards_are_refused(make_card: MakeCard, kind: str, reported: str) -> None:
    state = make_card(kind=kind)
    with open_loopback(state) as card, pytest.raises(NotMyNumberCardError) as error:
        card.identify()
    assert error.value.kind == reported
    with open_loopback(state) as card, pytest.raises(NotMyNumberCardError):
        card.read_face("1234")


def test_counters_are_read_without_using_a_try(make_card: MakeCard) -> None:
    state = make_card()
    with open_loopback(state) as card:
        status = card.pin_status()
        assert (status.auth, status.face, status.sign) == (3, 3, 5)
        assert card.channel.apdus_sent == 8  # JPKI-AP selected once for 0018 and 001B
        assert card.pin_status() == status
        assert [card.pin_tries(pin) for pin in Pin] == [3, 3, 5]
    assert _verifies(state) == 0


def test_a_card_without_the_face_ap_reports_its_pin_as_not_issued(make_card: MakeCard) -> None:
    with open_loopback(make_card(kind="juki")) as card:
        status = card.pin_status()
    assert (status.auth, status.face, status.sign) == (3, None, 5)
    with open_loopback(make_card(kind="foreign")) as card:
        assert card.pin_status() == type(status)(None, None, None)


def test_face_read_is_the_minimal_apdu_sequence(make_card: MakeCard) -> None:
    state = make_card("long-address")
    with open_loopback(state) as card:
        card.read_face("0000")
        sent = card.channel.apdus_sent
    files = state.image.files[apdu.AID_KENHOJO]

    def reads(size: int) -> int:  # mynumber-card.md §4.3: 1 + ceil((N - 7) / 256) READ BINARY
        return 1 + -(-(size - 7) // 256)

    # SELECT AP, SELECT 0011, counter, VERIFY; SELECT + reads of 0002; SELECT 0001 + READ 17; 0003
    minimal = 4 + (1 + reads(len(files[0x0002]))) + 2 + (1 + reads(len(files[0x0003])))
    assert sent == minimal == 13
    assert state.verified == set()  # the reset on close cleared the verified PIN


def test_face_read_checks_hashes_and_the_jlis_signature(make_card: MakeCard, test_pki: TestPki) -> None:
    with open_loopback(make_card()) as card:
        read = card.read_face("1234", jlis_key=test_pki.jlis_key.public_key())
    assert (read.basic_info.name, read.my_number.last4) == ("川崎 花子", "0860")
    assert read.hashes_match and read.signature_valid is True
    with open_loopback(make_card("elderly")) as card:
        assert card.read_face("2580").signature_valid is None  # no key configured: reported, not hidden
    other = TestPki.load_or_create(test_pki.directory / "other-jlis")
    with open_loopback(make_card()) as card:
        assert card.read_face("1234", jlis_key=other.jlis_key.public_key()).signature_valid is False


def test_wrong_pin_counts_down_and_a_right_pin_resets(make_card: MakeCard) -> None:
    state = make_card()
    with open_loopback(state) as card, pytest.raises(WrongPinError) as error:
        card.read_face("9999")
    assert error.value.tries_left == 2
    assert "残り2回" in error.value.message.ja and "2 tries left" in error.value.message.en
    with open_loopback(state) as card:
        assert card.pin_tries(Pin.FACE) == 2
        card.read_face("1234")
        assert card.pin_tries(Pin.FACE) == 3
        assert card.pin_tries(Pin.AUTH) == 3  # separate counters
    assert _verifies(state) == 2


def test_last_try_needs_confirmation_and_sends_nothing_without_it(make_card: MakeCard) -> None:
    state = make_card()
    for _ in range(2):
        with open_loopback(state) as card, pytest.raises(WrongPinError):
            card.read_face("0000")
    with open_loopback(state) as card, pytest.raises(LastTryConfirmationRequired):
        card.read_face("1234")
    assert _verifies(state) == 2
    with open_loopback(state) as card:
        assert card.read_face("1234", confirm_last_try=True).my_number.last4 == "0860"
        assert card.pin_tries(Pin.FACE) == 3


def test_blocking(make_card: MakeCard) -> None:
    state = make_card()
    for _ in range(2):
        with open_loopback(state) as card, pytest.raises(WrongPinError):
            card.read_face("0000")
    with open_loopback(state) as card, pytest.raises(PinBlockedError) as error:
        card.read_face("0000", confirm_last_try=True)
    assert "市区町村" in error.value.message.ja and "municipal office" in error.value.message.en
    with open_loopback(state) as card, pytest.raises(PinBlockedError):
        card.read_face("1234", confirm_last_try=True)
    assert _verifies(state) == 3  # the blocked PIN was never sent again
    with open_loopback(state) as card:
        assert card.pin_tries(Pin.FACE) == 0 and card.pin_tries(Pin.AUTH) == 3


def test_pin_format_is_checked_before_anything_is_sent(make_card: MakeCard) -> None:
    state = make_card()
    for bad in ("123", "12345", "12a4", "", " ", "١٢٣٤x"):
        with open_loopback(state) as card, pytest.raises(PinFormatError):
            card.read_face(bad)
    assert state.log == []
    with open_loopback(state) as card:
        assert card.read_face("１２３４").basic_info.name == "川崎 花子"  # full-width digits normalised


@pytest.mark.parametrize("pull_after", [1, 2, 4, 5, 7, 10, 13])
def test_a_pulled_card_leaves_nothing_half_read_and_no_verified_state(make_card: MakeCard, pull_after: int) -> None:
    state = make_card("long-address")
    with pytest.raises(CardRemovedError), open_loopback(state, pull_after=pull_after) as card:
        card.read_face("0000")
    assert state.verified == set() and len(state.log) == pull_after - 1
    with open_loopback(state) as card:  # put back: a fresh session that reads the counter first
        assert card.pin_tries(Pin.FACE) == 3
        assert card.read_face("0000").basic_info.birth_date is not None


def test_jpki_authentication_and_its_verifier(make_card: MakeCard, test_pki: TestPki) -> None:
    challenge = b"JPKI-AUTH|host|kiosk-1|" + bytes(range(32))
    with open_loopback(make_card()) as card:
        signed = card.jpki_authenticate("1234", challenge)
        # SELECT AP, SELECT 000A, READ 7 + reads of the certificate, SELECT 0018, counter, VERIFY, SELECT 0017, SIGN
        assert card.channel.apdus_sent == 3 + -(-(len(signed.certificate) - 7) // 256) + 5
    result = verify_jpki_auth(signed.certificate, signed.signature, challenge, [test_pki.ca_cert], NOW)
    assert result.revocation is RevocationStatus.NOT_CONFIGURED
    assert len(result.subject_id) == 20 and result.subject_id.isdigit()
    with pytest.raises(JpkiVerificationError, match="challenge"):
        verify_jpki_auth(signed.certificate, signed.signature, challenge + b"x", [test_pki.ca_cert], NOW)
    other = TestPki.load_or_create(test_pki.directory / "other-ca")
    with pytest.raises(JpkiVerificationError, match="pinned"):
        verify_jpki_auth(signed.certificate, signed.signature, challenge, [other.ca_cert], NOW)
    with pytest.raises(JpkiVerificationError, match="validity"):
        later = datetime(2040, 1, 1, tzinfo=UTC)
        verify_jpki_auth(signed.certificate, signed.signature, challenge, [test_pki.ca_cert], later)


def test_jpki_authentication_with_the_wrong_pin_signs_nothing(make_card: MakeCard) -> None:
    state = make_card()
    with open_loopback(state) as card, pytest.raises(WrongPinError):
        card.jpki_authenticate("0000", b"challenge")
    assert not any(c[:2] == b"\x80\x2a" for c in state.log)
    with open_loopback(state) as card:
        assert (card.pin_tries(Pin.AUTH), card.pin_tries(Pin.FACE)) == (2, 3)
