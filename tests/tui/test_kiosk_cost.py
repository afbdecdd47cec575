"""The kiosk's cold start loads only what its first screen needs (benchmarks/bench_kiosk.py measures the
time; this checks the cause): no cryptography, outbox, host client, rules engine, visit layer, BudouX or
GS1 parser until a resident starts a visit; and on the appliance agent, a whole visit loads no
cryptography, SQLite, key store, outbox or host client in the kiosk's process (its memory)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from yoshin.device.agent import SOCKET_NAME, AgentServer, LocalCore

# Loaded later, by the screen or the call that needs them.
LATER = ("cryptography", "budoux", "biip", "serial", "sqlite_utils", "yoshin.device.outbox",
         "yoshin.device.hostclient", "yoshin.device.keystore", "yoshin.device.visit", "yoshin.domain.series",
         "yoshin.domain.templates", "yoshin.domain.catalogue", "yoshin.tui.plan", "yoshin.tui.staff_view")  # fmt: skip

FIRST_SCREEN = textwrap.dedent("""
    import asyncio, json, sys, tempfile
    from pathlib import Path
    from yoshin.device.appliance import Appliance
    from yoshin.tui.app import KioskApp
    from yoshin.tui.screens.welcome import WelcomeScreen
    from yoshin.tui.services import ApplianceServices

    app = KioskApp(ApplianceServices(Appliance(Path(tempfile.mkdtemp())), sys.argv[1]))

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(500):
                if isinstance(app.screen, WelcomeScreen) and app.screen.query("Button"):
                    break
                await pilot.pause(0.01)
            print(json.dumps({"welcome": isinstance(app.screen, WelcomeScreen), "modules": sorted(sys.modules)}))

    asyncio.run(main())
""")


def loaded_at_the_first_screen(reader: str) -> tuple[bool, list[str]]:
    """In a fresh interpreter on the run's pcscd (its socket is in the environment), as the appliance starts."""
    command = [sys.executable, "-c", FIRST_SCREEN, reader]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return answer["welcome"], answer["modules"]


def test_the_first_screen_loads_none_of_the_visit_s_modules(virtual_reader) -> None:
    welcome, modules = loaded_at_the_first_screen(virtual_reader.slot_name(0))
    assert welcome
    early = [name for name in modules if any(name == lazy or name.startswith(lazy + ".") for lazy in LATER)]
    assert early == [], early
    assert "textual.app" in modules  # the check sees what is loaded


# Never in the resident kiosk's process, a whole visit included: the appliance agent holds them
# (device/agent.py; docs/ARCHITECTURE.md, "The appliance agent").
AGENT_ONLY = ("cryptography", "sqlite3", "_sqlite3", "sqlite_utils", "yoshin.device.hostclient",
              "yoshin.device.keystore", "yoshin.device.outbox", "yoshin.device.pending",
              "yoshin.protocol.sealing", "yoshin.device.staff_calls")  # fmt: skip

ONE_VISIT = textwrap.dedent("""
    import asyncio, json, sys
    from pathlib import Path
    from yoshin.device.agent import AgentClient
    from yoshin.device.appliance import Appliance
    from yoshin.tui.app import KioskApp
    from yoshin.tui.screens.questionnaire import QuestionnaireScreen
    from yoshin.tui.services import ApplianceServices

    reader, socket_path, data_dir = sys.argv[1:4]
    app = KioskApp(ApplianceServices(Appliance(Path(data_dir)), reader, agent=AgentClient(Path(socket_path))))

    async def main():
        async with app.run_test(size=(100, 32)) as pilot:
            async def until(condition):
                for _ in range(3000):  # bounded: 30 s of Pilot pauses
                    await pilot.pause(0.01)
                    if condition():
                        return
                raise TimeoutError(repr(app.screen))

            async def click(selector):
                await until(lambda: any(widget.region for widget in app.screen.query(selector)))
                await pilot.click(selector)

            await click("#ja")
            await click("#agree")
            await until(lambda: app.screen.query("#tries") and str(app.screen.query_one("#tries").render()))
            await pilot.press(*"2580", "enter")
            await click("#yes")
            await click("#v-flu_elderly-1")
            await click("#vaccines-next")
            while True:
                await until(lambda: isinstance(app.screen, QuestionnaireScreen) or app.screen.query("#submit"))
                if not isinstance(app.screen, QuestionnaireScreen):
                    break
                question, _, _ = app.screen.current()
                if question.type == "number":
                    app.screen.query_one("#value").value = "36.5"
                    await click("#value-next")
                elif question.type == "single_choice":
                    await click(f"#c-{question.choices[0].value}")
                else:
                    await click("#a-yes" if question.id in ("read_leaflet", "wants_vaccination") else "#a-no")
            await click("#submit")
            await until(lambda: type(app.screen).__name__ == "RemoveCardScreen")
            print(json.dumps({"modules": sorted(sys.modules)}))
            app.exit()

    asyncio.run(main())
""")


def test_a_whole_visit_loads_none_of_the_agent_s_modules_in_the_kiosk(virtual_reader, make_device, card, host) -> None:
    """The kiosk in a fresh interpreter, against the appliance agent, through one visit to its sealed record:
    nothing of the keys, the queue or the host client is ever loaded in its process."""
    device = make_device()
    path = Path(tempfile.mkdtemp(prefix="yoshin-agent-")) / SOCKET_NAME
    server = AgentServer(LocalCore(device.appliance), path).start()
    emulator = card("elderly")
    try:
        command = [
            sys.executable,
            "-c",
            ONE_VISIT,
            virtual_reader.slot_name(0),
            str(path),
            str(device.appliance.data_dir),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    finally:
        server.close()
        card.remove(emulator)
    assert result.returncode == 0, result.stderr[-3000:]
    modules = json.loads(result.stdout.strip().splitlines()[-1])["modules"]
    loaded = [name for name in modules if any(name == lazy or name.startswith(lazy + ".") for lazy in AGENT_ONLY)]
    assert loaded == [], loaded
    assert "yoshin.device.visit" in modules and "yoshin.smartcard.card" in modules  # the visit did run here
    queued = device.appliance.outbox()
    try:
        assert queued.status().depth == 1  # the visit's questionnaire, sealed by the agent (online: no claim)
    finally:
        queued.close()
