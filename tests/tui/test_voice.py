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
from yoshin.host import policy
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
from yoshin.tui.voice import Loudness

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


async def test_the_volume_button_changes_what_the_speaker_plays_and_the_next_visit_starts_at_the_default(
    speaking_kiosk, voice_cache, drive
) -> None:
    """音量 cycles 中 → 大 → 小 → 消音 → 中 for this visit: each press is heard at once (the screen's prompt at the
    new level; 消音 plays nothing), by touch or by keyboard; the visit's end restores voice.json's volume."""
    app, speaker, sink = speaking_kiosk()
    default = VoiceSettings().volume  # 80: voice.json is absent, so the appliance's defaults hold
    welcome = [("voice_welcome", "ja"), ("voice_welcome", "en")]

    def label() -> str:
        return str(app.screen.query_one("#volume").label)

    async with app.run_test(size=(80, 24)) as pilot:
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)
        assert await said(speaker, sink, voice_cache, 0) == welcome
        assert label() == "音量 中 / Volume medium"  # both languages before one is chosen
        levels = []
        for expected, words in (
            (Loudness.LOUD, "音量 大 / Volume loud"),
            (Loudness.SOFT, "音量 小 / Volume soft"),
            (Loudness.MUTE, "音量 消音 / Volume off"),
            (Loudness.NORMAL, "音量 中 / Volume medium"),
        ):
            heard = len(sink.played)
            await drive.click(pilot, app, "#volume")
            await drive.until(pilot, lambda e=expected: app.visit.loudness == e, app)
            assert label() == words
            now = await said(speaker, sink, voice_cache, heard)
            assert now == ([] if expected == Loudness.MUTE else welcome), expected
            levels.append(sorted({volume for _, volume in sink.played[heard:]}))
        assert levels == [[100], [40], [], [default]]  # 80 × 1.5 capped at 100, 80 × 0.5, nothing, 80
        for _ in range(6):  # reachable without touch: Tab moves to it, Enter presses it
            if app.focused is not None and app.focused.id == "volume":
                break
            await pilot.press("tab")
        assert app.focused is not None and app.focused.id == "volume"
        heard = len(sink.played)
        await drive.until(pilot, lambda: not app.focused.has_class("-active"), app)  # (the last tap's effect)
        await pilot.press("enter")
        await drive.until(pilot, lambda: app.visit.loudness == Loudness.LOUD, app)
        assert await said(speaker, sink, voice_cache, heard) == welcome
        heard = len(sink.played)
        await drive.click(pilot, app, "#ja")
        await drive.until(pilot, lambda: isinstance(app.screen, ConsentScreen), app)
        assert await said(speaker, sink, voice_cache, heard) == [("voice_consent", "ja")]
        assert label() == "音量 大 / Volume loud"  # (both languages until consent, like 職員を呼ぶ)
        assert [volume for _, volume in sink.played[heard:]] == [100]  # kept through the visit
        heard = len(sink.played)
        await drive.click(pilot, app, "#decline")  # the visit ends (no card on the reader: straight back)
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)
        assert await said(speaker, sink, voice_cache, heard) == welcome
        assert app.visit.loudness == Loudness.NORMAL and label() == "音量 中 / Volume medium"
        assert [volume for _, volume in sink.played[heard:]] == [default, default]  # the next person: the default


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_the_card_screen_says_go_to_reception_first_when_reception_must_check(
    speaking_kiosk, voice_cache, card, drive, host, admin_approval, lang: str
) -> None:
    """Control 4: where the municipality requires reception's check and none is open, the card screen shows
    and says 「先に受付で本人確認を受けてください」 once, in the visit's language, and reads no card."""
    policy.set_reception_required(host.service.db, "141305", True, admin_approval(host.service), host.service.clock())
    app, speaker, sink = speaking_kiosk()
    card("elderly")
    async with app.run_test(size=(80, 24)) as pilot:
        await drive.click(pilot, app, f"#{lang}")
        await drive.click(pilot, app, "#agree")
        await drive.until(pilot, lambda: bool(app.screen.query("#reception")), app)
        assert isinstance(app.screen, CardScreen)
        heard = await said(speaker, sink, voice_cache, 0)
        assert heard[-1] == ("reception_first", lang), heard  # (it may cut 「カードを置いてください」 short)
        assert heard.count(("reception_first", lang)) == 1  # the screen keeps looking for a slot, silently


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
