"""The CDC-ACM scanner driver over a socat pty pair: scans, bad reads, unplug and reconnect."""

from __future__ import annotations

import shutil
import time

import pytest
import serial

from yoshin.device.gs1 import GS, ScanError
from yoshin.device.scanner import SCANNER_DISCONNECTED, Scanner
from yoshin.domain.codes import gtin_check_digit

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
BODY = "0453010000012"
GTIN = BODY + str(gtin_check_digit(BODY))
GOOD = ("]d201" + GTIN + "17271200" + "10LOT4X7" + GS + "21SN0001\r\n").encode()


def test_scan_split_across_writes(cable) -> None:
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


def test_bad_read_raises_scan_error_and_next_scan_works(cable) -> None:
    sc = Scanner(port=str(cable.port))
    assert sc.connect()
    cable.feed.write(GOOD.replace(GS.encode(), b"") + GOOD)
    with pytest.raises(ScanError):
        sc.read(5)
    pack = sc.read(5)
    assert pack is not None and pack.lot == "LOT4X7"
    sc.close()


def test_exclusive_open(cable) -> None:
    sc = Scanner(port=str(cable.port))
    assert sc.connect()
    cable.feed.write(GOOD)
    assert sc.read(5) is not None
    with pytest.raises(serial.SerialException):
        serial.Serial(str(cable.port), exclusive=True)
    sc.close()


def test_unplug_then_reconnect(cable) -> None:
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
