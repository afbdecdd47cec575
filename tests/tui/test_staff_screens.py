"""Every staff app screen in Japanese and English at 80×24, compared with the SVGs in docs/kiosk/staff-*
(which docs/kiosk.md shows). The flow is the real one: a resident's visit on the resident kiosk (card in
pcscd, host on loopback, clock injected), then the staff app on the same appliance.

After an intended change of a screen: `pytest tests/tui/test_staff_screens.py --update-snapshots` (refused
unless Textual is the baselines' version, tests/tui/conftest.py), then look at the SVGs before committing them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from pytest_textual_snapshot import normalize_svg
from textual.geometry import Region
from textual.widgets import Button

from yoshin.device.staff_calls import StaffCalls
from yoshin.tui.screens.remove_card import RemoveCardScreen
from yoshin.tui.screens.staff_home import StaffHomeScreen
from yoshin.tui.screens.staff_login import StaffLockScreen, StaffLoginScreen
from yoshin.tui.screens.staff_reception import ReceptionScreen
from yoshin.tui.screens.staff_vaccination import SecondCheckScreen, VaccinationEntryScreen
from yoshin.tui.screens.staff_visit import StaffVisitScreen
from yoshin.tui.screens.technician import TechnicianScreen
from yoshin.tui.screens.thanks import ThanksScreen
from yoshin.tui.services import ApplianceServices
from yoshin.tui.staff_app import StaffApp

pytestmark = pytest.mark.pcsc
SIZE = (80, 24)
PASSWORD = "correct-horse-battery"


async def shoot(pilot, app, drive, name: str, screen_type: type, snapshots) -> None:
    await drive.until(pilot, lambda: isinstance(app.screen, screen_type), app)
    await drive.until(pilot, lambda: not app.screen.query(".-active"), app)  # no press effect
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    visible = Region(0, 0, *SIZE)
    for button in app.screen.query(Button):
        if button.display and button.region:  # every button of the screen fits in 80×24
            assert visible.contains_region(button.region), f"{name}: {button.id} is off screen"
    svg = normalize_svg(app.export_screenshot(title="yoshin staff"))
    snapshots.check(name, svg)


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_every_staff_screen_matches_its_screenshot(
    kiosk, card, drive, host, staff_accounts, virtual_reader, clock, lang: str, snapshots
) -> None:
    resident = kiosk()
    async with resident.run_test(size=(100, 40)) as pilot:  # a feverish resident, answered on the kiosk
        emulator = card("elderly")
        await drive.start_visit(pilot, resident, "ja")
        await drive.type_pin(pilot, resident, "2580")
        await drive.until(pilot, lambda: resident.screen.query("#yes"), resident)
        await pilot.click("#yes")
        await pilot.pause()
        await pilot.click("#v-flu_elderly-1")
        yes = {"read_leaflet", "wants_vaccination", "unwell_today"}
        await drive.answer_all(pilot, resident, yes=yes, temperature="37.6")
        await pilot.click("#submit")
        await drive.until(pilot, lambda: isinstance(resident.screen, RemoveCardScreen), resident)
        card.remove(emulator)
        await drive.until(pilot, lambda: isinstance(resident.screen, ThanksScreen), resident)
    appliance = resident.services.appliance
    StaffCalls(appliance.data_dir).raise_call("questionnaire", clock())
    app = StaffApp(ApplianceServices(appliance, virtual_reader.slot_name(0), clock), clock=clock, refresh_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        await shoot(pilot, app, drive, f"staff-{lang}-01-login", StaffLoginScreen, snapshots)
        app.screen.query_one("#staff_id").value = "D0001"
        app.screen.query_one("#password").value = PASSWORD
        await drive.click(pilot, app, f"#login-{lang}")
        await drive.until(pilot, lambda: app.screen.query("#visits Button"), app)
        await shoot(pilot, app, drive, f"staff-{lang}-02-home", StaffHomeScreen, snapshots)
        await drive.click(pilot, app, "#reception")  # control 4: a proxy with a licence and a 委任状
        await drive.until(pilot, lambda: isinstance(app.screen, ReceptionScreen), app)
        for choice in ("#who-proxy", "#doc-drivers_license", "#doc-power_of_attorney", "#confirm"):
            await drive.click(pilot, app, choice)
        await drive.until(pilot, lambda: app.screen.query("#slots Button"), app)
        await drive.click(pilot, app, "#who-proxy")  # the next person's choices, shown selected
        await shoot(pilot, app, drive, f"staff-{lang}-08-reception", ReceptionScreen, snapshots)
        await drive.click(pilot, app, "#back")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        await pilot.click(app.screen.query("#visits Button").first())
        await shoot(pilot, app, drive, f"staff-{lang}-03-visit", StaffVisitScreen, snapshots)
        app.screen.query_one("#override").value = "本日は問題なし" if lang == "ja" else "fine today"
        await pilot.click("#explained")
        await drive.click(pilot, app, "#proceed")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        await drive.until(pilot, lambda: app.screen.query("#visits Button"), app)
        await drive.click(pilot, app, "#visits Button")
        await drive.until(pilot, lambda: isinstance(app.screen, VaccinationEntryScreen), app)
        product = app.screen.products()[0]
        await pilot.click(f"#p-{product.gtin}")
        app.screen.query_one("#lot").value = "FLU26A01"
        app.screen.query_one("#expiry").value = "2027/06/30"
        await pilot.click("#s-left_upper_arm")
        await shoot(pilot, app, drive, f"staff-{lang}-04-entry", VaccinationEntryScreen, snapshots)
        await drive.click(pilot, app, "#next")
        await shoot(pilot, app, drive, f"staff-{lang}-05-second-check", SecondCheckScreen, snapshots)
        clock.now += timedelta(seconds=app.idle_timeout + 1)
        app.check_inactivity()
        await shoot(pilot, app, drive, f"staff-{lang}-06-locked", StaffLockScreen, snapshots)
        await drive.click(pilot, app, "#another")

        await drive.until(pilot, lambda: isinstance(app.screen, StaffLoginScreen), app)
        app.screen.query_one("#staff_id").value = "T0001"
        app.screen.query_one("#password").value = PASSWORD
        await drive.click(pilot, app, f"#login-{lang}")
        await drive.until(pilot, lambda: "yoshin" in str(app.screen.query("#status").first().render()), app)
        await shoot(pilot, app, drive, f"staff-{lang}-07-technician", TechnicianScreen, snapshots)
    assert not snapshots.mismatches, snapshots.failure()
