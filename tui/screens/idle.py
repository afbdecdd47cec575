"""The idle warning: a dialog over the screen with a countdown and 続ける, before the visit is wiped."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button

from yoshin.tui.text import t
from yoshin.tui.widgets import Words


class IdleWarning(ModalScreen[None], inherit_bindings=False):
    """Any input closes it (the app's idle clock restarts); the app counts down and ends the visit at zero."""

    BINDINGS: ClassVar[list[Any]] = []
    AUTO_FOCUS = "#continue"

    def __init__(self, seconds_left: int) -> None:
        super().__init__()
        self.seconds_left = seconds_left

    @property
    def lang(self) -> str:
        return self.app.visit.lang  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        with Vertical(id="idle-box"):
            yield Words(t("idle_warning", self.lang), classes="title")
            yield Words(t("idle_countdown", self.lang, n=self.seconds_left), classes="message", id="countdown")
            yield Button(t("continue", self.lang), id="continue", classes="primary")

    def count_down(self, seconds_left: int) -> None:
        self.seconds_left = seconds_left
        for countdown in self.query("#countdown").results(Words):
            countdown.update(t("idle_countdown", self.lang, n=seconds_left))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss()
