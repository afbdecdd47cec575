"""The eligibility engine: may this person have this routine vaccination today, and which dose?

A pure function of (subject, history, today, vaccine, catalogue), so the host (authoritative) and the
kiosk (offline) give the same answer. Each "no" carries its reasons in Japanese and English.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from yoshin.domain.age import (
    age_at_fiscal_year_end,
    age_in_months,
    age_in_years,
    attainment_date,
    fiscal_year,
    school_entry_date,
)
from yoshin.domain.catalogue import Catalogue, DoseRule, OlderAdultRule, Vaccine
from yoshin.domain.i18n import Bilingual

# Minimum clear days between two injectable live vaccines (予防接種実施規則, since 2020-10-01: 27日以上).
LIVE_VACCINE_GAP_DAYS = 27


@dataclass(frozen=True, slots=True)
class Subject:
    birth_date: date
    sex: str  # "male", "female", "not_applicable"
    conditions: frozenset[str] = frozenset()  # e.g. {"b_class_disability"}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    vaccine_code: str
    dose_number: int
    date: date


@dataclass(frozen=True, slots=True)
class Reason:
    code: str  # ok, not_in_catalogue, sex, too_young, too_old, outside_window, interval,
    # live_interval, series_complete, already_this_season, not_target
    text: Bilingual


@dataclass(frozen=True, slots=True)
class Eligibility:
    vaccine_code: str
    eligible: bool
    dose_number: int | None
    reasons: tuple[Reason, ...] = field(default=())

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(reason.code for reason in self.reasons)


def check(
    subject: Subject,
    history: Iterable[HistoryEntry],
    today: date,
    vaccine_code: str,
    catalogue: Catalogue,
) -> Eligibility:
    """Whether `subject` may receive the next routine dose of `vaccine_code` on `today`."""
    history = sorted(history, key=lambda entry: entry.date)
    vaccine = catalogue.vaccine(vaccine_code, today)
    if vaccine is None:
        return _no(
            vaccine_code,
            None,
            Reason(
                "not_in_catalogue",
                Bilingual(
                    ja="本日時点で定期接種の対象ワクチンではありません",
                    en="not a routine vaccine on this date",
                ),
            ),
        )
    own = [entry for entry in history if entry.vaccine_code == vaccine.code]
    if vaccine.older_adult is not None and vaccine.older_adult.per == "fiscal_year":
        own = [entry for entry in own if fiscal_year(entry.date) == fiscal_year(today)]
    dose_number = len(own) + 1
    if dose_number > len(vaccine.doses):
        code = "already_this_season" if vaccine.older_adult and vaccine.older_adult.per == "fiscal_year" else None
        return _no(vaccine.code, None, _series_complete(len(vaccine.doses), code))

    rule = vaccine.doses[dose_number - 1]
    reasons: list[Reason] = []
    if vaccine.sex is not None and subject.sex != vaccine.sex:
        reasons.append(Reason("sex", Bilingual(ja="性別の対象外です", en="not a target of this vaccine by sex")))
    if today < subject.birth_date:
        reasons.append(Reason("too_young", Bilingual(ja="生年月日より前の日付です", en="date before birth")))
    else:
        if vaccine.older_adult is not None and dose_number == 1:
            reasons.extend(_older_adult_reasons(vaccine.older_adult, subject, today))
        reasons.extend(_age_reasons(rule, subject.birth_date, today))
    reasons.extend(_interval_reasons(rule, own, today))
    reasons.extend(_live_interval_reasons(vaccine, history, today, catalogue))
    if reasons:
        return _no(vaccine.code, dose_number, *reasons)
    ok = Reason(
        "ok",
        Bilingual(
            ja=f"{vaccine.name.ja} 第{dose_number}回の定期接種の対象です",
            en=f"{vaccine.name.en}: dose {dose_number} is due as a routine vaccination",
        ),
    )
    return Eligibility(vaccine.code, True, dose_number, (ok,))


def due_vaccinations(
    subject: Subject, history: Iterable[HistoryEntry], today: date, catalogue: Catalogue
) -> list[Eligibility]:
    """Every routine vaccination the subject may have today, in catalogue order."""
    history = list(history)
    results = (check(subject, history, today, v.code, catalogue) for v in catalogue.vaccines_in_force(today))
    return [result for result in results if result.eligible]


# --- rules ---------------------------------------------------------------------------------------

WINDOWS = ("pre_school_year", "school_year_6_to_high_school_1")


def _window(name: str, birth: date) -> tuple[date, date]:
    """First and last day of a named window (inclusive)."""
    entry = school_entry_date(birth)
    if name == "pre_school_year":  # the year before elementary school: 1 April to 31 March
        return date(entry.year - 1, 4, 1), entry - timedelta(days=1)
    if name == "school_year_6_to_high_school_1":  # 小学6年 to 高校1年 相当
        return date(entry.year + 5, 4, 1), date(entry.year + 10, 3, 31)
    raise ValueError(f"unknown window {name!r}")


def _age_reasons(rule: DoseRule, birth: date, today: date) -> list[Reason]:
    if rule.window is not None:
        first, last = _window(rule.window, birth)
        if first <= today <= last:
            return []
        code = "too_young" if today < first else "too_old"
        return [
            Reason(
                code,
                Bilingual(
                    ja=f"接種期間 ({first.isoformat()}〜{last.isoformat()}) の外です",
                    en=f"outside the vaccination period {first.isoformat()} to {last.isoformat()}",
                ),
            )
        ]
    reasons = []
    days = (today - birth).days
    months = age_in_months(birth, today)
    if (rule.min_age_days is not None and days < rule.min_age_days) or (
        rule.min_age_months is not None and months < rule.min_age_months
    ):
        start = (
            birth + timedelta(days=rule.min_age_days)
            if rule.min_age_days is not None
            else attainment_date(birth, rule.min_age_months or 0)
        )
        reasons.append(
            Reason(
                "too_young",
                Bilingual(
                    ja=f"対象年齢に達していません ({start.isoformat()} から接種できます)",
                    en=f"below the age window (eligible from {start.isoformat()})",
                ),
            )
        )
    if (rule.max_age_days is not None and days >= rule.max_age_days) or (
        rule.max_age_months is not None and months >= rule.max_age_months
    ):
        reasons.append(Reason("too_old", Bilingual(ja="対象年齢を過ぎています", en="past the age window")))
    return reasons


def _older_adult_reasons(rule: OlderAdultRule, subject: Subject, today: date) -> list[Reason]:
    age = (
        age_in_years(subject.birth_date, today)
        if rule.basis == "age_on_day"
        else age_at_fiscal_year_end(subject.birth_date, today)
    )
    by_age = (rule.min_age is not None and age >= rule.min_age) or age in rule.exact_ages
    by_condition = (
        rule.condition is not None
        and rule.condition_ages is not None
        and rule.condition_ages[0] <= age <= rule.condition_ages[1]
        and rule.condition in subject.conditions
    )
    if by_age or by_condition:
        return []
    if rule.condition_ages is not None and rule.condition_ages[0] <= age <= rule.condition_ages[1]:
        return [
            Reason(
                "not_target",
                Bilingual(
                    ja="60〜64歳は所定の障害がある方のみ対象です",
                    en="at 60-64 only people with the specified disabilities are eligible",
                ),
            )
        ]
    ages = f"{rule.min_age}歳以上" if rule.min_age is not None else "・".join(f"{a}歳" for a in rule.exact_ages)
    ages_en = f"{rule.min_age} and over" if rule.min_age is not None else ", ".join(map(str, rule.exact_ages))
    basis_en = "on the day" if rule.basis == "age_on_day" else "in the fiscal year"
    return [
        Reason(
            "not_target",
            Bilingual(ja=f"対象年齢 ({ages}) ではありません", en=f"not a target age ({ages_en} {basis_en})"),
        )
    ]


def _interval_reasons(rule: DoseRule, own: list[HistoryEntry], today: date) -> list[Reason]:
    if not own:
        return []
    previous = own[-1].date
    earliest = previous
    if rule.min_gap_days is not None:
        earliest = max(earliest, previous + timedelta(days=rule.min_gap_days + 1))
    if rule.min_gap_months is not None:
        earliest = max(earliest, _add_months(previous, rule.min_gap_months))
    if rule.min_gap_days_from_first is not None:
        earliest = max(earliest, own[0].date + timedelta(days=rule.min_gap_days_from_first + 1))
    if today >= earliest and today > previous:
        return []
    return [
        Reason(
            "interval",
            Bilingual(
                ja=f"前回接種からの間隔が足りません ({earliest.isoformat()} から接種できます)",
                en=f"too soon after the previous dose (eligible from {earliest.isoformat()})",
            ),
        )
    ]


def _live_interval_reasons(
    vaccine: Vaccine, history: list[HistoryEntry], today: date, catalogue: Catalogue
) -> list[Reason]:
    """注射生ワクチン同士は27日以上の間隔をおく (other vaccines may be given at any interval)."""
    if not (vaccine.live and vaccine.injectable):
        return []
    for entry in reversed(history):
        if entry.date > today:
            continue
        other = catalogue.vaccine(entry.vaccine_code, entry.date) or catalogue.vaccine(entry.vaccine_code, today)
        if other is None or not (other.live and other.injectable):
            continue
        earliest = entry.date + timedelta(days=LIVE_VACCINE_GAP_DAYS + 1)
        if today < earliest:
            return [
                Reason(
                    "live_interval",
                    Bilingual(
                        ja=f"注射生ワクチン ({other.name.ja}) の接種から27日以上あける必要があります "
                        f"({earliest.isoformat()} から接種できます)",
                        en=f"27 clear days are needed after the injectable live vaccine {other.name.en} "
                        f"(eligible from {earliest.isoformat()})",
                    ),
                )
            ]
        break
    return []


def _series_complete(doses: int, code: str | None) -> Reason:
    if code == "already_this_season":
        return Reason(code, Bilingual(ja="今年度の定期接種は済んでいます", en="already vaccinated this fiscal year"))
    return Reason(
        "series_complete",
        Bilingual(
            ja=f"定期接種 ({doses}回) は完了しています",
            en=f"the routine series of {doses} dose(s) is complete",
        ),
    )


def _no(vaccine_code: str, dose_number: int | None, *reasons: Reason) -> Eligibility:
    return Eligibility(vaccine_code, False, dose_number, tuple(reasons))


def _add_months(start: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    year, index = divmod(start.month - 1 + months, 12)
    year += start.year
    last = calendar.monthrange(year, index + 1)[1]
    return date(year, index + 1, min(start.day, last))
