"""`yoshin-kiosk`: the Textual kiosk on the appliance's card reader, queue and host, in a terminal or a browser."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from yoshin.device import integrity
from yoshin.device.appliance import Appliance
from yoshin.device.ioboard import IOBoard, find_port
from yoshin.device.scanner import Scanner
from yoshin.domain.i18n import BilingualError
from yoshin.smartcard.transport import production_mode
from yoshin.tui.app import IDLE_TIMEOUT, KioskApp
from yoshin.tui.services import KioskServices

PATH = click.Path(dir_okay=False, path_type=Path)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/device"), show_default=True
)
@click.option("--reader", help="Card reader name (default: the first reader).")
@click.option(
    "--idle-timeout", type=float, default=IDLE_TIMEOUT, show_default=True, help="Seconds before an idle visit is wiped."
)
@click.option("--manifest", type=PATH, help="Signed manifest of the installed files, checked before start.")
@click.option("--release-key", type=PATH, help="The release's Ed25519 public key (PEM) for --manifest.")
@click.option("--board", default="auto", show_default=True, help="I/O board serial port, 'auto' or 'none'.")
@click.option("--scanner", help="GS1 scanner serial port (CDC-ACM), if one is attached.")
@click.option("--serve", is_flag=True, help="Serve the kiosk to a local browser (textual-serve) instead.")
@click.option("--port", type=int, default=8470, show_default=True, help="Port on 127.0.0.1 for --serve.")
def main(
    data_dir: Path,
    reader: str | None,
    idle_timeout: float,
    manifest: Path | None,
    release_key: Path | None,
    board: str,
    scanner: str | None,
    serve: bool,
    port: int,
) -> None:
    """Run the kiosk: the resident questionnaire, and the staff and technician screens after a login.

    The appliance must be provisioned (yoshin-provision). In production (YOSHIN_PRODUCTION=1) the kiosk
    refuses to start without a manifest that matches every installed file.
    """
    if manifest is None and production_mode():
        raise click.ClickException("production mode needs --manifest and --release-key (app integrity)")
    if manifest is not None:
        if release_key is None:
            raise click.BadParameter("--manifest needs --release-key", param_hint="--release-key")
        try:
            integrity.verify_files(manifest, release_key)
        except BilingualError as error:
            click.echo(f"{error.message.ja}\n{error.message.en}", err=True)
            sys.exit(1)
    if serve:
        from yoshin.tui.web import KioskWebServer

        # Each browser connection runs the kiosk in its own process, with the same options and checks.
        command = [sys.executable, "-m", "yoshin.tui.cli", "--data-dir", str(data_dir)]
        command += ["--idle-timeout", str(idle_timeout), "--board", board]
        command += (["--reader", reader] if reader else []) + (["--scanner", scanner] if scanner else [])
        if manifest is not None and release_key is not None:
            command += ["--manifest", str(manifest), "--release-key", str(release_key)]
        KioskWebServer(shlex.join(command), port).serve()
        return
    port = find_port() if board == "auto" else None if board == "none" else board
    io_board = IOBoard(port).start() if port else None  # reconnects by itself when unplugged
    try:
        services = KioskServices(
            Appliance(data_dir), reader, board=io_board, scanner=Scanner(scanner) if scanner else None
        )
        app = KioskApp(services, idle_timeout=idle_timeout)
        app.run()
    finally:
        if io_board is not None:
            io_board.close()
    # A kiosk never quits by itself: 1 after an unhandled error, so systemd records a failure and restarts it.
    sys.exit(app.return_code or 0)


if __name__ == "__main__":
    main()
