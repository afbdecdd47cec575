"""PC/SC transport over pyscard's SCard API: readers, insert/remove waits, exclusive channels.

`CardTransport` is the seam the card services use: one exclusive session with one card, sending
APDUs. `CardChannel` is its PC/SC implementation; `yoshin.smartcard.loopback.LoopbackChannel` runs the
same services in process against an APDU interpreter (the emulator's card), for unit tests.

Every card session is one exclusive connection (SCARD_SHARE_EXCLUSIVE), so nothing else can talk to
the card between VERIFY and the reads or the signature, and it is closed with SCARD_RESET_CARD, so no
verified state survives for the next person. The removal errors pcscd can give mid-command all map to
one CardRemovedError (test-stack.md §1.4).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from smartcard import scard
from yoshin.smartcard.apdu import Command, Response
from yoshin.smartcard.errors import (
    CardError,
    CardRemovedError,
    NoCardError,
    NoReaderError,
    ReaderBusyError,
    ReaderChoiceError,
    ReaderError,
    ReaderLostError,
    VirtualReaderRefused,
)

log = logging.getLogger(__name__)

VIRTUAL_READER_MARK = "Virtual PCD"
_REMOVED = {
    scard.SCARD_W_REMOVED_CARD,
    scard.SCARD_E_NOT_TRANSACTED,
    scard.SCARD_W_RESET_CARD,
    scard.SCARD_W_UNPOWERED_CARD,
    scard.SCARD_W_UNRESPONSIVE_CARD,
    scard.SCARD_F_COMM_ERROR,
    scard.SCARD_E_NO_SMARTCARD,
}
# What an unplugged reader, or a pcscd that stopped or restarted, answers (test-stack: a reader pcscd no
# longer lists gives SCARD_E_UNKNOWN_READER; old contexts and handles after a restart give NO_SERVICE or
# INVALID_HANDLE).
_READER_LOST = {
    scard.SCARD_E_NO_SERVICE,
    scard.SCARD_E_SERVICE_STOPPED,
    scard.SCARD_E_READER_UNAVAILABLE,
    scard.SCARD_E_UNKNOWN_READER,
    scard.SCARD_E_INVALID_HANDLE,
}
# A waiting client sees a reader that disappears mid-wait in its state flags, with SCARD_S_SUCCESS.
_STATE_LOST = scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE


def card_in(state: int) -> bool:
    """Whether a reader state says a card is present; ReaderLostError when the reader is gone."""
    if state & _STATE_LOST:
        raise ReaderLostError()
    return bool(state & scard.SCARD_STATE_PRESENT)


def select_reader(names: list[str], wanted: str | int | None = None) -> str:
    """The reader to use among `names` (pcscd's order): the configured name, a unique part of a name, or a
    number (index); with nothing configured, the only reader. Several readers and none configured, or a
    configuration matching none, raise ReaderChoiceError with the list; no reader at all NoReaderError."""
    if not names:
        raise NoReaderError()
    if wanted is None or wanted == "":
        if len(names) == 1:
            return names[0]
        raise ReaderChoiceError(names)
    if isinstance(wanted, int) or wanted.isdigit():
        index = int(wanted)
        if 0 <= index < len(names):
            return names[index]
        raise ReaderChoiceError(names, str(wanted))
    if wanted in names:
        return wanted
    matches = [name for name in names if wanted.casefold() in name.casefold()]
    if len(matches) == 1:
        return matches[0]
    raise ReaderChoiceError(names, wanted)


def production_mode() -> bool:
    """Production refuses virtual readers (YOSHIN_PRODUCTION=1)."""
    return os.environ.get("YOSHIN_PRODUCTION") == "1"


@dataclass(frozen=True, slots=True)
class ReaderInfo:
    name: str
    card_present: bool


class CardTransport(Protocol):
    """One exclusive session with one card. `close()` resets the card (no verified state survives)."""

    reader: str
    apdus_sent: int  # counted for the benchmarks and the minimal-sequence tests

    def transmit(self, command: Command) -> Response:
        """Send one APDU; CardRemovedError if the card is gone."""
        ...

    def close(self) -> None: ...


class CardChannel:
    """An exclusive PC/SC connection to the card in one reader (a CardTransport)."""

    def __init__(self, context: int, handle: int, protocol: int, reader: str) -> None:
        self._context = context
        self._handle: int | None = handle
        self._protocol = protocol
        self.reader = reader
        self.apdus_sent = 0
        self.on_transmit: Callable[[Command, Response], None] | None = None

    def transmit(self, command: Command) -> Response:
        if self._handle is None:
            raise CardRemovedError()
        self.apdus_sent += 1
        result, raw = scard.SCardTransmit(self._handle, self._protocol, list(command.to_bytes()))
        if result != scard.SCARD_S_SUCCESS:
            log.info("transmit failed on %s: %s (%08X)", self.reader, command, result & 0xFFFFFFFF)
            raise _map_error(result)
        try:
            response = Response.from_bytes(bytes(raw))
        except ValueError:
            raise CardRemovedError() from None  # "card returned no valid response"
        log.debug("%s -> %r", command, response)  # Command's repr masks PIN bytes
        if self.on_transmit is not None:
            self.on_transmit(command, response)
        return response

    def close(self) -> None:
        """Disconnect with a card reset: the card forgets every verified PIN."""
        handle, self._handle = self._handle, None
        if handle is not None:
            scard.SCardDisconnect(handle, scard.SCARD_RESET_CARD)


class PcscContext:
    """One PC/SC context. `cancel()` may be called from another thread to stop a wait."""

    def __init__(self) -> None:
        result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if result != scard.SCARD_S_SUCCESS:
            raise NoReaderError("the PC/SC service is not running")
        self._context = context

    def release(self) -> None:
        if self._context is not None:
            scard.SCardReleaseContext(self._context)
            self._context = None

    def __enter__(self) -> PcscContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def reader_names(self) -> list[str]:
        result, names = scard.SCardListReaders(self._context, [])
        if result == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if result != scard.SCARD_S_SUCCESS:
            raise _map_error(result)
        return list(names)

    def list_readers(self) -> list[ReaderInfo]:
        names = self.reader_names()
        if not names:
            return []
        result, states = scard.SCardGetStatusChange(
            self._context, 0, [(name, scard.SCARD_STATE_UNAWARE) for name in names]
        )
        if result != scard.SCARD_S_SUCCESS:
            raise _map_error(result)
        # A reader unplugged between the two calls is left out rather than reported.
        return [ReaderInfo(name, card_in(state)) for name, state, _ in states if not state & _STATE_LOST]

    def resolve_reader(self, wanted: str | int | None = None) -> str:
        """`select_reader` over the readers pcscd lists now (the kiosk's configured reader)."""
        return select_reader(self.reader_names(), wanted)

    def choose_reader(self, name: str | int | None = None) -> str:
        """The configured reader (name, part of a name or number), else the one reader holding a card."""
        readers = self.list_readers()
        if not readers:
            raise NoReaderError()
        if name is not None:
            return select_reader([reader.name for reader in readers], name)
        holding = [reader.name for reader in readers if reader.card_present]
        if len(holding) > 1:
            raise ReaderChoiceError(holding)
        if holding:
            return holding[0]
        raise NoCardError()

    def wait_for_card(self, reader: str, timeout: float, after_event: int | None = None) -> bool:
        """True once a card is present in `reader`; False on timeout or cancel(). ReaderLostError if the
        reader is unplugged (or pcscd stops) before or while waiting."""
        return self._wait(reader, timeout, present=True, after_event=after_event)

    def wait_for_removal(self, reader: str, timeout: float, after_event: int | None = None) -> bool:
        """True once `reader` is empty; False on timeout or cancel().

        With `after_event` (from `event_count`), only a removal pcscd registered after that event counts:
        right after a card is pulled mid-command pcscd shows the slot empty before its poll registers the
        removal, and a card put back inside that window would go unseen.
        """
        return self._wait(reader, timeout, present=False, after_event=after_event)

    def event_count(self, reader: str) -> int:
        """pcscd's event counter for `reader` (upper 16 bits of its state), growing on insert/remove."""
        return self._state(reader, scard.SCARD_STATE_UNAWARE, 0)[0] >> 16

    def cancel(self) -> None:
        if self._context is not None:
            scard.SCardCancel(self._context)

    def _state(self, reader: str, known: int, timeout_ms: int) -> tuple[int, int]:
        result, states = scard.SCardGetStatusChange(self._context, timeout_ms, [(reader, known)])
        if result in (scard.SCARD_E_TIMEOUT, scard.SCARD_E_CANCELLED):
            return known, result
        if result != scard.SCARD_S_SUCCESS:
            raise _map_error(result)
        return states[0][1], result

    def _wait(self, reader: str, timeout: float, present: bool, after_event: int | None) -> bool:
        deadline = time.monotonic() + timeout
        known = scard.SCARD_STATE_UNAWARE
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            state, result = self._state(reader, known, remaining_ms if known else 0)
            if result != scard.SCARD_S_SUCCESS:
                return False
            fresh = after_event is None or state >> 16 > after_event
            if card_in(state) == present and fresh:
                return True
            if remaining_ms == 0 and known:
                return False
            # Wait for the next change: pcscd answers when the state differs from the one we pass.
            known = state & ~scard.SCARD_STATE_CHANGED

    def connect(self, reader: str, production: bool | None = None) -> CardChannel:
        production = production_mode() if production is None else production
        if production and VIRTUAL_READER_MARK in reader:
            raise VirtualReaderRefused(reader)
        result, handle, protocol = scard.SCardConnect(
            self._context,
            reader,
            scard.SCARD_SHARE_EXCLUSIVE,
            scard.SCARD_PROTOCOL_T1 | scard.SCARD_PROTOCOL_T0,
        )
        if result in (scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_REMOVED_CARD):
            raise NoCardError()
        if result != scard.SCARD_S_SUCCESS:
            raise _map_error(result)
        return CardChannel(self._context, handle, protocol, reader)


def _map_error(result: int) -> CardError:
    if result in _REMOVED:
        return CardRemovedError()
    if result == scard.SCARD_E_SHARING_VIOLATION:
        return ReaderBusyError()
    if result in _READER_LOST:
        return ReaderLostError(f"{result & 0xFFFFFFFF:08X}")
    if result == scard.SCARD_E_NO_READERS_AVAILABLE:
        return NoReaderError()
    return ReaderError(result & 0xFFFFFFFF)
