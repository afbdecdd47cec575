"""The `board` CLI against the firmware simulator (click's CliRunner, real driver, real MicroPython)."""

from __future__ import annotations

import json

import app as firmware_app  # device/firmware/app.py (path set up by conftest)
import pytest
from click.testing import CliRunner
from fwsupport import Simulator, needs_micropython, needs_socat

from yoshin.device.board_cli import board

pytestmark = [needs_micropython, needs_socat, pytest.mark.micropython]


def test_status_temperature_beep(simulator: Simulator) -> None:
    r = CliRunner().invoke(board, ["--port", str(simulator.link), "status"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["fw"] == firmware_app.FW_VERSION
    simulator.set("temp", "36.8")
    r = CliRunner().invoke(board, ["--port", str(simulator.link), "temperature"])
    assert r.exit_code == 0 and r.output.strip() == "36.8"
    simulator.set("temp", "25")
    r = CliRunner().invoke(board, ["--port", str(simulator.link), "temperature"])
    assert r.exit_code == 1 and "Implausible" in r.output and "Traceback" not in r.output
    assert CliRunner().invoke(board, ["--port", str(simulator.link), "beep", "success"]).exit_code == 0


def test_absent_board_is_a_bilingual_message(tmp_path) -> None:
    r = CliRunner().invoke(board, ["--port", str(tmp_path / "nothing"), "--timeout", "0.5", "status"])
    assert r.exit_code == 1
    assert "I/O board disconnected" in r.output and "I/Oボード" in r.output and "Traceback" not in r.output
