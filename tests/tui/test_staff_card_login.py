"""Card-only staff login end to end: a nurse logs in to the staff app with her own My Number card (the
"staff-nurse" persona in the card emulator, in the run's pcscd through vpcd) and its auth PIN, no
password. The card signs the served host's challenge over mutual TLS (`POST /staff/login/card`); the host
opens her session and attests her. She then works with that session: her reception check goes into a
resident's questionnaire, which the host accepts on her card login's attestation; logging out closes the
host session."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization

from yoshin.host import staff
from yoshin.tui.screens.staff_home import StaffHomeScreen
from yoshin.tui.screens.staff_login import StaffLoginScreen
from yoshin.tui.screens.staff_reception import ReceptionScreen

from . import test_staff
from .test_staff import one_resident_visit, shown

pytestmark = pytest.mark.pcsc
appliance_pair = test_staff.appliance_pair  # the fixture: one appliance, its resident kiosk and staff apps


async def test_a_nurse_logs_in_with_her_own_card_and_pin_and_works_with_that_session(
    appliance_pair, card, drive, host, staff_accounts, test_pki
) -> None:
    _, certificate = test_pki.auth_credentials("staff-nurse")  # the auth certificate on her card
    staff.register_card(
        host.service.db, "N0001", certificate.public_bytes(serialization.Encoding.DER), "admin01", host.service.clock()
    )
    sessions = lambda: [r[0] for r in host.service.db.execute("SELECT staff_id FROM staff_sessions")]  # noqa: E731
    app = appliance_pair.staff()
    own_card = card("staff-nurse")
    async with app.run_test(size=(100, 40)) as pilot:
        await drive.until(pilot, lambda: isinstance(app.screen, StaffLoginScreen), app)
        app.screen.query_one("#staff_id").value = "N0001"
        app.screen.query_one("#card_pin").value = "1111"  # a wrong PIN: the card refuses, nothing opens
        await drive.click(pilot, app, "#login-ja")
        await drive.until(pilot, lambda: "暗証番号" in shown(app, "#error"), app)
        assert app.staff is None and sessions() == []

        app.screen.query_one("#staff_id").value = "N0001"
        app.screen.query_one("#card_pin").value = "4739"  # her card's auth PIN; the password field stays empty
        assert app.screen.query_one("#password").value == ""
        await drive.click(pilot, app, "#login-ja")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        assert app.staff is not None and app.staff.member.staff_id == "N0001" and app.staff.attestation
        assert "nurse N0001" in shown(app, "#who") and sessions() == ["N0001"]
        (outcome,) = host.service.db.execute(
            "SELECT outcome FROM audit WHERE action = 'staff.login' AND actor = 'N0001'"
        ).fetchone()
        assert outcome == "ok"
        card.remove(own_card)  # her card leaves the reader: the resident's goes on it next

        await drive.click(pilot, app, "#reception")  # work that needs the session: her attestation
        await drive.until(pilot, lambda: isinstance(app.screen, ReceptionScreen), app)
        await drive.click(pilot, app, "#doc-my_number_card")
        await drive.click(pilot, app, "#confirm")
        await drive.until(pilot, lambda: "カード待ち 1件" in shown(app, "#open-count"), app)
        attestation = app.staff.attestation

    await one_resident_visit(appliance_pair, card, drive)  # the next card visit takes her confirmation
    appliance = appliance_pair.appliance
    results = drive.forward(appliance)
    assert (sum(r.accepted for r in results), sum(r.rejected for r in results)) == (1, 0)
    (stored,) = host.service.db.execute("SELECT body FROM inbox WHERE kind = 'questionnaire_response'").fetchone()
    body = json.loads(stored)
    assert body["reception"]["confirmed_by"] == "N0001"
    assert body["proofs"]["identity_confirmed_by"] == attestation  # the card login's, checked by the host


async def test_logging_out_after_a_card_login_closes_the_host_session(
    appliance_pair, card, drive, host, staff_accounts, test_pki
) -> None:
    _, certificate = test_pki.auth_credentials("staff-nurse")
    staff.register_card(
        host.service.db, "N0002", certificate.public_bytes(serialization.Encoding.DER), "admin01", host.service.clock()
    )
    sessions = lambda: [r[0] for r in host.service.db.execute("SELECT staff_id FROM staff_sessions")]  # noqa: E731
    app = appliance_pair.staff()
    card("staff-nurse")
    async with app.run_test(size=(100, 40)) as pilot:
        await drive.until(pilot, lambda: isinstance(app.screen, StaffLoginScreen), app)
        app.screen.query_one("#staff_id").value = "N0001"  # her card, but not registered to this ID: refused
        app.screen.query_one("#card_pin").value = "4739"
        await drive.click(pilot, app, "#login-en")
        await drive.until(pilot, lambda: "wrong staff ID" in shown(app, "#error"), app)
        assert sessions() == []
        app.screen.query_one("#staff_id").value = "N0002"  # the ID her card is registered to
        app.screen.query_one("#card_pin").value = "4739"
        await drive.click(pilot, app, "#login-en")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
        assert sessions() == ["N0002"]
        await drive.click(pilot, app, "#logout")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffLoginScreen), app)
        await drive.until(pilot, lambda: sessions() == [], app)  # the host session closed at logout
