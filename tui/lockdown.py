"""Lockdown shared by the kiosk's apps: no inherited key bindings (no ctrl+q quit, no ctrl+c copy), no
command palette (no Quit, no Screenshot), no text selection, quit and screenshot do nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.screen import Screen


class LockedDownApp(App[None], inherit_bindings=False):
    ENABLE_COMMAND_PALETTE = False
    ALLOW_SELECT = False
    BINDINGS: ClassVar[list[Any]] = []

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        return iter(())

    async def action_quit(self) -> None:
        """A kiosk does not quit."""

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """No screenshots: a screen may show personal data."""
