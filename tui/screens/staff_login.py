"""Staff login, checked by the host (lockout, one session per ID): the staff ID with either a password, or
the staff member's own My Number card on the reader and its auth PIN (JPKI: the card signs a host
challenge; no password needed). A password login of a member with a registered card also needs the card.
The button pressed chooses the session's language.

The lock screen is the same form for the member whose session locked: their ID is fixed, and logging in
resumes where they left off; "another person" drops the locked session's screens.
"""

from __future__ import annotations

import unicodedata

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from yoshin.device.errors import HostUnreachable
from yoshin.device.visit import StaffMember
from yoshin.domain.i18n import BilingualError
from yoshin.tui.screens.staff_base import StaffScreen
from yoshin.tui.staff_text import STAFF_T
from yoshin.tui.text import T
from yoshin.tui.widgets import KioskInput


def both(key: str, **values: object) -> str:
    text = STAFF_T.get(key) or T[key]
    return f"{text.ja.format(**values)} / {text.en.format(**values)}"


class StaffLoginScreen(StaffScreen):
    def __init__(self, can_go_back: bool = True) -> None:
        super().__init__()
        self.can_go_back = can_go_back  # the resident kiosk's staff mode goes back to its welcome screen

    def heading(self) -> str:
        return both("staff_login")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.heading(), classes="title", id="heading")
            yield KioskInput(
                placeholder=both("staff_id"), id="staff_id", max_length=32, restrict=r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ_\-]*"
            )
            yield KioskInput(placeholder=both("password_or_card"), id="password", password=True, max_length=128)
            yield KioskInput(
                placeholder=both("staff_card_pin"), id="card_pin", password=True, max_length=4, restrict=r"[0-9０-９]*"
            )
            yield Static("", id="error", classes="message error")
            with Horizontal():
                yield Button(T["login"].ja, id="login-ja", classes="primary")
                yield Button(T["login"].en, id="login-en", classes="primary")
                yield from self.other_buttons()

    def other_buttons(self) -> ComposeResult:
        if self.can_go_back:
            yield Button(both("back"), id="back")

    def on_mount(self) -> None:
        self.query_one("#staff_id", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button == "back":
            self.app.reset()  # type: ignore[attr-defined]  # only in the resident kiosk's staff mode
        elif button.startswith("login-"):
            self.submit(button.removeprefix("login-"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        following = {"staff_id": "#password", "password": "#card_pin"}.get(event.input.id or "")
        if following:
            self.query_one(following, Input).focus()
        else:
            self.submit(self.kiosk.staff_lang)

    def submit(self, lang: str) -> None:
        staff_id = unicodedata.normalize("NFKC", self.query_one("#staff_id", Input).value).strip()
        password = self.query_one("#password", Input).value
        card_pin = unicodedata.normalize("NFKC", self.query_one("#card_pin", Input).value) or None
        if staff_id and (password or card_pin):
            self.query_one("#error", Static).update(both("checking"))
            self.login(staff_id, password, card_pin, lang)

    @work(thread=True, exclusive=True, group="login")
    def login(self, staff_id: str, password: str, card_pin: str | None, lang: str) -> None:
        try:
            session = self.kiosk.services.staff_login(staff_id, password or None, card_pin)
        except HostUnreachable as error:
            resume = getattr(self.app, "resume_offline", None)  # the staff app only
            if password and resume is not None and resume(staff_id, password):
                self.app.call_from_thread(self.kiosk.start_staff, self.kiosk.staff, lang)
                return
            offline = STAFF_T["login_offline"]
            self.app.call_from_thread(self.refused, f"{offline.ja}\n{offline.en}\n{error.message.en}")
            return
        except BilingualError as error:
            self.app.call_from_thread(self.refused, f"{error.message.ja}\n{error.message.en}")
            return
        remember = getattr(self.app, "remember_password", None)
        if password and remember is not None:
            remember(staff_id, password)
        self.app.call_from_thread(self.kiosk.start_staff, session, lang)

    def refused(self, message: str) -> None:
        self.query_one("#password", Input).value = ""
        self.query_one("#card_pin", Input).value = ""
        self.query_one("#error", Static).update(message)


class StaffLockScreen(StaffLoginScreen):
    """Opaque: nothing of the locked session shows through. Only its member resumes it."""

    def __init__(self, member: StaffMember) -> None:
        super().__init__(can_go_back=False)
        self.locked_member = member

    def heading(self) -> str:
        return both("locked", name=self.locked_member.name)

    def other_buttons(self) -> ComposeResult:
        yield Button(both("another_person"), id="another")

    def on_mount(self) -> None:
        field = self.query_one("#staff_id", Input)
        field.value = self.locked_member.staff_id
        field.disabled = True
        self.query_one("#password", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "another":
            self.kiosk.end_staff()
        else:
            super().on_button_pressed(event)
