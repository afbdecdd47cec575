"""GS1 barcode scanner in USB CDC-ACM mode (pyserial): one scan per CR/LF-terminated line.

Same robustness as the I/O board driver: exclusive open, found by VID:PID (+ serial number) or a
fixed path, an unplug closes the port and later reads reopen it with backoff; the kiosk reads a
bilingual `status`. Scans are parsed and cross-checked by yoshin.device.gs1.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import serial
import serial.tools.list_ports

from yoshin.device.gs1 import ScanError, VaccinePack, parse_scan
from yoshin.domain.i18n import Bilingual, BilingualError

SCANNER_DISCONNECTED = Bilingual("バーコードリーダーが接続されていません", "Barcode scanner disconnected")
SCANNER_CONNECTED = Bilingual("バーコードリーダー接続中", "Barcode scanner connected")
MAX_LINE = 256


class ScannerError(BilingualError):
    """The scanner is unavailable."""


@dataclass(frozen=True)
class ScannerStatus:
    connected: bool
    message: Bilingual
    detail: str = ""


class Scanner:
    def __init__(
        self,
        port: str | None = None,
        vid: int | None = None,
        pid: int | None = None,
        serial_number: str | None = None,
        backoff: tuple[float, float] = (0.5, 5.0),
        clock=time.monotonic,
    ) -> None:
        self.port, self.vid, self.pid, self.serial_number = port, vid, pid, serial_number
        self.backoff = backoff
        self.clock = clock
        self._ser: serial.Serial | None = None
        self._buf = bytearray()
        self._delay = backoff[0]
        self._next_try = 0.0
        self.status = ScannerStatus(False, SCANNER_DISCONNECTED)

    def _find(self) -> str | None:
        if self.port:
            return self.port
        for p in serial.tools.list_ports.comports():
            if p.vid == self.vid and p.pid == self.pid and self.serial_number in (None, p.serial_number):
                return p.device
        return None

    def _ensure_open(self) -> serial.Serial | None:
        if self._ser is not None:
            return self._ser
        if self.clock() < self._next_try:
            return None
        port = self._find()
        try:
            if port is None:
                raise serial.SerialException("scanner not found")
            self._ser = serial.Serial(port, 9600, timeout=0.05, exclusive=True)
        except (serial.SerialException, OSError) as e:
            self._fail(str(e))
            return None
        self._buf.clear()
        self._delay = self.backoff[0]
        self.status = ScannerStatus(True, SCANNER_CONNECTED)
        return self._ser

    def _fail(self, detail: str) -> None:
        if self._ser is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._ser.close()
        self._ser = None
        self._next_try = self.clock() + self._delay
        self._delay = min(self._delay * 2, self.backoff[1])
        self.status = ScannerStatus(False, SCANNER_DISCONNECTED, detail)

    def connect(self) -> bool:
        """Open the port now (pyserial flushes input on open, so open before scans arrive)."""
        return self._ensure_open() is not None

    def read_line(self, timeout: float) -> bytes | None:
        """One raw scan line (without CR/LF), or None when nothing arrived in time."""
        deadline = self.clock() + timeout
        while True:
            nl = next((i for i, b in enumerate(self._buf) if b in (0x0D, 0x0A)), -1)
            if nl >= 0:
                line, rest = bytes(self._buf[:nl]), self._buf[nl + 1 :]
                self._buf = bytearray(rest)
                if line:
                    return line
                continue
            if len(self._buf) > MAX_LINE:
                self._buf.clear()  # no terminator in sight: garbage, drop it
            if self.clock() >= deadline:
                return None
            ser = self._ensure_open()
            if ser is None:
                time.sleep(min(0.05, max(0.0, deadline - self.clock())))  # waiting out the backoff
                continue
            try:
                self._buf += ser.read(max(1, ser.in_waiting))
            except (serial.SerialException, OSError) as e:
                self._fail(str(e))

    def read(self, timeout: float) -> VaccinePack | None:
        """The next scan as a checked VaccinePack; raises ScanError for a bad read."""
        line = self.read_line(timeout)
        return None if line is None else parse_scan(line)

    def close(self) -> None:
        if self._ser is not None:
            self._ser.close()
            self._ser = None


__all__ = ["ScanError", "Scanner", "ScannerError", "ScannerStatus", "VaccinePack"]
