"""The visit in memory: everything the resident entered or the card gave. Wiped on every reset."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from yoshin.smartcard.card import FaceRead


@dataclass
class Visit:
    lang: str = "ja"
    large_text: bool = False
    consent: bool = False
    face: FaceRead | None = None
    subject: dict[str, Any] | None = None
    offline: bool = False
    vaccines: list[tuple[str, int]] = field(default_factory=list)  # today's choice: (vaccine code, dose)
    answers: dict[str, Any] = field(default_factory=dict)  # by tui.plan.Step.key, in the order given
    temperature: float | None = None  # from the I/O board's thermometer, to prefill the question
    started_at: datetime | None = None
    submitted: bool = False

    def has_personal_data(self) -> bool:
        return self.face is not None or self.subject is not None or bool(self.answers)
