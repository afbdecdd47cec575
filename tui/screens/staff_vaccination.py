"""Vaccination entry: the pack (a scanned GS1 DataMatrix, or the product picked and the lot typed), the
site; an expired lot is refused. Then a second person checks with their own credentials and the record
is sealed into the outbox (control: ダブルチェック; the contract refuses entered_by == checked_by).
The rules are the visit layer's (`yoshin.device.visit`): this screen collects and shows."""

from __future__ import annotations

import unicodedata
from datetime import date

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static
from textual.worker import get_current_worker

from yoshin.device.gs1 import ScanError, parse_scan
from yoshin.device.visit import (
    Administration,
    PendingVisit,
    StaffMember,
    check_administration,
    record_vaccination,
)
from yoshin.domain.catalogue import Product
from yoshin.domain.clock import today as jst_today
from yoshin.domain.contract import INJECTION_SITES, Route, Site
from yoshin.domain.i18n import Bilingual, BilingualError
from yoshin.tui.screens.base import StaffScreen
from yoshin.tui.screens.staff_login import both
from yoshin.tui.widgets import KioskInput


class VaccinationEntryScreen(StaffScreen):
    def __init__(self, pending: PendingVisit) -> None:
        super().__init__()
        self.pending = pending
        self.product: Product | None = None
        self.site: Site | None = None

    @property
    def today(self) -> date:
        return jst_today(self.kiosk.clock())

    def products(self) -> list[Product]:
        code = self.pending.questionnaire.vaccine_code
        return self.kiosk.services.rules().catalogue.products_for(code, self.today)

    def compose(self) -> ComposeResult:
        dose = self.text("dose", n=self.pending.dose_number)
        with Vertical():
            yield Static(f"{self.text('vaccination')}: {self.pending.name}  {dose}", classes="title")
            yield KioskInput(placeholder=self.text("scan"), id="scan")
            yield Static(self.text("or_choose"), classes="message")
            with Horizontal():
                for product in self.products():
                    yield Button(product.brand_name, id=f"p-{product.gtin}")
            with Horizontal():
                yield KioskInput(placeholder=self.text("lot"), id="lot", max_length=20)
                yield KioskInput(placeholder=self.text("expiry"), id="expiry", max_length=10)
            with Horizontal():
                oral = any(product.route == Route.ORAL for product in self.products())
                for site in (Site.ORAL,) if oral else INJECTION_SITES:
                    yield Button(self.text(f"site_{site}"), id=f"s-{site}")
            yield Static("", id="chosen", classes="message")
            yield Static("", id="error", classes="message error")
            with Horizontal():
                yield Button(self.text("next"), id="next", classes="primary")
                yield Button(self.text("back"), id="back")

    def on_mount(self) -> None:
        if self.kiosk.services.scanner is not None:
            self.read_scanner()

    @work(thread=True, exclusive=True, group="scanner")
    def read_scanner(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled and self.is_attached:
            line = self.kiosk.services.read_scan(timeout=0.5)
            if line is not None:
                self.app.call_from_thread(self.scanned, line)

    def show_error(self, message: str) -> None:
        self.query_one("#error", Static).update(message)

    def show_choice(self) -> None:
        product = self.product.brand_name if self.product else "-"
        site = self.text(f"site_{self.site}") if self.site else "-"
        self.query_one("#chosen", Static).update(f"{product} / {site}")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "scan":
            self.scanned(event.value)

    def scanned(self, raw: str | bytes) -> None:
        """A scan: typed by a keyboard-wedge scanner (then Enter), or a line from the serial scanner."""
        self.query_one("#scan", Input).value = ""
        try:
            pack = parse_scan(raw)
        except ScanError as error:
            self.show_error(error.message.get(self.kiosk.staff_lang))
            return
        product = next((p for p in self.products() if p.gtin == pack.gtin), None)
        if product is None:
            self.show_error(self.text("unknown_gtin", gtin=pack.gtin))
            return
        self.product = product
        self.query_one("#lot", Input).value = pack.lot
        self.query_one("#expiry", Input).value = pack.expiry.isoformat()
        self.show_error("" if pack.expiry >= self.today else self.text("expired", expiry=pack.expiry.isoformat()))
        self.show_choice()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button.startswith("p-"):
            self.product = next(p for p in self.products() if p.gtin == button[2:])
        elif button.startswith("s-"):
            self.site = Site(button[2:])
        elif button == "back":
            self.app.pop_screen()
            return
        elif button == "next":
            self.next()
        self.show_choice()

    def next(self) -> None:
        lot = unicodedata.normalize("NFKC", self.query_one("#lot", Input).value).strip().upper()
        try:
            expiry = date.fromisoformat(unicodedata.normalize("NFKC", self.query_one("#expiry", Input).value).strip())
        except ValueError:
            self.show_error(self.text("bad_date"))
            return
        if self.product is None or not lot or self.site is None:
            self.show_error(self.text("need_lot"))
            return
        given = Administration(self.product, lot, expiry, self.site, self.product.dose_ml)
        try:
            check_administration(given, self.today)
        except BilingualError as error:
            self.show_error(error.message.get(self.kiosk.staff_lang))
            return
        self.app.switch_screen(SecondCheckScreen(self.pending, given))


class SecondCheckScreen(StaffScreen):
    class Checked(Message):
        """The host confirmed the second person's credentials."""

        def __init__(self, checker: StaffMember) -> None:
            super().__init__()
            self.checker = checker

    class Refused(Message):
        """The host refused them (wrong password, locked, unreachable)."""

        def __init__(self, reason: Bilingual) -> None:
            super().__init__()
            self.reason = reason

    def __init__(self, pending: PendingVisit, given: Administration) -> None:
        super().__init__()
        self.pending, self.given = pending, given

    def compose(self) -> ComposeResult:
        given = self.given
        with Vertical():
            yield Static(self.text("second_check"), classes="title")
            summary = (
                f"{self.pending.name} ({self.pending.birth_date.isoformat()})\n"
                f"{given.product.brand_name}  {self.text('lot')}: {given.lot_number}  "
                f"{self.text('expiry')}: {given.expiry_date.isoformat()}\n"
                f"{self.text(f'site_{given.site}')}  {given.dose_amount_ml} mL  "
                f"{self.text('dose', n=self.pending.dose_number)}"
            )
            yield Static(summary, classes="message", id="summary")
            yield KioskInput(placeholder=both("staff_id"), id="checker", max_length=32)
            yield KioskInput(placeholder=both("password"), id="password", password=True, max_length=128)
            yield Static("", id="error", classes="message error")
            with Horizontal():
                yield Button(self.text("confirm_submit"), id="confirm", classes="primary")
                yield Button(self.text("back"), id="back")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "back":
            self.app.pop_screen()
            return
        checker = unicodedata.normalize("NFKC", self.query_one("#checker", Input).value).strip()
        password = self.query_one("#password", Input).value
        if checker == self.member.staff_id:
            self.show_error(self.text("same_person"))
        elif checker and password:
            self.check(checker, password)

    def show_error(self, message: str) -> None:
        self.query_one("#password", Input).value = ""
        self.query_one("#error", Static).update(message)

    @work(thread=True, exclusive=True, group="check")
    def check(self, checker_id: str, password: str) -> None:
        try:
            checker = self.kiosk.services.second_person(checker_id, password)
        except BilingualError as error:
            self.post_message(self.Refused(error.message))  # post_message is safe from a worker thread
            return
        self.post_message(self.Checked(checker))

    def on_second_check_screen_refused(self, message: Refused) -> None:
        self.show_error(message.reason.get(self.kiosk.staff_lang))

    def on_second_check_screen_checked(self, message: Checked) -> None:
        try:
            record_vaccination(
                self.kiosk.services, self.pending, self.given, self.member, message.checker, now=self.kiosk.clock()
            )
        except BilingualError as error:  # a VisitError, or the contract refusing a field
            self.show_error(error.message.get(self.kiosk.staff_lang))
            return
        self.notify(self.text("recorded"))
        self.app.pop_screen()
