"""The kiosk driven by Textual's Pilot against the real card emulator (pcscd) and a real host."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from yoshin.device.agent import AgentServer
from yoshin.devtools.personas import persona
from yoshin.host import devices
from yoshin.host.server import HostServer
from yoshin.tui.screens.card import CardScreen
from yoshin.tui.screens.confirm import ConfirmDialog
from yoshin.tui.screens.faults import CardPulledScreen, ErrorScreen, ReaderMissingScreen
from yoshin.tui.screens.identity import IdentityScreen
from yoshin.tui.screens.idle import IdleWarning
from yoshin.tui.screens.pin import PinScreen
from yoshin.tui.screens.questionnaire import QuestionnaireScreen
from yoshin.tui.screens.remove_card import RemoveCardScreen
from yoshin.tui.screens.review import ReviewScreen
from yoshin.tui.screens.thanks import ThanksScreen
from yoshin.tui.screens.vaccine import VaccineScreen
from yoshin.tui.screens.welcome import WelcomeScreen

pytestmark = pytest.mark.pcsc


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


async def test_a_resident_visit_reaches_the_host(kiosk, card, drive, host: HostServer) -> None:
    app = kiosk()
    emulator = card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app, "en")
        await drive.type_pin(pilot, app, "2580", keypad=True)
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        shown = str(app.screen.query_one("#who").render())
        assert "多摩 一郎" in shown and "3 September 1951 (Showa 26)" in shown and "739041628575" not in shown
        await drive.click(pilot, app, "#yes")
        await pilot.pause()
        await drive.choose(pilot, app, "#v-flu_elderly-1")
        await drive.until(pilot, lambda: isinstance(app.screen, QuestionnaireScreen), app)
        await drive.answer_all(pilot, app, yes={"read_leaflet", "wants_vaccination"})
        await drive.click(pilot, app, "#submit")
        await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
        assert not app.visit.has_personal_data()  # sealed in the outbox, wiped from memory
        card.remove(emulator)
        await drive.until(pilot, lambda: isinstance(app.screen, ThanksScreen), app)
    assert drive.drain(app.services.appliance) == 1
    stored = host.service.db.execute("SELECT subject_id, kind, body FROM inbox").fetchall()
    assert [row[:2] for row in stored] == [("S000102", "questionnaire_response")]
    assert json.loads(stored[0][2])["answers"]["temperature"] == 36.5


async def test_wrong_pin_shows_the_tries_left_and_the_last_try_needs_confirming(kiosk, card, drive) -> None:
    app = kiosk()
    card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app, "ja")
        for expected in ("残り2回", "残り1回"):
            await drive.type_pin(pilot, app, "0000")
            await drive.until(
                pilot, lambda expected=expected: expected in str(app.screen.query_one("#error").render()), app
            )
        await pilot.press(*"２５８０", "enter")  # full-width digits from an IME are normalised
        await drive.until(pilot, lambda: isinstance(app.screen, ConfirmDialog), app)
        await drive.click(pilot, app, "#yes")
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)


async def test_idle_timeout_wipes_the_visit_and_asks_for_the_card(kiosk, card, drive, clock) -> None:
    app = kiosk(idle_timeout=90)
    emulator = card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app)
        await drive.type_pin(pilot, app, "2580")
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        assert app.visit.has_personal_data()
        clock.now += timedelta(seconds=80)
        app.check_inactivity()
        await pilot.pause()
        assert app.idle_warning_shown and isinstance(app.screen, IdleWarning)
        clock.now += timedelta(seconds=11)
        app.check_inactivity()
        await pilot.pause()
        # The visit is gone at once; the card still in the reader is the next step, not the next person's.
        assert isinstance(app.screen, RemoveCardScreen) and not app.visit.has_personal_data()
        assert not app.screen.query("#who")
        clock.now += timedelta(seconds=300)
        app.check_inactivity()  # the reminder waits for the card however long it takes
        assert isinstance(app.screen, RemoveCardScreen)
        card.remove(emulator)
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)


async def test_a_card_pulled_mid_questionnaire_has_its_own_screen_and_wipes_the_answers(kiosk, card, drive) -> None:
    app = kiosk()
    emulator = card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app)
        await drive.type_pin(pilot, app, "2580")
        await drive.click(pilot, app, "#yes")
        await drive.choose(pilot, app, "#v-flu_elderly-1")
        await drive.until(pilot, lambda: isinstance(app.screen, QuestionnaireScreen), app)
        await drive.click(pilot, app, "#a-no")
        assert app.visit.answers
        card.remove(emulator)
        await drive.until(pilot, lambda: isinstance(app.screen, CardPulledScreen), app)
        shown = str(app.screen.query_one("#card-pulled").render())
        assert "カードが取り出されました" in shown and "The card was taken out" in shown
        assert not app.visit.has_personal_data() and app.visit.vaccines == []
        await drive.click(pilot, app, "#to-start")
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)


async def test_the_pin_screen_notices_a_pulled_card_at_once(kiosk, card, drive) -> None:
    app = kiosk()
    emulator = card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app)
        await drive.until(pilot, lambda: str(app.screen.query_one("#tries").render()) != "", app)
        await pilot.press("2", "5")  # half a PIN typed, nothing confirmed
        card.remove(emulator)
        await drive.until(pilot, lambda: isinstance(app.screen, CardPulledScreen), app)
        assert not app.screen.query("#pin")


@pytest.mark.parametrize("exit_path", ["pin_back", "decline", "identity_no"])
async def test_every_way_out_with_a_card_present_goes_through_the_reminder(kiosk, card, drive, exit_path) -> None:
    app = kiosk()
    emulator = card("elderly")  # placed before consent, as residents often do
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.click(pilot, app, "#ja")
        if exit_path == "decline":
            await drive.click(pilot, app, "#decline")
        else:
            await drive.click(pilot, app, "#agree")
            await drive.until(pilot, lambda: isinstance(app.screen, PinScreen), app)
            if exit_path == "pin_back":
                await drive.click(pilot, app, "#back")
            else:
                await drive.type_pin(pilot, app, "2580")
                await drive.click(pilot, app, "#no")
        await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
        assert "カードをお取りください" in str(app.screen.query_one("#reminder").render())
        assert not app.visit.has_personal_data()
        card.remove(emulator)
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)  # not 'thank you'


async def test_the_last_try_confirmation_defaults_to_no(kiosk, card, drive) -> None:
    app = kiosk()
    card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app, "ja")
        for expected in ("残り2回", "残り1回"):
            await drive.type_pin(pilot, app, "0000")
            await drive.until(
                pilot, lambda expected=expected: expected in str(app.screen.query_one("#error").render()), app
            )
        await pilot.press(*"1111", "enter")
        await drive.until(pilot, lambda: isinstance(app.screen, ConfirmDialog), app)
        assert app.focused is not None and app.focused.id == "no"
        await pilot.press("enter")  # Enter on the default: nothing is sent to the card
        await drive.until(pilot, lambda: isinstance(app.screen, PinScreen), app)
        assert app.services.face_tries() == 1


async def test_back_from_the_review_walks_back_one_question_at_a_time(kiosk, card, drive) -> None:
    app = kiosk()
    card("child")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app, "ja")
        await drive.type_pin(pilot, app, "9876")
        await drive.click(pilot, app, "#yes")
        first, second = list(app.screen.query("#choices Button"))[:2]
        await drive.choose(pilot, app, f"#{first.id}")
        await drive.answer_all(pilot, app, yes={"read_leaflet", "wants_vaccination", "guardian_consent"})
        await drive.until(pilot, lambda: isinstance(app.screen, ReviewScreen), app)
        answered = list(app.visit.answers)
        await drive.click(pilot, app, "#back")
        await drive.until(pilot, lambda: isinstance(app.screen, QuestionnaireScreen), app)
        for steps in range(1, len(answered)):
            assert app.screen.current()[0].id == answered[-steps]
            assert list(app.visit.answers) == answered[:-steps]
            await drive.click(pilot, app, "#back")
            await pilot.pause()
        assert isinstance(app.screen, QuestionnaireScreen) and app.screen.current()[0].id == answered[0]
        await drive.click(pilot, app, "#back")
        await drive.until(pilot, lambda: isinstance(app.screen, VaccineScreen), app)
        await drive.choose(pilot, app, f"#{second.id}")  # another vaccine starts at its first question, empty
        assert app.visit.answers == {} and app.screen.current()[1] == 1


async def test_card_screen_waits_for_the_card(kiosk, card, drive) -> None:
    app = kiosk()
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.click(pilot, app, "#ja")
        await drive.click(pilot, app, "#agree")
        await pilot.pause()
        assert isinstance(app.screen, CardScreen)
        card("adult")
        await drive.until(pilot, lambda: isinstance(app.screen, PinScreen), app)


async def test_a_guardian_answers_for_a_child(kiosk, card, drive, host: HostServer) -> None:
    app = kiosk()
    card("child")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app, "ja")
        await drive.type_pin(pilot, app, "9876")
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        await drive.click(pilot, app, "#yes")
        await pilot.pause()
        await drive.choose(pilot, app, "#choices Button")  # the first vaccination due
        assert "保護者の 中原 美咲 さんがお答えください" in str(app.screen.query_one("#guardian").render())
        await drive.answer_all(pilot, app, yes={"read_leaflet", "wants_vaccination", "guardian_consent"})
        assert {"guardian_relationship", "guardian_consent"} <= set(app.visit.answers)  # the guardian section
        await drive.click(pilot, app, "#submit")
        await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
    assert drive.drain(app.services.appliance) == 1
    (body,) = host.service.db.execute("SELECT body FROM inbox WHERE kind = 'questionnaire_response'").fetchone()
    record = json.loads(body)
    assert (record["respondent"], record["guardian_name"]) == ("guardian", "中原 美咲")


async def test_a_revoked_device_says_so_and_sends_nothing(kiosk, card, drive, host: HostServer) -> None:
    app = kiosk()
    card("elderly")
    service = host.service
    devices.revoke(service.db, app.services.identity()["device_id"], "lost", "admin01", service.clock())
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app, "ja")
        await drive.type_pin(pilot, app, "2580")
        await drive.until(pilot, lambda: "失効" in str(app.screen.query_one("#error").render()), app)
        assert isinstance(app.screen, PinScreen) and app.visit.identity is None


async def test_the_board_prefills_the_temperature_and_sounds_the_card_reminder(kiosk, card, drive, io_board) -> None:
    board, simulator = io_board
    simulator.set("temp", "37.9")
    app = kiosk(board=board)
    emulator = card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app)
        await drive.type_pin(pilot, app, "2580")
        await drive.click(pilot, app, "#yes")
        await drive.choose(pilot, app, "#v-flu_elderly-1")
        await drive.until(pilot, lambda: app.visit.temperature is not None, app)
        await drive.answer_all(pilot, app, yes={"read_leaflet", "wants_vaccination"}, temperature=None)
        assert app.visit.answers["temperature"] == 37.9  # as measured, not typed
        await drive.click(pilot, app, "#submit")
        await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
        await drive.until(pilot, lambda: board.board_status()["beep"] == "remove_card", app)
        card.remove(emulator)
        await drive.until(pilot, lambda: isinstance(app.screen, ThanksScreen), app)
        await drive.until(pilot, lambda: board.board_status()["beep"] == "off", app)


async def test_an_offline_visit_is_delivered_and_linked_when_the_host_returns(
    kiosk, card, drive, host: HostServer, personal_data_in
) -> None:
    app = kiosk()
    appliance = app.services.appliance
    card("elderly")
    with drive.host_down(appliance):
        async with app.run_test(size=(100, 34)) as pilot:
            await drive.start_visit(pilot, app)
            await drive.type_pin(pilot, app, "2580")
            await drive.click(pilot, app, "#yes")
            await drive.until(pilot, lambda: bool(app.screen.query("#offline")), app)  # the catalogue, unverified
            await drive.choose(pilot, app, "#v-flu_elderly-1")
            await drive.answer_all(pilot, app, yes={"read_leaflet", "wants_vaccination"})
            await drive.click(pilot, app, "#submit")
            await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
    assert app.services.queue_status().depth == 2  # the sealed identity claim, then the answers
    assert personal_data_in(appliance.data_dir, persona("elderly")) == []  # card data, answers: all sealed
    assert drive.drain(appliance) == 2
    (subject, body) = host.service.db.execute(
        "SELECT subject_id, body FROM inbox WHERE kind = 'questionnaire_response'"
    ).fetchone()
    record = json.loads(body)
    assert subject == record["subject_id"] == "S000102" and record["eligibility_verified"] is False


async def test_pcscd_lost_mid_questionnaire_shows_the_reader_screen_and_recovers_by_itself(
    kiosk, card, drive, pcscd_outage
) -> None:
    app = kiosk()
    card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app)
        await drive.type_pin(pilot, app, "2580")
        await drive.click(pilot, app, "#yes")
        await drive.choose(pilot, app, "#v-flu_elderly-1")
        await drive.until(pilot, lambda: isinstance(app.screen, QuestionnaireScreen), app)
        pcscd_outage.stop()
        await drive.until(pilot, lambda: isinstance(app.screen, ReaderMissingScreen), app)
        shown = str(app.screen.query_one("#reader-missing").render())
        assert "カードリーダーが使えません。係員にお知らせください" in shown and "Please tell a staff member" in shown
        assert app.is_running and not app.visit.has_personal_data()
        pcscd_outage.start()  # the card went with the old pcscd: the reader comes back empty
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)
        assert app.is_running


async def test_no_pcscd_at_start_shows_the_reader_screen_until_it_runs(kiosk, card, drive, pcscd_outage) -> None:
    app = kiosk()
    pcscd_outage.stop()
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.until(pilot, lambda: isinstance(app.screen, ReaderMissingScreen), app)
        pcscd_outage.start()
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)
        card("adult")
        await drive.start_visit(pilot, app)  # and a visit works again
        assert app.is_running


async def test_a_failing_worker_shows_the_error_screen_and_the_kiosk_carries_on(kiosk, card, drive) -> None:
    app = kiosk()
    emulator = card("elderly")
    (app.services.appliance.data_dir / "keys").rename(app.services.appliance.data_dir / "keys.gone")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app)
        await drive.type_pin(pilot, app, "2580")  # the card reads; sealing for the host then fails
        await drive.until(pilot, lambda: isinstance(app.screen, ErrorScreen), app)
        assert "係員にお知らせください" in str(app.screen.query_one("#kiosk-error").render())
        assert app.is_running and app.return_code is None and not app.visit.has_personal_data()
        await drive.click(pilot, app, "#to-start")
        await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)  # the card first
        card.remove(emulator)
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)


async def test_the_appliance_agent_gone_shows_the_error_screen_and_the_kiosk_carries_on(kiosk, card, drive) -> None:
    """The agent (yoshin-device serve) restarts mid-visit: at the card read and at 送信 the kiosk says so, wipes
    the visit, asks for the card, and the next visit works once the agent is back. Nothing is sent half."""
    app = kiosk()
    agent = kiosk.agents[-1]

    def restart() -> None:
        kiosk.agents.append(AgentServer(agent.core, agent.path).start())

    emulator = card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app)
        agent.close()  # gone before the identity is sealed
        await drive.type_pin(pilot, app, "2580")
        await drive.until(pilot, lambda: isinstance(app.screen, ErrorScreen), app)
        assert app.is_running and not app.visit.has_personal_data()
        await drive.click(pilot, app, "#to-start")
        await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
        card.remove(emulator)
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)
        restart()
        emulator = card("elderly")
        await drive.start_visit(pilot, app)
        await drive.type_pin(pilot, app, "2580")
        await drive.click(pilot, app, "#yes")
        await drive.choose(pilot, app, "#v-flu_elderly-1")
        await drive.answer_all(pilot, app, yes={"read_leaflet", "wants_vaccination"})
        await drive.until(pilot, lambda: isinstance(app.screen, ReviewScreen), app)
        kiosk.agents[-1].close()  # gone again before 送信
        await drive.click(pilot, app, "#submit")
        await drive.until(pilot, lambda: isinstance(app.screen, ErrorScreen), app)
        assert app.is_running and app.return_code is None and not app.visit.has_personal_data()
        await drive.click(pilot, app, "#to-start")
        await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
        card.remove(emulator)
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)
    restart()
    assert app.services.queue_status().depth == 0  # nothing was queued by the failed 送信
