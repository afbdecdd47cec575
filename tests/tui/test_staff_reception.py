"""Control 4 through the real stack: reception confirms the resident's identity (and a proxy's 委任状) on
the staff app before the card step; the resident kiosk, where the municipality requires it, reads no card
until a confirmation is open, then takes it; the record reaches the host naming who confirmed, and the
host checks the clerk's attestation. Real pcscd with the card emulator, real host over mutual TLS, the
resident kiosk and the staff app side by side on one appliance."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from yoshin.host import policy, staff
from yoshin.tui.screens.card import CardScreen
from yoshin.tui.screens.pin import PinScreen
from yoshin.tui.screens.remove_card import RemoveCardScreen
from yoshin.tui.screens.staff_home import StaffHomeScreen
from yoshin.tui.screens.staff_reception import ReceptionScreen
from yoshin.tui.screens.staff_visit import StaffVisitScreen
from yoshin.tui.screens.thanks import ThanksScreen

from . import test_staff
from .test_staff import PASSWORD, YES, login, rows, shown

appliance_pair = test_staff.appliance_pair  # the fixture: one appliance, its resident kiosk and staff apps

pytestmark = pytest.mark.pcsc


@pytest.fixture
def clerk(host, staff_accounts) -> str:
    staff.add(host.service.db, "C0001", "受付 一子", "clerk", "141305", PASSWORD, host.service.clock())
    return "C0001"


def texts(app) -> str:
    return " ".join(str(widget.render()) for widget in app.screen.query("Static, Button"))


async def test_reception_confirms_before_the_card_step_and_the_record_names_who(
    appliance_pair, card, drive, host, clerk, clock, admin_approval
) -> None:
    policy.set_reception_required(host.service.db, "141305", True, admin_approval(host.service), host.service.clock())
    resident, staff_app = appliance_pair.resident(), appliance_pair.staff()
    async with staff_app.run_test(size=(100, 40)) as staff_pilot, resident.run_test(size=(100, 40)) as pilot:
        with staff_app._context():
            await login(staff_pilot, staff_app, drive, clerk)
            await drive.until(staff_pilot, lambda: isinstance(staff_app.screen, StaffHomeScreen), staff_app)

        # The resident comes to the kiosk first: consent, card on the reader, but reception has not confirmed.
        emulator = card("elderly")
        await drive.click(pilot, resident, "#ja")
        await drive.click(pilot, resident, "#agree")
        await drive.until(pilot, lambda: resident.screen.query("#reception"), resident)
        assert isinstance(resident.screen, CardScreen)  # the card is not read
        assert "受付で本人確認" in shown(resident, "#reception")

        with staff_app._context():
            await drive.click(staff_pilot, staff_app, "#reception")
            await drive.until(staff_pilot, lambda: isinstance(staff_app.screen, ReceptionScreen), staff_app)
            assert staff_app.screen.query_one("#who-self").has_class("-selected")
            await drive.click(staff_pilot, staff_app, "#who-proxy")
            await drive.click(staff_pilot, staff_app, "#doc-drivers_license")
            await drive.click(staff_pilot, staff_app, "#confirm")  # a proxy without 委任状: refused
            await drive.until(staff_pilot, lambda: "委任状" in shown(staff_app, "#error"), staff_app)
            assert staff_app.services.reception_slots() == []
            await drive.click(staff_pilot, staff_app, "#doc-power_of_attorney")
            assert str(staff_app.screen.query_one("#doc-power_of_attorney").label).startswith("● ")
            await drive.click(staff_pilot, staff_app, "#confirm")
            await drive.until(staff_pilot, lambda: "カード待ち 1件" in shown(staff_app, "#open-count"), staff_app)

        # The kiosk takes the confirmation by itself and reads the card; it shows nothing of reception's.
        await drive.until(pilot, lambda: isinstance(resident.screen, PinScreen), resident)
        assert resident.visit.reception is not None and resident.visit.reception.confirmer.staff_id == clerk
        assert "受付 一子" not in texts(resident) and "C0001" not in texts(resident)
        await drive.type_pin(pilot, resident, "2580")
        await drive.until(pilot, lambda: resident.screen.query("#yes"), resident)
        await pilot.click("#yes")
        await pilot.pause()
        await pilot.click(resident.screen.query("Button.primary").first())
        await drive.answer_all(pilot, resident, yes=YES)
        await pilot.click("#submit")
        await drive.until(pilot, lambda: isinstance(resident.screen, RemoveCardScreen), resident)
        card.remove(emulator)
        await drive.until(pilot, lambda: isinstance(resident.screen, ThanksScreen), resident)

        with staff_app._context():  # taken once: the slot is gone, and the visit shows who confirmed
            await drive.click(staff_pilot, staff_app, "#back")
            await drive.until(staff_pilot, lambda: isinstance(staff_app.screen, StaffHomeScreen), staff_app)
            await drive.click(staff_pilot, staff_app, "#refresh")
            await drive.until(staff_pilot, lambda: len(rows(staff_app)) == 1, staff_app)
            assert "カード待ち 0" in str(staff_app.screen.query_one("#reception").label)
            await drive.click(staff_pilot, staff_app, "#visits Button")
            await drive.until(staff_pilot, lambda: isinstance(staff_app.screen, StaffVisitScreen), staff_app)
            assert "受付確認: C0001 (代理人 (委任状): 運転免許証・委任状)" in shown(staff_app, "#reception")

    appliance = appliance_pair.appliance
    results = drive.forward(appliance)
    assert (sum(r.accepted for r in results), sum(r.rejected for r in results)) == (1, 0)
    (stored,) = host.service.db.execute("SELECT body FROM inbox WHERE kind = 'questionnaire_response'").fetchone()
    body = json.loads(stored)
    assert body["reception"]["confirmed_by"] == clerk
    assert body["reception"]["presenter"] == "proxy"
    assert body["reception"]["documents"] == ["drivers_license", "power_of_attorney"]
    assert body["proofs"]["identity_confirmed_by"].startswith("yat1.")
    (line,) = host.service.db.execute(
        "SELECT outcome FROM audit WHERE action = 'record.questionnaire_response'"
    ).fetchone()
    assert "identity confirmed by C0001" in line


async def test_a_confirmation_is_taken_once_and_expires(appliance_pair, host, clerk, clock) -> None:
    """The slot seam itself, on the real pending store: the oldest first, each once, none after 30 minutes,
    and reception's roles only."""
    from yoshin.device.visit import StaffMember, VisitError, confirm_reception
    from yoshin.domain.contract import IdDocument, Presenter
    from yoshin.tui.services import ApplianceServices

    services = ApplianceServices(appliance_pair.appliance, None, clock)
    member = StaffMember(clerk, "受付 一子", "clerk")
    first = confirm_reception(services, member, None, Presenter.SELF, [IdDocument.MY_NUMBER_CARD], now=clock())
    clock.now += timedelta(minutes=1)
    confirm_reception(services, member, None, Presenter.GUARDIAN, [IdDocument.MATERNAL_CHILD_HANDBOOK,
                      IdDocument.HEALTH_INSURANCE], now=clock())  # fmt: skip
    assert len(services.reception_slots()) == 2
    taken = services.take_reception()
    assert taken is not None and taken.check == first.check
    clock.now += timedelta(minutes=30)  # the second one waited 30 minutes: nobody's any more
    assert services.take_reception() is None and services.reception_slots() == []
    with pytest.raises(VisitError, match="clerks"):
        confirm_reception(
            services, StaffMember("T0001", "t", "technician"), None, Presenter.SELF, [IdDocument.PASSPORT],
            now=clock(),
        )  # fmt: skip
    with pytest.raises(VisitError, match="identity document"):
        confirm_reception(services, member, None, Presenter.SELF, [IdDocument.POWER_OF_ATTORNEY], now=clock())


async def test_without_the_requirement_the_kiosk_reads_the_card_as_before(
    appliance_pair, card, drive, host, clerk
) -> None:
    resident = appliance_pair.resident()
    async with resident.run_test(size=(100, 40)) as pilot:
        card("elderly")
        await drive.start_visit(pilot, resident, "ja")  # straight to the PIN: no reception slot needed
        assert resident.visit.reception is None
