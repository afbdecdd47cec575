"""Bilingual (Japanese and English) text for every message a person reads.

Every error that can reach a resident, staff member or technician carries both languages, so the
kiosk can show the one chosen on the welcome screen and logs can keep the English.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bilingual:
    """One message in Japanese and English."""

    ja: str
    en: str

    def get(self, lang: str) -> str:
        """The message in `lang` ("ja" or "en"); English for anything else."""
        return self.ja if lang == "ja" else self.en

    def __str__(self) -> str:
        return f"{self.ja} / {self.en}"


class BilingualError(Exception):
    """Base of every yoshin error a person may read: `str(e)` gives both languages."""

    def __init__(self, message: Bilingual) -> None:
        super().__init__(str(message))
        self.message = message
