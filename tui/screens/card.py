"""Card: wait for the My Number card in a worker (PC/SC status change), then ask for the PIN.

Control 4: reception confirms the resident's identity on the staff app before this step. When the card is
on the reader the visit takes the oldest open reception slot (once; it names the confirming member and the
documents seen, nothing of the resident). Where the municipality requires the check and no slot is open,
the card is not read: the screen asks the resident to go to reception and reads it once a slot opens."""

from __future__ import annotations

import threading

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button
from textual.worker import get_current_worker

from yoshin.device.visit import ReceptionSlot
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
        services = self.kiosk.services
        required = services.reception_required()
        wake = threading.Event()
        while not worker.is_cancelled and self.is_attached:
            try:
                present = services.wait_for_card(timeout=0.5)
            except CardError:
                self.app.call_from_thread(self.kiosk.reader_lost)
                return
            if not present:
                continue
            slot = services.take_reception()
            if slot is not None or not required:
                self.app.call_from_thread(self._card_present, slot)
                return
            self.app.call_from_thread(self._reception_first)
            wake.wait(0.5)  # the card stays on the reader: look for reception's slot twice a second

    def _reception_first(self) -> None:
        if not self.query("#reception"):  # mounted only when needed: the usual card screen stays as it is
            from yoshin.tui.voice import EVENT_PROMPTS

            self.query_one(Vertical).mount(
                Words(self.text("reception_first"), id="reception", classes="message"), before=1
            )
            self.kiosk.speak(EVENT_PROMPTS["reception_first"])  # said once, as the words appear

    def _card_present(self, slot: ReceptionSlot | None) -> None:
        from yoshin.tui.screens.pin import PinScreen

        if self.is_current:
            self.visit.reception = slot
            self.go(PinScreen())
        elif slot is not None:  # the visit ended meanwhile: the slot goes back for the next card visit
            self.kiosk.services.open_reception(slot)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.kiosk.end_visit()
