"""What the staff screens show of the day's visits, worked out once: pure functions, no I/O, no widgets.

A visit is 診察待ち until a doctor decides, 接種待ち after "proceed" (確認待ち once the nurse's entry
waits for the second person), and 完了 once deferred or vaccinated. Its flags are named by the template's
own rule texts, 接種不可 apart from 要医師確認, and a fever carries its value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from yoshin.device.visit import PendingVisit
from yoshin.domain.bundle import Rules
from yoshin.domain.clock import now_jst
from yoshin.domain.contract import FlagKind, QuestionnaireResponse
from yoshin.domain.i18n import Bilingual
from yoshin.domain.templates import Template

TEMPERATURE = "temperature"


class Stage(Enum):
    WAITING_DOCTOR = "waiting_doctor"  # 診察待ち
    WAITING_VACCINATION = "waiting_vaccination"  # 接種待ち
    AWAITING_CHECK = "awaiting_check"  # 確認待ち (shown under 接種待ち)
    DONE = "done"  # 完了


class Outcome(Enum):
    VACCINATED = "vaccinated"
    DEFERRED = "defer"


@dataclass(frozen=True, slots=True)
class DoneVisit:
    """What stays of a finished visit for the day's 完了 list (until day end): no answers, no birth date.
    A vaccinated one is also a dose the guard counts for the rest of the day (`sealed_today`)."""

    visit_id: str
    name: str
    vaccine_code: str
    dose_number: int
    outcome: Outcome
    done_at: datetime
    subject_id: str = ""  # the host's pseudonymous id, never the My Number: today's doses for the guard

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DoneVisit:
        return cls(
            str(data["visit_id"]), str(data["name"]), str(data["vaccine_code"]), int(data["dose_number"]),
            Outcome(data["outcome"]), datetime.fromisoformat(data["done_at"]), str(data.get("subject_id", "")),
        )  # fmt: skip


def done_summary(visit: PendingVisit, outcome: str, at: datetime) -> dict[str, Any]:
    return {
        "visit_id": visit.visit_id,
        "name": visit.name,
        "vaccine_code": visit.questionnaire.vaccine_code,
        "dose_number": visit.dose_number,
        "outcome": Outcome(outcome).value,
        "done_at": now_jst(at).isoformat(timespec="seconds"),
        "subject_id": visit.questionnaire.subject_id,
    }


@dataclass(frozen=True, slots=True)
class FlagLine:
    flag: FlagKind
    question: Bilingual
    reason: Bilingual
    answer: Bilingual


YES, NO = Bilingual("はい", "Yes"), Bilingual("いいえ", "No")


def answer_text(template: Template | None, question_id: str, value: Any) -> Bilingual:
    """An answer in words: はい/いいえ, a choice by its own text, a number with its unit; never a raw code."""
    if value is True or value is False:
        return YES if value else NO
    question = next((q for q in template.questions if q.id == question_id), None) if template else None
    if question is not None:
        choice = next((c for c in question.choices if c.value == value), None)
        if choice is not None:
            return choice.text
        if question.unit and isinstance(value, int | float):
            return Bilingual(f"{value} {question.unit}", f"{value} {question.unit}")
    return Bilingual(str(value), str(value))


@dataclass(frozen=True, slots=True)
class VisitRow:
    visit_id: str
    stage: Stage
    time: str  # HH:MM JST
    name: str
    vaccine: Bilingual
    dose_number: int
    not_eligible: tuple[FlagLine, ...] = ()
    doctor_review: tuple[FlagLine, ...] = ()
    fever: float | None = None
    outcome: Outcome | None = None


def stage(visit: PendingVisit) -> Stage:
    if visit.entry is not None:
        return Stage.AWAITING_CHECK
    if visit.decision is not None:
        return Stage.WAITING_VACCINATION
    return Stage.WAITING_DOCTOR


def flag_lines(record: QuestionnaireResponse, template: Template | None) -> list[FlagLine]:
    """Each raised flag with its question and the rule's own reason, 接種不可 first."""
    lines = []
    for flag in record.flags:
        answer = record.answers.get(flag.question_id)
        question_text = Bilingual(flag.question_id, flag.question_id)
        reason = Bilingual(str(flag.flag), str(flag.flag))
        if template is not None:
            question = next((q for q in template.questions if q.id == flag.question_id), None)
            if question is not None:
                question_text = question.text
                rule = next((r for r in question.rules if r.flag == flag.flag and r.matches(answer)), None)
                reason = rule.text if rule is not None else reason
        shown = answer_text(template, flag.question_id, answer)
        lines.append(FlagLine(FlagKind(flag.flag), question_text, reason, shown))
    return sorted(lines, key=lambda line: line.flag is not FlagKind.NOT_ELIGIBLE)


def fever(record: QuestionnaireResponse) -> float | None:
    """The temperature when a flag was raised on it (the value shows, not just a warning sign)."""
    if any(flag.question_id == TEMPERATURE for flag in record.flags):
        value = record.answers.get(TEMPERATURE)
        return float(value) if isinstance(value, int | float) else None
    return None


def _vaccine(rules: Rules, code: str, today: date) -> Bilingual:
    vaccine = rules.catalogue.vaccine(code, today)
    return vaccine.name if vaccine else Bilingual(code, code)


def rows(visits: list[PendingVisit], done: list[DoneVisit], rules: Rules, today: date) -> list[VisitRow]:
    out = []
    for visit in visits:
        record = visit.questionnaire
        lines = flag_lines(record, rules.templates.for_vaccine(record.vaccine_code, today))
        out.append(
            VisitRow(
                visit.visit_id, stage(visit), now_jst(record.answered_at).strftime("%H:%M"), visit.name,
                _vaccine(rules, record.vaccine_code, today), visit.dose_number,
                tuple(line for line in lines if line.flag is FlagKind.NOT_ELIGIBLE),
                tuple(line for line in lines if line.flag is not FlagKind.NOT_ELIGIBLE),
                fever(record),
            )
        )  # fmt: skip
    for finished in sorted(done, key=lambda d: d.done_at):
        out.append(
            VisitRow(
                finished.visit_id, Stage.DONE, now_jst(finished.done_at).strftime("%H:%M"), finished.name,
                _vaccine(rules, finished.vaccine_code, today), finished.dose_number, outcome=finished.outcome,
            )
        )  # fmt: skip
    return out
