"""One visit for staff: the answers with raised flags highlighted, then the doctor's decision (可 / 見合わせ).

Only a doctor's login records a decision; the visit layer (`yoshin.device.visit.record_decision`)
enforces it and the other rules (a 接種不可 flag needs a reason, a deferral needs a reason, the
explanation must be confirmed). A deferral ends the visit, "proceed" leads to the entry.
"""

from __future__ import annotations

import unicodedata

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Static

from yoshin.device.visit import DOCTOR, PendingVisit, record_decision
from yoshin.domain.clock import today as jst_today
from yoshin.domain.contract import Decision
from yoshin.domain.i18n import BilingualError
from yoshin.tui.screens.base import StaffScreen
from yoshin.tui.widgets import KioskInput


def free_text(widget: Input) -> str | None:
    """A designated free-text field: NFKC, trimmed, None when empty."""
    text = unicodedata.normalize("NFKC", widget.value).strip()
    return text or None


class StaffVisitScreen(StaffScreen):
    def __init__(self, pending: PendingVisit) -> None:
        super().__init__()
        self.pending = pending

    def compose(self) -> ComposeResult:
        lang = self.kiosk.staff_lang
        record = self.pending.questionnaire
        rules, today = self.kiosk.services.rules(), jst_today(self.kiosk.clock())
        template = rules.templates.for_vaccine(record.vaccine_code, today)
        vaccine = rules.catalogue.vaccine(record.vaccine_code, today)
        flagged = {flag.question_id: flag.flag for flag in record.flags}
        with Vertical():
            name = vaccine.name.get(lang) if vaccine else record.vaccine_code
            dose = self.text("dose", n=self.pending.dose_number)
            header = f"{self.pending.name} ({self.pending.birth_date.isoformat()})  {name} {dose}"
            yield Static(header, classes="title", id="subject")
            if self.pending.offline:
                yield Static(self.text("offline_visit"), classes="message warning", id="offline")
            with VerticalScroll(id="answers"):
                for question_id, value in record.answers.items():
                    text = template.question(question_id).text.get(lang) if template else question_id
                    shown = self.text("yes") if value is True else self.text("no") if value is False else str(value)
                    mark = f"  ⚠ {self.text('flag_' + flagged[question_id])}" if question_id in flagged else ""
                    yield Static(f"{text}: {shown}{mark}", classes="flagged" if mark else "")
            yield Static("", id="error", classes="message error")
            decision = self.pending.decision
            if decision is not None:
                yield Static(f"{self.text('decision')}: {self.text(decision.decision)}", classes="message")
                with Horizontal():
                    yield Button(self.text("vaccination"), id="entry", classes="primary")
                    yield Button(self.text("back"), id="back")
            elif self.member.role != DOCTOR:
                yield Static(self.text("doctor_only"), classes="message warning", id="doctor-only")
                yield Button(self.text("back"), id="back")
            else:
                with Horizontal():
                    yield KioskInput(placeholder=self.text("reason"), id="reason", max_length=200)
                    if self.pending.not_eligible_flagged:
                        yield KioskInput(placeholder=self.text("override_reason"), id="override", max_length=200)
                with Horizontal():
                    yield Checkbox(self.text("explained"), id="explained")
                    yield Button(self.text("proceed"), id="proceed", classes="primary")
                    yield Button(self.text("defer"), id="defer")
                    yield Button(self.text("back"), id="back")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        from yoshin.tui.screens.staff_vaccination import VaccinationEntryScreen

        button = event.button.id or ""
        if button == "back":
            self.app.pop_screen()
        elif button == "entry":
            self.app.switch_screen(VaccinationEntryScreen(self.pending))
        elif button in ("proceed", "defer"):
            self.decide(Decision(button))

    def decide(self, decision: Decision) -> None:
        from yoshin.tui.screens.staff_vaccination import VaccinationEntryScreen

        overrides = self.query("#override")
        try:
            self.pending = record_decision(
                self.kiosk.services,
                self.pending,
                self.member,
                decision,
                reason=free_text(self.query_one("#reason", Input)),
                override_reason=free_text(overrides.first(Input)) if overrides else None,
                explanation_given=self.query_one("#explained", Checkbox).value,
                now=self.kiosk.clock(),
            )
        except BilingualError as error:  # a VisitError, or the contract refusing a field
            self.query_one("#error", Static).update(error.message.get(self.kiosk.staff_lang))
            return
        if decision is Decision.DEFER:
            self.notify(self.text("recorded"))
            self.app.pop_screen()
            return
        self.app.switch_screen(VaccinationEntryScreen(self.pending))
