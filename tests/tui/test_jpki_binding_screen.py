"""Finding 4 at the kiosk: the resident's visit links their card's JPKI certificate, and a 利用者証明用 PIN that
differs from the typed one is never spent silently (the identity screen says so). The real kiosk under Pilot,
its services, pcscd + vpcd + the emulator, and the served host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from yoshin.devtools.card_emulator import CardImage, CardState, Emulator
from yoshin.devtools.dev_pki import DevPki
from yoshin.devtools.personas import persona
from yoshin.devtools.virtual_reader import VirtualReader
from yoshin.smartcard import apdu
from yoshin.smartcard.transport import PcscContext
from yoshin.tui.screens.identity import IdentityScreen

pytestmark = pytest.mark.pcsc


@pytest.fixture
def card_with_auth_pin(virtual_reader: VirtualReader, test_pki: DevPki) -> Iterator[Emulator]:
    """The adult persona's card, but with a 利用者証明用 PIN other than the face PIN."""
    image = CardImage.for_persona(persona("adult"), test_pki)
    image.pins[apdu.EF_AUTH_PIN] = b"8642"
    emulator = Emulator(CardState(image), virtual_reader.port(0))
    slot = virtual_reader.slot_name(0)
    emulator.insert()
    with PcscContext() as context:
        assert context.wait_for_card(slot, 10)
    yield emulator
    with PcscContext() as context:
        event = context.event_count(slot)
        emulator.remove()
        context.wait_for_removal(slot, 10, after_event=event)


def _link_outcomes(host) -> list[str]:
    rows = host.service.db.execute("SELECT outcome FROM audit WHERE action = 'jpki.link' ORDER BY seq").fetchall()
    return [outcome for (outcome,) in rows]


async def test_a_visit_links_the_card_and_shows_nothing_extra(kiosk, card, drive, host) -> None:
    app = kiosk()
    card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app, "en")
        await drive.type_pin(pilot, app, "2580")
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        assert not app.screen.query("#auth-pin")
    assert _link_outcomes(host) == ["ok"]
    links = host.service.db.execute("SELECT subject_id FROM jpki_links").fetchall()
    assert links == [(persona("elderly").subject_id,)]


async def test_a_differing_auth_pin_is_told_to_the_resident(kiosk, card_with_auth_pin, drive, host) -> None:
    app = kiosk()
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app, "en")
        await drive.type_pin(pilot, app, "1234")
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        notice = str(app.screen.query_one("#auth-pin").render())
        assert "2 left" in notice and "restores all 3" in notice
        assert app.screen.query("#yes")  # the visit goes on
    assert card_with_auth_pin.state.tries[apdu.EF_AUTH_PIN] == 2
    assert card_with_auth_pin.state.tries[apdu.EF_FACE_PIN] == 3
    assert _link_outcomes(host) == ["skipped: auth_pin_differs"]
