"""`yoshin-kiosk`: the Textual kiosk on the appliance's card reader, queue and host, in a terminal or a browser."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click
from textual.app import App

from yoshin.device.agent import AgentClient, ApplianceCore, LocalCore
from yoshin.device.appliance import Appliance
from yoshin.domain.i18n import BilingualError
from yoshin.smartcard.transport import production_mode
from yoshin.tui.app import IDLE_TIMEOUT, KioskApp
from yoshin.tui.services import ApplianceServices
from yoshin.tui.staff_app import STAFF_IDLE_TIMEOUT, StaffApp

PATH = click.Path(dir_okay=False, path_type=Path)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/device"), show_default=True
)
@click.option(
    "--reader",
    envvar="YOSHIN_READER",
    help="Card reader: name, a unique part of it, or number (`yoshin-card readers`); needed if several.",
)
@click.option(
    "--idle-timeout", type=float, default=IDLE_TIMEOUT, show_default=True, help="Seconds before an idle visit is wiped."
)
@click.option("--manifest", type=PATH, help="Signed manifest of the installed files, checked before start.")
@click.option("--release-key", type=PATH, help="The release's Ed25519 public key (PEM) for --manifest.")
@click.option("--board", default="auto", show_default=True, help="I/O board serial port, 'auto' or 'none'.")
@click.option("--scanner", help="GS1 scanner serial port (CDC-ACM), if one is attached.")
@click.option("--serve", is_flag=True, help="Serve the kiosk to a local browser (textual-serve) instead.")
@click.option("--port", type=int, help="Port for --serve (default 8470 on 127.0.0.1; with --staff 8471 on --bind).")
@click.option(
    "--large-text",
    is_flag=True,
    help="Start each visit in large text (in a browser, 26 px instead of 16 px; /?text=normal for the normal page).",
)
@click.option(
    "--agent",
    type=PATH,
    help="The appliance agent's socket (yoshin-device serve): keys, queue and host stay in its process.",
)
@click.option("--staff", is_flag=True, help="Run the staff and technician app instead of the resident kiosk.")
@click.option(
    "--bind", default="127.0.0.1", show_default=True, help="With --staff --serve: the address the staff PC reaches."
)
@click.option("--tls-cert", type=PATH, help="With --staff --serve: the clinic's certificate (default: made once).")
@click.option("--tls-key", type=PATH, help="The key of --tls-cert.")
@click.option(
    "--staff-idle-timeout", type=float, default=STAFF_IDLE_TIMEOUT, show_default=True,
    help="Seconds before an idle staff session locks.",
)  # fmt: skip
def main(
    data_dir: Path,
    reader: str | None,
    idle_timeout: float,
    manifest: Path | None,
    release_key: Path | None,
    board: str,
    scanner: str | None,
    serve: bool,
    port: int | None,
    large_text: bool,
    agent: Path | None,
    staff: bool,
    bind: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    staff_idle_timeout: float,
) -> None:
    """Run the kiosk: the resident questionnaire; with --staff, the staff and technician app (login first).

    The two run side by side on one appliance, sharing its pending visits and outbox: the resident kiosk on
    the resident's screen, the staff app on a second display or, with --staff --serve, in the staff PC's
    browser over TLS.

    The resident kiosk needs a provisioned appliance; on a fresh one the staff app opens on the technician's
    provisioning screen (or use yoshin-provision). In production (YOSHIN_PRODUCTION=1) the kiosk
    refuses to start without a manifest that matches every installed file.
    """
    if manifest is None and production_mode():
        raise click.ClickException("production mode needs --manifest and --release-key (app integrity)")
    if manifest is not None:
        if release_key is None:
            raise click.BadParameter("--manifest needs --release-key", param_hint="--release-key")
        # checked by the appliance agent when there is one: its process holds cryptography, the kiosk's not
        core: ApplianceCore = AgentClient(agent) if agent else LocalCore(Appliance(data_dir))
        try:
            core.verify_installation(str(manifest.resolve()), str(release_key.resolve()))
        except BilingualError as error:
            click.echo(f"{error.message.ja}\n{error.message.en}", err=True)
            sys.exit(1)
    if serve and staff:
        serve_staff(data_dir, reader, board, scanner, bind, port or 8471, tls_cert, tls_key, staff_idle_timeout)
        return
    if serve:
        from yoshin.tui.web import KioskWebServer

        # Each browser connection runs the kiosk in its own process, with the same options and checks.
        command = [sys.executable, "-m", "yoshin.tui.cli", "--data-dir", str(data_dir)]
        command += ["--idle-timeout", str(idle_timeout), "--board", board]
        command += (["--reader", reader] if reader else []) + (["--scanner", scanner] if scanner else [])
        command += ["--agent", str(agent)] if agent else []
        if manifest is not None and release_key is not None:
            command += ["--manifest", str(manifest), "--release-key", str(release_key)]
        KioskWebServer(command, port or 8470, large_text=large_text).serve()
        return
    # The board's and the scanner's drivers (pyserial, the GS1 parser) load only when the kiosk runs here.
    from yoshin.device.ioboard import IOBoard, find_port
    from yoshin.device.scanner import Scanner

    board_port = find_port() if board == "auto" else None if board == "none" else board
    # The staff app does not drive the board's buzzer or thermometer (the resident kiosk does): no board.
    io_board = IOBoard(board_port).start() if board_port and not staff else None  # reconnects when unplugged
    appliance = Appliance(data_dir)
    speaker = None
    if not staff:  # 音声案内 for residents: voice.json says whether and how loud (yoshin-voice set)
        from yoshin.tui.voice import every_utterance, speaker_for

        speaker = speaker_for(appliance)
        speaker.prepare(every_utterance())  # on its own thread: the prompts are ready before the first visit
    try:
        services = ApplianceServices(
            appliance, reader, board=io_board, scanner=Scanner(scanner) if scanner else None, voice=speaker,
            agent=AgentClient(agent) if agent else None,
        )  # fmt: skip
        app: App[None]
        if staff:
            app = StaffApp(services, idle_timeout=staff_idle_timeout)
        else:
            app = KioskApp(services, idle_timeout=idle_timeout, large_text=large_text)
        app.run()
    finally:
        appliance.close()  # the host client kept for the session (its TLS connections)
        if io_board is not None:
            io_board.close()
        if speaker is not None:
            speaker.close()
    # A kiosk never quits by itself: 1 after an unhandled error, so systemd records a failure and restarts it.
    sys.exit(app.return_code or 0)


def serve_staff(
    data_dir: Path,
    reader: str | None,
    board: str,
    scanner: str | None,
    bind: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    staff_idle_timeout: float,
) -> None:
    """The staff app for the staff PC's browser, over TLS; each connection runs its own staff app process."""
    from yoshin.tui.staff_web import StaffWebServer, TlsFiles, ensure_certificate

    if (tls_cert is None) != (tls_key is None):
        raise click.BadParameter("--tls-cert and --tls-key go together", param_hint="--tls-key")
    tls = TlsFiles(tls_cert, tls_key) if tls_cert and tls_key else ensure_certificate(data_dir / "staff-tls", [bind])
    command = [sys.executable, "-m", "yoshin.tui.cli", "--staff", "--data-dir", str(data_dir), "--board", "none"]
    command += ["--staff-idle-timeout", str(staff_idle_timeout)]
    command += (["--reader", reader] if reader else []) + (["--scanner", scanner] if scanner else [])
    click.echo(f"yoshin staff: https://{bind}:{port}/  certificate SHA-256 {tls.fingerprint()}")
    StaffWebServer(shlex.join(command), bind, port, tls).serve()


if __name__ == "__main__":
    main()
