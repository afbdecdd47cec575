"""音声案内 on the resident kiosk (Pilot, real card stack, real synthesis): each screen asks the speaker for
its own fixed prompt, nothing but the fixed prompts is ever played, and volume 0 or "off" plays nothing.

The speaker is the real one (its thread, its WAV cache, Open JTalk and espeak-ng); only the audio output
is a recording sink, since CI has no sound card. What the sink received is mapped back to prompts through
the cache's own file names: a WAV that is not one of the fixed prompts fails the look-up.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from yoshin.device.voice import Speaker, Utterance, VoiceCache, VoiceSettings
from yoshin.devtools.personas import persona
from yoshin.tui import voice
from yoshin.tui.screens.card import CardScreen
from yoshin.tui.screens.confirm import ConfirmDialog
from yoshin.tui.screens.consent import ConsentScreen
from yoshin.tui.screens.identity import IdentityScreen
from yoshin.tui.screens.pin import PinScreen
from yoshin.tui.screens.questionnaire import QuestionnaireScreen
from yoshin.tui.screens.remove_card import RemoveCardScreen
from yoshin.tui.screens.review import ReviewScreen
from yoshin.tui.screens.thanks import ThanksScreen
from yoshin.tui.screens.vaccine import VaccineScreen
from yoshin.tui.screens.welcome import WelcomeScreen
from yoshin.tui.text import T, t

pytestmark = pytest.mark.pcsc


class RecordingSink:
    """The audio output, recorded: which WAV at which volume (played instantly)."""

    def __init__(self) -> None:
        self.played: list[tuple[Path, int]] = []

    def play(self, wav: Path, settings: VoiceSettings, cut: threading.Event) -> None:
        self.played.append((wav, settings.volume))


@pytest.fixture(scope="module")
def voice_cache(tmp_path_factory) -> VoiceCache:
    """One cache for the module: a prompt synthesised by one test is reused by the next."""
    return VoiceCache(tmp_path_factory.mktemp("voice"))


@pytest.fixture
def speaking_kiosk(kiosk, make_device, voice_cache):
    """A kiosk whose speaker uses the appliance's own voice.json and the recording sink."""
    made: list[Speaker] = []

    def build():
        app = kiosk()
        sink = RecordingSink()
        speaker = Speaker(voice_cache, app.services.appliance.voice_settings, sink)
        app.services.voice = speaker
        made.append(speaker)
        return app, speaker, sink

    yield build
    for speaker in made:
        speaker.close()


def prompt_of(cache: VoiceCache) -> dict[Path, tuple[str, str]]:
    """Every fixed prompt's WAV path -> (text key, language)."""
    prompts = {*voice.SCREEN_PROMPTS.values(), *voice.EVENT_PROMPTS.values()}
    return {cache.path(Utterance(lang, t(p.key, lang))): (p.key, lang) for p in prompts for lang in voice.LANGS}


async def said(speaker: Speaker, sink: RecordingSink, cache: VoiceCache, since: int) -> list[tuple[str, str]]:
    """What was played since the `since`-th recording, once the speaker has nothing left to do."""
    assert await asyncio.to_thread(speaker.wait_idle, 120)
    known = prompt_of(cache)
    return [known[wav] for wav, _ in sink.played[since:]]  # KeyError: something not a fixed prompt was played


async def test_each_screen_of_a_visit_says_its_own_prompt_and_nothing_personal(
    speaking_kiosk, voice_cache, card, drive
) -> None:
    app, speaker, sink = speaking_kiosk()
    emulator = card("elderly")
    heard: list[tuple[str, str]] = []

    async def expect(screen: type, key: str, langs: tuple[str, ...] = ("ja",)) -> None:
        await drive.until(pilot, lambda: isinstance(app.screen, screen), app)
        now = await said(speaker, sink, voice_cache, len(heard))
        heard.extend(now)
        # The screen's own prompt comes last (a screen passed quickly may have been cut short before it).
        assert now[-len(langs) :] == [(key, lang) for lang in langs], (screen, now)

    async with app.run_test(size=(80, 24)) as pilot:
        await expect(WelcomeScreen, "voice_welcome", ("ja", "en"))  # before a language: both
        await drive.click(pilot, app, "#ja")
        await expect(ConsentScreen, "voice_consent")
        await drive.click(pilot, app, "#agree")
        await expect(PinScreen, "voice_pin")
        await drive.type_pin(pilot, app, "2580")
        await expect(IdentityScreen, "voice_identity")
        await drive.click(pilot, app, "#yes")
        await expect(VaccineScreen, "voice_vaccine")
        await drive.choose(pilot, app, "#v-flu_elderly-1")
        await expect(QuestionnaireScreen, "voice_question")
        await drive.answer_all(pilot, app, yes={"read_leaflet", "wants_vaccination"})
        await expect(ReviewScreen, "voice_review")
        await drive.click(pilot, app, "#submit")
        await expect(RemoveCardScreen, "remove_card")
        card.remove(emulator)
        await expect(ThanksScreen, "thanks")
    assert all(volume == VoiceSettings().volume for _, volume in sink.played)
    # Everything played was a fixed prompt (the look-up above), so none of the resident's data was spoken.
    resident = persona("elderly")
    spoken = "".join(t(key, lang) for key, lang in heard)
    surname, given = resident.name.split()
    personal = (surname, given, *resident.kana.split(), resident.my_number, resident.pins["face"], "1951", "昭和")
    assert not [value for value in personal if value in spoken]


async def test_volume_zero_and_off_play_nothing_and_a_change_holds_at_once(speaking_kiosk, voice_cache, drive) -> None:
    app, speaker, sink = speaking_kiosk()
    appliance = app.services.appliance
    async with app.run_test(size=(80, 24)) as pilot:
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)
        assert await said(speaker, sink, voice_cache, 0) == [("voice_welcome", "ja"), ("voice_welcome", "en")]
        appliance.save_voice_settings(VoiceSettings(enabled=True, volume=0))
        await drive.click(pilot, app, "#ja")
        await drive.until(pilot, lambda: isinstance(app.screen, ConsentScreen), app)
        assert await said(speaker, sink, voice_cache, 2) == []
        appliance.save_voice_settings(VoiceSettings(enabled=False, volume=80))
        await drive.click(pilot, app, "#agree")
        await drive.until(pilot, lambda: isinstance(app.screen, CardScreen), app)  # no card: it waits for one
        assert await said(speaker, sink, voice_cache, 2) == []
        appliance.save_voice_settings(VoiceSettings(enabled=True, volume=35))
        await drive.click(pilot, app, "#back")
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)
        assert await said(speaker, sink, voice_cache, 2) == [("voice_welcome", "ja"), ("voice_welcome", "en")]
    assert [volume for _, volume in sink.played] == [80, 80, 35, 35]


async def test_the_last_pin_try_warning_and_the_staff_call_are_spoken(speaking_kiosk, voice_cache, card, drive) -> None:
    app, speaker, sink = speaking_kiosk()
    card("elderly")
    async with app.run_test(size=(100, 34)) as pilot:
        await drive.start_visit(pilot, app, "en")
        await drive.until(pilot, lambda: str(app.screen.query_one("#tries").render()) != "", app)
        heard = len(sink.played)
        for expected in ("2 tries left", "1 try left"):
            await drive.type_pin(pilot, app, "0000")
            await drive.until(pilot, lambda e=expected: e in str(app.screen.query_one("#error").render()), app)
        assert await said(speaker, sink, voice_cache, heard) == []  # a wrong PIN re-renders, it does not re-speak
        await pilot.press(*"1111", "enter")
        await drive.until(pilot, lambda: isinstance(app.screen, ConfirmDialog), app)
        assert await said(speaker, sink, voice_cache, heard) == [("last_try", "en")]
        await pilot.press("enter")  # いいえ / No, the default
        await drive.until(pilot, lambda: isinstance(app.screen, PinScreen), app)
        await drive.click(pilot, app, "#call-staff")
        assert await said(speaker, sink, voice_cache, heard + 1) == [("staff_called", "en")]
        assert app.services.face_tries() == 1


def test_every_resident_screen_has_a_fixed_prompt_without_fields() -> None:
    import yoshin.tui.screens.faults
    import yoshin.tui.screens.identity
    import yoshin.tui.screens.pin  # noqa: F401  (with the imports above: every resident screen is loaded)
    from yoshin.tui.screens.base import KioskScreen

    def subclasses(cls: type) -> set[type]:
        return {sub for direct in cls.__subclasses__() for sub in (direct, *subclasses(direct))}

    resident = {cls.__name__ for cls in subclasses(KioskScreen) if not cls.__name__.startswith("_")}
    assert resident <= set(voice.SCREEN_PROMPTS), resident - set(voice.SCREEN_PROMPTS)
    for prompt in (*voice.SCREEN_PROMPTS.values(), *voice.EVENT_PROMPTS.values()):
        for lang in voice.LANGS:
            text = T[prompt.key].get(lang)
            assert "{" not in text and text == t(prompt.key, lang), prompt.key  # a field would need a value
