"""Technician screen, in the language chosen at login: the appliance's status (reader, I/O board, host,
queue, certificate, versions), the self-test (each check in words, never a raw exception), certificate
renewal, and decommissioning (control 23) with the technician's own login as the proof the host checks
against its roster (control 27). Provisioning a fresh appliance is `technician_provision.ProvisionScreen`."""

from __future__ import annotations

import contextlib
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
            yield Static(self.text("provisioning"), classes="message", id="hint")
            with Horizontal(id="actions"):
                yield Button(self.text("self_test"), id="self-test", classes="primary")
                yield Button(self.text("renew"), id="renew")
                yield Button(self.text("decommission"), id="decommission")
                yield Button(self.text("logout"), id="logout")
            with Horizontal(id="confirm"):
                yield Button(self.text("decommission_go"), id="decommission-go", classes="danger")
                yield Button(self.text("back"), id="cancel")
            with Horizontal(id="erased"):
                yield Button(self.text("provision_to_login"), id="to-start", classes="primary")

    def on_mount(self) -> None:
        self.show_actions("actions")
        self.load_status()

    def show_actions(self, which: str) -> None:
        """The usual buttons, the decommissioning's confirmation, or (erased) only the way out."""
        for name in ("actions", "confirm", "erased"):
            self.query_one(f"#{name}").display = name == which

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
        if button in ("logout", "to-start"):
            self.kiosk.end_staff()
        elif button in ("self-test", "renew"):
            self.run(button)
        elif button == "decommission":
            self.query_one("#result", Static).update(self.text("decommission_confirm"))
            self.show_actions("confirm")
        elif button == "cancel":
            self.query_one("#result", Static).update("")
            self.show_actions("actions")
        elif button == "decommission-go" and self.kiosk.staff is not None:
            self.query_one("#result", Static).update(self.text("decommission_working"))
            self.show_actions("")
            self.decommission()

    @work(thread=True, exclusive=True, group="technician")
    def decommission(self) -> None:
        """The technician's session's attestation is the proof; their host session ends first (an erased
        appliance could no longer close it). Nothing is erased if the host refuses."""
        session = self.kiosk.staff
        assert session is not None
        lang = self.kiosk.staff_lang
        with contextlib.suppress(BilingualError):
            self.kiosk.services.staff_logout(session)
        try:
            certificate = provisioning.decommission(self.kiosk.services.appliance, session.attestation or "")
        except provisioning.ProvisioningError as error:
            text = self.text("decommission_lost", count=len(error.lost)) if error.lost else error.message.get(lang)
            self.app.call_from_thread(self.decommission_ended, text, False)
            return
        except BilingualError as error:
            self.app.call_from_thread(self.decommission_ended, error.message.get(lang), False)
            return
        text = self.text("decommission_done", device=certificate["device_id"], keys=len(certificate["keys_erased"]))
        self.app.call_from_thread(self.decommission_ended, text, True)

    def decommission_ended(self, text: str, erased: bool) -> None:
        self.query_one("#result", Static).update(text)
        if erased:
            self.kiosk.staff = None  # logged out at the host already; the start is the provisioning screen
        self.show_actions("erased" if erased else "actions")
        if not erased:
            self.load_status()

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
