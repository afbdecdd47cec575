"""The screens a fault leads to, in both languages: the reader gone, the card pulled, an error.

None of them holds personal data: the visit is wiped before any of them is shown.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button

from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.text import both
from yoshin.tui.widgets import Words

NOTICE_SECONDS = 10.0


class ReaderMissingScreen(KioskScreen):
    """pcscd or the reader is gone. The app's reader monitor leaves this screen when the reader is back."""

    idle_resets = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Words(both("reader_missing"), classes="title warning", id="reader-missing")
            yield Words(both("reader_wait"), classes="message")


class _NoticeScreen(KioskScreen):
    """A bilingual notice with a 最初に戻る button; the visit ends by itself after NOTICE_SECONDS."""

    idle_resets = False
    message = ""  # the text key, also the title's widget id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Words(both(self.message), classes="title warning", id=self.message.replace("_", "-"))
            yield Button(both("to_start"), id="to-start", classes="primary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#to-start", Button).focus()
        self.set_timer(NOTICE_SECONDS, self.kiosk.end_visit)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.kiosk.end_visit()


class CardPulledScreen(_NoticeScreen):
    """The card left the reader before the answers were sent: the answers are already wiped."""

    message = "card_pulled"


class ErrorScreen(_NoticeScreen):
    """Something failed that the screens did not expect; the visit is wiped and the kiosk carries on."""

    message = "kiosk_error"
