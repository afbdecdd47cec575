"""The kiosk's PIN screen with the cards a clinic meets (card helper's test; the screens are the resident's).

Through the real kiosk services, pcscd and the emulator: a child's card has no signing PIN, and the
PIN screen must neither fail on it nor ask the card for more than the face counter.
"""

from __future__ import annotations

import pytest

from yoshin.tui.screens.identity import IdentityScreen
from yoshin.tui.screens.pin import PinScreen

pytestmark = pytest.mark.pcsc


async def test_the_pin_screen_with_a_childs_card(kiosk, card, drive) -> None:
    app = kiosk()
    emulator = card("child")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app, "en")
        await drive.until(pilot, lambda: str(app.screen.query_one("#tries").render()) != "", app)
        assert isinstance(app.screen, PinScreen)
        assert str(app.screen.query_one("#tries").render()) == "3 tries left"
        assert str(app.screen.query_one("#error").render()) == ""
        # Only the face counter was asked: SELECT kenhojo, SELECT EF 0011, VERIFY without data.
        assert [bytes(c[:4]) for c in emulator.state.log] == [
            bytes.fromhex("00A4040C"),
            bytes.fromhex("00A4020C"),
            bytes.fromhex("00200080"),
        ]
        await drive.type_pin(pilot, app, "9876")
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
