"""Review and submit: the answers once more, then sealed into the outbox (and kept for staff under the day key)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from yoshin.device.visit import submit_answers
from yoshin.tui.screens.base import KioskScreen


class ReviewScreen(KioskScreen):
    card_expected = True

    def compose(self) -> ComposeResult:
        from yoshin.tui.screens.questionnaire import QuestionnaireScreen

        lang = self.visit.lang
        template = QuestionnaireScreen.template.fget(self)  # type: ignore[attr-defined]
        with Vertical():
            yield Static(self.text("review"), classes="title")
            with VerticalScroll(id="answers"):
                for question in template.questions:
                    if question.id in self.visit.answers:
                        value = self.visit.answers[question.id]
                        shown = self.text("yes") if value is True else self.text("no") if value is False else str(value)
                        yield Static(f"{question.text.get(lang)}: {shown}")
            with Horizontal():
                yield Button(self.text("submit"), id="submit", classes="primary")
                yield Button(self.text("back"), id="back")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        from yoshin.tui.screens.questionnaire import QuestionnaireScreen
        from yoshin.tui.screens.remove_card import RemoveCardScreen

        if event.button.id == "back":
            self.visit.answers.popitem()
            self.go(QuestionnaireScreen())
            return
        self.submit()
        self.go(RemoveCardScreen(completed=True))

    def submit(self) -> None:
        """Seal the answers into the outbox and keep the visit for staff under today's day key."""
        from yoshin.tui.screens.questionnaire import QuestionnaireScreen

        face = self.visit.face
        assert face is not None
        subject = (self.visit.subject or {}).get("subject", {})
        submit_answers(
            self.kiosk.services,
            face=face,
            template=QuestionnaireScreen.template.fget(self),  # type: ignore[attr-defined]
            answers=self.visit.answers,
            context=QuestionnaireScreen.context(self),  # type: ignore[arg-type]
            subject_id=None if self.visit.offline else subject["subject_id"],
            guardian_name=subject.get("guardian_name"),
            dose_number=self.visit.dose_number or 1,
            language=self.visit.lang,
            started_at=self.visit.started_at,
            now=self.kiosk.clock(),
        )
        self.visit.submitted = True
