"""Fixtures for the firmware tests (helpers live in fwsupport.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
# The firmware modules (and the fake machine) import as top-level names for the CPython run of the
# shared logic tests, exactly as MICROPYPATH arranges them under MicroPython.
for _p in (str(_HERE.parent / "device" / "firmware"), str(_HERE / "fakes"), str(_HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from fwsupport import Simulator  # noqa: E402


@pytest.fixture
def simulator(tmp_path: Path):
    sim = Simulator(tmp_path)
    sim.start()
    yield sim
    sim.unplug()
