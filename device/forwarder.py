"""The forwarder: drains the outbox to the host over mutual TLS, batch by batch.

Per-record results decide each row (accepted or duplicate: deleted; rejected: dead letter). A failure
to reach the host postpones the batch with exponential backoff and full jitter (clock and randomness
are injected, so tests never sleep); a busy host's 503 Retry-After is the floor of that delay, so after
an outage the appliances' retries spread out instead of arriving together. A revoked device stops,
saying so.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from yoshin.device.hostclient import DeviceRevoked, HostClient, HostRefused, HostUnreachable
from yoshin.device.outbox import Outbox
from yoshin.protocol import api
from yoshin.protocol.api import RecordResult

BASE_DELAY = 2.0
MAX_DELAY = 300.0
IDLE_POLL = 5.0


@dataclass(frozen=True, slots=True)
class Round:
    sent: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    error: str | None = None


class Forwarder:
    def __init__(self, outbox: Outbox, client: HostClient, batch: int = 50, rng: random.Random | None = None) -> None:
        self.outbox = outbox
        self.client = client
        self.batch = batch
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
        self.failures = 0
        self.revoked = False
        self.delay = 0.0  # the last postponement, which `run` waits

    def backoff(self, floor: float = 0.0) -> float:
        """Full jitter: `floor` (a 503's Retry-After) + uniform in [0, min(cap, base * 2^failures)]."""
        return min(MAX_DELAY, floor) + self.rng.uniform(0, min(MAX_DELAY, BASE_DELAY * 2 ** max(0, self.failures - 1)))

    def run_once(self) -> Round:
        leased = self.outbox.lease(self.batch)
        if not leased:
            return Round()
        try:
            answer = self.client.call("POST", api.RECORDS, {"envelopes": [item.envelope.to_json() for item in leased]})
            results = [RecordResult.from_json(item) for item in answer["results"]]
        except DeviceRevoked:
            self.revoked = True
            raise
        except (HostUnreachable, HostRefused, KeyError, ValueError, TypeError) as error:
            self.failures += 1
            self.delay = self.backoff(getattr(error, "retry_after", None) or 0.0)
            self.outbox.postpone([item.record_id for item in leased], timedelta(seconds=self.delay))
            return Round(sent=len(leased), error=str(getattr(error, "message", error)))
        known = {item.record_id for item in leased}
        self.outbox.acknowledge(result for result in results if result.record_id in known)
        self.failures = 0

        def count(status: str) -> int:
            return sum(1 for result in results if result.status == status)

        return Round(len(leased), count("accepted"), count("duplicate"), count("rejected"))

    def drain(self) -> list[Round]:
        """Send until nothing is due (tests and decommissioning)."""
        rounds: list[Round] = []
        while True:
            result = self.run_once()
            if result.sent == 0 or result.error:
                return [*rounds, result]
            rounds.append(result)

    def run(self, stop: threading.Event, wait: Callable[[float], bool] | None = None) -> None:
        """The daemon loop: `yoshin-device forward`, or a thread inside the kiosk."""
        wait = wait or stop.wait
        while not stop.is_set():
            try:
                result = self.run_once()
            except DeviceRevoked:
                return
            if result.error:
                wait(self.delay)
            elif result.sent == 0:
                wait(IDLE_POLL)
