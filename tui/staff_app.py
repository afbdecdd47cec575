"""The staff app: staff and technician screens in their own Textual app, apart from the resident kiosk.

`yoshin-kiosk --staff` runs it on a second display, or with `--serve` for the staff PC's browser over
TLS. It reads the same appliance (pending visits under the day key, the outbox, staff calls) as the
resident kiosk, which keeps serving residents meanwhile and never shows staff or other residents' data.

Sessions: login at the host (password, or the staff member's own card and PIN). After `idle_timeout`
seconds without input the session locks: a warning with a countdown first (`lock_warning` seconds), then
an opaque lock screen over the stack. The host session is closed at once, but the screens stay in memory
with what was half-typed; the same member logging in again resumes there, anyone else starts afresh (the
old stack is dropped). The clock is injected: tests move time instead of waiting.

The day's list refreshes by itself: every `refresh_interval` seconds the app asks the list whether the
pending store, the staff calls or the queue changed (`check_pending`; a digest of the stored rows, nothing
decrypted) and redraws it only then. Tests build the app without the timer (`refresh_interval=None`) and
call `check_pending` as the timer would, so no refresh lands between a test's steps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any, ClassVar

from textual import events, work
from textual.widgets import Static

from yoshin.tui.lockdown import LockedDownApp
from yoshin.tui.offline_resume import ResumeKey
from yoshin.tui.services import KioskServices, StaffSession
from yoshin.tui.staff_text import ts

HERE = Path(__file__).parent
STAFF_IDLE_TIMEOUT = 300.0
LOCK_WARNING = 30.0
REFRESH_INTERVAL = 2.0


class StaffApp(LockedDownApp):
    CSS_PATH: ClassVar[list[str | PurePath]] = [HERE / "kiosk.tcss", HERE / "staff.tcss"]
    TITLE = "yoshin staff"

    def __init__(
        self,
        services: KioskServices,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        idle_timeout: float = STAFF_IDLE_TIMEOUT,
        lock_warning: float = LOCK_WARNING,
        refresh_interval: float | None = REFRESH_INTERVAL,
    ) -> None:
        super().__init__()
        self.services = services
        self.clock = clock
        self.idle_timeout = idle_timeout
        self.lock_warning = min(lock_warning, idle_timeout)
        self.refresh_interval = refresh_interval
        self.staff: StaffSession | None = None
        self.staff_lang = "ja"
        self.locked = False
        self.last_input = clock()
        self.resume_key: ResumeKey | None = None  # offline unlock (tui/offline_resume.py), in memory only

    def on_mount(self) -> None:
        self.show_login()
        self.set_interval(1.0, self.check_inactivity)
        if self.refresh_interval is not None:  # None: no timer (tests call check_pending themselves)
            self.set_interval(self.refresh_interval, self.check_pending)

    async def check_pending(self) -> bool:
        """The timer's tick: the day's list, when it is on screen and unlocked, refreshes if anything changed."""
        from yoshin.tui.screens.staff_home import StaffHomeScreen

        screen = self.screen
        if self.locked or self.staff is None or not isinstance(screen, StaffHomeScreen):
            return False
        return await screen.refresh_if_changed()

    # --- idle lock ------------------------------------------------------------------------------------

    def on_event(self, event: events.Event) -> Any:
        if isinstance(event, events.InputEvent):
            self.last_input = self.clock()
            self._remove_countdown()
        return super().on_event(event)

    def check_inactivity(self) -> None:
        if self.staff is None or self.locked:
            return
        left = self.idle_timeout - (self.clock() - self.last_input).total_seconds()
        if left <= 0:
            self.lock()
        elif left <= self.lock_warning:
            self._show_countdown(int(left + 0.999))

    def _show_countdown(self, seconds: int) -> None:
        text = ts("lock_countdown", self.staff_lang, seconds=seconds)
        found = self.screen.query("#lock-countdown")
        if found:
            found.first(Static).update(text)
        else:
            self.screen.mount(Static(text, id="lock-countdown", classes="warning"))

    def _remove_countdown(self) -> None:
        for screen in self.screen_stack:
            for widget in screen.query("#lock-countdown"):
                widget.remove()

    def lock(self) -> None:
        """Hide everything behind the lock screen; keep the screens (and their half-typed entries)."""
        from yoshin.tui.screens.staff_login import StaffLockScreen

        session = self.staff
        if session is None or self.locked:
            return
        self.locked = True
        self._remove_countdown()
        self._logout(session)
        self.push_screen(StaffLockScreen(session.member))

    # --- login and logout -------------------------------------------------------------------------------

    def show_login(self) -> None:
        from yoshin.tui.screens.staff_login import StaffLoginScreen

        self._drop_screens()
        if not self.services.appliance.keystore.is_enrolled():
            # A fresh install: no one can log in before it is enrolled; a technician provisions it here.
            from yoshin.tui.screens.technician_provision import ProvisionScreen

            self.push_screen(ProvisionScreen())
            return
        self.push_screen(StaffLoginScreen(can_go_back=False))

    def start_staff(self, session: StaffSession, lang: str) -> None:
        from yoshin.tui.screens.staff_home import StaffHomeScreen
        from yoshin.tui.screens.technician import TechnicianScreen

        resume = self.locked and self.staff is not None and self.staff.member.staff_id == session.member.staff_id
        self.staff, self.staff_lang, self.locked = session, lang, False
        self.last_input = self.clock()
        if resume:
            self.pop_screen()  # the lock screen: back where the member left off
            return
        self._drop_screens()
        self.push_screen(TechnicianScreen() if session.member.role == "technician" else StaffHomeScreen())

    def remember_password(self, staff_id: str, password: str) -> None:
        """After a password login the host accepted (called from the login worker: scrypt takes a while)."""
        self.resume_key = ResumeKey.of(staff_id, password, self.clock())

    def resume_offline(self, staff_id: str, password: str) -> bool:
        """The host is unreachable: unlock the locked session of this same member with the same password."""
        key, session = self.resume_key, self.staff
        if not self.locked or session is None or session.member.staff_id != staff_id or key is None:
            return False
        return key.matches(staff_id, password, self.clock())

    def end_staff(self) -> None:
        """Log out: every screen and everything it showed is dropped; the login screen again."""
        session, self.staff, self.resume_key = self.staff, None, None
        if session is not None and not self.locked:
            self._logout(session)
        self.locked = False
        self.show_login()

    def _drop_screens(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()

    @work(thread=True, group="logout")
    def _logout(self, session: StaffSession) -> None:
        self.services.staff_logout(session)
