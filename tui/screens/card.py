"""Card: wait for the My Number card in a worker (PC/SC status change), then ask for the PIN."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button
from textual.worker import get_current_worker

from yoshin.smartcard.errors import CardError
from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.widgets import Words
from yoshin.tui.workers import kiosk_work


class CardScreen(KioskScreen):
    def compose(self) -> ComposeResult:
        with Vertical():
            yield Words(self.text("insert_card"), classes="title")
            yield Button(self.text("back"), id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self.wait_for_card()

    @kiosk_work("card")
    def wait_for_card(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled and self.is_attached:
            try:
                present = self.kiosk.services.wait_for_card(timeout=0.5)
            except CardError:
                self.app.call_from_thread(self.kiosk.reader_lost)
                return
            if present:
                self.app.call_from_thread(self._card_present)
                return

    def _card_present(self) -> None:
        from yoshin.tui.screens.pin import PinScreen

        if self.is_current:
            self.go(PinScreen())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.kiosk.end_visit()
