"""The antigen-series engine against the rules golden table: every row cites the source it checks.

`target` is a programme code (what the kiosk lists) or `series:<code>` for one antigen series on its own
(CDSi-style test cases). The table covers both edges of every age window, interval and cohort, every
catch-up path and conditional skip, combination products and switches, the live-vaccine rule, B類 targets
and the FY2026 programme changes.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from yoshin.domain.catalogue import default_catalogue
from yoshin.domain.series import Case, HistoryEntry, Subject, Verdict, evaluate, evaluate_series

TABLE = Path(__file__).parent / "rules_golden.csv"
ROWS = list(csv.DictReader(TABLE.open(encoding="utf-8")))
CATALOGUE = default_catalogue()


def history(text: str) -> tuple[HistoryEntry, ...]:
    entries = []
    for item in filter(None, text.split(";")):
        code, dose, when = item.split(":")
        entries.append(HistoryEntry(code, int(dose), date.fromisoformat(when)))
    return tuple(entries)


def case_of(row: dict[str, str]) -> Case:
    subject = Subject(
        date.fromisoformat(row["birth_date"]), row["sex"], frozenset(filter(None, row["conditions"].split(";")))
    )
    return Case(subject, history(row["history"]), date.fromisoformat(row["on"]), row["target"])


def verdict_of(row: dict[str, str], catalogue=CATALOGUE) -> Verdict:  # type: ignore[no-untyped-def]
    case = case_of(row)
    if row["target"].startswith("series:"):
        return evaluate_series(case, row["target"].removeprefix("series:"), catalogue)
    return evaluate(case, catalogue)


def mismatch(row: dict[str, str], verdict: Verdict) -> str | None:
    """Why the verdict differs from the row, or None when it matches."""
    if verdict.eligible != (row["eligible"] == "yes"):
        return f"eligible {verdict.eligible}: {verdict.codes}"
    if verdict.dose_number != (int(row["dose"]) if row["dose"] else None):
        return f"dose {verdict.dose_number}"
    if row["reason"] not in verdict.codes:
        return f"reasons {verdict.codes}"
    if row["kinds"] and set(verdict.kinds) != set(row["kinds"].split("|")):
        return f"kinds {verdict.kinds}"
    return None


def test_the_table_has_at_least_200_sourced_unique_cases() -> None:
    assert len(ROWS) >= 200
    assert all(row["source"].strip() for row in ROWS)
    assert len({row["case"] for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row["case"] for row in ROWS])
def test_golden_row(row: dict[str, str]) -> None:
    verdict = verdict_of(row)
    assert mismatch(row, verdict) is None, (mismatch(row, verdict), [s.text for s in verdict.steps])
    for reason in verdict.reasons:
        assert reason.text.ja and reason.text.en


def test_a_recorded_product_decides_the_kind_over_the_programme_code() -> None:
    subject = Subject(date(2026, 3, 1), "female")
    rota5_pack = HistoryEntry("rota", 1, date(2026, 4, 30), product="02000000000169")  # RotaTeq-like product
    verdict = evaluate(Case(subject, (rota5_pack,), date(2026, 6, 1), "rota"), CATALOGUE)
    assert verdict.eligible and verdict.series == "rota5" and verdict.kinds == ("rota5",)
    unknown_pack = HistoryEntry("rota", 1, date(2026, 4, 30), product="02999999999996")  # not in the catalogue
    fallback = evaluate(Case(subject, (unknown_pack,), date(2026, 6, 1), "rota"), CATALOGUE)
    assert fallback.series == "rota1" and fallback.dose_number == 2  # the programme code still counts the dose
