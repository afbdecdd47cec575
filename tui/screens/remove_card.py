"""Remove your card (control 6): a reminder that repeats on screen, and by sound through the I/O board
when one is connected, until the card leaves the reader."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual.worker import get_current_worker

from yoshin.smartcard.errors import CardError
from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.widgets import Words
from yoshin.tui.workers import kiosk_work


class RemoveCardScreen(KioskScreen):
    """After a finished visit the thanks screen follows; after an abandoned one, the welcome screen."""

    idle_resets = False  # it waits for the card however long it takes, reminding

    def __init__(self, completed: bool) -> None:
        super().__init__()
        self.completed = completed

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Words(self.text("remove_card"), classes="title warning", id="reminder")

    def on_mount(self) -> None:
        super().on_mount()
        self.kiosk.stop_watching_card()  # the card leaving is what this screen waits for
        self.kiosk.visit = self.visit.wiped()  # sent or abandoned: wiped
        self.reminders = 0
        self.set_interval(3.0, self.remind)
        self.kiosk.beep("remove_card")  # the board repeats it until told "off"
        self.wait_for_removal()

    def remind(self) -> None:
        self.reminders += 1
        self.query_one("#reminder", Static).toggle_class("warning")
        if self.reminders % 4 == 0:  # spoken again every 12 s while the card stays (the screen every 3 s)
            self.say_prompt()

    @kiosk_work("card")
    def wait_for_removal(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled and self.is_attached:
            try:
                removed = self.kiosk.services.wait_for_removal(timeout=0.5)
            except CardError:
                self.app.call_from_thread(self.kiosk.reader_lost)
                return
            if removed:
                self.app.call_from_thread(self._removed)
                return

    def _removed(self) -> None:
        from yoshin.tui.screens.thanks import ThanksScreen

        self.kiosk.beep("off")
        if not self.is_current:
            return
        if self.completed:
            self.go(ThanksScreen())
        else:
            self.kiosk.reset()
