"""The demo: one visit end to end through every real part, and a clean start and stop."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from yoshin.device import provisioning
from yoshin.devtools.demo import (
    DEMO_PASSWORD,
    DEMO_STAFF,
    DEMO_TECHNICIAN,
    MUNICIPALITY,
    DemoKioskApp,
    run_visit,
    running_chain,
)
from yoshin.devtools.virtual_reader import VirtualReader
from yoshin.host import technicians
from yoshin.tui.screens.welcome import WelcomeScreen

pytestmark = pytest.mark.pcsc
DEMO = str(Path(sys.executable).parent / "yoshin-demo")


# The child has had three doses each of Hib and PCV, so both boosters are due; the demo takes the first due.
@pytest.mark.parametrize(("persona", "vaccines"), [("elderly", {"flu_elderly"}), ("child", {"hib", "pcv"})])
def test_check_runs_a_whole_visit(
    virtual_reader: VirtualReader, tmp_path: Path, persona: str, vaccines: set[str]
) -> None:
    result = subprocess.run(
        [DEMO, "--check", "--persona", persona, "--data-dir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    visit = json.loads(result.stdout.splitlines()[-1])
    assert visit["identity"]["status"] == "ok" and visit["vaccine"] in vaccines
    assert visit["vaccine"] == visit["identity"]["due"][0]
    assert visit["delivered"] == {"accepted": 3, "duplicate": 0, "rejected": 0}
    assert visit["queue_depth_after"] == 0


def test_the_demo_starts_and_stops_cleanly(virtual_reader: VirtualReader, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [DEMO, "--data-dir", str(tmp_path / "demo")],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Commands"):
            break
    text = "".join(lines)
    assert "SYNTHETIC" in text and "PIN 2580" in text
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True)
    assert children.returncode == 1  # no child survived


async def test_the_demo_kiosk_switches_cards_and_stops_with_ctrl_c(
    virtual_reader: VirtualReader, tmp_path: Path
) -> None:
    with running_chain(tmp_path / "demo", virtual_reader) as chain:
        chain.insert("elderly")
        chain.remove()  # as `yoshin-demo` starts its kiosk: an empty reader, the persona kept for F5
        app = DemoKioskApp(chain)
        async with app.run_test(size=(100, 34)) as pilot:
            assert isinstance(app.screen, WelcomeScreen)  # not the remove-card reminder
            assert "Card: out, F5 puts in elderly (Older adult" in app.card_line() and "PIN 2580" in app.card_line()

            async def until(condition) -> None:
                async with asyncio.timeout(30):
                    while not condition():
                        await pilot.pause(0.05)  # the card moves in a worker thread; the condition ends the wait

            await pilot.press("f6")
            await until(lambda: chain.persona is not None and chain.persona.id != "elderly")
            await pilot.press("f5")
            await until(lambda: chain.emulator is None)
            await pilot.press("f5")
            await until(lambda: chain.emulator is not None)
            await pilot.press("ctrl+c")
            await until(lambda: not app.is_running)


def test_the_demo_forwards_by_itself(virtual_reader: VirtualReader, tmp_path: Path) -> None:
    """The demo's appliance runs its forwarder as a real one does: a visit's records reach the host unprompted."""
    with running_chain(tmp_path / "demo", virtual_reader, forward=True) as chain:
        who = chain.insert("elderly")
        result = run_visit(chain, who.pins["face"], drain=False)
        assert result["delivered"] is None  # nothing sent from here
        db = chain.host.service.db
        deadline = time.monotonic() + 60
        while db.execute("SELECT count(*) FROM inbox").fetchone()[0] < 3 and time.monotonic() < deadline:
            time.sleep(0.1)  # the forwarder process polls every few seconds; its delivery ends this wait
        kinds = sorted(row[0] for row in db.execute("SELECT kind FROM inbox"))
        assert kinds == ["doctor_decision", "questionnaire_response", "vaccination_record"]


def test_the_demo_appliance_is_provisioned_by_its_technician_login(
    virtual_reader: VirtualReader, tmp_path: Path
) -> None:
    """T0001 is on the demo host's technician roster, provisions the appliance as yoshin-provision does (the
    host's audit names them), and can log in again from the enrolled appliance (decommissioning's proof)."""
    with running_chain(tmp_path / "demo", virtual_reader) as chain:
        service = chain.host.service
        assert [row["staff_id"] for row in technicians.roster(service.db, MUNICIPALITY)] == [DEMO_TECHNICIAN]
        actor, outcome = service.db.execute(
            "SELECT actor, outcome FROM audit WHERE action = 'device.enroll' ORDER BY seq DESC"
        ).fetchone()
        assert actor == DEMO_TECHNICIAN and f"technician {DEMO_TECHNICIAN}" in outcome
        checks = provisioning.self_test_checks(chain.appliance)
        assert all(check.ok for check in checks.values()), {item: check.english() for item, check in checks.items()}
        proof = provisioning.technician_login(chain.appliance, DEMO_TECHNICIAN, DEMO_PASSWORD)
        assert proof.staff_id == DEMO_TECHNICIAN and proof.municipality_code == MUNICIPALITY
        # every role the staff app offers can log in from the appliance: reception's clerk too (control 4)
        from yoshin.tui.services import ApplianceServices

        services = ApplianceServices(chain.appliance)
        roles = {services.attest(staff_id, DEMO_PASSWORD).member.role for staff_id, _, _ in DEMO_STAFF}
        assert roles == {"doctor", "nurse", "clerk", "technician"}
