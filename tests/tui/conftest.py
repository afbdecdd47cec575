"""Kiosk fixtures: the real kiosk services on an enrolled appliance, a real host, a card in pcscd."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from yoshin.smartcard.transport import PcscContext
from yoshin.tools.card_emulator import CardImage, CardState, Emulator
from yoshin.tools.personas import persona
from yoshin.tools.test_pki import TestPki
from yoshin.tools.virtual_reader import VirtualReader
from yoshin.tui.app import KioskApp
from yoshin.tui.services import KioskServices


@pytest.fixture
def kiosk(make_device, virtual_reader: VirtualReader, clock) -> Callable[..., KioskApp]:
    def build(idle_timeout: float = 90.0) -> KioskApp:
        device = make_device()
        services = KioskServices(device.appliance, virtual_reader.slot_name(0), clock)
        return KioskApp(services, idle_timeout=idle_timeout, clock=clock)

    return build


@pytest.fixture
def card(virtual_reader: VirtualReader, test_pki: TestPki):
    inserted: list[tuple[Emulator, int]] = []
    slot = virtual_reader.slot_name(0)

    def insert(persona_id: str = "elderly") -> Emulator:
        emulator = Emulator(CardState(CardImage.for_persona(persona(persona_id), test_pki)), virtual_reader.port(0))
        emulator.insert()
        with PcscContext() as context:
            assert context.wait_for_card(slot, 10)
            inserted.append((emulator, context.event_count(slot)))
        return emulator

    def remove(emulator: Emulator) -> None:
        with PcscContext() as context:
            event = context.event_count(slot)
            emulator.remove()
            assert context.wait_for_removal(slot, 10, after_event=event)

    insert.remove = remove  # type: ignore[attr-defined]
    yield insert
    with PcscContext() as context:
        for emulator, event in inserted:
            if emulator.inserted:
                emulator.remove()
                context.wait_for_removal(slot, 10, after_event=event)
