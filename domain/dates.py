"""Dates as people in Japan write them: 2026-11-30, 2026/11/30, 2026.11.30, 20261130, 令和8年11月30日,
R8.11.30 (full-width digits too, after NFKC). A pure parser: a string in, a date or a DateError out.

Eras (元号) by their first day: 昭和 1926-12-25, 平成 1989-01-08, 令和 2019-05-01; year 1 may be written 元.
A date before its era's first day, or after the next era began, is refused (平成31年5月1日 did not exist).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from yoshin.domain.i18n import Bilingual, BilingualError

ERAS: dict[str, date] = {"昭和": date(1926, 12, 25), "平成": date(1989, 1, 8), "令和": date(2019, 5, 1)}
ERA_LETTERS = {"S": "昭和", "H": "平成", "R": "令和"}
_WESTERN = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_ERA = re.compile(r"(昭和|平成|令和|[SHRshr])\s*(元|\d{1,2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


class DateError(BilingualError):
    def __init__(self, text: str) -> None:
        super().__init__(
            Bilingual(
                ja=f"日付として読めません ({text})。例: 2026/11/30、令和8年11月30日",
                en=f"Not a date ({text}). For example 2026/11/30, 2026-11-30 or 令和8年11月30日",
            )
        )


def parse_date(text: str) -> date:
    """The date written in `text`, or DateError (bilingual) when it is not one."""
    shown = text.strip()[:40]
    cleaned = unicodedata.normalize("NFKC", text).strip()
    try:
        if match := _WESTERN.fullmatch(cleaned) or _COMPACT.fullmatch(cleaned):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _ERA.fullmatch(cleaned):
            return _era_date(ERA_LETTERS.get(match[1].upper(), match[1]), match[2], int(match[3]), int(match[4]))
    except ValueError:
        pass
    raise DateError(shown)


def _era_date(era: str, year_text: str, month: int, day: int) -> date:
    year = 1 if year_text == "元" else int(year_text)
    if year < 1:
        raise ValueError("era years start at 1")
    start = ERAS[era]
    result = date(start.year + year - 1, month, day)
    following = [first for first in ERAS.values() if first > start]
    if result < start or (following and result >= min(following)):
        raise ValueError(f"{era}{year}年 has no such day")
    return result


def to_era(day: date) -> str:
    """The Japanese era form of a date (令和8年11月30日), for screens that show it."""
    era, start = max(((name, first) for name, first in ERAS.items() if first <= day), key=lambda item: item[1])
    year = day.year - start.year + 1
    return f"{era}{'元' if year == 1 else year}年{day.month}月{day.day}日"
