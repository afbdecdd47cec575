"""The eligibility engine's original face: `check` and `due_vaccinations`, thin wrappers over domain/series.py.

The host's due list, the kiosk's offline list and the staff guard all end in the same pure functions
(`yoshin.domain.series.evaluate` / `due_list`); these wrappers keep the older call sites and the
`Eligibility` shape working while callers move.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from yoshin.domain.catalogue import Catalogue
from yoshin.domain.series import (
    LIVE_VACCINE_GAP_DAYS,
    Case,
    HistoryEntry,
    Reason,
    Subject,
    Verdict,
    due_list,
    evaluate,
)

__all__ = [
    "LIVE_VACCINE_GAP_DAYS",
    "Eligibility",
    "HistoryEntry",
    "Reason",
    "Subject",
    "check",
    "due_vaccinations",
]


@dataclass(frozen=True, slots=True)
class Eligibility:
    vaccine_code: str
    eligible: bool
    dose_number: int | None
    reasons: tuple[Reason, ...] = field(default=())
    series: str | None = None
    next_due: date | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(reason.code for reason in self.reasons)


def _from(verdict: Verdict) -> Eligibility:
    return Eligibility(
        verdict.vaccine_code, verdict.eligible, verdict.dose_number, verdict.reasons, verdict.series, verdict.next_due
    )


def check(
    subject: Subject,
    history: Iterable[HistoryEntry],
    today: date,
    vaccine_code: str,
    catalogue: Catalogue,
) -> Eligibility:
    """Whether `subject` may receive the next routine dose of `vaccine_code` on `today`."""
    return _from(evaluate(Case(subject, tuple(history), today, vaccine_code), catalogue))


def due_vaccinations(
    subject: Subject, history: Iterable[HistoryEntry], today: date, catalogue: Catalogue
) -> list[Eligibility]:
    """Every routine vaccination the subject may have today, in catalogue order."""
    return [_from(verdict) for verdict in due_list(subject, history, today, catalogue)]
