"""Finding the I/O board among serial ports by VID:PID and USB serial number."""

from __future__ import annotations

from types import SimpleNamespace

import serial.tools.list_ports

from yoshin.device.ioboard import find_port


def test_find_port_by_vid_pid_and_serial(monkeypatch) -> None:
    ports = [
        SimpleNamespace(device="/dev/ttyACM0", vid=0x0C2E, pid=0x0B61, serial_number="SCN1"),  # a scanner
        SimpleNamespace(device="/dev/ttyACM1", vid=0x2E8A, pid=0x0005, serial_number="E661385283AAAAAA"),
        SimpleNamespace(device="/dev/ttyACM2", vid=0x2E8A, pid=0x0005, serial_number="E6613852832A112C"),
    ]
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda: ports)
    assert find_port("E6613852832A112C") == "/dev/ttyACM2"
    assert find_port(None) == "/dev/ttyACM1"
    assert find_port("NOPE") is None
