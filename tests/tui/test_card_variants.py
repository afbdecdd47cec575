"""The kiosk's PIN screen with the cards a clinic meets (card helper's test; the screens are the resident's).

Through the real kiosk services, pcscd and the emulator: a child's card has no signing PIN, and the
PIN screen must neither fail on it nor ask the card for more than the face counter.
"""

from __future__ import annotations

import pytest

from yoshin.smartcard import apdu
from yoshin.tui.screens.identity import IdentityScreen
from yoshin.tui.screens.pin import PinScreen
from yoshin.tui.screens.questionnaire import QuestionnaireScreen
from yoshin.tui.screens.remove_card import RemoveCardScreen
from yoshin.tui.screens.thanks import ThanksScreen

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


def minimal_visit(files: dict[int, bytes], jpki: dict[int, bytes]) -> list[str]:
    """The least card traffic of a visit (mynumber-card.md §4.3), as the emulator logs it: the face counter
    for the PIN screen, then the face read and, in the same exclusive session, the JPKI link binding (the
    APDUs of §4.3's JPKI flow: the auth counter, VERIFY, SIGN, and the certificate last)."""

    def reads(name: str, size: int) -> list[str]:
        return [f"READ {name}"] * (1 + -(-(size - 7) // 256))

    return [
        *("SELECT kenhojo", "SELECT 0011", "COUNTER"),
        *("SELECT kenhojo", "SELECT 0011", "COUNTER", "VERIFY"),
        *("SELECT 0002", *reads("0002", len(files[0x0002]))),
        *("SELECT 0001", "READ 0001"),
        *("SELECT 0003", *reads("0003", len(files[0x0003]))),
        *("SELECT JPKI", "SELECT 0018", "COUNTER", "VERIFY", "SELECT 0017", "802A0080"),
        *("SELECT 000A", *reads("000A", len(jpki[0x000A]))),
    ]


def named(log: list[bytes]) -> list[str]:
    """The emulator's log as names (READs by the EF last selected)."""
    out, ef = [], ""
    for command in log:
        if command[1] == 0xA4 and command[2] == 0x04:
            out.append("SELECT kenhojo" if command[4:] == apdu.AID_KENHOJO else "SELECT JPKI")
        elif command[1] == 0xA4:
            ef = command[4:].hex().upper()
            out.append(f"SELECT {ef}")
        elif command[1] == 0x20:
            out.append("VERIFY" if len(command) > 4 else "COUNTER")
        elif command[1] == 0xB0:
            out.append(f"READ {ef}")
        else:
            out.append(command[:4].hex().upper())
    return out


async def test_a_whole_visit_sends_the_minimal_card_traffic(kiosk, card, drive) -> None:
    """Card screen to removal through the real kiosk: nothing but the face counter, the face read and its binding."""
    app = kiosk()
    emulator = card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app, "en")
        await drive.type_pin(pilot, app, "2580")
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        await pilot.click("#yes")
        await pilot.pause()
        await drive.choose(pilot, app, "#v-flu_elderly-1")
        await drive.until(pilot, lambda: isinstance(app.screen, QuestionnaireScreen), app)
        await drive.answer_all(pilot, app, yes={"read_leaflet", "wants_vaccination"})
        await pilot.click("#submit")
        await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
        card.remove(emulator)
        await drive.until(pilot, lambda: isinstance(app.screen, ThanksScreen), app)
    files = emulator.state.image.files
    expected = minimal_visit(files[apdu.AID_KENHOJO], files[apdu.AID_JPKI])
    assert named(emulator.state.log) == expected
    # 3 for the PIN screen + the 13 of the face read + the 12 of the binding (finding 4)
    assert emulator.apdu_count == len(expected) == 28
