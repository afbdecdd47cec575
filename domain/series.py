"""The antigen-series engine: may this person have this routine vaccination today, which dose, and when next.

Pure functions of (subject, history, day, catalogue), used alike by the host's due list, the kiosk's
offline list, the staff guard (domain/rules_guard.py) and the `yoshin-rules` CLI, so every place gives
the same answer. The structure follows CDC's CDSi logic specification (series, paths selected by the age
at the first dose, target doses with age and interval conditions, conditional skips, preferable and
allowable vaccines, live-virus conflicts, combination products counting for each antigen they contain);
the rules themselves are Japan's and live in the catalogue data with their sources.

How history counts:
- an entry's code is a kind (`dpt_ipv_hib`, `mumps`, ...), a programme code (histories recorded by
  programme, e.g. `hib`) or a product GTIN; an unknown code counts for nothing but is reported;
- a dose counts toward a series when its kind is one the series accepts and it was given inside the
  series' own age window (so MR phase 1 and phase 2 are told apart by the age at the dose);
- past intervals are not re-validated: a dose given is a dose counted, so an error is never "repaired"
  with an extra dose by the engine (that decision is the doctor's and the municipality's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from yoshin.domain.age import age_in_years, fiscal_year, school_entry_date
from yoshin.domain.catalogue import Catalogue, Kind, Series, SeriesPath, Target, TargetDose, Vaccine, default_catalogue
from yoshin.domain.i18n import Bilingual

# Minimum clear days between two injectable live vaccines (定期接種実施要領, since 2020-10-01: 27日以上).
LIVE_VACCINE_GAP_DAYS = 27
LIVE_RULE_SOURCE = (
    "定期接種実施要領 (2020-10-01 改正): 注射生ワクチン同士のみ27日以上; restated "
    "https://www.city.yoshikawa.saitama.jp/index.cfm/24,82869,137,762,html and "
    "https://www.town.sakae.chiba.jp/page/page000384.html (おたふくかぜ・黄熱 included)"
)
DISEASE_SOURCE = (
    "予防接種法施行令 第3条第1項 (当該疾病にかかっている者又はかかったことのある者を除く; インフルエンザ・"
    "新型コロナを除く) https://iuris.jp/予防接種法施行令-第三条-市町村長が予防接種を行う疾病及びその対象者/jpn/a/58708"
)
WINDOWS = ("pre_school_year", "fy_of_age_12_to_fy_of_age_16")
# RSV (母子免疫): one dose per pregnancy (妊娠ごとに1回; a dose in an earlier pregnancy does not exclude:
# https://www.town.tateshina.nagano.jp/soshiki/chomin/kosodate_hoken/2887.html ,
# https://www.city.hakodate.hokkaido.jp/docs/2026020500021). The engine cannot see the pregnancy, so it
# uses the product's own window, 妊娠24週〜36週 (24w0d..36w6d, 90 days: アブリスボ 添付文書 as restated by
# MHLW 副反応検討部会 資料 https://www.wic-net.com/material/document/23342/9 and
# https://takeda-sanfujinka.jp/news/389): a dose up to 90 days back may be this pregnancy's and counts;
# one given earlier cannot be, and does not.
PREGNANCY_DOSE_SPAN_DAYS = 90


@dataclass(frozen=True, slots=True)
class Subject:
    birth_date: date
    sex: str  # "male", "female", "not_applicable"
    conditions: frozenset[str] = frozenset()  # condition codes of the vocabulary (docs/questionnaire.md)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    vaccine_code: str  # a kind, a programme code or a GTIN
    dose_number: int
    date: date
    product: str | None = None  # the pack's GTIN when known: its kind wins over the programme code


@dataclass(frozen=True, slots=True)
class Reason:
    code: str  # ok, not_in_catalogue, sex, too_young, too_old, interval, live_interval, series_complete,
    # already_this_season, not_target, period_ended, had_disease, covered_by_combination, extension, skipped
    text: Bilingual
    source: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the path taken through the rules (for `yoshin-rules explain`)."""

    text: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class Case:
    subject: Subject
    history: tuple[HistoryEntry, ...]
    on: date
    vaccine_code: str


@dataclass(frozen=True, slots=True)
class Verdict:
    vaccine_code: str
    eligible: bool
    dose_number: int | None
    series: str | None = None
    path: str | None = None
    reasons: tuple[Reason, ...] = ()
    next_due: date | None = None  # today when eligible; the first day it can be when not yet; None if never
    last_day: date | None = None  # the last day of the current target dose's window, when bounded
    kinds: tuple[str, ...] = ()  # kinds that may be given for this dose today (preferable first)
    steps: tuple[Step, ...] = field(default=(), compare=False)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(reason.code for reason in self.reasons)


Due = Verdict  # a due-list item is an eligible verdict


# --- public functions -----------------------------------------------------------------------------


def evaluate(case: Case, catalogue: Catalogue | None = None) -> Verdict:
    """The verdict for one case: eligible, dose number, series, reasons, next due date."""
    return _programme(case.subject, list(case.history), case.on, case.vaccine_code, catalogue or _default(), True)


def due_list(
    subject: Subject, history: Iterable[HistoryEntry], on: date, catalogue: Catalogue | None = None
) -> list[Due]:
    """Every routine vaccination the subject may have on `on`, in catalogue order."""
    catalogue = catalogue or _default()
    history = list(history)
    verdicts = (_programme(subject, history, on, v.code, catalogue, True) for v in catalogue.vaccines_in_force(on))
    return [verdict for verdict in verdicts if verdict.eligible]


def evaluate_series(case: Case, series_code: str, catalogue: Catalogue | None = None) -> Verdict:
    """One antigen series on its own (CDSi-style test cases): no programme, target or live-vaccine rules."""
    catalogue = catalogue or _default()
    series = catalogue.series(series_code, case.on)
    if series is None:
        return Verdict(
            series_code,
            False,
            None,
            reasons=(_reason("not_in_catalogue", "対象の接種スケジュールがありません", "no series in force"),),
        )
    doses, _ = _doses(list(case.history), case.on, catalogue)
    result = _series(series, case.subject, doses, case.on)
    eligible = result.status == "due"
    ok = (
        _reason(
            "ok",
            f"{series.name.ja} 第{result.dose_number}回の対象です",
            f"{series.name.en}: dose {result.dose_number} is due",
            series.source,
        ),
    )
    reasons = ok + tuple(r for r in result.reasons if r.code == "extension") if eligible else result.reasons
    next_due = result.earliest if result.status in ("due", "not_yet") else None
    return Verdict(
        series_code,
        eligible,
        result.dose_number,
        series.code,
        result.path,
        reasons,
        next_due,
        result.latest,
        result.kinds,
        result.steps,
    )


def forecast(
    subject: Subject, history: Iterable[HistoryEntry], on: date, catalogue: Catalogue | None = None
) -> list[Verdict]:
    """Every programme in force with its verdict: due now, or when next (None when never)."""
    catalogue = catalogue or _default()
    history = list(history)
    return [_programme(subject, history, on, v.code, catalogue, True) for v in catalogue.vaccines_in_force(on)]


# --- programmes -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Dose:
    kind: Kind
    date: date


@dataclass(frozen=True, slots=True)
class _SeriesResult:
    series: Series
    status: str  # due, not_yet, closed, complete, not_applicable
    dose_number: int | None
    path: str | None
    reasons: tuple[Reason, ...]
    earliest: date | None
    latest: date | None
    kinds: tuple[str, ...]
    steps: tuple[Step, ...]


_DEFAULT: list[Catalogue] = []


def _default() -> Catalogue:
    if not _DEFAULT:
        _DEFAULT.append(default_catalogue())
    return _DEFAULT[0]


def _programme(
    subject: Subject, history: list[HistoryEntry], on: date, code: str, catalogue: Catalogue, consider_yield: bool
) -> Verdict:
    programme = catalogue.vaccine(code, on)
    if programme is None:
        return Verdict(
            code,
            False,
            None,
            reasons=(
                _reason(
                    "not_in_catalogue",
                    "本日時点で定期接種の対象ワクチンではありません",
                    "not a routine vaccine on this date",
                ),
            ),
            steps=(Step(f"no programme {code!r} in force on {on}"),),
        )
    steps = [Step(f"programme {programme.code} ({programme.name.en}), category {programme.category}", programme.source)]
    if on < subject.birth_date:
        return Verdict(
            code, False, None, reasons=(_reason("too_young", "生年月日より前の日付です", "date before birth"),)
        )
    doses, unknown = _doses(history, on, catalogue)
    if unknown:
        steps.append(Step(f"history codes not in the vocabulary, counted for nothing: {sorted(unknown)}"))
    conditions = _expand(subject.conditions, catalogue)
    pre: list[Reason] = []
    if programme.sex is not None and subject.sex != programme.sex:
        pre.append(_reason("sex", "性別の対象外です", "not a target of this vaccine by sex", programme.source))
    pre.extend(_target_reasons(programme, subject, conditions, on, steps))
    results = [_series(s, subject, doses, on) for s in _series_of(programme, doses, on, catalogue, steps)]
    if not results:
        return Verdict(
            code,
            False,
            None,
            reasons=(*pre, _reason("not_in_catalogue", "対象の接種スケジュールがありません", "no series in force")),
        )
    chosen = _choose(results)
    reasons = list(pre)
    antigens = frozenset().union(*(r.series.antigens for r in results))
    if not programme.disease_exempt and antigens and all(f"had_{a}" in conditions for a in antigens):
        reasons.append(
            _reason(
                "had_disease",
                "その病気にかかったことがあるため対象外です",
                "has had the disease, so not a target",
                DISEASE_SOURCE,
            )
        )
        steps.append(Step(f"had all of {sorted(antigens)}: excluded", DISEASE_SOURCE))
    kinds = chosen.kinds
    if chosen.status == "due" and programme.same_kind:  # not started yet: any kind whose series is due
        due_kinds = [k for r in results if r.status == "due" and r.dose_number == chosen.dose_number for k in r.kinds]
        kinds = tuple(dict.fromkeys(due_kinds))
    next_due = chosen.earliest if chosen.status in ("due", "not_yet") and not pre else None
    if chosen.status == "due":
        kinds, live_reason, live_earliest = _live_filter(kinds, doses, on, catalogue)
        if live_reason is not None:
            reasons.append(live_reason)
            steps.append(Step(live_reason.text.en, LIVE_RULE_SOURCE))
            next_due = live_earliest if chosen.latest is None or live_earliest <= chosen.latest else None
    else:
        reasons.extend(chosen.reasons)
    if consider_yield and chosen.status == "due":
        for other in programme.yield_to:
            cover = _programme(subject, history, on, other, catalogue, False)
            if cover.eligible:
                reasons.append(
                    _reason(
                        "covered_by_combination",
                        f"本日は{catalogue.vaccine(other, on).name.ja}で接種します (この抗原を含みます)",  # type: ignore[union-attr]
                        f"given today as {other}, which contains this antigen",
                        programme.source,
                    )
                )
                steps.append(
                    Step(f"{other} is due today and contains this antigen: not offered separately", programme.source)
                )
                break
    steps.extend(chosen.steps)
    if reasons:
        return Verdict(
            code,
            False,
            chosen.dose_number,
            chosen.series.code,
            chosen.path,
            tuple(reasons),
            next_due,
            chosen.latest,
            kinds,
            tuple(steps),
        )
    notes = tuple(r for r in chosen.reasons if r.code == "extension")
    ok = _reason(
        "ok",
        f"{programme.name.ja} 第{chosen.dose_number}回の定期接種の対象です",
        f"{programme.name.en}: dose {chosen.dose_number} is due as a routine vaccination",
        chosen.series.source,
    )
    return Verdict(
        code,
        True,
        chosen.dose_number,
        chosen.series.code,
        chosen.path,
        (ok, *notes),
        on,
        chosen.latest,
        kinds,
        tuple(steps),
    )


def _doses(history: list[HistoryEntry], on: date, catalogue: Catalogue) -> tuple[list[_Dose], set[str]]:
    doses, unknown = [], set()
    for entry in sorted(history, key=lambda e: e.date):
        # A record of the rotavirus programme given with RotaTeq is a rota5 dose: the product tells.
        kind = (catalogue.kind(entry.product) if entry.product else None) or catalogue.kind(entry.vaccine_code)
        if kind is None:
            unknown.add(entry.vaccine_code)
        elif entry.date <= on:
            doses.append(_Dose(kind, entry.date))
    return doses, unknown


def _expand(conditions: frozenset[str], catalogue: Catalogue) -> frozenset[str]:
    expanded = set(conditions)
    for code in conditions:
        expanded.update(catalogue.aliases.get(code, ()))
    return frozenset(expanded)


def _series_of(
    programme: Vaccine, doses: list[_Dose], on: date, catalogue: Catalogue, steps: list[Step]
) -> list[Series]:
    found = [s for s in (catalogue.series(code, on) for code in programme.series) if s is not None]
    if programme.same_kind:
        started = next((d.kind.code for d in doses if any(s.counts(d.kind.code) for s in found)), None)
        if started is not None:
            found = [s for s in found if s.counts(started)]
            steps.append(Step(f"started with {started}: finished with the same kind", programme.source))
    return found


def _choose(results: list[_SeriesResult]) -> _SeriesResult:
    for result in results:
        if result.status == "due":
            return result
    waiting = [r for r in results if r.status == "not_yet"]
    if waiting:
        return next((r for r in waiting if r.earliest is not None), waiting[0])
    closed = [r for r in results if r.status == "closed"]
    if closed:
        return closed[-1]
    complete = [r for r in results if r.status == "complete"]
    return complete[0] if complete else results[0]


def _target_reasons(
    programme: Vaccine, subject: Subject, conditions: frozenset[str], on: date, steps: list[Step]
) -> list[Reason]:
    """B類: is the subject a target on this day (every dose, so a second dose must also fall inside)."""
    if not programme.targets:
        return []
    for target in programme.targets:
        if _is_target(target, subject, conditions, on):
            steps.append(Step(f"target: {_describe(target)}", target.source))
            return []
    disability_age = [t for t in programme.targets if t.conditions_any and _age_matches(t, subject, on)]
    if disability_age:
        return [
            _reason(
                "not_target",
                "60〜64歳は所定の障害がある方のみ対象です",
                "at 60-64 only people with the specified disabilities are eligible",
                disability_age[0].source,
            )
        ]
    described = "; ".join(_describe(t) for t in programme.targets)
    return [_reason("not_target", "対象年齢ではありません", f"not a target ({described})", programme.targets[0].source)]


def _is_target(target: Target, subject: Subject, conditions: frozenset[str], on: date) -> bool:
    if target.effective_to is not None and on > target.effective_to:
        return False
    if target.conditions_any and not set(target.conditions_any) & conditions:
        return False
    return _age_matches(target, subject, on)


def _age_matches(target: Target, subject: Subject, on: date) -> bool:
    birth = subject.birth_date
    if target.basis == "age_at_fiscal_year_end":
        age = age_in_years(birth, date(fiscal_year(on) + 1, 3, 31))
        if target.ages and age not in target.ages:
            return False
        if target.min_age is not None and age < target.min_age.months // 12:
            return False
        return not (target.max_age is not None and age > target.max_age.months // 12)
    if target.min_age is not None and on < target.min_age.on(birth):
        return False
    return not (target.max_age is not None and on > target.max_age.on(birth))


def _describe(target: Target) -> str:
    ages = ",".join(map(str, target.ages)) if target.ages else ""
    low = target.min_age.text if target.min_age else ""
    high = target.max_age.text if target.max_age else ""
    cond = f" with {'/'.join(target.conditions_any)}" if target.conditions_any else ""
    return f"{target.basis} {ages or low + '..' + high}{cond}"


def _live_filter(
    kinds: tuple[str, ...], doses: list[_Dose], on: date, catalogue: Catalogue
) -> tuple[tuple[str, ...], Reason | None, date]:
    """注射生ワクチン同士は27日以上の間隔 (every injectable live kind in the history counts, routine or not)."""
    live = [d for d in doses if d.kind.live and d.kind.injectable and d.date < on]
    if not live:
        return kinds, None, on
    last = live[-1]
    earliest = last.date + timedelta(days=LIVE_VACCINE_GAP_DAYS + 1)
    if on >= earliest:
        return kinds, None, on
    blocked = [k for k in kinds if (kind := catalogue.kinds.get(k)) is not None and kind.live and kind.injectable]
    allowed = tuple(k for k in kinds if k not in blocked)
    if allowed or not blocked:
        return allowed, None, on
    reason = _reason(
        "live_interval",
        f"注射生ワクチン ({last.kind.name.ja}) の接種から27日以上あける必要があります "
        f"({earliest.isoformat()} から接種できます)",
        f"27 clear days are needed after the injectable live vaccine {last.kind.name.en} "
        f"(eligible from {earliest.isoformat()})",
        LIVE_RULE_SOURCE,
    )
    return (), reason, earliest


# --- series ---------------------------------------------------------------------------------------


def window(name: str, birth: date) -> tuple[date, date]:
    """First and last day (inclusive) of a named window."""
    entry = school_entry_date(birth)
    if name == "pre_school_year":  # 小学校就学の始期に達する日の1年前の日から当該始期に達する日の前日まで
        return date(entry.year - 1, 4, 1), entry - timedelta(days=1)
    if name == "fy_of_age_12_to_fy_of_age_16":  # 12歳となる日の属する年度の初日から16歳となる日の属する年度の末日まで
        from yoshin.domain.age import attainment_date

        return date(fiscal_year(attainment_date(birth, 144)), 4, 1), date(
            fiscal_year(attainment_date(birth, 192)) + 1, 3, 31
        )
    raise ValueError(f"unknown window {name!r}")


def _span(series: Series, birth: date) -> tuple[date, date | None]:
    """The age window inside which a dose counts toward this series (across all its paths)."""
    if series.window is not None:
        return window(series.window, birth)
    lows = [p.doses[0].min_age.on(birth) for p in series.paths if p.doses[0].min_age is not None]
    highs = [d.max_age.on(birth) for p in series.paths for d in p.doses if d.max_age is not None]
    return (min(lows) if lows else birth), _extended(series, birth, max(highs) if highs else None)[0]


def _extended(series: Series, birth: date, last: date | None) -> tuple[date | None, Reason | None]:
    for ext in series.extensions:
        if ext.born_from <= birth <= ext.born_to and last is not None and ext.until > last:
            return ext.until, Reason("extension", ext.note, ext.source)
    return last, None


def _series(series: Series, subject: Subject, all_doses: list[_Dose], on: date) -> _SeriesResult:
    birth = subject.birth_date
    steps: list[Step] = [Step(f"series {series.code} ({series.name.en})", series.source)]
    if series.unconfirmed:
        steps.append(Step(f"UNCONFIRMED: {series.unconfirmed}"))

    def result(
        status: str,
        number: int | None,
        path: SeriesPath | None,
        reasons: Sequence[Reason] = (),
        earliest: date | None = None,
        latest: date | None = None,
        kinds: tuple[str, ...] = (),
    ) -> _SeriesResult:
        return _SeriesResult(
            series, status, number, path.code if path else None, tuple(reasons), earliest, latest, kinds, tuple(steps)
        )

    if (series.born_from is not None and birth < series.born_from) or (
        series.born_to is not None and birth > series.born_to
    ):
        steps.append(Step("birth date outside the series' cohort"))
        return result(
            "not_applicable",
            None,
            None,
            [_reason("not_target", "対象の生年月日ではありません", "not in the cohort of this series", series.source)],
        )
    doses = [d for d in all_doses if series.counts(d.kind.code)]
    if series.reset == "fiscal_year":
        doses = [d for d in doses if fiscal_year(d.date) == fiscal_year(on)]
    elif series.reset == "pregnancy":  # one dose per pregnancy: a dose of an earlier pregnancy does not count
        doses = [d for d in doses if (on - d.date).days <= PREGNANCY_DOSE_SPAN_DAYS]
    first_guess = doses[0].date if doses else on
    path = _path(series, birth, first_guess, doses[0].kind.code if doses else None)
    if path is None:
        return result("closed", series.number_from, None, [_too_old(series.source)])
    low, high = _span(series, birth)
    counted = [d for d in doses if low <= d.date and (high is None or d.date <= high)]
    if len(counted) != len(doses):
        steps.append(Step(f"{len(doses) - len(counted)} dose(s) outside the series' ages do not count"))
    if counted and counted[0].date != first_guess:
        path = _path(series, birth, counted[0].date, counted[0].kind.code) or path
    steps.append(Step(f"path {path.code} (chosen by the age at the first dose)", path.source))
    if series.requires_dose_from is not None and not any(
        series.requires_dose_from <= d.date <= (series.requires_dose_to or on) for d in counted
    ):
        steps.append(Step(f"needs a dose between {series.requires_dose_from} and {series.requires_dose_to}"))
        return result(
            "not_applicable",
            None,
            path,
            [
                _reason(
                    "not_target",
                    "経過措置の対象ではありません",
                    "not covered by the transitional measure",
                    series.source,
                )
            ],
        )
    position, previous, first, skipped = 0, None, None, False
    for dose in counted:
        while position < len(path.doses) and path.doses[position].skipped(birth, dose.date, previous, first):
            position += 1
            skipped = True
        if position >= len(path.doses):
            break
        previous, first = dose.date, first or dose.date
        position += 1
    while position < len(path.doses) and path.doses[position].skipped(birth, on, previous, first):
        steps.append(
            Step(
                f"target dose {position + 1} skipped (age or previous dose past its limit)", path.doses[position].source
            )
        )
        position += 1
        skipped = True
    if position >= len(path.doses):
        code = "already_this_season" if series.reset == "fiscal_year" else "series_complete"
        if code == "already_this_season":
            text = Bilingual(ja="今年度の定期接種は済んでいます", en="already vaccinated this fiscal year")
        else:
            text = Bilingual(
                ja=f"定期接種 ({len(counted)}回) は完了しています",
                en=f"the routine series is complete ({len(counted)} dose(s))",
            )
        return result("complete", None, path, [Reason(code, text, path.source or series.source)])
    target = path.doses[position]
    number = series.number_from + position
    kinds = _kinds(series, birth, on)
    earliest_age, latest = _age_window(series, target, birth)
    latest, extension = _extended(series, birth, latest)
    season = series.period_from is not None and series.period_from > earliest_age
    if series.period_from is not None:
        earliest_age = max(earliest_age, series.period_from)
    if series.period_to is not None and (latest is None or series.period_to < latest):
        latest = series.period_to
    earliest = earliest_age
    interval_source = ""
    if previous is not None:
        interval = target.interval_after_skip if skipped and target.interval_after_skip else target.interval
        earliest = max(earliest, previous + timedelta(days=1))
        if interval is not None:
            earliest = max(earliest, interval.earliest_after(previous))
            interval_source = target.source
        if target.interval_from_first is not None and first is not None:
            earliest = max(earliest, target.interval_from_first.earliest_after(first))
    steps.append(
        Step(f"target dose {position + 1} (dose {number}): from {earliest} to {latest or 'no limit'}", target.source)
    )
    notes = [extension] if extension is not None else []
    if latest is not None and on > latest:
        if series.period_to is not None and latest == series.period_to:
            reason = _reason(
                "period_ended",
                f"接種期間は {latest.isoformat()} で終了しました",
                f"the period ended on {latest.isoformat()}",
                series.source,
            )
        else:
            reason = _reason(
                "too_old",
                f"対象年齢を過ぎています ({latest.isoformat()} まで)",
                f"past the age window (last day {latest.isoformat()})",
                target.source or series.source,
            )
        return result("closed", number, path, [reason], None, latest, kinds)
    if on < earliest:
        if latest is not None and earliest > latest:
            status, next_day = "closed", None
        else:
            status, next_day = "not_yet", earliest
        if earliest == earliest_age and season:
            reason = _reason(
                "period_not_started",
                f"接種期間は {earliest.isoformat()} からです",
                f"the vaccination period starts on {earliest.isoformat()}",
                series.source,
            )
        elif earliest == earliest_age:
            reason = _reason(
                "too_young",
                f"対象年齢に達していません ({earliest.isoformat()} から接種できます)",
                f"below the age window (eligible from {earliest.isoformat()})",
                target.source or series.source,
            )
        else:
            reason = _reason(
                "interval",
                f"前回接種からの間隔が足りません ({earliest.isoformat()} から接種できます)",
                f"too soon after the previous dose (eligible from {earliest.isoformat()})",
                interval_source or series.source,
            )
        return result(status, number, path, [reason, *notes], next_day, latest, kinds)
    if not kinds:
        return result(
            "closed",
            number,
            path,
            [
                _reason(
                    "wrong_vaccine",
                    "本日使用できるワクチンがありません",
                    "no vaccine may be used for this dose today",
                    series.source,
                )
            ],
            None,
            latest,
            kinds,
        )
    return result("due", number, path, notes, on, latest, kinds)


def _path(series: Series, birth: date, first: date, first_kind: str | None = None) -> SeriesPath | None:
    """The path for a series started on `first` (by age) with `first_kind` (None: not started yet)."""
    for path in series.paths:
        if path.start_kinds and first_kind is not None and first_kind not in path.start_kinds:
            continue
        if path.start_until is None or first <= path.start_until.on(birth):
            return path
    return None


def _age_window(series: Series, target: TargetDose, birth: date) -> tuple[date, date | None]:
    earliest = target.min_age.on(birth) if target.min_age else birth
    latest = target.max_age.on(birth) if target.max_age else None
    if series.window is not None:
        first, last = window(series.window, birth)
        earliest = max(earliest, first)
        latest = last if latest is None else min(latest, last)
    return earliest, latest


def _kinds(series: Series, birth: date, on: date) -> tuple[str, ...]:
    usable = [rule for rule in series.kinds if rule.usable(birth, on)]
    return tuple(rule.kind for rule in sorted(usable, key=lambda r: not r.preferable))


def _too_old(source: str) -> Reason:
    return _reason("too_old", "対象年齢を過ぎています", "past the age window", source)


def _reason(code: str, ja: str, en: str, source: str = "") -> Reason:
    return Reason(code, Bilingual(ja=ja, en=en), source)


# --- what the questionnaire adds to the case ----------------------------------------------------------

# Answers that are prior disease (予防接種法施行令 第3条): question id and answer -> condition codes.
QUESTIONNAIRE_CONDITIONS: dict[tuple[str, object], tuple[str, ...]] = {
    ("measles_rubella_history", "measles"): ("had_measles",),
    ("measles_rubella_history", "rubella"): ("had_rubella",),
    ("measles_rubella_history", "both"): ("had_measles", "had_rubella"),
    ("had_varicella", True): ("had_varicella",),
    ("had_tb", True): ("had_tb",),
    ("had_zoster", True): ("had_zoster",),
}


def questionnaire_conditions(answers: Mapping[str, object]) -> frozenset[str]:
    """Condition codes from the questionnaire's prior-disease answers."""
    found: set[str] = set()
    for (question, value), codes in QUESTIONNAIRE_CONDITIONS.items():
        if answers.get(question) == value:
            found.update(codes)
    return frozenset(found)


def questionnaire_history(answers: Mapping[str, object], catalogue: Catalogue | None = None) -> list[HistoryEntry]:
    """History entries the questionnaire reports: the injected live vaccine of the last month, routine or
    voluntary (おたふくかぜ, 黄熱, ...), so the 27-day rule counts it even when no registry knows it."""
    catalogue = catalogue or _default()
    code, when = answers.get("last_live_vaccine"), answers.get("last_vaccination_date")
    if not isinstance(code, str) or code not in catalogue.kinds:
        return []
    try:
        day = when if isinstance(when, date) else date.fromisoformat(str(when))
    except ValueError:
        return []
    return [HistoryEntry(code, 0, day)]
