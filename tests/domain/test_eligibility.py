"""The eligibility engine against a golden table of real cases, each with its source rule."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from yoshin.domain.age import age_in_months, attainment_date, school_entry_date
from yoshin.domain.catalogue import default_catalogue, load_catalogue
from yoshin.domain.eligibility import HistoryEntry, Subject, check, due_vaccinations

GOLDEN = list(csv.DictReader((Path(__file__).parent / "eligibility_golden.csv").open(encoding="utf-8")))
CATALOGUE = default_catalogue()


def _history(text: str) -> list[HistoryEntry]:
    entries = []
    for item in filter(None, text.split(";")):
        code, dose, when = item.split(":")
        entries.append(HistoryEntry(code, int(dose), date.fromisoformat(when)))
    return entries


def test_the_golden_table_has_at_least_40_sourced_cases() -> None:
    assert len(GOLDEN) >= 40
    assert all(row["source"].strip() for row in GOLDEN)
    assert len({row["case"] for row in GOLDEN}) == len(GOLDEN)


@pytest.mark.parametrize("row", GOLDEN, ids=[row["case"] for row in GOLDEN])
def test_golden_case(row: dict[str, str]) -> None:
    subject = Subject(
        birth_date=date.fromisoformat(row["birth_date"]),
        sex=row["sex"],
        conditions=frozenset(filter(None, row["conditions"].split(";"))),
    )
    result = check(subject, _history(row["history"]), date.fromisoformat(row["today"]), row["vaccine"], CATALOGUE)
    assert result.eligible == (row["eligible"] == "yes"), result.reasons
    assert result.dose_number == (int(row["dose"]) if row["dose"] else None)
    assert row["reason"] in result.codes, result.codes
    for reason in result.reasons:
        assert reason.text.ja and reason.text.en


@pytest.mark.parametrize(
    ("birth", "months", "attained"),
    [
        (date(2025, 5, 10), 12, date(2026, 5, 9)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),  # no 31 February: the end of that month
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 3, 1), 1, date(2025, 3, 31)),
    ],
)
def test_attainment_follows_the_law(birth: date, months: int, attained: date) -> None:
    assert attainment_date(birth, months) == attained
    assert age_in_months(birth, attained) == months
    assert age_in_months(birth, date.fromordinal(attained.toordinal() - 1)) == months - 1


def test_school_entry_cut_off_is_1_april() -> None:
    assert school_entry_date(date(2020, 4, 1)) == date(2026, 4, 1)
    assert school_entry_date(date(2020, 4, 2)) == date(2027, 4, 1)


def test_due_list_for_an_infant_contains_only_eligible_first_doses() -> None:
    subject = Subject(birth_date=date(2026, 4, 15), sex="female")
    due = due_vaccinations(subject, [], date(2026, 6, 14), CATALOGUE)
    codes = {result.vaccine_code for result in due}
    assert {"pcv", "hepb", "rota", "dpt_ipv_hib", "bcg"} <= codes
    # Hib alone is not offered while 5種混合 (which contains Hib) is due: a second Hib dose the same day is
    # an unnecessary dose (大槌町: 五種混合ワクチンを接種した場合は、接種不要).
    assert not codes & {"hib", "mr", "flu_elderly", "hpv", "dt"}
    assert all(result.eligible and result.dose_number == 1 for result in due)


def test_next_aprils_rules_load_beside_this_years() -> None:
    next_year = """
[catalogue]
version = "2027.1"
[[series]]
code = "flu_b"
name_ja = "高齢者インフルエンザ"
name_en = "Influenza (B類)"
antigens = ["influenza"]
reset = "fiscal_year"
effective_from = 2027-04-01
source = "test: a changed rule from next April (70 and over)"
kinds = [{ kind = "flu", preferable = true }]
[[series.path]]
code = "yearly"
dose = [{}]
[[vaccine]]
code = "flu_elderly"
category = "B"
name_ja = "高齢者インフルエンザ"
name_en = "Influenza (older adults)"
live = false
injectable = true
route = "subcutaneous"
series = ["flu_b"]
effective_from = 2027-04-01
source = "test: a changed rule from next April (70 and over)"
target = [{ basis = "age_on_day", min_age = "70y", source = "test" }]
"""
    from yoshin.domain.catalogue import catalogue_files

    both = load_catalogue([*catalogue_files().values(), next_year])
    subject = Subject(birth_date=date(1960, 1, 1), sex="male")  # 66 in both years
    assert check(subject, [], date(2027, 3, 31), "flu_elderly", both).eligible
    result = check(subject, [], date(2027, 4, 1), "flu_elderly", both)
    assert not result.eligible and "not_target" in result.codes
