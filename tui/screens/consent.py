"""Consent (control 5): purpose and terms first; nothing is read from the card before 同意."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button

from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.widgets import Words


class ConsentScreen(KioskScreen):
    def compose(self) -> ComposeResult:
        with Vertical():
            yield Words(self.text("consent_title"), classes="title")
            yield Words(self.text("consent_body"), classes="message")
            with Horizontal():
                yield Button(self.text("agree"), id="agree", classes="primary")
                yield Button(self.text("decline"), id="decline")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        from yoshin.tui.screens.card import CardScreen

        if event.button.id == "agree":
            self.visit.consent = True
            self.visit.started_at = self.kiosk.clock()
            self.go(CardScreen())
        else:
            self.kiosk.end_visit()
