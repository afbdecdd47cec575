"""The visit in memory: everything the resident entered or the card gave. Wiped on every reset."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from yoshin.tui.voice import Loudness

if TYPE_CHECKING:  # the welcome screen makes a Visit before any card: no card layer at start
    from yoshin.device.visit import ReceptionSlot
    from yoshin.protocol.api import IdentityAnswer
    from yoshin.smartcard.card import FaceRead


@dataclass
class Visit:
    lang: str = "ja"
    large_text: bool = False
    loudness: Loudness = Loudness.NORMAL  # the resident's 音量 for this visit (the appliance's volume at start)
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
    # Which visit this is, for workers that must stop when it ends: they hold this, never the visit (a
    # finished worker can outlive its visit in Textual's contexts, and its description shows its arguments).
    token: object = field(default_factory=object, repr=False, compare=False)

    def wiped(self) -> Visit:
        """A fresh visit that keeps only how the person at the kiosk reads and hears it (language, large
        text, volume), for the screens that end this one; nothing they entered or the card gave."""
        return Visit(lang=self.lang, large_text=self.large_text, loudness=self.loudness)

    def has_personal_data(self) -> bool:
        return self.face is not None or self.identity is not None or bool(self.answers)
