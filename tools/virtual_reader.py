"""An isolated pcscd with a virtual reader (vsmartcard vpcd), for tests and the demo.

Each VirtualReader is a world of its own, so `make demo` and `make test` (or two test runs) can run side
by side: its pcscd runs in a private mount namespace where /run/pcscd (pcscd's fixed socket directory)
is a folder of the work directory, and its vpcd slots are on a free pair of loopback ports (the reader
name stays fixed, so screens and snapshots are stable). It never attaches to another pcscd and never
stops one that is not its own; a real reader and the system's pcscd are untouched. The namespace needs
root (CI runs as root); unit tests that need no daemon use the in-process card transport instead.

Clients find the socket through PCSCLITE_CSOCK_NAME, which libpcsclite reads once, at its first call:
`start` sets it in this process's environment, and child processes inherit it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
SOCKET_ENV = "PCSCLITE_CSOCK_NAME"
DEFAULT_NAME = "Test Virtual PCD"  # "Virtual PCD" is what production mode refuses (smartcard.transport)


class VirtualReaderError(RuntimeError):
    pass


def free_port_pair() -> int:
    """A port p with p and p+1 free on loopback (vpcd's two slots), from the kernel's ephemeral range."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise VirtualReaderError("no free pair of loopback ports for the virtual reader")


class VirtualReader:
    """`with VirtualReader(workdir) as reader:` gives a running pcscd with slots reader.slot_name(0|1)."""

    def __init__(self, workdir: Path, channel: int | None = None, name: str | None = None) -> None:
        self.workdir = workdir.resolve()  # pcscd refuses a relative --config directory
        self.channel = channel if channel is not None else free_port_pair()
        self.name = name or DEFAULT_NAME
        self.run_dir = self.workdir / "run"  # mounted on /run/pcscd inside pcscd's namespace
        self.socket_path = self.run_dir / "pcscd.comm"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "pcscd.log"

    def slot_name(self, slot: int) -> str:
        return f"{self.name} 00 {slot:02d}"

    def port(self, slot: int) -> int:
        return self.channel + slot

    def environment(self) -> dict[str, str]:
        """What a child process needs in its environment to talk to this pcscd."""
        return {SOCKET_ENV: str(self.socket_path)}

    def start(self, timeout: float = 20.0) -> VirtualReader:
        pcscd = shutil.which("pcscd") or "/usr/sbin/pcscd"
        if not Path(pcscd).exists() or not VPCD_DRIVER.exists():
            raise VirtualReaderError("pcscd or vsmartcard-vpcd is not installed (run `make setup`)")
        config = self.workdir / "reader.conf.d"
        config.mkdir(parents=True, exist_ok=True)
        (config / "yoshin-vpcd").write_text(
            f'FRIENDLYNAME "{self.name}"\n'
            f"DEVICENAME   /dev/null:0x{self.channel:04X}\n"
            f"LIBPATH      {VPCD_DRIVER}\n"
            f"CHANNELID    0x{self.channel:04X}\n"
        )
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            raise VirtualReaderError("the isolated pcscd needs root and util-linux's unshare (CI runs as root)")
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True)
        Path("/run/pcscd").mkdir(parents=True, exist_ok=True)  # the mount point; the system pcscd's own folder
        os.environ[SOCKET_ENV] = str(self.socket_path)
        log = self.log_path.open("wb")
        script = 'mount --bind "$1" /run/pcscd && exec "$2" --foreground --config "$3" --info'
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", *self._arguments(pcscd)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **self.environment()},
        )
        log.close()
        self._wait_for_reader(timeout)
        return self

    def _arguments(self, pcscd: str) -> list[str]:
        return [str(self.run_dir), pcscd, str(self.workdir / "reader.conf.d")]

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

    @contextlib.contextmanager
    def unplugged(self) -> Iterator[None]:
        """The readers gone for the block, back after it (errors included) on the same socket and ports.

        vpcd's readers are static in reader.conf and this pcscd does not re-read it at run time, so the
        daemon itself stops: clients get SCARD_E_NO_SERVICE, then SCARD_E_UNKNOWN_READER-like answers
        from a fresh context once it is back without the card. An emulated card that was inserted is
        disconnected by the stop and must be inserted again, like a card on a reader plugged back in.
        """
        self.stop()
        try:
            yield
        finally:
            if self.process is None:
                self.start()

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
