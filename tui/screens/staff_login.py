"""Staff login: staff ID and password, checked by the host (lockout, one session per ID), plus the staff
member's own My Number card and its auth PIN when one is registered (two factors). The button pressed
chooses the language of the session."""

from __future__ import annotations

import unicodedata

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from yoshin.domain.i18n import BilingualError
from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.text import T
from yoshin.tui.widgets import KioskInput


def both(key: str) -> str:
    return f"{T[key].ja} / {T[key].en}"


class StaffLoginScreen(KioskScreen):
    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(both("staff_login"), classes="title")
            yield KioskInput(
                placeholder=both("staff_id"), id="staff_id", max_length=32, restrict=r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ_\-]*"
            )
            yield KioskInput(placeholder=both("password"), id="password", password=True, max_length=128)
            yield KioskInput(
                placeholder=both("staff_card_pin"), id="card_pin", password=True, max_length=4, restrict=r"[0-9０-９]*"
            )
            yield Static("", id="error", classes="message error")
            with Horizontal():
                yield Button(T["login"].ja, id="login-ja", classes="primary")
                yield Button(T["login"].en, id="login-en", classes="primary")
                yield Button(both("back"), id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#staff_id", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button == "back":
            self.kiosk.reset()
        elif button.startswith("login-"):
            self.submit(button.removeprefix("login-"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        following = {"staff_id": "#password", "password": "#card_pin"}.get(event.input.id or "")
        if following:
            self.query_one(following, Input).focus()
        else:
            self.submit("ja")

    def submit(self, lang: str) -> None:
        staff_id = unicodedata.normalize("NFKC", self.query_one("#staff_id", Input).value).strip()
        password = self.query_one("#password", Input).value
        card_pin = unicodedata.normalize("NFKC", self.query_one("#card_pin", Input).value) or None
        if staff_id and password:
            self.login(staff_id, password, card_pin, lang)

    @work(thread=True, exclusive=True, group="login")
    def login(self, staff_id: str, password: str, card_pin: str | None, lang: str) -> None:
        try:
            session = self.kiosk.services.staff_login(staff_id, password, card_pin)
        except BilingualError as error:
            self.app.call_from_thread(self.refused, f"{error.message.ja}\n{error.message.en}")
            return
        self.app.call_from_thread(self.kiosk.start_staff, session, lang)

    def refused(self, message: str) -> None:
        self.query_one("#password", Input).value = ""
        self.query_one("#card_pin", Input).value = ""
        self.query_one("#error", Static).update(message)
