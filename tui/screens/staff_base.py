"""The base of every staff and technician screen: in the language chosen at login, for the member logged in.

These screens run in the staff app (`yoshin.tui.staff_app`). Until the resident kiosk drops its staff
button they also run in its staff mode, so they use only what both apps offer (`StaffHost`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

from textual.screen import Screen

from yoshin.tui.staff_text import ts

if TYPE_CHECKING:
    from yoshin.device.visit import StaffMember
    from yoshin.tui.services import KioskServices, StaffSession


class StaffHost(Protocol):
    """What a staff screen needs from its app."""

    services: KioskServices
    clock: Callable[[], datetime]
    staff: StaffSession | None
    staff_lang: str

    def start_staff(self, session: StaffSession, lang: str) -> None: ...

    def end_staff(self) -> None: ...


class StaffScreen(Screen[Any], inherit_bindings=False):
    BINDINGS: ClassVar[list[Any]] = []

    @property
    def kiosk(self) -> StaffHost:
        return cast("StaffHost", self.app)

    @property
    def member(self) -> StaffMember:
        assert self.kiosk.staff is not None
        return self.kiosk.staff.member

    def text(self, key: str, **values: object) -> str:
        return ts(key, self.kiosk.staff_lang, **values)

    def role(self, role: str) -> str:
        return self.text(f"role_{role}")
