"""Staff home: today's questionnaires waiting for the doctor, and the health of the outbox."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from yoshin.domain.clock import now_jst
from yoshin.domain.clock import today as jst_today
from yoshin.tui.screens.base import StaffScreen


def _age_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


class StaffHomeScreen(StaffScreen):
    def compose(self) -> ComposeResult:
        member = self.member
        with Vertical():
            yield Static(self.text("logged_in_as", name=member.name, role=member.role), classes="message", id="who")
            yield Static("", id="queue", classes="message")
            yield Static(self.text("pending"), classes="title")
            yield VerticalScroll(id="visits")
            with Horizontal():
                yield Button(self.text("refresh"), id="refresh")
                yield Button(self.text("logout"), id="logout")

    async def on_mount(self) -> None:
        await self.refresh_lists()

    async def on_screen_resume(self) -> None:
        await self.refresh_lists()

    async def refresh_lists(self) -> None:
        services = self.kiosk.services
        queue = services.queue_status()
        health = self.text(
            "queue_health", depth=queue.depth, oldest=_age_text(queue.oldest_age_seconds), dead=queue.dead_letters
        )
        line = self.query_one("#queue", Static)
        line.update(health + ("\n" + self.text("queue_alarm") if queue.alarm else ""))
        line.set_class(queue.alarm or queue.dead_letters > 0, "warning")
        catalogue = services.rules().catalogue
        today = jst_today(self.kiosk.clock())
        buttons = []
        self.visits = {visit.visit_id: visit for visit in services.pending_visits()}
        for visit_id, visit in self.visits.items():
            record = visit.questionnaire
            vaccine = catalogue.vaccine(record.vaccine_code, today)
            name = vaccine.name.get(self.kiosk.staff_lang) if vaccine else record.vaccine_code
            time = now_jst(record.answered_at).strftime("%H:%M")
            marks = (" ⚠" + self.text("flagged") if record.flags else "") + (" ✓" if visit.decision else "")
            label = f"{time}  {visit.name}  {name} {self.text('dose', n=visit.dose_number)}{marks}"
            buttons.append(Button(label, id=f"visit-{visit_id}", classes="flagged" if record.flags else ""))
        listing = self.query_one("#visits", VerticalScroll)
        await listing.remove_children()
        await listing.mount_all(buttons or [Static(self.text("no_pending"), classes="message")])

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        from yoshin.tui.screens.staff_visit import StaffVisitScreen

        button = event.button.id or ""
        if button == "logout":
            self.kiosk.end_staff()
        elif button == "refresh":
            await self.refresh_lists()
        elif button.startswith("visit-"):
            visit_id = button.removeprefix("visit-")
            self.app.push_screen(StaffVisitScreen(self.visits[visit_id]))
