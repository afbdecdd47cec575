"""Every component has a console script whose --help works from day one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = ["yoshin-card", "yoshin-host", "yoshin-device", "yoshin-kiosk", "yoshin-provision", "yoshin-demo"]


def _script(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    assert found, f"{name} is not installed"
    return found


@pytest.mark.parametrize("name", SCRIPTS)
def test_help(name: str) -> None:
    result = subprocess.run([_script(name), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert len(result.stdout.splitlines()) >= 3


@pytest.mark.parametrize("name", SCRIPTS)
def test_unknown_option_is_a_usage_error(name: str) -> None:
    result = subprocess.run([_script(name), "--no-such-option"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no-such-option" in result.stderr
