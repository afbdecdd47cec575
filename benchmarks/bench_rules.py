"""The rules engine: due list, single verdict and guard per resident, against loading the catalogue (same
run). A host answers one due list per identity call and the kiosk one per offline visit, so the figure
that matters is the due list's cost next to the identity round trip. Prints one JSON object.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from decimal import Decimal

from yoshin.domain.catalogue import catalogue_files, load_catalogue
from yoshin.domain.rules_guard import Given, guard
from yoshin.domain.series import Case, HistoryEntry, Subject, due_list, evaluate

RESIDENTS = 300
ON = date(2026, 10, 15)


def _residents() -> list[tuple[Subject, list[HistoryEntry]]]:
    people = []
    for index in range(RESIDENTS):
        birth = ON - timedelta(days=30 + index * 97)  # infants to older adults
        history = [
            HistoryEntry(code, n + 1, birth + timedelta(days=62 + 30 * n))
            for n, code in enumerate(("dpt_ipv_hib", "pcv20", "hepb", "rota1"))
            if birth + timedelta(days=62 + 30 * n) < ON
        ]
        people.append((Subject(birth, "female" if index % 2 else "male"), history))
    return people


def _per_call(function, calls: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def main() -> None:
    texts = list(catalogue_files().values())
    load = _per_call(lambda: load_catalogue(texts), 5)
    catalogue = load_catalogue(texts)
    people = _residents()
    start = time.perf_counter()
    due_items = sum(len(due_list(subject, history, ON, catalogue)) for subject, history in people)
    per_due_list = (time.perf_counter() - start) / RESIDENTS
    subject, history = people[1]
    per_verdict = _per_call(lambda: evaluate(Case(subject, tuple(history), ON, "pcv"), catalogue), 200)
    given = Given("02000000000039", dose_number=1, dose_ml=Decimal("0.25"), route="subcutaneous")
    per_guard = _per_call(lambda: guard(subject, history, given, ON, catalogue), 200)
    print(
        json.dumps(
            {
                "benchmark": "rules",
                "residents": RESIDENTS,
                "due_items": due_items,
                "catalogue_load_ms": round(load * 1000, 2),
                "due_list_ms": round(per_due_list * 1000, 3),
                "verdict_ms": round(per_verdict * 1000, 3),
                "guard_ms": round(per_guard * 1000, 3),
                "ratio_due_list_to_load": round(per_due_list / load, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
