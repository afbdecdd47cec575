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

from yoshin.domain.templates import AnswerError, Question, normalize_answer
from yoshin.tui.plan import Step, steps
from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.widgets import KioskInput, NumericKeypad, Words, keypad_apply
from yoshin.tui.words import number_range


class QuestionnaireScreen(KioskScreen):
    card_expected = True

    def current_step(self) -> tuple[Step | None, int, int]:
        shown = steps(self.chosen(), self.visit.answers, self.context())
        for index, step in enumerate(shown):
            if step.key not in self.visit.answers:
                return step, index + 1, len(shown)
        return None, len(shown), len(shown)

    def current(self) -> tuple[Question | None, int, int]:
        step, index, total = self.current_step()
        return (step.question if step else None), index, total

    def compose(self) -> ComposeResult:
        yield Vertical(id="body")

    async def on_mount(self) -> None:
        super().on_mount()
        await self.show()

    async def show(self) -> None:
        from yoshin.tui.screens.review import ReviewScreen

        step, index, total = self.current_step()
        if step is None:
            self.go(ReviewScreen())
            return
        question = step.question
        body = self.query_one("#body", Vertical)
        await body.remove_children()
        lang = self.visit.lang
        widgets: list[Any] = [
            Words(self.text("question_progress", i=index, n=total), classes="message", id="progress"),
        ]
        if any(self.context().needs_guardian(item.template) for item in self.chosen()):
            widgets.append(Words(self.guardian_note(), classes="message warning", id="guardian"))
        if step.vaccine_code is not None:  # a question about one of several vaccines: say which
            name = self.vaccine_name(step.vaccine_code)
            widgets.append(Words(self.text("for_vaccine", name=name), classes="message notice", id="for-vaccine"))
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
        subject = self.visit.identity.subject if self.visit.identity else None
        guardian = subject.guardian_name if subject else None
        if face is not None and guardian:
            return self.text("guardian_note_named", child=face.basic_info.name, guardian=guardian)
        return self.text("guardian_note")

    def flag_notice(self) -> str:
        """The resident is told when the answer just given needs the doctor (the doctor decides, not the kiosk)."""
        if not self.visit.answers:
            return ""
        last = next(reversed(self.visit.answers))
        question_id = last.rpartition("/")[2]
        question = next((q for item in self.chosen() for q in item.template.questions if q.id == question_id), None)
        if question is None:
            return ""
        value = self.visit.answers[last]
        reasons = [rule.text.get(self.visit.lang) for rule in question.rules if rule.matches(value)]
        return "\n".join(self.text("flag_notice", reason=reason) for reason in reasons)

    async def answer(self, question: Question, value: Any) -> None:
        step, _, _ = self.current_step()
        assert step is not None and step.question.id == question.id
        self.visit.answers[step.key] = value  # the answers' order is the way back, one question a step
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
