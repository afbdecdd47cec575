"""What a staff list row and a visit's flags say, from the template's own words (pure functions)."""

from __future__ import annotations

from datetime import date

from yoshin.domain.templates import default_templates
from yoshin.tui.staff_view import answer_text

TEMPLATE = default_templates().for_vaccine("flu_elderly", date(2026, 10, 15))


def test_answers_are_words_never_raw_codes() -> None:
    assert answer_text(TEMPLATE, "unwell_today", True).ja == "はい"
    assert answer_text(TEMPLATE, "unwell_today", False).en == "No"
    assert answer_text(TEMPLATE, "temperature", 37.8).ja == "37.8 °C"
    assert TEMPLATE is not None
    choice_question = next(q for q in TEMPLATE.questions if q.choices)
    choice = choice_question.choices[-1]
    assert answer_text(TEMPLATE, choice_question.id, choice.value) == choice.text
    assert answer_text(None, "anything", "x").ja == "x"  # no template in force: shown as it is
