"""The one clock of yoshin: Japan Standard Time, the zone every vaccination date is taken in.

A vaccination day, an age and a day key are always the JST calendar date of an aware instant, never the
machine's local date or the UTC date: at 08:30 JST the UTC date is still yesterday. Code that needs
"now" takes a `Clock` (a zero-argument callable), so tests inject the instant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real instant, aware (UTC)."""
    return datetime.now(UTC)


def now_jst(now: datetime) -> datetime:
    """The instant `now` seen in JST; a naive datetime is refused rather than guessed."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("a naive datetime has no instant; pass an aware one")
    return now.astimezone(JST)


def today(now: datetime) -> date:
    """The JST calendar date of the instant `now`."""
    return now_jst(now).date()
