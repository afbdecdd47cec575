"""The staff app (yoshin-kiosk --staff) beside the resident kiosk on one appliance: login at the host, the
day's visits in three lists with their signals, the doctor's decision, the vaccination entry from a
scanned GS1 barcode (serial scanner on a pty), the second person's check without logging anyone out, the
idle lock that keeps what was typed, staff calls, the technician's screen, and the records delivered to
the host. Real pcscd, real host over mutual TLS, real outbox and pending store."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from datetime import timedelta

import pytest

from yoshin.device.gs1 import GS
from yoshin.device.hostclient import HostAddress
from yoshin.device.scanner import Scanner
from yoshin.device.staff_calls import StaffCalls
from yoshin.domain.catalogue import default_catalogue
from yoshin.tui.app import KioskApp
from yoshin.tui.screens.remove_card import RemoveCardScreen
from yoshin.tui.screens.staff_home import StaffHomeScreen
from yoshin.tui.screens.staff_login import StaffLockScreen, StaffLoginScreen
from yoshin.tui.screens.staff_vaccination import GuardScreen, SecondCheckScreen, VaccinationEntryScreen
from yoshin.tui.screens.staff_visit import StaffVisitScreen
from yoshin.tui.screens.technician import TechnicianScreen
from yoshin.tui.screens.thanks import ThanksScreen
from yoshin.tui.services import ApplianceServices
from yoshin.tui.staff_app import StaffApp

pytestmark = pytest.mark.pcsc
PASSWORD = "correct-horse-battery"
YES = {"read_leaflet", "wants_vaccination", "guardian_consent"}


def pack(gtin: str, expiry: str, lot: str) -> bytes:
    """A GS1 DataMatrix scan as the scanner sends it: AIM prefix, (01)(17)(10) GS (21), CR LF."""
    return f"]d201{gtin}17{expiry}10{lot}{GS}21SN0001\r\n".encode()


@pytest.fixture
def appliance_pair(make_device, virtual_reader, clock):
    """One enrolled appliance; `resident()` builds its resident kiosk and `staff()` a staff app on it."""
    device = make_device()
    slot = virtual_reader.slot_name(0)

    class Pair:
        appliance = device.appliance

        @staticmethod
        def resident() -> KioskApp:
            return KioskApp(ApplianceServices(device.appliance, slot, clock), clock=clock)

        @staticmethod
        def staff(refresh_interval: float | None = None, **devices: object) -> StaffApp:
            """No list timer by default: a test calls `check_pending` itself, so nothing redraws between steps."""
            services = ApplianceServices(device.appliance, slot, clock, **devices)  # type: ignore[arg-type]
            return StaffApp(services, clock=clock, refresh_interval=refresh_interval)

    return Pair


async def resident_visit(pilot, app: KioskApp, card, drive, yes: set[str] = YES, temperature: str = "３６．５") -> None:
    emulator = card("elderly")
    await drive.start_visit(pilot, app, "ja")
    await drive.type_pin(pilot, app, "2580")
    await drive.until(pilot, lambda: app.screen.query("#yes"), app)
    await pilot.click("#yes")
    await pilot.pause()
    await pilot.click(app.screen.query("Button.primary").first())
    await drive.answer_all(pilot, app, yes=yes, temperature=temperature)
    await pilot.click("#submit")
    await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
    card.remove(emulator)
    await drive.until(pilot, lambda: isinstance(app.screen, ThanksScreen), app)
    app.reset()


async def one_resident_visit(pair, card, drive, **answers) -> None:
    resident = pair.resident()
    async with resident.run_test(size=(100, 40)) as pilot:
        await resident_visit(pilot, resident, card, drive, **answers)


async def login(pilot, app: StaffApp, drive, staff_id: str, password: str = PASSWORD, lang: str = "ja") -> None:
    await drive.until(pilot, lambda: isinstance(app.screen, StaffLoginScreen), app)
    if not app.screen.query_one("#staff_id").disabled:
        app.screen.query_one("#staff_id").value = staff_id
    app.screen.query_one("#password").value = password
    await drive.click(pilot, app, f"#login-{lang}")


def shown(app, selector: str) -> str:
    return "\n".join(str(widget.render()) for widget in app.screen.query(selector))


def rows(app) -> list:
    return list(app.screen.query("#visits Button"))


async def decide_and_enter_by_hand(pilot, app: StaffApp, drive, site: str) -> None:
    """The logged-in doctor lets the one visit proceed, then enters the first product by hand at `site`."""
    await drive.until(pilot, lambda: len(rows(app)) == 1, app)
    await pilot.click("#visits Button")
    await drive.until(pilot, lambda: isinstance(app.screen, StaffVisitScreen), app)
    await pilot.click("#explained")
    await drive.click(pilot, app, "#proceed")
    await drive.until(pilot, lambda: "接種待ち (1)" in shown(app, "#visits Static"), app)
    await drive.click(pilot, app, "#visits Button")
    await drive.until(pilot, lambda: isinstance(app.screen, VaccinationEntryScreen), app)
    await drive.click(pilot, app, "#products Button")
    app.screen.query_one("#lot").value = "FLU26A01"
    app.screen.query_one("#expiry").value = "2027/06/30"
    await drive.click(pilot, app, f"#s-{site}")


async def test_staff_record_a_vaccination_from_a_scanned_pack(
    appliance_pair, card, drive, host, staff_accounts, cable
) -> None:
    await one_resident_visit(appliance_pair, card, drive)
    scanner = Scanner(port=str(cable.port))
    assert scanner.connect()
    app = appliance_pair.staff(scanner=scanner)
    product = default_catalogue().products_for("flu_elderly", host.service.today())[0]
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "D0001", "wrong-password-here")
        await drive.until(pilot, lambda: "パスワード" in shown(app, "#error"), app)
        await login(pilot, app, drive, "D0001")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        assert "医師" in shown(app, "#who") and "(doctor)" not in shown(app, "#who")
        await drive.until(pilot, lambda: "送信待ち 1件" in shown(app, "#queue"), app)
        listing = shown(app, "#visits Static")
        assert "診察待ち (1)" in listing and "接種待ち (0)" in listing and "完了 (0)" in listing
        assert len(rows(app)) == 1 and "多摩 一郎" in str(rows(app)[0].label)

        await pilot.click(f"#{rows(app)[0].id}")  # one tap: the doctor's decision
        await drive.until(pilot, lambda: isinstance(app.screen, StaffVisitScreen), app)
        await pilot.click("#proceed")  # without confirming the explanation: refused
        assert "説明" in shown(app, "#error")
        await pilot.click("#explained")
        await drive.click(pilot, app, "#proceed")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        await drive.until(pilot, lambda: "接種待ち (1)" in shown(app, "#visits Static"), app)

        await drive.click(pilot, app, f"#{rows(app)[0].id}")  # one tap: the entry
        await drive.until(pilot, lambda: isinstance(app.screen, VaccinationEntryScreen), app)
        cable.feed.write(pack(product.gtin, "261001", "OLD01"))  # expired on 2026-10-01
        cable.feed.flush()
        await drive.until(pilot, lambda: "有効期限が切れた" in shown(app, "#error"), app)
        await pilot.click("#s-left_upper_arm")
        assert app.screen.query_one("#s-left_upper_arm").has_class("-selected")
        assert str(app.screen.query_one("#s-left_upper_arm").label).startswith("● ")
        assert not app.screen.query_one("#s-right_upper_arm").has_class("-selected")
        await pilot.click("#next")
        assert isinstance(app.screen, VaccinationEntryScreen)  # an expired lot is refused

        cable.feed.write(pack(product.gtin, "270630", "FLU26A01"))
        cable.feed.flush()
        await drive.until(pilot, lambda: app.screen.query_one("#lot").value == "FLU26A01", app)
        assert app.screen.query_one("#expiry").value == "2027/06/30"
        assert app.screen.query_one(f"#p-{product.gtin}").has_class("-selected")
        app.screen.query_one("#expiry").value = "令和9年6月30日"  # the era form is read as well
        await drive.click(pilot, app, "#next")
        await drive.until(pilot, lambda: isinstance(app.screen, SecondCheckScreen), app)
        summary = shown(app, "#summary")
        assert "有効期限: 2027/06/30" in summary and "YYYY" not in summary

        app.screen.query_one("#checker").value = "D0001"  # the same person cannot check
        app.screen.query_one("#password").value = PASSWORD
        await pilot.click("#confirm")
        assert "別の職員" in shown(app, "#error")
        await drive.second_check(pilot, app)
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        await drive.until(pilot, lambda: "完了 (1)" in shown(app, "#visits Static"), app)
        assert not rows(app) and "接種済" in shown(app, "#visits Static")

        await pilot.click("#logout")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffLoginScreen), app)
        assert app.staff is None and len(app.screen_stack) == 2

    appliance = appliance_pair.appliance
    assert drive.drain(appliance) == 3
    rows_at_host = host.service.db.execute("SELECT kind, body FROM inbox ORDER BY received_at, kind").fetchall()
    bodies = {kind: json.loads(body) for kind, body in rows_at_host}
    assert set(bodies) == {"questionnaire_response", "doctor_decision", "vaccination_record"}
    vaccination = bodies["vaccination_record"]
    assert vaccination["lot_number"] == "FLU26A01" and vaccination["gtin"] == product.gtin
    assert vaccination["expiry_date"] == "2027-06-30"
    assert (vaccination["entered_by"], vaccination["checked_by"], vaccination["doctor_id"]) == (
        "D0001",
        "N0002",
        "D0001",
    )
    assert bodies["doctor_decision"]["questionnaire_record_id"] == bodies["questionnaire_response"]["record_id"]
    assert vaccination["subject_id"] == "S000102"


async def test_the_resident_kiosk_stays_usable_while_staff_work(
    appliance_pair, card, drive, host, staff_accounts
) -> None:
    resident, staff_app = appliance_pair.resident(), appliance_pair.staff()
    async with staff_app.run_test(size=(100, 40)) as staff_pilot, resident.run_test(size=(100, 40)) as pilot:
        # Both apps run at once in this test's task; Textual's "current app" is set per step (in production
        # each app is its own process).
        with staff_app._context():
            await login(staff_pilot, staff_app, drive, "N0001")
            await drive.until(staff_pilot, lambda: isinstance(staff_app.screen, StaffHomeScreen), staff_app)
            assert not rows(staff_app)
        await resident_visit(pilot, resident, card, drive)  # a whole visit while the nurse is logged in
        with staff_app._context():
            assert staff_app.staff is not None and isinstance(staff_app.screen, StaffHomeScreen)
            await drive.click(staff_pilot, staff_app, "#refresh")
            await drive.until(staff_pilot, lambda: len(rows(staff_app)) == 1, staff_app)
        # The resident's app has no staff data: nothing of the list, no session.
        texts = " ".join(str(w.render()) for w in resident.screen.query("Static, Button"))
        assert "多摩" not in texts and "診察待ち" not in texts


async def test_flags_show_in_words_and_colour_and_open_with_the_visit(
    appliance_pair, card, drive, host, staff_accounts
) -> None:
    await one_resident_visit(appliance_pair, card, drive, yes=YES | {"unwell_today"}, temperature="37.8")
    app = appliance_pair.staff()
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "D0001", lang="en")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        await drive.until(pilot, lambda: len(rows(app)) == 1, app)
        row = rows(app)[0]
        label = str(row.label)
        assert "fever 37.8 °C" in label and "✖NOT ELIGIBLE" in label and "⚠DOCTOR TO REVIEW×1" in label
        assert row.has_class("not-eligible")
        assert "10:00" in label  # 01:00 UTC is 10:00 in JST
        await pilot.click(f"#{row.id}")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffVisitScreen), app)
        flags = app.screen.query_one("#flags")
        assert flags.region.height >= 2 and flags.has_class("not-eligible")  # laid out above the answers
        text = str(flags.render())
        assert "clear fever (37.5 °C or above)" in text and "unwell today" in text
        assert text.index("NOT ELIGIBLE") < text.index("DOCTOR TO REVIEW")


async def test_a_deferral_needs_only_its_reason(appliance_pair, card, drive, host, staff_accounts) -> None:
    await one_resident_visit(appliance_pair, card, drive)
    app = appliance_pair.staff()
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "D0001")
        await drive.until(pilot, lambda: len(rows(app)) == 1, app)
        await pilot.click(f"#{rows(app)[0].id}")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffVisitScreen), app)
        await pilot.click("#defer")
        assert "理由" in shown(app, "#error")
        app.screen.query_one("#reason").value = "本人の希望で後日"
        await drive.click(pilot, app, "#defer")  # no 説明した tick
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        await drive.until(pilot, lambda: "完了 (1)" in shown(app, "#visits Static"), app)
        assert "見合わせ" in shown(app, "#visits Static")
    appliance = appliance_pair.appliance
    assert drive.drain(appliance) == 2
    body = json.loads(host.service.db.execute("SELECT body FROM inbox WHERE kind = 'doctor_decision'").fetchone()[0])
    assert (body["decision"], body["reason"], body["explanation_given"]) == ("defer", "本人の希望で後日", False)


async def test_an_idle_session_locks_and_resumes_with_the_half_typed_entry(
    appliance_pair, card, drive, host, staff_accounts, clock
) -> None:
    await one_resident_visit(appliance_pair, card, drive)
    app = appliance_pair.staff()
    sessions: Callable[[], int] = lambda: host.service.db.execute("SELECT count(*) FROM staff_sessions").fetchone()[0]  # noqa: E731
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "D0001")
        await drive.until(pilot, lambda: len(rows(app)) == 1, app)
        await pilot.click(f"#{rows(app)[0].id}")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffVisitScreen), app)
        app.screen.query_one("#reason").value = "半分まで入力"
        visit_screen = app.screen

        clock.now += timedelta(seconds=app.idle_timeout - 10)
        app.check_inactivity()
        await drive.until(pilot, lambda: "あと10秒でロック" in shown(app, "#lock-countdown"), app)
        clock.now += timedelta(seconds=11)
        app.check_inactivity()
        await drive.until(pilot, lambda: isinstance(app.screen, StaffLockScreen), app)
        assert "多摩" not in " ".join(str(w.render()) for w in app.screen.query("Static"))  # opaque
        await drive.until(pilot, lambda: sessions() == 0, app)  # the host session is closed at once

        await login(pilot, app, drive, "D0001")  # the same member: back where they left off
        await drive.until(pilot, lambda: app.screen is visit_screen, app)
        assert app.screen.query_one("#reason").value == "半分まで入力"
        assert sessions() == 1

        clock.now += timedelta(seconds=app.idle_timeout + 1)
        app.check_inactivity()
        await drive.until(pilot, lambda: isinstance(app.screen, StaffLockScreen), app)
        await drive.click(pilot, app, "#another")  # someone else: the locked stack is dropped
        await login(pilot, app, drive, "N0001")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        assert visit_screen not in app.screen_stack


async def test_a_nurse_cannot_decide(appliance_pair, card, drive, host, staff_accounts) -> None:
    await one_resident_visit(appliance_pair, card, drive)
    app = appliance_pair.staff()
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "N0001", lang="en")
        await drive.until(pilot, lambda: len(rows(app)) == 1, app)
        await pilot.click(f"#{rows(app)[0].id}")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffVisitScreen), app)
        assert "doctor must be logged in" in shown(app, "#doctor-only")
        assert not app.screen.query("#proceed")


async def test_staff_calls_from_the_resident_kiosk_show_until_answered(
    appliance_pair, drive, host, staff_accounts, clock
) -> None:
    calls = StaffCalls(appliance_pair.appliance.data_dir)
    calls.raise_call("pin", clock())
    app = appliance_pair.staff()
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "N0001")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        button = app.screen.query_one("#calls")
        assert button.display and "職員呼び出し 1件: 暗証番号 10:00" in str(button.label)
        await drive.click(pilot, app, "#calls")
        await drive.until(pilot, lambda: not app.screen.query_one("#calls").display, app)
    assert calls.pending() == []


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_technician_on_a_fresh_appliance_sees_words_not_exceptions(
    appliance_pair, drive, host, staff_accounts, lang: str
) -> None:
    app = appliance_pair.staff()
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "T0001", lang=lang)
        await drive.until(pilot, lambda: isinstance(app.screen, TechnicianScreen), app)
        word = {"ja": "証明書の期限", "en": "certificate until"}[lang]
        await drive.until(pilot, lambda: word in shown(app, "#status"), app)
        status = shown(app, "#status")
        assert "Virtual PCD" in status and ("送信待ち 0件" if lang == "ja" else "queue: 0 queued") in status
        await pilot.click("#self-test")
        ok = {"ja": "✔ ホスト: 正常", "en": "✔ host: ok"}[lang]
        await drive.until(pilot, lambda: ok in shown(app, "#result"), app)
        result = shown(app, "#result")
        # Enrolled but the templates never pulled (as the demo left it): said in words, not as an OSError.
        assert "Errno" not in result and "templates.json" not in result
        assert ("✖ 予診票テンプレート: 未取得" if lang == "ja" else "✖ templates: not pulled yet") in result


class Counted:
    """A pilot that counts what a person does: each tap, each key pressed, each pack scanned."""

    def __init__(self, pilot, app: StaffApp, drive) -> None:
        self.pilot, self.app, self.drive, self.actions = pilot, app, drive, 0

    async def tap(self, selector: str) -> None:
        self.actions += 1
        await self.drive.click(self.pilot, self.app, selector)

    def scan(self, cable, line: bytes) -> None:
        self.actions += 1  # one pull of the scanner's trigger
        cable.feed.write(line)
        cable.feed.flush()


async def test_one_vaccination_takes_few_taps_and_the_check_logs_nobody_out(
    appliance_pair, card, drive, host, staff_accounts, cable
) -> None:
    """Doctor, nurse and checker each on their own staff screen (three apps at once, as three browsers)."""
    await one_resident_visit(appliance_pair, card, drive)
    scanner = Scanner(port=str(cable.port))
    assert scanner.connect()
    doctor, nurse, checker = appliance_pair.staff(), appliance_pair.staff(scanner=scanner), appliance_pair.staff()
    product = default_catalogue().products_for("flu_elderly", host.service.today())[0]
    logged_in = lambda: {  # noqa: E731
        row[0] for row in host.service.db.execute("SELECT staff_id FROM staff_sessions").fetchall()
    }
    async with (
        doctor.run_test(size=(100, 40)) as doctor_pilot,
        nurse.run_test(size=(100, 40)) as nurse_pilot,
        checker.run_test(size=(100, 40)) as checker_pilot,
    ):
        counters = []
        for app, pilot, staff_id in ((doctor, doctor_pilot, "D0001"), (nurse, nurse_pilot, "N0001"),
                                     (checker, checker_pilot, "N0002")):  # fmt: skip
            with app._context():  # logins are not counted: each is logged in for the day's work
                await login(pilot, app, drive, staff_id)
                await drive.until(pilot, lambda app=app: isinstance(app.screen, StaffHomeScreen), app)
            counters.append(Counted(pilot, app, drive))
        by_doctor, by_nurse, by_checker = counters
        assert logged_in() == {"D0001", "N0001", "N0002"}

        with doctor._context():
            await by_doctor.tap("#visits Button")
            await drive.until(doctor_pilot, lambda: isinstance(doctor.screen, StaffVisitScreen), doctor)
            await by_doctor.tap("#explained")
            await by_doctor.tap("#proceed")
            await drive.until(doctor_pilot, lambda: isinstance(doctor.screen, StaffHomeScreen), doctor)
        with nurse._context():
            assert await nurse.check_pending()  # the list's timer: no 更新 tap needed any more
            await drive.until(nurse_pilot, lambda: "接種待ち (1)" in shown(nurse, "#visits Static"), nurse)
            await by_nurse.tap("#visits Button")
            await drive.until(nurse_pilot, lambda: isinstance(nurse.screen, VaccinationEntryScreen), nurse)
            by_nurse.scan(cable, pack(product.gtin, "270630", "FLU26A01"))
            await drive.until(nurse_pilot, lambda: nurse.screen.query_one("#lot").value == "FLU26A01", nurse)
            await by_nurse.tap("#s-left_upper_arm")
            await by_nurse.tap("#next")
            await drive.until(nurse_pilot, lambda: isinstance(nurse.screen, SecondCheckScreen), nurse)
            await by_nurse.tap("#elsewhere")
            await drive.until(nurse_pilot, lambda: isinstance(nurse.screen, StaffHomeScreen), nurse)
            assert "確認待ち" in str(rows(nurse)[0].label)
        with checker._context():
            assert await checker.check_pending()
            await drive.until(checker_pilot, lambda: "確認待ち" in str(rows(checker)[0].label), checker)
            await by_checker.tap("#visits Button")
            await drive.until(checker_pilot, lambda: isinstance(checker.screen, SecondCheckScreen), checker)
            assert "FLU26A01" in shown(checker, "#summary")
            await by_checker.tap("#confirm")
            await drive.until(checker_pilot, lambda: isinstance(checker.screen, StaffHomeScreen), checker)
            await drive.until(checker_pilot, lambda: "完了 (1)" in shown(checker, "#visits Static"), checker)
        with nurse._context():  # the nurse cannot check her own entry on her own screen either
            assert nurse.staff is not None and isinstance(nurse.screen, StaffHomeScreen)

        actions = sum(counter.actions for counter in counters)
        print(json.dumps({"taps_and_keys_for_one_vaccination": actions, "doctor": by_doctor.actions,
                          "nurse": by_nurse.actions, "checker": by_checker.actions}))  # fmt: skip
        assert actions <= 30
        assert logged_in() == {"D0001", "N0001", "N0002"}  # the check logged nobody in or out

    appliance = appliance_pair.appliance
    assert drive.drain(appliance) == 3
    body = json.loads(host.service.db.execute("SELECT body FROM inbox WHERE kind = 'vaccination_record'").fetchone()[0])
    assert (body["entered_by"], body["checked_by"], body["doctor_id"]) == ("N0001", "N0002", "D0001")


async def test_the_checker_cannot_be_the_one_who_entered(appliance_pair, card, drive, host, staff_accounts) -> None:
    await one_resident_visit(appliance_pair, card, drive)
    app = appliance_pair.staff()
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "D0001")
        await decide_and_enter_by_hand(pilot, app, drive, "left_upper_arm")
        await drive.click(pilot, app, "#next")
        await drive.until(pilot, lambda: isinstance(app.screen, SecondCheckScreen), app)
        await drive.click(pilot, app, "#elsewhere")
        await drive.until(pilot, lambda: "確認待ち" in str(rows(app)[0].label), app)
        await drive.click(pilot, app, "#visits Button")  # the one who entered it opens the check
        await drive.until(pilot, lambda: isinstance(app.screen, SecondCheckScreen), app)
        await drive.click(pilot, app, "#confirm")
        await drive.until(pilot, lambda: "別の職員" in shown(app, "#error"), app)


async def test_offline_a_locked_session_resumes_and_its_records_wait_for_the_host(
    appliance_pair, card, drive, host, staff_accounts, clock
) -> None:
    await one_resident_visit(appliance_pair, card, drive)
    appliance = appliance_pair.appliance
    address = appliance.host_address()
    app = appliance_pair.staff()
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "D0001")
        await drive.until(pilot, lambda: len(rows(app)) == 1, app)
        attestation = app.staff.attestation if app.staff else None
        with socket.socket() as probe:  # the host goes away: a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            closed = probe.getsockname()[1]
        appliance.save_host(HostAddress("127.0.0.1", closed, closed))

        await pilot.click(f"#{rows(app)[0].id}")  # the doctor decides offline: no host needed
        await drive.until(pilot, lambda: isinstance(app.screen, StaffVisitScreen), app)
        await pilot.click("#explained")
        await drive.click(pilot, app, "#proceed")
        await drive.until(pilot, lambda: "接種待ち (1)" in shown(app, "#visits Static"), app)

        clock.now += timedelta(seconds=app.idle_timeout + 1)
        app.check_inactivity()
        await drive.until(pilot, lambda: isinstance(app.screen, StaffLockScreen), app)
        await login(pilot, app, drive, "D0001", "not-the-password")
        await drive.until(pilot, lambda: "ホストに接続できない" in shown(app, "#error"), app)
        assert isinstance(app.screen, StaffLockScreen)
        await login(pilot, app, drive, "D0001")  # the same password as at the login: resumes offline
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        assert app.staff is not None and app.staff.attestation == attestation

        await drive.click(pilot, app, "#logout")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffLoginScreen), app)
        await login(pilot, app, drive, "D0001")  # a new login needs the host
        await drive.until(pilot, lambda: "ホストに接続できない" in shown(app, "#error"), app)
        assert app.staff is None

    appliance.save_host(address)  # the host is back: the queue drains and the host checks what it gets
    assert drive.drain(appliance) == 2
    body = json.loads(host.service.db.execute("SELECT body FROM inbox WHERE kind = 'doctor_decision'").fetchone()[0])
    assert body["doctor_id"] == "D0001"
    assert body.get("proofs", {}).get("decided_by") == attestation  # the login's attestation, when the host gave one


async def test_the_guard_shows_its_findings_in_both_languages_and_only_the_doctor_overrides(
    appliance_pair, card, drive, host, staff_accounts
) -> None:
    """Route/site (MHLW category): a thigh for an older adult's influenza vaccine, caught before sealing."""
    await one_resident_visit(appliance_pair, card, drive)
    app = appliance_pair.staff()
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "D0001")
        await decide_and_enter_by_hand(pilot, app, drive, "left_thigh")
        await drive.click(pilot, app, "#next")
        await drive.until(pilot, lambda: isinstance(app.screen, GuardScreen), app)
        findings = shown(app, "#findings")
        finding = app.screen.findings[0]
        assert finding.code == "route_site" and finding.message.ja in findings and finding.message.en in findings
        await drive.override_with_reason(pilot, app, "上腕に皮膚病変があるため")  # refused first without one
        await drive.second_check(pilot, app)
        await drive.until(pilot, lambda: "完了 (1)" in shown(app, "#visits Static"), app)
    appliance = appliance_pair.appliance
    assert drive.drain(appliance) == 3
    body = json.loads(host.service.db.execute("SELECT body FROM inbox WHERE kind = 'vaccination_record'").fetchone()[0])
    assert body["site"] == "left_thigh"
    assert body["guard_overrides"] == [
        {"code": "route_site", "doctor_id": "D0001", "reason": "上腕に皮膚病変があるため"}
    ]


async def test_a_registered_staff_card_is_a_required_second_factor(
    appliance_pair, card, drive, host, staff_accounts, test_pki
) -> None:
    from cryptography.hazmat.primitives import serialization

    from yoshin.host import staff

    _, certificate = test_pki.auth_credentials("adult")  # the certificate on the "adult" card
    der = certificate.public_bytes(serialization.Encoding.DER)
    staff.register_card(host.service.db, "N0001", der, "admin01", host.service.clock())
    app = appliance_pair.staff()
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "N0001", lang="en")  # password alone: refused
        await drive.until(pilot, lambda: "registered card" in shown(app, "#error"), app)
        card("adult")  # the nurse's own card on the reader, and its auth PIN
        app.screen.query_one("#password").value = PASSWORD
        app.screen.query_one("#card_pin").value = "1234"
        await drive.click(pilot, app, "#login-en")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)


async def test_the_list_refreshes_by_itself_when_a_visit_arrives_or_changes(
    appliance_pair, card, drive, host, staff_accounts, clock
) -> None:
    """The staff app's timer asks `check_pending`; the test calls it as the timer would (no waiting)."""
    from yoshin.device.visit import Proofs, StaffMember, record_decision
    from yoshin.domain.contract import Decision

    resident, app = appliance_pair.resident(), appliance_pair.staff()
    async with app.run_test(size=(100, 40)) as staff_pilot, resident.run_test(size=(100, 40)) as pilot:
        with app._context():
            await login(staff_pilot, app, drive, "D0001")
            await drive.until(staff_pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
            listing = app.screen.query_one("#visits").children[0]
            assert not await app.check_pending()  # nothing changed: the list is left as it is
            assert app.screen.query_one("#visits").children[0] is listing
        await resident_visit(pilot, resident, card, drive)  # a new visit arrives: no 更新 pressed
        with app._context():
            assert await app.check_pending()
            await drive.until(staff_pilot, lambda: len(rows(app)) == 1, app)
            assert "診察待ち (1)" in shown(app, "#visits Static") and "送信待ち 1件" in shown(app, "#queue")
        services = app.services
        (visit,) = services.pending_visits()  # it changes elsewhere (another doctor's screen): decided
        doctor = StaffMember("D0001", "doctor D0001", "doctor")
        record_decision(
            services, visit, doctor, Decision.PROCEED, reason=None, override_reason=None, explanation_given=True,
            now=clock(), proofs=Proofs(),
        )  # fmt: skip
        StaffCalls(appliance_pair.appliance.data_dir).raise_call("pin", clock())
        with app._context():
            assert await app.check_pending()
            await drive.until(staff_pilot, lambda: "接種待ち (1)" in shown(app, "#visits Static"), app)
            assert app.screen.query_one("#calls").display
            await drive.click(staff_pilot, app, "#visits Button")  # another screen on top: no refresh behind it
            await drive.until(staff_pilot, lambda: isinstance(app.screen, VaccinationEntryScreen), app)
            StaffCalls(appliance_pair.appliance.data_dir).raise_call("card", clock())
            assert not await app.check_pending()


async def test_the_list_timer_runs_in_the_app(appliance_pair, drive, host, staff_accounts, clock) -> None:
    """The real timer (a short interval here): a staff call shows without anyone calling check_pending."""
    app = appliance_pair.staff(refresh_interval=0.05)
    async with app.run_test(size=(100, 40)) as pilot:
        await login(pilot, app, drive, "N0001")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        assert not app.screen.query_one("#calls").display
        StaffCalls(appliance_pair.appliance.data_dir).raise_call("consent", clock())
        await drive.until(pilot, lambda: app.screen.query_one("#calls").display, app)
