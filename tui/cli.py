"""`yoshin-kiosk`: the Textual kiosk (resident flow) on the appliance's card reader, queue and host."""

from __future__ import annotations

from pathlib import Path

import click

from yoshin.device.appliance import Appliance
from yoshin.tui.app import IDLE_TIMEOUT, KioskApp
from yoshin.tui.services import KioskServices


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/device"), show_default=True
)
@click.option("--reader", help="Card reader name (default: the first reader).")
@click.option(
    "--idle-timeout", type=float, default=IDLE_TIMEOUT, show_default=True, help="Seconds before an idle visit is wiped."
)
def main(data_dir: Path, reader: str | None, idle_timeout: float) -> None:
    """Run the kiosk in this terminal: welcome, consent, card and PIN, identity, questionnaire, submit.

    The appliance must be provisioned (yoshin-provision). Staff and technician screens and the browser
    mode (--serve) are not built yet.
    """
    KioskApp(KioskServices(Appliance(data_dir), reader), idle_timeout=idle_timeout).run()


if __name__ == "__main__":
    main()
