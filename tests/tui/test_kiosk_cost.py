"""The kiosk's cold start loads only what its first screen needs (benchmarks/bench_kiosk.py measures the
time; this checks the cause): no cryptography, outbox, host client, rules engine, visit layer, BudouX or
GS1 parser until a resident starts a visit."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

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
