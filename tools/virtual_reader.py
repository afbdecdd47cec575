"""An isolated pcscd with a virtual reader (vsmartcard vpcd), for tests and the demo.

It writes a private reader.conf.d with its own CHANNELID (0x9C40: vpcd slots on 40000/40001, away from
the system default 35963), starts `pcscd --foreground` on it, waits until pcscd lists the reader, and
stops it cleanly. A real reader on the machine is untouched; a pcscd that is not ours is never killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
DEFAULT_CHANNEL = 0x9C40
DEFAULT_NAME = "Test Virtual PCD"


class VirtualReaderError(RuntimeError):
    pass


class VirtualReader:
    """`with VirtualReader(workdir) as reader:` gives a running pcscd with slots reader.slot_name(0|1)."""

    def __init__(self, workdir: Path, channel: int = DEFAULT_CHANNEL, name: str = DEFAULT_NAME) -> None:
        self.workdir = workdir
        self.channel = channel
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        self.attached = False  # True when sharing an isolated pcscd another VirtualReader started
        self.log_path = workdir / "pcscd.log"

    def slot_name(self, slot: int) -> str:
        return f"{self.name} 00 {slot:02d}"

    def port(self, slot: int) -> int:
        return self.channel + slot

    def start(self, timeout: float = 20.0) -> VirtualReader:
        pcscd = shutil.which("pcscd") or "/usr/sbin/pcscd"
        if not Path(pcscd).exists() or not VPCD_DRIVER.exists():
            raise VirtualReaderError("pcscd or vsmartcard-vpcd is not installed (run `make setup`)")
        if _pcscd_running():
            if self.slot_name(0) in _reader_names():
                self.attached = True  # an isolated pcscd with our virtual reader: share it, never stop it
                return self
            raise VirtualReaderError(
                "another pcscd is already running; stop it first (one pcscd per machine: its socket is fixed)"
            )
        config = self.workdir / "reader.conf.d"
        config.mkdir(parents=True, exist_ok=True)
        (config / "yoshin-vpcd").write_text(
            f'FRIENDLYNAME "{self.name}"\n'
            f"DEVICENAME   /dev/null:0x{self.channel:04X}\n"
            f"LIBPATH      {VPCD_DRIVER}\n"
            f"CHANNELID    0x{self.channel:04X}\n"
        )
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [pcscd, "--foreground", "--config", str(config), "--info"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._wait_for_reader(timeout)
        return self

    def _wait_for_reader(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        wanted = self.slot_name(0)
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise VirtualReaderError(f"pcscd exited early; see {self.log_path}")
            if wanted in _reader_names():
                return
            time.sleep(0.05)  # polling pcscd start-up against a deadline; not test synchronisation
        self.stop()
        raise VirtualReaderError(f"pcscd did not list {wanted!r} within {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def __enter__(self) -> VirtualReader:
        return self.start() if self.process is None else self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _reader_names() -> list[str]:
    from smartcard import scard  # imported here: pyscard is needed only when a reader runs

    result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if result != scard.SCARD_S_SUCCESS:
        return []
    try:
        result, readers = scard.SCardListReaders(context, [])
        return list(readers) if result == scard.SCARD_S_SUCCESS else []
    finally:
        scard.SCardReleaseContext(context)


def _pcscd_running() -> bool:
    result = subprocess.run(["pgrep", "-x", "pcscd"], capture_output=True, check=False)
    return result.returncode == 0
