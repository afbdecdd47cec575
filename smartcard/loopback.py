"""The card services in process, without pcscd or root: a CardTransport over an APDU interpreter.

`LoopbackChannel` hands each command's bytes to anything with `process(bytes) -> bytes` (the card
emulator's `CardState` is one) and resets it on close, as `SCARD_RESET_CARD` does. It is for unit tests
of the card logic; the same flows are proven through pcscd + vpcd + the emulator in the functional
tests (tests/smartcard/test_pcsc.py). A loopback is no reader: nothing in the product opens one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from yoshin.smartcard.apdu import Command, Response
from yoshin.smartcard.card import MyNumberCard
from yoshin.smartcard.errors import CardRemovedError

LOOPBACK_READER = "loopback"


class ApduCard(Protocol):
    """A card as an APDU interpreter: raw command in, response with status word out."""

    def process(self, raw: bytes) -> bytes: ...

    def power_cycle(self) -> None: ...


class LoopbackChannel:
    """A CardTransport to an in-process card. `pull_after=N` pulls the card instead of sending APDU N."""

    def __init__(self, card: ApduCard, pull_after: int | None = None, reader: str = LOOPBACK_READER) -> None:
        self.card = card
        self.reader = reader
        self.apdus_sent = 0
        self.pull_after = pull_after
        self._open = True

    def transmit(self, command: Command) -> Response:
        if not self._open:
            raise CardRemovedError()
        self.apdus_sent += 1
        if self.pull_after is not None and self.apdus_sent >= self.pull_after:
            self._open = False
            self.card.power_cycle()  # a pulled card loses power, and with it every verified PIN
            raise CardRemovedError()
        return Response.from_bytes(self.card.process(command.to_bytes()))

    def close(self) -> None:
        if self._open:
            self._open = False
            self.card.power_cycle()


@contextmanager
def open_loopback(card: ApduCard, pull_after: int | None = None) -> Iterator[MyNumberCard]:
    """Like `open_card`, over the loopback: the card is reset on the way out, errors included."""
    channel = LoopbackChannel(card, pull_after)
    try:
        yield MyNumberCard(channel)
    finally:
        channel.close()
