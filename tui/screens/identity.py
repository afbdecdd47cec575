"""Identity: the name and birth date from the card, for the resident to confirm. Never the My Number."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button

from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.widgets import Words
from yoshin.tui.words import long_date


class IdentityScreen(KioskScreen):
    card_expected = True

    def compose(self) -> ComposeResult:
        face = self.visit.face
        assert face is not None
        answer = self.visit.identity
        with Vertical():
            yield Words(self.text("confirm_identity"), classes="title")
            birth = long_date(face.basic_info.birth_date, self.visit.lang)
            guardian = answer.subject.guardian_name if answer is not None and answer.subject else None
            if guardian:  # a child's card: the guardian answers, and is named, too
                who = self.text("is_this_your_child", name=face.basic_info.name, birth=birth, guardian=guardian)
            else:
                who = self.text("is_this_you", name=face.basic_info.name, birth=birth)
            yield Words(who, classes="message", id="who")
            from yoshin.smartcard.card import BindingSkip  # the card layer, when a card was read (a lazy kiosk start)

            binding = face.binding
            if binding is not None and binding.skipped is BindingSkip.PIN_DIFFERS:  # a try used: say so
                yield Words(self.text("auth_pin_differs", n=binding.auth_tries_left), classes="message", id="auth-pin")
            if answer is not None and not answer.ok:
                text = answer.message.get(self.visit.lang) if answer.message else self.text("refer")
                yield Words(text, classes="message error", id="refusal")
                yield Button(self.text("next"), id="finish", classes="primary")
            else:
                with Horizontal():
                    yield Button(self.text("yes"), id="yes", classes="primary")
                    yield Button(self.text("no"), id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        from yoshin.tui.screens.vaccine import VaccineScreen

        if event.button.id == "yes":
            if self.kiosk.services.board is not None:
                self.kiosk.measure_temperature()
            self.go(VaccineScreen())
        else:
            self.kiosk.end_visit()
