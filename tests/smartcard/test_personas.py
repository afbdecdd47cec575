"""Cards as a clinic meets them, through pcscd + vpcd + the emulator: a child's card without a signing
certificate, expired and revoked signing certificates, a blocked face PIN with a working auth PIN."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography import x509

from yoshin.smartcard import apdu
from yoshin.smartcard.card import Pin, open_card
from yoshin.smartcard.errors import PinBlockedError
from yoshin.smartcard.verify import RevocationStatus, verify_jpki_auth
from yoshin.tools.card_emulator import Emulator
from yoshin.tools.personas import SignCertificate, persona
from yoshin.tools.test_pki import TestPki

pytestmark = pytest.mark.pcsc
SLOT0 = "Test Virtual PCD 00 00"
NOW = datetime(2026, 10, 15, 1, 0, tzinfo=UTC)


def _verifies(emulator: Emulator) -> int:
    return sum(1 for c in emulator.state.log if c[1] == 0x20 and len(c) > 4)


def _authenticates(pin: str, test_pki: TestPki) -> None:
    challenge = b"JPKI-AUTH|host|kiosk-1|" + bytes(32)
    with open_card(SLOT0) as card:
        signed = card.jpki_authenticate(pin, challenge)
    result = verify_jpki_auth(
        signed.certificate, signed.signature, challenge, [test_pki.ca_cert], NOW, test_pki.revocation()
    )
    assert result.revocation is RevocationStatus.GOOD


def test_a_childs_card_has_no_signing_pin_and_reads_normally(insert_card) -> None:
    assert persona("child").card.sign_certificate is SignCertificate.ABSENT
    emulator = insert_card("child")
    with open_card(SLOT0) as card:
        status = card.pin_status()
        assert (status.auth, status.face, status.sign) == (3, 3, None)
        sent = card.channel.apdus_sent
        # SELECT JPKI, SELECT 0018, counter, SELECT 001B (6A82), SELECT kenhojo, SELECT 0011, counter
        assert sent == 7
        assert card.pin_tries(Pin.SIGN) is None and card.pin_tries(Pin.FACE) == 3
    with open_card(SLOT0) as card:
        assert card.read_face("9876").basic_info.name == "中原 陽葵"
    assert _verifies(emulator) == 1


def test_the_face_counter_alone_costs_three_apdus(insert_card) -> None:
    emulator = insert_card("child")
    with open_card(SLOT0) as card:
        assert card.pin_tries(Pin.FACE) == 3
        assert card.channel.apdus_sent == 3
    assert [c[:2] for c in emulator.state.log] == [b"\x00\xa4", b"\x00\xa4", b"\x00\x20"]


@pytest.mark.parametrize("persona_id", ["sign-expired", "sign-revoked"])
def test_an_expired_or_revoked_signing_certificate_leaves_the_face_read_working(
    insert_card, test_pki: TestPki, persona_id: str
) -> None:
    who = persona(persona_id)
    emulator = insert_card(persona_id)
    # The card really holds such a certificate (readable only with the signing password).
    der = emulator.state.image.files[apdu.AID_JPKI][apdu.EF_SIGN_CERT]
    certificate = x509.load_der_x509_certificate(der)
    if who.card.sign_certificate is SignCertificate.EXPIRED:
        assert certificate.not_valid_after_utc < NOW
    else:
        assert test_pki.revocation().status(certificate) is RevocationStatus.REVOKED
    with open_card(SLOT0) as card:
        card.channel.transmit(apdu.select_df(apdu.AID_JPKI))
        card.channel.transmit(apdu.select_ef(apdu.EF_SIGN_CERT))
        assert card.channel.transmit(apdu.read_binary(0, 7)).sw == 0x6982
    with open_card(SLOT0) as card:
        status = card.pin_status()
        assert (status.auth, status.face, status.sign) == (3, 3, 5)
        assert card.read_face(who.pins["face"]).basic_info.name == who.name
    _authenticates(who.pins["auth"], test_pki)


def test_a_blocked_face_pin_sends_nothing_and_the_auth_pin_still_works(insert_card, test_pki: TestPki) -> None:
    who = persona("face-blocked")
    emulator = insert_card("face-blocked")
    with open_card(SLOT0) as card:
        status = card.pin_status()
        assert (status.auth, status.face, status.sign) == (3, 0, 5)
    with open_card(SLOT0) as card, pytest.raises(PinBlockedError) as error:
        card.read_face(who.pins["face"], confirm_last_try=True)
    assert "市区町村" in error.value.message.ja and "municipal office" in error.value.message.en
    assert _verifies(emulator) == 0  # the blocked PIN was never sent
    _authenticates(who.pins["auth"], test_pki)
    assert _verifies(emulator) == 1
