"""Staff home: today's visits in three lists (診察待ち, 接種待ち, 完了), each row with its signals in colour
and in words (✖接種不可, ⚠要医師確認, the fever's value); the staff calls from the resident kiosk; the
health of the outbox. The lists refresh by themselves when the pending store, the calls or the queue change
(`refresh_if_changed`, polled by the staff app's timer). One tap on a row opens the doctor's decision
(診察待ち), the nurse's entry (接種待ち) or the second person's check (確認待ち)."""

from __future__ import annotations

import asyncio
from functools import cached_property

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Static

from yoshin.domain.clock import now_jst
from yoshin.domain.clock import today as jst_today
from yoshin.tui import staff_view
from yoshin.tui.screens.staff_base import StaffScreen
from yoshin.tui.staff_text import STAFF_T
from yoshin.tui.staff_view import Stage, VisitRow

SECTIONS = (
    ("waiting_doctor", (Stage.WAITING_DOCTOR,)),
    ("waiting_vaccination", (Stage.WAITING_VACCINATION, Stage.AWAITING_CHECK)),
    ("done", (Stage.DONE,)),
)


def _age_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


class StaffHomeScreen(StaffScreen):
    revision: str | None = None  # what the lists last showed (`KioskServices.staff_list_revision`)

    def compose(self) -> ComposeResult:
        member = self.member
        with Vertical():
            yield Static(self.text("logged_in_as", name=member.name, role=self.role(member.role)), id="who")
            yield Static("", id="queue", classes="message")
            yield Button("", id="calls", classes="row")
            yield VerticalScroll(id="visits")
            with Horizontal():
                yield Button(self.text("reception", n=0), id="reception")
                yield Button(self.text("refresh"), id="refresh")
                yield Button(self.text("logout"), id="logout")

    async def on_mount(self) -> None:
        await self.refresh_lists()

    async def on_screen_resume(self) -> None:
        await self.refresh_lists()

    def row_label(self, row: VisitRow) -> str:
        lang = self.kiosk.staff_lang
        signals = []
        if row.fever is not None:
            signals.append(self.text("fever", value=f"{row.fever:.1f}"))
        if row.not_eligible:
            signals.append(self.text("flag_not_eligible"))
        if row.doctor_review:
            signals.append(self.text("flag_doctor_review") + f"×{len(row.doctor_review)}")
        if row.stage is Stage.AWAITING_CHECK:
            signals.append(self.text("awaiting_check"))
        if row.outcome is not None:
            signals.append(self.text(f"outcome_{row.outcome.value}"))
        dose = self.text("dose", n=row.dose_number)
        return f"{row.time} {row.name}  {row.vaccine.get(lang)} {dose}  {' '.join(signals)}".rstrip()

    async def refresh_lists(self) -> None:
        # on_mount and on_screen_resume both refresh at the first show: one at a time, or the second
        # mounts the same visit buttons while the first is still replacing them (DuplicateIds).
        async with self._refreshing:
            await self._refresh_lists()

    @cached_property
    def _refreshing(self) -> asyncio.Lock:
        return asyncio.Lock()

    async def refresh_if_changed(self) -> bool:
        """Refresh only when something the lists show has changed, so a list nobody changed keeps its focus
        and scroll position. Returns whether it refreshed."""
        if self.revision is None:  # still mounting: its first refresh is on its way
            return False
        if self.kiosk.services.staff_list_revision() == self.revision:
            return False
        await self.refresh_lists()
        return True

    async def _refresh_lists(self) -> None:
        services = self.kiosk.services
        self.revision = services.staff_list_revision()  # read first: a change meanwhile shows next time
        queue = services.queue_status()
        health = self.text(
            "queue_health", depth=queue.depth, oldest=_age_text(queue.oldest_age_seconds), dead=queue.dead_letters
        )
        line = self.query_one("#queue", Static)
        line.update(health + ("\n" + self.text("queue_alarm") if queue.alarm else ""))
        line.set_class(queue.alarm or queue.dead_letters > 0, "warning")
        self.show_calls()
        self.query_one("#reception", Button).label = self.text("reception", n=len(services.reception_slots()))
        visits = services.pending_visits()
        self.visits = {visit.visit_id: visit for visit in visits}
        rows = staff_view.rows(visits, services.done_visits(), services.rules(), jst_today(self.kiosk.clock()))
        widgets: list[Widget] = []
        for section, stages in SECTIONS:
            chosen = [row for row in rows if row.stage in stages]
            widgets.append(Static(f"{self.text('section_' + section)} ({len(chosen)})", classes="section"))
            for row in chosen:
                if row.stage is Stage.DONE:
                    widgets.append(Static(self.row_label(row), classes="done-row"))
                    continue
                signal = "not-eligible" if row.not_eligible else "doctor-review" if row.doctor_review else ""
                widgets.append(Button(self.row_label(row), id=f"visit-{row.visit_id}", classes=f"row {signal}"))
            if not chosen:
                widgets.append(Static(self.text("none_here"), classes="done-row"))
        listing = self.query_one("#visits", VerticalScroll)
        await listing.remove_children()
        await listing.mount_all(widgets)

    def show_calls(self) -> None:
        calls = self.kiosk.services.staff_calls().pending()
        button = self.query_one("#calls", Button)
        button.display = bool(calls)
        if calls:
            where = ", ".join(
                self.text("screen_name", screen=self.screen_label(c.screen), time=f"{now_jst(c.raised_at):%H:%M}")
                for c in calls[:3]
            )
            button.label = f"{self.text('calls', n=len(calls), where=where)}  [{self.text('call_answer')}]"
            self.calls = calls

    def screen_label(self, screen: str) -> str:
        """A resident screen's name in words; an unknown one is "the kiosk", never a raw code."""
        key = f"screen_{screen}"
        return self.text(key if key in STAFF_T else "screen_other")

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        from yoshin.tui.screens.staff_reception import ReceptionScreen
        from yoshin.tui.screens.staff_vaccination import SecondCheckScreen, VaccinationEntryScreen
        from yoshin.tui.screens.staff_visit import StaffVisitScreen

        button = event.button.id or ""
        if button == "logout":
            self.kiosk.end_staff()
        elif button == "reception":
            self.app.push_screen(ReceptionScreen())
        elif button == "refresh":
            await self.refresh_lists()
        elif button == "calls":
            self.kiosk.services.staff_calls().acknowledge(self.calls[0].call_id)
            self.show_calls()
        elif button.startswith("visit-"):
            visit_id = button.removeprefix("visit-")
            visit = self.visits[visit_id]
            kind = staff_view.stage(visit)
            if kind is Stage.WAITING_DOCTOR:
                self.app.push_screen(StaffVisitScreen(visit))
            elif kind is Stage.WAITING_VACCINATION:
                self.app.push_screen(VaccinationEntryScreen(visit))
            elif kind is Stage.AWAITING_CHECK:
                code = visit.questionnaire.vaccine_code
                today = jst_today(self.kiosk.clock())
                products = self.kiosk.services.rules().catalogue.products_for(code, today)
                self.app.push_screen(SecondCheckScreen.from_pending(visit, products))
