"""Vaccination: today's choice from the host's due list. Offline, the catalogue's vaccinations for the
card's birth date and sex with no history known (first doses), marked "eligibility not verified"."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, Static

from yoshin.domain.clock import today as jst_today
from yoshin.domain.series import Subject, due_list
from yoshin.tui.screens.base import KioskScreen


class VaccineScreen(KioskScreen):
    card_expected = True

    def compose(self) -> ComposeResult:
        lang = self.visit.lang
        catalogue = self.kiosk.services.rules().catalogue
        today = jst_today(self.kiosk.clock())
        with Vertical():
            yield Static(self.text("choose_vaccine"), classes="title")
            if self.visit.offline:
                yield Static(self.text("offline"), classes="message warning", id="offline")
                face = self.visit.face
                assert face is not None
                subject = Subject(face.basic_info.birth_date, face.basic_info.sex)
                choices = [(e.vaccine_code, e.dose_number or 1) for e in due_list(subject, [], today, catalogue)]
            else:
                due = (self.visit.subject or {}).get("subject", {}).get("due", [])
                choices = [(item["vaccine_code"], item["dose_number"]) for item in due]
                if not choices:
                    yield Static(self.text("nothing_due"), classes="message")
            with VerticalScroll(id="choices"):
                for code, dose in choices:
                    vaccine = catalogue.vaccine(code, today)
                    name = vaccine.name.get(lang) if vaccine else code
                    yield Button(f"{name} ({dose})", id=f"v-{code}-{dose}", classes="primary")
            yield Button(self.text("back"), id="back")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        from yoshin.tui.screens.questionnaire import QuestionnaireScreen

        button = event.button.id or ""
        if button.startswith("v-"):
            _, code, dose = button.split("-")  # vaccine codes use underscores, never hyphens
            self.visit.vaccine_code, self.visit.dose_number = code, int(dose)
            self.visit.answers = {}  # nothing carries over from another vaccine's questionnaire
            self.go(QuestionnaireScreen())
        else:
            self.kiosk.end_visit()
