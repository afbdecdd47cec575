"""The kiosk driven by Textual's Pilot against the real card emulator (pcscd) and a real host."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from yoshin.host.server import HostServer
from yoshin.tui.app import KioskApp
from yoshin.tui.screens.card import CardScreen
from yoshin.tui.screens.confirm import ConfirmDialog
from yoshin.tui.screens.identity import IdentityScreen
from yoshin.tui.screens.pin import PinScreen
from yoshin.tui.screens.questionnaire import QuestionnaireScreen
from yoshin.tui.screens.remove_card import RemoveCardScreen
from yoshin.tui.screens.thanks import ThanksScreen
from yoshin.tui.screens.welcome import WelcomeScreen

pytestmark = pytest.mark.pcsc


async def until(pilot, condition, app: KioskApp, timeout: float = 15.0) -> None:
    """Wait for a condition on the app, not for time: card workers block on PC/SC events in threads,
    so the test yields to the event loop until the screen changes, with a deadline."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        await pilot.pause()
        if condition():
            return
        await asyncio.sleep(0.02)  # yield to the worker threads; the condition, not this, ends the wait
    raise AssertionError(
        f"condition not reached on {app.screen!r}: {[str(w.render()) for w in app.screen.query('Static')]}"
    )


async def start_visit(pilot, app: KioskApp, lang: str = "ja") -> None:
    await pilot.click(f"#{lang}")
    await pilot.click("#agree")
    await until(pilot, lambda: isinstance(app.screen, PinScreen), app)


async def type_pin(pilot, app: KioskApp, pin: str, keypad: bool = False) -> None:
    """The PIN by on-screen keypad (touch or mouse) or by keyboard; both must work."""
    await until(pilot, lambda: str(app.screen.query_one("#tries").render()) != "", app)
    if keypad:
        for digit in pin:
            await pilot.click(f"#k{digit}")
        await pilot.click("#ok")
    else:
        app.screen.query_one("#pin").focus()
        await pilot.press(*pin, "enter")


async def test_lockdown_keys_do_nothing(kiosk, tmp_path) -> None:
    app = kiosk()
    async with app.run_test(size=(80, 24)) as pilot:
        for key in ("ctrl+q", "ctrl+c", "ctrl+p", "ctrl+z", "ctrl+s", "f1", "escape"):
            await pilot.press(key)
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, WelcomeScreen)
        assert not app.ENABLE_COMMAND_PALETTE and not app.ALLOW_SELECT
        assert list(app.get_system_commands(app.screen)) == []
        await app.action_quit()
        assert app.is_running
    assert not list(tmp_path.glob("*.svg"))


async def test_a_resident_visit_reaches_the_host(kiosk, card, host: HostServer) -> None:
    app = kiosk()
    emulator = card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await start_visit(pilot, app, "en")
        await type_pin(pilot, app, "2580", keypad=True)
        await until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        shown = str(app.screen.query_one("#who").render())
        assert "多摩 一郎" in shown and "1951-09-03" in shown and "739041628575" not in shown
        await pilot.click("#yes")
        await pilot.pause()
        await pilot.click("#v-flu_elderly-1")
        await until(pilot, lambda: isinstance(app.screen, QuestionnaireScreen), app)
        answers = {"read_leaflet": "#a-yes", "wants_vaccination": "#a-yes"}
        for _ in range(30):
            screen = app.screen
            if not isinstance(screen, QuestionnaireScreen):
                break
            question, _, _ = screen.current()
            assert question is not None
            if question.type == "number":
                screen.query_one("#value").value = "３６．５"  # full width, normalised
                await pilot.click("#value-next")
            else:
                await pilot.click(answers.get(question.id, "#a-no"))
            await pilot.pause()
        await pilot.click("#submit")
        await until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
        assert app.visit.answers["temperature"] == 36.5
        card.remove(emulator)
        await until(pilot, lambda: isinstance(app.screen, ThanksScreen), app)
    outbox = app.services.appliance.outbox()
    from yoshin.device.forwarder import Forwarder

    assert Forwarder(outbox, app.services.appliance.client()).drain()[0].accepted == 1
    stored = host.service.db.execute("SELECT subject_id, kind FROM inbox").fetchall()
    assert stored == [("S000102", "questionnaire_response")]


async def test_wrong_pin_shows_the_tries_left_and_the_last_try_needs_confirming(kiosk, card) -> None:
    app = kiosk()
    card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await start_visit(pilot, app, "ja")
        for expected in ("残り2回", "残り1回"):
            await type_pin(pilot, app, "0000")
            await until(pilot, lambda expected=expected: expected in str(app.screen.query_one("#error").render()), app)
        await pilot.press(*"２５８０", "enter")  # full-width digits from an IME are normalised
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), app)
        await pilot.click("#yes")
        await until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)


async def test_idle_timeout_wipes_the_visit(kiosk, card, clock) -> None:
    app = kiosk(idle_timeout=90)
    card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await start_visit(pilot, app)
        await type_pin(pilot, app, "2580")
        await until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        assert app.visit.has_personal_data()
        clock.now += timedelta(seconds=80)
        app.check_inactivity()
        assert app.idle_warning_shown and isinstance(app.screen, IdentityScreen)
        clock.now += timedelta(seconds=11)
        app.check_inactivity()
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen) and not app.visit.has_personal_data()
        assert not app.screen.query("#who")


async def test_a_card_pulled_mid_flow_abandons_the_visit(kiosk, card) -> None:
    app = kiosk()
    emulator = card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await start_visit(pilot, app)
        await type_pin(pilot, app, "2580")
        await until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        card.remove(emulator)
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)
        assert not app.visit.has_personal_data()


async def test_card_screen_waits_for_the_card(kiosk, card) -> None:
    app = kiosk()
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.click("#ja")
        await pilot.click("#agree")
        await pilot.pause()
        assert isinstance(app.screen, CardScreen)
        card("adult")
        await until(pilot, lambda: isinstance(app.screen, PinScreen), app)
