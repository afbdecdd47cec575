"""How the kiosk words things for residents (pure functions): 和暦, answers in words, phrase line breaks."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from yoshin.domain.templates import default_templates
from yoshin.tui.words import _parser, answer_text, long_date, number_range, wareki, wrap_phrases


@pytest.mark.parametrize(
    ("day", "shown"),
    [
        (date(1951, 9, 3), "昭和26年9月3日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1926, 12, 24), "大正15年12月24日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2026, 8, 1), "令和8年8月1日"),
    ],
)
def test_wareki_at_each_era_boundary(day: date, shown: str) -> None:
    assert wareki(day) == shown


def test_dates_show_wareki_beside_the_western_year() -> None:
    assert long_date(date(1951, 9, 3), "ja") == "昭和26年9月3日 (1951年)"
    assert long_date(date(1951, 9, 3), "en") == "3 September 1951 (Showa 26)"


def test_answers_are_shown_in_words_never_as_codes() -> None:
    template = default_templates().for_vaccine("hib", date(2026, 10, 15))
    assert template is not None
    relationship = template.question("guardian_relationship")
    choice = relationship.choices[0]
    assert answer_text(relationship, choice.value, "ja") == choice.text.ja != choice.value
    temperature = template.question("temperature")
    assert answer_text(temperature, 36.5, "ja") == "36.5 ℃"
    assert number_range(temperature, "ja") == "34.0〜42.0℃ の範囲で入力"
    assert "temperature" not in number_range(temperature, "en")
    assert answer_text(template.question("read_leaflet"), True, "ja") == "はい"


SENTENCES = [
    "この端末は、予防接種の予診票をお住まいの市区町村へ送るために、マイナンバーカードの券面事項を読み取ります。",
    "カードリーダーが使えません。係員にお知らせください",
    "本日受けられる定期接種はありません。受付にお声がけください",
]


@settings(derandomize=True, max_examples=60)
@given(st.sampled_from(SENTENCES), st.integers(min_value=12, max_value=70))
def test_japanese_lines_break_between_phrases(text: str, width: int) -> None:
    lines = wrap_phrases(text, width).split("\n")
    assert "".join(lines) == text  # nothing lost or added
    assert all(cell_len(line) <= width for line in lines)
    phrases = _parser().parse(text)
    boundaries = {sum(len(p) for p in phrases[:i]) for i in range(len(phrases) + 1)}
    offset = 0
    for line in lines[:-1]:
        offset += len(line)
        longest = max(cell_len(p) for p in phrases)
        if longest <= width:  # a phrase that fits a line is never split
            assert offset in boundaries, (line, width)
