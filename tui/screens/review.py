"""Review and submit: the answers once more, then sealed into the outbox (and kept for staff under the day key)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from yoshin.domain.templates import evaluate_flags, validate_answers
from yoshin.protocol.sealing import new_record_id
from yoshin.tui.screens.base import KioskScreen


class ReviewScreen(KioskScreen):
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
        self.go(RemoveCardScreen())

    def submit(self) -> None:
        from yoshin.tui.screens.questionnaire import QuestionnaireScreen

        template = QuestionnaireScreen.template.fget(self)  # type: ignore[attr-defined]
        context = QuestionnaireScreen.context(self)  # type: ignore[arg-type]
        answers, details = validate_answers(template, self.visit.answers, {}, context)
        flags = evaluate_flags(template, answers, context)
        subject = (self.visit.subject or {}).get("subject", {})
        identity = self.kiosk.services.identity()
        guardian = subject.get("guardian_name") if context.needs_guardian(template) else None
        now = self.kiosk.clock().astimezone().isoformat(timespec="seconds")
        record = {
            "record_id": new_record_id(), "municipality_code": identity["municipality_code"],
            "clinic_code": identity["clinic_code"], "subject_id": subject.get("subject_id", "OFFLINE"),
            "created_at": now, "template_id": template.id, "template_version": template.version,
            "vaccine_code": template.vaccine_code, "answers": answers, "details": details,
            "flags": [{"question_id": f.question_id, "flag": f.flag} for f in flags],
            "respondent": "guardian" if guardian else "self", "guardian_name": guardian, "consent": True,
            "eligibility_verified": not self.visit.offline, "started_at": self.visit.started_at or now,
            "answered_at": now,
        }  # fmt: skip
        self.kiosk.services.submit("questionnaire_response", record)
        self.visit.submitted = True
