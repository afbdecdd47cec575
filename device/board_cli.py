"""`board` and `scanner` click groups (wired into `yoshin-device` by the lead). Thin faces over
yoshin.device.ioboard / scanner; every failure prints a bilingual message, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from yoshin.device.gs1 import ScanError
from yoshin.device.ioboard import BEEP_PATTERNS, LED_PATTERNS, IOBoard, IOBoardError
from yoshin.device.scanner import Scanner
from yoshin.domain.i18n import BilingualError

FIRMWARE_DIR = Path(__file__).resolve().parent / "firmware"
FIRMWARE_FILES = ("boot.py", "framing.py", "protocol.py", "patterns.py", "hal.py", "app.py", "main.py")


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


def deploy_commands(connect: str, firmware_dir: Path = FIRMWARE_DIR) -> list[list[str]]:
    """The mpremote invocations that copy the firmware to a board in maintenance mode and reset it."""
    cmd = [sys.executable, "-m", "mpremote", "connect", connect]
    for name in FIRMWARE_FILES:
        cmd += ["cp", str(firmware_dir / name), f":{name}", "+"]
    return [[*cmd, "reset"]]


@board.command()
@click.option("--connect", "connect", help="mpremote connect target, e.g. id:<usb-serial> (default: --serial)")
@click.option("--dry-run", is_flag=True, help="Print the mpremote commands only")
@click.pass_context
def deploy(ctx: click.Context, connect: str | None, dry_run: bool) -> None:
    """Put the board into maintenance (MAINT), then copy the firmware with mpremote and reset."""
    target = connect or (f"id:{ctx.obj['serial']}" if ctx.obj["serial"] else ctx.obj["port"])
    if not target:
        raise click.UsageError("give --serial, --port or --connect")
    cmds = deploy_commands(target)
    if dry_run:
        for c in cmds:
            click.echo(" ".join(c))
        return
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
    click.echo("ok")


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
