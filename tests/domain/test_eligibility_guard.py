"""The vaccination-error guard: one case per MHLW error category, and which findings a doctor may override."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from yoshin.domain.catalogue import default_catalogue
from yoshin.domain.rules_guard import NOT_OVERRIDABLE, Given, GuardCode, guard
from yoshin.domain.series import HistoryEntry, Subject

CATALOGUE = default_catalogue()
INFANT = Subject(date(2026, 4, 15), "female")
TODAY = date(2026, 6, 14)  # 2 months old: hep B, PCV, rota, 5種混合, BCG due
HEPB = "02000000000039"
FLU = "02000000000121"
FLU_HD = "02000000000176"
ROTA1, ROTA5 = "02000000000046", "02000000000169"
PPSV23, PCV20_ADULT = "02000000000138", "02000000000183"
HIB, FIVE = "02000000000015", "02000000000053"
MR, VARICELLA = "02000000000077", "02000000000084"
RIGHT = {"dose_ml": Decimal("0.25"), "route": "subcutaneous", "site": "left_thigh", "lot_expiry": date(2027, 1, 31)}


def codes(findings: list) -> set[GuardCode]:  # type: ignore[type-arg]
    return {f.code for f in findings}


def test_a_right_pack_for_the_due_dose_raises_nothing() -> None:
    assert guard(INFANT, [], Given(HEPB, dose_number=1, vaccine_code="hepb", **RIGHT), TODAY, CATALOGUE) == []  # type: ignore[arg-type]


def test_wrong_vaccine_for_the_questionnaire() -> None:
    findings = guard(INFANT, [], Given(HEPB, vaccine_code="pcv"), TODAY, CATALOGUE)
    assert GuardCode.WRONG_VACCINE in codes(findings)


def test_wrong_vaccine_hib_alone_while_5_in_1_is_due() -> None:
    assert GuardCode.WRONG_VACCINE in codes(guard(INFANT, [], Given(HIB), TODAY, CATALOGUE))
    assert GuardCode.WRONG_VACCINE not in codes(guard(INFANT, [], Given(FIVE), TODAY, CATALOGUE))


def test_wrong_vaccine_switching_rotavirus_kinds() -> None:
    history = [HistoryEntry("rota1", 1, date(2026, 5, 27))]
    on = date(2026, 6, 24)
    assert GuardCode.WRONG_VACCINE in codes(guard(INFANT, history, Given(ROTA5, dose_number=2), on, CATALOGUE))
    assert guard(INFANT, history, Given(ROTA1, dose_number=2, dose_ml=Decimal("1.5")), on, CATALOGUE) == []


def test_wrong_vaccine_ppsv23_after_march_2026_and_high_dose_flu_under_75() -> None:
    at_65 = Subject(date(1961, 6, 1), "male")
    assert GuardCode.UNKNOWN_PRODUCT in codes(guard(at_65, [], Given(PPSV23), date(2026, 7, 1), CATALOGUE))
    assert guard(at_65, [], Given(PCV20_ADULT), date(2026, 7, 1), CATALOGUE) == []
    at_70 = Subject(date(1956, 6, 1), "female")
    assert GuardCode.WRONG_VACCINE in codes(guard(at_70, [], Given(FLU_HD), date(2026, 10, 15), CATALOGUE))
    at_80 = Subject(date(1946, 6, 1), "female")
    assert guard(at_80, [], Given(FLU_HD, dose_ml=Decimal("0.7")), date(2026, 10, 15), CATALOGUE) == []


def test_interval() -> None:
    history = [HistoryEntry("hepb", 1, date(2026, 6, 14))]
    findings = guard(INFANT, history, Given(HEPB, dose_number=2), date(2026, 7, 11), CATALOGUE)
    assert codes(findings) == {GuardCode.INTERVAL}


def test_live_interval_counts_a_voluntary_mumps_dose() -> None:
    child = Subject(date(2025, 1, 10), "male")
    history = [HistoryEntry("mumps", 1, date(2026, 6, 1))]
    assert GuardCode.LIVE_INTERVAL in codes(guard(child, history, Given(MR), date(2026, 6, 20), CATALOGUE))
    assert GuardCode.LIVE_INTERVAL not in codes(guard(child, history, Given(MR), date(2026, 6, 29), CATALOGUE))


def test_age() -> None:
    assert GuardCode.AGE in codes(guard(INFANT, [], Given(MR), TODAY, CATALOGUE))


def test_dose_number() -> None:
    assert codes(guard(INFANT, [], Given(HEPB, dose_number=2), TODAY, CATALOGUE)) == {GuardCode.DOSE_NUMBER}


def test_unnecessary_dose_when_the_series_is_complete() -> None:
    history = [HistoryEntry("bcg", 1, date(2026, 5, 1))]
    assert GuardCode.SERIES_COMPLETE in codes(guard(INFANT, history, Given("02000000000060"), TODAY, CATALOGUE))


def test_dose_amount_for_the_age_from_the_package_insert() -> None:
    findings = guard(INFANT, [], Given(HEPB, dose_ml=Decimal("0.5")), TODAY, CATALOGUE)
    assert codes(findings) == {GuardCode.DOSE_AMOUNT}
    assert "0.25" in findings[0].message.ja and "0.25" in findings[0].message.en
    adult = Subject(date(1950, 1, 1), "female")
    assert codes(guard(adult, [], Given(FLU, dose_ml=Decimal("0.25")), date(2026, 11, 1), CATALOGUE)) == {
        GuardCode.DOSE_AMOUNT
    }


@pytest.mark.parametrize(("route", "site", "wrong"), [
    ("subcutaneous", "left_thigh", False),
    ("intramuscular", "left_thigh", True),  # B型肝炎 10歳未満: 0.25 mL 皮下 only (添付文書)
    ("oral", "left_thigh", True),
    ("subcutaneous", "oral", True),
])  # fmt: skip
def test_route_and_site(route: str, site: str, wrong: bool) -> None:
    findings = guard(INFANT, [], Given(HEPB, route=route, site=site), TODAY, CATALOGUE)
    assert (GuardCode.ROUTE_SITE in codes(findings)) == wrong


def test_route_wrong_for_rotavirus_and_site_wrong_for_bcg() -> None:
    assert GuardCode.ROUTE_SITE in codes(guard(INFANT, [], Given(ROTA1, route="subcutaneous"), TODAY, CATALOGUE))
    bcg = Given("02000000000060", route="percutaneous", site="left_thigh")
    assert codes(guard(INFANT, [], bcg, TODAY, CATALOGUE)) == {GuardCode.ROUTE_SITE}


def test_expired_lot_is_not_overridable() -> None:
    findings = guard(INFANT, [], Given(HEPB, lot_expiry=date(2026, 6, 13)), TODAY, CATALOGUE)
    assert [(f.code, f.overridable) for f in findings] == [(GuardCode.EXPIRED_LOT, False)]
    assert guard(INFANT, [], Given(HEPB, lot_expiry=TODAY), TODAY, CATALOGUE) == []  # usable on its last day


def test_second_dose_of_the_same_antigen_on_the_same_day() -> None:
    history = [HistoryEntry("dpt_ipv_hib", 1, TODAY)]
    findings = guard(INFANT, history, Given(HIB), TODAY, CATALOGUE)  # Hib is inside 5種混合
    assert GuardCode.SAME_DAY_DUPLICATE in codes(findings)
    assert all(not f.overridable for f in findings if f.code is GuardCode.SAME_DAY_DUPLICATE)
    other = guard(INFANT, history, Given(HEPB), TODAY, CATALOGUE)  # 同時接種 of another antigen is fine
    assert other == []


def test_every_finding_is_bilingual_and_only_the_listed_codes_are_final() -> None:
    findings = guard(
        INFANT,
        [HistoryEntry("hepb", 1, date(2026, 6, 1))],
        Given(HEPB, dose_number=1, dose_ml=Decimal("0.5"), route="oral", site="oral", lot_expiry=date(2020, 1, 1)),
        TODAY,
        CATALOGUE,
    )
    assert len(findings) >= 4
    for finding in findings:
        assert finding.message.ja and finding.message.en
        assert finding.overridable == (finding.code not in NOT_OVERRIDABLE)
    assert {GuardCode.EXPIRED_LOT, GuardCode.SAME_DAY_DUPLICATE, GuardCode.UNKNOWN_PRODUCT} == NOT_OVERRIDABLE


def test_an_unknown_history_skips_the_series_checks_but_not_the_pack() -> None:
    # Offline: no history. A Hib booster would look like a first dose covered by 5種混合; it is not judged.
    toddler = Subject(date(2025, 1, 10), "female")
    assert guard(toddler, None, Given(HIB, dose_number=4, dose_ml=Decimal("0.5")), TODAY, CATALOGUE) == []
    assert GuardCode.WRONG_VACCINE in codes(guard(toddler, [], Given(HIB, dose_number=4), TODAY, CATALOGUE))
    late = guard(toddler, None, Given(HIB, dose_ml=Decimal("0.25"), lot_expiry=date(2026, 1, 1)), TODAY, CATALOGUE)
    assert codes(late) == {GuardCode.EXPIRED_LOT, GuardCode.DOSE_AMOUNT}


# --- amounts and routes from the package inserts (sources in domain/data/catalogue/2026.toml) ----------------

JE, DT, PCV20_CHILD = "02000000000091", "02000000000107", "02000000000022"


@pytest.mark.parametrize(("on", "amount"), [
    (date(2026, 6, 13), "0.25"),  # the day before the third birthday: still under 3 (3歳未満 0.25 mL)
    (date(2026, 6, 14), "0.5"),  # the third birthday: 3歳以上 0.5 mL
])  # fmt: skip
def test_japanese_encephalitis_amount_changes_on_the_third_birthday(on: date, amount: str) -> None:
    child = Subject(date(2023, 6, 14), "male")
    right = guard(
        child, [], Given(JE, dose_ml=Decimal(amount), route="subcutaneous", site="left_upper_arm"), on, CATALOGUE
    )
    assert right == []
    other = "0.5" if amount == "0.25" else "0.25"
    wrong = guard(child, [], Given(JE, dose_ml=Decimal(other)), on, CATALOGUE)
    assert codes(wrong) == {GuardCode.DOSE_AMOUNT} and amount in wrong[0].message.en


def test_diphtheria_tetanus_phase_2_is_a_tenth_of_a_millilitre() -> None:
    eleven = Subject(date(2015, 5, 1), "female")
    assert guard(eleven, [], Given(DT, dose_ml=Decimal("0.1"), route="subcutaneous"), date(2026, 6, 1), CATALOGUE) == []
    assert codes(guard(eleven, [], Given(DT, dose_ml=Decimal("0.5")), date(2026, 6, 1), CATALOGUE)) == {
        GuardCode.DOSE_AMOUNT
    }


def test_five_in_one_may_be_subcutaneous_or_intramuscular() -> None:
    for route in ("subcutaneous", "intramuscular"):
        given = Given(FIVE, dose_ml=Decimal("0.5"), route=route, site="left_thigh")
        assert guard(INFANT, [], given, TODAY, CATALOGUE) == [], route


@pytest.mark.parametrize(("birth", "subcutaneous_ok"), [
    (date(2020, 6, 2), True),  # 2026-06-01 is the day before the sixth birthday: under 6, 皮下又は筋肉内
    (date(2020, 6, 1), False),  # six on 2026-05-31: 6歳以上 筋肉内 only
])  # fmt: skip
def test_pcv20_route_changes_at_six(birth: date, subcutaneous_ok: bool) -> None:
    from yoshin.domain.catalogue import default_catalogue as load

    kind = load().kinds["pcv20"]
    on = date(2026, 6, 1)
    assert ("subcutaneous" in kind.routes_for(birth, on)) is subcutaneous_ok
    assert "intramuscular" in kind.routes_for(birth, on)
    elderly = Subject(date(1961, 6, 1), "male")
    findings = guard(elderly, [], Given(PCV20_ADULT, route="subcutaneous"), date(2026, 7, 1), CATALOGUE)
    assert codes(findings) == {GuardCode.ROUTE_SITE}  # 高齢者: 筋肉内 only


def test_bcg_has_no_volume_to_check() -> None:
    bcg = Given("02000000000060", dose_ml=Decimal("0.5"), route="percutaneous", site="left_upper_arm")
    assert guard(INFANT, [], bcg, TODAY, CATALOGUE) == []  # 添付文書: 滴下塗布 and the 管針, no volume per person


@pytest.mark.parametrize("site", ["left_upper_arm", "right_thigh"])
def test_rsv_checks_the_route_and_amount_but_no_site_no_source_names(site: str) -> None:
    """実施規則 names 筋肉内 and 0.5 mL only (docs/questionnaire.md): the site is the doctor's, the route is not."""
    mother, on = Subject(date(1995, 5, 5), "female", frozenset({"pregnancy_28w0d_to_36w6d"})), date(2026, 7, 1)
    right = Given("02000000000206", dose_ml=Decimal("0.5"), route="intramuscular", site=site)
    assert guard(mother, [], right, on, CATALOGUE) == []
    wrong_route = Given("02000000000206", dose_ml=Decimal("0.5"), route="subcutaneous", site=site)
    assert codes(guard(mother, [], wrong_route, on, CATALOGUE)) == {GuardCode.ROUTE_SITE}
