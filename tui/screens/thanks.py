"""Thanks, then the kiosk resets itself for the next person."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from yoshin.tui.screens.base import KioskScreen

THANKS_SECONDS = 8.0


class ThanksScreen(KioskScreen):
    def compose(self) -> ComposeResult:
        yield Static(self.text("thanks"), classes="title")

    def on_mount(self) -> None:
        super().on_mount()
        self.set_timer(THANKS_SECONDS, self.kiosk.reset)
