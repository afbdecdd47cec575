"""Technician screen, in the language chosen at login: the appliance's status (reader, I/O board, host,
queue, certificate, versions), the self-test (each check in words, never a raw exception), certificate
renewal, and the way to provisioning."""

from __future__ import annotations

from datetime import datetime
from importlib.metadata import version

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from yoshin.device import provisioning
from yoshin.domain.clock import now_jst
from yoshin.domain.i18n import BilingualError
from yoshin.smartcard.errors import CardError
from yoshin.tui.screens.staff_base import StaffScreen


def jst_text(stamp: str) -> str:
    """An ISO timestamp as a JST wall-clock time (the technician reads local time, not UTC)."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return now_jst(moment).strftime("%Y/%m/%d %H:%M JST") if moment.tzinfo else stamp


class TechnicianScreen(StaffScreen):
    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.text("technician"), classes="title")
            yield Static("", id="status", classes="message")
            yield Static("", id="result", classes="message")
            yield Static(self.text("provisioning"), classes="message")
            with Horizontal():
                yield Button(self.text("self_test"), id="self-test", classes="primary")
                yield Button(self.text("renew"), id="renew")
                yield Button(self.text("logout"), id="logout")

    def on_mount(self) -> None:
        self.load_status()

    def status_lines(self) -> list[str]:
        lang = self.kiosk.staff_lang
        services = self.kiosk.services
        try:
            reader = services.reader_name() or "-"
        except CardError as error:
            reader = error.message.get(lang)
        lines = [f"{self.text('tech_reader')}: {reader}"]
        board = services.board_status()
        lines.append(
            f"{self.text('tech_board')}: -"
            if board is None
            else f"{self.text('tech_board')}: {board.message.get(lang)} ({self.text('tech_firmware')} "
            f"{board.firmware or '-'})"
        )
        status = services.device_status()
        queue = status.queue
        if queue is not None:
            last = jst_text(queue.last_success) if queue.last_success else "-"
            lines.append(self.text("tech_queue", depth=queue.depth, dead=queue.dead_letters, last=last))
        if status.device_id is None:
            lines.append(self.text("tech_not_enrolled"))
        else:
            until = jst_text(status.certificate_not_after or "")
            lines.append(self.text("tech_device", device=status.device_id, until=until))
        lines.append(self.text("tech_app", version=version("yoshin")))
        return lines

    @work(thread=True, exclusive=True, group="status")
    def load_status(self) -> None:
        text = "\n".join(self.status_lines())
        self.app.call_from_thread(self.query_one("#status", Static).update, text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button == "logout":
            self.kiosk.end_staff()
        elif button in ("self-test", "renew"):
            self.run(button)

    @work(thread=True, exclusive=True, group="technician")
    def run(self, what: str) -> None:
        lang = self.kiosk.staff_lang
        appliance = self.kiosk.services.appliance
        try:
            if what == "renew":
                appliance.client().renew()
                text = f"{self.text('renew')}: {self.text('recorded')}"
            else:
                checks = provisioning.self_test_checks(appliance)
                text = "\n".join(
                    f"{'✔' if check.ok else '✖'} {self.text('test_' + name)}: {check.message.get(lang)}"
                    for name, check in checks.items()
                )
        except BilingualError as error:
            text = error.message.get(lang)
        self.app.call_from_thread(self.query_one("#result", Static).update, text)
        self.load_status()
