"""Provisioning from the screen (a fresh install): the staff app shows this instead of the staff login
while the appliance has no certificate, since no one else can log in before it is enrolled.

Two steps, with the same library as `yoshin-provision` (yoshin.device.provisioning, the same names):
1. `technician_login`: the host's address (or several nodes), the CA fingerprint the admin gave with the
   token, the municipality, and the technician's own ID and password, checked by the host against its
   roster (control 27). The button pressed chooses the language of what follows.
2. `provision`: the one-time token, the clinic code, this appliance's serial and the clinic's name. On
   failure the data directory is left as it was; the message says what to fix, in words.
"""

from __future__ import annotations

import unicodedata

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from yoshin.device import provisioning
from yoshin.domain.i18n import BilingualError
from yoshin.tui.screens.staff_base import StaffScreen
from yoshin.tui.screens.staff_login import both
from yoshin.tui.staff_text import ts
from yoshin.tui.widgets import KioskInput

DIGITS = r"[0-9０-９]*"


class ProvisionScreen(StaffScreen):
    DEFAULT_CSS = """
    ProvisionScreen #login-step, ProvisionScreen #enroll-step { height: auto; }
    ProvisionScreen .title { margin-bottom: 0; }
    ProvisionScreen #error, ProvisionScreen #who { width: 100%; margin: 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.proof: provisioning.TechnicianProof | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(both("provision_title"), classes="title", id="heading")
            with Vertical(id="login-step"):
                yield KioskInput(placeholder=both("provision_host"), id="host", max_length=200)
                yield KioskInput(placeholder=both("provision_fingerprint"), id="fingerprint", max_length=100)
                yield KioskInput(
                    placeholder=both("provision_municipality"), id="municipality", max_length=6, restrict=DIGITS
                )
                yield KioskInput(placeholder=both("provision_technician"), id="technician", max_length=32)
                yield KioskInput(placeholder=both("password"), id="password", password=True, max_length=128)
            with Vertical(id="enroll-step"):
                yield Static("", id="who", classes="message")
                yield KioskInput(id="token", max_length=100)
                yield KioskInput(id="clinic", max_length=10, restrict=DIGITS)
                yield KioskInput(id="serial", max_length=32)
                yield KioskInput(id="place", max_length=100)
            yield Static("", id="error", classes="message error")
            with Horizontal(id="login-buttons"):
                yield Button(ts("provision_login", "ja"), id="login-ja", classes="primary")
                yield Button(ts("provision_login", "en"), id="login-en", classes="primary")
            with Horizontal(id="enroll-buttons"):
                yield Button("", id="provision", classes="primary")
                yield Button("", id="back")
            with Horizontal(id="done-buttons"):
                yield Button("", id="to-login", classes="primary")

    def on_mount(self) -> None:
        self.show_step("login")
        self.query_one("#host", Input).focus()

    def show_step(self, step: str) -> None:
        """`login`, `enroll` or `done`: only that step's fields and buttons are shown."""
        self.query_one("#login-step").display = step == "login"
        self.query_one("#login-buttons").display = step == "login"
        self.query_one("#enroll-step").display = step == "enroll"
        self.query_one("#enroll-buttons").display = step == "enroll"
        self.query_one("#done-buttons").display = step == "done"
        if step != "login":  # the labels in the language the technician chose
            for name in ("token", "clinic", "serial", "place"):
                self.query_one(f"#{name}", Input).placeholder = self.text(f"provision_{name}")
            self.query_one("#provision", Button).label = self.text("provision_go")
            self.query_one("#back", Button).label = self.text("back")
            self.query_one("#to-login", Button).label = self.text("provision_to_login")

    def value(self, name: str) -> str:
        return unicodedata.normalize("NFKC", self.query_one(f"#{name}", Input).value).strip()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button.startswith("login-"):
            self.submit_login(button.removeprefix("login-"))
        elif button == "provision":
            self.submit_provision()
        elif button == "back":  # the proof is dropped with the step
            self.proof = None
            self.query_one("#error", Static).update("")
            self.show_step("login")
        elif button == "to-login":
            self.kiosk.end_staff()  # the staff login, now that the appliance is enrolled

    def on_input_submitted(self, event: Input.Submitted) -> None:
        order = ["host", "fingerprint", "municipality", "technician", "password", "token", "clinic", "serial", "place"]
        name = event.input.id or ""
        if name == "password":
            self.submit_login(self.kiosk.staff_lang)
        elif name == "place":
            self.submit_provision()
        elif name in order:
            self.query_one(f"#{order[order.index(name) + 1]}", Input).focus()

    def submit_login(self, lang: str) -> None:
        self.kiosk.staff_lang = lang
        self.query_one("#error", Static).update(both("checking"))
        self.login(
            self.value("host"), self.value("fingerprint"), self.value("municipality"), self.value("technician"),
            self.query_one("#password", Input).value,
        )  # fmt: skip

    @work(thread=True, exclusive=True, group="provision")
    def login(self, host: str, fingerprint: str, municipality: str, technician: str, password: str) -> None:
        appliance = self.kiosk.services.appliance
        try:
            addresses = provisioning.parse_addresses(host)
            proof = provisioning.technician_login(appliance, technician, password, addresses, fingerprint, municipality)
        except BilingualError as error:
            self.app.call_from_thread(self.refused, error)
            return
        self.app.call_from_thread(self.logged_in, proof)

    def logged_in(self, proof: provisioning.TechnicianProof) -> None:
        self.proof = proof
        self.query_one("#password", Input).value = ""
        self.query_one("#error", Static).update("")
        self.query_one("#who", Static).update(self.text("provision_who", name=proof.name, staff_id=proof.staff_id))
        self.show_step("enroll")
        self.query_one("#token", Input).focus()

    def submit_provision(self) -> None:
        if self.proof is None:
            return
        self.query_one("#error", Static).update(self.text("provision_working"))
        self.provision(self.proof, self.value("token"), self.value("clinic"), self.value("serial"), self.value("place"))

    @work(thread=True, exclusive=True, group="provision")
    def provision(self, proof: provisioning.TechnicianProof, token: str, clinic: str, serial: str, place: str) -> None:
        appliance = self.kiosk.services.appliance
        try:
            report = provisioning.provision(appliance, proof, token, clinic, serial, place=place)
            checks = provisioning.self_test_checks(appliance)
        except BilingualError as error:
            self.app.call_from_thread(self.refused, error)
            return
        lang = self.kiosk.staff_lang
        lines = [self.text("provision_done", device=report.device_id)]
        lines += [
            f"{'✔' if check.ok else '✖'} {self.text('test_' + name)}: {check.message.get(lang)}"
            for name, check in checks.items()
        ]
        self.app.call_from_thread(self.done, "\n".join(lines))

    def done(self, text: str) -> None:
        self.proof = None
        self.query_one("#error", Static).remove_class("error")
        self.query_one("#error", Static).update(text)
        self.show_step("done")

    def refused(self, error: BilingualError) -> None:
        """What went wrong, in words (both languages before the technician is known, theirs after)."""
        self.query_one("#password", Input).value = ""
        text = error.message.get(self.kiosk.staff_lang) if self.proof else f"{error.message.ja}\n{error.message.en}"
        self.query_one("#error", Static).update(text)
