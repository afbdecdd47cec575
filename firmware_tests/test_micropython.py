"""The shared firmware logic tests under the real MicroPython unix interpreter, at an RP2040-like heap."""

from __future__ import annotations

import re

import pytest
from fwsupport import FIRMWARE, needs_micropython, run_micropython

pytestmark = [needs_micropython, pytest.mark.micropython]


def test_logic_suite_passes_under_micropython_at_rp2040_heap() -> None:
    r = run_micropython(["firmware_tests/mp_runner.py", "test_fw_logic"], heapsize="160k")
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"unittest: ran (\d+), OK", r.stdout)
    defined = len(
        re.findall(r"^def test_", (FIRMWARE.parent.parent / "firmware_tests" / "test_fw_logic.py").read_text(), re.M)
    )
    assert m and int(m.group(1)) == defined >= 26, r.stdout  # every test function ran
    assert " FAIL" not in r.stdout and " ERROR" not in r.stdout


def test_runner_exits_non_zero_on_failure(tmp_path) -> None:
    (tmp_path / "mp_failing.py").write_text(
        "def test_fails():\n    assert 1 == 2\n\n\ndef test_errors():\n    raise KeyError(1)\n\n\n"
        "def test_passes():\n    pass\n"
    )
    r = run_micropython(["firmware_tests/mp_runner.py", "mp_failing"], extra_path=str(tmp_path))
    assert r.returncode == 1 and "FAILED (failures=1, errors=1)" in r.stdout and "ran 3, FAILED" in r.stdout


def test_the_vendored_micropython_lib_modules_are_the_ones_loaded(tmp_path) -> None:
    (tmp_path / "mp_which.py").write_text(
        "import logging\nimport unittest\nprint(logging.__file__, unittest.__file__)\n"
    )
    r = run_micropython([str(tmp_path / "mp_which.py")])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [
        str(FIRMWARE / "lib" / "logging.py"),
        str(FIRMWARE / "lib" / "unittest" / "__init__.py"),
    ]


def test_too_small_heap_fails_loudly() -> None:
    # The memory budget has teeth: far below the RP2040's heap the same suite cannot run.
    r = run_micropython(["firmware_tests/mp_runner.py", "test_fw_logic"], heapsize="24k")
    assert r.returncode != 0 and "MemoryError" in r.stdout + r.stderr
