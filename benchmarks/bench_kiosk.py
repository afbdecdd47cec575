"""The kiosk against a minimal Textual app in the same run: cold start to the first interactive screen,
resident set size after ten visits, and key-press-to-render latency.

Each measure runs in a fresh child process of this script (`--child NAME`), so imports, start-up and
memory are each process's own. The ten visits are real: the card emulator in an isolated pcscd, a host
on loopback, the sealed outbox (needs `make setup` and no other pcscd). The emulated card runs in a process
of its own, as a real card is not part of the kiosk. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTS = 5
VISITS = int(os.environ.get("YOSHIN_BENCH_VISITS", "10"))
KEYS = 200


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def minimal_app():  # the baseline: one screen, one input, one button, no yoshin
    from textual.app import App, ComposeResult
    from textual.screen import Screen
    from textual.widgets import Button, Input, Static

    class Page(Screen):
        def compose(self) -> ComposeResult:
            yield Static("minimal")
            yield Input(id="field")
            yield Button("next", id="next")

    class Minimal(App):
        def on_mount(self) -> None:
            self.push_screen(Page())

    return Minimal()


def kiosk_app(data_dir: Path, reader: str | None = None):
    from yoshin.device.appliance import Appliance
    from yoshin.tui.app import KioskApp
    from yoshin.tui.services import ApplianceServices

    return KioskApp(ApplianceServices(Appliance(data_dir), reader))


async def until(pilot, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    await pilot.pause()  # let a new screen lay out before anything clicks on it
    while not condition():
        if time.monotonic() > deadline:
            shown = [str(widget.render()) for widget in pilot.app.screen.query("Static")]
            raise TimeoutError(f"not reached on {pilot.app.screen!r}: {shown}")
        await pilot.pause(0.01)  # card workers run in threads; the condition ends the wait


async def click(pilot, selector: str) -> None:
    """Click once the widget is laid out (a screen switched to from a worker lays out a frame later)."""
    await until(pilot, lambda: any(widget.region for widget in pilot.app.screen.query(selector)))
    await pilot.click(selector)


def child_start(kind: str) -> None:
    """From process start (the parent's clock) to the first screen ready for input."""
    app = minimal_app() if kind == "minimal" else kiosk_app(Path(tempfile.mkdtemp()))

    async def ready() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.screen_stack) > 1 and app.screen.query("Button"))
            print(json.dumps({"ready_at": time.time()}))

    asyncio.run(ready())


def child_visits(kind: str) -> None:
    """RSS after ten visits: the kiosk's real visits (`kind` names the parent's set-up file), or as many
    screen round trips of the minimal app."""
    if kind == "minimal":
        app = minimal_app()

        async def run() -> None:
            async with app.run_test(size=(80, 24)) as pilot:
                for _ in range(VISITS * 8):  # about as many screens as a visit
                    await app.push_screen(type(app.screen)())
                    await pilot.press(*"36.5")
                    app.pop_screen()
                    await pilot.pause()
                print(json.dumps({"rss_kib": rss_kib()}))

        asyncio.run(run())
        return
    from yoshin.smartcard.transport import PcscContext
    from yoshin.tui.screens.questionnaire import QuestionnaireScreen
    from yoshin.tui.screens.welcome import WelcomeScreen

    # The host, pcscd and the appliance's enrollment belong to the parent; this process is the kiosk, as on
    # an appliance. The card is `yoshin.devtools.card_emulator` in a process of its own: put on the reader
    # by starting it, taken off by SIGINT (it disconnects from vpcd and exits).
    setup = json.loads(Path(kind).read_text())
    app = kiosk_app(Path(setup["data_dir"]), setup["slot"])
    emulator_command = [sys.executable, "-m", "yoshin.devtools.card_emulator", "--persona", "elderly"]
    emulator_command += ["--port", str(setup["port"]), "--pki-dir", setup["pki"]]

    def card(emulator: subprocess.Popen[bytes] | None = None) -> subprocess.Popen[bytes] | None:
        with PcscContext() as context:
            event = context.event_count(setup["slot"])
            if emulator is None:
                emulator = subprocess.Popen(emulator_command, stdout=subprocess.DEVNULL)
                context.wait_for_card(setup["slot"], 60)
                return emulator
            emulator.send_signal(signal.SIGINT)
            emulator.wait(30)
            context.wait_for_removal(setup["slot"], 10, after_event=event)
        return None

    async def run() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            after_first = 0
            for _ in range(VISITS):
                await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))
                emulator = card()
                await click(pilot, "#ja")
                await click(pilot, "#agree")
                await until(pilot, lambda: app.screen.query("#tries") and str(app.screen.query_one("#tries").render()))
                await pilot.press(*"2580", "enter")
                await click(pilot, "#yes")
                await click(pilot, "#v-flu_elderly-1")
                await click(pilot, "#vaccines-next")
                while True:
                    await until(
                        pilot, lambda: isinstance(app.screen, QuestionnaireScreen) or app.screen.query("#submit")
                    )
                    if not isinstance(app.screen, QuestionnaireScreen):
                        break
                    question, _, _ = app.screen.current()
                    if question.type == "number":
                        app.screen.query_one("#value").value = "36.5"
                        await click(pilot, "#value-next")
                    elif question.type == "single_choice":
                        await click(pilot, f"#c-{question.choices[0].value}")
                    else:
                        yes = question.id in ("read_leaflet", "wants_vaccination")
                        await click(pilot, "#a-yes" if yes else "#a-no")
                await click(pilot, "#submit")
                await until(pilot, lambda: type(app.screen).__name__ == "RemoveCardScreen")  # sent, and wiped
                card(emulator)
                await until(pilot, lambda: type(app.screen).__name__ == "ThanksScreen")
                forgotten = app.visits_forgotten
                app.reset()
                await until(pilot, lambda f=forgotten: app.visits_forgotten > f)  # the visit's end, released
                after_first = after_first or rss_kib()
            queued = app.services.queue_status().depth
            print(json.dumps({"rss_kib": rss_kib(), "rss_after_first_kib": after_first, "queued": queued}))

    asyncio.run(run())


def child_keys(kind: str) -> None:
    """Median time from a key press to the frame that shows it (Pilot waits for the refresh): Tab moving
    the focus on the first screen, in both apps (the resident kiosk has no text field before a card)."""
    app = minimal_app() if kind == "minimal" else kiosk_app(Path(tempfile.mkdtemp()))

    async def run() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: len(app.screen_stack) > 1 and app.screen.query("Button"))
            samples = []
            for _ in range(KEYS):
                started = time.perf_counter()
                await pilot.press("tab")
                await pilot.pause()
                samples.append(time.perf_counter() - started)
            print(json.dumps({"key_ms": statistics.median(samples) * 1000}))

    asyncio.run(run())


def run_child(measure: str, kind: str) -> dict:
    started = time.time()
    result = subprocess.run(
        [sys.executable, __file__, "--child", measure, kind], capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"child {measure} {kind} failed:\n{result.stderr[-3000:]}")
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    if "ready_at" in answer:
        answer["start_s"] = answer["ready_at"] - started
    return answer


def main() -> None:
    starts = {
        kind: statistics.median(run_child("start", kind)["start_s"] for _ in range(STARTS))
        for kind in ("minimal", "kiosk")
    }
    from yoshin.devtools.demo import running_chain

    with tempfile.TemporaryDirectory() as workdir, running_chain(Path(workdir) / "chain") as chain:
        setup = Path(workdir) / "setup.json"
        setup.write_text(
            json.dumps(
                {
                    "data_dir": str(chain.appliance.data_dir),
                    "slot": chain.slot,
                    "port": chain.reader.port(0),
                    "pki": str(chain.workdir / "test-pki"),
                }
            )
        )
        visits = {"minimal": run_child("visits", "minimal"), "kiosk": run_child("visits", str(setup))}
    keys = {kind: run_child("keys", kind)["key_ms"] for kind in ("minimal", "kiosk")}
    print(
        json.dumps(
            {
                "benchmark": "kiosk",
                "cold_start_s": {k: round(v, 3) for k, v in starts.items()},
                "cold_start_ratio": round(starts["kiosk"] / starts["minimal"], 2),
                "rss_after_10_visits_mib": {k: round(v["rss_kib"] / 1024, 1) for k, v in visits.items()},
                "rss_ratio": round(visits["kiosk"]["rss_kib"] / visits["minimal"]["rss_kib"], 2),
                "kiosk_rss_growth_visits_2_to_10_mib": round(
                    (visits["kiosk"]["rss_kib"] - visits["kiosk"]["rss_after_first_kib"]) / 1024, 1
                ),
                "visits_queued": visits["kiosk"]["queued"],
                "key_to_render_ms": {k: round(v, 2) for k, v in keys.items()},
                "key_ratio": round(keys["kiosk"] / keys["minimal"], 2),
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        {"start": child_start, "visits": child_visits, "keys": child_keys}[sys.argv[2]](sys.argv[3])
    else:
        main()
