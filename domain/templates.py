"""Questionnaire templates (予診票のひな形) as data, and the pure rules over them.

A template file (`domain/data/templates/<version>.toml`) holds a library of questions, forms (the
child form and the adult form) built from them, and one template per routine vaccine: a form plus the
vaccine's own questions. Everything a person reads is in Japanese and English. Rules on answers raise
flags: 接種不可 (`not_eligible`, only a doctor can override it, with a reason) and 要医師確認
(`doctor_review`).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from yoshin.domain import normalize
from yoshin.domain.contract import FLAG_NOT_ELIGIBLE, FLAGS, TEXT_LIMITS, Flag
from yoshin.domain.i18n import Bilingual, BilingualError

TEMPLATES_DIR = Path(__file__).resolve().parent / "data" / "templates"
QUESTION_TYPES = ("yes_no", "single_choice", "multi_choice", "number", "date")
SECTIONS = ("subject", "guardian")
# 16歳未満は保護者の同意が必要, 16歳以上は本人の同意のみ (a municipal HPV 保護者同意書,
# https://lawinsider.com/ja/contracts/80pOi7JacGs ; Nakano Ward's rule as restated by
# https://tanaka-clinic.org/guidance/vaccination/); the age is a template setting, this is only the default.
DEFAULT_GUARDIAN_UNDER_YEARS = 16


class TemplateError(ValueError):
    """A template file that is not a usable template (a data error, for reviewers)."""


class AnswerError(BilingualError):
    """Answers that do not fit the template; `question_id` names the question."""

    def __init__(self, question_id: str, en: str, ja: str) -> None:
        super().__init__(Bilingual(ja=f"{question_id}: {ja}", en=f"{question_id}: {en}"))
        self.question_id = question_id
        self.reason = Bilingual(ja=ja, en=en)  # without the id: for a resident's screen


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    text: Bilingual


@dataclass(frozen=True, slots=True)
class Condition:
    """When a question is shown: facts about the subject and/or an earlier answer, all of which hold."""

    sex: str | None = None
    min_age_years: int | None = None
    max_age_years: int | None = None  # inclusive
    answer: str | None = None  # question id
    equals: Any = None

    def holds(self, context: SubjectContext, answers: Mapping[str, Any]) -> bool:
        if self.sex is not None and context.sex != self.sex:
            return False
        if self.min_age_years is not None and context.age_years < self.min_age_years:
            return False
        if self.max_age_years is not None and context.age_years > self.max_age_years:
            return False
        return self.answer is None or answers.get(self.answer) == self.equals


@dataclass(frozen=True, slots=True)
class Rule:
    """An answer rule raising a flag: equals (yes/no, choice), contains (multi), gte/lte (number)."""

    flag: str
    text: Bilingual
    equals: Any = None
    contains: str | None = None
    gte: float | None = None
    lte: float | None = None

    def matches(self, answer: Any) -> bool:
        if answer is None:
            return False
        if self.contains is not None:
            return isinstance(answer, list) and self.contains in answer
        if self.gte is not None or self.lte is not None:
            return (self.gte is None or answer >= self.gte) and (self.lte is None or answer <= self.lte)
        return bool(answer == self.equals)


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    type: str
    text: Bilingual
    section: str = "subject"
    required: bool = True
    choices: tuple[Choice, ...] = ()
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    decimals: int = 0
    detail_when: Any = None  # the answer for which a free-text detail may be given
    detail_prompt: Bilingual | None = None
    show_if: Condition | None = None
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    version: str
    vaccine_code: str
    title: Bilingual
    questions: tuple[Question, ...]
    effective_from: date
    effective_to: date | None
    guardian_under_years: int

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)


@dataclass(frozen=True, slots=True)
class TemplateSet:
    version: str
    templates: tuple[Template, ...]

    def for_vaccine(self, vaccine_code: str, on: date) -> Template | None:
        return next((t for t in self.templates if t.vaccine_code == vaccine_code and t.in_force(on)), None)


@dataclass(frozen=True, slots=True)
class SubjectContext:
    """What the rules may know about the person answering: age, sex, whether a minor."""

    age_years: int
    sex: str

    def needs_guardian(self, template: Template) -> bool:
        return self.age_years < template.guardian_under_years


@dataclass(frozen=True, slots=True)
class RaisedFlag:
    question_id: str
    flag: str
    text: Bilingual

    def as_contract_flag(self) -> Flag:
        return Flag(self.question_id, self.flag)


# --- loading -------------------------------------------------------------------------------------


def template_files() -> dict[str, str]:
    return {path.name: path.read_text("utf-8") for path in sorted(TEMPLATES_DIR.glob("*.toml"))}


def default_templates() -> TemplateSet:
    return load_templates(template_files().values())


def load_templates(texts: Iterable[str]) -> TemplateSet:
    versions, templates = [], []
    for text in texts:
        data = tomllib.loads(text)
        version = str(data.get("version", ""))
        if not version:
            raise TemplateError("a template file needs a version")
        versions.append(version)
        library = {q["id"]: _question(q) for q in data.get("question", [])}
        forms = {f["id"]: f for f in data.get("form", [])}
        for item in data.get("template", []):
            templates.append(_template(item, version, library, forms))
    return TemplateSet("+".join(versions), tuple(templates))


def _question(item: Mapping[str, Any]) -> Question:
    qid = item.get("id", "?")
    try:
        qtype = item["type"]
        if qtype not in QUESTION_TYPES:
            raise TemplateError(f"unknown type {qtype!r}")
        section = item.get("section", "subject")
        if section not in SECTIONS:
            raise TemplateError(f"unknown section {section!r}")
        choices = tuple(Choice(c["value"], Bilingual(c["ja"], c["en"])) for c in item.get("choices", []))
        if qtype.endswith("_choice") and not choices:
            raise TemplateError("a choice question needs choices")
        rules = tuple(
            Rule(
                flag=r["flag"],
                text=Bilingual(r["ja"], r["en"]),
                equals=r.get("equals"),
                contains=r.get("contains"),
                gte=r.get("gte"),
                lte=r.get("lte"),
            )
            for r in item.get("rules", [])
        )
        if any(rule.flag not in FLAGS for rule in rules):
            raise TemplateError(f"flags must be one of {FLAGS}")
        if qtype == "number" and (item.get("min") is None or item.get("max") is None or not item.get("unit")):
            raise TemplateError("a number question needs unit, min and max")
        show_if = Condition(**item["show_if"]) if "show_if" in item else None
        detail = item.get("detail_ja"), item.get("detail_en")
        return Question(
            id=qid,
            type=qtype,
            text=Bilingual(item["ja"], item["en"]),
            section=section,
            required=item.get("required", True),
            choices=choices,
            unit=item.get("unit"),
            minimum=item.get("min"),
            maximum=item.get("max"),
            decimals=item.get("decimals", 0),
            detail_when=item.get("detail_when"),
            detail_prompt=Bilingual(*detail) if all(detail) else None,  # type: ignore[arg-type]
            show_if=show_if,
            rules=rules,
        )
    except (KeyError, TypeError) as error:
        raise TemplateError(f"question {qid}: {error}") from None


def _template(
    item: Mapping[str, Any], version: str, library: Mapping[str, Question], forms: Mapping[str, Any]
) -> Template:
    tid = item.get("id", "?")
    try:
        ids = list(forms[item["form"]]["questions"]) if "form" in item else []
        # A vaccine's own questions go before the closing items (質問, 接種希望) and the guardian section, as
        # on the MHLW 予診票; a form without them gets them at the end.
        at = next((ids.index(q) for q in ("has_questions", "wants_vaccination") if q in ids), len(ids))
        ids[at:at] = item.get("extra_questions", [])
        ids += item.get("questions", [])
        if len(set(ids)) != len(ids):
            raise TemplateError("a question appears twice")
        questions = tuple(library[qid] for qid in ids)
        for question in questions:
            condition = question.show_if
            if condition and condition.answer is not None and condition.answer not in ids[: ids.index(question.id)]:
                raise TemplateError(f"{question.id} depends on {condition.answer}, which is not asked before it")
        return Template(
            id=tid,
            version=version,
            vaccine_code=item["vaccine_code"],
            title=Bilingual(item["title_ja"], item["title_en"]),
            questions=questions,
            effective_from=item["effective_from"],
            effective_to=item.get("effective_to"),
            guardian_under_years=item.get("guardian_under_years", DEFAULT_GUARDIAN_UNDER_YEARS),
        )
    except KeyError as error:
        raise TemplateError(f"template {tid}: unknown {error}") from None


# --- rules ---------------------------------------------------------------------------------------


def visible_questions(template: Template, answers: Mapping[str, Any], context: SubjectContext) -> list[Question]:
    """The questions to ask, in order: conditions hold, and the guardian section only for minors."""
    shown: list[Question] = []
    seen: dict[str, Any] = {}
    guardian = context.needs_guardian(template)
    for question in template.questions:
        if question.section == "guardian" and not guardian:
            continue
        if question.show_if is None or question.show_if.holds(context, seen):
            shown.append(question)
            if question.id in answers:
                seen[question.id] = answers[question.id]
    return shown


def validate_answers(
    template: Template,
    answers: Mapping[str, Any],
    details: Mapping[str, str],
    context: SubjectContext,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalised answers and details, or AnswerError. Answers to hidden questions are refused."""
    raw = {normalize.nfkc(str(key)): value for key, value in answers.items()}
    normal: dict[str, Any] = {}
    visible = visible_questions(template, raw, context)
    for question in visible:
        if question.id in raw and raw[question.id] is not None:
            normal[question.id] = normalize_answer(question, raw[question.id])
        elif question.required:
            raise AnswerError(question.id, "an answer is required", "回答が必要です")
    extra = sorted(set(raw) - {question.id for question in visible})
    if extra:
        raise AnswerError(extra[0], "not a question asked in this questionnaire", "この予診票の設問ではありません")
    clean_details: dict[str, str] = {}
    for question_id, text in details.items():
        question = _lookup(template, question_id)
        if question.detail_when is None or normal.get(question_id) != question.detail_when:
            raise AnswerError(question_id, "no detail is asked for this answer", "この回答には詳細の記入欄がありません")
        try:
            clean_details[question_id] = normalize.free_text(text, TEXT_LIMITS["detail"])
        except ValueError as error:
            raise AnswerError(question_id, str(error), "詳細の記入内容が正しくありません") from None
    return normal, clean_details


def evaluate_flags(template: Template, answers: Mapping[str, Any], context: SubjectContext) -> list[RaisedFlag]:
    """Every flag the (validated) answers raise, in question order."""
    raised = []
    for question in visible_questions(template, answers, context):
        for rule in question.rules:
            if rule.matches(answers.get(question.id)):
                raised.append(RaisedFlag(question.id, rule.flag, rule.text))
    return raised


def decision_problem(flags: Iterable[Flag], decision: str, override_reason: str | None) -> Bilingual | None:
    """Why a doctor's decision is not acceptable, or None.

    A 接種不可 flag can be overridden only by a doctor, with a reason; the role check is the caller's.
    """
    if decision == "proceed" and any(flag.flag == FLAG_NOT_ELIGIBLE for flag in flags) and not override_reason:
        return Bilingual(
            ja="接種不可の項目があります。接種する場合は医師が理由を記入してください",
            en="an answer makes the person not eligible today; a doctor must give a reason to proceed",
        )
    return None


def _lookup(template: Template, question_id: str) -> Question:
    try:
        return template.question(question_id)
    except KeyError:
        raise AnswerError(question_id, "unknown question", "不明な設問です") from None


def normalize_answer(question: Question, value: Any) -> Any:
    """One answer, normalised to its type, or AnswerError."""

    def bad(en: str, ja: str) -> AnswerError:
        return AnswerError(question.id, en, ja)

    if question.type == "yes_no":
        if not isinstance(value, bool):
            raise bad("answer yes or no", "「はい」か「いいえ」で回答してください")
        return value
    if question.type == "single_choice":
        if value not in {choice.value for choice in question.choices}:
            raise bad("choose one of the options", "選択肢から選んでください")
        return value
    if question.type == "multi_choice":
        allowed = {choice.value for choice in question.choices}
        if not isinstance(value, list) or not value or not set(value) <= allowed or len(set(value)) != len(value):
            raise bad("choose one or more of the options", "選択肢から1つ以上選んでください")
        return [choice.value for choice in question.choices if choice.value in value]  # template order
    if question.type == "number":
        number = _number(value)
        if number is None:
            raise bad(f"enter a number in {question.unit}", f"数値 ({question.unit}) を入力してください")
        if not (question.minimum is not None and question.maximum is not None):
            raise bad("the template has no range", "範囲が定義されていません")
        if not question.minimum <= number <= question.maximum:
            raise bad(
                f"must be {question.minimum}-{question.maximum} {question.unit}",
                f"{question.minimum}〜{question.maximum} {question.unit} の範囲で入力してください",
            )
        if round(number, question.decimals) != number:
            raise bad(f"at most {question.decimals} decimal place(s)", f"小数点以下{question.decimals}桁までです")
        return number
    try:  # date
        answered = date.fromisoformat(normalize.digits(str(value)))
    except ValueError:
        raise bad("enter a real date", "正しい日付を入力してください") from None
    return answered.isoformat()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(normalize.digits(value))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
