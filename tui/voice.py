"""What the resident kiosk says (音声案内): one fixed prompt per screen, in the resident's language, or in
both before a language is chosen and on the fault screens (which are shown in both).

The prompts are keys of tui/text.py taken as they are, without values: `t()` of a text with a `{...}`
field fails, so no name, date, number or answer can reach the speaker. `tests/tui/test_voice.py` checks
both that every prompt is fixed and that every resident screen has one. The engine (device/voice.py) is
loaded only when the kiosk starts with voice on (`speaker_for`), never at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from yoshin.tui.text import t

if TYPE_CHECKING:
    from yoshin.device.appliance import Appliance
    from yoshin.device.voice import Sink, Speaker, Utterance

LANGS = ("ja", "en")


@dataclass(frozen=True, slots=True)
class Prompt:
    key: str  # a tui/text.py key without fields
    both: bool = False  # Japanese then English, whatever the visit's language


# By screen class name (the screens import nothing from here; KioskScreen.on_mount looks its class up).
SCREEN_PROMPTS: dict[str, Prompt] = {
    "WelcomeScreen": Prompt("voice_welcome", both=True),
    "ConsentScreen": Prompt("voice_consent"),
    "CardScreen": Prompt("insert_card"),
    "PinScreen": Prompt("voice_pin"),
    "IdentityScreen": Prompt("voice_identity"),
    "VaccineScreen": Prompt("voice_vaccine"),
    "QuestionnaireScreen": Prompt("voice_question"),
    "ReviewScreen": Prompt("voice_review"),
    "RemoveCardScreen": Prompt("remove_card"),
    "ThanksScreen": Prompt("thanks"),
    "ReaderMissingScreen": Prompt("reader_missing", both=True),
    "CardPulledScreen": Prompt("card_pulled", both=True),
    "ErrorScreen": Prompt("kiosk_error", both=True),
}
# Said on events rather than screens.
EVENT_PROMPTS: dict[str, Prompt] = {
    "idle_warning": Prompt("idle_warning"),
    "last_try": Prompt("last_try"),
    "staff_called": Prompt("staff_called"),
    "reception_first": Prompt("reception_first"),  # the card screen, when reception must check first (control 4)
}


class Loudness(Enum):
    """The resident's own volume for one visit (the 音量 button), on top of the appliance's setting
    (voice.json). Every visit starts at NORMAL; the next person never inherits a change."""

    NORMAL = "normal"  # 中: the appliance's volume
    LOUD = "loud"  # 大: half as loud again (up to 100 %)
    SOFT = "soft"  # 小: half
    MUTE = "mute"  # 消音: nothing is played

    @property
    def factor(self) -> float:
        return _FACTORS[self]

    def next(self) -> Loudness:
        """One press of 音量: 中 → 大 → 小 → 消音 → 中 (louder first: the usual wish of an older resident)."""
        order = list(Loudness)
        return order[(order.index(self) + 1) % len(order)]

    def label(self, lang: str | None) -> str:
        """The button's words in the visit's language; in both (ja / en) when `lang` is None."""
        if lang is None:
            return " / ".join(self.label(each) for each in LANGS)
        return t("volume", lang, level=t(f"volume_{self.value}", lang))


_FACTORS = {Loudness.NORMAL: 1.0, Loudness.LOUD: 1.5, Loudness.SOFT: 0.5, Loudness.MUTE: 0.0}


def utterances(prompt: Prompt, lang: str) -> list[Utterance]:
    from yoshin.device.voice import Utterance

    return [Utterance(each, t(prompt.key, each)) for each in (LANGS if prompt.both else (lang,))]


def every_utterance() -> list[Utterance]:
    """Every prompt the kiosk can say, in both languages: what `prepare` synthesises ahead of time."""
    from yoshin.device.voice import Utterance

    keys = dict.fromkeys(prompt.key for prompt in (*SCREEN_PROMPTS.values(), *EVENT_PROMPTS.values()))
    return [Utterance(lang, t(key, lang)) for key in keys for lang in LANGS]


def speaker_for(appliance: Appliance, sink: Sink | None = None) -> Speaker:
    """The appliance's speaker: its settings (re-read per prompt), its WAV cache, its audio output."""
    from yoshin.device.voice import Speaker, VoiceCache

    return Speaker(VoiceCache(appliance.voice_dir), appliance.voice_settings, sink)


def prepare(appliance: Appliance) -> int:
    """Synthesise every prompt not cached yet; how many were made (`yoshin-voice prepare`)."""
    from yoshin.device.voice import VoiceCache

    return VoiceCache(appliance.voice_dir).prepare(every_utterance())
