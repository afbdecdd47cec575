"""The base of every kiosk screen: no inherited key bindings (no ctrl+c copy), easy access to the visit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.screen import Screen

from yoshin.tui.text import t

if TYPE_CHECKING:
    from yoshin.device.visit import StaffMember
    from yoshin.tui.app import KioskApp
    from yoshin.tui.state import Visit


class KioskScreen(Screen[Any], inherit_bindings=False):
    BINDINGS: ClassVar[list[Any]] = []

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
