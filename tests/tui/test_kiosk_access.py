"""The kiosk for an older resident or a parent: words, keyboard, keypad, the idle warning (Pilot, real card)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.geometry import Region

from yoshin.device.staff_calls import StaffCalls
from yoshin.tui.app import KioskApp
from yoshin.tui.screens.identity import IdentityScreen
from yoshin.tui.screens.idle import IdleWarning
from yoshin.tui.screens.pin import PinScreen
from yoshin.tui.screens.questionnaire import QuestionnaireScreen
from yoshin.tui.screens.remove_card import RemoveCardScreen
from yoshin.tui.screens.review import ReviewScreen
from yoshin.tui.screens.vaccine import VaccineScreen
from yoshin.tui.screens.welcome import WelcomeScreen

pytestmark = pytest.mark.pcsc


def shown(app) -> str:
    return "\n".join(str(widget.render()) for widget in app.screen.query("Static"))


async def test_tab_moves_the_focus_and_each_screen_opens_on_its_first_control(kiosk, card, drive) -> None:
    app = kiosk()
    card("elderly")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "ja"
        await pilot.press("tab")
        assert app.focused.id == "en"
        await pilot.press("shift+tab")
        assert app.focused.id == "ja"
        await pilot.press("enter")  # the keyboard alone starts a visit
        await drive.until(pilot, lambda: app.screen.query("#agree") and app.focused is not None, app)
        assert app.focused.id == "agree"
        await pilot.press("enter")
        await drive.type_pin(pilot, app, "2580")
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "yes"
        await pilot.press("enter")
        await drive.until(pilot, lambda: isinstance(app.screen, VaccineScreen), app)
        await pilot.pause()
        assert app.focused is not None and (app.focused.id or "").startswith("v-")


async def test_the_identity_shows_wareki_and_a_guardian_is_named_with_the_child(kiosk, card, drive) -> None:
    app = kiosk()
    card("child")
    async with app.run_test(size=(80, 24)) as pilot:
        await drive.start_visit(pilot, app, "ja")
        await drive.type_pin(pilot, app, "9876")
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        who = str(app.screen.query_one("#who").render())
        birth = app.visit.face.basic_info.birth_date
        assert "お子さま: 中原 陽葵 さん" in who and "保護者: 中原 美咲 さん" in who
        assert f"令和{birth.year - 2018}年{birth.month}月{birth.day}日" in who.replace("\n", "")
        assert birth.isoformat() not in who
        await drive.click(pilot, app, "#yes")
        await drive.until(pilot, lambda: isinstance(app.screen, VaccineScreen), app)
        first = app.screen.query("#choices Button").first()
        dose = (first.id or "").rsplit("-", 1)[1]
        assert str(first.label).endswith(f"{dose}回目") and f"({dose})" not in str(first.label)
        await drive.choose(pilot, app, f"#{first.id}")
        note = str(app.screen.query_one("#guardian").render()).replace("\n", "")
        assert "中原 陽葵 さんの予診票です" in note and "保護者の 中原 美咲 さんがお答えください" in note
        await drive.answer_all(pilot, app, yes={"read_leaflet", "wants_vaccination", "guardian_consent"})
        await drive.until(pilot, lambda: isinstance(app.screen, ReviewScreen), app)
        review = shown(app)
        relationship = app.visit.answers["guardian_relationship"]
        assert f": {relationship}" not in review  # the choice's words, not its code
        assert "guardian_relationship" not in review and "temperature" not in review


async def test_the_keypad_enters_a_temperature_and_a_fever_is_told_to_the_resident(kiosk, card, drive) -> None:
    app = kiosk()
    emulator = card("elderly")
    async with app.run_test(size=(80, 24)) as pilot:
        await drive.start_visit(pilot, app, "ja")
        await drive.type_pin(pilot, app, "2580")
        await drive.click(pilot, app, "#yes")
        await drive.choose(pilot, app, "#v-flu_elderly-1")
        await drive.until(pilot, lambda: isinstance(app.screen, QuestionnaireScreen), app)
        for _ in range(20):
            question = app.screen.current()[0]
            if question.type == "number":
                break
            await drive.click(pilot, app, "#a-yes" if question.id == "read_leaflet" else "#a-no")
        assert question.id == "temperature"
        hint = str(app.screen.query_one("#hint").render())
        assert "34.0〜42.0℃" in hint and "temperature" not in hint
        for key in ("4", "del", "3", "7", "dot", "8"):
            await drive.click(pilot, app, f"#kp-{key}")
        assert app.screen.query_one("#value").value == "37.8"
        await drive.click(pilot, app, "#value-next")
        await drive.until(pilot, lambda: bool(app.screen.query("#notice")), app)
        notice = str(app.screen.query_one("#notice").render()).replace("\n", "")
        assert "37.5℃以上" in notice and "のため、医師が判断します" in notice
        await drive.answer_all(pilot, app, yes={"wants_vaccination"})
        await drive.until(pilot, lambda: isinstance(app.screen, ReviewScreen), app)
        assert "37.8 ℃" in shown(app) and "医師が判断します" in shown(app)
        await drive.click(pilot, app, "#submit")
        await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
        card.remove(emulator)


async def test_a_date_is_entered_on_the_keypad(kiosk, card, drive) -> None:
    app = kiosk()
    card("elderly")
    async with app.run_test(size=(80, 24)) as pilot:
        await drive.start_visit(pilot, app, "en")
        await drive.type_pin(pilot, app, "2580")
        await drive.click(pilot, app, "#yes")
        await drive.choose(pilot, app, "#v-flu_elderly-1")
        await drive.until(pilot, lambda: isinstance(app.screen, QuestionnaireScreen), app)
        for _ in range(20):
            question = app.screen.current()[0]
            if question.type == "date":
                break
            if question.type == "number":
                app.screen.query_one("#value").value = "36.5"
                await drive.click(pilot, app, "#value-next")
            else:
                yes = question.id in ("read_leaflet", "vaccinated_last_month")
                await drive.click(pilot, app, "#a-yes" if yes else "#a-no")
        assert question.type == "date"
        for key in "2026-10-01":
            await drive.click(pilot, app, "#kp-sep" if key == "-" else f"#kp-{key}")
        await drive.click(pilot, app, "#value-next")
        await drive.until(pilot, lambda: question.id in app.visit.answers, app)
        assert app.visit.answers[question.id] == "2026-10-01"


async def test_the_idle_warning_counts_down_and_continue_keeps_the_visit(kiosk, card, drive, clock) -> None:
    app = kiosk(idle_timeout=90)
    card("elderly")
    async with app.run_test(size=(80, 24)) as pilot:
        await drive.start_visit(pilot, app, "ja")
        await drive.type_pin(pilot, app, "2580")
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        clock.now += timedelta(seconds=76)
        app.check_inactivity()
        await drive.until(pilot, lambda: isinstance(app.screen, IdleWarning), app)
        assert "あと 14 秒で" in str(app.screen.query_one("#countdown").render())
        clock.now += timedelta(seconds=5)
        app.check_inactivity()
        await pilot.pause()
        assert "あと 9 秒で" in str(app.screen.query_one("#countdown").render())
        assert app.focused is not None and app.focused.id == "continue"
        await drive.click(pilot, app, "#continue")
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        assert app.visit.has_personal_data()  # 続ける kept the visit
        clock.now += timedelta(seconds=70)
        app.check_inactivity()  # the idle clock started again at 続ける: 70 s is before the next warning
        assert isinstance(app.screen, IdentityScreen)


async def test_large_text_is_kept_through_the_visit(kiosk, card, drive) -> None:
    app = kiosk()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await drive.click(pilot, app, "#large")
        await drive.click(pilot, app, "#ja")
        await drive.until(pilot, lambda: not isinstance(app.screen, WelcomeScreen), app)
        assert app.visit.large_text and app.screen.has_class("large")


async def test_call_staff_is_on_every_screen_records_the_call_and_lights_the_board(
    kiosk, card, drive, io_board
) -> None:
    board, _ = io_board
    app = kiosk(board=board)
    card("elderly")
    calls = StaffCalls(app.services.appliance.data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "職員を呼ぶ / Call staff" in str(app.screen.query_one("#call-staff").label)  # before a language
        await drive.start_visit(pilot, app, "ja")
        await drive.until(pilot, lambda: str(app.screen.query_one("#tries").render()) != "", app)
        await pilot.press("2", "5")
        await drive.click(pilot, app, "#call-staff")
        await drive.until(pilot, lambda: len(calls.pending()) == 1, app)
        (call,) = calls.pending()
        assert call.screen == "PinScreen"  # the screen's name and the time only: nothing personal
        assert isinstance(app.screen, PinScreen) and app.screen.query_one("#pin").value == "25"  # the visit goes on
        await drive.until(pilot, lambda: board.board_status()["led"] == "attention", app)
        app.screen.query_one("#pin").focus()  # (focusing selects the field's text: typed again whole)
        await pilot.press("2", "5", "8", "0", "enter")
        await drive.until(pilot, lambda: isinstance(app.screen, IdentityScreen), app)
        assert len(calls.pending()) == 1 and app.screen.query_one("#call-staff").label.plain == "職員を呼ぶ"


async def test_large_text_in_a_terminal_makes_the_answer_buttons_half_as_big_again(kiosk, card, drive) -> None:
    """A terminal's glyphs are the terminal's (browser mode scales them: test_chromium.py); the terminal's
    large-text layout makes the buttons a resident answers with ≥ 1.5 × taller and wider, and all words bold."""

    async def measure(app: KioskApp, large: bool) -> tuple[Region, Region, bool]:
        emulator = card("elderly")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            if large:
                await drive.click(pilot, app, "#large")
                await drive.until(pilot, lambda: app.screen.has_class("large"), app)
            language = app.screen.query_one("#ja").region
            await drive.start_visit(pilot, app, "ja")
            await drive.type_pin(pilot, app, "2580")
            await drive.until(pilot, lambda: bool(app.screen.query("#yes")), app)
            await drive.click(pilot, app, "#yes")
            await drive.choose(pilot, app, "#v-flu_elderly-1")
            answer = app.screen.query_one("#a-yes")
            await drive.until(pilot, lambda: bool(answer.region), app)
            measured = (language, answer.region, app.screen.query_one("#progress").rich_style.bold)
            app.reset()
        card.remove(emulator)
        return measured

    first = kiosk()
    normal_ja, normal_yes, normal_bold = await measure(first, large=False)
    large_ja, large_yes, large_bold = await measure(KioskApp(first.services, clock=first.clock), large=True)
    for normal, large in ((normal_ja, large_ja), (normal_yes, large_yes)):
        assert large.height >= 1.5 * normal.height and large.width >= 1.5 * normal.width, (normal, large)
    assert large_bold and not normal_bold
