"""One visit for the doctor: its flags first (they cannot scroll out of sight), then every answer, then
the decision (接種可 / 見合わせ).

Only a doctor's login records a decision; overriding a 接種不可 flag needs a reason (domain rule); a
deferral needs only its reason; proceeding needs the explanation confirmed. The decision is sealed into
the outbox at once; the visit then moves to 接種待ち (or 完了 when deferred) and the list shows again.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Static

from yoshin.device.visit import DOCTOR, PendingVisit, Proofs, record_decision
from yoshin.domain.clock import today as jst_today
from yoshin.domain.contract import Decision, FlagKind
from yoshin.domain.i18n import BilingualError
from yoshin.tui import staff_view
from yoshin.tui.screens.staff_base import StaffScreen
from yoshin.tui.widgets import KioskInput


def free_text(widget: Input) -> str | None:
    """A designated free-text field: NFKC, trimmed, None when empty."""
    text = unicodedata.normalize("NFKC", widget.value).strip()
    return text or None


class FlagsPanel(Static):
    """The visit's raised flags in words and colour; shown on every screen that opens the visit."""


def flags_panel(screen: StaffScreen, pending: PendingVisit) -> FlagsPanel:
    lang = screen.kiosk.staff_lang
    record = pending.questionnaire
    rules = screen.kiosk.services.rules()
    template = rules.templates.for_vaccine(record.vaccine_code, jst_today(screen.kiosk.clock()))
    lines = staff_view.flag_lines(record, template)
    if not lines:
        return FlagsPanel(screen.text("no_flags"), id="flags")
    shown = []
    for line in lines:
        flag = screen.text("flag_" + line.flag)
        shown.append(f"{flag} {line.reason.get(lang)} ({line.question.get(lang)}: {line.answer.get(lang)})")
    kind = "not-eligible" if any(line.flag is FlagKind.NOT_ELIGIBLE for line in lines) else "doctor-review"
    return FlagsPanel("\n".join(shown), id="flags", classes=kind)


def birth_text(born: date) -> str:
    return born.strftime("%Y/%m/%d")


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
            header = f"{self.pending.name} ({birth_text(self.pending.birth_date)})  {name} {dose}"
            yield Static(header, classes="title", id="subject")
            if record.reception is not None:  # control 4: who confirmed the identity at reception, on what
                check = record.reception
                documents = self.text("list_sep").join(self.text(f"document_{d}") for d in check.documents)
                who = self.text(f"presenter_{check.presenter}")
                line = self.text("reception_by", name=check.confirmed_by, who=who, documents=documents)
                yield Static(line, classes="message", id="reception")
            if self.pending.offline:
                yield Static(self.text("offline_visit"), classes="message warning", id="offline")
            yield flags_panel(self, self.pending)
            with VerticalScroll(id="answers"):
                for question_id, value in record.answers.items():
                    text = template.question(question_id).text.get(lang) if template else question_id
                    shown = staff_view.answer_text(template, question_id, value).get(lang)
                    mark = f"  {self.text('flag_' + flagged[question_id])}" if question_id in flagged else ""
                    yield Static(f"{text}: {shown}{mark}", classes="flagged" if mark else "")
            yield Static("", id="error", classes="message error")
            if self.member.role != DOCTOR:
                yield Static(self.text("doctor_only"), classes="message warning", id="doctor-only")
                yield Button(self.text("back"), id="back")
                return
            with Horizontal():
                yield KioskInput(placeholder=self.text("reason"), id="reason", max_length=200)
                if self.pending.not_eligible_flagged:
                    yield KioskInput(placeholder=self.text("override_reason"), id="override", max_length=200)
            with Horizontal(id="decide"):
                yield Checkbox(self.text("explained"), id="explained")
                yield Button(self.text("proceed"), id="proceed", classes="primary")
                yield Button(self.text("defer"), id="defer")
                yield Button(self.text("back"), id="back")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button == "back":
            self.app.pop_screen()
        elif button in ("proceed", "defer"):
            self.decide(Decision(button))

    def decide(self, decision: Decision) -> None:
        services = self.kiosk.services
        overrides = self.query("#override")
        now = self.kiosk.clock()
        session = self.kiosk.staff
        try:
            decided = record_decision(
                services,
                self.pending,
                self.member,
                decision,
                reason=free_text(self.query_one("#reason", Input)),
                override_reason=free_text(overrides.first(Input)) if overrides else None,
                explanation_given=self.query_one("#explained", Checkbox).value,
                now=now,
                proofs=Proofs(decided_by=session.attestation if session else None),
            )
        except BilingualError as error:  # a VisitError, or the contract refusing a field
            self.query_one("#error", Static).update(error.message.get(self.kiosk.staff_lang))
            return
        if decision is Decision.DEFER:
            services.finish_pending(decided, "defer", now)
        self.notify(self.text("recorded"))
        self.app.pop_screen()
