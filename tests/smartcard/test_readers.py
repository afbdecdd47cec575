"""Readers as they come: two readers attached, and a reader unplugged and plugged back during a visit.

The choice rules are unit-tested as pure functions; the rest runs through the run's pcscd, whose vpcd
offers two readers ("... 00 00" and "... 00 01"), exactly the situation of a kiosk with two readers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smartcard import scard
from yoshin.device.appliance import Appliance
from yoshin.smartcard.card import Pin, open_card
from yoshin.smartcard.errors import NoReaderError, ReaderChoiceError, ReaderLostError
from yoshin.smartcard.transport import PcscContext, card_in, select_reader
from yoshin.tools.virtual_reader import VirtualReader
from yoshin.tui.services import ApplianceServices

SLOT0 = "Test Virtual PCD 00 00"
SLOT1 = "Test Virtual PCD 00 01"
NAMES = ["ACS ACR39U ICC Reader 00 00", "Sony FeliCa Port/PaSoRi 4.0 (RC-S300/P) 01 00"]
CARD = str(Path(sys.executable).parent / "yoshin-card")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("wanted", "chosen"),
    [(0, NAMES[0]), ("1", NAMES[1]), (NAMES[0], NAMES[0]), ("rc-s300", NAMES[1]), ("ACR39U", NAMES[0])],
)
def test_a_reader_is_chosen_by_name_part_or_number(wanted: str | int, chosen: str) -> None:
    assert select_reader(NAMES, wanted) == chosen


@pytest.mark.unit
def test_without_a_choice_only_a_single_reader_is_taken() -> None:
    assert select_reader(NAMES[:1]) == NAMES[0]
    with pytest.raises(ReaderChoiceError) as several:
        select_reader(NAMES)
    assert "複数" in several.value.message.ja and "Configure which one" in several.value.message.en
    assert "0: ACS ACR39U" in several.value.message.en and "1: Sony" in several.value.message.ja
    for wrong in ("2", "Gemalto", " 00"):  # out of range, no match, a part of both names
        with pytest.raises(ReaderChoiceError) as error:
            select_reader(NAMES, wrong)
        assert wrong in error.value.message.en and "見つかりません" in error.value.message.ja
    with pytest.raises(NoReaderError):
        select_reader([])


@pytest.mark.unit
def test_a_reader_state_of_an_unplugged_reader_is_reported_not_taken_for_an_empty_slot() -> None:
    # A client waiting on a reader that is unplugged gets SCARD_STATE_UNKNOWN (|CHANGED) with success:
    # that must not read as "the card was removed".
    assert card_in(scard.SCARD_STATE_PRESENT | scard.SCARD_STATE_CHANGED)
    assert not card_in(scard.SCARD_STATE_EMPTY)
    for gone in (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_CHANGED, scard.SCARD_STATE_UNAVAILABLE):
        with pytest.raises(ReaderLostError) as error:
            card_in(gone)
        assert "接続が切れました" in error.value.message.ja and "disconnected" in error.value.message.en


@pytest.mark.pcsc
def test_two_readers_need_a_configured_one(virtual_reader: VirtualReader, insert_card, tmp_path: Path) -> None:
    insert_card("adult", slot=1)
    with PcscContext() as context:
        with pytest.raises(ReaderChoiceError) as error:
            context.resolve_reader()
        assert error.value.names == [SLOT0, SLOT1]
        assert context.resolve_reader("1") == context.resolve_reader("00 01") == context.resolve_reader(SLOT1) == SLOT1
        assert context.choose_reader() == SLOT1  # the CLI's default: the one reader holding a card
    services = ApplianceServices(Appliance(tmp_path))
    assert not services.reader_ready()
    with pytest.raises(ReaderChoiceError):
        services.reader_name()
    configured = ApplianceServices(Appliance(tmp_path), reader="1")
    assert configured.reader_ready() and configured.face_tries() == 3


@pytest.mark.pcsc
def test_the_cli_asks_which_reader_when_two_hold_a_card(insert_card) -> None:
    insert_card("adult", slot=0)
    insert_card("elderly", slot=1)
    run = subprocess.run([CARD, "status"], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 3 and "複数" in run.stderr and SLOT1 in run.stderr and "Traceback" not in run.stderr
    chosen = subprocess.run([CARD, "status", "--reader", "1"], capture_output=True, text=True, timeout=60, check=False)
    assert chosen.returncode == 0 and chosen.stdout.startswith(f"{SLOT1}: mynumber")
    listed = subprocess.run([CARD, "readers"], capture_output=True, text=True, timeout=60, check=False)
    assert listed.stdout.splitlines() == [f"0\t{SLOT0}\tcard", f"1\t{SLOT1}\tcard"]


@pytest.mark.pcsc
def test_waiting_on_a_reader_pcscd_no_longer_lists_is_reported(virtual_reader: VirtualReader) -> None:
    # After a hot unplug pcscd drops the reader: a wait on its name gets SCARD_E_UNKNOWN_READER.
    with PcscContext() as context, pytest.raises(ReaderLostError):
        context.wait_for_card("Gone Reader 00 00", timeout=0.5)


@pytest.mark.pcsc
def test_a_reader_unplugged_and_plugged_back_during_a_visit(virtual_reader: VirtualReader, insert_card) -> None:
    emulator = insert_card("adult")
    context = PcscContext()
    try:
        with open_card(SLOT0) as card:
            assert card.pin_tries(Pin.FACE) == 3
            with virtual_reader.unplugged():
                with pytest.raises(ReaderLostError) as lost:
                    card.read_face("1234")  # mid-session: the reader is gone
                assert "disconnected" in lost.value.message.en
                with pytest.raises(NoReaderError):  # every way in says so, none hangs or crashes
                    context.wait_for_removal(SLOT0, timeout=0.5)
                with pytest.raises(NoReaderError):
                    PcscContext()
                with pytest.raises(NoReaderError):
                    ApplianceServices(Appliance(Path("/nonexistent"))).reader_name()
    finally:
        context.release()
    # Plugged back: the same process carries on with fresh contexts, no restart.
    emulator.insert()
    with PcscContext() as fresh:
        assert fresh.wait_for_card(SLOT0, timeout=10)
    with open_card(SLOT0) as card:
        assert card.read_face("1234").basic_info.name == "川崎 花子"
