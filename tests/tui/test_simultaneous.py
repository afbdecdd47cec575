"""Several vaccines in one visit (同時接種): an infant's standard 2-month visit through the kiosk, one card
read and one PIN, shared questions once, one questionnaire record per vaccine at the host."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest

from yoshin.domain.catalogue import default_catalogue
from yoshin.domain.templates import default_templates
from yoshin.host.server import HostServer
from yoshin.tui.plan import same_day_conflicts
from yoshin.tui.screens.questionnaire import QuestionnaireScreen
from yoshin.tui.screens.remove_card import RemoveCardScreen
from yoshin.tui.screens.review import ReviewScreen
from yoshin.tui.screens.vaccine import VaccineScreen

TWO_MONTHS = ["dpt_ipv_hib", "pcv", "hepb", "rota"]  # 5種混合, 小児用肺炎球菌, B型肝炎, ロタウイルス


async def answer_the_two_month_visit(pilot, app, drive) -> Counter[str]:
    """Choose the four vaccines due at two months and answer every question, counting how often each is
    asked; ends on the review screen."""
    asked: Counter[str] = Counter()
    await drive.until(pilot, lambda: isinstance(app.screen, VaccineScreen), app)
    due = {button.id for button in app.screen.query("#choices Button")}
    assert {f"v-{code}-1" for code in TWO_MONTHS} <= due
    await drive.choose(pilot, app, *(f"#v-{code}-1" for code in TWO_MONTHS))
    for _ in range(80):
        if not isinstance(app.screen, QuestionnaireScreen):
            break
        step, _, _ = app.screen.current_step()
        asked[step.question.id] += 1
        if step.vaccine_code is not None:  # a question about one vaccine names it
            name = app.screen.vaccine_name(step.vaccine_code)
            assert name in str(app.screen.query_one("#for-vaccine").render())
        question = step.question
        if question.type == "number":
            app.screen.query_one("#value").value = "36.8"
            await drive.click(pilot, app, "#value-next")
        elif question.type == "single_choice":
            await drive.click(pilot, app, f"#c-{question.choices[0].value}")
        else:
            yes = question.id in ("read_leaflet", "wants_vaccination", "guardian_consent")
            await drive.click(pilot, app, "#a-yes" if yes else "#a-no")
        await pilot.pause()
    await drive.until(pilot, lambda: isinstance(app.screen, ReviewScreen), app)
    return asked


@pytest.mark.pcsc
async def test_an_infants_two_month_visit_gives_one_questionnaire_per_vaccine(
    kiosk, card, drive, host: HostServer
) -> None:
    app = kiosk()
    emulator = card("infant")
    async with app.run_test(size=(80, 24)) as pilot:
        await drive.start_visit(pilot, app, "ja")
        await drive.type_pin(pilot, app, "1357")  # one card read, one PIN for the whole visit
        await drive.click(pilot, app, "#yes")
        asked = await answer_the_two_month_visit(pilot, app, drive)
        assert asked["temperature"] == 1 and asked["unwell_today"] == 1  # shared: asked once
        assert asked["wants_vaccination"] == len(TWO_MONTHS)  # about each vaccine: asked for each
        assert asked["intussusception"] == 1  # rotavirus's own question
        separate = sum(len(default_templates().for_vaccine(c, date(2026, 10, 15)).questions) for c in TWO_MONTHS)
        assert sum(asked.values()) < separate / 2  # far fewer than four questionnaires one by one
        await drive.click(pilot, app, "#submit")
        await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
        card.remove(emulator)
    assert len(app.services.pending_visits()) == len(TWO_MONTHS)  # one per vaccine for the doctor
    assert drive.drain(app.services.appliance) == len(TWO_MONTHS)
    rows = host.service.db.execute("SELECT subject_id, body FROM inbox WHERE kind = 'questionnaire_response'")
    records = [json.loads(body) for _, body in rows.fetchall()]
    assert sorted(r["vaccine_code"] for r in records) == sorted(TWO_MONTHS)
    assert {r["subject_id"] for r in records} == {"S000109"}
    assert all(r["answers"]["temperature"] == 36.8 and r["answers"]["wants_vaccination"] is True for r in records)
    assert {(r["respondent"], r["guardian_name"]) for r in records} == {("guardian", "高津 真由")}
    assert all("/" not in key for r in records for key in r["answers"])  # each its own template's ids


@pytest.mark.pcsc
async def test_an_offline_two_month_visit_makes_one_identity_claim_for_all_its_vaccines(
    kiosk, card, drive, host: HostServer
) -> None:
    app = kiosk()
    appliance = app.services.appliance
    emulator = card("infant")
    with drive.host_down(appliance):
        async with app.run_test(size=(80, 24)) as pilot:
            await drive.start_visit(pilot, app, "ja")
            await drive.type_pin(pilot, app, "1357")
            await drive.click(pilot, app, "#yes")
            await drive.until(pilot, lambda: bool(app.screen.query("#offline")), app)
            await answer_the_two_month_visit(pilot, app, drive)
            await drive.click(pilot, app, "#submit")
            await drive.until(pilot, lambda: isinstance(app.screen, RemoveCardScreen), app)
            card.remove(emulator)
    assert app.services.queue_status().depth == 1 + len(TWO_MONTHS)  # one sealed identity claim, then answers
    assert drive.drain(appliance) == 1 + len(TWO_MONTHS)
    rows = host.service.db.execute("SELECT kind, subject_id FROM inbox").fetchall()
    assert Counter(kind for kind, _ in rows) == {"identity_claim": 1, "questionnaire_response": len(TWO_MONTHS)}
    linked = {subject for kind, subject in rows if kind == "questionnaire_response"}
    assert linked == {"S000109"}  # every vaccine linked through the one resolved claim


@pytest.mark.pcsc
async def test_the_rules_engine_refuses_the_same_antigen_twice_in_one_visit(kiosk, card, drive) -> None:
    app = kiosk()
    card("infant")
    async with app.run_test(size=(80, 24)) as pilot:
        await drive.start_visit(pilot, app, "ja")
        await drive.type_pin(pilot, app, "1357")
        await drive.click(pilot, app, "#yes")
        await drive.until(pilot, lambda: isinstance(app.screen, VaccineScreen), app)
        screen = app.screen
        # The host's due list never offers Hib beside 5種混合 (which holds it); the kiosk's own check is the
        # rules engine's, so a selection that slips through (an old due list, offline) still stops here.
        screen.selected = [("dpt_ipv_hib", 1), ("hib", 1)]
        await drive.click(pilot, app, "#vaccines-next")
        await pilot.pause()
        assert isinstance(app.screen, VaccineScreen)
        error = str(app.screen.query_one("#error").render()).replace("\n", "")
        assert "同じ日に受けられません" in error and "同じ抗原" in error


def test_same_day_conflicts_come_from_the_rules_guard() -> None:
    on, birth = date(2026, 10, 15), date(2026, 8, 14)
    catalogue = default_catalogue()
    assert same_day_conflicts(birth, "male", [(c, 1) for c in TWO_MONTHS], on, catalogue) == []
    conflicts = same_day_conflicts(birth, "male", [("dpt_ipv_hib", 1), ("pcv", 1), ("hib", 1)], on, catalogue)
    assert [(first, second) for first, second, _ in conflicts] == [("dpt_ipv_hib", "hib")]
