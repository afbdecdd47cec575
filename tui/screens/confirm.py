"""A yes/no question that returns a typed answer (the last PIN try, and every other confirmation)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button

from yoshin.tui.widgets import Words


class ConfirmDialog(ModalScreen[bool], inherit_bindings=False):
    BINDINGS: ClassVar[list[Any]] = []

    card_expected = True  # shown over the PIN screen: a pulled card still ends the visit

    def __init__(self, message: str, yes: str, no: str, default_yes: bool = True) -> None:
        super().__init__()
        self.message, self.yes, self.no, self.default_yes = message, yes, no, default_yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Words(self.message, classes="message warning")
            with Horizontal():
                yield Button(self.yes, id="yes", classes="primary")
                yield Button(self.no, id="no")

    def on_mount(self) -> None:
        """The safe answer has the focus: Enter on the last PIN try must not risk blocking the card."""
        self.query_one("#yes" if self.default_yes else "#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
