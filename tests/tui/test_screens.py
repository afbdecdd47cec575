"""Every resident kiosk screen in Japanese and English at 80×24, compared with the SVGs in docs/kiosk/ (which
docs/kiosk.md shows). The flow is the real one (card in pcscd, host on loopback, clock injected), so
what the screenshots show is what a resident, a nurse or a technician sees.

After an intended change of a screen: `pytest tests/tui/test_screens.py --update-snapshots`, then look at
the SVGs before committing them. The flag is refused unless the installed Textual is the version the
baselines were made with (docs/kiosk/textual-version.txt; pyproject.toml pins it): another version
renders differently, and its SVGs must not replace the baselines silently. A mismatch is written to the
test's temporary directory, never into docs/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from pytest_textual_snapshot import normalize_svg
from textual.geometry import Region
from textual.widgets import Button

from yoshin.device.voice import Speaker, VoiceCache, VoiceSettings
from yoshin.tui.app import KioskApp
from yoshin.tui.screens.card import CardScreen
from yoshin.tui.screens.faults import CardPulledScreen, ReaderMissingScreen
from yoshin.tui.screens.identity import IdentityScreen
from yoshin.tui.screens.idle import IdleWarning
from yoshin.tui.screens.questionnaire import QuestionnaireScreen
from yoshin.tui.screens.remove_card import RemoveCardScreen
from yoshin.tui.screens.review import ReviewScreen
from yoshin.tui.screens.thanks import ThanksScreen
from yoshin.tui.screens.vaccine import VaccineScreen
from yoshin.tui.screens.welcome import WelcomeScreen

pytestmark = pytest.mark.pcsc
SIZE = (80, 24)
PASSWORD = "correct-horse-battery"


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def low_contrast_text(screen, region: Region | None = None) -> set[tuple[str, str, str, float]]:
    """Every (text, foreground, background) the screen draws below WCAG's 4.5:1, as rendered: the
    stylesheet and the theme's colours together, reverse video and focus included."""
    found = set()
    for y, strip in enumerate(screen._compositor.render_strips()):
        x = 0
        for segment in strip:
            text, style = segment.text, segment.style
            width = len(text)
            inside = region is None or region.contains(x, y)
            x += width
            if not text.strip() or style is None or not inside or not any(ch.isalnum() for ch in text):
                continue
            fg = style.color.get_truecolor() if style.color else None
            bg = style.bgcolor.get_truecolor() if style.bgcolor else None
            if fg is None or bg is None:
                continue
            if style.reverse:
                fg, bg = bg, fg
            if fg == bg:
                continue  # not drawn at all: an unchecked box's mark is hidden this way
            ratio = contrast(tuple(fg), tuple(bg))
            if ratio < 4.5:
                found.add((text.strip(), fg.hex, bg.hex, round(ratio, 2)))
    return found


@pytest.fixture
def speaker(tmp_path):
    """The resident kiosk has a speaker on an appliance (so its screens show 音量); here voice.json's voice
    is off, so the screenshots need no synthesis and no sound card."""
    made = Speaker(VoiceCache(tmp_path / "voice"), lambda: VoiceSettings(enabled=False))
    yield made
    made.close()


class Camera:
    def __init__(self, pilot, app: KioskApp, drive, lang: str, snapshots) -> None:
        self.pilot, self.app, self.drive, self.lang = pilot, app, drive, lang
        self.snapshots = snapshots
        self.low_contrast: list[tuple[str, list[tuple[str, str, str, float]]]] = []

    async def shoot(self, name: str, screen_type: type) -> None:
        app = self.app
        await self.drive.until(self.pilot, lambda: isinstance(app.screen, screen_type), app)
        await self.drive.until(self.pilot, lambda: not app.screen.query(".-active"), app)  # no press effect
        await self.pilot.wait_for_scheduled_animations()
        await self.pilot.pause()
        visible = Region(0, 0, *SIZE)
        for button in app.screen.query(Button):
            if button.display and button.region:  # every button of the screen fits in 80×24
                assert visible.contains_region(button.region), f"{name}: {button.id} is off screen"
        low = low_contrast_text(app.screen)
        if low:
            self.low_contrast.append((name, sorted(low)))
        svg = normalize_svg(app.export_screenshot(title="yoshin"))
        self.snapshots.check(f"{self.lang}-{name}", svg)


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_every_screen_matches_its_screenshot(
    kiosk, card, drive, host, staff_accounts, lang: str, snapshots, speaker
) -> None:
    app = kiosk(voice=speaker)
    async with app.run_test(size=SIZE) as pilot:
        camera = Camera(pilot, app, drive, lang, snapshots)
        await pilot.pause()
        await camera.shoot("01-welcome", type(app.screen))
        await drive.click(pilot, app, f"#{lang}")
        await camera.shoot("02-consent", type(app.screen))
        await drive.click(pilot, app, "#agree")
        await camera.shoot("03-card", CardScreen)
        emulator = card("elderly")
        await drive.until(pilot, lambda: str(app.screen.query_one("#tries").render()) != "", app)
        await pilot.press("2", "5")
        await camera.shoot("04-pin", type(app.screen))
        await pilot.press("8", "0", "enter")
        await camera.shoot("05-identity", IdentityScreen)
        await drive.click(pilot, app, "#yes")
        await camera.shoot("06-vaccine", VaccineScreen)
        await drive.choose(pilot, app, "#v-flu_elderly-1")
        await camera.shoot("07-question", QuestionnaireScreen)
        fever = "37.6"  # 接種不可 unless the doctor overrides with a reason
        await drive.answer_all(pilot, app, yes={"read_leaflet", "wants_vaccination", "unwell_today"}, temperature=fever)
        await camera.shoot("08-review", ReviewScreen)
        await drive.click(pilot, app, "#submit")
        await camera.shoot("09-remove-card", RemoveCardScreen)
        card.remove(emulator)
        await camera.shoot("10-thanks", ThanksScreen)
        app.reset()
    assert not camera.low_contrast, f"text below 4.5:1: {camera.low_contrast}"
    assert not snapshots.mismatches, snapshots.failure()


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_the_new_resident_screens_match_their_screenshots(
    kiosk, card, drive, host, clock, pcscd_outage, lang: str, snapshots, speaker
) -> None:
    """A guardian's 同時接種 visit for an infant (keypad, a flagged answer, a question about one vaccine),
    the idle warning, a pulled card and a lost reader."""
    app = kiosk(voice=speaker)
    async with app.run_test(size=SIZE) as pilot:
        camera = Camera(pilot, app, drive, lang, snapshots)
        emulator = card("infant")
        await drive.start_visit(pilot, app, lang)
        await drive.type_pin(pilot, app, "1357")
        await camera.shoot("11-identity-guardian", IdentityScreen)
        await drive.click(pilot, app, "#yes")
        await drive.until(pilot, lambda: isinstance(app.screen, VaccineScreen), app)
        for code in ("dpt_ipv_hib", "pcv", "hepb", "rota"):
            await drive.click(pilot, app, f"#v-{code}-1")
        await camera.shoot("12-vaccines-several", VaccineScreen)
        await drive.click(pilot, app, "#vaccines-next")
        shots = {"temperature": "13-question-keypad"}
        for _ in range(80):
            if not isinstance(app.screen, QuestionnaireScreen):
                break
            step, _, _ = app.screen.current_step()
            question = step.question
            if question.id in shots:
                app.screen.query_one("#value").value = "37.8"
                await camera.shoot(shots.pop(question.id), QuestionnaireScreen)
            if step.vaccine_code == "pcv" and question.id == "read_leaflet":
                await camera.shoot("15-question-for-vaccine", QuestionnaireScreen)
            if question.type == "number":
                await drive.click(pilot, app, "#value-next")
                await drive.until(pilot, lambda: bool(app.screen.query("#notice")), app)
                await camera.shoot("14-question-notice", QuestionnaireScreen)
            elif question.type == "single_choice":
                await drive.click(pilot, app, f"#c-{question.choices[0].value}")
            else:
                yes = question.id in ("read_leaflet", "wants_vaccination", "guardian_consent")
                await drive.click(pilot, app, "#a-yes" if yes else "#a-no")
            await pilot.pause()
        await camera.shoot("16-review-several", ReviewScreen)
        clock.now += timedelta(seconds=80)
        app.check_inactivity()
        await camera.shoot("17-idle-warning", IdleWarning)
        await drive.click(pilot, app, "#continue")
        await drive.until(pilot, lambda: isinstance(app.screen, ReviewScreen), app)
        card.remove(emulator)
        await camera.shoot("18-card-pulled", CardPulledScreen)
        await drive.click(pilot, app, "#to-start")
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)
        pcscd_outage.stop()
        await camera.shoot("19-reader-missing", ReaderMissingScreen)
        pcscd_outage.start()
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)
    assert not camera.low_contrast, f"text below 4.5:1: {camera.low_contrast}"


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_the_large_text_screens_fit_and_match_their_screenshots(
    kiosk, card, drive, host, lang: str, snapshots, speaker
) -> None:
    """Large text in a terminal (bigger answer buttons, every word bold): each screen still fits 80×24."""
    app = kiosk(voice=speaker)
    emulator = card("elderly")
    async with app.run_test(size=SIZE) as pilot:
        camera = Camera(pilot, app, drive, lang, snapshots)
        await pilot.pause()
        await drive.click(pilot, app, "#large")
        await drive.until(pilot, lambda: app.screen.has_class("large"), app)
        await camera.shoot("20-large-welcome", WelcomeScreen)
        await drive.start_visit(pilot, app, lang)
        await drive.type_pin(pilot, app, "2580")
        await camera.shoot("21-large-identity", IdentityScreen)
        await drive.click(pilot, app, "#yes")
        await camera.shoot("22-large-vaccine", VaccineScreen)
        await drive.choose(pilot, app, "#v-flu_elderly-1")
        await camera.shoot("23-large-question", QuestionnaireScreen)
        await drive.answer_all(pilot, app, yes={"read_leaflet", "wants_vaccination"})
        await camera.shoot("24-large-review", ReviewScreen)
        await drive.click(pilot, app, "#submit")
        await camera.shoot("25-large-remove-card", RemoveCardScreen)
        card.remove(emulator)
        app.reset()
    assert not camera.low_contrast, f"text below 4.5:1: {camera.low_contrast}"
    assert not snapshots.mismatches, snapshots.failure()
