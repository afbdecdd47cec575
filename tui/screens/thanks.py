"""Thanks, then the kiosk resets itself for the next person."""

from __future__ import annotations

from textual.app import ComposeResult

from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.widgets import Words

THANKS_SECONDS = 8.0


class ThanksScreen(KioskScreen):
    def compose(self) -> ComposeResult:
        yield Words(self.text("thanks"), classes="title")

    def on_mount(self) -> None:
        super().on_mount()
        self.set_timer(THANKS_SECONDS, self.kiosk.reset)
