"""Review and submit: the answers once more, then sealed into the outbox (and kept for staff under the day key)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button

from yoshin.domain.clock import now_jst
from yoshin.domain.contract import new_provisional_subject_id
from yoshin.domain.templates import evaluate_flags, validate_answers
from yoshin.tui import records
from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.services import face_body
from yoshin.tui.widgets import Words
from yoshin.tui.words import answer_text


class ReviewScreen(KioskScreen):
    card_expected = True

    def compose(self) -> ComposeResult:
        from yoshin.tui.screens.questionnaire import QuestionnaireScreen

        lang = self.visit.lang
        template = QuestionnaireScreen.template.fget(self)  # type: ignore[attr-defined]
        with Vertical():
            yield Words(self.text("review"), classes="title")
            with VerticalScroll(id="answers"):
                for question in template.questions:
                    if question.id in self.visit.answers:
                        shown = answer_text(question, self.visit.answers[question.id], lang)
                        yield Words(f"{question.text.get(lang)}: {shown}", classes="answer")
                        for rule in question.rules:
                            if rule.matches(self.visit.answers[question.id]):
                                reason = rule.text.get(lang)
                                yield Words(f"  → {self.text('flag_notice', reason=reason)}", classes="notice")
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

        template = QuestionnaireScreen.template.fget(self)  # type: ignore[attr-defined]
        context = QuestionnaireScreen.context(self)  # type: ignore[arg-type]
        answers, details = validate_answers(template, self.visit.answers, {}, context)
        flags = evaluate_flags(template, answers, context)
        services = self.kiosk.services
        subject = (self.visit.subject or {}).get("subject", {})
        guardian = subject.get("guardian_name") if context.needs_guardian(template) else None
        now = now_jst(self.kiosk.clock()).isoformat(timespec="seconds")
        face = self.visit.face
        assert face is not None
        clinic = services.clinic()
        if self.visit.offline:  # the host resolves the sealed card data when the queue drains
            subject_id = new_provisional_subject_id()
            services.submit("identity_claim", {**records.identity_claim(clinic, subject_id, now), **face_body(face)})
        else:
            subject_id = subject["subject_id"]
        record = records.questionnaire_response(
            clinic, subject_id, template, answers, details, flags, guardian, not self.visit.offline,
            self.visit.started_at or now, now,
        )  # fmt: skip
        services.submit("questionnaire_response", record)
        services.keep_pending(
            record["record_id"],
            {
                "questionnaire": record, "name": face.basic_info.name,
                "birth_date": face.basic_info.birth_date.isoformat(), "dose_number": self.visit.dose_number or 1,
                "offline": self.visit.offline, "language": self.visit.lang,
            },
        )  # fmt: skip
        self.visit.submitted = True
