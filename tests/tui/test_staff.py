"""Staff and technician modes on the kiosk: login at the host, the day's pending visits, the doctor's
decision, the vaccination entry from a scanned GS1 barcode (serial scanner on a pty), the second-person
check, and the records delivered to the host. Real pcscd, real host, real outbox."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization

from yoshin.device.forwarder import Forwarder
from yoshin.device.gs1 import GS
from yoshin.device.scanner import Scanner
from yoshin.domain.catalogue import default_catalogue
from yoshin.host import staff
from yoshin.tui.app import KioskApp
from yoshin.tui.screens.remove_card import RemoveCardScreen
from yoshin.tui.screens.staff_home import StaffHomeScreen
from yoshin.tui.screens.staff_login import StaffLoginScreen
from yoshin.tui.screens.staff_vaccination import SecondCheckScreen, VaccinationEntryScreen
from yoshin.tui.screens.staff_visit import StaffVisitScreen
from yoshin.tui.screens.technician import TechnicianScreen
from yoshin.tui.screens.thanks import ThanksScreen
from yoshin.tui.screens.welcome import WelcomeScreen

pytestmark = pytest.mark.pcsc
PASSWORD = "correct-horse-battery"


def pack(gtin: str, expiry: str, lot: str) -> bytes:
    """A GS1 DataMatrix scan as the scanner sends it: AIM prefix, (01)(17)(10) GS (21), CR LF."""
    return f"]d201{gtin}17{expiry}10{lot}{GS}21SN0001\r\n".encode()


async def resident_visit(pilot, app: KioskApp, card, drive, persona: str = "elderly") -> None:
    emulator = card(persona)
    await drive.start_visit(pilot, app, "ja")
    await drive.type_pin(pilot, app, "2580")
    await drive.until(pilot, lambda: app.screen.query("#yes"), app)
    await pilot.click("#yes")
    await pilot.pause()
    await pilot.click(app.screen.query("Button.primary").first())
    await drive.answer_all(pilot, app, yes={"read_leaflet", "wants_vaccination", "guardian_consent"})
    await pilot.click("#submit")
    await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
    card.remove(emulator)
    await drive.until(pilot, lambda: isinstance(app.screen, ThanksScreen), app)
    app.reset()


async def login(
    pilot, app: KioskApp, drive, staff_id: str, password: str = PASSWORD, button: str = "#login-ja"
) -> None:
    await pilot.pause()
    await pilot.click("#staff")
    await drive.until(pilot, lambda: isinstance(app.screen, StaffLoginScreen), app)
    app.screen.query_one("#staff_id").value = staff_id
    app.screen.query_one("#password").value = password
    await pilot.click(button)


async def test_staff_record_a_vaccination_from_a_scanned_pack(kiosk, card, drive, host, staff_accounts, cable) -> None:
    scanner = Scanner(port=str(cable.port))
    assert scanner.connect()
    app = kiosk(scanner=scanner)
    product = default_catalogue().products_for("flu_elderly", host.service.today())[0]
    async with app.run_test(size=(100, 40)) as pilot:
        await resident_visit(pilot, app, card, drive)

        await login(pilot, app, drive, "D0001", "wrong-password-here")
        await drive.until(pilot, lambda: "パスワード" in str(app.screen.query_one("#error").render()), app)
        app.screen.query_one("#password").value = PASSWORD
        await drive.click(pilot, app, "#login-ja")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        assert app.current_mode == "staff" and not app.visit.has_personal_data()
        await drive.until(pilot, lambda: "送信待ち 1件" in str(app.screen.query_one("#queue").render()), app)
        visits = list(app.screen.query("#visits Button"))
        assert len(visits) == 1 and "多摩 一郎" in str(visits[0].label)

        await pilot.click(f"#{visits[0].id}")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffVisitScreen), app)
        await pilot.click("#proceed")  # without confirming the explanation: refused
        assert "説明" in str(app.screen.query_one("#error").render())
        app.screen.query_one("#explained").value = True
        await drive.click(pilot, app, "#proceed")
        await drive.until(pilot, lambda: isinstance(app.screen, VaccinationEntryScreen), app)

        cable.feed.write(pack(product.gtin, "261001", "OLD01"))  # expired on 2026-10-01
        cable.feed.flush()
        await drive.until(pilot, lambda: "有効期限が切れた" in str(app.screen.query_one("#error").render()), app)
        await pilot.click("#s-left_upper_arm")
        await pilot.click("#next")
        assert isinstance(app.screen, VaccinationEntryScreen)  # an expired lot is refused

        cable.feed.write(pack(product.gtin, "270630", "FLU26A01"))
        cable.feed.flush()
        await drive.until(pilot, lambda: app.screen.query_one("#lot").value == "FLU26A01", app)
        assert app.screen.query_one("#expiry").value == "2027-06-30"
        await drive.click(pilot, app, "#next")
        await drive.until(pilot, lambda: isinstance(app.screen, SecondCheckScreen), app)

        app.screen.query_one("#checker").value = "D0001"  # the same person cannot check
        app.screen.query_one("#password").value = PASSWORD
        await pilot.click("#confirm")
        assert "別の職員" in str(app.screen.query_one("#error").render())
        app.screen.query_one("#checker").value = "N0002"
        app.screen.query_one("#password").value = PASSWORD
        await drive.click(pilot, app, "#confirm")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        await drive.until(pilot, lambda: not app.screen.query("#visits Button"), app)

        await pilot.click("#logout")
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)
        assert app.current_mode == "resident" and app.staff is None

    appliance = app.services.appliance
    outbox = appliance.outbox()
    try:
        assert sum(r.accepted for r in Forwarder(outbox, appliance.client()).drain()) == 3
    finally:
        outbox.close()
    rows = host.service.db.execute("SELECT kind, body FROM inbox ORDER BY received_at, kind").fetchall()
    bodies = {kind: json.loads(body) for kind, body in rows}
    assert set(bodies) == {"questionnaire_response", "doctor_decision", "vaccination_record"}
    vaccination = bodies["vaccination_record"]
    assert vaccination["lot_number"] == "FLU26A01" and vaccination["gtin"] == product.gtin
    assert (vaccination["entered_by"], vaccination["checked_by"], vaccination["doctor_id"]) == (
        "D0001",
        "N0002",
        "D0001",
    )
    assert bodies["doctor_decision"]["questionnaire_record_id"] == bodies["questionnaire_response"]["record_id"]
    assert vaccination["subject_id"] == "S000102"


async def test_a_nurse_cannot_decide_and_staff_are_logged_out_when_idle(
    kiosk, card, drive, host, staff_accounts, clock
) -> None:
    from datetime import timedelta

    app = kiosk()
    async with app.run_test(size=(100, 40)) as pilot:
        await resident_visit(pilot, app, card, drive)
        await login(pilot, app, drive, "N0001", button="#login-en")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        await pilot.click(app.screen.query("#visits Button").first())
        await drive.until(pilot, lambda: isinstance(app.screen, StaffVisitScreen), app)
        assert "doctor must be logged in" in str(app.screen.query_one("#doctor-only").render())
        assert not app.screen.query("#proceed")
        clock.now += timedelta(seconds=app.staff_idle_timeout + 1)
        app.check_inactivity()
        await drive.until(pilot, lambda: isinstance(app.screen, WelcomeScreen), app)
        assert app.staff is None and "staff" not in app._modes


async def test_technician_sees_status_and_runs_the_self_test(kiosk, drive, host, staff_accounts) -> None:
    app = kiosk()
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "T0001", button="#login-en")
        await drive.until(pilot, lambda: isinstance(app.screen, TechnicianScreen), app)
        await drive.until(pilot, lambda: "certificate until" in str(app.screen.query_one("#status").render()), app)
        status = str(app.screen.query_one("#status").render())
        assert "Virtual PCD" in status and "queue: 0 queued" in status and "app: yoshin" in status
        await pilot.click("#self-test")
        await drive.until(pilot, lambda: "host: ok" in str(app.screen.query_one("#result").render()), app)
        assert "templates:" in str(app.screen.query_one("#result").render())


async def test_a_registered_staff_card_is_a_required_second_factor(
    kiosk, card, drive, host, staff_accounts, test_pki
) -> None:
    _, certificate = test_pki.auth_credentials("adult")  # the certificate on the "adult" card
    der = certificate.public_bytes(serialization.Encoding.DER)
    staff.register_card(host.service.db, "N0001", der, "admin01", host.service.clock())
    app = kiosk()
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "N0001", button="#login-en")  # password alone: refused
        await drive.until(pilot, lambda: "registered card" in str(app.screen.query_one("#error").render()), app)
        card("adult")  # the nurse's own card on the reader, and its auth PIN
        app.screen.query_one("#password").value = PASSWORD
        app.screen.query_one("#card_pin").value = "1234"
        await drive.click(pilot, app, "#login-en")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
