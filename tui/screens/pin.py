"""PIN: masked, an on-screen keypad (touch and mouse) and the keyboard, tries left, last-try warning.

The PIN lives only in this screen's field until it is sent to the card once; it is never logged.
"""

from __future__ import annotations

import unicodedata

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Static

from yoshin.device.errors import DeviceRevoked
from yoshin.protocol.api import IdentityAnswer
from yoshin.smartcard.card import FaceRead
from yoshin.smartcard.errors import CardError, LastTryConfirmationRequired, PinBlockedError, WrongPinError
from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.screens.confirm import ConfirmDialog
from yoshin.tui.widgets import KioskInput, Words
from yoshin.tui.workers import kiosk_work


class PinScreen(KioskScreen):
    card_expected = True

    def __init__(self) -> None:
        super().__init__()
        self.tries: int | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Words(self.text("enter_pin"), classes="title")
            yield KioskInput(password=True, max_length=4, restrict=r"[0-9０-９]*", id="pin")
            yield Words("", id="tries", classes="message")
            yield Words("", id="error", classes="message error")
            with Grid(id="keypad"):
                for digit in "123456789":
                    yield Button(digit, id=f"k{digit}")
                yield Button(self.text("clear"), id="clear")
                yield Button("0", id="k0")
                yield Button(self.text("ok"), id="ok", classes="primary")
            with Horizontal():
                yield Button(self.text("back"), id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#pin", Input).focus()
        self.kiosk.watch_card()  # a pulled card is noticed at once, not at 確定
        self.load_tries()

    @kiosk_work("card")
    def load_tries(self) -> None:
        try:
            tries = self.kiosk.services.face_tries()
        except CardError as error:
            self.app.call_from_thread(self.show_error, error.message.get(self.visit.lang))
            return
        self.app.call_from_thread(self.show_tries, tries)

    def show_tries(self, tries: int | None) -> None:
        self.tries = tries
        self.query_one("#tries", Static).update(self.text("tries_left", n=tries) if tries is not None else "")

    def show_error(self, message: str) -> None:
        self.query_one("#error", Static).update(message)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        field = self.query_one("#pin", Input)
        button = event.button.id or ""
        if button.startswith("k") and len(field.value) < 4:
            field.value += button[1:]
        elif button == "clear":
            field.value = ""
        elif button == "ok":
            self.submit()
        elif button == "back":
            self.kiosk.end_visit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def submit(self) -> None:
        field = self.query_one("#pin", Input)
        pin = unicodedata.normalize("NFKC", field.value)
        if len(pin) != 4:
            self.show_error(self.text("enter_pin"))
            return
        if self.tries == 1:
            dialog = ConfirmDialog(self.text("last_try"), self.text("yes"), self.text("no"), default_yes=False)
            self.app.push_screen(dialog, lambda confirmed: self.read(pin, True) if confirmed else self._cleared())
            from yoshin.tui.voice import EVENT_PROMPTS

            self.kiosk.speak(EVENT_PROMPTS["last_try"])  # 音声案内: the warning is read out too
            return
        self.read(pin, False)

    def _cleared(self) -> None:
        self.query_one("#pin", Input).value = ""

    @kiosk_work("card")
    def read(self, pin: str, confirm_last_try: bool) -> None:
        self.app.call_from_thread(self.show_error, self.text("reading"))
        services = self.kiosk.services
        try:
            face = services.read_face(pin, confirm_last_try)
        except WrongPinError as error:
            self.app.call_from_thread(self._wrong, error)
            return
        except (PinBlockedError, LastTryConfirmationRequired, CardError) as error:
            self.app.call_from_thread(self._failed, error)
            return
        try:
            answer = services.resolve(face)
        except DeviceRevoked as error:
            self.app.call_from_thread(self.show_error, error.message.get(self.visit.lang))
            return
        self.app.call_from_thread(self._read, face, answer)

    def _wrong(self, error: WrongPinError) -> None:
        self._cleared()
        self.show_tries(error.tries_left)
        self.show_error(error.message.get(self.visit.lang))

    def _failed(self, error: CardError) -> None:
        self._cleared()
        self.show_error(error.message.get(self.visit.lang))

    def _read(self, face: FaceRead, answer: IdentityAnswer | None) -> None:
        from yoshin.tui.screens.identity import IdentityScreen

        self.visit.face = face
        self.visit.offline = answer is None
        self.visit.identity = answer
        self.go(IdentityScreen())
