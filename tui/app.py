"""The resident kiosk App: its global rules (lockdown, idle reset, faults, the staff call) and nothing else.

Residents only: the staff and technician screens are a separate app (`yoshin-kiosk --staff`,
tui/staff_app.py), so nothing here can show staff data or another resident's. Lockdown (tui/lockdown.py):
no inherited key binding (no ctrl+q quit, no ctrl+c copy), no command palette, no text selection, quit
does nothing. Idle reset: any input restarts the idle clock; after the timeout the visit in memory is
wiped. The clock is injected, so tests move time instead of waiting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from yoshin.smartcard.errors import CardError, NoReaderError
from yoshin.tui.lockdown import LockedDownApp
from yoshin.tui.services import KioskServices
from yoshin.tui.state import Visit
from yoshin.tui.text import t
from yoshin.tui.workers import kiosk_work

if TYPE_CHECKING:
    from yoshin.tui.voice import Prompt

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 90.0
IDLE_WARNING = 15.0
READER_POLL = 0.5


class KioskApp(LockedDownApp):
    CSS_PATH = Path(__file__).parent / "kiosk.tcss"  # absolute: subclasses (the demo) live elsewhere
    # Only moving the focus is bound (Tab / Shift+Tab, for a keyboard or a switch interface); Enter and
    # Space press the focused button (the widgets' own bindings). Nothing quits, copies or opens a palette.
    BINDINGS: ClassVar[list[Any]] = [
        Binding("tab", "focus_next", show=False),
        Binding("shift+tab", "focus_previous", show=False),
    ]
    TITLE = "yoshin"

    def __init__(
        self,
        services: KioskServices,
        idle_timeout: float = IDLE_TIMEOUT,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        large_text: bool = False,
    ) -> None:
        super().__init__()
        self.large_text = large_text  # the appliance's default for each new visit (--large-text)
        self.theme = "textual-light"  # the widgets' own defaults light too, under the kiosk's colours
        self.services = services
        self.idle_timeout = idle_timeout
        self.clock = clock
        self.visit = Visit()
        self.last_input = clock()
        self.idle_warning_shown = False
        self.reader_missing = False  # set by whoever sees the reader go first, cleared by the monitor
        self.visits_forgotten = 0  # how many visit ends have released their screens' memory (tests wait on it)

    def on_mount(self) -> None:
        self.reset()
        self.set_interval(1.0, self.check_inactivity)
        self._monitor_reader()

    # --- idle reset -------------------------------------------------------------------------------

    def on_event(self, event: events.Event) -> Any:
        if isinstance(event, events.InputEvent):
            self.last_input = self.clock()
            self.idle_warning_shown = False
            self._close_idle_warning()
        return super().on_event(event)

    def _close_idle_warning(self) -> None:
        from yoshin.tui.screens.idle import IdleWarning

        if isinstance(self.screen, IdleWarning):
            self.screen.dismiss()

    def check_inactivity(self) -> None:
        idle = (self.clock() - self.last_input).total_seconds()
        if not self.visit_in_progress():
            return
        from yoshin.tui.screens.idle import IdleWarning

        if idle >= self.idle_timeout:
            self.end_visit()
        elif idle >= self.idle_timeout - IDLE_WARNING:
            left = max(1, round(self.idle_timeout - idle))
            if not self.idle_warning_shown:
                from yoshin.tui.voice import EVENT_PROMPTS

                self.idle_warning_shown = True
                self.push_screen(IdleWarning(left))
                self.speak(EVENT_PROMPTS["idle_warning"])
            elif isinstance(self.screen, IdleWarning):
                self.screen.count_down(left)

    def visit_in_progress(self) -> bool:
        if not all(getattr(screen, "idle_resets", True) for screen in self.screen_stack):
            return False
        return len(self.screen_stack) > 1 or self.visit.consent

    # --- the card and the reader: every fault ends on a screen, never in a traceback -----------------

    def watch_card(self) -> None:
        """From the PIN screen on: a card pulled before the answers are sent abandons the visit at once."""
        self._watch_card(self.visit.token)

    @kiosk_work("watch")
    def _watch_card(self, token: object) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled and self.visit.token is token and not self.visit.submitted:
            try:
                removed = self.services.wait_for_removal(timeout=0.5)
            except CardError:
                self.call_from_thread(self.reader_lost)
                return
            if removed:
                self.call_from_thread(self.card_pulled, token)
                return

    def stop_watching_card(self) -> None:
        self.workers.cancel_group(self, "watch")

    def card_pulled(self, token: object) -> None:
        """The card left while a screen needed it: the answers are wiped, then the resident is told."""
        from yoshin.tui.screens.faults import CardPulledScreen

        expected = any(getattr(screen, "card_expected", False) for screen in self.screen_stack)
        visit = self.visit
        if visit.token is not token or visit.submitted or not expected:  # (a dialog may be on top)
            return
        self.visit = visit.wiped()
        self._show_only(CardPulledScreen())

    @kiosk_work("reader-monitor")
    def _monitor_reader(self) -> None:
        """Whether pcscd and the reader are there, checked twice a second, for as long as the app runs."""
        worker = get_current_worker()
        wake = threading.Event()
        while not worker.is_cancelled:
            # Compared with what the app last concluded, not with this loop's last look: a card worker may
            # have seen the outage first, and pcscd may be back before this loop ever saw it gone.
            ready = self.services.reader_ready()
            if ready == self.reader_missing:
                self.call_from_thread(self.reader_back if ready else self.reader_lost)
            wake.wait(READER_POLL)  # polling the reader; the loop ends with the app's workers

    def reader_lost(self) -> None:
        """pcscd or the reader went away: wipe the visit (a card put back later may be another person's)
        and say so in both languages until the reader monitor sees it again."""
        from yoshin.tui.screens.faults import ReaderMissingScreen

        self.reader_missing = True
        if isinstance(self.screen, ReaderMissingScreen):
            return
        self.stop_watching_card()
        self.visit = Visit()
        self._show_only(ReaderMissingScreen())

    def reader_back(self) -> None:
        from yoshin.tui.screens.faults import ReaderMissingScreen

        self.reader_missing = False
        if isinstance(self.screen, ReaderMissingScreen):
            self.end_visit()

    def worker_failed(self, worker: Worker[Any]) -> None:
        """A worker raised: log it, wipe the visit and show the error screen; the app carries on."""
        error = worker.error
        log.error("worker %s failed: %s", worker.name, type(error).__name__, exc_info=error)
        if isinstance(error, NoReaderError):
            self.reader_lost()
            return
        self.failed()

    def failed(self) -> None:
        """The visit cannot go on (a failed worker, the outbox or the appliance agent refusing a step): wipe
        it and show the error screen, which ends the visit through the remove-card step."""
        from yoshin.tui.screens.faults import ErrorScreen

        self.stop_watching_card()
        self.visit = Visit()
        self._show_only(ErrorScreen())

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.worker_failed(event.worker)

    def call_staff(self, screen: str) -> None:
        """職員を呼ぶ: recorded for the staff app and signalled on the board; the visit goes on as it was."""
        from yoshin.tui.voice import EVENT_PROMPTS

        self._call_staff(screen)
        self.notify(t("staff_called", self.visit.lang), timeout=10)
        self.speak(EVENT_PROMPTS["staff_called"])

    def speak(self, prompt: Prompt | None) -> None:
        """音声案内: a fixed prompt in the visit's language at the visit's volume, queued on the speaker's own
        thread (never waits)."""
        voice = self.services.voice
        if voice is not None and prompt is not None:
            from yoshin.tui.voice import utterances

            voice.say(utterances(prompt, self.visit.lang), scale=self.visit.loudness.factor)

    def change_volume(self) -> None:
        """音量: the next level for this visit, shown on the button and heard at once (the screen's prompt
        again, at the new level; 消音 cuts what is playing). The next visit starts at the appliance's volume."""
        from yoshin.tui.screens.base import KioskScreen

        self.visit.loudness = self.visit.loudness.next()
        screen = self.screen
        if isinstance(screen, KioskScreen):
            screen.show_volume()
            screen.say_prompt()

    @kiosk_work("staff-call", exclusive=False)
    def _call_staff(self, screen: str) -> None:
        self.services.call_staff(screen)

    @kiosk_work("thermometer", exclusive=False)
    def measure_temperature(self) -> None:
        """Read the thermometer while the resident chooses; the questionnaire prefills the reading."""
        visit = self.visit
        visit.temperature = self.services.temperature()

    @kiosk_work("beep", exclusive=False)
    def beep(self, pattern: str) -> None:
        self.services.beep(pattern)

    def end_visit(self) -> None:
        """Every way a visit ends (done, 戻る, 同意しない, idle, a fault): the visit is wiped, and while a
        card is on the reader the remove-card step comes first, with its reminder, so the next person
        never meets the previous one's card."""
        from yoshin.tui.screens.remove_card import RemoveCardScreen

        self.stop_watching_card()
        self.visit = self.visit.wiped()  # (its language and volume for the reminder)
        if self.services.card_present():
            self._show_only(RemoveCardScreen(completed=False))
        else:
            self.reset()

    def reset(self) -> None:
        """Drop every screen and wipe the visit: back to the welcome screen (and silence the board)."""
        from yoshin.tui.screens.welcome import WelcomeScreen

        if self.services.board is not None:
            self.beep("off")
        self.stop_watching_card()
        self.visit = Visit(large_text=self.large_text)
        self._forget(self._show_only(WelcomeScreen()))

    @work(group="forget", exclusive=True, exit_on_error=False)
    async def _forget(self, dropped: list[AwaitComplete]) -> None:
        """Once the dropped screens are removed: nothing they drew stays in memory (tui/memory.py)."""
        from yoshin.tui.memory import forget_drawn_visit

        for removal in dropped:
            await removal
        forget_drawn_visit()
        self.visits_forgotten += 1

    def _show_only(self, screen: Screen[Any]) -> list[AwaitComplete]:
        """`screen` alone above the base: every other screen (and what it showed) is dropped; the
        removals, to await."""
        self.last_input = self.clock()
        self.idle_warning_shown = False
        dropped = []
        while len(self.screen_stack) > 1:
            dropped.append(self.pop_screen())
        self.push_screen(screen)
        return dropped
