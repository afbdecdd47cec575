"""The rules guard (issue 13, "The guard"): one Pilot test per MHLW error category, driven through the real
staff app on an enrolled appliance (real host over mutual TLS, real pcscd card for the resident's visit,
real pending store and outbox), with the pack scanned by the keyboard-wedge path into #scan; and the
override path (a nurse cannot override, the deciding doctor can with a reason, a non-overridable finding
cannot be overridden by anyone). The clock is the injected JST clock (2026-10-15 10:00 JST).

The resident is the "elderly" persona (born 1951-09-03, flu_elderly dose 1 on 2025-10-20) answering the
flu_elderly questionnaire. Where a category depends on what the host's identity answer carried (history,
dose number, birth date), the visit kept in the day's pending store is rewritten to what that answer
would have carried before the entry is opened (`_as_if_the_host_answered`): the screen, the visit layer
and the guard then run unchanged on it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from yoshin.device.forwarder import Forwarder
from yoshin.device.gs1 import GS
from yoshin.device.visit import GuardRefused, StaffMember, record_vaccination
from yoshin.domain.catalogue import default_catalogue
from yoshin.domain.contract import GuardOverride
from yoshin.protocol.api import HistoryItem
from yoshin.tui.screens.remove_card import RemoveCardScreen
from yoshin.tui.screens.staff_home import StaffHomeScreen
from yoshin.tui.screens.staff_vaccination import GuardScreen, SecondCheckScreen, VaccinationEntryScreen
from yoshin.tui.screens.staff_visit import StaffVisitScreen
from yoshin.tui.screens.thanks import ThanksScreen
from yoshin.tui.services import ApplianceServices
from yoshin.tui.staff_text import ts

from . import test_staff
from .test_staff import PASSWORD, YES, login, one_resident_visit, rows, shown

appliance_pair = test_staff.appliance_pair  # the fixture of the existing staff tests, reused as it is

pytestmark = pytest.mark.pcsc
TODAY = date(2026, 10, 15)  # the injected clock's day in JST
CATALOGUE = default_catalogue()
FLU = CATALOGUE.products_for("flu_elderly", TODAY)[0]  # 0.5 mL subcutaneous, upper arm
HEPB = CATALOGUE.products_for("hepb", TODAY)[0]  # 0.25 mL subcutaneous, arm or thigh
OTHER = next(p for p in CATALOGUE.products if p.vaccine_code not in (None, "flu_elderly"))


def wedge(gtin: str, expiry: str, lot: str) -> str:
    """A GS1 DataMatrix read by a keyboard-wedge scanner: (01)(17)(10) GS (21), typed into #scan, then Enter."""
    return f"]d201{gtin}17{expiry}10{lot}{GS}21SN0001"


async def infant_hepb_visit(pair, card, drive) -> None:
    """The "infant" persona (born 2026-08-14), the guardian answering for hepatitis B dose 1 only."""
    app = pair.resident()
    async with app.run_test(size=(100, 40)) as pilot:
        emulator = card("infant")
        await drive.start_visit(pilot, app, "ja")
        await drive.type_pin(pilot, app, "1357")
        await drive.click(pilot, app, "#yes")
        await drive.choose(pilot, app, "#v-hepb-1")
        await drive.answer_all(pilot, app, yes=YES)
        await drive.click(pilot, app, "#submit")
        await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
        card.remove(emulator)
        await drive.until(pilot, lambda: isinstance(app.screen, ThanksScreen), app)


async def visit_of(who: str, pair, card, drive) -> None:
    if who == "infant":
        await infant_hepb_visit(pair, card, drive)
    else:
        await one_resident_visit(pair, card, drive)


def _services(pair) -> ApplianceServices:
    return ApplianceServices(pair.appliance, "unused", lambda: None)  # type: ignore[arg-type]


def decided(pair) -> bool:
    return all(visit.decision is not None for visit in _services(pair).pending_visits())


def _as_if_the_host_answered(pair, **changes) -> None:
    """The pending visit (questionnaire and doctor's decision already kept) as the identity answer would
    have carried it: another history, dose number or birth date."""
    services = _services(pair)
    (visit,) = services.pending_visits()
    services.keep_pending(replace(visit, **changes))


async def to_entry(pilot, app, drive, pair, staff_id: str = "D0001", lang: str = "ja", **changes) -> None:
    """Log in as the doctor, decide "proceed", (re)load the visit, log in as `staff_id`, open the entry."""
    await login(pilot, app, drive, "D0001", lang=lang)
    await drive.until(pilot, lambda: len(rows(app)) == 1, app)
    await drive.click(pilot, app, "#visits Button")
    await drive.until(pilot, lambda: isinstance(app.screen, StaffVisitScreen), app)
    await pilot.click("#explained")
    await drive.click(pilot, app, "#proceed")
    await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen) and decided(pair), app)
    if changes:
        _as_if_the_host_answered(pair, **changes)
    if staff_id != "D0001":
        await drive.click(pilot, app, "#logout")
        await login(pilot, app, drive, staff_id, lang=lang)
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
    await drive.click(pilot, app, "#refresh")
    await drive.until(pilot, lambda: len(rows(app)) == 1, app)
    await drive.click(pilot, app, "#visits Button")
    await drive.until(pilot, lambda: isinstance(app.screen, VaccinationEntryScreen), app)


async def scan(pilot, app, drive, gtin: str, expiry: str = "270630", lot: str = "FLU26A01") -> None:
    app.screen.query_one("#scan").focus()
    app.screen.query_one("#scan").value = wedge(gtin, expiry, lot)
    await pilot.press("enter")
    await drive.until(pilot, lambda: app.screen.query_one("#scan").value == "", app)


def delivered(pair, host) -> list[dict]:
    """Drain the outbox to the host; the kinds the host received, and the vaccination records' bodies."""
    outbox = pair.appliance.outbox()
    try:
        Forwarder(outbox, pair.appliance.client()).drain()
    finally:
        outbox.close()
    rows_at_host = host.service.db.execute("SELECT kind, body FROM inbox").fetchall()
    kinds = sorted(kind for kind, _ in rows_at_host)
    assert kinds[:2] == ["doctor_decision", "questionnaire_response"]
    return [json.loads(body) for kind, body in rows_at_host if kind == "vaccination_record"]


# --- refused by the entry screen itself, before the guard ----------------------------------------------------


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize(
    ("category", "gtin", "expiry", "key"),
    [
        # Wrong vaccine: the entry offers only the products of the questionnaire's vaccine, so another
        # vaccine's GTIN is refused at scan time (the guard's WRONG_VACCINE never sees it).
        ("wrong_vaccine", OTHER.gtin, "270630", "unknown_gtin"),
        # Expired lot: refused at scan time and again at 次へ by check_administration (the guard's
        # EXPIRED_LOT is the same rule one layer down; the screen stops the entry first).
        ("expired_lot", FLU.gtin, "261001", "expired"),
    ],
)
async def test_the_entry_refuses_before_the_guard(
    appliance_pair, card, drive, host, staff_accounts, category, gtin, expiry, key, lang
) -> None:
    await one_resident_visit(appliance_pair, card, drive)
    app = appliance_pair.staff()
    async with app.run_test(size=(100, 40)) as pilot:
        await to_entry(pilot, app, drive, appliance_pair, lang=lang)
        await scan(pilot, app, drive, gtin, expiry, "LOT01")
        expected = ts(key, lang, gtin=gtin, expiry=f"20{expiry[:2]}-{expiry[2:4]}-{expiry[4:]}")
        await drive.until(pilot, lambda: expected in shown(app, "#error"), app)
        if category == "expired_lot":
            await drive.click(pilot, app, "#s-left_upper_arm")
            await drive.click(pilot, app, "#next")
            await drive.until(pilot, lambda: expected in shown(app, "#error"), app)
        assert isinstance(app.screen, VaccinationEntryScreen)  # neither the guard nor the check is reached
    assert delivered(appliance_pair, host) == []  # nothing was sealed


# --- shown by the guard screen, in Japanese and English ------------------------------------------------------

EARLIER = HistoryItem("flu_elderly", 1, date(2026, 10, 1))  # already this fiscal year
SAME_DAY = HistoryItem("flu_elderly", 1, TODAY)  # another dose today

HEPB_1 = HistoryItem("hepb", 1, date(2026, 10, 5))  # ten days ago: dose 2 only from 2026-11-02

GUARDED = [
    # (category, who, pending changes, site, overridable)
    ("route_site", "elderly", {}, "left_thigh", True),  # a thigh for an older adult's influenza vaccine
    ("dose_number", "elderly", {"dose_number": 2}, "left_upper_arm", True),
    ("series_complete", "elderly", {"history": (EARLIER,)}, "left_upper_arm", True),
    ("age", "elderly", {"birth_date": date(1980, 1, 1)}, "left_upper_arm", True),  # 46: not a B類 target
    # Under 3 the influenza amount is 0.25 mL; the entry always takes the pack's own 0.5 mL.
    ("dose_amount", "elderly", {"birth_date": date(2025, 1, 1)}, "left_upper_arm", True),
    ("interval", "infant", {"history": (HEPB_1,), "dose_number": 2}, "left_thigh", True),
    ("same_day_duplicate", "elderly", {"history": (SAME_DAY,)}, "left_upper_arm", False),
]


async def guard_screen(pilot, app, drive, pair, changes, site, staff_id="D0001", product=FLU) -> None:
    await to_entry(pilot, app, drive, pair, staff_id=staff_id, **changes)
    await scan(pilot, app, drive, product.gtin)
    await drive.until(pilot, lambda: app.screen.query_one("#lot").value == "FLU26A01", app)
    await drive.click(pilot, app, f"#s-{site}")
    await drive.click(pilot, app, "#next")
    await drive.until(pilot, lambda: isinstance(app.screen, GuardScreen), app)


@pytest.mark.parametrize(("category", "who", "changes", "site", "overridable"), GUARDED, ids=[g[0] for g in GUARDED])
async def test_the_guard_screen_shows_each_category_and_seals_nothing(
    appliance_pair, card, drive, host, staff_accounts, clock, category, who, changes, site, overridable
) -> None:
    await visit_of(who, appliance_pair, card, drive)
    app = appliance_pair.staff()
    product = HEPB if who == "infant" else FLU
    async with app.run_test(size=(100, 40)) as pilot:
        await guard_screen(pilot, app, drive, appliance_pair, changes, site, product=product)
        findings = shown(app, "#findings")
        codes = [str(f.code) for f in app.screen.findings]
        assert category in codes
        finding = app.screen.findings[codes.index(category)]
        assert finding.message.ja in findings and finding.message.en in findings
        assert finding.overridable is overridable
        if not overridable:  # nobody may override: no reason field, no override button
            assert not app.screen.query("#override") and not app.screen.query("#reason")
            assert "この内容では接種できません" in shown(app, "#error") and "This cannot be given" in shown(
                app, "#error"
            )
            # and the visit layer refuses it even with the deciding doctor's reasoned override
            screen = app.screen
            with pytest.raises(GuardRefused):
                record_vaccination(
                    app.services, screen.pending, screen.given, screen.entered_by,
                    StaffMember("N0002", "nurse N0002", "nurse"), now=clock(),
                    overrides=(GuardOverride(category, "D0001", "理由"),), catalogue=app.services.rules().catalogue,
                )  # fmt: skip
        await drive.click(pilot, app, "#back")
        await drive.until(pilot, lambda: isinstance(app.screen, StaffHomeScreen), app)
    assert delivered(appliance_pair, host) == []  # nothing was sealed


# --- the override path ---------------------------------------------------------------------------------------


async def test_a_nurse_cannot_override_without_the_doctor(appliance_pair, card, drive, host, staff_accounts) -> None:
    """The nurse at the guard screen: a reason alone does nothing, and her own password is not the
    doctor's attestation; the guard stays on screen and nothing is sealed."""
    await one_resident_visit(appliance_pair, card, drive)
    app = appliance_pair.staff()
    async with app.run_test(size=(100, 40)) as pilot:
        await guard_screen(pilot, app, drive, appliance_pair, {"dose_number": 2}, "left_upper_arm", staff_id="N0001")
        assert "D0001" in " ".join(str(w.render()) for w in app.screen.query("Static"))
        app.screen.query_one("#reason").value = "看護師の判断"
        await drive.click(pilot, app, "#override")  # no doctor's attestation: nothing happens
        await pilot.pause()
        assert isinstance(app.screen, GuardScreen)
        app.screen.query_one("#password").value = "wrong-password-here"  # not the doctor's password
        await drive.click(pilot, app, "#override")
        await drive.until(pilot, lambda: shown(app, "#error") != "", app)
        assert isinstance(app.screen, GuardScreen)
    assert delivered(appliance_pair, host) == []


async def test_the_doctor_overrides_with_a_reason_and_the_record_carries_it(
    appliance_pair, card, drive, host, staff_accounts
) -> None:
    """Series complete (an overridable finding): the deciding doctor overrides it with a reason; the sealed
    record at the host carries the override."""
    await one_resident_visit(appliance_pair, card, drive)
    app = appliance_pair.staff()
    async with app.run_test(size=(100, 40)) as pilot:
        await guard_screen(pilot, app, drive, appliance_pair, {"history": (EARLIER,)}, "left_upper_arm")
        await drive.click(pilot, app, "#override")  # no reason: refused
        await drive.until(pilot, lambda: "理由" in shown(app, "#error"), app)
        app.screen.query_one("#reason").value = "前回接種の記録が誤り"
        await drive.click(pilot, app, "#override")
        await drive.until(pilot, lambda: isinstance(app.screen, SecondCheckScreen), app)
        app.screen.query_one("#checker").value = "N0002"
        app.screen.query_one("#password").value = PASSWORD
        await drive.click(pilot, app, "#confirm")
        await drive.until(pilot, lambda: "完了 (1)" in shown(app, "#visits Static"), app)
    (record,) = delivered(appliance_pair, host)
    assert record["guard_overrides"] == [
        {"code": "series_complete", "doctor_id": "D0001", "reason": "前回接種の記録が誤り"}
    ]
    assert (record["entered_by"], record["checked_by"], record["doctor_id"]) == ("D0001", "N0002", "D0001")
