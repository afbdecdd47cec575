"""The base of every kiosk screen: no inherited key bindings (no ctrl+c copy), easy access to the visit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.screen import Screen
from textual.worker import Worker, WorkerState

from yoshin.tui.text import t

if TYPE_CHECKING:
    from yoshin.device.visit import StaffMember
    from yoshin.tui.app import KioskApp
    from yoshin.tui.state import Visit


class KioskScreen(Screen[Any], inherit_bindings=False):
    BINDINGS: ClassVar[list[Any]] = []
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

    def go(self, screen: Screen[Any]) -> None:
        """Replace this screen with the next one (the stack stays one deep above the base)."""
        self.app.switch_screen(screen)

    def on_mount(self) -> None:
        if self.visit.large_text:
            self.add_class("large")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.kiosk.worker_failed(event.worker)


class StaffScreen(KioskScreen):
    """A screen of the staff or technician stack: in the language chosen at login, for the member logged in."""

    @property
    def member(self) -> StaffMember:
        assert self.kiosk.staff is not None
        return self.kiosk.staff.member

    def text(self, key: str, **values: object) -> str:
        return t(key, self.kiosk.staff_lang, **values)

    def on_mount(self) -> None:
        """Staff screens are never in large text (that is the resident's choice)."""
