"""The visit in memory: everything the resident entered or the card gave. Wiped on every reset."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the welcome screen makes a Visit before any card: no card layer at start
    from yoshin.device.visit import ReceptionSlot
    from yoshin.protocol.api import IdentityAnswer
    from yoshin.smartcard.card import FaceRead


@dataclass
class Visit:
    lang: str = "ja"
    large_text: bool = False
    consent: bool = False
    reception: ReceptionSlot | None = None  # reception's identity check, taken at the card step (control 4)
    face: FaceRead | None = None
    identity: IdentityAnswer | None = None  # the host's answer; None before it, and offline
    offline: bool = False
    vaccines: list[tuple[str, int]] = field(default_factory=list)  # today's choice: (vaccine code, dose)
    answers: dict[str, Any] = field(default_factory=dict)  # by tui.plan.Step.key, in the order given
    temperature: float | None = None  # from the I/O board's thermometer, to prefill the question
    started_at: datetime | None = None
    submitted: bool = False

    def has_personal_data(self) -> bool:
        return self.face is not None or self.identity is not None or bool(self.answers)
