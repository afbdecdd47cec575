"""The kiosk App: its modes, its global rules (lockdown, idle reset) and nothing else.

Lockdown: no key binding is inherited (no ctrl+q quit, no ctrl+c copy), no command palette (no Quit,
no Screenshot), no text selection, quit does nothing. Idle reset: any input restarts the idle clock;
after the timeout every screen is dropped and the visit in memory wiped. The clock is injected, so tests
move time instead of waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import events, work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.worker import get_current_worker

from yoshin.tui.services import KioskServices, StaffSession
from yoshin.tui.state import Visit
from yoshin.tui.text import t

IDLE_TIMEOUT = 90.0
IDLE_WARNING = 15.0
STAFF_IDLE_TIMEOUT = 300.0


class KioskApp(App[None], inherit_bindings=False):
    CSS_PATH = Path(__file__).parent / "kiosk.tcss"  # absolute: subclasses (the demo) live elsewhere
    ENABLE_COMMAND_PALETTE = False
    ALLOW_SELECT = False
    BINDINGS: ClassVar[list[Any]] = []
    TITLE = "yoshin"
    # Three screen stacks: residents by default; "staff" and "technician" are added at login, dropped at logout.
    DEFAULT_MODE = "resident"
    MODES: ClassVar[dict[str, Any]] = {"resident": Screen}

    def __init__(
        self,
        services: KioskServices,
        idle_timeout: float = IDLE_TIMEOUT,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        staff_idle_timeout: float = STAFF_IDLE_TIMEOUT,
    ) -> None:
        super().__init__()
        self.services = services
        self.idle_timeout = idle_timeout
        self.staff_idle_timeout = staff_idle_timeout
        self.clock = clock
        self.visit = Visit()
        self.staff: StaffSession | None = None
        self.staff_lang = "ja"
        self.last_input = clock()
        self.idle_warning_shown = False

    def on_mount(self) -> None:
        self.reset()
        self.set_interval(1.0, self.check_inactivity)

    # --- lockdown -----------------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        return iter(())

    async def action_quit(self) -> None:
        """A kiosk does not quit."""

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """No screenshots: a screen may show personal data."""

    # --- idle reset -------------------------------------------------------------------------------

    def on_event(self, event: events.Event) -> Any:
        if isinstance(event, events.InputEvent):
            self.last_input = self.clock()
            self.idle_warning_shown = False
        return super().on_event(event)

    def check_inactivity(self) -> None:
        idle = (self.clock() - self.last_input).total_seconds()
        if self.staff is not None:
            if idle >= self.staff_idle_timeout:
                self.end_staff()
            return
        if idle >= self.idle_timeout and self.visit_in_progress():
            self.reset()
        elif idle >= self.idle_timeout - IDLE_WARNING and self.visit_in_progress() and not self.idle_warning_shown:
            self.idle_warning_shown = True
            self.notify(t("idle_warning", self.visit.lang), severity="warning", timeout=IDLE_WARNING)

    def visit_in_progress(self) -> bool:
        return len(self.screen_stack) > 1 or self.visit.consent

    def watch_card(self) -> None:
        """From the first card read on: a card pulled before the answers are sent abandons the visit."""
        self._watch_card()

    @work(thread=True, exclusive=True, group="watch")
    def _watch_card(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled and self.visit.face is not None and not self.visit.submitted:
            if self.services.wait_for_removal(timeout=0.5):
                if self.visit.face is not None and not self.visit.submitted:
                    self.call_from_thread(self.reset)
                return

    # --- staff and technician modes: their own screen stacks, dropped at logout -----------------------

    def start_staff(self, session: StaffSession, lang: str) -> None:
        from yoshin.tui.screens.staff_home import StaffHomeScreen
        from yoshin.tui.screens.technician import TechnicianScreen

        self.staff, self.staff_lang = session, lang
        self.last_input = self.clock()
        mode = "technician" if session.member.role == "technician" else "staff"
        self.add_mode(mode, TechnicianScreen if mode == "technician" else StaffHomeScreen)
        self.switch_mode(mode)
        self.visit = Visit()

    def end_staff(self) -> None:
        """Log out: back to the resident stack; the staff stack and everything it showed are dropped."""
        session, self.staff = self.staff, None
        if session is not None:
            self._logout(session)
        mode = self.current_mode
        self.switch_mode(self.DEFAULT_MODE)
        if mode != self.DEFAULT_MODE:
            self.remove_mode(mode)
        self.reset()

    @work(thread=True, group="logout")
    def _logout(self, session: StaffSession) -> None:
        self.services.staff_logout(session)

    @work(thread=True, group="thermometer")
    def measure_temperature(self) -> None:
        """Read the thermometer while the resident chooses; the questionnaire prefills the reading."""
        visit = self.visit
        visit.temperature = self.services.temperature()

    @work(thread=True, group="beep")
    def beep(self, pattern: str) -> None:
        self.services.beep(pattern)

    def reset(self) -> None:
        """Drop every screen and wipe the visit: back to the welcome screen (and silence the board)."""
        from yoshin.tui.screens.welcome import WelcomeScreen

        if self.services.board is not None:
            self.beep("off")
        self.visit = Visit()
        self.last_input = self.clock()
        self.idle_warning_shown = False
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(WelcomeScreen())
