"""Mutation test: moving any age or interval of the schedule data by one day makes a golden row fail.

The mutants are generated from the loaded catalogue (every Age and Interval in every series, path,
target dose, allowable-kind rule and B類 target), each moved one day earlier and one day later. A mutant
that no row notices means a boundary without a test at both of its edges.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from yoshin.domain.catalogue import Age, Catalogue, Interval, default_catalogue

# The golden table's reader lives with its test (tests are not a package under --import-mode=importlib).
_spec = importlib.util.spec_from_file_location("_rules_table", Path(__file__).with_name("test_eligibility_rules.py"))
assert _spec is not None and _spec.loader is not None
_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_table)
ROWS, mismatch, verdict_of = _table.ROWS, _table.mismatch, _table.verdict_of
CATALOGUE = default_catalogue()

# Mutants that cannot change any answer, with the reason (reviewed like the data).
EQUIVALENT = {
    # Zoster: anyone who attains 65 in the fiscal year is 65 at its end, so the 年度末65歳 target covers
    # both the day of attaining 65 and the day after; the HIV target's upper edge cannot change an answer.
    "vaccine zoster target 3 max_age -1d",
    "vaccine zoster target 3 max_age +1d",
    # Pneumococcal: the 65歳 target (65y..66y, no condition) covers the last day of the condition target.
    "vaccine pneumo_elderly target 2 max_age -1d",
    # JE 特例, path started_in_phase_1: its first dose was given before 90 months, so dose 1 is never the
    # target (its 20y limit never decides) and dose 2 follows a dose years back (its 6 days never decide);
    # the series is in force from 2026-04-01, when the cohort is 19 and over.
    "series je_tokurei path started_in_phase_1 dose 1 max_age -1d",
    "series je_tokurei path started_in_phase_1 dose 1 max_age +1d",
    "series je_tokurei path started_in_phase_1 dose 2 interval -1d",
    "series je_tokurei path started_in_phase_1 dose 2 interval +1d",
}


def _moved(value: Any, delta: int) -> Any:
    return replace(value, moved=value.moved + delta)


def _mutants(catalogue: Catalogue) -> Iterator[tuple[str, Callable[[int], Catalogue]]]:
    for s_index, series in enumerate(catalogue.series_list):

        def with_series(new: Any, s_index: int = s_index) -> Catalogue:
            items = list(catalogue.series_list)
            items[s_index] = new
            return replace(catalogue, series_list=tuple(items))

        for p_index, path in enumerate(series.paths):
            if path.start_until is not None:

                def start(
                    delta: int,
                    series: Any = series,
                    p_index: int = p_index,
                    path: Any = path,
                    with_series: Any = with_series,
                ) -> Catalogue:
                    paths = list(series.paths)
                    paths[p_index] = replace(path, start_until=_moved(path.start_until, delta))
                    return with_series(replace(series, paths=tuple(paths)))

                yield f"series {series.code} path {path.code} start_until", start
            for d_index, dose in enumerate(path.doses):
                for field in fields(dose):
                    value = getattr(dose, field.name)
                    if not isinstance(value, Age | Interval):
                        continue

                    def move(
                        delta: int, series: Any = series, p_index: int = p_index, d_index: int = d_index,
                        name: str = field.name, with_series: Any = with_series,
                    ) -> Catalogue:  # fmt: skip
                        path = series.paths[p_index]
                        doses = list(path.doses)
                        doses[d_index] = replace(doses[d_index], **{name: _moved(getattr(doses[d_index], name), delta)})
                        paths = list(series.paths)
                        paths[p_index] = replace(path, doses=tuple(doses))
                        return with_series(replace(series, paths=tuple(paths)))

                    yield f"series {series.code} path {path.code} dose {d_index + 1} {field.name}", move
        for k_index, rule in enumerate(series.kinds):
            for name in ("min_age", "max_age"):
                if getattr(rule, name) is None:
                    continue

                def kind_move(
                    delta: int,
                    series: Any = series,
                    k_index: int = k_index,
                    name: str = name,
                    with_series: Any = with_series,
                ) -> Catalogue:
                    kinds = list(series.kinds)
                    kinds[k_index] = replace(kinds[k_index], **{name: _moved(getattr(kinds[k_index], name), delta)})
                    return with_series(replace(series, kinds=tuple(kinds)))

                yield f"series {series.code} kind {rule.kind} {name}", kind_move
    for v_index, vaccine in enumerate(catalogue.vaccines):
        for t_index, target in enumerate(vaccine.targets):
            for name in ("min_age", "max_age"):
                if getattr(target, name) is None:
                    continue

                def target_move(
                    delta: int, vaccine: Any = vaccine, v_index: int = v_index, t_index: int = t_index, name: str = name
                ) -> Catalogue:
                    targets = list(vaccine.targets)
                    targets[t_index] = replace(
                        targets[t_index], **{name: _moved(getattr(targets[t_index], name), delta)}
                    )
                    items = list(catalogue.vaccines)
                    items[v_index] = replace(vaccine, targets=tuple(targets))
                    return replace(catalogue, vaccines=tuple(items))

                yield f"vaccine {vaccine.code} target {t_index + 1} {name}", target_move


MUTANTS = [(f"{name} {delta:+d}d", name, build, delta) for name, build in _mutants(CATALOGUE) for delta in (-1, 1)]


def test_every_boundary_of_the_data_is_a_mutant() -> None:
    names = {name for _, name, _, _ in MUTANTS}
    assert len(names) >= 60  # every series contributes; a loader change that hides fields shows here
    labels = {label for label, _, _, _ in MUTANTS}
    assert labels >= EQUIVALENT, EQUIVALENT - labels


@pytest.mark.parametrize(("label", "name", "build", "delta"), MUTANTS, ids=[m[0] for m in MUTANTS])
def test_moving_a_boundary_by_one_day_fails_a_golden_row(label: str, name: str, build: Any, delta: int) -> None:
    if label in EQUIVALENT:
        pytest.skip("equivalent mutant (reason in EQUIVALENT)")
    mutated = build(delta)
    assert any(mismatch(row, verdict_of(row, mutated)) for row in ROWS), f"no golden row notices {label}"
