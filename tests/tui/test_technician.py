"""The technician's screens through the real stack (host on loopback over TLS, the staff app under Pilot):
provisioning a fresh appliance data directory from the screen, and decommissioning from the screen, each
with a technician login the host checks against its roster (control 27). Screens in ja and en at 80×24,
compared with docs/kiosk/technician-*.svg (`pytest tests/tui/test_technician.py --update-snapshots`)."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_textual_snapshot import normalize_svg
from textual.geometry import Region
from textual.widgets import Button

from yoshin.device.appliance import Appliance
from yoshin.host import devices
from yoshin.tui.screens.staff_login import StaffLoginScreen
from yoshin.tui.screens.technician import TechnicianScreen
from yoshin.tui.screens.technician_provision import ProvisionScreen
from yoshin.tui.services import ApplianceServices
from yoshin.tui.staff_app import StaffApp

pytestmark = pytest.mark.pcsc
SIZE = (80, 24)
PASSWORD = "correct-horse-battery"  # tests/tui/conftest.py's staff_accounts


async def shoot(pilot, app, drive, name: str, snapshots) -> None:
    await drive.until(pilot, lambda: not app.screen.query(".-active"), app)  # no press effect
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    visible = Region(0, 0, *SIZE)
    for button in app.screen.query(Button):
        if button.display and button.region and button.parent.display:  # every button shown fits in 80×24
            assert visible.contains_region(button.region), f"{name}: {button.id} is off screen"
    snapshots.check(name, normalize_svg(app.export_screenshot(title="yoshin staff")))


def shown(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def files(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()] if directory.exists() else []


def audit(host, action: str) -> list[tuple[str, str, str]]:
    rows = host.service.db.execute("SELECT actor, target, outcome FROM audit WHERE action = ? ORDER BY seq", [action])
    return [(row[0], row[1], row[2]) for row in rows]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the probe is closed


async def fill(pilot, app, **values: str) -> None:
    for name, value in values.items():
        app.screen.query_one(f"#{name}").value = value
    await pilot.pause()


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_the_technician_screen_provisions_a_fresh_appliance(
    host, staff_accounts, virtual_reader, clock, drive, tmp_path: Path, lang: str, snapshots
) -> None:
    service = host.service
    appliance = Appliance(tmp_path / "fresh", clock=clock)
    app = StaffApp(ApplianceServices(appliance, virtual_reader.slot_name(0), clock), clock=clock)
    address = f"127.0.0.1:{host.port}:{host.enroll_port}"
    async with app.run_test(size=SIZE) as pilot:
        await drive.until(pilot, lambda: isinstance(app.screen, ProvisionScreen), app)  # not the staff login
        await shoot(pilot, app, drive, f"technician-{lang}-01-provision-login", snapshots)
        # a wrong fingerprint, an unreachable host, a wrong password: said in words, nothing written
        login = {"host": address, "fingerprint": "ab" * 32, "municipality": "141305", "technician": "T0001"}
        await fill(pilot, app, **login, password=PASSWORD)
        await drive.click(pilot, app, f"#login-{lang}")
        await drive.until(pilot, lambda: "指紋と一致しません" in shown(app, "#error"), app)
        assert "does not match the fingerprint" in shown(app, "#error")
        await fill(pilot, app, host=f"127.0.0.1:{closed_port()}", fingerprint=service.pki.ca_fingerprint)
        await fill(pilot, app, password=PASSWORD)
        await drive.click(pilot, app, f"#login-{lang}")
        await drive.until(pilot, lambda: "接続できません" in shown(app, "#error"), app)
        assert "cannot be reached" in shown(app, "#error") and "Errno" not in shown(app, "#error")
        await fill(pilot, app, host=address, password="not-the-password")
        await drive.click(pilot, app, f"#login-{lang}")
        await drive.until(pilot, lambda: "パスワードが違います" in shown(app, "#error"), app)
        assert not files(appliance.data_dir)
        # the technician logs in: the enrollment step, in the language of the button pressed
        await fill(pilot, app, password=PASSWORD)
        await drive.click(pilot, app, f"#login-{lang}")
        await drive.until(pilot, lambda: app.screen.query_one("#enroll-step").display, app)
        assert app.screen.query_one("#password").value == ""  # not kept on screen
        await shoot(pilot, app, drive, f"technician-{lang}-02-provision-enroll", snapshots)
        expired = devices.issue_token(service.db, "141305", "1410000001", "admin01", service.clock(), hours=1)
        await fill(pilot, app, token=expired, clinic="1410000001", serial="FRESH1", place="みなと診療所")
        clock.now += timedelta(hours=2)  # the token's hour is over (the technician's proof lasts the day)
        await drive.click(pilot, app, "#provision")
        word = {"ja": "登録用トークンが無効です", "en": "the enrollment token is expired"}[lang]
        await drive.until(pilot, lambda: word in shown(app, "#error"), app)
        assert not files(appliance.data_dir)  # the keys made for the refused enrollment are gone
        token = devices.issue_token(service.db, "141305", "1410000001", "admin01", service.clock())
        await fill(pilot, app, token=token)
        await drive.click(pilot, app, "#provision")
        done = {"ja": "設置しました: 141305-1410000001-FRESH1", "en": "Provisioned: 141305-1410000001-FRESH1"}[lang]
        await drive.until(pilot, lambda: done in shown(app, "#error"), app)
        assert ("✔ ホスト: 正常" if lang == "ja" else "✔ host: ok") in shown(app, "#error")
        assert ("✔ 予診票テンプレート: 正常" if lang == "ja" else "✔ templates: ok") in shown(app, "#error")
        await shoot(pilot, app, drive, f"technician-{lang}-03-provisioned", snapshots)
        await drive.click(pilot, app, "#to-login")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffLoginScreen), app)
    assert appliance.keystore.identity()["device_id"] == "141305-1410000001-FRESH1"
    assert appliance.place() == "みなと診療所" and (appliance.data_dir / "templates.json").exists()
    actor, target, outcome = audit(host, "device.enroll")[-1]
    assert (actor, target) == ("T0001", "141305-1410000001-FRESH1") and "technician T0001" in outcome
    assert not snapshots.mismatches, snapshots.failure()


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_the_technician_screen_decommissions_with_the_technicians_login(
    host, make_device, staff_accounts, virtual_reader, clock, drive, lang: str, snapshots
) -> None:
    device = make_device()
    appliance = device.appliance
    app = StaffApp(ApplianceServices(appliance, virtual_reader.slot_name(0), clock), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await drive.until(pilot, lambda: isinstance(app.screen, StaffLoginScreen), app)
        await fill(pilot, app, staff_id="T0001", password=PASSWORD)
        await drive.click(pilot, app, f"#login-{lang}")
        await drive.until(pilot, lambda: isinstance(app.screen, TechnicianScreen), app)
        await drive.until(pilot, lambda: "yoshin" in shown(app, "#status"), app)  # laid out: the buttons stay
        await drive.click(pilot, app, "#decommission")
        await drive.until(pilot, lambda: app.screen.query_one("#confirm").display, app)
        await shoot(pilot, app, drive, f"technician-{lang}-04-decommission", snapshots)
        assert appliance.keystore.is_enrolled()  # asking erases nothing
        await drive.click(pilot, app, "#decommission-go")
        await drive.until(pilot, lambda: app.screen.query_one("#erased").display, app)
        word = {"ja": "廃棄しました", "en": "Decommissioned"}[lang]
        assert word in shown(app, "#result") and device.device_id in shown(app, "#result")
        await drive.click(pilot, app, "#to-start")
        await drive.until(pilot, lambda: isinstance(app.screen, ProvisionScreen), app)  # a fresh appliance again
    assert not files(appliance.data_dir)
    assert devices.get(host.service.db, device.device_id).status == "decommissioned"
    actor, target, outcome = audit(host, "device.decommissioned")[-1]
    assert (actor, target) == ("T0001", device.device_id) and "technician T0001" in outcome
    assert not snapshots.mismatches, snapshots.failure()


async def test_a_nurse_cannot_decommission_from_the_technician_screen(
    host, make_device, staff_accounts, virtual_reader, clock, drive
) -> None:
    """The host checks the proof, not the screen: a nurse's session attestation is refused, nothing erased."""
    device = make_device()
    app = StaffApp(ApplianceServices(device.appliance, virtual_reader.slot_name(0), clock), clock=clock)
    async with app.run_test(size=(100, 40)) as pilot:
        await drive.until(pilot, lambda: isinstance(app.screen, StaffLoginScreen), app)
        await fill(pilot, app, staff_id="N0001", password=PASSWORD)
        await drive.click(pilot, app, "#login-ja")
        await drive.until(pilot, lambda: app.staff is not None, app)
        screen = TechnicianScreen()
        await app.push_screen(screen)  # as if the screen were reached: the host still refuses
        await drive.until(pilot, lambda: "yoshin" in shown(app, "#status"), app)
        await drive.click(pilot, app, "#decommission")
        await drive.click(pilot, app, "#decommission-go")
        await drive.until(pilot, lambda: "技術担当者としてのログインが必要です" in shown(app, "#result"), app)
    assert device.appliance.keystore.is_enrolled()
    assert devices.get(host.service.db, device.device_id).status == "active"
    assert audit(host, "device.decommission")[-1][2].startswith("refused: ")
