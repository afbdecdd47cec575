"""`yoshin-demo`: the whole chain on one machine with embedded defaults and synthetic data only."""

from __future__ import annotations

import click


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yoshin")
def main() -> None:
    """Start the end-to-end demo: virtual reader, card emulator, host, device and kiosk.

    All data is synthetic. Stop everything with Ctrl-C.
    """
    click.echo("yoshin demo: synthetic data only.")
    click.echo("No component is runnable yet; the demo grows as each lands (see docs/ARCHITECTURE.md).")


if __name__ == "__main__":
    main()
