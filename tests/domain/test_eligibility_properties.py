"""Properties of the rules engine (hypothesis, derandomized so CI runs the same examples every time).

- giving every dose the engine calls due never gives more doses than a series holds;
- the engine never allows an injectable live vaccine inside 27 days of another (routine or voluntary);
- the host's call path (shipped catalogue) and the kiosk's (the signed bundle it verified) give the same
  answers, and the old `eligibility` wrappers agree with the engine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import example, given, settings
from hypothesis import strategies as st

from yoshin.domain.bundle import build_bundle, load_rules, sign_bundle, verify_bundle
from yoshin.domain.catalogue import default_catalogue
from yoshin.domain.eligibility import due_vaccinations
from yoshin.domain.series import (
    LIVE_VACCINE_GAP_DAYS,
    Case,
    HistoryEntry,
    Subject,
    due_list,
    evaluate,
)

CATALOGUE = default_catalogue()
FY_START, FY_END = date(2026, 4, 1), date(2027, 3, 31)
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True)
LIVE_INJECTABLE = sorted(code for code, kind in CATALOGUE.kinds.items() if kind.live and kind.injectable)
ALL_KINDS = sorted(CATALOGUE.kinds)

births = st.dates(min_value=date(2019, 10, 1), max_value=date(2026, 12, 31))
days = st.dates(min_value=FY_START, max_value=FY_END)
sexes = st.sampled_from(["male", "female"])
histories = st.lists(st.tuples(st.sampled_from(ALL_KINDS), st.integers(min_value=-900, max_value=0)), max_size=8)


def _max_doses(series_code: str) -> int:
    series = CATALOGUE.series(series_code, FY_START)
    assert series is not None
    return max(len(path.doses) for path in series.paths)


@PROPERTY
@given(birth=births, sex=sexes, step=st.integers(min_value=1, max_value=40))
@example(birth=date(2026, 4, 15), sex="female", step=1)
def test_giving_every_due_dose_never_exceeds_the_series(birth: date, sex: str, step: int) -> None:
    subject = Subject(birth, sex)
    history: list[HistoryEntry] = []
    day = max(FY_START, birth)
    given_per_series: dict[str, int] = {}
    while day <= FY_END:
        for due in due_list(subject, history, day, CATALOGUE):
            assert due.kinds, due
            history.append(HistoryEntry(due.kinds[0], due.dose_number or 0, day))
            given_per_series[due.series or ""] = given_per_series.get(due.series or "", 0) + 1
        day += timedelta(days=step)
    for series_code, count in given_per_series.items():
        assert count <= _max_doses(series_code), (series_code, count, history)


@PROPERTY
@given(birth=births, sex=sexes, on=days, history=histories)
@example(birth=date(2025, 1, 10), sex="male", on=date(2026, 6, 28), history=[("mumps", -27)])
def test_no_injectable_live_vaccine_inside_27_days(birth: date, sex: str, on: date, history: list) -> None:  # type: ignore[type-arg]
    if on < birth:
        return
    entries = tuple(HistoryEntry(code, 1, on + timedelta(days=offset)) for code, offset in history)
    recent_live = any(
        e.vaccine_code in LIVE_INJECTABLE and on - timedelta(days=LIVE_VACCINE_GAP_DAYS) <= e.date < on for e in entries
    )
    for programme in CATALOGUE.vaccines_in_force(on):
        verdict = evaluate(Case(Subject(birth, sex), entries, on, programme.code), CATALOGUE)
        if verdict.eligible and recent_live:
            assert not set(verdict.kinds) & set(LIVE_INJECTABLE), (programme.code, verdict.kinds, entries)


def _kiosk_catalogue():  # type: ignore[no-untyped-def]
    key = Ed25519PrivateKey.generate()
    signed = sign_bundle(build_bundle(datetime(2026, 4, 1, tzinfo=UTC)), key)
    return load_rules(verify_bundle(signed, key.public_key())).catalogue


KIOSK = _kiosk_catalogue()


@PROPERTY
@given(birth=st.dates(min_value=date(1920, 1, 1), max_value=date(2026, 12, 31)), sex=sexes, on=days, history=histories)
def test_host_and_kiosk_paths_give_the_same_answers(birth: date, sex: str, on: date, history: list) -> None:  # type: ignore[type-arg]
    if on < birth:
        return
    subject = Subject(birth, sex)
    entries = [HistoryEntry(code, 1, on + timedelta(days=offset)) for code, offset in history]
    host = due_list(subject, entries, on, CATALOGUE)
    kiosk = due_list(subject, entries, on, KIOSK)
    assert host == kiosk
    wrapper = due_vaccinations(subject, entries, on, KIOSK)
    assert [(e.vaccine_code, e.dose_number, e.codes) for e in wrapper] == [
        (v.vaccine_code, v.dose_number, v.codes) for v in host
    ]
    for programme in CATALOGUE.vaccines_in_force(on):
        case = Case(subject, tuple(entries), on, programme.code)
        assert evaluate(case, CATALOGUE) == evaluate(case, KIOSK)
