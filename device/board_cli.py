"""`board` and `scanner` click groups (wired into `yoshin-device` by the lead). Thin faces over
yoshin.device.ioboard / scanner; every failure prints a bilingual message, never a traceback."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from yoshin.device.gs1 import ScanError
from yoshin.device.ioboard import BEEP_PATTERNS, LED_PATTERNS, IOBoard, IOBoardError
from yoshin.device.scanner import Scanner
from yoshin.domain.i18n import Bilingual, BilingualError

FIRMWARE_DIR = Path(__file__).resolve().parent / "firmware"
MANIFEST = "manifest.json"  # written to the board next to main.py: what was deployed, and from where


def firmware_files(firmware_dir: Path = FIRMWARE_DIR) -> list[tuple[Path, str]]:
    """Every file a board gets, as (local path, path on the board): the firmware's modules at the root,
    the vendored micropython-lib modules and their licence under /lib (on MicroPython's sys.path)."""
    files = [(path, path.name) for path in sorted(firmware_dir.glob("*.py"))]
    lib = firmware_dir / "lib"
    files += [(path, path.relative_to(firmware_dir).as_posix()) for path in sorted(lib.rglob("*.py"))]
    files += [(lib / "LICENSE", "lib/LICENSE")]
    return files


def _constant(path: Path, name: str) -> str:
    match = re.search(rf"^{name} = \"?([^\"\n]+)\"?$", path.read_text(), re.M)
    if match is None:
        raise ValueError(f"{name} not found in {path}")
    return match.group(1)


def build_manifest(firmware_dir: Path = FIRMWARE_DIR) -> dict[str, object]:
    """The firmware version and protocol, the micropython-lib pin, and the SHA-256 of every deployed file."""
    pin = re.search(r"commit `([0-9a-f]{40})`", (firmware_dir / "lib" / "README.md").read_text())
    return {
        "firmware": _constant(firmware_dir / "app.py", "FW_VERSION"),
        "proto": int(_constant(firmware_dir / "protocol.py", "PROTO_VERSION")),
        "micropython_lib": pin.group(1) if pin else None,
        "files": {dest: hashlib.sha256(src.read_bytes()).hexdigest() for src, dest in firmware_files(firmware_dir)},
    }


def manifest_mismatches(manifest: dict[str, object], root: Path) -> list[str]:
    """Files of a deployed tree (a board's file system copied to `root`) that differ from the manifest."""
    files = manifest["files"]
    assert isinstance(files, dict)
    wrong = []
    for dest, digest in files.items():
        path = root / dest
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            wrong.append(dest)
    return wrong


def _fail(e: BilingualError) -> None:
    click.echo(str(e), err=True)
    sys.exit(1)


def _connect(ctx: click.Context) -> IOBoard:
    port, serial_number = ctx.obj["port"], ctx.obj["serial"]
    b = IOBoard(port=port, serial_number=serial_number, backoff=(0.2, 1.0)).start()
    if not b.wait_for(lambda x: x.status.connected, ctx.obj["timeout"]):
        b.close()
        click.echo(str(b.status.message), err=True)
        sys.exit(1)
    ctx.call_on_close(b.close)
    return b


@click.group()
@click.option("--port", help="Serial device (default: find 2E8A:0005 by serial number)")
@click.option("--serial", "serial_number", help="The board's USB serial number")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait for the board")
@click.pass_context
def board(ctx: click.Context, port: str | None, serial_number: str | None, timeout: float) -> None:
    """The I/O board (LED, buzzer, thermometer, tamper switch)."""
    ctx.obj = {"port": port, "serial": serial_number, "timeout": timeout}


@board.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Firmware version, identity, tamper state and counters as JSON."""
    b = _connect(ctx)
    try:
        click.echo(json.dumps(b.board_status(), sort_keys=True))
    except IOBoardError as e:
        _fail(e)


@board.command()
@click.argument("pattern", type=click.Choice(BEEP_PATTERNS))
@click.pass_context
def beep(ctx: click.Context, pattern: str) -> None:
    """Play a buzzer pattern (remove_card repeats until `beep off`)."""
    try:
        _connect(ctx).beep(pattern)
    except IOBoardError as e:
        _fail(e)


@board.command()
@click.argument("pattern", type=click.Choice(LED_PATTERNS))
@click.pass_context
def led(ctx: click.Context, pattern: str) -> None:
    """Set the status LED pattern."""
    try:
        _connect(ctx).led(pattern)
    except IOBoardError as e:
        _fail(e)


@board.command()
@click.pass_context
def temperature(ctx: click.Context) -> None:
    """One thermometer reading in Celsius (implausible readings are refused)."""
    try:
        click.echo(f"{_connect(ctx).temperature():.1f}")
    except IOBoardError as e:
        _fail(e)


@board.command("clear-tamper")
@click.pass_context
def clear_tamper(ctx: click.Context) -> None:
    """Clear the latched tamper flag once the enclosure is closed again (technician)."""
    try:
        _connect(ctx).clear_tamper()
    except IOBoardError as e:
        _fail(e)


def deploy_commands(connect: str, manifest_path: Path, firmware_dir: Path = FIRMWARE_DIR) -> list[list[str]]:
    """The mpremote invocation that installs the firmware, /lib and the manifest on a board in
    maintenance mode and resets it (one chained command: one raw-REPL session)."""
    files = firmware_files(firmware_dir)
    folders = sorted({dest.rsplit("/", 1)[0] for _, dest in files if "/" in dest}, key=len)
    # The folders first, parents before children; an existing one is fine (mpremote mkdir would fail).
    mkdirs = f"import os\nfor d in {folders!r}:\n    try:\n        os.mkdir(d)\n    except OSError:\n        pass\n"
    cmd = [sys.executable, "-m", "mpremote", "connect", connect, "exec", mkdirs, "+"]
    for src, dest in files:
        cmd += ["cp", str(src), f":{dest}", "+"]
    cmd += ["cp", str(manifest_path), f":{MANIFEST}", "+"]
    return [[*cmd, "reset"]]


class VersionMismatch(BilingualError):
    def __init__(self, expected: str, found: str | None) -> None:
        super().__init__(
            Bilingual(
                f"I/Oボードのファームウェアが更新されていません (期待 {expected}、実際 {found or '不明'})",
                f"The I/O board runs firmware {found or 'unknown'}, not the deployed {expected}",
            )
        )


def check_version(board: IOBoard, manifest: dict[str, object], timeout: float) -> str:
    """After the reset: the board answers its handshake with the manifest's firmware version."""
    deadline = time.monotonic() + timeout
    board.wait_for(lambda b: b.status.connected, timeout)
    found = board.status.firmware
    while found != manifest["firmware"] and time.monotonic() < deadline:
        board.wait_for(lambda b: b.status.connected and b.status.firmware == manifest["firmware"], 0.5)
        found = board.status.firmware
    if found is None or found != manifest["firmware"]:
        raise VersionMismatch(str(manifest["firmware"]), found)
    return found


@board.command()
@click.option("--connect", "connect", help="mpremote connect target, e.g. id:<usb-serial> (default: --serial)")
@click.option("--dry-run", is_flag=True, help="Print the manifest and the mpremote command only")
@click.pass_context
def deploy(ctx: click.Context, connect: str | None, dry_run: bool) -> None:
    """MAINT, then install the firmware, its micropython-lib modules (/lib) and a manifest with mpremote,
    reset, and check that the board answers with the deployed version."""
    target = connect or (f"id:{ctx.obj['serial']}" if ctx.obj["serial"] else ctx.obj["port"])
    if not target:
        raise click.UsageError("give --serial, --port or --connect")
    manifest = build_manifest()
    with tempfile.TemporaryDirectory() as workdir:
        manifest_path = Path(workdir) / MANIFEST
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        cmds = deploy_commands(target, manifest_path)
        if dry_run:
            click.echo(manifest_path.read_text())
            for c in cmds:
                click.echo(" ".join(c))
            return
        if connect is None:  # a fresh board (--connect) has no firmware to answer MAINT
            try:
                b = _connect(ctx)
                b.maintenance()
                b.close()
            except IOBoardError as e:
                _fail(e)
        for c in cmds:
            r = subprocess.run(c, timeout=120)
            if r.returncode != 0:
                click.echo("ファームウェアの書き込みに失敗しました / Firmware update failed", err=True)
                sys.exit(1)
    if ctx.obj["port"] or ctx.obj["serial"]:
        b = IOBoard(port=ctx.obj["port"], serial_number=ctx.obj["serial"], backoff=(0.2, 1.0)).start()
        try:
            click.echo(f"ok: firmware {check_version(b, manifest, ctx.obj['timeout'] + 10)}")
        except VersionMismatch as e:
            _fail(e)
        finally:
            b.close()
    else:
        click.echo("ok (no --port or --serial: version not checked)")


@click.group()
@click.option("--port", help="Scanner serial device (CDC-ACM)")
@click.option("--vid", type=lambda s: int(s, 16), help="USB vendor id (hex)")
@click.option("--pid", type=lambda s: int(s, 16), help="USB product id (hex)")
@click.option("--serial", "serial_number", help="USB serial number")
@click.pass_context
def scanner(ctx: click.Context, port: str | None, vid: int | None, pid: int | None, serial_number: str | None) -> None:
    """The GS1 barcode scanner in USB serial (CDC-ACM) mode."""
    ctx.obj = {"port": port, "vid": vid, "pid": pid, "serial": serial_number}


@scanner.command()
@click.option("--timeout", default=30.0, show_default=True)
@click.pass_context
def read(ctx: click.Context, timeout: float) -> None:
    """Wait for one scan and print GTIN, expiry, lot and serial as JSON."""
    o = ctx.obj
    sc = Scanner(port=o["port"], vid=o["vid"], pid=o["pid"], serial_number=o["serial"])
    try:
        sc.connect()
        pack = sc.read(timeout)
    except ScanError as e:
        _fail(e)
    finally:
        sc.close()
    if pack is None:
        click.echo(f"{sc.status.message} / no scan within {timeout:.0f} s", err=True)
        sys.exit(1)
    click.echo(
        json.dumps({"gtin": pack.gtin, "expiry": pack.expiry.isoformat(), "lot": pack.lot, "serial": pack.serial})
    )
