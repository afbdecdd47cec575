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
from yoshin.tui.widgets import KioskInput, NumericKeypad, Words, keypad_apply
from yoshin.tui.words import number_range


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
            Words(self.text("question_progress", i=index, n=total), classes="message", id="progress"),
        ]
        if self.context().needs_guardian(self.template):
            widgets.append(Words(self.guardian_note(), classes="message warning", id="guardian"))
        notice = self.flag_notice()
        if notice:
            widgets.append(Words(notice, classes="message notice", id="notice"))
        widgets.append(Words(question.text.get(lang), classes="title", id="question"))
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
            hint = number_range(question, lang) if question.type == "number" else self.text("date_hint")
            prefill = self.visit.temperature if question.id == "temperature" else None
            value = "" if prefill is None else f"{prefill:.1f}"
            widgets.append(Words(hint, classes="message", id="hint"))
            field = KioskInput(value, placeholder=hint, id="value", restrict=r"[0-9０-９.．\-－/]*")
            widgets.append(Horizontal(field, Button(self.text("next"), id="value-next", classes="primary")))
            widgets.append(Words("", id="error", classes="message error"))
            widgets.append(NumericKeypad(separator=question.type == "date", id="numpad"))
        widgets.append(Button(self.text("back"), id="back"))
        await body.mount_all(widgets)
        self.focus_first()

    def focus_first(self) -> None:
        """The answer's first control has the focus (the field, or the first answer button)."""
        for selector in ("#value", "#a-yes", "Button", "Checkbox"):
            found = self.query(selector)
            if found:
                found.first().focus()
                return

    def guardian_note(self) -> str:
        face = self.visit.face
        guardian = ((self.visit.subject or {}).get("subject") or {}).get("guardian_name")
        if face is not None and guardian:
            return self.text("guardian_note_named", child=face.basic_info.name, guardian=guardian)
        return self.text("guardian_note")

    def flag_notice(self) -> str:
        """The resident is told when the answer just given needs the doctor (the doctor decides, not the kiosk)."""
        if not self.visit.answers:
            return ""
        last = next(reversed(self.visit.answers))
        try:
            question = self.template.question(last)
        except KeyError:
            return ""
        value = self.visit.answers[last]
        reasons = [rule.text.get(self.visit.lang) for rule in question.rules if rule.matches(value)]
        return "\n".join(self.text("flag_notice", reason=reason) for reason in reasons)

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
        if button.startswith("kp-"):
            field = self.query_one("#value", Input)
            field.value = keypad_apply(field.value, button[3:])
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
        text = unicodedata.normalize("NFKC", self.query_one("#value", Input).value).replace("－", "-").replace("/", "-")
        try:
            value = normalize_answer(question, text)
        except AnswerError as error:
            self.query_one("#error", Static).update(error.reason.get(self.visit.lang))
            return
        await self.answer(question, value)
