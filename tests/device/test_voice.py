"""音声案内's engine: every kiosk prompt synthesised for real (Open JTalk for Japanese, espeak-ng for English)
and measured with sox; the WAV cache, the volume, the settings file, and the speaker's thread."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import unicodedata
from pathlib import Path

import pytest

from yoshin.device.voice import (
    AplaySink,
    OpenJTalk,
    Speaker,
    Utterance,
    VoiceCache,
    VoiceSettings,
    VoiceUnavailable,
    scaled,
)
from yoshin.tui.voice import every_utterance

pytestmark = pytest.mark.functional  # the real engines, as subprocesses


def measure(wav: Path) -> tuple[float, float, float]:
    """(seconds, RMS amplitude, peak amplitude) by sox, amplitudes as fractions of full scale."""
    seconds = float(subprocess.run(["sox", "--i", "-D", str(wav)], capture_output=True, text=True, check=True).stdout)
    stat = subprocess.run(["sox", str(wav), "-n", "stat"], capture_output=True, text=True, check=True).stderr
    rms = float(re.search(r"RMS\s+amplitude:\s+([\d.]+)", stat).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Maximum amplitude:\s+([\d.]+)", stat).group(1))  # type: ignore[union-attr]
    return seconds, rms, peak


def spoken_units(utterance: Utterance) -> int:
    """How much there is to say: Japanese letters (kana and kanji; a kanji is one to three morae), or
    English syllables (runs of vowels in each word, at least one per word; digits one each)."""
    if utterance.lang == "ja":
        return sum(1 for ch in utterance.text if unicodedata.category(ch).startswith(("L", "N")))
    words = re.findall(r"[A-Za-z']+|\d", utterance.text)
    return sum(max(1, len(re.findall(r"[aeiouy]+", word.lower()))) for word in words)


# Seconds per unit, with room for the engines' pauses at commas and the lead-in/out silence (the measured
# range, over every prompt, is in docs/kiosk.md). A truncated file or a runaway one falls outside.
BOUNDS = {"ja": (0.08, 0.4), "en": (0.12, 0.6)}
PADDING = 1.0


@pytest.fixture(scope="module")
def synthesised(tmp_path_factory) -> dict[Utterance, Path]:
    cache = VoiceCache(tmp_path_factory.mktemp("voice"))
    return {utterance: cache.wav(utterance) for utterance in every_utterance()}


def test_every_prompt_in_both_languages_is_synthesised_audible_and_of_plausible_length(synthesised) -> None:
    assert {u.lang for u in synthesised} == {"ja", "en"} and len(synthesised) >= 2 * 13
    for utterance, wav in synthesised.items():
        seconds, rms, peak = measure(wav)
        units = spoken_units(utterance)
        low, high = BOUNDS[utterance.lang]
        assert rms > 0.03 and peak > 0.2, (utterance, rms, peak)  # speech, not silence or a click
        assert low * units <= seconds <= high * units + PADDING, (utterance, units, seconds)


def test_the_japanese_is_the_mei_voice_at_48khz_and_the_english_espeak(synthesised) -> None:
    rates = {
        u.lang: subprocess.run(["sox", "--i", "-r", str(w)], capture_output=True, text=True, check=True).stdout.strip()
        for u, w in synthesised.items()
    }
    assert rates == {"ja": "48000", "en": "22050"}  # (a swapped engine would swap these)


def test_the_cache_makes_each_prompt_once_and_keys_on_text_voice_and_engine(tmp_path) -> None:
    cache = VoiceCache(tmp_path)
    take = Utterance("ja", "カードをお取りください")
    first = cache.wav(take)
    made = first.stat().st_mtime_ns
    assert cache.wav(take) == first and first.stat().st_mtime_ns == made  # not synthesised again
    assert cache.prepare([take]) == 0
    assert cache.path(Utterance("ja", "カードをお取りください。")) != first  # other text, other file
    assert VoiceCache(tmp_path, [OpenJTalk(speed=1.2)]).path(take) != first  # other engine options
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary file left; the name is a hash
    assert re.fullmatch(r"[0-9a-f]{32}\.wav", first.name)
    changed = Utterance("ja", "カードをお取りください。")
    assert cache.prepare([changed]) == 1  # a changed text: its new file, and the old one deleted
    assert [p.name for p in tmp_path.iterdir()] == [cache.path(changed).name]


def test_a_missing_voice_file_is_reported_not_crashed(tmp_path) -> None:
    cache = VoiceCache(tmp_path, [OpenJTalk(voice=tmp_path / "absent.htsvoice")])
    with pytest.raises(VoiceUnavailable, match=r"absent\.htsvoice"):
        cache.wav(Utterance("ja", "テスト"))
    with pytest.raises(VoiceUnavailable, match="no voice engine"):
        cache.wav(Utterance("fr", "bonjour"))


def test_volume_scales_the_samples(synthesised, tmp_path) -> None:
    wav = synthesised[Utterance("en", "Please take your card")]
    _, full, _ = measure(wav)
    for volume in (50, 0):
        out = tmp_path / f"{volume}.wav"
        out.write_bytes(scaled(wav, volume))
        seconds, rms, peak = measure(out)
        assert seconds == measure(wav)[0]
        assert rms == pytest.approx(full * volume / 100, abs=0.002)
    assert peak == 0


def test_settings_default_round_trip_and_a_damaged_file_means_silence(tmp_path) -> None:
    path = tmp_path / "voice.json"
    assert VoiceSettings.load(path) == VoiceSettings(enabled=True, volume=80, device=None)
    VoiceSettings(enabled=True, volume=35, device="plughw:1,0").save(path)
    assert VoiceSettings.load(path) == VoiceSettings(True, 35, "plughw:1,0")
    assert not VoiceSettings(True, 0).speaks and not VoiceSettings(False, 50).speaks and VoiceSettings(True, 1).speaks
    path.write_text('{"enabled": true, "volume": 250}')
    assert not VoiceSettings.load(path).speaks
    path.write_text("{not json")
    assert not VoiceSettings.load(path).speaks
    with pytest.raises(ValueError, match="0 to 100"):
        VoiceSettings(volume=-1)


def test_a_visit_s_volume_scales_the_appliance_s_capped_at_100() -> None:
    settings = VoiceSettings(volume=80, device="plughw:1,0")
    assert settings.scaled_by(1.0) is settings
    assert settings.scaled_by(1.5) == VoiceSettings(volume=100, device="plughw:1,0")  # capped, device kept
    assert settings.scaled_by(0.5).volume == 40 and VoiceSettings(volume=30).scaled_by(1.5).volume == 45
    assert not settings.scaled_by(0.0).speaks
    assert not VoiceSettings(enabled=False, volume=80).scaled_by(1.5).speaks  # off stays off


def test_aplay_plays_on_the_alsa_null_device_and_reports_a_missing_one(synthesised) -> None:
    wav = synthesised[Utterance("ja", "カードをお取りください")]
    AplaySink().play(wav, VoiceSettings(device="null"), threading.Event())  # real aplay, no sound card needed
    with pytest.raises(VoiceUnavailable, match="aplay exited"):
        AplaySink().play(wav, VoiceSettings(device="no-such-device"), threading.Event())
    cut = threading.Event()
    cut.set()
    AplaySink().play(wav, VoiceSettings(device="no-such-device"), cut)  # already superseded: not even started


class HoldingSink:
    """Holds the first prompt until it is cut (as a long prompt would play on), then records the rest."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.played: list[tuple[str, bool]] = []

    def play(self, wav: Path, settings: VoiceSettings, cut: threading.Event) -> None:
        if not self.played:
            self.started.set()
            cut.wait(30)
        self.played.append((wav.name, cut.is_set()))


def test_a_newer_prompt_cuts_the_one_playing_and_say_never_waits(synthesised, tmp_path) -> None:
    cache = VoiceCache(tmp_path)
    first, second = Utterance("ja", "カードをお取りください"), Utterance("en", "Please take your card")
    sink = HoldingSink()
    speaker = Speaker(cache, VoiceSettings, sink)
    try:
        speaker.say([first])
        assert sink.started.wait(60)  # playing, and held
        speaker.say([second])  # returns at once although the first is still "playing"
        assert speaker.wait_idle(60)
    finally:
        speaker.close()
    assert sink.played == [(cache.path(first).name, True), (cache.path(second).name, False)]


def test_a_broken_engine_leaves_the_speaker_silent_and_logs_once(tmp_path, caplog) -> None:
    sink = HoldingSink()
    speaker = Speaker(VoiceCache(tmp_path, [OpenJTalk(voice=tmp_path / "absent.htsvoice")]), VoiceSettings, sink)
    try:
        for _ in range(3):
            speaker.say([Utterance("ja", "テスト")])
            assert speaker.wait_idle(60)
    finally:
        speaker.close()
    assert sink.played == []
    assert [r.getMessage() for r in caplog.records if "voice guidance" in r.getMessage()] == [
        f"voice guidance: VoiceUnavailable: Open JTalk needs {tmp_path / 'absent.htsvoice'} "
        "(tools/setup-system.sh installs it)"
    ]


def test_the_cli_sets_the_volume_and_reports_the_cache(tmp_path) -> None:
    from click.testing import CliRunner

    from yoshin.tui.voice_cli import main

    runner = CliRunner()
    data = ["--data-dir", str(tmp_path)]
    assert json.loads(runner.invoke(main, ["status", *data]).output)["cached"] == 0
    done = runner.invoke(main, ["set", *data, "--volume", "40", "--off"])
    assert done.exit_code == 0, done.output
    assert VoiceSettings.load(tmp_path / "voice.json") == VoiceSettings(enabled=False, volume=40)
    assert runner.invoke(main, ["set", *data, "--volume", "101"]).exit_code == 2  # click's range check
    prepared = runner.invoke(main, ["prepare", *data])
    assert prepared.exit_code == 0, prepared.output
    status = json.loads(runner.invoke(main, ["status", *data]).output)
    assert status == {
        "enabled": False, "volume": 40, "device": None, "prompts": len(every_utterance()),
        "cached": len(every_utterance()), "engines": "ok",
    }  # fmt: skip
    said = runner.invoke(main, ["say", *data, "PinScreen"])
    assert said.exit_code == 1 and "voice guidance is off" in said.output
    runner.invoke(main, ["set", *data, "--on", "--device", "null"])  # ALSA's null device: plays, no card needed
    said = runner.invoke(main, ["say", *data, "PinScreen", "--lang", "en"])
    assert said.exit_code == 0, said.output
    runner.invoke(main, ["set", *data, "--device", "no-such-device"])
    said = runner.invoke(main, ["say", *data, "PinScreen"])
    assert said.exit_code == 1 and "cannot play: aplay exited" in said.output
