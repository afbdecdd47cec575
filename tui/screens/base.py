"""The base of every kiosk screen: no inherited key bindings (no ctrl+c copy), easy access to the visit."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button
from textual.worker import Worker, WorkerState

from yoshin.domain.clock import today as jst_today
from yoshin.tui.text import both, t
from yoshin.tui.widgets import CallStaffButton, VolumeButton

if TYPE_CHECKING:  # the visit layer and the rules engine load with the first screen that needs them
    from yoshin.domain.templates import SubjectContext
    from yoshin.tui.app import KioskApp
    from yoshin.tui.plan import Chosen
    from yoshin.tui.state import Visit


class KioskScreen(Screen[Any], inherit_bindings=False):
    BINDINGS: ClassVar[list[Any]] = []
    # The first field or button has the focus when a screen opens (never a scroll container).
    AUTO_FOCUS = "Input, Button, Checkbox"
    # The idle timeout ends the visit from this screen (the fault and card-removal screens have their own end).
    idle_resets: ClassVar[bool] = True
    # The resident's card must stay on the reader while this screen shows: pulling it ends the visit.
    card_expected: ClassVar[bool] = False

    @property
    def kiosk(self) -> KioskApp:
        return self.app  # type: ignore[return-value]

    @property
    def visit(self) -> Visit:
        return self.kiosk.visit

    def text(self, key: str, **values: object) -> str:
        return t(key, self.visit.lang, **values)

    # --- the visit's vaccines (one or several) and the person they are for -----------------------------

    def chosen(self) -> list[Chosen]:
        """Today's vaccines with their templates (the vaccine screen offers only those with one in force)."""
        from yoshin.tui.plan import Chosen

        templates = self.kiosk.services.rules().templates
        today = jst_today(self.kiosk.clock())
        chosen = []
        for code, dose in self.visit.vaccines:
            template = templates.for_vaccine(code, today)
            assert template is not None, code
            chosen.append(Chosen(code, dose, template))
        return chosen

    def context(self) -> SubjectContext:
        from yoshin.device.visit import subject_context

        face = self.visit.face
        assert face is not None
        return subject_context(face.basic_info.birth_date, face.basic_info.sex, self.kiosk.clock())

    def vaccine_name(self, code: str) -> str:
        vaccine = self.kiosk.services.rules().catalogue.vaccine(code, jst_today(self.kiosk.clock()))
        return vaccine.name.get(self.visit.lang) if vaccine else code

    def go(self, screen: Screen[Any]) -> None:
        """Replace this screen with the next one (the stack stays one deep above the base)."""
        self.app.switch_screen(screen)

    def on_mount(self) -> Awaitable[None] | None:  # a screen may mount asynchronously
        if self.visit.large_text:
            self.add_class("large")
        if not self.query("#corner"):  # (a subclass's on_mount calling this one runs it twice)
            label = self.text("call_staff") if self.visit.consent else both("call_staff", sep=" / ")
            buttons: list[Button] = [CallStaffButton(label, id="call-staff")]
            if self.kiosk.services.voice is not None:  # 音量 only where there is something to hear
                buttons.append(VolumeButton(self._volume_label(), id="volume"))
            self.mount(Horizontal(*buttons, id="corner"))
            self.say_prompt()
        return None

    def _volume_label(self) -> str:
        # In the visit's language once the resident chose one, in both before (like 職員を呼ぶ).
        return self.visit.loudness.label(self.visit.lang if self.visit.consent else None)

    def show_volume(self) -> None:
        """The 音量 button's words after a change of the visit's volume."""
        for button in self.query("#volume").results(Button):
            button.label = self._volume_label()

    def say_prompt(self) -> None:
        """This screen's fixed voice prompt (tui/voice.py), when the kiosk has a speaker."""
        from yoshin.tui.voice import SCREEN_PROMPTS

        self.kiosk.speak(SCREEN_PROMPTS.get(type(self).__name__))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.kiosk.worker_failed(event.worker)
