"""Exclusions of 予防接種法施行規則 第2条 and prior disease (施行令 第3条): asked in each vaccine's template,
flagged 接種不可, and carried into the engine where they change eligibility."""

from __future__ import annotations

from datetime import date

import pytest

from yoshin.domain.series import Case, HistoryEntry, Subject, evaluate, questionnaire_conditions, questionnaire_history
from yoshin.domain.templates import FLAG_NOT_ELIGIBLE, SubjectContext, default_templates

TEMPLATES = default_templates()
TODAY = date(2026, 10, 15)
KIYAKU = "https://iuris.jp/予防接種法施行規則-第二条-予防接種の対象者から除かれる者/jpn/a/58777"

# (vaccine, question, answer that excludes, the rule it implements)
EXCLUSIONS = [
    *[(v, "temperature", 37.5, "施行規則2条2号 明らかな発熱") for v in ("hib", "mr", "flu_elderly", "hpv")],
    *[(v, "severe_acute_illness", True, "施行規則2条3号 重篤な急性疾患") for v in ("pcv", "je", "zoster")],
    *[
        (v, "anaphylaxis_to_component", True, "施行規則2条4号 アナフィラキシー")
        for v in ("dpt_ipv_hib", "dt", "covid_elderly")
    ],
    ("mr", "pregnant_known", True, "施行規則2条5号 麻しん・風しん: 妊娠"),
    ("bcg", "keloid", True, "施行規則2条6号 BCG: ケロイド"),
    (
        "bcg",
        "immunosuppressed",
        True,
        "BCG 接種不適当者: 免疫機能の異常・免疫抑制 (https://www.bcg.gr.jp/actually/actually03.html)",
    ),
    ("hepb", "hbv_prophylaxis", True, "施行規則2条7号 B型肝炎: 母子感染予防で接種済み"),
    ("rota", "intussusception", True, "施行規則2条8号 ロタ: 腸重積症の既往"),
    ("rota", "congenital_gi_disorder", True, "施行規則2条8号 ロタ: 先天性消化管障害"),
    ("rota", "scid", True, "施行規則2条8号 ロタ: 重症複合免疫不全症"),
    (
        "pneumo_elderly",
        "pneumo_before",
        "ppsv23",
        "施行規則2条9号 高齢者肺炎球菌: 23価 (自費・公費を問わず, Kiryu City)",
    ),
    ("pneumo_elderly", "pneumo_before", "pcv20", "施行規則2条9号・1号 高齢者肺炎球菌: 20価"),
    ("bcg", "had_tb", True, "施行令3条 結核の既往"),
    ("varicella", "had_varicella", True, "施行令3条 水痘の既往"),
    ("mr", "measles_rubella_history", "both", "施行令3条 麻しん・風しんの既往"),
    ("zoster", "zoster_vaccine_before", "rzv_two", "生涯1回 (https://mykoho.jp/article/204501/9316793/9441684)"),
    (
        "rsv_maternal",
        "gestation_weeks",
        27,
        "妊娠28週0日から (https://www.city.okegawa.lg.jp/soshiki/kenkofukushi/kenkozoushin/yobou/14713.html)",
    ),
    ("rsv_maternal", "gestation_weeks", 37, "妊娠36週6日まで (同上)"),
]


@pytest.mark.parametrize(
    ("vaccine", "question", "answer", "rule"), EXCLUSIONS, ids=[f"{e[0]}-{e[1]}-{e[2]}" for e in EXCLUSIONS]
)
def test_the_exclusion_is_asked_and_flagged_not_eligible(
    vaccine: str, question: str, answer: object, rule: str
) -> None:
    template = TEMPLATES.for_vaccine(vaccine, TODAY)
    assert template is not None
    asked = {q.id: q for q in template.questions}
    assert question in asked, f"{vaccine} does not ask {question} ({rule})"
    flags = {r.flag for r in asked[question].rules if r.matches(answer)}
    assert FLAG_NOT_ELIGIBLE in flags, rule


def test_the_mr_pregnancy_question_is_shown_only_where_it_applies() -> None:
    template = TEMPLATES.for_vaccine("mr", TODAY)
    assert template is not None
    from yoshin.domain.templates import visible_questions

    assert "pregnant_known" not in [q.id for q in visible_questions(template, {}, SubjectContext(1, "female"))]
    assert "pregnant_known" in [q.id for q in visible_questions(template, {}, SubjectContext(30, "female"))]


def test_prior_disease_answers_become_conditions_the_engine_uses() -> None:
    child = date(2025, 1, 10)
    both = questionnaire_conditions({"measles_rubella_history": "both"})
    assert both == {"had_measles", "had_rubella"}
    verdict = evaluate(Case(Subject(child, "female", both), (), date(2026, 6, 1), "mr"))
    assert not verdict.eligible and "had_disease" in verdict.codes
    one = questionnaire_conditions({"measles_rubella_history": "measles"})
    assert evaluate(Case(Subject(child, "female", one), (), date(2026, 6, 1), "mr")).eligible


def test_a_voluntary_live_vaccine_from_the_questionnaire_counts_for_27_days() -> None:
    answers = {
        "last_vaccination_kind": "live_injectable",
        "last_live_vaccine": "yellow_fever",
        "last_vaccination_date": "2026-06-01",
    }
    history = tuple(questionnaire_history(answers))
    subject = Subject(date(2025, 1, 10), "male")
    assert not evaluate(Case(subject, history, date(2026, 6, 28), "varicella")).eligible
    assert evaluate(Case(subject, history, date(2026, 6, 29), "varicella")).eligible
    assert questionnaire_history({"last_live_vaccine": "other_live", "last_vaccination_date": "2026-06-01"}) == []


@pytest.mark.parametrize("vaccine", ["hpv", "je"])
def test_13_to_15_year_olds_may_come_alone_with_the_guardians_signed_form(vaccine: str) -> None:
    """The form's two cases at 13-15: the guardian came and consents, or did not and signed the form."""
    from yoshin.domain.templates import visible_questions

    template = TEMPLATES.for_vaccine(vaccine, TODAY)
    assert template is not None
    for age, asked_present, guardian_section in [
        (12, False, True),
        (13, True, False),
        (15, True, False),
        (16, False, False),
    ]:
        ids = [q.id for q in visible_questions(template, {}, SubjectContext(age, "female"))]
        assert ("guardian_present_13_15" in ids) is asked_present, age
        assert ("guardian_consent" in ids) is guardian_section, age
        assert "guardian_consent_13_15" not in ids and "guardian_consent_present_13_15" not in ids, age
    fourteen = SubjectContext(14, "female")
    for present, consent_question in [(False, "guardian_consent_13_15"), (True, "guardian_consent_present_13_15")]:
        ids = [q.id for q in visible_questions(template, {"guardian_present_13_15": present}, fourteen)]
        other = {"guardian_consent_13_15", "guardian_consent_present_13_15"} - {consent_question}
        assert consent_question in ids and not other & set(ids), present
        question = next(q for q in template.questions if q.id == consent_question)
        assert {r.flag for r in question.rules if r.matches(False)} == {FLAG_NOT_ELIGIBLE}
        assert not any(r.matches(True) for r in question.rules)


def test_the_rsv_window_allows_28_to_36_weeks() -> None:
    template = TEMPLATES.for_vaccine("rsv_maternal", TODAY)
    assert template is not None
    question = next(q for q in template.questions if q.id == "gestation_weeks")
    assert all(not any(r.matches(w) for r in question.rules) for w in (28, 36))


def test_a_voluntary_13_or_15_valent_dose_leaves_the_older_adult_eligible() -> None:
    """Only 23価 and 20価 exclude: an earlier voluntary 13価 dose did not (Matsusaka City, before FY2026),
    and FY2026 kept the target (Shibukawa City); the doctor judges it (施行規則 第2条第1号)."""
    template = TEMPLATES.for_vaccine("pneumo_elderly", TODAY)
    assert template is not None
    question = next(q for q in template.questions if q.id == "pneumo_before")
    flags = {
        answer: {r.flag for r in question.rules if r.matches(answer)} for answer in ("none", "pcv13_15", "unknown")
    }
    assert flags == {"none": set(), "pcv13_15": {"doctor_review"}, "unknown": {"doctor_review"}}
    elderly = Subject(date(1961, 6, 1), "female")
    pcv13 = (HistoryEntry("pcv13", 1, date(2022, 1, 1)),)
    assert evaluate(Case(elderly, pcv13, date(2026, 7, 1), "pneumo_elderly")).eligible
    ppsv23 = (HistoryEntry("ppsv23", 1, date(2022, 1, 1)),)
    assert not evaluate(Case(elderly, ppsv23, date(2026, 7, 1), "pneumo_elderly")).eligible
