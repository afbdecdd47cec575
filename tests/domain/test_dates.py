"""The date parser: every form written in Japan, eras checked against their first days."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from yoshin.domain.dates import DateError, parse_date, to_era


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-30", date(2026, 11, 30)),
        ("2026/11/30", date(2026, 11, 30)),
        ("2026/1/5", date(2026, 1, 5)),
        ("2026.11.30", date(2026, 11, 30)),
        ("20261130", date(2026, 11, 30)),
        ("２０２６／１１／３０", date(2026, 11, 30)),
        ("2026年11月30日", date(2026, 11, 30)),
        ("令和8年11月30日", date(2026, 11, 30)),
        ("令和８年１１月３０日", date(2026, 11, 30)),
        ("R8.11.30", date(2026, 11, 30)),
        ("r8/11/30", date(2026, 11, 30)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        (" 2026/11/30 ", date(2026, 11, 30)),
    ],
)
def test_accepted_forms(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "2026/13/01", "2026/02/30", "平成31年5月1日", "令和元年4月30日", "令和0年1月1日", "11/30", "明日", "2026-11"],
)
def test_refused_forms_say_so_in_both_languages(text: str) -> None:
    with pytest.raises(DateError) as refused:
        parse_date(text)
    assert "2026/11/30" in refused.value.message.ja and "2026/11/30" in refused.value.message.en


@settings(derandomize=True)
@given(st.dates(min_value=date(1926, 12, 25), max_value=date(2099, 12, 31)))
@example(date(2019, 5, 1))
@example(date(1989, 1, 8))
def test_every_date_reads_back_in_each_form(day: date) -> None:
    for text in (day.isoformat(), day.strftime("%Y/%m/%d"), f"{day.year}/{day.month}/{day.day}", to_era(day)):
        assert parse_date(text) == day
