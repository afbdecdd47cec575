"""The CDC-ACM scanner driver over a socat pty pair: scans, bad reads, unplug and reconnect."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import serial

from yoshin.device.gs1 import GS, ScanError
from yoshin.device.scanner import SCANNER_DISCONNECTED, Scanner
from yoshin.domain.codes import gtin_check_digit

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
BODY = "0453010000012"
GTIN = BODY + str(gtin_check_digit(BODY))
GOOD = ("]d201" + GTIN + "17271200" + "10LOT4X7" + GS + "21SN0001\r\n").encode()


class Cable:
    """A pty pair: the driver opens `port`, the test types scans into `feed`."""

    def __init__(self, tmp: Path) -> None:
        self.port, self.feed_path = tmp / "ttyScanner", tmp / "feed"
        self.proc: subprocess.Popen | None = None

    def plug(self) -> None:
        self.proc = subprocess.Popen(
            ["socat", "-d", "-d", f"pty,raw,echo=0,link={self.port}", f"pty,raw,echo=0,link={self.feed_path}"],
            stderr=subprocess.PIPE,
        )
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if b"starting data transfer loop" in line:
                break
        self.feed = serial.Serial(str(self.feed_path), timeout=1)

    def unplug(self) -> None:
        self.feed.close()
        if self.proc:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def cable(tmp_path: Path):
    c = Cable(tmp_path)
    c.plug()
    yield c
    if c.proc:
        c.unplug()


def test_scan_split_across_writes(cable: Cable) -> None:
    sc = Scanner(port=str(cable.port))
    assert sc.connect()
    cable.feed.write(GOOD[:10])
    cable.feed.flush()
    cable.feed.write(GOOD[10:] + GOOD)
    first, second = sc.read(5), sc.read(5)
    assert first == second and first is not None and first.lot == "LOT4X7" and first.serial == "SN0001"
    assert sc.status.connected
    assert sc.read(0.2) is None  # nothing more: a timeout, not an error
    sc.close()


def test_bad_read_raises_scan_error_and_next_scan_works(cable: Cable) -> None:
    sc = Scanner(port=str(cable.port))
    assert sc.connect()
    cable.feed.write(GOOD.replace(GS.encode(), b"") + GOOD)
    with pytest.raises(ScanError):
        sc.read(5)
    pack = sc.read(5)
    assert pack is not None and pack.lot == "LOT4X7"
    sc.close()


def test_exclusive_open(cable: Cable) -> None:
    sc = Scanner(port=str(cable.port))
    assert sc.connect()
    cable.feed.write(GOOD)
    assert sc.read(5) is not None
    with pytest.raises(serial.SerialException):
        serial.Serial(str(cable.port), exclusive=True)
    sc.close()


def test_unplug_then_reconnect(cable: Cable) -> None:
    sc = Scanner(port=str(cable.port), backoff=(0.05, 0.2))
    assert sc.connect()
    cable.feed.write(GOOD)
    assert sc.read(5) is not None
    cable.unplug()
    deadline = time.monotonic() + 5
    while sc.status.connected and time.monotonic() < deadline:
        assert sc.read(0.1) is None
    assert sc.status.message == SCANNER_DISCONNECTED and not sc.status.connected
    cable.plug()
    deadline = time.monotonic() + 10
    while not sc.connect() and time.monotonic() < deadline:
        sc.read(0.05)  # lets the backoff elapse
    cable.feed.write(GOOD)
    pack = sc.read(5)
    assert pack is not None and sc.status.connected
    sc.close()
