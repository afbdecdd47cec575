"""`yoshin-device`: the appliance's queue and forwarder (status, forward, enqueue, day end)."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
from pathlib import Path
from typing import IO

import click

from yoshin.device.appliance import Appliance
from yoshin.device.board_cli import board, scanner
from yoshin.device.forwarder import Forwarder
from yoshin.device.hostclient import DeviceRevoked
from yoshin.domain.i18n import BilingualError

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/device"), show_default=True,
    help="The appliance's data directory (key store and queue).",
)  # fmt: skip


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
def main() -> None:
    """The appliance runtime: encrypted queue, forwarder, key store (and the I/O board and scanner)."""


@main.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(data_dir: Path, as_json: bool) -> None:
    """Queue depth, oldest item age, last success, dead letters, quarantine, certificate expiry."""
    report = dataclasses.asdict(Appliance(data_dir).status())
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        for key, value in report.items():
            click.echo(f"{key}: {value}")


@main.command()
@data_dir_option
@click.option("--once", is_flag=True, help="Drain what is due, then exit.")
def forward(data_dir: Path, once: bool) -> None:
    """Forward the sealed outbox to the host over mutual TLS (a daemon unless --once)."""
    appliance = Appliance(data_dir)
    outbox = appliance.outbox()
    forwarder = Forwarder(outbox, appliance.client())
    try:
        if once:
            for result in forwarder.drain():
                click.echo(json.dumps(dataclasses.asdict(result)))
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        forwarder.run(stop)
        if forwarder.revoked:
            raise DeviceRevoked()
    except BilingualError as error:
        click.echo(str(error.message), err=True)
        sys.exit(1)
    finally:
        outbox.close()


@main.command()
@data_dir_option
@click.option(
    "--socket",
    "socket_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The agent's socket (default: <data dir>/agent.sock).",
)
@click.option("--no-forward", is_flag=True, help="Serve the kiosk only; another process forwards the outbox.")
def serve(data_dir: Path, socket_path: Path | None, no_forward: bool) -> None:
    """The appliance agent for the resident kiosk (yoshin-kiosk --agent), and the forwarder, in one daemon:
    the process that holds the keys, the queue and the host client (device/agent.py)."""
    from yoshin.device.agent import SOCKET_NAME, AgentServer, LocalCore

    appliance = Appliance(data_dir)
    server = AgentServer(LocalCore(appliance), socket_path or data_dir / SOCKET_NAME).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo(f"yoshin agent: {server.path}")  # one line once the socket accepts: the demo waits for it
    outbox = None if no_forward else appliance.outbox()
    try:
        if outbox is None:
            stop.wait()
        else:
            forwarder = Forwarder(outbox, appliance.client())
            forwarder.run(stop)
            if forwarder.revoked:  # still serving: the kiosk hears 失効 from the host at its next call
                click.echo(str(DeviceRevoked().message), err=True)
                stop.wait()
                sys.exit(1)
    except BilingualError as error:
        click.echo(str(error.message), err=True)
        sys.exit(1)
    finally:
        server.close()
        if outbox is not None:
            outbox.close()
        appliance.close()


@main.command()
@data_dir_option
@click.argument("kind")
@click.argument("body_file", type=click.File("r", encoding="utf-8"))
def enqueue(data_dir: Path, kind: str, body_file: IO[str]) -> None:
    """Seal a record (JSON, validated against the contract) into the outbox; prints its id."""
    outbox = Appliance(data_dir).outbox()
    try:
        click.echo(outbox.enqueue(kind, json.load(body_file)))
    except BilingualError as error:
        click.echo(str(error.message), err=True)
        sys.exit(1)
    finally:
        outbox.close()


@main.command("end-day")
@data_dir_option
def end_day(data_dir: Path) -> None:
    """Day end: destroy the day key (crypto-shredding) and delete every pending visit."""
    pending = Appliance(data_dir).pending()
    try:
        click.echo(f"day keys destroyed: {pending.end_day()}")
    finally:
        pending.close()


main.add_command(board)
main.add_command(scanner)


if __name__ == "__main__":
    main()
