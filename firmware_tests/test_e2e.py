"""End to end: the unmodified firmware main loop under MicroPython behind a socat pty pair, driven by
the real pyserial driver (yoshin.device.ioboard). Waits are on frames/status with deadlines."""

from __future__ import annotations

import app as firmware_app  # device/firmware/app.py (path set up by conftest)
import pytest
from fwsupport import Simulator, needs_micropython, needs_socat

from yoshin.device import ioboard
from yoshin.device.ioboard import DISCONNECTED, IOBoard, IOBoardError

pytestmark = [needs_micropython, needs_socat, pytest.mark.micropython]


@pytest.fixture
def board(simulator: Simulator):
    b = IOBoard(port=str(simulator.link), backoff=(0.1, 0.5)).start()
    assert b.wait_for(lambda x: x.status.connected, 10), b.status
    yield b
    b.close()


def test_handshake_reports_version_and_identity(board: IOBoard) -> None:
    st = board.status
    assert st.connected and st.firmware == firmware_app.FW_VERSION and st.uid == "e6613852832a112c"
    s = board.board_status()
    assert s["proto"] == ioboard.PROTO_VERSION and s["frame_errors"] == 0 and s["led"] == "idle"
    # Heap stays inside the RP2040-like budget the simulator runs with (-X heapsize=160k).
    assert 0 < s["heap_peak"] < 96 * 1024  # live heap (after gc) well inside the budget


def test_requests_commands_and_ids(board: IOBoard) -> None:
    board.led("busy")
    board.beep("remove_card")
    s = board.board_status()
    assert (s["led"], s["beep"]) == ("busy", "remove_card")
    board.beep("off")
    with pytest.raises(IOBoardError) as e:
        board.request(0x04, {"pattern": "disco"})
    assert e.value.code == "bad_pattern"
    # Many requests back to back: every reply matched to its own id.
    for _ in range(50):
        assert board.ping() == {}


def test_thermometer_reading_and_refusal(board: IOBoard, simulator: Simulator) -> None:
    simulator.set("temp", "37.9")
    assert abs(board.temperature() - 37.9) <= 0.02
    simulator.set("temp", "51.0")
    with pytest.raises(IOBoardError) as e:
        board.temperature()
    assert e.value.code == "implausible"
    assert "Implausible" in e.value.message.en and "体温" in e.value.message.ja
    simulator.set("no_sensor", "")
    with pytest.raises(IOBoardError) as e:
        board.temperature()
    assert e.value.code == "sensor_absent"


def test_tamper_event_is_pushed_and_latched(board: IOBoard, simulator: Simulator) -> None:
    simulator.set("tamper", "1")
    assert board.wait_for(lambda b: any(ev.body.get("event") == "tamper" for ev in b.events), 5)
    ev = next(ev for ev in board.events if ev.body.get("event") == "tamper")
    assert ev.body["open"] is True and ev.seq >= 1
    assert board.status.tamper
    with pytest.raises(IOBoardError) as e:
        board.clear_tamper()
    assert e.value.code == "tamper_open"
    simulator.set("tamper", None)
    assert board.wait_for(lambda b: any(ev.body == {"event": "tamper", "open": False} for ev in b.events), 5)
    board.clear_tamper()
    assert board.board_status()["tamper"] is False


def test_unplug_then_reconnect(board: IOBoard, simulator: Simulator) -> None:
    simulator.unplug()
    assert board.wait_for(lambda b: not b.status.connected, 10)
    assert board.status.message == DISCONNECTED
    assert board.status.message.en == "I/O board disconnected"
    with pytest.raises(IOBoardError) as e:
        board.ping()
    assert "disconnected" in str(e.value)
    # Tamper while unplugged: the new boot reports it in the handshake.
    simulator.set("tamper", "1")
    simulator.start()
    assert board.wait_for(lambda b: b.status.connected, 15), board.status
    assert board.status.reconnects == 1
    assert board.wait_for(lambda b: any(ev.body.get("event") == "tamper" for ev in b.events), 5)
    assert board.temperature() > 30


def test_garbage_on_the_line_is_skipped(board: IOBoard) -> None:
    assert board._ser is not None
    with board._write_lock:
        board._ser.write(bytes(range(1, 256)) * 3 + b"\x00\x02\x00")
    assert board.ping() == {}
    assert board.board_status()["frame_errors"] >= 2


def test_maint_reboots_into_maintenance(board: IOBoard, simulator: Simulator) -> None:
    board.maintenance()
    # The board sets its flag and resets; the next boot stays in the REPL with Ctrl-C enabled.
    assert board.wait_for(lambda b: (simulator.ctl / "maint_entered").exists(), 10)
    assert not (simulator.ctl / "maint.flag").exists()


def test_port_is_opened_exclusively(board: IOBoard, simulator: Simulator) -> None:
    import serial

    with pytest.raises(serial.SerialException):
        serial.Serial(str(simulator.link), exclusive=True)
    assert board.ping() == {}


def test_incompatible_firmware_is_reported_not_raised(simulator: Simulator, monkeypatch) -> None:
    monkeypatch.setattr(ioboard, "PROTO_VERSION", ioboard.PROTO_VERSION + 1)
    b = IOBoard(port=str(simulator.link), backoff=(0.1, 0.5)).start()
    try:
        assert b.wait_for(lambda x: x.status.message == ioboard.INCOMPATIBLE, 10), b.status
        assert not b.status.connected
    finally:
        b.close()
