"""Review and submit: the answers once more, then sealed into the outbox (and kept for staff under the day key)."""

from __future__ import annotations

import logging

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button

from yoshin.device.visit import submit_answers
from yoshin.domain.i18n import BilingualError
from yoshin.domain.templates import validate_answers
from yoshin.tui.plan import answers_for, steps
from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.widgets import Words
from yoshin.tui.words import answer_text

log = logging.getLogger(__name__)


class ReviewScreen(KioskScreen):
    card_expected = True

    def compose(self) -> ComposeResult:
        lang = self.visit.lang
        chosen, context = self.chosen(), self.context()
        several = len(chosen) > 1
        heading: str | None = None
        with Vertical():
            yield Words(self.text("review"), classes="title")
            with VerticalScroll(id="answers"):
                for step in steps(chosen, self.visit.answers, context):
                    if step.key not in self.visit.answers:
                        continue
                    if several:
                        name = (
                            self.text("shared_answers")
                            if step.vaccine_code is None
                            else self.text("for_vaccine", name=self.vaccine_name(step.vaccine_code))
                        )
                        if name != heading:
                            heading = name
                            yield Words(name, classes="heading")
                    question, value = step.question, self.visit.answers[step.key]
                    yield Words(f"{question.text.get(lang)}: {answer_text(question, value, lang)}", classes="answer")
                    for rule in question.rules:
                        if rule.matches(value):
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
        try:
            self.submit()
        except BilingualError as error:  # the outbox is full, or the appliance agent is gone: said, not sent
            log.error("the questionnaire was not sent: %s", type(error).__name__)
            self.kiosk.failed()
            return
        self.go(RemoveCardScreen(completed=True))

    def submit(self) -> None:
        """One questionnaire record per vaccine, sealed into the outbox and kept for staff under today's
        day key. Every questionnaire is checked before the first is sent, so none goes alone."""
        face = self.visit.face
        assert face is not None
        subject = None if self.visit.offline or self.visit.identity is None else self.visit.identity.subject
        chosen, context = self.chosen(), self.context()
        answers = {item.vaccine_code: answers_for(item, chosen, self.visit.answers) for item in chosen}
        for item in chosen:
            validate_answers(item.template, answers[item.vaccine_code], {}, context)
        claimed: str | None = None  # offline: the provisional subject the first vaccine claimed
        for item in chosen:
            pending = submit_answers(
                self.kiosk.services,
                face=face,
                template=item.template,
                answers=answers[item.vaccine_code],
                context=context,
                subject=subject,
                dose_number=item.dose_number,
                language=self.visit.lang,
                started_at=self.visit.started_at,
                now=self.kiosk.clock(),
                reception=self.visit.reception,
                claimed_subject_id=claimed,
            )
            claimed = pending.questionnaire.subject_id if subject is None else None
        self.visit.submitted = True
