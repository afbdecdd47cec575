"""Token buckets (finding 8): how often one device may ask who a card is, and how often a device or a
staff ID may try a login, so guessing and enumeration run at a clinic's pace, not a script's.

A bucket holds `capacity` tokens and gains `per_second` of them with the host's clock (injected, so a
test's fixed clock never refills one). One request takes one token; with none left it is refused (429
with Retry-After) and the first refusal of a run is audited.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Rate:
    capacity: float
    per_second: float


# per device: a clinic sees a resident every few minutes; per staff ID: a few typing mistakes
IDENTITY_PER_DEVICE = Rate(60, 1.0)
# the history re-read at the vaccination entry (issue 13): one per entry, so a clinic's pace is the
# identity call's; a stolen kiosk with a proof still cannot page through histories faster
HISTORY_PER_DEVICE = Rate(60, 1.0)
LOGIN_PER_DEVICE = Rate(20, 1 / 6)
LOGIN_PER_STAFF_ID = Rate(10, 1 / 60)
# refused enrollments per peer address (the enrollment listener has no device certificate): a technician
# mistypes a token now and then, a script guessing tokens is stopped; valid enrollments never count
ENROLL_REFUSALS_PER_ADDRESS = Rate(10, 1 / 60)
# refused technician logins per peer address, on the same listener: the per-staff-ID bucket and the
# lockout stop guessing one ID's password; this stops one address trying a password across many IDs
TECHNICIAN_LOGIN_REFUSALS_PER_ADDRESS = Rate(10, 1 / 60)
# what an address on the enrollment listener may get wrong, per kind of request
REFUSALS_PER_ADDRESS = {
    "enroll": ENROLL_REFUSALS_PER_ADDRESS,
    "technician_login": TECHNICIAN_LOGIN_REFUSALS_PER_ADDRESS,
}


@dataclass
class _Bucket:
    tokens: float
    at: datetime
    refusing: bool = False


class RateLimiter:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def wait(self, kind: str, key: str, rate: Rate) -> int:
        """Seconds until `key` has a token again, without taking one (0: it has one now)."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get((kind, key))
            if bucket is None:
                return 0
            tokens = min(rate.capacity, bucket.tokens + max(0.0, (now - bucket.at).total_seconds()) * rate.per_second)
            if tokens >= 1:
                return 0
            return max(1, math.ceil((1 - tokens) / rate.per_second)) if rate.per_second else 3600

    def take(self, kind: str, key: str, rate: Rate) -> tuple[bool, int, bool]:
        """(allowed, seconds until a token, whether this is the first refusal of a run)."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.setdefault((kind, key), _Bucket(rate.capacity, now))
            elapsed = max(0.0, (now - bucket.at).total_seconds())
            bucket.tokens, bucket.at = min(rate.capacity, bucket.tokens + elapsed * rate.per_second), now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                bucket.refusing = False
                return True, 0, False
            first, bucket.refusing = not bucket.refusing, True
            wait = math.ceil((1 - bucket.tokens) / rate.per_second) if rate.per_second else 3600
            return False, max(1, wait), first
