"""受付確認 (control 4): reception confirms who stands at the counter before the resident's card step.

The member picks who came (本人, 保護者 (親権者), 代理人) and the documents seen (a closed set: マイナンバー
カード, 運転免許証, 保険証, 旅券, 在留カード, 母子健康手帳, 委任状), then 本人確認済み. A proxy needs the
委任状 and their own identity document. The confirmation waits as a slot in the pending store, with the
member's host attestation, until the next card visit on the resident kiosk takes it; nothing of the
resident is typed here. Open slots are listed with their time and can be cancelled (a person who left).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Static

from yoshin.device.visit import ReceptionSlot, VisitError, confirm_reception
from yoshin.domain.clock import now_jst
from yoshin.domain.contract import IdDocument, Presenter
from yoshin.tui.screens.staff_base import StaffScreen


class ReceptionScreen(StaffScreen):
    def __init__(self) -> None:
        super().__init__()
        self.presenter = Presenter.SELF
        self.documents: list[IdDocument] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.text("reception_title"), classes="title")
            yield Static(self.text("reception_who"), classes="section")
            with Horizontal(id="presenters"):
                for presenter in Presenter:
                    yield Button(self.text(f"presenter_{presenter}"), id=f"who-{presenter}", classes="choice")
            yield Static(self.text("reception_documents"), classes="section")
            with Grid(id="documents"):
                for document in IdDocument:
                    yield Button(self.text(f"document_{document}"), id=f"doc-{document}", classes="choice")
            yield Static("", id="error", classes="message error")
            yield Static("", id="done", classes="message")
            with Horizontal():
                yield Button(self.text("reception_confirm"), id="confirm", classes="primary")
                yield Button(self.text("back"), id="back")
            yield Vertical(id="slots")

    async def on_mount(self) -> None:
        self.mark()
        await self.show_slots()

    def mark(self) -> None:
        """Chosen buttons inverted and marked ● (the others ○): state in words as well as colour."""
        chosen = {f"who-{self.presenter}", *(f"doc-{document}" for document in self.documents)}
        for button in self.query("#presenters Button, #documents Button").results(Button):
            base = str(button.label).removeprefix("● ").removeprefix("○ ")
            selected = button.id in chosen
            button.set_class(selected, "-selected")
            button.label = f"{'●' if selected else '○'} {base}"

    async def show_slots(self) -> None:
        box = self.query_one("#slots", Vertical)
        await box.remove_children()
        slots = self.kiosk.services.reception_slots()
        lines: list[Static | Button] = [Static(self.text("reception_open", n=len(slots)), id="open-count")]
        for slot_id, slot in slots:
            lines.append(Button(self.slot_label(slot), id=f"cancel-{slot_id}", classes="choice"))
        await box.mount_all(lines)

    def slot_label(self, slot: ReceptionSlot) -> str:
        check = slot.check
        documents = self.text("list_sep").join(self.text(f"document_{d}") for d in check.documents)
        who = self.text(f"presenter_{check.presenter}")
        when = f"{now_jst(check.confirmed_at):%H:%M}"
        return f"× {self.text('reception_cancel')}: {when} {slot.confirmer.name} ({who}: {documents})"

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button == "back":
            self.app.pop_screen()
        elif button.startswith("who-"):
            self.presenter = Presenter(button.removeprefix("who-"))
            self.mark()
        elif button.startswith("doc-"):
            document = IdDocument(button.removeprefix("doc-"))
            if document in self.documents:
                self.documents.remove(document)
            else:
                self.documents.append(document)
            self.mark()
        elif button.startswith("cancel-"):
            self.kiosk.services.cancel_reception(button.removeprefix("cancel-"))
            await self.show_slots()
        elif button == "confirm":
            await self.confirm()

    async def confirm(self) -> None:
        session = self.kiosk.staff
        assert session is not None
        try:
            confirm_reception(
                self.kiosk.services,
                session.member,
                session.attestation,
                self.presenter,
                self.documents,
                now=self.kiosk.clock(),
            )
        except VisitError as error:
            self.query_one("#done", Static).update("")
            self.query_one("#error", Static).update(error.message.get(self.kiosk.staff_lang))
            return
        self.presenter, self.documents = Presenter.SELF, []  # ready for the next person at the counter
        self.mark()
        self.query_one("#error", Static).update("")
        self.query_one("#done", Static).update(self.text("reception_done"))
        await self.show_slots()
