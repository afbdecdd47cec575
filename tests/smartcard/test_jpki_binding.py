"""Finding 4, end to end: the kiosk's card read signs the host's challenge bound to that very read, in the same
card session, and only such a binding links a JPKI certificate to the resident.

Through the real stack: pcscd + vpcd + the card emulator, the kiosk's own services (`ApplianceServices`) on an
enrolled appliance, and the served host over mutual TLS. Refusals (another card's certificate, a replayed
challenge, a binding made for another read, a stale challenge, a certificate linked to someone else) are
audited and link nothing. The PIN policy: the typed PIN is tried once on the 利用者証明用 PIN, only while
its counter is full."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from yoshin.device.visit import identity_body
from yoshin.devtools.card_emulator import CardImage, CardState, Emulator
from yoshin.devtools.dev_pki import DevPki
from yoshin.devtools.personas import persona
from yoshin.devtools.virtual_reader import VirtualReader
from yoshin.host.identity import BINDING_SECONDS
from yoshin.host.server import HostServer
from yoshin.protocol import api
from yoshin.smartcard import apdu
from yoshin.smartcard.card import BindingSkip, FaceRead, open_card
from yoshin.smartcard.transport import PcscContext
from yoshin.tui.services import ApplianceServices

pytestmark = pytest.mark.pcsc


@pytest.fixture
def card_in(virtual_reader: VirtualReader) -> Iterator[Callable[[CardImage], Emulator]]:
    """Put a card made from `image` in slot 0 (one at a time) and wait until pcscd sees it."""
    slot = virtual_reader.slot_name(0)
    current: list[Emulator] = []

    def insert(image: CardImage) -> Emulator:
        with PcscContext() as context:
            for emulator in current:
                event = context.event_count(slot)
                emulator.remove()
                assert context.wait_for_removal(slot, 10, after_event=event)
            current.clear()
            emulator = Emulator(CardState(image), virtual_reader.port(0))
            emulator.insert()
            assert context.wait_for_card(slot, 10)
        current.append(emulator)
        return emulator

    yield insert
    with PcscContext() as context:
        for emulator in current:
            event = context.event_count(slot)
            emulator.remove()
            context.wait_for_removal(slot, 10, after_event=event)


@pytest.fixture
def kiosk_services(make_device, virtual_reader: VirtualReader, clock) -> tuple[ApplianceServices, object]:
    device = make_device()
    return ApplianceServices(device.appliance, virtual_reader.slot_name(0), clock), device


def _fingerprint(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).fingerprint(hashes.SHA256()).hex()


def _links(host: HostServer) -> dict[str, str]:
    return dict(host.service.db.execute("SELECT fingerprint, subject_id FROM jpki_links").fetchall())


def _link_audit(host: HostServer) -> list[str]:
    rows = host.service.db.execute("SELECT outcome FROM audit WHERE action = 'jpki.link' ORDER BY seq").fetchall()
    return [outcome for (outcome,) in rows]


def _send(services: ApplianceServices, device, body: dict[str, str]) -> dict:
    """An identity request as the kiosk sends it, with a body a test may have altered."""
    return device.client.call("POST", api.IDENTITY, {"envelope": device.seal("identity", body).to_json()})


def test_the_card_read_links_its_own_certificate_and_jpki_mode_then_answers(
    kiosk_services, card_in, test_pki: DevPki, host: HostServer
) -> None:
    services, device = kiosk_services
    who = persona("adult")
    emulator = card_in(CardImage.for_persona(who, test_pki))
    face = services.read_face(who.pins["face"], False)
    assert face.binding is not None and face.binding.auth is not None and face.binding.skipped is None
    assert emulator.state.tries[apdu.EF_AUTH_PIN] == 3  # the right PIN: nothing spent
    answer = services.resolve(face)
    assert answer is not None and answer.ok and answer.subject is not None
    assert answer.subject.subject_id == who.subject_id
    assert _links(host) == {_fingerprint(face.binding.auth.certificate): who.subject_id}
    assert _link_audit(host)[-1] == "ok"
    # The same request replayed (by whoever copied it): its challenge was used once, so it is refused.
    assert _send(services, device, identity_body(face))["status"] == "ok"
    assert _link_audit(host)[-1] == "refused: unknown, used or expired challenge"
    # A later JPKI-mode visit with this card is answered as this resident.
    challenge = device.client.call("POST", api.JPKI_CHALLENGE)
    with open_card(virtual_reader_slot(services)) as card:
        auth = card.jpki_authenticate(who.pins["auth"], bytes.fromhex(challenge["challenge"]))
    jpki = device.client.call(
        "POST",
        api.JPKI_IDENTITY,
        {
            "challenge_id": challenge["challenge_id"],
            "certificate": base64.b64encode(auth.certificate).decode(),
            "signature": base64.b64encode(auth.signature).decode(),
        },
    )
    assert jpki["status"] == "ok" and jpki["subject"]["subject_id"] == who.subject_id


def virtual_reader_slot(services: ApplianceServices) -> str:
    assert services.reader is not None
    return services.reader


def _read(services: ApplianceServices, card_in, image: CardImage, pin: str) -> FaceRead:
    card_in(image)
    return services.read_face(pin, False)


def test_another_cards_certificate_a_replay_and_another_reads_binding_are_refused(
    kiosk_services, card_in, test_pki: DevPki, host: HostServer
) -> None:
    services, device = kiosk_services
    victim, attacker = persona("adult"), persona("elderly")
    victim_read = _read(services, card_in, CardImage.for_persona(victim, test_pki), victim.pins["face"])
    attacker_read = _read(services, card_in, CardImage.for_persona(attacker, test_pki), attacker.pins["face"])
    assert victim_read.binding and victim_read.binding.auth and attacker_read.binding and attacker_read.binding.auth
    body = identity_body(victim_read)
    # 1. the victim's read and binding, but another card's certificate in it
    other_certificate = {**body, "ef_auth_certificate": identity_body(attacker_read)["ef_auth_certificate"]}
    assert _send(services, device, other_certificate)["status"] == "ok"
    # 2. the attacker's binding (its card, its challenge, its read) sent with the victim's read
    attacker_binding = {key: value for key, value in identity_body(attacker_read).items() if key.startswith("a")}
    attacker_binding["ef_auth_certificate"] = identity_body(attacker_read)["ef_auth_certificate"]
    assert _send(services, device, {**face_only(body), **attacker_binding})["status"] == "ok"
    # 3. the victim's own binding replayed: its challenge was used up by request 1
    assert _send(services, device, body)["status"] == "ok"
    assert _links(host) == {}
    assert _link_audit(host)[-3:] == [
        "refused: the certificate did not sign a challenge bound to this read",
        "refused: the certificate did not sign a challenge bound to this read",
        "refused: unknown, used or expired challenge",
    ]
    # The attacker's binding still links nothing for the attacker either: its challenge went with request 2.
    assert _send(services, device, identity_body(attacker_read))["status"] == "ok"
    assert _links(host) == {} and _link_audit(host)[-1] == "refused: unknown, used or expired challenge"


def face_only(body: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in body.items() if key.startswith("ef_") and key != "ef_auth_certificate"}


def test_a_binding_is_accepted_only_within_its_short_lifetime(
    kiosk_services, card_in, test_pki: DevPki, host: HostServer, clock
) -> None:
    services, _ = kiosk_services
    who = persona("adult")
    face = _read(services, card_in, CardImage.for_persona(who, test_pki), who.pins["face"])
    clock.now += timedelta(seconds=BINDING_SECONDS + 1)  # the resident's card session cannot have taken this long
    answer = services.resolve(face)
    assert answer is not None and answer.ok
    assert _links(host) == {} and _link_audit(host)[-1] == "refused: unknown, used or expired challenge"


def test_a_certificate_linked_to_one_resident_is_not_linked_to_another(
    kiosk_services, card_in, test_pki: DevPki, host: HostServer
) -> None:
    """A card whose JPKI key is another resident's (a tampered or swapped chip) links nothing new."""
    services, _ = kiosk_services
    first, second = persona("adult"), persona("elderly")
    face = _read(services, card_in, CardImage.for_persona(first, test_pki), first.pins["face"])
    assert services.resolve(face) is not None and len(_links(host)) == 1
    image = CardImage.for_persona(second, test_pki)
    first_image = CardImage.for_persona(first, test_pki)
    image.auth_key = first_image.auth_key
    image.files[apdu.AID_JPKI][apdu.EF_AUTH_CERT] = first_image.files[apdu.AID_JPKI][apdu.EF_AUTH_CERT]
    answer = services.resolve(_read(services, card_in, image, second.pins["face"]))
    assert answer is not None and answer.ok and answer.subject is not None
    assert set(_links(host).values()) == {first.subject_id}
    assert _link_audit(host)[-1] == "refused: the certificate is linked to another subject"


def test_a_differing_auth_pin_costs_one_try_once_and_is_never_tried_again(
    kiosk_services, card_in, test_pki: DevPki, host: HostServer
) -> None:
    """The PIN policy: the face PIN is tried on the 利用者証明用 PIN only while its counter is at 3."""
    services, _ = kiosk_services
    who = persona("adult")
    image = CardImage.for_persona(who, test_pki)
    image.pins[apdu.EF_AUTH_PIN] = b"8642"  # this resident chose two different PINs
    emulator = card_in(image)
    face = services.read_face(who.pins["face"], False)
    assert face.binding is not None and face.binding.skipped is BindingSkip.PIN_DIFFERS
    assert face.binding.auth_tries_left == 2 and emulator.state.tries[apdu.EF_AUTH_PIN] == 2
    assert services.resolve(face) is not None
    assert identity_body(face)["auth_binding_skipped"] == "auth_pin_differs"
    face = services.read_face(who.pins["face"], False)  # the next visit with the same card: no try spent
    assert face.binding is not None and face.binding.skipped is BindingSkip.TRIES_NOT_FULL
    assert emulator.state.tries[apdu.EF_AUTH_PIN] == 2 and emulator.state.tries[apdu.EF_FACE_PIN] == 3
    assert services.resolve(face) is not None
    assert _links(host) == {}
    assert _link_audit(host)[-2:] == ["skipped: auth_pin_differs", "skipped: auth_pin_tries_not_full"]
    masked = [command for command in emulator.state.log if command[1] == 0x20 and len(command) > 4]
    assert all(set(command[4:]) == {0} for command in masked)  # the emulator's log never holds a PIN


def test_a_card_without_the_jpki_auth_pin_is_read_unbound(
    kiosk_services, card_in, test_pki: DevPki, host: HostServer
) -> None:
    services, _ = kiosk_services
    who = persona("adult")
    image = dataclasses.replace(CardImage.for_persona(who, test_pki))
    del image.files[apdu.AID_JPKI][apdu.EF_AUTH_PIN]
    del image.pins[apdu.EF_AUTH_PIN]
    image.initial_tries.pop(apdu.EF_AUTH_PIN, None)
    card_in(image)
    face = services.read_face(who.pins["face"], False)
    assert face.binding is not None and face.binding.skipped is BindingSkip.NO_AUTH_PIN
    answer = services.resolve(face)
    assert answer is not None and answer.ok
    assert _link_audit(host)[-1] == "skipped: no_auth_pin"
