"""Voice guidance (音声案内): fixed prompts spoken through the appliance's audio, synthesised on the appliance.

Engines (docs/dependencies.md, "Voice"): Japanese with Debian's Open JTalk, its NAIST-jdic dictionary and
the MMDAgent "Mei" HTS voice (CC BY 3.0, installed by tools/setup-system.sh); English with Debian's
espeak-ng. Both run offline as subprocesses; nothing here needs the network.

Only fixed prompt texts are ever spoken, never what the card or the resident gave: the callers pass texts
from a closed list (tui/voice.py). The WAV cache therefore holds no personal data. Its files are named by a
hash of the engine's identity (name, version, voice file digest, options), the language and the text, so a
changed text or an upgraded engine gets a new file and stale ones are simply never used again.

The `Speaker` plays on its own thread: `say` only queues and returns, so the screen that asked never
waits; a newer `say` interrupts the prompt still playing (the resident has moved on). The volume setting
is read again for each prompt, so a change in the appliance configuration holds at once; volume 0 or
"off" means nothing is synthesised or played. `say` may scale the volume for its prompts (the resident's
音量 button, tui/voice.py `Loudness`); the speaker keeps no such state between calls.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import wave
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

DICTIONARY = Path("/var/lib/mecab/dic/open-jtalk/naist-jdic")  # Debian's open-jtalk-mecab-naist-jdic
HTS_VOICE = Path("/usr/local/share/yoshin/voice/mei_normal.htsvoice")  # tools/setup-system.sh installs it
SYNTH_TIMEOUT = 60.0  # seconds for one prompt; a short sentence takes well under one


class VoiceUnavailable(RuntimeError):
    """An engine, its dictionary or its voice is missing: the kiosk then stays silent (and says why in the log)."""


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """The appliance's voice configuration (<data_dir>/voice.json). Volume is a percentage, 0 to 100."""

    enabled: bool = True
    volume: int = 80
    device: str | None = None  # ALSA device for aplay (-D); None is the system default

    def __post_init__(self) -> None:
        if not 0 <= self.volume <= 100:
            raise ValueError(f"volume must be 0 to 100, not {self.volume}")

    @property
    def speaks(self) -> bool:
        return self.enabled and self.volume > 0

    def scaled_by(self, factor: float) -> VoiceSettings:
        """These settings with the volume times `factor` (the resident's own choice for the visit), capped
        at 100; 0 is silence."""
        if factor == 1.0:
            return self
        return replace(self, volume=max(0, min(100, round(self.volume * factor))))

    @classmethod
    def load(cls, path: Path) -> VoiceSettings:
        """The saved settings; the defaults when none are saved. A damaged file means silence, not a crash."""
        try:
            saved = json.loads(path.read_text())
            return cls(bool(saved["enabled"]), int(saved["volume"]), saved.get("device"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("voice settings %s unreadable (%s): voice off", path, error)
            return cls(enabled=False)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))


@dataclass(frozen=True, slots=True)
class Utterance:
    """One fixed prompt in one language."""

    lang: str  # "ja" or "en"
    text: str


class Engine(Protocol):
    lang: str

    def identity(self) -> str:
        """Everything that changes the sound: part of the cache key."""
        ...

    def synthesise(self, text: str, out: Path) -> None: ...


def _version(command: Sequence[str]) -> str:
    """The engine's version line, from its own output (Open JTalk prints it in its usage text)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=SYNTH_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise VoiceUnavailable(f"{command[0]}: {error}") from error
    found = re.search(r"(?:[Vv]ersion:?|text-to-speech:)\s*([\w.+~-]+)", done.stdout + done.stderr)
    if found is None:
        raise VoiceUnavailable(f"{command[0]}: no version in its output")
    return found.group(1)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class OpenJTalk:
    """Japanese: `open_jtalk` with a MeCab dictionary and an HTS voice."""

    dictionary: Path = DICTIONARY
    voice: Path = HTS_VOICE
    speed: float = 0.95  # a little slower than the voice's default, for older residents
    gain_db: float = -3.0  # Mei at 0 dB reaches full scale on some prompts: headroom against clipping
    lang: str = "ja"
    _identity: str | None = field(default=None, repr=False)

    def identity(self) -> str:
        if self._identity is None:
            for need in (self.dictionary / "sys.dic", self.voice):
                if not need.exists():
                    raise VoiceUnavailable(f"Open JTalk needs {need} (tools/setup-system.sh installs it)")
            version = _version(["open_jtalk"])
            options = f"r {self.speed} g {self.gain_db}"
            self._identity = f"open_jtalk {version} voice {_digest(self.voice)} dic {self.dictionary} {options}"
        return self._identity

    def synthesise(self, text: str, out: Path) -> None:
        command = ["open_jtalk", "-x", str(self.dictionary), "-m", str(self.voice)]
        command += ["-r", str(self.speed), "-g", str(self.gain_db)]
        _run([*command, "-ow", str(out)], text)


@dataclass
class EspeakNg:
    """English: espeak-ng's own voice."""

    voice: str = "en-us"
    words_per_minute: int = 150  # its default is 175; slower is easier to follow
    lang: str = "en"
    _identity: str | None = field(default=None, repr=False)

    def identity(self) -> str:
        if self._identity is None:
            self._identity = f"espeak-ng {_version(['espeak-ng', '--version'])} {self.voice} s {self.words_per_minute}"
        return self._identity

    def synthesise(self, text: str, out: Path) -> None:
        _run(["espeak-ng", "-v", self.voice, "-s", str(self.words_per_minute), "-w", str(out), "--stdin"], text)


def _run(command: list[str], text: str) -> None:
    """Run an engine with the text on stdin (never on the command line, where `ps` would show it)."""
    try:
        done = subprocess.run(command, input=text, capture_output=True, text=True, timeout=SYNTH_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise VoiceUnavailable(f"{command[0]}: {error}") from error
    if done.returncode != 0:
        raise VoiceUnavailable(f"{command[0]} exited {done.returncode}: {done.stderr.strip()[:200]}")


class VoiceCache:
    """The synthesised prompts, one WAV per (engine identity, language, text), made on first use."""

    def __init__(self, directory: Path, engines: Sequence[Engine] | None = None) -> None:
        self.directory = directory
        self.engines = {engine.lang: engine for engine in (engines or (OpenJTalk(), EspeakNg()))}

    def path(self, utterance: Utterance) -> Path:
        engine = self._engine(utterance.lang)
        key = "\0".join((engine.identity(), utterance.lang, utterance.text))
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.wav"

    def wav(self, utterance: Utterance) -> Path:
        """The prompt's WAV file, synthesised now if it is not cached yet."""
        path = self.path(utterance)
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            # Written beside its final name, then renamed: a reader never sees half a file, and two threads
            # making the same prompt at once both end with a whole one.
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".part")
            os.close(handle)
            try:
                self._engine(utterance.lang).synthesise(utterance.text, Path(temporary))
                os.replace(temporary, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
        return path

    def prepare(self, utterances: Sequence[Utterance]) -> int:
        """Synthesise every prompt not cached yet (at start, or by `yoshin-voice prepare`), and delete the WAVs
        of texts or engines no longer in use; how many were made."""
        made = 0
        for utterance in utterances:
            if not self.path(utterance).exists():
                self.wav(utterance)
                made += 1
        wanted = {self.path(utterance) for utterance in utterances}
        for stale in set(self.directory.glob("*.wav")) - wanted:
            stale.unlink(missing_ok=True)
        return made

    def _engine(self, lang: str) -> Engine:
        try:
            return self.engines[lang]
        except KeyError:
            raise VoiceUnavailable(f"no voice engine for language {lang!r}") from None


def scaled(wav: Path, volume: int) -> bytes:
    """The WAV at `volume` percent (16-bit PCM, as both engines write): the same file in memory, samples scaled."""
    with wave.open(str(wav), "rb") as source:
        params = source.getparams()
        frames = source.readframes(params.nframes)
    if params.sampwidth != 2:
        raise VoiceUnavailable(f"{wav.name}: {8 * params.sampwidth}-bit audio, expected 16-bit")
    samples = array.array("h", frames)
    if sys.byteorder == "big":
        samples.byteswap()
    factor = volume / 100
    samples = array.array("h", (int(sample * factor) for sample in samples))
    if sys.byteorder == "big":
        samples.byteswap()
    out = io.BytesIO()
    with wave.open(out, "wb") as target:
        target.setparams(params)
        target.writeframes(samples.tobytes())
    return out.getvalue()


class Sink(Protocol):
    """Where prompts are played. `play` blocks until the prompt ends, or until `cut` is set (from another
    thread: a newer prompt) — set before it starts, nothing plays."""

    def play(self, wav: Path, settings: VoiceSettings, cut: threading.Event) -> None: ...


class AplaySink:
    """The appliance's audio through ALSA's `aplay` (alsa-utils), fed the volume-scaled WAV on stdin."""

    def play(self, wav: Path, settings: VoiceSettings, cut: threading.Event) -> None:
        data = scaled(wav, settings.volume)
        if cut.is_set():
            return
        command = ["aplay", "-q"] + (["-D", settings.device] if settings.device else []) + ["-"]
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as error:  # no alsa-utils
            raise VoiceUnavailable(f"aplay: {error}") from error
        watcher = threading.Thread(target=_cut_short, args=(process, cut), daemon=True)
        watcher.start()
        try:
            _, errors = process.communicate(data, timeout=SYNTH_TIMEOUT)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            process.kill()
            _, errors = process.communicate()
        watcher.join()
        if process.returncode != 0 and not cut.is_set():
            raise VoiceUnavailable(f"aplay exited {process.returncode}: {errors.decode(errors='replace')[:200]}")


def _cut_short(process: subprocess.Popen[bytes], cut: threading.Event) -> None:
    """Ends `process` once `cut` is set; returns by itself when the process ends first."""
    while process.poll() is None:
        if cut.wait(0.05):
            process.terminate()
            return


class Speaker:
    """Plays prompts on its own thread; `say` never blocks. A newer `say` supersedes what is still queued or
    playing. Errors (no engine, no sound card) are logged once each and never reach the caller."""

    def __init__(
        self,
        cache: VoiceCache,
        settings: Callable[[], VoiceSettings],
        sink: Sink | None = None,
    ) -> None:
        self.cache = cache
        self.settings = settings
        self.sink = sink if sink is not None else AplaySink()
        self._wake = threading.Condition()
        self._queue: list[tuple[Utterance, float]] = []  # each prompt with its volume factor
        self._cut = threading.Event()  # set when what is playing now is superseded; one per say()
        self._idle = threading.Event()
        self._idle.set()
        self._closed = False
        self._logged: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="yoshin-voice", daemon=True)
        self._thread.start()

    def say(self, utterances: Sequence[Utterance], scale: float = 1.0) -> None:
        """Speak these prompts in order, after cutting short whatever is playing, at the appliance's volume
        times `scale` (0: cut short and say nothing)."""
        with self._wake:
            self._cut.set()
            self._cut = threading.Event()
            self._queue = [(utterance, scale) for utterance in utterances]
            if self._queue:
                self._idle.clear()
            self._wake.notify()

    def wait_idle(self, timeout: float) -> bool:
        """Whether everything asked for so far has been played or skipped (for tests and the CLI)."""
        return self._idle.wait(timeout)

    def prepare(self, utterances: Sequence[Utterance]) -> threading.Thread:
        """Synthesise the prompts ahead of time on a thread of their own, so the first visit hears them at once."""
        thread = threading.Thread(target=self._guarded, args=(self.cache.prepare, utterances), daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._cut.set()
            self._queue = []
            self._wake.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closed:
                    self._idle.set()
                    self._wake.wait()
                if self._closed:
                    self._idle.set()
                    return
                utterance, scale = self._queue.pop(0)
                cut = self._cut
            self._guarded(self._speak, utterance, scale, cut)

    def _speak(self, utterance: Utterance, scale: float, cut: threading.Event) -> None:
        settings = self.settings().scaled_by(scale)  # read per prompt: a changed configuration holds at once
        if not settings.speaks or cut.is_set():
            return
        wav = self.cache.wav(utterance)
        self.sink.play(wav, settings, cut)

    def _guarded(self, action: Callable[..., object], *args: object) -> None:
        """Voice guidance is a help, never a failure: problems are logged (once per kind) and skipped."""
        try:
            action(*args)
        except Exception as error:  # an engine, the sound card or the disk: whatever it is, the kiosk goes on
            kind = f"{type(error).__name__}: {error}"
            if kind not in self._logged:
                self._logged.add(kind)
                log.warning("voice guidance: %s", kind)
