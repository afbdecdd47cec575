"""`yoshin-voice`: the appliance's voice guidance (音声案内) settings, its prompt cache, and a listening test."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, replace
from pathlib import Path

import click

from yoshin.device.appliance import Appliance
from yoshin.device.voice import AplaySink, VoiceCache, VoiceUnavailable
from yoshin.tui import voice

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/device"), show_default=True
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
def main() -> None:
    """Voice guidance on the resident kiosk: fixed prompts only, synthesised on the appliance."""


@main.command()
@data_dir_option
def status(data_dir: Path) -> None:
    """Print the settings and how many prompts are cached, as one JSON object."""
    appliance = Appliance(data_dir)
    cache = VoiceCache(appliance.voice_dir)
    try:
        cached = sum(cache.path(each).exists() for each in voice.every_utterance())
        engines = "ok"
    except VoiceUnavailable as error:
        cached, engines = 0, str(error)
    total = len(voice.every_utterance())
    out = {**asdict(appliance.voice_settings()), "prompts": total, "cached": cached, "engines": engines}
    click.echo(json.dumps(out, ensure_ascii=False))


@main.command("set")
@data_dir_option
@click.option("--on/--off", "enabled", default=None, help="Voice guidance on or off (off: silent).")
@click.option("--volume", type=click.IntRange(0, 100), help="Volume in percent (0 is silent).")
@click.option("--device", help="ALSA device for aplay (-D), e.g. plughw:1,0; '' for the default.")
def set_(data_dir: Path, enabled: bool | None, volume: int | None, device: str | None) -> None:
    """Change the settings; the running kiosk uses them from its next prompt on."""
    appliance = Appliance(data_dir)
    settings = appliance.voice_settings()
    if enabled is not None:
        settings = replace(settings, enabled=enabled)
    if volume is not None:
        settings = replace(settings, volume=volume)
    if device is not None:
        settings = replace(settings, device=device or None)
    appliance.save_voice_settings(settings)
    click.echo(json.dumps(asdict(settings)))


@main.command()
@data_dir_option
def prepare(data_dir: Path) -> None:
    """Synthesise every prompt not yet cached (the kiosk also does this at start, in the background)."""
    try:
        made = voice.prepare(Appliance(data_dir))
    except VoiceUnavailable as error:
        raise click.ClickException(f"音声エンジンが使えません / voice engine unavailable: {error}") from error
    click.echo(f"{made} prompt(s) synthesised, {len(voice.every_utterance())} in all")


@main.command()
@data_dir_option
@click.argument("screen", type=click.Choice(sorted(voice.SCREEN_PROMPTS)))
@click.option("--lang", type=click.Choice(voice.LANGS), default="ja", show_default=True)
def say(data_dir: Path, screen: str, lang: str) -> None:
    """Play one screen's prompt through the appliance's audio, at the configured volume (a listening test).
    Unlike the kiosk, which stays silent on a fault, this says what went wrong and exits 1."""
    appliance = Appliance(data_dir)
    settings = appliance.voice_settings()
    if not settings.speaks:
        raise click.ClickException(
            "音声案内は切になっています / voice guidance is off (yoshin-voice set --on --volume N)"
        )
    cache = VoiceCache(appliance.voice_dir)
    try:
        for utterance in voice.utterances(voice.SCREEN_PROMPTS[screen], lang):
            AplaySink().play(cache.wav(utterance), settings, threading.Event())
    except VoiceUnavailable as error:
        raise click.ClickException(f"再生できません / cannot play: {error}") from error


if __name__ == "__main__":
    main()
