"""Vaccination: today's choice from the host's due list, one or several (同時接種). Offline, the
catalogue's vaccinations for the card's birth date and sex with no history known (first doses), marked
"eligibility not verified". The rules engine checks the combination before the questionnaire starts."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button

from yoshin.domain.clock import today as jst_today
from yoshin.domain.series import Subject, due_list
from yoshin.tui.plan import same_day_conflicts
from yoshin.tui.screens.base import KioskScreen
from yoshin.tui.widgets import Words


class VaccineScreen(KioskScreen):
    card_expected = True

    def __init__(self) -> None:
        super().__init__()
        self.selected: list[tuple[str, int]] = []

    def choices(self) -> list[tuple[str, int]]:
        """Today's due vaccinations that have a questionnaire in force (the others are staff's to handle)."""
        services = self.kiosk.services
        today = jst_today(self.kiosk.clock())
        if self.visit.offline:
            face = self.visit.face
            assert face is not None
            subject = Subject(face.basic_info.birth_date, face.basic_info.sex)
            found = due_list(subject, [], today, services.rules().catalogue)
            due = [(e.vaccine_code, e.dose_number or 1) for e in found]
        else:
            info = self.visit.identity.subject if self.visit.identity else None
            due = [(item.vaccine_code, item.dose_number or 1) for item in info.due] if info else []
        templates = services.rules().templates
        return [(code, dose) for code, dose in due if templates.for_vaccine(code, today) is not None]

    def label(self, code: str, dose: int) -> str:
        mark = "[✓]" if (code, dose) in self.selected else "[  ]"
        return f"{mark} {self.vaccine_name(code)}  {self.text('dose', n=dose)}"

    def compose(self) -> ComposeResult:
        choices = self.choices()
        with Vertical():
            yield Words(self.text("choose_vaccine"), classes="title")
            if self.visit.offline:
                yield Words(self.text("offline"), classes="message warning", id="offline")
            if not choices:
                yield Words(self.text("nothing_due"), classes="message")
            with VerticalScroll(id="choices", can_focus=False):
                for code, dose in choices:
                    yield Button(self.label(code, dose), id=f"v-{code}-{dose}", classes="primary choice")
            yield Words("", classes="message error", id="error")
            with Horizontal():
                if choices:
                    yield Button(self.text("next"), id="vaccines-next", classes="primary")
                yield Button(self.text("back"), id="back")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        from yoshin.tui.screens.questionnaire import QuestionnaireScreen

        button = event.button.id or ""
        if button.startswith("v-"):
            _, code, dose = button.split("-")  # vaccine codes use underscores, never hyphens
            item = (code, int(dose))
            self.selected.remove(item) if item in self.selected else self.selected.append(item)
            event.button.label = self.label(*item)
            event.button.set_class(item in self.selected, "-selected")
            self.query_one("#error", Words).update("")
        elif button == "vaccines-next":
            if not self.selected:
                self.query_one("#error", Words).update(self.text("choose_one"))
                return
            problem = self.combination_problem()
            if problem:
                self.query_one("#error", Words).update(problem)
                return
            self.visit.vaccines = list(self.selected)
            self.visit.answers = {}  # nothing carries over from another questionnaire
            self.go(QuestionnaireScreen())
        else:
            self.kiosk.end_visit()

    def combination_problem(self) -> str:
        face = self.visit.face
        assert face is not None
        today = jst_today(self.kiosk.clock())
        catalogue = self.kiosk.services.rules().catalogue
        conflicts = same_day_conflicts(face.basic_info.birth_date, face.basic_info.sex, self.selected, today, catalogue)
        lang = self.visit.lang
        return "\n".join(
            self.text(
                "combination",
                first=self.vaccine_name(first),
                second=self.vaccine_name(second),
                reason=message.get(lang),
            )
            for first, second, message in conflicts
        )
