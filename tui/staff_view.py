"""What the staff screens show of a pending visit, worked out once: pure functions, no I/O, no widgets.

A visit is 診察待ち until a doctor decides, 接種待ち after "proceed" (確認待ち once the nurse's entry
waits for the second person), and 完了 once deferred or vaccinated. Its flags are named by the template's
own rule texts, 接種不可 apart from 要医師確認, and a fever carries its value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from yoshin.domain.bundle import Rules
from yoshin.domain.clock import now_jst
from yoshin.domain.contract import FLAG_NOT_ELIGIBLE
from yoshin.domain.i18n import Bilingual
from yoshin.domain.templates import Template

TEMPERATURE = "temperature"


class Stage(Enum):
    WAITING_DOCTOR = "waiting_doctor"  # 診察待ち
    WAITING_VACCINATION = "waiting_vaccination"  # 接種待ち
    AWAITING_CHECK = "awaiting_check"  # 確認待ち (shown under 接種待ち)
    DONE = "done"  # 完了


@dataclass(frozen=True, slots=True)
class FlagLine:
    flag: str  # the contract's closed set: not_eligible or doctor_review
    question: Bilingual
    reason: Bilingual
    answer: Any


@dataclass(frozen=True, slots=True)
class VisitRow:
    visit_id: str
    stage: Stage
    time: str  # HH:MM JST
    name: str
    vaccine: Bilingual
    dose_number: int
    not_eligible: tuple[FlagLine, ...]
    doctor_review: tuple[FlagLine, ...]
    fever: float | None
    outcome: str | None = None  # for 完了: "vaccinated" or "defer"


def stage(visit: dict[str, Any]) -> Stage:
    if "done" in visit:
        return Stage.DONE
    if "entry" in visit:
        return Stage.AWAITING_CHECK
    if visit.get("decision") is not None:
        return Stage.WAITING_VACCINATION
    return Stage.WAITING_DOCTOR


def flag_lines(record: dict[str, Any], template: Template | None) -> list[FlagLine]:
    """Each raised flag with its question and the rule's own reason, 接種不可 first."""
    lines = []
    for flag in record["flags"]:
        question_id, kind = flag["question_id"], flag["flag"]
        answer = record["answers"].get(question_id)
        question_text, reason = Bilingual(question_id, question_id), Bilingual(kind, kind)
        if template is not None:
            question = next((q for q in template.questions if q.id == question_id), None)
            if question is not None:
                question_text = question.text
                rule = next((r for r in question.rules if r.flag == kind and r.matches(answer)), None)
                reason = rule.text if rule is not None else reason
        lines.append(FlagLine(kind, question_text, reason, answer))
    return sorted(lines, key=lambda line: line.flag != FLAG_NOT_ELIGIBLE)


def fever(record: dict[str, Any]) -> float | None:
    """The temperature when a flag was raised on it (the value shows, not just a warning sign)."""
    if any(flag["question_id"] == TEMPERATURE for flag in record["flags"]):
        value = record["answers"].get(TEMPERATURE)
        return float(value) if isinstance(value, int | float) else None
    return None


def rows(visits: list[tuple[str, dict[str, Any]]], rules: Rules, today: date) -> list[VisitRow]:
    out = []
    for visit_id, visit in visits:
        if "done" in visit:
            done = visit["done"]
            vaccine = rules.catalogue.vaccine(done["vaccine_code"], today)
            out.append(
                VisitRow(
                    visit_id, Stage.DONE, _time(done["done_at"]), done["name"],
                    vaccine.name if vaccine else Bilingual(done["vaccine_code"], done["vaccine_code"]),
                    done["dose_number"], (), (), None, done["outcome"],
                )
            )  # fmt: skip
            continue
        record = visit["questionnaire"]
        template = rules.templates.for_vaccine(record["vaccine_code"], today)
        vaccine = rules.catalogue.vaccine(record["vaccine_code"], today)
        lines = flag_lines(record, template)
        out.append(
            VisitRow(
                visit_id, stage(visit), _time(record["answered_at"]), visit["name"],
                vaccine.name if vaccine else Bilingual(record["vaccine_code"], record["vaccine_code"]),
                visit["dose_number"],
                tuple(line for line in lines if line.flag == FLAG_NOT_ELIGIBLE),
                tuple(line for line in lines if line.flag != FLAG_NOT_ELIGIBLE),
                fever(record),
            )
        )  # fmt: skip
    return out


def _time(stamp: str) -> str:
    """HH:MM in JST, whatever offset the stamp was written with (a naive stamp is taken as JST)."""
    moment = datetime.fromisoformat(stamp)
    return (now_jst(moment) if moment.tzinfo else moment).strftime("%H:%M")


def done_summary(visit: dict[str, Any], outcome: str, at: str) -> dict[str, Any]:
    """What stays of a finished visit for the day's 完了 list (until day end): no answers, no birth date."""
    record = visit["questionnaire"]
    return {
        "name": visit["name"],
        "vaccine_code": record["vaccine_code"],
        "dose_number": visit["dose_number"],
        "outcome": outcome,
        "done_at": at,
    }
