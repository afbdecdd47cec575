"""The kiosk against a minimal Textual app in the same run: cold start to the first interactive screen,
resident set size after ten visits, and key-press-to-render latency.

Each measure runs in a fresh child process of this script (`--child NAME`), so imports, start-up and
memory are each process's own. The ten visits are real: the card emulator in an isolated pcscd, a host
on loopback, the sealed outbox (needs `make setup` and no other pcscd). The emulated card runs in a process
of its own, as a real card is not part of the kiosk. The kiosk's visits run against the appliance agent
(`yoshin-device serve`, the agent and the forwarder in one process), then, on the same appliance, in the
previous layout (keys, queue and host client in the kiosk's process, `yoshin-device forward` beside it), so
the appliance's total is compared as well as the kiosk's own memory. Prints one JSON object.
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
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from yoshin.device.appliance import Appliance

STARTS = 5
VISITS = int(os.environ.get("YOSHIN_BENCH_VISITS", "10"))
KEYS = 200
DRAIN_TIMEOUT = 120.0  # seconds for a forwarder to send what the visits sealed (it polls every 5 s)
# What the appliance agent holds for the kiosk: none of it should be loaded in the kiosk's process.
AGENT_ONLY = ("cryptography", "sqlite3", "yoshin.device.hostclient", "yoshin.device.keystore",
              "yoshin.device.outbox", "yoshin.device.pending", "yoshin.protocol.sealing")  # fmt: skip


def rss_kib(pid: int | None = None) -> int:
    """VmRSS of this process, or of process `pid`."""
    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def loaded(names: tuple[str, ...]) -> list[str]:
    """Those of `names` this process has imported (a package counts when any of its modules is)."""
    return [name for name in names if any(module == name or module.startswith(name + ".") for module in sys.modules)]


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


def kiosk_app(data_dir: Path, reader: str | None = None, agent: Path | None = None):
    """The resident kiosk; with `agent` (a socket), the keys, queue and host client are the agent's."""
    from yoshin.device.appliance import Appliance
    from yoshin.tui.app import KioskApp
    from yoshin.tui.services import ApplianceServices

    if agent is None:
        return KioskApp(ApplianceServices(Appliance(data_dir), reader))
    from yoshin.device.agent import AgentClient

    return KioskApp(ApplianceServices(Appliance(data_dir), reader, agent=AgentClient(agent)))


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

    # The host, pcscd, the appliance's enrollment and its agent belong to the parent; this process is the
    # kiosk, as on an appliance. The card is `yoshin.devtools.card_emulator` in a process of its own: put on
    # the reader by starting it, taken off by SIGINT (it disconnects from vpcd and exits).
    setup = json.loads(Path(kind).read_text())
    agent = None if setup["agent"] is None else Path(setup["agent"])
    app = kiosk_app(Path(setup["data_dir"]), setup["slot"], agent)
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
            rss, modules = rss_kib(), loaded(AGENT_ONLY)
            # read first: `services.queue_status()` would import the outbox for its dataclass; the core's
            # answer is a dict (over the socket with the agent)
            queued = app.services.core.queue_status()["depth"]
            answer = {"rss_kib": rss, "rss_after_first_kib": after_first, "queued": queued, "modules": modules}
            print(json.dumps(answer))

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


def drained(appliance: Appliance) -> None:
    """Wait until a forwarder has sent everything the visits sealed, so both daemons are measured after the
    same work (the host accepts every record: a dead letter fails the run)."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while True:
        with closing(appliance.outbox()) as outbox:
            status = outbox.status()
        if status.dead_letters:
            raise RuntimeError(f"dead letters: {status.dead_letter_reasons}")
        if status.depth == 0:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{status.depth} records still queued after {DRAIN_TIMEOUT:.0f} s")
        time.sleep(0.5)


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


def main() -> None:
    starts = {
        kind: statistics.median(run_child("start", kind)["start_s"] for _ in range(STARTS))
        for kind in ("minimal", "kiosk")
    }
    from yoshin.device.agent import SOCKET_NAME
    from yoshin.devtools.demo import appliance_agent, child_process, running_chain, tool

    with tempfile.TemporaryDirectory() as workdir, running_chain(Path(workdir) / "chain") as chain:
        data_dir = chain.appliance.data_dir

        def setup(name: str, agent: Path | None) -> str:
            path = Path(workdir) / f"{name}.json"
            answer = {"data_dir": str(data_dir), "slot": chain.slot, "port": chain.reader.port(0)}
            answer |= {"pki": str(chain.workdir / "test-pki"), "agent": None if agent is None else str(agent)}
            path.write_text(json.dumps(answer))
            return str(path)

        visits: dict[str, dict[str, Any]] = {"minimal": run_child("visits", "minimal")}
        # Now: the kiosk asks the agent, which runs with the forwarder in one process.
        with appliance_agent(data_dir) as serve:
            visits["kiosk"] = run_child("visits", setup("agent", data_dir / SOCKET_NAME))
            drained(chain.appliance)
            agent_kib = rss_kib(serve.pid)
        # Before: keys, queue and host client in the kiosk's process, the forwarder beside it (one at a time).
        visits["in_process"] = run_child("visits", setup("in-process", None))
        with child_process([tool("yoshin-device"), "forward", "--data-dir", str(data_dir)]) as forward:
            drained(chain.appliance)
            forwarder_kib = rss_kib(forward.pid)
    keys = {kind: run_child("keys", kind)["key_ms"] for kind in ("minimal", "kiosk")}
    total = {
        "before": visits["in_process"]["rss_kib"] + forwarder_kib,
        "after": visits["kiosk"]["rss_kib"] + agent_kib,
    }
    print(
        json.dumps(
            {
                "benchmark": "kiosk",
                "cold_start_s": {k: round(v, 3) for k, v in starts.items()},
                "cold_start_ratio": round(starts["kiosk"] / starts["minimal"], 2),
                "rss_after_10_visits_mib": {k: mib(visits[k]["rss_kib"]) for k in ("minimal", "kiosk")},
                "rss_ratio": round(visits["kiosk"]["rss_kib"] / visits["minimal"]["rss_kib"], 2),
                "kiosk_rss_growth_visits_2_to_10_mib": mib(
                    visits["kiosk"]["rss_kib"] - visits["kiosk"]["rss_after_first_kib"]
                ),
                "kiosk_modules_loaded": visits["kiosk"]["modules"],
                "kiosk_in_process_mib": mib(visits["in_process"]["rss_kib"]),
                "kiosk_in_process_modules_loaded": visits["in_process"]["modules"],
                "agent_mib": mib(agent_kib),
                "forwarder_mib": mib(forwarder_kib),
                "appliance_total_mib": {k: mib(v) for k, v in total.items()},
                "appliance_total_ratio": round(total["after"] / total["before"], 2),
                # queued at the visits' end: the agent forwards while they run, the in-process kiosk does not
                "visits_queued": {k: visits[k]["queued"] for k in ("kiosk", "in_process")},
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
