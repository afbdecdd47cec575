"""Templates: every shipped template loads; visibility, validation, flags and the doctor override."""

from __future__ import annotations

from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yoshin.domain.bundle import BundleError, build_bundle, load_rules, sign_bundle, verify_bundle
from yoshin.domain.catalogue import default_catalogue
from yoshin.domain.contract import FLAG_DOCTOR_REVIEW, FLAG_NOT_ELIGIBLE, Flag
from yoshin.domain.templates import (
    AnswerError,
    SubjectContext,
    TemplateError,
    decision_problem,
    default_templates,
    evaluate_flags,
    load_templates,
    validate_answers,
    visible_questions,
)

TEMPLATES = default_templates()
TODAY = date(2026, 10, 15)
ADULT = SubjectContext(age_years=70, sex="female")
CHILD = SubjectContext(age_years=1, sex="male")
HEALTHY = {
    "read_leaflet": True,
    "unwell_today": False,
    "ill_last_month": False,
    "contact_infection_month": False,
    "temperature": 36.5,
    "severe_acute_illness": False,
    "vaccinated_last_month": False,
    "chronic_illness": False,
    "respiratory_disease": False,
    "convulsions": False,
    "allergy": False,
    "anaphylaxis_to_component": False,
    "family_immunodeficiency": False,
    "previous_reaction": False,
    "has_questions": False,
    "wants_vaccination": True,
}


def test_every_routine_vaccine_has_a_template_with_bilingual_text() -> None:
    for vaccine in default_catalogue().vaccines_in_force(TODAY):
        template = TEMPLATES.for_vaccine(vaccine.code, TODAY)
        assert template is not None, vaccine.code
        for question in template.questions:
            assert question.text.ja and question.text.en
            assert all(choice.text.ja and choice.text.en for choice in question.choices)
            assert all(rule.text.ja and rule.text.en for rule in question.rules)


def test_a_healthy_adult_raises_no_flag() -> None:
    template = TEMPLATES.for_vaccine("flu_elderly", TODAY)
    assert template
    answers, details = validate_answers(template, HEALTHY, {}, ADULT)
    assert evaluate_flags(template, answers, ADULT) == []
    assert details == {}


def test_fever_makes_the_person_not_eligible_and_only_a_doctor_with_a_reason_overrides() -> None:
    template = TEMPLATES.for_vaccine("flu_elderly", TODAY)
    assert template
    answers, _ = validate_answers(template, {**HEALTHY, "temperature": "３７.５"}, {}, ADULT)
    assert answers["temperature"] == 37.5
    flags = evaluate_flags(template, answers, ADULT)
    assert [(f.question_id, f.flag) for f in flags] == [("temperature", FLAG_NOT_ELIGIBLE)]
    contract_flags = [flag.as_contract_flag() for flag in flags]
    assert decision_problem(contract_flags, "proceed", None) is not None
    assert decision_problem(contract_flags, "proceed", "再検温で36.8℃") is None
    assert decision_problem(contract_flags, "defer", None) is None


def test_temperature_range_and_decimals() -> None:
    template = TEMPLATES.for_vaccine("flu_elderly", TODAY)
    assert template
    for bad in (33.9, 42.1, "hot", 36.55, float("nan"), True):
        with pytest.raises(AnswerError) as error:
            validate_answers(template, {**HEALTHY, "temperature": bad}, {}, ADULT)
        assert error.value.question_id == "temperature"


def test_conditional_questions_appear_only_when_they_apply() -> None:
    template = TEMPLATES.for_vaccine("flu_elderly", TODAY)
    assert template
    ids = [q.id for q in visible_questions(template, HEALTHY, ADULT)]
    assert "chronic_doctor_approved" not in ids and "allergy_kinds" not in ids
    answers = {**HEALTHY, "chronic_illness": True, "allergy": True}
    ids = [q.id for q in visible_questions(template, answers, ADULT)]
    assert ids.index("chronic_doctor_approved") == ids.index("chronic_illness") + 1
    with pytest.raises(AnswerError) as missing:
        validate_answers(template, answers, {}, ADULT)
    assert missing.value.question_id == "chronic_doctor_approved"
    full = {**answers, "chronic_doctor_approved": False, "allergy_kinds": ["vaccine_component", "egg"]}
    normal, _ = validate_answers(template, full, {}, ADULT)
    assert normal["allergy_kinds"] == ["egg", "vaccine_component"]
    assert {(f.question_id, f.flag) for f in evaluate_flags(template, normal, ADULT)} == {
        ("chronic_doctor_approved", FLAG_DOCTOR_REVIEW),
        ("allergy", FLAG_DOCTOR_REVIEW),
        ("allergy_kinds", FLAG_NOT_ELIGIBLE),
    }


def test_pregnancy_question_only_for_girls_and_women_of_that_age() -> None:
    template = TEMPLATES.for_vaccine("hpv", TODAY)
    assert template
    assert "pregnant" in [q.id for q in visible_questions(template, {}, SubjectContext(13, "female"))]
    assert "pregnant" not in [q.id for q in visible_questions(template, {}, SubjectContext(13, "male"))]
    assert "pregnant" not in [q.id for q in visible_questions(template, {}, SubjectContext(11, "female"))]


def test_guardian_section_for_minors_only() -> None:
    template = TEMPLATES.for_vaccine("mr", TODAY)
    assert template
    ids = [q.id for q in visible_questions(template, {}, CHILD)]
    assert ids[-2:] == ["guardian_relationship", "guardian_consent"]
    adult_je = TEMPLATES.for_vaccine("je", TODAY)
    assert adult_je
    assert "guardian_consent" not in [q.id for q in visible_questions(adult_je, {}, SubjectContext(20, "male"))]
    answers = {
        **{key: value for key, value in HEALTHY.items() if key != "respiratory_disease"},  # an adult form's
        "birth_problems": False,
        "development_concerns": False,
        "family_vaccine_reaction": False,
        "transfusion_6_months": False,
        "measles_rubella_history": "none",
        "guardian_relationship": "mother",
        "guardian_consent": False,
    }
    normal, _ = validate_answers(template, answers, {}, CHILD)
    assert ("guardian_consent", FLAG_NOT_ELIGIBLE) in {
        (f.question_id, f.flag) for f in evaluate_flags(template, normal, CHILD)
    }


def test_answers_to_hidden_or_unknown_questions_are_refused() -> None:
    template = TEMPLATES.for_vaccine("flu_elderly", TODAY)
    assert template
    for extra in ({"allergy_kinds": ["egg"]}, {"favourite_colour": "blue"}, {"guardian_consent": True}):
        with pytest.raises(AnswerError):
            validate_answers(template, {**HEALTHY, **extra}, {}, ADULT)


def test_details_only_where_designated_and_limited() -> None:
    template = TEMPLATES.for_vaccine("flu_elderly", TODAY)
    assert template
    answers = {**HEALTHY, "unwell_today": True}
    _, details = validate_answers(template, answers, {"unwell_today": "  鼻水が 少し "}, ADULT)
    assert details == {"unwell_today": "鼻水が 少し"}
    with pytest.raises(AnswerError):
        validate_answers(template, HEALTHY, {"unwell_today": "鼻水"}, ADULT)  # answered no
    with pytest.raises(AnswerError):
        validate_answers(template, answers, {"unwell_today": "x" * 201}, ADULT)
    with pytest.raises(AnswerError):
        validate_answers(template, HEALTHY, {"temperature": "高め"}, ADULT)  # no detail field


def test_a_template_with_a_dangling_condition_is_a_data_error() -> None:
    text = """
version = "t1"
[[question]]
id = "b"
type = "yes_no"
ja = "b"
en = "b"
show_if = { answer = "a", equals = true }
[[question]]
id = "a"
type = "yes_no"
ja = "a"
en = "a"
[[template]]
id = "x"
vaccine_code = "x"
questions = ["b", "a"]
title_ja = "x"
title_en = "x"
effective_from = 2026-04-01
"""
    with pytest.raises(TemplateError, match="depends on a"):
        load_templates([text])


def test_signed_bundle_verifies_and_loads() -> None:
    key = Ed25519PrivateKey.generate()
    signed = sign_bundle(build_bundle(), key)
    rules = load_rules(verify_bundle(signed, key.public_key()))
    assert rules.templates.for_vaccine("mr", TODAY) is not None
    assert rules.catalogue.vaccine("mr", TODAY) is not None


def test_a_tampered_bundle_is_refused() -> None:
    key = Ed25519PrivateKey.generate()
    signed = sign_bundle(build_bundle(), key)
    name = next(n for n in signed["bundle"]["files"] if n.startswith("templates/"))
    tampered = {**signed, "bundle": {**signed["bundle"], "files": {**signed["bundle"]["files"]}}}
    tampered["bundle"]["files"][name] = tampered["bundle"]["files"][name].replace("gte = 37.5", "gte = 39.5")
    with pytest.raises(BundleError):
        verify_bundle(tampered, key.public_key())
    with pytest.raises(BundleError):
        verify_bundle(signed, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(BundleError):
        verify_bundle({**signed, "signature": "!!"}, key.public_key())


def test_flag_dataclass_is_the_contract_flag() -> None:
    assert Flag("temperature", FLAG_NOT_ELIGIBLE).flag == "not_eligible"


# The standard 予診票 items each template asks (docs/questionnaire.md, "The templates and the standard
# 予診票"): child = 乳幼児・小学生の予診票, flu = the influenza 予診票 the B類 forms follow, covid = MHLW's
# COVID-19 予診票 (確認のポイント Ver 8.0 / 9.1).
STANDARD_CHILD = [
    "read_leaflet", "birth_problems", "development_concerns", "unwell_today", "ill_last_month",
    "contact_infection_month", "temperature", "vaccinated_last_month", "chronic_illness", "convulsions",
    "allergy", "family_immunodeficiency", "previous_reaction", "family_vaccine_reaction", "transfusion_6_months",
    "has_questions", "wants_vaccination", "guardian_consent",
]  # fmt: skip
STANDARD_FLU = [
    "read_leaflet", "unwell_today", "ill_last_month", "contact_infection_month", "temperature",
    "vaccinated_last_month", "chronic_illness", "respiratory_disease", "convulsions", "allergy",
    "family_immunodeficiency", "previous_reaction", "has_questions", "wants_vaccination",
]  # fmt: skip
STANDARD_COVID = [*STANDARD_FLU, "covid_vaccine_before", "bleeding_tendency"]
STANDARD_SCHOOL = [item for item in STANDARD_CHILD if item not in ("birth_problems", "development_concerns")]


@pytest.mark.parametrize(
    ("vaccine", "items"),
    [
        *[(code, STANDARD_CHILD) for code in ("hib", "pcv", "hepb", "rota", "dpt_ipv_hib", "bcg", "mr", "varicella")],
        *[(code, STANDARD_SCHOOL) for code in ("je", "dt")],
        ("hpv", [*STANDARD_SCHOOL, "breastfeeding"]),  # 授乳中: Nakano City's HPV page
        ("flu_elderly", STANDARD_FLU),
        ("pneumo_elderly", STANDARD_FLU),
        ("zoster", STANDARD_FLU),
        ("covid_elderly", STANDARD_COVID),
    ],
)
def test_every_item_of_the_standard_form_is_asked(vaccine: str, items: list[str]) -> None:
    template = TEMPLATES.for_vaccine(vaccine, TODAY)
    assert template is not None
    asked = [q.id for q in template.questions]
    assert [item for item in items if item not in asked] == []
    # the vaccine's own questions come before the closing items, as on the paper form
    closing = ["has_questions", "wants_vaccination"]
    assert closing in (asked[-2:], asked[-4:-2])


def test_the_new_standard_items_reach_the_doctor() -> None:
    covid = TEMPLATES.for_vaccine("covid_elderly", TODAY)
    assert covid is not None
    answers = {**HEALTHY, "covid_vaccine_before": True, "covid_last_dose_date": "2025-10-20", "bleeding_tendency": True}
    answers |= {"contact_infection_month": True, "has_questions": True}
    normal, details = validate_answers(covid, answers, {"has_questions": "副反応が心配"}, ADULT)
    assert details == {"has_questions": "副反応が心配"}
    assert {(f.question_id, f.flag) for f in evaluate_flags(covid, normal, ADULT)} == {
        ("contact_infection_month", FLAG_DOCTOR_REVIEW),
        ("bleeding_tendency", FLAG_DOCTOR_REVIEW),
        ("has_questions", FLAG_DOCTOR_REVIEW),
    }
    with pytest.raises(AnswerError) as hidden:  # the date is asked only after a yes
        validate_answers(covid, {**answers, "covid_vaccine_before": False}, {}, ADULT)
    assert hidden.value.question_id == "covid_last_dose_date"
