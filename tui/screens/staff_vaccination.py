"""Vaccination entry: the pack (a scanned GS1 DataMatrix, or the product picked and the lot typed), the
site; an expired lot is refused. Then a second person checks with their own credentials and the record
is sealed into the outbox (control: ダブルチェック; the contract refuses entered_by == checked_by)."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static
from textual.worker import get_current_worker

from yoshin.device.gs1 import ScanError, parse_scan
from yoshin.domain.catalogue import Product
from yoshin.domain.clock import now_jst
from yoshin.domain.clock import today as jst_today
from yoshin.domain.contract import ContractError
from yoshin.domain.i18n import BilingualError
from yoshin.tui import records
from yoshin.tui.screens.base import StaffScreen
from yoshin.tui.screens.staff_login import both
from yoshin.tui.widgets import KioskInput

INJECTION_SITES = ("left_upper_arm", "right_upper_arm", "left_thigh", "right_thigh")


class VaccinationEntryScreen(StaffScreen):
    def __init__(self, visit_id: str, pending: dict[str, Any]) -> None:
        super().__init__()
        self.visit_id, self.pending = visit_id, pending
        self.product: Product | None = None
        self.site: str | None = None

    @property
    def today(self) -> date:
        return jst_today(self.kiosk.clock())

    def products(self) -> list[Product]:
        code = self.pending["questionnaire"]["vaccine_code"]
        return self.kiosk.services.rules().catalogue.products_for(code, self.today)

    def compose(self) -> ComposeResult:
        dose = self.text("dose", n=self.pending["dose_number"])
        with Vertical():
            yield Static(f"{self.text('vaccination')}: {self.pending['name']}  {dose}", classes="title")
            yield KioskInput(placeholder=self.text("scan"), id="scan")
            yield Static(self.text("or_choose"), classes="message")
            with Horizontal():
                for product in self.products():
                    yield Button(product.brand_name, id=f"p-{product.gtin}")
            with Horizontal():
                yield KioskInput(placeholder=self.text("lot"), id="lot", max_length=20)
                yield KioskInput(placeholder=self.text("expiry"), id="expiry", max_length=10)
            with Horizontal():
                oral = any(product.route == "oral" for product in self.products())
                for site in ("oral",) if oral else INJECTION_SITES:
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
            self.site = button[2:]
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
        if expiry < self.today:
            self.show_error(self.text("expired", expiry=expiry.isoformat()))
            return
        given = records.Administration(self.product, lot, expiry, self.site, self.product.dose_ml)
        self.app.switch_screen(SecondCheckScreen(self.visit_id, self.pending, given))


class SecondCheckScreen(StaffScreen):
    def __init__(self, visit_id: str, pending: dict[str, Any], given: records.Administration) -> None:
        super().__init__()
        self.visit_id, self.pending, self.given = visit_id, pending, given

    def compose(self) -> ComposeResult:
        given = self.given
        with Vertical():
            yield Static(self.text("second_check"), classes="title")
            summary = (
                f"{self.pending['name']} ({self.pending['birth_date']})\n"
                f"{given.product.brand_name}  {self.text('lot')}: {given.lot_number}  "
                f"{self.text('expiry')}: {given.expiry_date.isoformat()}\n"
                f"{self.text(f'site_{given.site}')}  {given.dose_amount_ml} mL  "
                f"{self.text('dose', n=self.pending['dose_number'])}"
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
            self.app.call_from_thread(self.show_error, error.message.get(self.kiosk.staff_lang))
            return
        self.app.call_from_thread(self.record, checker)

    def record(self, checker: records.StaffMember) -> None:
        services = self.kiosk.services
        now = now_jst(self.kiosk.clock())
        record = records.vaccination_record(
            services.clinic(), self.pending["questionnaire"], self.pending["decision"], self.pending["dose_number"],
            self.given, self.member, checker, now.date(), now.isoformat(timespec="seconds"),
        )  # fmt: skip
        try:
            services.submit("vaccination_record", record)  # the outbox validates against the contract
        except ContractError as error:
            self.show_error(error.message.get(self.kiosk.staff_lang))
            return
        services.complete_pending(self.visit_id)
        self.notify(self.text("recorded"))
        self.app.pop_screen()
