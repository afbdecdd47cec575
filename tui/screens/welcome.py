"""Welcome: the language (日本語 or English) and large text. No staff button: staff use their own app."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox

from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.text import T
from yoshin.tui.widgets import Words


class WelcomeScreen(KioskScreen):
    def compose(self) -> ComposeResult:
        with Vertical():
            yield Words(f"{T['title'].ja} / {T['title'].en}", classes="title")
            yield Words(f"{T['choose_language'].ja} / {T['choose_language'].en}", classes="message")
            with Horizontal():
                yield Button("日本語", id="ja", classes="primary")
                yield Button("English", id="en", classes="primary")
            yield Checkbox(f"{T['large_text'].ja} / {T['large_text'].en}", self.visit.large_text, id="large")

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        """Large text applies at once. In a browser the page's font size is fixed per page load, so the
        page reloads at the other size (a new kiosk session: nothing has been entered yet); in a
        terminal the large-text layout replaces this screen's (tui/web.py, docs/kiosk.md)."""
        if self.app.is_web:
            from yoshin.tui.web import LARGE_URL, NORMAL_URL

            self.app.open_url(LARGE_URL if event.value else NORMAL_URL, new_tab=False)
            return
        self.visit.large_text = event.value
        self.set_class(event.value, "large")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        from yoshin.tui.screens.consent import ConsentScreen

        self.visit.lang = event.button.id or "ja"
        self.visit.large_text = self.query_one("#large", Checkbox).value
        self.app.push_screen(ConsentScreen())
