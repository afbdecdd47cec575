"""How the kiosk words things for residents: 和暦 beside Western dates, answers in words, Japanese
lines broken between phrases. Pure functions; the screens call them."""

from __future__ import annotations

import unicodedata
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len

if TYPE_CHECKING:  # annotations only: the welcome screen's words need no questionnaire templates
    from yoshin.domain.templates import Question

# Each era from its first day (the Gregorian calendar's eras; Meiji dates before 1873 are not needed here).
ERAS: tuple[tuple[date, str, str], ...] = (
    (date(2019, 5, 1), "令和", "Reiwa"),
    (date(1989, 1, 8), "平成", "Heisei"),
    (date(1926, 12, 25), "昭和", "Showa"),
    (date(1912, 7, 30), "大正", "Taisho"),
    (date(1868, 10, 23), "明治", "Meiji"),
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip


def era(on: date) -> tuple[str, str, int]:
    """The era (Japanese, romanised) and its year for a date: 1951-09-03 -> ("昭和", "Showa", 26)."""
    for first, ja, en in ERAS:
        if on >= first:
            return ja, en, on.year - first.year + 1
    raise ValueError(f"{on} is before the Meiji era")


def wareki(on: date) -> str:
    """昭和26年9月3日 (the first year of an era is 元年)."""
    ja, _, year = era(on)
    return f"{ja}{'元' if year == 1 else year}年{on.month}月{on.day}日"


def long_date(on: date, lang: str) -> str:
    """A date as residents read it, 和暦 beside Western: 昭和26年9月3日 (1951年) / 3 September 1951 (Showa 26)."""
    _, en, year = era(on)
    if lang == "ja":
        return f"{wareki(on)} ({on.year}年)"
    return f"{on.day} {MONTHS[on.month - 1]} {on.year} ({en} {year})"


def answer_text(question: Question, value: Any, lang: str) -> str:
    """An answer in the resident's words: はい/いいえ, a choice's label (never its code), a number with its
    unit, a date in 和暦."""
    if isinstance(value, bool):
        return ("はい" if value else "いいえ") if lang == "ja" else ("Yes" if value else "No")
    labels = {choice.value: choice.text.get(lang) for choice in question.choices}
    if isinstance(value, list):
        return ("、" if lang == "ja" else ", ").join(labels.get(v, str(v)) for v in value)
    if question.type == "single_choice":
        return labels.get(value, str(value))
    if question.type == "number":
        return f"{value:.{question.decimals}f} {display_unit(question.unit)}"
    if question.type == "date":
        return long_date(date.fromisoformat(str(value)), lang)
    return str(value)


def display_unit(unit: str | None) -> str:
    return {"°C": "℃", "C": "℃"}.get(unit or "", unit or "")


def number_range(question: Question, lang: str) -> str:
    """The range a number question accepts, in words: 34.0〜42.0℃ の範囲 / between 34.0 and 42.0 ℃."""
    unit = display_unit(question.unit)
    low, high = f"{question.minimum:.{question.decimals}f}", f"{question.maximum:.{question.decimals}f}"
    return f"{low}〜{high}{unit} の範囲で入力" if lang == "ja" else f"Enter {low} to {high} {unit}"


# --- line breaking --------------------------------------------------------------------------------


@cache
def _parser() -> Any:
    import budoux  # loaded on the first Japanese line, not at start

    return budoux.load_default_japanese_parser()


def _is_wide(text: str) -> bool:
    return any(unicodedata.east_asian_width(ch) in "WF" for ch in text)


def wrap_phrases(text: str, width: int) -> str:
    """Japanese lines broken between phrases (BudouX), never inside a word, to fit `width` cells; lines
    without Japanese are left for the widget's own word wrapping. A phrase wider than a line is folded."""
    if width <= 0:
        return text
    out: list[str] = []
    for line in text.split("\n"):
        if not _is_wide(line) or cell_len(line) <= width:
            out.append(line)
            continue
        current = ""
        for phrase in _parser().parse(line):
            if cell_len(current + phrase) <= width:
                current += phrase
                continue
            if current:
                out.append(current.rstrip())
            current = phrase.lstrip()
            while cell_len(current) > width:  # one phrase longer than the line: fold it by cells
                cut = len(current)
                while cell_len(current[:cut]) > width:
                    cut -= 1
                out.append(current[:cut])
                current = current[cut:]
        out.append(current)
    return "\n".join(out)
