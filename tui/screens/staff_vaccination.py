"""Vaccination entry: the pack (a scanned GS1 DataMatrix fills product, lot and expiry; or the product
tapped and the lot typed), the site tapped; an expired lot is refused. Then a second person checks
(control: ダブルチェック; the contract refuses entered_by == checked_by), in one of two ways that log
nobody in or out:

- here, with their own card on the reader and its PIN, or their ID and password (POST /staff/attest);
- on their own staff screen: the entry waits in the day's pending store as 確認待ち and the checker, logged
  in there, opens it from their list and confirms.

The record is sealed into the outbox by whichever screen completes the check.

When the entry opens it asks the host again for the resident's history (`history_at_entry`): a dose another
appliance recorded since the card read is then in the guard's history. 次へ waits for that answer; if the
host cannot be asked, the guard judges what the visit had and the screen says so in both languages.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import date
from decimal import Decimal

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static
from textual.worker import get_current_worker

from yoshin.device.gs1 import ScanError, parse_scan
from yoshin.device.visit import (
    Administration,
    EntryHistory,
    PendingEntry,
    PendingVisit,
    Proofs,
    StaffMember,
    check_administration,
    dose_amounts,
    guard_findings,
    history_at_entry,
    record_vaccination,
    sealed_for,
)
from yoshin.domain.catalogue import Product
from yoshin.domain.clock import today as jst_today
from yoshin.domain.contract import INJECTION_SITES, GuardOverride, Site
from yoshin.domain.dates import DateError, parse_date
from yoshin.domain.i18n import BilingualError
from yoshin.domain.rules_guard import GuardFinding
from yoshin.tui.screens.staff_base import StaffScreen
from yoshin.tui.screens.staff_login import both
from yoshin.tui.screens.staff_visit import flags_panel
from yoshin.tui.widgets import KioskInput


def _products(screen: StaffScreen, pending: PendingVisit) -> list[Product]:
    code = pending.questionnaire.vaccine_code
    return screen.kiosk.services.rules().catalogue.products_for(code, jst_today(screen.kiosk.clock()))


class VaccinationEntryScreen(StaffScreen):
    def __init__(self, pending: PendingVisit) -> None:
        super().__init__()
        self.pending = pending
        self.product: Product | None = None
        self.site: Site | None = None
        self.amount: Decimal | None = None  # the amount given: the one for the age unless tapped otherwise
        self.history: EntryHistory | None = None  # the host's answer at the entry, once it came
        self.waiting: Administration | None = None  # 次へ pressed before it came: judged when it comes

    @property
    def today(self) -> date:
        return jst_today(self.kiosk.clock())

    def products(self) -> list[Product]:
        return _products(self, self.pending)

    def amounts(self, product: Product) -> tuple[Decimal, ...]:
        return dose_amounts(self.pending, product, self.today, self.kiosk.services.rules().catalogue)

    def all_amounts(self) -> tuple[Decimal, ...]:
        """The buttons: every amount of every product offered, this age's first (one product in practice)."""
        return tuple(dict.fromkeys(a for product in self.products() for a in self.amounts(product)))

    def compose(self) -> ComposeResult:
        dose = self.text("dose", n=self.pending.dose_number)
        with Vertical():
            yield Static(f"{self.text('vaccination')}: {self.pending.name}  {dose}", classes="title")
            yield flags_panel(self, self.pending)
            yield KioskInput(placeholder=self.text("scan"), id="scan")
            with Vertical(id="products"):  # one per line: brand names are long, none may fall off screen
                for product in self.products():
                    yield Button(
                        f"{product.brand_name}  {product.manufacturer}", id=f"p-{product.gtin}", classes="choice"
                    )
            with Horizontal():
                yield KioskInput(placeholder=self.text("lot"), id="lot", max_length=20)
                yield KioskInput(placeholder=self.text("expiry_hint"), id="expiry", max_length=16)
            if any(len(self.amounts(p)) > 1 for p in self.products()):  # the amount given is tapped
                with Horizontal(id="amounts"):
                    for index, amount in enumerate(self.all_amounts()):
                        yield Button(self.amount_label(amount), id=f"a-{index}")
            with Horizontal():
                oral = any(product.route == "oral" for product in self.products())
                for site in (Site.ORAL,) if oral else INJECTION_SITES:
                    yield Button(self.text(f"site_{site}"), id=f"s-{site}")
            yield Static("", id="history", classes="message warning")  # shown only when there is a note
            yield Static("", id="error", classes="message error")
            with Horizontal():
                yield Button(self.text("next"), id="next", classes="primary")
                yield Button(self.text("back"), id="back")

    def on_mount(self) -> None:
        self.query_one("#history").display = False
        self.reread_history()
        if self.kiosk.services.scanner is not None:
            self.read_scanner()
        products = self.products()
        if len(products) == 1:  # nothing to choose
            self.choose(products[0])
        if len(self.site_buttons()) == 1:
            self.site = Site(self.site_buttons()[0].removeprefix("s-"))
        self.show_choice()

    def site_buttons(self) -> list[str]:
        return [button.id or "" for button in self.query("Button") if (button.id or "").startswith("s-")]

    @work(thread=True, exclusive=True, group="scanner")
    def read_scanner(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled and self.is_attached:
            line = self.kiosk.services.read_scan(timeout=0.5)
            if line is not None:
                self.app.call_from_thread(self.scanned, line)

    @work(thread=True, exclusive=True, group="history")
    def reread_history(self) -> None:
        proof = self.kiosk.staff.attestation if self.kiosk.staff else None
        answered = history_at_entry(self.kiosk.services, self.pending, proof)
        self.app.call_from_thread(self.history_read, answered)

    def history_read(self, answered: EntryHistory) -> None:
        """The guard judges the visit as the host has it now; a note (why not) is shown in both languages."""
        self.history, self.pending = answered, answered.visit
        if self.is_attached and answered.note is not None:
            shown = self.query_one("#history", Static)
            shown.update(f"{answered.note.ja}\n{answered.note.en}")
            shown.display = True
        if self.waiting is not None and self.is_attached:
            given, self.waiting = self.waiting, None
            self.guarded(given)

    def show_error(self, message: str) -> None:
        self.query_one("#error", Static).update(message)

    def amount_label(self, amount: Decimal) -> str:
        """Bilingual words, not a bare figure: the amount for this age is said to be so."""
        for_age = any(self.amounts(p)[0] == amount for p in self.products())
        return self.text("amount_for_age" if for_age else "amount_other", ml=amount)

    def choose(self, product: Product) -> None:
        """A product chosen: its amount for this age is pre-selected (no tap when it is what was given)."""
        if product != self.product:
            self.product, self.amount = product, self.amounts(product)[0]

    def show_choice(self) -> None:
        """The chosen product and site look pressed, and say so in words for a screen reader or a glance."""
        chosen = {f"p-{self.product.gtin}" if self.product else "", f"s-{self.site}" if self.site else ""}
        offered = self.amounts(self.product) if self.product else ()
        for row in self.query("#amounts"):
            row.display = len(offered) > 1  # one amount (the pack's is the age's): nothing to choose
        for index, amount in enumerate(self.all_amounts()):
            if amount == self.amount:
                chosen.add(f"a-{index}")
            for button in self.query(f"#a-{index}"):
                button.display = amount in offered  # only the chosen product's amounts
        for button in self.query(Button):
            if button.id and button.id[:2] in ("p-", "s-", "a-"):
                base = str(button.label).removeprefix("● ").removeprefix("○ ")
                selected = button.id in chosen
                button.set_class(selected, "-selected")
                button.label = f"{'●' if selected else '○'} {base}"  # same width: no relayout, no clipping

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
        self.choose(product)
        self.query_one("#lot", Input).value = pack.lot
        self.query_one("#expiry", Input).value = pack.expiry.strftime("%Y/%m/%d")
        self.show_error("" if pack.expiry >= self.today else self.text("expired", expiry=pack.expiry.isoformat()))
        self.show_choice()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button.startswith("p-"):
            self.choose(next(p for p in self.products() if p.gtin == button[2:]))
        elif button.startswith("a-"):
            self.amount = self.all_amounts()[int(button[2:])]
        elif button.startswith("s-"):
            self.site = Site(button[2:])
        elif button == "back":
            self.app.pop_screen()
            return
        elif button == "next":
            self.next()
            return
        self.show_choice()

    def next(self) -> None:
        lot = unicodedata.normalize("NFKC", self.query_one("#lot", Input).value).strip().upper()
        try:
            expiry = parse_date(self.query_one("#expiry", Input).value)
        except DateError as error:
            self.show_error(error.message.get(self.kiosk.staff_lang))
            return
        if self.product is None or not lot or self.site is None:
            self.show_error(self.text("need_lot"))
            return
        amount = self.amount if self.amount is not None else self.product.dose_ml
        given = Administration(self.product, lot, expiry, self.site, amount)
        try:
            check_administration(given, self.today)
        except BilingualError as error:
            self.show_error(error.message.get(self.kiosk.staff_lang))
            return
        if self.history is None:  # the host's answer has not come yet: judged as soon as it does
            self.waiting = given
            self.show_error(self.text("history_waiting"))
            return
        self.guarded(given)

    def guarded(self, given: Administration) -> None:
        services = self.kiosk.services
        sealed = sealed_for(services, self.pending)
        findings = guard_findings(self.pending, given, self.today, services.rules().catalogue, sealed)
        if findings:  # before anyone checks it: the guard's findings, and the doctor's override
            self.app.switch_screen(GuardScreen(self.pending, given, self.member, findings))
            return
        self.app.switch_screen(SecondCheckScreen(self.pending, given, self.member, own_screen=False))


class GuardScreen(StaffScreen):
    """The rules guard's findings before sealing, in Japanese and English. Only the doctor who decided may
    override them, each with a reason (recorded in the record); a finding nobody may override ends here."""

    def __init__(
        self, pending: PendingVisit, given: Administration, entered_by: StaffMember, findings: list[GuardFinding]
    ) -> None:
        super().__init__()
        self.pending, self.given, self.entered_by, self.findings = pending, given, entered_by, findings

    @property
    def doctor_id(self) -> str:
        assert self.pending.decision is not None
        return self.pending.decision.doctor_id

    def compose(self) -> ComposeResult:
        overridable = all(finding.overridable for finding in self.findings)
        with Vertical():
            yield Static(both("guard_title"), classes="title")
            lines = [f"{'⚠' if f.overridable else '✖'} {f.message.ja}\n   {f.message.en}" for f in self.findings]
            yield Static("\n".join(lines), id="findings", classes="message warning")
            if not overridable:
                yield Static(both("guard_no_override"), classes="message error", id="error")
                yield Button(self.text("back"), id="back")
                return
            yield Static(self.text("guard_doctor", doctor=self.doctor_id), classes="message")
            yield KioskInput(placeholder=self.text("guard_reason"), id="reason", max_length=200)
            if self.member.staff_id != self.doctor_id:
                with Horizontal():
                    yield KioskInput(placeholder=both("password"), id="password", password=True, max_length=128)
                    yield KioskInput(
                        placeholder=self.text("checker_pin"), id="doctor_pin", password=True, max_length=4,
                        restrict=r"[0-9０-９]*",
                    )  # fmt: skip
            yield Static("", id="error", classes="message error")
            with Horizontal():
                yield Button(self.text("guard_override"), id="override", classes="primary")
                yield Button(self.text("back"), id="back")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "back":
            self.app.pop_screen()
            return
        reason = unicodedata.normalize("NFKC", self.query_one("#reason", Input).value).strip()
        if not reason:
            self.query_one("#error", Static).update(self.text("guard_need_reason"))
        elif self.member.staff_id == self.doctor_id:
            self.overridden()
        else:
            password = self.query_one("#password", Input).value or None
            pin = unicodedata.normalize("NFKC", self.query_one("#doctor_pin", Input).value) or None
            if password or pin:
                self.doctor_attests(password, pin)

    @work(thread=True, exclusive=True, group="guard")
    def doctor_attests(self, password: str | None, pin: str | None) -> None:
        """The deciding doctor confirms on this screen without logging anyone in or out (/staff/attest)."""
        try:
            self.kiosk.services.attest(self.doctor_id, password, pin)
        except BilingualError as error:
            self.app.call_from_thread(self.query_one("#error", Static).update, error.message.get(self.kiosk.staff_lang))
            return
        self.app.call_from_thread(self.overridden)

    def overridden(self) -> None:
        reason = unicodedata.normalize("NFKC", self.query_one("#reason", Input).value).strip()
        overrides = tuple(GuardOverride(str(f.code), self.doctor_id, reason) for f in self.findings)
        self.app.switch_screen(
            SecondCheckScreen(self.pending, self.given, self.entered_by, own_screen=False, overrides=overrides)
        )


class SecondCheckScreen(StaffScreen):
    def __init__(
        self,
        pending: PendingVisit,
        given: Administration,
        entered_by: StaffMember,
        own_screen: bool,
        entered_proof: str | None = None,
        overrides: tuple[GuardOverride, ...] = (),
    ) -> None:
        super().__init__()
        self.pending, self.given = pending, given
        self.entered_by, self.own_screen, self.entered_proof = entered_by, own_screen, entered_proof
        self.overrides = overrides

    @classmethod
    def from_pending(cls, pending: PendingVisit, products: list[Product]) -> SecondCheckScreen:
        """The checker's own screen: the entry as the nurse left it in the pending store."""
        entry = pending.entry
        assert entry is not None
        given = entry.administration(products)
        return cls(pending, given, entry.entered_by, own_screen=True, entered_proof=entry.entered_proof)

    def compose(self) -> ComposeResult:
        given = self.given
        with Vertical():
            yield Static(self.text("second_check"), classes="title")
            summary = (
                f"{self.pending.name} ({self.pending.birth_date.strftime('%Y/%m/%d')})\n"
                f"{given.product.brand_name}  {self.text('lot')}: {given.lot_number}  "
                f"{self.text('expiry')}: {given.expiry_date.strftime('%Y/%m/%d')}\n"
                f"{self.text(f'site_{given.site}')}  {given.dose_amount_ml} mL  "
                f"{self.text('dose', n=self.pending.dose_number)}  "
                f"{self.text('entered_by', name=self.entered_by.name)}"
            )
            yield Static(summary, classes="message", id="summary")
            if self.own_screen:
                yield Static("", id="error", classes="message error")
                with Horizontal():
                    yield Button(self.text("confirm_check"), id="confirm", classes="primary")
                    yield Button(self.text("back"), id="back")
                return
            yield Static(self.text("check_with_card"), classes="message")
            with Horizontal():
                yield KioskInput(placeholder=both("staff_id"), id="checker", max_length=32)
                yield KioskInput(
                    placeholder=self.text("checker_pin"), id="checker_pin", password=True, max_length=4,
                    restrict=r"[0-9０-９]*",
                )  # fmt: skip
            yield KioskInput(placeholder=both("password"), id="password", password=True, max_length=128)
            yield Static("", id="error", classes="message error")
            with Horizontal():
                yield Button(self.text("confirm_submit"), id="confirm", classes="primary")
                if not self.overrides:  # a doctor's override is confirmed here, while it is on this screen
                    yield Button(self.text("check_on_own_screen"), id="elsewhere")
                yield Button(self.text("back"), id="back")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id
        if button == "back":
            self.app.pop_screen()
        elif button == "elsewhere":
            self.leave_for_checker()
        elif button == "confirm" and self.own_screen:
            if self.member.staff_id == self.entered_by.staff_id:
                self.show_error(self.text("same_person"))
            else:
                self.record(self.member, self.own_proof())
        elif button == "confirm":
            checker = unicodedata.normalize("NFKC", self.query_one("#checker", Input).value).strip()
            password = self.query_one("#password", Input).value or None
            pin = unicodedata.normalize("NFKC", self.query_one("#checker_pin", Input).value) or None
            if checker == self.entered_by.staff_id:
                self.show_error(self.text("same_person"))
            elif checker and (password or pin):
                self.check(checker, password, pin)

    def own_proof(self) -> str | None:
        return self.kiosk.staff.attestation if self.kiosk.staff else None

    def leave_for_checker(self) -> None:
        entry = PendingEntry.of(self.given, self.member, self.own_proof())
        self.kiosk.services.keep_pending(replace(self.pending, entry=entry))
        self.notify(self.text("waiting_for_checker"))
        self.app.pop_screen()

    def show_error(self, message: str) -> None:
        for field in self.query("#password, #checker_pin"):
            field.value = ""  # type: ignore[attr-defined]
        self.query_one("#error", Static).update(message)

    @work(thread=True, exclusive=True, group="check")
    def check(self, checker_id: str, password: str | None, pin: str | None) -> None:
        try:
            checked = self.kiosk.services.attest(checker_id, password, pin)
        except BilingualError as error:
            self.app.call_from_thread(self.show_error, error.message.get(self.kiosk.staff_lang))
            return
        self.app.call_from_thread(self.record, checked.member, checked.token)

    def record(self, checker: StaffMember, checker_proof: str | None) -> None:
        services = self.kiosk.services
        now = self.kiosk.clock()
        entered_proof = self.entered_proof if self.own_screen else self.own_proof()
        try:
            record_vaccination(
                services, self.pending, self.given, self.entered_by, checker, now=now,
                proofs=Proofs(entered_by=entered_proof, checked_by=checker_proof),
                catalogue=services.rules().catalogue, overrides=self.overrides,
            )  # fmt: skip
        except BilingualError as error:  # a VisitError, or the contract refusing a field
            self.show_error(error.message.get(self.kiosk.staff_lang))
            return
        services.finish_pending(self.pending, "vaccinated", now)
        self.notify(self.text("recorded"))
        self.app.pop_screen()
