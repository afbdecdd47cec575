"""Ages as Japanese law counts them.

年齢計算ニ関スル法律 and 民法 143 条: a person attains an age (or a number of months) at the end of the
day before the corresponding day; where the month has no corresponding day (born on the 31st), at the
end of that month. So a child born 2025-05-10 is 12 months old from 2026-05-09, and vaccination windows
such as "from 12 months to before 24 months" are taken in this sense.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def attainment_date(birth: date, months: int) -> date:
    """The first day on which someone born on `birth` is `months` months old."""
    year, month_index = divmod(birth.month - 1 + months, 12)
    year += birth.year
    month = month_index + 1
    last = calendar.monthrange(year, month)[1]
    if birth.day > last:
        return date(year, month, last)
    return date(year, month, birth.day) - timedelta(days=1)


def age_in_months(birth: date, on: date) -> int:
    """Completed months of age on `on` (0 on the day of birth)."""
    if on < birth:
        raise ValueError("date before birth")
    months = (on.year - birth.year) * 12 + (on.month - birth.month) + 1
    while months > 0 and attainment_date(birth, months) > on:
        months -= 1
    return months


def age_in_years(birth: date, on: date) -> int:
    return age_in_months(birth, on) // 12


def fiscal_year(on: date) -> int:
    """The Japanese fiscal year (April to March) that contains `on`."""
    return on.year if on.month >= 4 else on.year - 1


def age_at_fiscal_year_end(birth: date, on: date) -> int:
    """The age reached by 31 March ending the fiscal year of `on` (B類 schedules count this way)."""
    return age_in_years(birth, date(fiscal_year(on) + 1, 3, 31))


def school_entry_date(birth: date) -> date:
    """1 April of the year the child starts elementary school (the first April 1 after turning 6).

    学校教育法 17 条: the first school year starting after the day the child attains 6. A child born on
    1 April attains 6 on 31 March and starts that April; one born on 2 April attains 6 on 1 April and
    starts a year later.
    """
    sixth = attainment_date(birth, 72)
    return date(sixth.year if sixth < date(sixth.year, 4, 1) else sixth.year + 1, 4, 1)
