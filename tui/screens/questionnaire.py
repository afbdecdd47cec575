"""The questionnaire, one question at a time from the template: big buttons, progress, back always.

Which questions are asked, and what they flag, is the template's business (yoshin.domain.templates);
this screen only shows the next visible question and keeps the answers (NFKC-normalised).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Static

from yoshin.domain.age import age_in_years
from yoshin.domain.clock import today as jst_today
from yoshin.domain.templates import AnswerError, Question, SubjectContext, Template, normalize_answer, visible_questions
from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.widgets import KioskInput


class QuestionnaireScreen(KioskScreen):
    card_expected = True

    @property
    def template(self) -> Template:
        code = self.visit.vaccine_code or ""
        template = self.kiosk.services.rules().templates.for_vaccine(code, jst_today(self.kiosk.clock()))
        assert template is not None, code
        return template

    def context(self) -> SubjectContext:
        face = self.visit.face
        assert face is not None
        return SubjectContext(
            age_in_years(face.basic_info.birth_date, jst_today(self.kiosk.clock())), face.basic_info.sex
        )

    def current(self) -> tuple[Question | None, int, int]:
        shown = visible_questions(self.template, self.visit.answers, self.context())
        for index, question in enumerate(shown):
            if question.id not in self.visit.answers:
                return question, index + 1, len(shown)
        return None, len(shown), len(shown)

    def compose(self) -> ComposeResult:
        yield Vertical(id="body")

    async def on_mount(self) -> None:
        super().on_mount()
        await self.show()

    async def show(self) -> None:
        from yoshin.tui.screens.review import ReviewScreen

        question, index, total = self.current()
        if question is None:
            self.go(ReviewScreen())
            return
        body = self.query_one("#body", Vertical)
        await body.remove_children()
        lang = self.visit.lang
        widgets: list[Any] = [
            Static(self.text("question_progress", i=index, n=total), classes="message", id="progress"),
        ]
        if self.context().needs_guardian(self.template):
            widgets.append(Static(self.text("guardian_note"), classes="message warning", id="guardian"))
        widgets.append(Static(question.text.get(lang), classes="title", id="question"))
        if question.type == "yes_no":
            widgets.append(
                Horizontal(Button(self.text("yes"), id="a-yes", classes="primary"), Button(self.text("no"), id="a-no"))
            )
        elif question.type == "single_choice":
            widgets += [Button(choice.text.get(lang), id=f"c-{choice.value}") for choice in question.choices]
        elif question.type == "multi_choice":
            widgets += [Checkbox(choice.text.get(lang), id=f"m-{choice.value}") for choice in question.choices]
            widgets.append(Button(self.text("next"), id="multi", classes="primary"))
        else:
            hint = (
                f"{question.minimum}–{question.maximum} {question.unit}" if question.type == "number" else "YYYY-MM-DD"
            )
            prefill = self.visit.temperature if question.id == "temperature" else None
            value = "" if prefill is None else f"{prefill:.1f}"
            widgets.append(KioskInput(value, placeholder=hint, id="value", restrict=r"[0-9０-９.．\-－]*"))
            widgets.append(Static("", id="error", classes="message error"))
            widgets.append(Button(self.text("next"), id="value-next", classes="primary"))
        widgets.append(Button(self.text("back"), id="back"))
        await body.mount_all(widgets)

    async def answer(self, question: Question, value: Any) -> None:
        self.visit.answers[question.id] = value  # the answers' order is the way back, one question a step
        await self.show()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        from yoshin.tui.screens.vaccine import VaccineScreen

        question, _, _ = self.current()
        button = event.button.id or ""
        if button == "back":
            if self.visit.answers:
                self.visit.answers.popitem()  # the question answered last
                await self.show()
            else:
                self.go(VaccineScreen())
            return
        if question is None:
            return
        if button in ("a-yes", "a-no"):
            await self.answer(question, button == "a-yes")
        elif button.startswith("c-"):
            await self.answer(question, button[2:])
        elif button == "multi":
            chosen = [c.value for c in question.choices if self.query_one(f"#m-{c.value}", Checkbox).value]
            if chosen:
                await self.answer(question, chosen)
        elif button == "value-next":
            await self.submit_value(question)

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        question, _, _ = self.current()
        if question is not None:
            await self.submit_value(question)

    async def submit_value(self, question: Question) -> None:
        text = unicodedata.normalize("NFKC", self.query_one("#value", Input).value).replace("－", "-")
        try:
            value = normalize_answer(question, text)
        except AnswerError as error:
            self.query_one("#error", Static).update(error.message.get(self.visit.lang))
            return
        await self.answer(question, value)
