"""Technician screen: the appliance's status (reader, I/O board, host, queue, certificate, versions),
the self-test, certificate renewal, and the way to provisioning."""

from __future__ import annotations

from importlib.metadata import version

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from yoshin.device import provisioning
from yoshin.domain.i18n import BilingualError
from yoshin.smartcard.errors import CardError
from yoshin.tui.screens.base import StaffScreen


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

    @work(thread=True, exclusive=True, group="status")
    def load_status(self) -> None:
        lang = self.kiosk.staff_lang
        services = self.kiosk.services
        lines = []
        try:
            lines.append(f"reader: {services.reader_name() or '-'}")
        except CardError as error:
            lines.append(f"reader: {error.message.get(lang)}")
        board = services.board_status()
        lines.append(
            "I/O board: -"
            if board is None
            else f"I/O board: {board.message.get(lang)} (firmware {board.firmware or '-'})"
        )
        status = services.device_status()
        queue = status.queue
        if queue is not None:
            lines.append(
                f"queue: {queue.depth} queued, {queue.dead_letters} dead letters, last sent {queue.last_success or '-'}"
            )
        lines.append(f"device: {status.device_id}  certificate until {status.certificate_not_after}")
        lines.append(f"app: yoshin {version('yoshin')}")
        self.app.call_from_thread(self.query_one("#status", Static).update, "\n".join(lines))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button == "logout":
            self.kiosk.end_staff()
        elif button in ("self-test", "renew"):
            self.run(button)

    @work(thread=True, exclusive=True, group="technician")
    def run(self, what: str) -> None:
        appliance = self.kiosk.services.appliance
        try:
            if what == "renew":
                appliance.client().renew()
                text = f"{self.text('renew')}: ok"
            else:
                text = "\n".join(f"{name}: {result}" for name, result in provisioning.self_test(appliance).items())
        except BilingualError as error:
            text = error.message.get(self.kiosk.staff_lang)
        self.app.call_from_thread(self.query_one("#result", Static).update, text)
        self.load_status()
