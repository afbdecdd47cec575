"""The shared firmware logic tests under the real MicroPython unix interpreter, at an RP2040-like heap."""

from __future__ import annotations

import re

from fwsupport import needs_micropython, run_micropython

pytestmark = [needs_micropython]


def test_logic_suite_passes_under_micropython_at_rp2040_heap() -> None:
    r = run_micropython(["firmware_tests/mp_runner.py", "test_fw_logic"], heapsize="160k")
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"passed (\d+) failed 0", r.stdout)
    assert m and int(m.group(1)) >= 20, r.stdout


def test_runner_exits_non_zero_on_failure(tmp_path) -> None:
    (tmp_path / "mp_failing.py").write_text("def test_fails():\n    assert 1 == 2\n")
    r = run_micropython(["firmware_tests/mp_runner.py", "mp_failing"], extra_path=str(tmp_path))
    assert r.returncode == 1 and "failed 1" in r.stdout


def test_too_small_heap_fails_loudly() -> None:
    # The memory budget has teeth: far below the RP2040's heap the same suite cannot run.
    r = run_micropython(["firmware_tests/mp_runner.py", "test_fw_logic"], heapsize="24k")
    assert r.returncode != 0 and "MemoryError" in r.stdout + r.stderr
