"""A visit for several vaccines at once (同時接種): which questions to ask, once or per vaccine, and
whose answers go into which questionnaire. Pure functions over the templates; the screens call them.

A question every chosen template asks about the person (today's temperature, illnesses, allergies, …)
is asked once and its answer goes into each of those questionnaires. A question about the vaccine
itself (has the leaflet been read, does the resident want it, the guardian's consent) or one only a
single chosen template asks is asked once per vaccine, headed with the vaccine's name. With one
vaccine nothing changes: every question is asked once, keyed by its id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from yoshin.domain.catalogue import Catalogue
from yoshin.domain.i18n import Bilingual
from yoshin.domain.rules_guard import Given, GuardCode, guard
from yoshin.domain.series import HistoryEntry, Subject
from yoshin.domain.templates import Question, SubjectContext, Template, visible_questions

# Questions about the vaccine itself, never shared between vaccines.
PER_VACCINE = frozenset({"read_leaflet", "wants_vaccination", "guardian_consent"})


@dataclass(frozen=True, slots=True)
class Chosen:
    """One vaccine of today's visit, with the template its questionnaire follows."""

    vaccine_code: str
    dose_number: int
    template: Template


@dataclass(frozen=True, slots=True)
class Step:
    question: Question
    vaccine_code: str | None  # None: shared, answered once for every chosen vaccine that asks it

    @property
    def key(self) -> str:
        return self.question.id if self.vaccine_code is None else f"{self.vaccine_code}/{self.question.id}"


def _shared(question_id: str, chosen: Sequence[Chosen]) -> bool:
    if len(chosen) == 1:
        return True
    asking = sum(1 for c in chosen if any(q.id == question_id for q in c.template.questions))
    return question_id not in PER_VACCINE and asking > 1


def answers_for(item: Chosen, chosen: Sequence[Chosen], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers of one vaccine's questionnaire, by question id, in the order they were given."""
    mine: dict[str, Any] = {}
    for key, value in answers.items():
        code, _, question_id = key.rpartition("/")
        mine_or_shared = code == item.vaccine_code or (not code and _shared(question_id, chosen))
        if mine_or_shared and any(q.id == question_id for q in item.template.questions):
            mine[question_id] = value
    return mine


def steps(chosen: Sequence[Chosen], answers: Mapping[str, Any], context: SubjectContext) -> list[Step]:
    """Every question to show now (visibility depends on the answers so far): shared ones first, in the
    first template's order, then each vaccine's own."""
    shared: list[Step] = []
    own: list[Step] = []
    seen: set[str] = set()
    for item in chosen:
        for question in visible_questions(item.template, answers_for(item, chosen, answers), context):
            if _shared(question.id, chosen):
                if question.id not in seen:
                    seen.add(question.id)
                    shared.append(Step(question, None))
            else:
                own.append(Step(question, item.vaccine_code))
    return shared + own


def same_day_conflicts(
    birth: date, sex: str, chosen: Sequence[tuple[str, int]], on: date, catalogue: Catalogue
) -> list[tuple[str, str, Bilingual]]:
    """Pairs of chosen vaccines the rules engine refuses together: the same antigen twice in one day
    (5種混合 already holds Hib, …). Each as (earlier vaccine, later vaccine, the guard's message). The
    other findings need the history the host holds; its due list has already weighed them."""
    subject = Subject(birth, sex)
    earlier: list[HistoryEntry] = []
    conflicts: list[tuple[str, str, Bilingual]] = []
    for code, dose in chosen:
        kind = catalogue.kind(code)
        if kind is None:
            continue
        for finding in guard(subject, earlier, Given(kind.code, dose, vaccine_code=code), on, catalogue):
            if finding.code == GuardCode.SAME_DAY_DUPLICATE:
                clash = next(e.vaccine_code for e in earlier if _antigens(catalogue, e.vaccine_code) & kind.antigens)
                conflicts.append((clash, code, finding.message))
        earlier.append(HistoryEntry(code, dose, on))
    return conflicts


def _antigens(catalogue: Catalogue, code: str) -> frozenset[str]:
    kind = catalogue.kind(code)
    return frozenset(kind.antigens) if kind else frozenset()
