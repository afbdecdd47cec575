"""Vaccination: today's choice from the host's due list; offline, from the catalogue, marked unverified."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Static

from yoshin.tui.screens.base import KioskScreen


class VaccineScreen(KioskScreen):
    def compose(self) -> ComposeResult:
        lang = self.visit.lang
        catalogue = self.kiosk.services.rules().catalogue
        today = self.kiosk.clock().date()
        with Vertical():
            yield Static(self.text("choose_vaccine"), classes="title")
            if self.visit.offline:
                yield Static(self.text("offline"), classes="message warning", id="offline")
                choices = [(v.code, 1) for v in catalogue.vaccines_in_force(today)]
            else:
                due = (self.visit.subject or {}).get("subject", {}).get("due", [])
                choices = [(item["vaccine_code"], item["dose_number"]) for item in due]
                if not choices:
                    yield Static(self.text("nothing_due"), classes="message")
            for code, dose in choices:
                vaccine = catalogue.vaccine(code, today)
                name = vaccine.name.get(lang) if vaccine else code
                yield Button(f"{name} ({dose})", id=f"v-{code}-{dose}", classes="primary")
            yield Button(self.text("back"), id="back")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        from yoshin.tui.screens.questionnaire import QuestionnaireScreen
        from yoshin.tui.screens.remove_card import RemoveCardScreen

        button = event.button.id or ""
        if button.startswith("v-"):
            _, code, dose = button.split("-")  # vaccine codes use underscores, never hyphens
            self.visit.vaccine_code, self.visit.dose_number = code, int(dose)
            self.go(QuestionnaireScreen())
        else:
            self.go(RemoveCardScreen())
