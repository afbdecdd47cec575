"""The kiosk's own widgets: steady inputs, Japanese text broken between phrases, a numeric keypad."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Grid
from textual.content import Content
from textual.geometry import Size
from textual.reactive import reactive
from textual.widgets import Button, Input, Static

from yoshin.tui.words import wrap_phrases


class KioskInput(Input):
    """An input whose cursor does not blink: steadier for older eyes, and screenshots are deterministic."""

    cursor_blink = reactive(False, init=False)


class Words(Static):
    """Plain text (never markup) whose Japanese lines break between phrases, at the width it is given."""

    def __init__(self, text: str = "", **options: Any) -> None:
        super().__init__(text, markup=False, **options)
        self._width_hint: int | None = None

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._width_hint = width  # measured before layout gives the widget its size
        try:
            return super().get_content_height(container, viewport, width)
        finally:
            self._width_hint = None

    def render(self) -> Content:
        text = str(self.content)
        width = self._width_hint or self.content_size.width
        return Content(wrap_phrases(text, width) if width else text)


class CallStaffButton(Button):
    """職員を呼ぶ, on every resident screen. It handles its own press, so no screen's buttons see it."""

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.app.call_staff(type(self.screen).__name__)  # type: ignore[attr-defined]


class VolumeButton(Button):
    """音量, beside 職員を呼ぶ: each press the next level for this visit (tui/voice.py `Loudness`)."""

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.app.change_volume()  # type: ignore[attr-defined]


class NumericKeypad(Grid):
    """Digits, the decimal point and a separator for touch: a value can be entered without a keyboard.
    Its buttons are `kp-0` … `kp-9`, `kp-dot`, `kp-sep` (a date's "-") and `kp-del` (one character back)."""

    KEYS = ("7", "8", "9", "4", "5", "6", "1", "2", "3", "0", "dot", "del")

    def __init__(self, separator: bool = False, **options: Any) -> None:
        super().__init__(**options)
        self.separator = separator

    def compose(self) -> ComposeResult:
        for key in self.KEYS:
            if key == "dot" and self.separator:
                yield Button("-", id="kp-sep", classes="key")
            else:
                yield Button({"dot": ".", "del": "←"}.get(key, key), id=f"kp-{key}", classes="key")


def keypad_apply(value: str, key: str) -> str:
    """What the field shows after pressing keypad button `key` (the part after "kp-")."""
    if key == "del":
        return value[:-1]
    return value + {"dot": ".", "sep": "-"}.get(key, key)
