"""Card fixtures: the emulator inserted into a slot of the real pcscd, waited for without sleeping."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from yoshin.smartcard.transport import PcscContext
from yoshin.tools.card_emulator import CardImage, CardState, Emulator
from yoshin.tools.personas import persona
from yoshin.tools.test_pki import TestPki
from yoshin.tools.virtual_reader import VirtualReader

InsertCard = Callable[..., Emulator]


@pytest.fixture
def insert_card(virtual_reader: VirtualReader, test_pki: TestPki) -> Iterator[InsertCard]:
    """insert_card("adult", slot=0, kind="mynumber") -> a fresh card, present in pcscd when it returns."""
    inserted: list[tuple[Emulator, str, int]] = []

    def insert(persona_id: str = "adult", slot: int = 0, kind: str = "mynumber") -> Emulator:
        image = CardImage.for_persona(persona(persona_id), test_pki, kind)
        emulator = Emulator(CardState(image), virtual_reader.port(slot))
        emulator.insert()
        name = virtual_reader.slot_name(slot)
        with PcscContext() as context:
            assert context.wait_for_card(name, timeout=10), f"pcscd did not see the card in {name}"
            inserted.append((emulator, name, context.event_count(name)))
        return emulator

    yield insert
    with PcscContext() as context:
        for emulator, name, event in inserted:
            now = context.event_count(name)
            if emulator.inserted:  # still in: take it out and wait for pcscd to register that removal
                event = now
            elif now < event:  # pcscd was restarted during the test: its event counter started again
                event = now - 1
            emulator.remove()
            assert context.wait_for_removal(name, timeout=10, after_event=event)
