"""Remove your card (control 6): a reminder that repeats on screen, and by sound through the I/O board
when one is connected, until the card leaves the reader."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual.worker import get_current_worker

from yoshin.tui.screens.base import KioskScreen


class RemoveCardScreen(KioskScreen):
    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.text("remove_card"), classes="title warning", id="reminder")

    def on_mount(self) -> None:
        super().on_mount()
        self.reminders = 0
        self.set_interval(3.0, self.remind)
        self.kiosk.beep("remove_card")  # the board repeats it until told "off"
        self.wait_for_removal()

    def remind(self) -> None:
        self.reminders += 1
        self.query_one("#reminder", Static).toggle_class("warning")

    @work(thread=True, exclusive=True, group="card")
    def wait_for_removal(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled and self.is_attached:
            if self.kiosk.services.wait_for_removal(timeout=0.5):
                self.app.call_from_thread(self._removed)
                return

    def _removed(self) -> None:
        from yoshin.tui.screens.thanks import ThanksScreen

        self.kiosk.beep("off")
        if self.is_current:
            self.go(ThanksScreen())
